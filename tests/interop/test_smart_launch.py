"""SMART App Launch (EHR and standalone, PKCE S256, state) and write-back, against a real
authorisation server (authlib, tests/interop/_smart_server.py) on a loopback port.

The EHR launch runs in Debian's Chromium end to end: the EHR's launch URL, the authorize
redirect, the callback, the step interview prefilled from the chart, and the resources
written to the EHR's FHIR server - each validated there and here with the ``fhir.resources``
R4 (R4B) models. The standalone launch, the refusals (wrong state, unknown iss) and PKCE
(the token endpoint refusing a wrong ``code_verifier``) are driven over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from playwright.sync_api import Browser, expect

from backpath.interop.fhir import FINDING_SYSTEM, URGENCY_SYSTEM, intake_from_questionnaire_response
from backpath.kb import KnowledgeBase
from backpath.store import Store
from backpath.store.models import StoredAssessment
from tests.browser._pages import shoot
from tests.browser.conftest import (
    REVIEW_SHOTS,
    browser_type_launch_args,  # noqa: F401 (Debian's Chromium)
)
from tests.interop._smart_server import CLIENT_ID, EhrState, free_port, running_ehr, serve_asgi
from tests.web._support import Patient, make_app

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "birthDate": "1961-03-02",
    "gender": "female",
    "name": [{"family": "Rivera", "given": ["Ana"]}],
}
LAUNCH_ID = "launch-7f3a"
SNOMED = "http://snomed.info/sct"
# Answers of a routine journey (leg pain below the knee for three weeks, no red flag), by
# form name; the age and sex come from the chart.
ROUTINE: dict[str, str | list[str]] = {
    "list-legs": ["leg_pain", "leg_numbness"],
    "back_pain": "yes",
    "duration_days": "21",
    "leg_pain_below_knee": "yes",
}


def _age_today() -> int:
    born, today = date(1961, 3, 2), datetime.now(UTC).date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass
class Setup:
    """backpath and the EHR, both running."""

    app: str
    iss: str
    ehr: EhrState
    store: Store


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    app_port, ehr_port = free_port(), free_port()
    redirect = f"http://127.0.0.1:{app_port}/smart/callback"
    with running_ehr(redirect, {"p1": PATIENT}, "p1", port=ehr_port) as (iss, ehr):
        ehr.launches[LAUNCH_ID] = "p1"
        app, store = make_app(
            tmp_path,
            smart_client_id=CLIENT_ID,
            smart_issuers=(iss,),
            smart_redirect_url=redirect,
        )
        try:
            with serve_asgi(app, app_port) as base:
                yield Setup(base, iss, ehr, store)
        finally:
            store.dispose()


def _rows(store: Store) -> list[StoredAssessment]:
    with store.session() as db:
        return list(db.query(StoredAssessment).order_by(StoredAssessment.created_at))


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _to_callback(browser: httpx2.Client, setup: Setup, start: str) -> str:
    """Start a launch at ``start`` and follow it to the authorize endpoint; the callback
    URL the EHR sends the browser to (not yet opened)."""
    first = browser.get(setup.app + start, follow_redirects=False)
    assert first.status_code == 302, first.text[:300]
    authorize = first.headers["location"]
    assert authorize.startswith(setup.iss.removesuffix("/fhir") + "/auth/authorize?")
    second = browser.get(authorize, follow_redirects=False)
    assert second.status_code == 302, second.text[:300]
    callback = second.headers["location"]
    assert callback.startswith(setup.app + "/smart/callback?")
    return callback


def _finish_over_http(browser: httpx2.Client, setup: Setup, answers: dict[str, Any]) -> Any:
    """Answer the step interview on screen as a browser without JavaScript would, until it
    ends; the last response."""
    patient = Patient.__new__(Patient)
    patient.client = browser  # type: ignore[assignment]
    patient.page = browser.get(setup.app + "/intake/step", follow_redirects=True)
    for _ in range(30):
        if "/intake/step" not in str(patient.page.url) and not patient.on_narrative_page():
            if patient.on_emergency_screen():
                patient.emergency("continue")
                continue
            return patient.page
        if patient.on_narrative_page():
            patient.narrative("")
            continue
        assert patient.page.status_code == 200, patient.page.text[:500]
        form = {code: answers.get(code, "no") for code in patient.shown()}
        for code in patient.shown():
            if code.startswith("list-") and code not in answers:
                form[code] = ["_none"]
        patient.submit(form)
    raise AssertionError("the intake did not end")


def _check_written(kb: KnowledgeBase, setup: Setup, intake: dict[str, Any], urgency: str) -> None:
    """What the EHR holds: every resource valid R4, about Patient/p1, linked by the ids the
    EHR gave, saying what backpath stored."""
    created = setup.ehr.created
    assert setup.ehr.refused == []
    kinds = [resource["resourceType"] for resource in created]
    assert kinds[:2] == ["QuestionnaireResponse", "RiskAssessment"]
    assert kinds[-1] == "DocumentReference"
    ids = {f"{r['resourceType']}/{r['id']}" for r in created}
    for resource in created:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert resource["subject"] == {"reference": "Patient/p1"}
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for resource in created:
        by_kind.setdefault(resource["resourceType"], []).append(resource)
    response = by_kind["QuestionnaireResponse"][0]
    read_back, _ = intake_from_questionnaire_response(kb, response)
    stored = {code: value for code, value in intake["answers"].items() if value is not None}
    assert read_back["answers"] == stored
    assert read_back["answers"]["age"] == _age_today()
    assert read_back["answers"]["sex"] == "female"
    risk = by_kind["RiskAssessment"][0]
    coding = risk["prediction"][0]["qualitativeRisk"]["coding"][0]
    assert (coding["system"], coding["code"]) == (URGENCY_SYSTEM, urgency)
    qr_ref = f"QuestionnaireResponse/{response['id']}"
    assert risk["basis"] == [{"reference": qr_ref}]
    for observation in by_kind.get("Observation", []):
        assert observation["derivedFrom"] == [{"reference": qr_ref}]
        systems = {c["system"] for c in observation["code"]["coding"]}
        assert FINDING_SYSTEM in systems or "http://loinc.org" in systems
        if observation.get("valueBoolean") is not True:
            assert SNOMED not in systems, "a SNOMED concept is never said with false/unknown"
    document = by_kind["DocumentReference"][0]
    attachment = document["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert base64.b64decode(attachment["data"]).startswith(b"%PDF")
    related = {r["reference"] for r in document["context"]["related"]}
    assert related <= ids
    assert qr_ref in related
    for request in by_kind.get("ServiceRequest", []):
        assert (request["status"], request["intent"]) == ("draft", "proposal")
        assert request["reasonReference"][0]["reference"] in ids


@pytest.mark.browser
def test_ehr_launch_in_chromium_writes_back(
    setup: Setup, kb: KnowledgeBase, pdf_engine: None, browser: Browser
) -> None:
    context = browser.new_context()
    try:
        if True:
            page = context.new_page()
            page.goto(f"{setup.app}/smart/launch?iss={setup.iss}&launch={LAUNCH_ID}")
            expect(page).to_have_url(re.compile(r"/intake/step$"))
            asked = setup.ehr.authorize_requests[-1]
            assert asked["launch"] == LAUNCH_ID
            assert asked["aud"] == setup.iss
            assert asked["code_challenge_method"] == "S256"
            assert "launch" in asked["scope"].split()
            # The chart's age is in the draft: the page does not ask for it empty.
            age = page.locator('input[name="age"]')
            if age.count():
                expect(age).to_have_value(str(_age_today()))
            for _ in range(30):
                if page.locator("#smart-written").count():
                    break
                if page.locator("#emergency-screen").count():
                    page.locator('button[name="action"][value="continue"]').click()
                    continue
                if page.locator("textarea[name=narrative]").count():
                    page.locator('button[name="nav"][value="finish"]').click()
                    continue
                _answer_step_page(page, ROUTINE)
                page.locator('button[name="nav"][value="next"]').click()
            expect(page).to_have_url(re.compile(r"/smart/written$"))
            expect(page.locator("#smart-written")).to_have_attribute("data-ok", "yes")
            REVIEW_SHOTS.mkdir(parents=True, exist_ok=True)
            shoot(page, REVIEW_SHOTS, "smart-written")
            shown = page.locator("#smart-written-list li").evaluate_all(
                "items => items.map(item => item.dataset.reference)"
            )
            page.locator("#smart-result-link").click()
            expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "routine")
    finally:
        context.close()
    rows = _rows(setup.store)
    assert len(rows) == 1
    assert shown == [f"{r['resourceType']}/{r['id']}" for r in setup.ehr.created]
    _check_written(kb, setup, rows[0].intake, rows[0].urgency)
    kinds = [r["resourceType"] for r in setup.ehr.created]
    assert "ServiceRequest" in kinds  # physiotherapy and home exercise, proposed


def _answer_step_page(page: Any, answers: dict[str, str | list[str]]) -> None:
    """Fill the page on screen: ``answers`` by form name; every other checklist "None of
    these", every other yes/no "No"; a number already filled (the chart's age) is kept."""
    for shown in page.locator('input[name="_shown"]').all():
        name = shown.get_attribute("value") or ""
        wanted = answers.get(name)
        if name.startswith("list-"):
            values = wanted if isinstance(wanted, list) else [wanted or "_none"]
            for value in values:
                page.locator(f'input[name="{name}"][value="{value}"]').check()
        elif page.locator(f'input[type="text"][name="{name}"]').count():
            field = page.locator(f'input[name="{name}"]')
            if not field.input_value():
                field.fill(str(wanted or "30"))
        else:
            value = wanted if isinstance(wanted, str) else "no"
            choice = page.locator(f'input[name="{name}"][value="{value}"]')
            if choice.count():
                choice.check()


def test_standalone_launch_and_write_back(
    setup: Setup, kb: KnowledgeBase, pdf_engine: None
) -> None:
    with httpx2.Client(timeout=30, base_url=setup.app, follow_redirects=True) as browser:
        callback = _to_callback(browser, setup, f"/smart/start?iss={setup.iss}")
        asked = setup.ehr.authorize_requests[-1]
        assert "launch" not in asked
        assert "launch/patient" in asked["scope"].split()
        assert asked["client_id"] == CLIENT_ID
        assert asked["aud"] == setup.iss
        opened = browser.get(callback, follow_redirects=False)
        assert opened.status_code == 303, opened.text[:500]
        assert opened.headers["location"] == "/intake/step"
        # PKCE: the verifier sent to the token endpoint hashes (S256) to the challenge.
        exchange = setup.ehr.token_requests[-1]
        assert exchange["grant_type"] == "authorization_code"
        assert _s256(exchange["code_verifier"]) == asked["code_challenge"]
        # The token and the patient id stay on the server: the (signed, readable) session
        # cookie holds random ids only.
        cookie = browser.cookies.get("backpath_session") or ""
        token = next(iter(setup.ehr.tokens))
        payload = cookie.split(".")[0]
        session = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert "smart" in session
        assert token not in json.dumps(session)
        assert "p1" not in session.values()
        assert token not in cookie
        last = _finish_over_http(browser, setup, {**ROUTINE})
        assert str(last.url).endswith("/smart/written"), last.url
        assert 'data-ok="yes"' in last.text
    rows = _rows(setup.store)
    assert len(rows) == 1
    _check_written(kb, setup, rows[0].intake, rows[0].urgency)
    for resource in setup.ehr.created:
        assert f"{resource['resourceType']}/{resource['id']}" in last.text


def test_token_endpoint_refuses_a_wrong_code_verifier(setup: Setup) -> None:
    """PKCE is real: with the code but not the verifier the token endpoint says no; the app,
    which holds the verifier, then exchanges the same code."""
    with httpx2.Client(timeout=30, base_url=setup.app, follow_redirects=True) as browser:
        callback = _to_callback(browser, setup, f"/smart/launch?iss={setup.iss}&launch={LAUNCH_ID}")
        code = _query(callback)["code"]
        token_url = setup.iss.removesuffix("/fhir") + "/auth/token"
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{setup.app}/smart/callback",
            "client_id": CLIENT_ID,
        }
        wrong = browser.post(token_url, data={**form, "code_verifier": "x" * 64})
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"
        missing = browser.post(token_url, data=form)
        assert missing.status_code == 400
        assert missing.json()["error"] == "invalid_request"
        assert setup.ehr.tokens == {}
        opened = browser.get(callback, follow_redirects=False)
        assert opened.status_code == 303, opened.text[:500]
        assert len(setup.ehr.tokens) == 1


def test_wrong_state_is_refused(setup: Setup) -> None:
    with httpx2.Client(timeout=30, base_url=setup.app, follow_redirects=True) as browser:
        callback = _to_callback(browser, setup, f"/smart/launch?iss={setup.iss}&launch={LAUNCH_ID}")
        query = _query(callback)
        forged = f"{setup.app}/smart/callback?code={query['code']}&state=forged-state"
        refused = browser.get(forged, follow_redirects=False)
        assert refused.status_code == 400
        assert "state does not match" in refused.text
        assert setup.ehr.token_requests == [], "no code is exchanged on a wrong state"
        # The right state, in another browser (no session cookie): refused as well.
        with httpx2.Client(timeout=30) as other:
            elsewhere = other.get(callback)
        assert elsewhere.status_code == 400
        assert setup.ehr.token_requests == []
    assert _rows(setup.store) == []


@pytest.mark.parametrize(
    "iss",
    ["https://evil.example/fhir", "{iss}/other", "{iss}x"],
    ids=["other-host", "below-the-base", "longer-path"],
)
def test_unlisted_iss_is_refused(setup: Setup, iss: str) -> None:
    target = iss.format(iss=setup.iss)
    with httpx2.Client(timeout=30, base_url=setup.app, follow_redirects=True) as browser:
        refused = browser.get(f"{setup.app}/smart/launch", params={"iss": target, "launch": "x"})
        standalone = browser.get(f"{setup.app}/smart/start", params={"iss": target})
    assert refused.status_code == 403
    assert standalone.status_code == 403
    assert "not one this backpath is registered with" in refused.text
    assert setup.ehr.authorize_requests == []


def test_write_back_error_loses_nothing(setup: Setup, pdf_engine: None) -> None:
    """The EHR refuses (its token was revoked): the page says what was not written and
    links to the result, which is stored in backpath."""
    with httpx2.Client(timeout=30, base_url=setup.app, follow_redirects=True) as browser:
        callback = _to_callback(browser, setup, f"/smart/start?iss={setup.iss}")
        assert browser.get(callback, follow_redirects=False).status_code == 303
        setup.ehr.tokens.clear()
        last = _finish_over_http(browser, setup, {**ROUTINE})
        assert last.status_code == 502
        assert 'data-ok="no"' in last.text
        assert "HTTP 401" in last.text
        assert "QuestionnaireResponse" in last.text
        link = re.search(r'id="smart-result-link" href="(/r/[^"]+)"', last.text)
        assert link
        result = browser.get(setup.app + link.group(1))
        assert result.status_code == 200
    assert setup.ehr.created == []
    assert [row.urgency for row in _rows(setup.store)] == ["routine"]


def test_discovery_refuses_a_server_without_s256() -> None:
    """PKCE with S256 or nothing: a server that offers only ``plain`` is refused, naming
    the field; a configuration without endpoints is refused naming the missing one."""
    from backpath.interop.smart import SmartError, discover
    from tests.interop._servers import serve

    documents = {
        "/plain/.well-known/smart-configuration": {
            "authorization_endpoint": "http://127.0.0.1:9/authorize",
            "token_endpoint": "http://127.0.0.1:9/token",
            "code_challenge_methods_supported": ["plain"],
        },
        "/empty/.well-known/smart-configuration": {"token_endpoint": "http://127.0.0.1:9/t"},
    }
    with serve(lambda path, _: (200, documents[path])) as (base, _), httpx2.Client() as client:
        with pytest.raises(SmartError, match="code_challenge_methods_supported has no S256"):
            discover(base + "/plain", client)
        with pytest.raises(SmartError, match="authorization_endpoint is missing"):
            discover(base + "/empty/", client)


def test_ehr_saying_no_is_shown_and_nothing_is_exchanged(setup: Setup) -> None:
    """The EHR's authorize endpoint answers ``error=access_denied`` (with the right state):
    the page says so; no token is asked for and no intake is opened."""
    with httpx2.Client(timeout=30, base_url=setup.app, follow_redirects=True) as browser:
        first = browser.get(
            f"/smart/launch?iss={setup.iss}&launch={LAUNCH_ID}", follow_redirects=False
        )
        state = _query(first.headers["location"])["state"]
        denied = browser.get(
            f"/smart/callback?error=access_denied&error_description=user+said+no&state={state}",
            follow_redirects=False,
        )
    assert denied.status_code == 403
    assert "access_denied: user said no" in denied.text
    assert setup.ehr.token_requests == []


def test_launch_pages_without_smart_settings(client: TestClient) -> None:
    """An app with no SMART client id and no issuers refuses every launch (503, naming the
    settings); the write-back page without a SMART session is a 404 page, not an error."""
    launch = client.get(
        "/smart/launch?iss=https://ehr.example/fhir&launch=abc", follow_redirects=False
    )
    start = client.get("/smart/start?iss=https://ehr.example/fhir", follow_redirects=False)
    for response in (launch, start):
        assert response.status_code == 503
        assert "BACKPATH_SMART_CLIENT_ID" in response.text
    written = client.get("/smart/written")
    assert written.status_code == 404
    assert "No EHR session" in written.text
    callback = client.get("/smart/callback?code=abc&state=def")
    assert callback.status_code == 400
