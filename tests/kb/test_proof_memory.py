"""The self-care proofs are remembered by content and code, never trusted across a change.

Proving that self-care can never fire while a red flag or a rule is still open takes about
half of a knowledge-base load; a cold `backpath triage` pays for it on every run unless the
outcome is kept. It is kept under a key of the files' hash and the proving code's hash, so
a changed rule file is proved again (and its problems found), and an unwritable or disabled
cache only costs time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backpath.kb import check_knowledge
from backpath.kb.loader import _load

KNOWLEDGE_DIR = Path(__file__).resolve().parents[2] / "src" / "backpath" / "knowledge"
GUARD = "        - not: chest_pain\n"


def test_a_load_remembers_its_proofs_and_a_change_is_proved_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKPATH_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, root)
    _load(root)
    remembered = sorted((tmp_path / "cache" / "kb-proofs").glob("*.json"))
    assert remembered, "the proofs' outcome was not kept"
    _load(root)  # the same content: the same entries, nothing new written
    assert sorted((tmp_path / "cache" / "kb-proofs").glob("*.json")) == remembered
    # Drop one of self-care's red-flag guards: the changed content is proved again and the
    # open red flag is found, whatever was remembered for the original.
    rules = root / "rules" / "pathway.yaml"
    text = rules.read_text(encoding="utf-8")
    assert GUARD in text
    rules.write_text(text.replace(GUARD, "", 1), encoding="utf-8")
    problems = check_knowledge(str(root))
    assert any("self_care_back_pain_only" in p and "chest_pain" in p for p in problems)


def test_an_empty_cache_setting_turns_the_memory_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKPATH_CACHE_DIR", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, root)
    _load(root)
    assert not list(tmp_path.rglob("kb-proofs"))
