"""The worklist's live alert endpoint, ``GET /clinic/alerts`` (issue #12).

While a clinician has the worklist open, the page asks this endpoint for emergency and
urgent assessments received since its cursor. These tests pin the contract the page relies
on: sign-in required, only newer unreviewed emergency/urgent items, emergencies first, never
cached, a bad cursor named, counts per urgency, and an audit row whenever patients are shown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backpath.intake import Intake
from backpath.store import Store, assessments
from backpath.store.models import AuditEvent, utcnow
from backpath.triage import assess
from tests.web._support import add_clinician, login

EMERGENCY = {"age": 45, "sex": "female", "saddle_numbness": True}
URGENT = {"age": 30, "sex": "male", "trauma_minor": True}
ROUTINE = {"age": 40, "leg_pain": True}


def store_case(
    store: Store, answers: dict[str, Any], at: datetime, language: str = "en", narrative: str = ""
) -> str:
    """Store an assessment received at ``at`` (in ``language``) and return its id."""
    data: dict[str, Any] = {"language": language, "answers": answers}
    if narrative:
        data["narrative"] = narrative
    intake = Intake.from_json(data)
    result = assess(intake, narrative_findings=()).to_json()
    with store.session() as db:
        saved = assessments.save_assessment(
            db,
            intake=intake.to_json(),
            result=result,
            channel="api",
            narrative_read=True,
            created_at=at,
        )
    return saved.assessment.id


def cursor(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def clinician(client: TestClient, store: Store) -> TestClient:
    """A client signed in as a clinician."""
    add_clinician(store)
    assert login(client).status_code == 200
    return client


def test_signed_out_gets_401_json_not_a_redirect(client: TestClient, store: Store) -> None:
    store_case(store, EMERGENCY, utcnow())
    response = client.get("/clinic/alerts", params={"since": cursor(utcnow())})
    assert response.status_code == 401
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["field"] == "session"
    assert "items" not in response.json()


def test_only_newer_unreviewed_emergency_and_urgent_items_emergency_first(
    clinician: TestClient, store: Store
) -> None:
    now = utcnow()
    old_emergency = store_case(store, EMERGENCY, now - timedelta(minutes=10))
    since = now - timedelta(minutes=5)
    urgent_newest = store_case(store, URGENT, now - timedelta(minutes=1))
    emergency_new = store_case(store, EMERGENCY, now - timedelta(minutes=3))
    routine_new = store_case(store, ROUTINE, now - timedelta(minutes=2))
    reviewed = store_case(store, EMERGENCY, now - timedelta(minutes=2))
    with store.session() as db:
        row = assessments.get_assessment(db, reviewed)
        assert row is not None
        assessments.set_reviewed(db, row, "dr.lee")

    response = clinician.get("/clinic/alerts", params={"since": cursor(since)})

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    ids = [item["id"] for item in body["items"]]
    # The urgent one is the newest, yet the emergency comes first.
    assert ids == [emergency_new, urgent_newest]
    assert old_emergency not in ids
    assert routine_new not in ids
    assert reviewed not in ids
    first = body["items"][0]
    assert first["urgency"] == "emergency"
    assert first["url"] == f"/clinic/assessments/{emergency_new}"
    assert first["text"].startswith("New emergency: ")
    assert "45 years" in first["text"]
    assert "Female" in first["text"]
    assert "cauda equina" in first["text"].lower()
    assert body["items"][1]["text"].startswith("New urgent assessment: ")
    assert body["more"] is False


def test_the_next_cursor_brings_a_later_emergency(clinician: TestClient, store: Store) -> None:
    first = clinician.get("/clinic/alerts", params={"since": cursor(utcnow())}).json()
    assert first["items"] == []
    later = store_case(store, EMERGENCY, utcnow() + timedelta(seconds=1))
    second = clinician.get("/clinic/alerts", params={"since": first["cursor"]}).json()
    assert [item["id"] for item in second["items"]] == [later]


def test_counts_are_unreviewed_per_urgency(clinician: TestClient, store: Store) -> None:
    now = utcnow()
    for answers in (EMERGENCY, EMERGENCY, URGENT, ROUTINE):
        store_case(store, answers, now - timedelta(hours=2))
    body = clinician.get("/clinic/alerts").json()
    assert body["items"] == []  # no cursor: nothing is "new"
    assert body["counts"]["emergency"] == 2
    assert body["counts"]["urgent"] == 1
    assert body["counts"]["routine"] == 1
    assert body["counts"]["self_care"] == 0


@pytest.mark.parametrize("bad", ["yesterday", "2026-11-30T14:00:00", "9" * 60])
def test_a_bad_cursor_is_refused_naming_the_field(clinician: TestClient, bad: str) -> None:
    response = clinician.get("/clinic/alerts", params={"since": bad})
    assert response.status_code == 422
    assert response.json()["field"] == "since"
    assert response.headers["cache-control"] == "no-store"


def test_an_answer_showing_patients_is_audited_an_empty_one_is_not(
    clinician: TestClient, store: Store
) -> None:
    def alert_rows() -> list[AuditEvent]:
        with store.session() as db:
            query = select(AuditEvent).where(AuditEvent.target_type == "alerts")
            return list(db.scalars(query).all())

    clinician.get("/clinic/alerts", params={"since": cursor(utcnow())})
    assert alert_rows() == []
    new = store_case(store, EMERGENCY, utcnow() + timedelta(seconds=1))
    clinician.get("/clinic/alerts", params={"since": cursor(utcnow() - timedelta(minutes=1))})
    rows = alert_rows()
    assert len(rows) == 1
    assert rows[0].actor == "clinician:dr.lee"
    assert rows[0].detail["shown"] == [new]


def test_the_worklist_carries_the_poller_settings_and_counts(
    clinician: TestClient, store: Store
) -> None:
    store_case(store, EMERGENCY, utcnow() - timedelta(minutes=30))
    page = clinician.get("/clinic").text
    section = re.search(r'<section id="live-alert"[^>]*>', page)
    assert section, "the worklist has no live alert"
    assert 'data-alerts-url="/clinic/alerts"' in section.group(0)
    assert 'data-alerts-every="10.0"' in section.group(0)
    since = re.search(r'data-alerts-since="([^"]+)"', section.group(0))
    assert since
    assert datetime.fromisoformat(since.group(1)) <= utcnow()
    assert 'role="alert"' in page
    assert 'id="alert-sound"' in page
    count = re.search(r'data-count-for="emergency">.*?<strong data-count>(\d+)<', page)
    assert count
    assert count.group(1) == "1"


def test_alert_text_is_in_the_clinicians_language_for_a_spanish_patient(
    clinician: TestClient, store: Store
) -> None:
    store_case(store, EMERGENCY, utcnow(), language="es")
    body = clinician.get(
        "/clinic/alerts", params={"since": cursor(utcnow() - timedelta(minutes=1))}
    ).json()
    text = body["items"][0]["text"]
    assert text.startswith("New emergency: 45 years, Female")
    assert "Síntomas" not in text
    assert "cauda equina" in text.lower()
