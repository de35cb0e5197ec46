"""Fixtures for the handout tests: personas as data, assessed once; PDF tools from poppler."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.triage import Assessment, assess
from tests.conftest import need

PERSONAS_DIR = Path(__file__).resolve().parent / "personas"
PERSONA_KEYS = {"id", "description", "intake", "expected"}
EXPECTED_KEYS = {"urgency", "sections", "blocks_include", "blocks_exclude"}


def load_personas() -> list[dict[str, Any]]:
    """Every persona file, checked for its closed set of keys."""
    personas = []
    for path in sorted(PERSONAS_DIR.glob("*.yaml")):
        persona = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(persona) <= PERSONA_KEYS, f"{path.name}: unknown keys"
        assert set(persona["expected"]) <= EXPECTED_KEYS, f"{path.name}: unknown expected keys"
        assert persona["id"] == path.stem, f"{path.name}: id must match the file name"
        personas.append(persona)
    return personas


PERSONAS = load_personas()
PERSONA_IDS = [p["id"] for p in PERSONAS]

#: One persona per urgency, for the whole-handout and PDF tests.
BY_URGENCY = {
    "emergency": "emergency_saddle_numbness",
    "urgent": "urgent_foot_drop",
    "routine": "routine_sciatica_office_worker",
    "self_care": "self_care_back_strain",
}


def persona(persona_id: str) -> dict[str, Any]:
    """The persona with ``persona_id``."""
    return next(p for p in PERSONAS if p["id"] == persona_id)


def assess_persona(persona_id: str, kb: KnowledgeBase) -> Assessment:
    """Triage a persona's intake with the real knowledge base."""
    return assess(Intake.from_json(persona(persona_id)["intake"]), kb)


def run(*command: str, stdin: bytes | None = None) -> str:
    """Run a poppler tool and return its standard output as text."""
    result = subprocess.run(command, input=stdin, capture_output=True, check=True)
    return result.stdout.decode("utf-8")


@pytest.fixture(scope="session")
def poppler() -> None:
    """pdftotext and pdfinfo from poppler-utils (installed by .ci/run)."""
    need(
        "poppler-utils",
        bool(shutil.which("pdftotext") and shutil.which("pdfinfo")),
        "apt-get install poppler-utils",
    )
