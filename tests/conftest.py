"""Shared test fixtures and the rule that turns "missing service" into a failure in CI.

Tests that need PostgreSQL or Chromium skip with a message on a machine without them; when
``BACKPATH_REQUIRE_SERVICES=1`` (set by ``.ci/run``) they fail instead, so CI can never
pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from backpath.kb import KnowledgeBase, load_knowledge
from backpath.kb.loader import KNOWLEDGE_DIR, check_knowledge

REQUIRE_SERVICES = os.environ.get("BACKPATH_REQUIRE_SERVICES") == "1"


def need(service: str, available: bool, why: str) -> None:
    """Skip (or fail in CI) when a real service the test needs is not there."""
    if available:
        return
    message = f"{service} not available: {why}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (BACKPATH_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The real, validated knowledge base."""
    return load_knowledge()


def _weasyprint_loads() -> bool:
    """WeasyPrint needs Pango from the system; a fresh machine may not have it."""
    try:
        import weasyprint  # noqa: F401
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def pdf_engine() -> None:
    """PDF rendering is possible here (WeasyPrint and its system libraries)."""
    need(
        "WeasyPrint (Pango)",
        _weasyprint_loads(),
        "apt-get install libpango-1.0-0 libpangoft2-1.0-0 (.ci/run does it)",
    )


@pytest.fixture
def copy_kb(tmp_path: Path) -> Callable[[str, str, str], list[str]]:
    """Copy the knowledge base, apply one text replacement to one file, and check it."""

    def mutate(file: str, old: str, new: str) -> list[str]:
        root = tmp_path / "knowledge"
        if not root.exists():
            shutil.copytree(KNOWLEDGE_DIR, root)
        path = root / file
        text = path.read_text(encoding="utf-8")
        assert old in text, f"test setup: {old!r} not in {file}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return check_knowledge(str(root))

    return mutate
