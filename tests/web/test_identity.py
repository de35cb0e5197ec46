"""Patient identity and contact over HTTP (issue #12 point 1): asked after the result and
from the emergency screen, checked field by field, stored encrypted, shown to clinicians
only (audited), searchable by name and date of birth, never written to logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backpath.kb import KnowledgeBase
from backpath.store import Store
from backpath.store.identity import PatientIdentity
from backpath.store.models import AuditEvent
from tests.store.conftest import database_url  # noqa: F401  (SQLite and PostgreSQL)
from tests.web._support import Patient, add_clinician, csrf_of, esc, login, make_app

ROUTINE_INTAKE = {"age": 46, "answers": {"leg_pain": True, "back_pain": True}}
URGENT_INTAKE = {"age": 67, "answers": {"trauma_minor": True, "pain_back_nrs": 6}}
TODAY = datetime.now(UTC).date()
# Born on 1 January: the age is the difference of the years on every day of this year.
BORN_46 = date(TODAY.year - 46, 1, 1)
BORN_67 = date(TODAY.year - 67, 1, 1)


def _dob(born: date) -> dict[str, str]:
    return {"dob_year": str(born.year), "dob_month": str(born.month), "dob_day": str(born.day)}


CONTACT = {
    "given_name": "Zoë",
    "family_name": "Quennell-Ortega",
    **_dob(BORN_46),
    "phone": "+44 7700 900461",
    "record_number": "MRN 58812",
    "email": "zoe.q@example.org",
}
SECRETS = ("Quennell", "7700 900461", "7700900461", "MRN 58812", "zoe.q@example.org")


@pytest.fixture
def app_and_store(tmp_path: Path) -> Iterator[tuple[FastAPI, Store]]:
    """An app that accepts anonymous API posts (to make results quickly), with a clinician."""
    app, store = make_app(tmp_path, api_anonymous_posts=True)
    add_clinician(store)
    yield app, store
    store.dispose()


def _result(client: TestClient, intake: dict[str, Any]) -> str:
    """Store an intake through the API; the private result address."""
    answer = client.post("/api/v1/assessments", json=intake)
    assert answer.status_code == 201, answer.text
    link = str(answer.json()["patient_link"])
    return "/" + link.split("/", 3)[-1] if link.startswith("http") else link


def _send(client: TestClient, address: str, **changes: str) -> Any:
    page = client.get(address)
    assert page.status_code == 200
    data = {**CONTACT, **changes, "csrf_token": csrf_of(page.text)}
    return client.post(address, data=data, follow_redirects=False)


def test_routine_result_offers_contact_and_urgent_result_prompts_it(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Every result offers the contact page; an urgent one asks prominently, after the banner."""
    routine = client.get(_result(client, ROUTINE_INTAKE))
    assert 'data-contact-prompt="optional"' in routine.text
    assert esc(kb.ui("web.contact_prompt_optional_title")) in routine.text
    urgent = client.get(_result(client, URGENT_INTAKE))
    assert 'data-contact-prompt="urgent"' in urgent.text
    assert esc(kb.ui("web.contact_prompt_title")) in urgent.text
    assert urgent.text.index("data-urgency=") < urgent.text.index('id="contact"')
    form = client.get(_result(client, URGENT_INTAKE) + "/contact")
    assert esc(kb.ui("web.contact_reason")) in form.text
    assert 'autocomplete="tel"' in form.text


def test_contact_is_stored_encrypted_and_never_shown_back_to_the_patient(
    client: TestClient, store: Store, tmp_path: Path, kb: KnowledgeBase
) -> None:
    """Saving goes back to the result, which thanks the patient without repeating the
    details; the database file holds none of them in the clear; the audit row names the
    fields given, not their values."""
    address = _result(client, URGENT_INTAKE)
    saved = _send(client, address + "/contact")  # 46 years: the intake says 67
    assert saved.status_code == 422
    saved = _send(client, address + "/contact", **_dob(BORN_67))
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{address}?contact=saved#contact"
    result = client.get(saved.headers["location"])
    assert 'data-contact-prompt="given"' in result.text
    assert esc(kb.ui("web.contact_given")) in result.text
    again = client.get(address + "/contact")
    for page in (result, again):
        for secret in ("Quennell", "900461", "58812", "zoe.q"):
            assert secret not in page.text
    assert esc(kb.ui("web.contact_replace_note")) in again.text
    files = [tmp_path / "backpath.db", tmp_path / "backpath.db-wal"]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    for secret in ("Quennell", "Zo\u00eb", "7700 900461", "58812", "zoe.q@example.org"):
        assert secret.encode() not in raw
    with store.session() as db:
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "patient_identity")
        ).all()
        assert [(e.actor, e.action) for e in events] == [("patient", "create")]
        assert events[0].detail["fields"] == [
            "given_name",
            "family_name",
            "date_of_birth",
            "phone",
            "record_number",
            "email",
        ]
        assert db.scalars(select(PatientIdentity)).one().key_id


@pytest.mark.parametrize(
    ("change", "field", "word"),
    [
        ({"phone": "0770 0900 ext 4"}, "phone", "contact_error_phone_chars"),
        ({"phone": "0770"}, "phone", "contact_error_phone_digits"),
        ({"family_name": "Ortega\x00"}, "family_name", "contact_error_bad_character"),
        ({"given_name": ""}, "given_name", "contact_error_required"),
        ({"dob_day": "30", "dob_month": "2"}, "date_of_birth", "contact_error_not_a_date"),
        ({"dob_year": "2099"}, "date_of_birth", "contact_error_future"),
        ({"dob_year": "1850"}, "date_of_birth", "contact_error_too_old"),
        ({"email": "zoe at example"}, "email", "contact_error_email"),
    ],
)
def test_a_bad_field_is_named_and_everything_typed_is_kept(
    client: TestClient,
    store: Store,
    kb: KnowledgeBase,
    change: dict[str, str],
    field: str,
    word: str,
) -> None:
    """422: the error summary links the field, says what is allowed, and every value typed
    is in the form again; nothing is stored."""
    address = _result(client, ROUTINE_INTAKE) + "/contact"
    page = _send(client, address, **change)
    assert page.status_code == 422
    summary = page.text[page.text.index('id="error-summary"') :]
    anchor = "f-dob_day" if field == "date_of_birth" else f"f-{field}"
    assert f'href="#{anchor}"' in summary
    message = kb.ui(f"web.{word}")
    limits = {"min": 6, "max": 120 if word == "contact_error_too_old" else 20}
    assert esc(message.format(**limits) if "{" in message else message) in page.text
    assert 'aria-invalid="true"' in page.text
    kept = {**CONTACT, **change}
    for name in ("given_name", "phone", "record_number", "email", "dob_year"):
        if "\x00" not in kept[name]:
            assert f'name="{name}"' in page.text
            assert f'value="{esc(kept[name])}"' in page.text
    with store.session() as db:
        assert db.scalars(select(PatientIdentity)).first() is None


def test_an_age_that_disagrees_is_checked_once_then_saved(
    client: TestClient, store: Store, kb: KnowledgeBase
) -> None:
    """A date of birth giving another age than the one answered comes back with the two
    ages; sending the same date again saves it."""
    address = _result(client, ROUTINE_INTAKE) + "/contact"
    first = _send(client, address, **_dob(date(TODAY.year - 40, 1, 1)))
    computed = 40
    assert first.status_code == 422
    assert 'id="age-warning"' in first.text
    warning = kb.ui("web.contact_age_warning").format(computed=computed, answered=46)
    assert esc(warning) in first.text
    confirm = re.search(r'name="confirm_dob" value="([^"]+)"', first.text)
    assert confirm
    data = {
        **CONTACT,
        **_dob(date(TODAY.year - 40, 1, 1)),
        "confirm_dob": confirm.group(1),
        "csrf_token": csrf_of(first.text),
    }
    saved = client.post(address, data=data, follow_redirects=False)
    assert saved.status_code == 303
    with store.session() as db:
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "patient_identity")
        ).one()
        assert event.detail["age_checked"] is True


def test_contact_without_the_form_token_or_for_an_unknown_link(client: TestClient) -> None:
    """The form needs the session's CSRF token; an unknown result link is a 404."""
    address = _result(client, ROUTINE_INTAKE) + "/contact"
    client.get(address)
    assert client.post(address, data=CONTACT).status_code == 403
    assert client.get("/r/not-a-real-token/contact").status_code == 404
    assert client.post("/r/not-a-real-token/contact", data=CONTACT).status_code == 404


def test_emergency_screen_keeps_the_call_button_first_and_saves_against_the_stored_row(
    client: TestClient, store: Store, kb: KnowledgeBase
) -> None:
    """The emergency screen's contact offer comes after the call button; the contact page
    repeats the call button above the form; the details go onto the assessment stored
    when it became an emergency; finishing keeps them on that same row."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "45", "back_pain": "yes"})
    patient.pass_danger_signs()
    screen = patient.submit({"saddle_numbness": "yes"})
    assert str(screen.url).endswith("/intake/emergency")
    assert screen.text.index('href="tel:911"') < screen.text.index(
        'href="/intake/emergency/contact"'
    )
    form = client.get("/intake/emergency/contact")
    assert form.status_code == 200
    assert form.text.index('href="tel:911"') < form.text.index(
        '<form method="post" action="/intake/emergency/contact"'
    )
    assert esc(kb.ui("web.contact_back_emergency")) in form.text
    data = {
        **CONTACT,
        **_dob(date(TODAY.year - 45, 1, 1)),
        "csrf_token": csrf_of(form.text),
    }
    saved = client.post("/intake/emergency/contact", data=data, follow_redirects=False)
    assert saved.status_code == 303
    back = client.get(saved.headers["location"])
    assert 'id="contact-given"' in back.text
    assert back.text.index('href="tel:911"') < back.text.index('id="contact-given"')
    with store.session() as db:
        identity = db.scalars(select(PatientIdentity)).one()
        stored_id = identity.assessment_id
    patient.page = back
    result = patient.emergency("finish")
    assert 'data-contact-prompt="given"' in result.text
    with store.session() as db:
        assert db.scalars(select(PatientIdentity)).one().assessment_id == stored_id


def test_emergency_contact_without_an_emergency_goes_back(client: TestClient) -> None:
    """Without a draft the contact page of the emergency screen is not shown."""
    page = client.get("/intake/emergency/contact", follow_redirects=False)
    assert page.status_code == 303


def _clinic_flow(client: TestClient, store: Store) -> tuple[str, str]:
    """A patient leaves details on an urgent result; a clinician signs in. (result link,
    assessment id)"""
    address = _result(client, URGENT_INTAKE)
    assert _send(client, address + "/contact", **_dob(BORN_67)).status_code == 303
    with store.session() as db:
        assessment_id = db.scalars(select(PatientIdentity.assessment_id)).one()
    assert login(client).status_code in (200, 303)
    return address, assessment_id


def _search(client: TestClient, **terms: str) -> Any:
    page = client.get("/clinic")
    return client.post("/clinic/search", data={"csrf_token": csrf_of(page.text), **terms})


def test_clinician_sees_identity_on_worklist_and_page_each_view_audited(
    client: TestClient, store: Store
) -> None:
    """The worklist row and the assessment page show name, date of birth and phone (a tel:
    link); the page's view of the identity has its own audit row."""
    _, assessment_id = _clinic_flow(client, store)
    worklist = client.get("/clinic")
    row = re.search(rf'<tr data-assessment="{assessment_id}".*?</tr>', worklist.text, re.S)
    assert row
    assert esc("Zoë Quennell-Ortega") in row.group(0)
    assert BORN_67.isoformat() in row.group(0)
    assert 'href="tel:+447700900461"' in row.group(0)
    page = client.get(f"/clinic/assessments/{assessment_id}")
    assert 'data-identity="name">' + esc("Zoë Quennell-Ortega") in page.text
    assert 'data-identity="record_number">MRN 58812' in page.text
    assert "zoe.q@example.org" in page.text
    with store.session() as db:
        views = db.scalars(
            select(AuditEvent).where(
                AuditEvent.target_type == "patient_identity", AuditEvent.action == "view"
            )
        ).all()
        assert [(e.actor, e.target_id) for e in views] == [("clinician:dr.lee", assessment_id)]
        worklist_view = db.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "worklist")
        ).first()
        assert worklist_view is not None
        assert worklist_view.detail["identities_shown"] == [assessment_id]


def test_search_by_name_and_birth_date(client: TestClient, store: Store, kb: KnowledgeBase) -> None:
    """The search finds the patient by full name, by last name with the date of birth, and
    by the date alone; other terms find nobody; bad input names the field; the audit row
    says what was searched by but never the terms."""
    _, assessment_id = _clinic_flow(client, store)
    other = _result(client, ROUTINE_INTAKE)
    assert other
    found = [
        _search(client, name="zoe quennell ortega"),
        _search(client, name="QUENNELL-ORTEGA", date_of_birth=BORN_67.isoformat()),
        _search(client, date_of_birth=BORN_67.isoformat()),
    ]
    for page in found:
        assert page.status_code == 200
        assert re.findall(r'<tr data-assessment="([0-9a-f]+)"', page.text) == [assessment_id]
    for terms in (
        {"name": "Quennell-Ortega"},
        {"name": "Zoe", "date_of_birth": BORN_67.isoformat()},
    ):
        page = _search(client, **terms)
        assert page.status_code == 200
        assert 'data-assessment="' not in page.text
        assert esc(kb.ui("web.search_none")) in page.text
    empty = _search(client)
    assert empty.status_code == 422
    assert esc(kb.ui("web.search_error_empty")) in empty.text
    bad_date = _search(client, name="x", date_of_birth="02/01/1958")
    assert bad_date.status_code == 422
    assert esc(kb.ui("web.search_error_dob")) in bad_date.text
    assert 'value="02/01/1958"' in bad_date.text
    with store.session() as db:
        searches = db.scalars(select(AuditEvent).where(AuditEvent.action == "search")).all()
        assert [e.detail["by"] for e in searches][:3] == [
            ["name"],
            ["name", "date_of_birth"],
            ["date_of_birth"],
        ]
        assert searches[0].detail["matches"] == [assessment_id]
        text = " ".join(str(e.detail) for e in searches)
        assert "uennell" not in text
        assert BORN_67.isoformat() not in text


def test_search_needs_a_signed_in_clinician(client: TestClient) -> None:
    """Without a session the search goes to the sign-in page and shows nobody."""
    page = client.get("/clinic/login")
    answer = client.post(
        "/clinic/search",
        data={"csrf_token": csrf_of(page.text), "name": "x"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/clinic/login")


def test_identity_never_reaches_the_logs(
    client: TestClient, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Through saving, the worklist, the assessment page and a search, no log line holds
    the name, the phone, the record number, the e-mail or the date of birth."""
    caplog.set_level(logging.DEBUG)
    _, assessment_id = _clinic_flow(client, store)
    client.get("/clinic")
    client.get(f"/clinic/assessments/{assessment_id}")
    _search(client, name="Quennell-Ortega", date_of_birth=BORN_67.isoformat())
    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    for secret in (*SECRETS, BORN_67.isoformat()):
        assert secret not in logged


def test_the_same_flow_on_postgresql_and_sqlite(tmp_path: Path, database_url: str) -> None:  # noqa: F811
    """Saving, showing and searching work the same on both databases."""
    app, store = make_app(tmp_path, database_url=database_url, api_anonymous_posts=True)
    add_clinician(store)
    try:
        with TestClient(app) as client:
            _, assessment_id = _clinic_flow(client, store)
            page = _search(client, name="Quennell Ortega", date_of_birth=BORN_67.isoformat())
            assert re.findall(r'<tr data-assessment="([0-9a-f]+)"', page.text) == [assessment_id]
            detail = client.get(f"/clinic/assessments/{assessment_id}")
            assert "+44 7700 900461" in detail.text
    finally:
        store.dispose()
