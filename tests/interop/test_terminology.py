"""The terminology maps are data, checked at load and by `backpath kb check`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backpath.interop import terminology
from backpath.interop.terminology import (
    TERMINOLOGY_DIR,
    iter_entries,
    load_terminology,
    loinc_code_ok,
    snomed_id_ok,
    validate_terminology,
)
from backpath.kb import KnowledgeBase, check_knowledge


def test_shipped_maps_are_valid() -> None:
    """Every shipped map passes its own checks."""
    assert validate_terminology() == []


def test_every_entry_notes_its_direction_and_review_state(kb: KnowledgeBase) -> None:
    """Each entry maps to an existing finding, says which way the meaning goes and whether
    it was reviewed; broader and proxy entries are time-limited."""
    maps = load_terminology()
    entries = list(iter_entries(maps))
    assert len(entries) >= 30
    for _, entry in entries:
        assert entry.finding in kb.findings
        assert entry.direction in {"equivalent", "narrower", "broader", "proxy"}
        assert isinstance(entry.reviewed, bool)
        assert len(entry.note) >= 10
        if entry.direction in {"broader", "proxy"}:
            assert entry.window_days is not None
    for medicine in maps.medications.entries:
        assert medicine.finding in kb.findings
    findings = {entry.finding for _, entry in entries}
    findings |= {m.finding for m in maps.medications.entries}
    assert {"anticoagulant", "steroid_use_long_term", "immunosuppressed", "fever"} <= findings


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("23056005", True),
        ("192970008", True),
        ("23056006", False),
        ("248915009", False),
        ("12", False),
    ],
)
def test_snomed_check_digit(code: str, ok: bool) -> None:
    """SNOMED CT ids carry a Verhoeff check digit."""
    assert snomed_id_ok(code) is ok


@pytest.mark.parametrize(
    ("code", "ok"),
    [("8310-5", True), ("91351-7", True), ("97909-6", True), ("8310-4", False), ("x-1", False)],
)
def test_loinc_check_digit(code: str, ok: bool) -> None:
    """LOINC codes carry a mod-10 check digit."""
    assert loinc_code_ok(code) is ok


def _broken_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "terminology"
    shutil.copytree(TERMINOLOGY_DIR, folder)
    path = folder / "icd10.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("finding: osteoporosis", "finding: thin_bones", 1)
    text = text.replace(
        "    window_days: 14\n    reviewed: false\n    code_status: unverified\n  - code: R32",
        "    reviewed: false\n    code_status: unverified\n  - code: R32",
        1,
    )
    path.write_text(text, encoding="utf-8")
    snomed = folder / "snomed.yaml"
    snomed.write_text(
        snomed.read_text(encoding="utf-8").replace('"23056005"', '"23056006"', 1),
        encoding="utf-8",
    )
    loinc = folder / "loinc.yaml"
    loinc.write_text(
        loinc.read_text(encoding="utf-8").replace("reviewed: false", "reviewd: false", 1),
        encoding="utf-8",
    )
    return folder


def test_problems_are_reported_with_file_and_code(tmp_path: Path) -> None:
    """An unknown finding, a broader entry without a window, a bad SNOMED id and an unknown
    key are all reported, each naming its file and code."""
    problems = validate_terminology(_broken_copy(tmp_path))
    text = "\n".join(problems)
    assert "terminology/icd10.yaml: M81 (entry" in text
    assert "unknown finding 'thin_bones'" in text
    assert "R33 (entry" in text
    assert "must be time-limited" in text
    assert "23056006 is not a valid SNOMED CT concept id" in text
    assert "terminology/loinc.yaml: entries.0.reviewd" in text


def test_kb_check_reports_terminology_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`backpath kb check` (check_knowledge) includes the terminology maps' problems."""
    assert not [p for p in check_knowledge() if p.startswith("terminology/")]
    monkeypatch.setattr(terminology, "TERMINOLOGY_DIR", _broken_copy(tmp_path))
    assert any("unknown finding 'thin_bones'" in p for p in check_knowledge())
