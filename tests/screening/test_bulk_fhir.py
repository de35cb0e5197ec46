"""A FHIR Bulk Data export is screened with the CDS Hooks service's own chart reading.

Six patients, each with the resources a ``$export`` would hold for them, are screened from
NDJSON files and, one by one, by ``cds_hooks.cds_response`` on the same resources: the
urgencies must agree. Bad lines, unknown resource types and stale chart entries are
checked on their own.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from backpath.cli import app
from backpath.interop.cds_hooks import cds_response
from backpath.interop.fhir import QUESTIONNAIRE_URL
from backpath.interop.terminology import load_terminology
from backpath.kb import KnowledgeBase
from backpath.screening import Screening, ScreeningInputError

AS_OF = date(2026, 6, 15)
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"


def _days_ago(days: int) -> str:
    return (AS_OF - timedelta(days=days)).isoformat()


def _patient(pid: str, born: str, gender: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": born, "gender": gender}


def _condition(
    rid: str, pid: str, code: str, onset_days: int, status: str = "active"
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"code": status}]},
        "code": {"coding": [{"system": ICD10, "code": code}]},
        "onsetDateTime": _days_ago(onset_days),
    }


def _temperature(rid: str, pid: str, celsius: float, days: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": LOINC, "code": "8310-5"}]},
        "valueQuantity": {"value": celsius, "unit": "Cel", "code": "Cel"},
        "effectiveDateTime": _days_ago(days),
    }


def _intake(
    rid: str, pid: str, answers: dict[str, Any], narrative: str | None = None
) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for code, value in answers.items():
        key = {bool: "valueBoolean", int: "valueInteger"}.get(type(value), "valueString")
        items.append({"linkId": code, "answer": [{key: value}]})
    if narrative:
        items.append({"linkId": "narrative", "answer": [{"valueString": narrative}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "questionnaire": QUESTIONNAIRE_URL,
        "status": "completed",
        "subject": {"reference": f"Patient/{pid}"},
        "authored": _days_ago(1),
        "item": items,
    }


PATIENTS = [
    _patient("ces", "1980-03-02", "female"),
    _patient("old", "1950-07-20", "male"),
    _patient("thinner", "1962-01-31", "female"),
    _patient("words", "1991-11-05", "male"),
    _patient("stale", "1975-05-05", "female"),
    _patient("nothing", "1988-08-08", "other"),
]
RESOURCES: list[dict[str, Any]] = [
    # A recent cauda equina syndrome on the problem list: emergency from the chart alone.
    _condition("c1", "ces", "G83.4", onset_days=3),
    # Born 1950, past cancer (resolved still counts) and recent low back pain.
    _condition("c2", "old", "C50.9", onset_days=3000, status="resolved"),
    _condition("c3", "old", "M54.5", onset_days=10),
    # An anticoagulant on the medication list; the intake says sudden severe pain.
    {
        "resourceType": "MedicationStatement",
        "id": "m1",
        "status": "active",
        "subject": {"reference": "Patient/thinner"},
        "medicationCodeableConcept": {
            "coding": [{"system": ATC, "code": "B01AF02", "display": "apixaban"}]
        },
        "effectivePeriod": {"start": _days_ago(400)},
    },
    _intake(
        "q1",
        "thinner",
        {"back_pain": True, "sudden_severe_pain": True, "anticoagulant": False},
    ),
    # An intake with the person's own words (read in Python) and an older intake.
    {
        **_intake("q0", "words", {"back_pain": True, "saddle_numbness": True}),
        "authored": _days_ago(90),
    },
    _intake(
        "q2",
        "words",
        {"back_pain": True, "age": 30},
        narrative="My lower back aches after gardening.",
    ),
    # Stale entries: a cauda equina code two months old and a fever a week ago.
    _condition("c4", "stale", "G83.4", onset_days=60),
    _temperature("o1", "stale", 39.2, days=7),
    _temperature("o2", "stale", 36.8, days=0),
]


def _write_export(folder: Path, extra: dict[str, list[str]] | None = None) -> Path:
    """Write the fixture as a Bulk export: one file per type, numbered like real ones."""
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[str]] = {"Patient.ndjson": [json.dumps(p) for p in PATIENTS]}
    for resource in RESOURCES:
        by_type.setdefault(f"{resource['resourceType']}.000.ndjson", []).append(
            json.dumps(resource)
        )
    for name, lines in (extra or {}).items():
        by_type.setdefault(name, []).extend(lines)
    for name, lines in by_type.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _cds_urgency(kb: KnowledgeBase, pid: str) -> str | None:
    """The CDS Hooks service's urgency for one patient on the same resources (None: no card)."""
    patient = next(p for p in PATIENTS if p["id"] == pid)
    mine = [r for r in RESOURCES if r["subject"]["reference"] == f"Patient/{pid}"]

    def bundle(kind: str) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in mine if r["resourceType"] == kind],
        }

    request = {
        "hook": "patient-view",
        "hookInstance": f"test-{pid}",
        "context": {"patientId": pid, "userId": "Practitioner/1", "date": AS_OF.isoformat()},
        "prefetch": {
            "patient": patient,
            "questionnaireResponse": bundle("QuestionnaireResponse"),
            "conditions": bundle("Condition"),
            "observations": bundle("Observation"),
            "medicationStatements": bundle("MedicationStatement"),
            "medicationRequests": None,
        },
    }
    answer = cds_response(kb, load_terminology(), request, max_narrative_chars=5000, today=AS_OF)
    return answer.urgency


def _screen(kb: KnowledgeBase, folder: Path) -> tuple[dict[str, dict[str, Any]], Any]:
    with Screening(kb) as screening:
        run = screening.run(folder, as_of=AS_OF)
        return {str(r["row_id"]): r for r in screening.rows()}, run


def test_bulk_export_urgencies_agree_with_the_cds_hooks_service(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Every patient gets the urgency the CDS Hooks card gives for the same resources."""
    rows, run = _screen(kb, _write_export(tmp_path / "export"))
    assert list(rows) == [p["id"] for p in PATIENTS]
    assert run.summary.rows == 6
    assert run.summary.errors == 0
    assert not run.failed
    expected = {
        "ces": "emergency",
        "old": "urgent",
        "thinner": "emergency",
        "words": "routine",
        "stale": None,  # nothing recent on the chart and no intake: the CDS service gives no card
        "nothing": None,
    }
    for pid, urgency in expected.items():
        assert _cds_urgency(kb, pid) == urgency, pid
        if urgency is not None:
            assert rows[pid]["urgency"] == urgency, pid
    # The chart's yes wins over the intake's no; the chart's age over the intake's.
    assert "spinal_haematoma_anticoagulant" in rows["thinner"]["fired_rules"].split()
    assert rows["words"]["age"] == 34
    assert rows["old"]["age"] == 75
    assert "cancer_history_back_pain" in rows["old"]["fired_rules"].split()
    # Without a card the patient is still screened: nothing fired, interview incomplete.
    for pid in ("stale", "nothing"):
        assert rows[pid]["fired_rules"] == "", pid
        assert rows[pid]["complete"] is False, pid
    assert run.python_rows == 1  # only the intake with a narrative went through the reader
    assert run.bulk is not None
    assert run.bulk.by_type["Condition"] == 4
    assert run.bulk.by_type["Patient"] == 6
    assert run.bulk.matched == 7  # 4 Conditions, 2 temperatures (the map's code), 1 medicine
    assert run.bulk.problem_count == 0
    assert run.bulk.not_read == {}


def test_stale_chart_entries_do_not_fire(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A cauda equina code 60 days old and a fever 7 days old are read but not used."""
    rows, _ = _screen(kb, _write_export(tmp_path / "export"))
    assert rows["stale"]["urgency"] != "emergency"
    assert "ces_new_bladder_bowel_saddle_sexual" not in rows["stale"]["fired_rules"]
    # The same export read 50 days earlier: the code is recent, the emergency fires.
    with Screening(kb) as screening:
        screening.run(tmp_path / "export", as_of=AS_OF - timedelta(days=55))
        early = {str(r["row_id"]): r for r in screening.rows()}
    assert early["stale"]["urgency"] == "emergency"


def test_bad_lines_unknown_types_and_orphans_are_named(kb: KnowledgeBase, tmp_path: Path) -> None:
    """Invalid JSON by file and line, types not read by count, resources of no known patient."""
    folder = _write_export(
        tmp_path / "export",
        extra={
            "Condition.001.ndjson": [
                json.dumps(_condition("c9", "ces", "M54.5", 1)),
                "",
                '{"resourceType": "Condition", "id": ',
                json.dumps(_condition("c10", "ghost", "G83.4", 1)),
                "[1, 2]",
                json.dumps({"id": "x"}),
            ],
            "Encounter.ndjson": [json.dumps({"resourceType": "Encounter", "id": "e1"})] * 3,
            "Patient.001.ndjson": [
                json.dumps(PATIENTS[0]),
                json.dumps({"resourceType": "Patient"}),
            ],
        },
    )
    rows, run = _screen(kb, folder)
    assert len(rows) == 6
    assert run.summary.errors == 0
    assert run.failed
    assert run.bulk is not None
    assert run.bulk.not_read == {"Encounter": 3}
    shown = [str(p) for p in run.bulk.problems]
    assert shown == [
        "Condition.001.ndjson line 3: not valid JSON",
        "Condition.001.ndjson line 4: Condition is about Patient/ghost, who is not in the "
        "export's Patient files: not screened",
        "Condition.001.ndjson line 5: a FHIR resource must be a JSON object",
        "Condition.001.ndjson line 6: no resourceType (a string naming the resource)",
        "Patient.001.ndjson line 2: Patient without an id: nothing can be joined to it",
        "Patient.ndjson line 1: Patient/ces appears again (first at Patient.001.ndjson line 1)",
    ]
    assert run.bulk.problem_count == 6
    assert rows["ces"]["urgency"] == "emergency"


def test_an_invalid_intake_is_an_error_row_naming_the_element(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """A QuestionnaireResponse the CDS service would refuse makes that patient an error row."""
    bad = _intake("q9", "nothing", {"back_pain": "very"})
    folder = _write_export(
        tmp_path / "export", extra={"QuestionnaireResponse.001.ndjson": [json.dumps(bad)]}
    )
    rows, run = _screen(kb, folder)
    assert "nothing" not in rows
    assert len(rows) == 5
    assert run.summary.errors == 1
    assert run.where == "patient"
    line, message = run.errors[0]
    assert line == 6
    assert message.startswith("Patient/nothing: field 'QuestionnaireResponse/q9.item[0].answer[0]")
    assert "QuestionnaireResponse.001.ndjson line 1" in message


def test_folder_without_ndjson_or_patients_is_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    """An empty folder, or one with no Patient, stops before screening with a clear message."""
    (tmp_path / "empty").mkdir()
    with Screening(kb) as screening, pytest.raises(ScreeningInputError, match=r"no \.ndjson files"):
        screening.run(tmp_path / "empty")
    only = tmp_path / "only"
    only.mkdir()
    (only / "Condition.ndjson").write_text(json.dumps(RESOURCES[0]) + "\n", encoding="utf-8")
    with Screening(kb) as screening, pytest.raises(ScreeningInputError, match="no Patient"):
        screening.run(only)


def test_cli_screens_a_bulk_folder_and_reports_what_it_read(tmp_path: Path) -> None:
    """`backpath screen FOLDER --as-of` prints the counts, the bad lines and exits 2 on them."""
    folder = _write_export(
        tmp_path / "export",
        extra={
            "Observation.001.ndjson": ["not json"],
            "Encounter.ndjson": ['{"resourceType": "Encounter"}'],
        },
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app, ["screen", str(folder), "--as-of", AS_OF.isoformat(), "-o", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "Observation.001.ndjson line 1: not valid JSON" in result.output
    assert "1 Encounter" in result.output
    assert "6 patients" in result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row_id"] for r in written] == [p["id"] for p in PATIENTS]
    assert written[0]["urgency"] == "emergency"
    bad_date = CliRunner().invoke(app, ["screen", str(folder), "--as-of", "15/06/2026"])
    assert bad_date.exit_code != 0
    assert "--as-of" in bad_date.output


def test_two_workers_assemble_the_same_patients(kb: KnowledgeBase, tmp_path: Path) -> None:
    """`workers=2` reads the export into exactly the rows one process gives."""
    folder = _write_export(tmp_path / "export")
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}.jsonl"
        with Screening(kb, workers=workers) as screening:
            screening.run(folder, as_of=AS_OF)
            screening.write(out)
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == len(PATIENTS)
