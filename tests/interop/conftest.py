"""Fixtures for the interoperability tests: an app on a temporary SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backpath.kb import KnowledgeBase
from tests.web._support import make_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """An HTTP client for a fresh app with its own database."""
    app, store = make_app(tmp_path)
    with TestClient(app) as test_client:
        yield test_client
    store.dispose()


def qr_item(code: str, value: Any) -> dict[str, Any]:
    """One QuestionnaireResponse item answering finding ``code`` with ``value``."""
    if isinstance(value, bool):
        answer: dict[str, Any] = {"valueBoolean": value}
    elif isinstance(value, int):
        answer = {"valueInteger": value}
    else:
        answer = {"valueCoding": {"system": f"urn:backpath:finding:{code}", "code": value}}
    return {"linkId": code, "answer": [answer]}


def questionnaire_response(answers: dict[str, Any]) -> dict[str, Any]:
    """A completed QuestionnaireResponse with one item per answer (flat, no groups)."""
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "item": [qr_item(code, value) for code, value in answers.items()],
    }


def all_red_flags_no(kb: KnowledgeBase) -> dict[str, Any]:
    """Back pain only: every red-flag finding answered "no"."""
    answers: dict[str, Any] = {"back_pain": True}
    answers.update({code: False for code, f in kb.findings.items() if f.red_flag})
    return answers


SERVICE = "/cds-services/backpath-back-pain-triage"


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    """A searchset Bundle holding ``resources``."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def patient(birth_date: str | None = "1980-06-01", gender: str | None = None) -> dict[str, Any]:
    """Patient p1."""
    resource: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
    if birth_date is not None:
        resource["birthDate"] = birth_date
    if gender is not None:
        resource["gender"] = gender
    return resource


def condition(
    code: str,
    system: str = "http://hl7.org/fhir/sid/icd-10-cm",
    recorded: str | None = "2026-11-23",
    status: str | None = "active",
    rid: str = "c1",
    display: str | None = None,
) -> dict[str, Any]:
    """A Condition of p1 coded ``system|code``."""
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": rid,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": system, "code": code}]},
    }
    if display:
        resource["code"]["coding"][0]["display"] = display
    if status is not None:
        resource["clinicalStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status,
                }
            ]
        }
    if recorded is not None:
        resource["recordedDate"] = recorded
    return resource


def temperature(
    value: float, unit: str = "Cel", when: str = "2026-11-25T08:00:00Z", rid: str = "o1"
) -> dict[str, Any]:
    """A body temperature Observation (LOINC 8310-5) of p1."""
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def medication(
    text: str,
    status: str = "active",
    start: str | None = "2024-01-01",
    end: str | None = None,
    atc: str | None = None,
    rid: str = "m1",
) -> dict[str, Any]:
    """A MedicationStatement of p1."""
    concept: dict[str, Any] = {"text": text}
    if atc:
        concept["coding"] = [{"system": "http://www.whocc.no/atc", "code": atc}]
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": concept,
    }
    period = {k: v for k, v in (("start", start), ("end", end)) if v}
    if period:
        resource["effectivePeriod"] = period
    return resource


def hook_request(
    qr: Any = None,
    *,
    birth_date: str | None = "1980-06-01",
    on: str | None = "2026-11-25",
    conditions: Any = None,
    observations: Any = None,
    medications: Any = None,
    gender: str | None = None,
) -> dict[str, Any]:
    """A patient-view request with every prefetch key sent (``None`` = no data)."""
    context: dict[str, Any] = {"userId": "Practitioner/d1", "patientId": "p1"}
    if on is not None:
        context["date"] = on
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
        "prefetch": {
            "patient": patient(birth_date, gender),
            "questionnaireResponse": qr,
            "conditions": conditions,
            "observations": observations,
            "medicationStatements": medications,
            "medicationRequests": None,
        },
    }
