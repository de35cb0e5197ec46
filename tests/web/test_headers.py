"""Response headers and links: no caching of patient data, HSTS over HTTPS, security headers
on error pages too, links built from the configured public URL (never from ``Host``), and
failed reads of patient data in the audit log."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backpath.store import Store
from backpath.store.audit import verify_chain
from backpath.store.models import AuditEvent
from backpath.web.security import absolute_url
from backpath.web.settings import PUBLIC_URL_ENV, check_public_url
from tests.web._support import ROUTINE, Patient, add_clinician, all_red_flags_no, login, make_app

PROTECTIVE = ("content-security-policy", "x-content-type-options", "x-frame-options")


def _result(client: TestClient) -> tuple[str, str]:
    """Complete an intake; returns (result page HTML, token)."""
    page = Patient(client).complete({**all_red_flags_no(), **ROUTINE})
    match = re.search(r"/r/([A-Za-z0-9_-]{43})", str(page.url))
    assert match, page.url
    return page.text, match.group(1)


def _assessment_id(store: Store) -> str:
    with store.session() as db:
        row = db.query(AuditEvent).filter_by(action="create", target_type="assessment").first()
        assert row is not None
        assert row.target_id
        return row.target_id


def test_every_page_with_patient_data_is_no_store(client: TestClient, store: Store) -> None:
    """Intake pages, result pages, clinician pages and API answers with assessments all
    carry Cache-Control: no-store; static files may be cached."""
    _, token = _result(client)
    assessment_id = _assessment_id(store)
    intake = client.post("/intake", data={"csrf_token": Patient(client).csrf})
    assert "/intake/" in str(intake.url)
    responses = {
        "intake": intake,
        "result": client.get(f"/r/{token}"),
        "print": client.get(f"/r/{token}/print"),
        "triage api": client.post("/api/v1/triage", json={"answers": {"age": 40}}),
    }
    add_clinician(store)
    assert login(client).status_code == 200
    responses["worklist"] = client.get("/clinic")
    responses["assessment"] = client.get(f"/clinic/assessments/{assessment_id}")
    responses["assessment api"] = client.get(f"/api/v1/assessments/{assessment_id}")
    for name, response in responses.items():
        assert response.status_code == 200, name
        assert response.headers.get("cache-control") == "no-store", name
        for header in PROTECTIVE:
            assert header in response.headers, (name, header)
    css = client.get("/static/app.css")
    assert css.status_code == 200
    assert "no-store" not in css.headers.get("cache-control", "")


@pytest.fixture
def crashing(app_and_store: tuple[FastAPI, Store]) -> Iterator[TestClient]:
    """The app with a route that raises."""
    app, _ = app_and_store

    @app.get("/boom-headers")
    async def boom() -> None:
        raise RuntimeError("simulated bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no-such-page", 404),
        ("GET", "/api/v1/no-such-thing", 404),
        ("DELETE", "/", 405),
        ("GET", "/boom-headers", 500),
    ],
)
def test_error_pages_carry_the_security_headers(
    crashing: TestClient, method: str, path: str, status: int
) -> None:
    """404, 405 and 500 answers have the same protective headers as normal pages."""
    response = crashing.request(method, path)
    assert response.status_code == status
    for header in PROTECTIVE:
        assert header in response.headers, header
    assert response.headers["cache-control"] == "no-store"


def test_no_hsts_over_plain_http_without_a_public_https_url(client: TestClient) -> None:
    """On http://, with no public URL, HSTS is not sent (it would be meaningless)."""
    assert "strict-transport-security" not in client.get("/").headers


def test_hsts_when_the_request_came_over_https(tmp_path: Path) -> None:
    """A request over HTTPS (or through a trusted proxy saying so) gets HSTS, errors too."""
    app, store = make_app(tmp_path)
    with TestClient(app, base_url="https://testserver") as client:
        for path in ("/", "/no-such-page"):
            hsts = client.get(path).headers.get("strict-transport-security", "")
            assert hsts.startswith("max-age=")
            assert int(hsts.split("=")[1].split(";")[0]) > 0
    store.dispose()


def test_hsts_and_links_follow_the_public_url_not_the_host_header(tmp_path: Path) -> None:
    """With BACKPATH_PUBLIC_URL set, a forged Host header changes nothing: the private
    link names the public address, and HSTS is sent even behind a plain-HTTP proxy hop."""
    app, store = make_app(tmp_path, public_url="https://backpath.clinic.example")
    with TestClient(app, headers={"host": "evil.example"}) as client:
        html, token = _result(client)
        assert f"https://backpath.clinic.example/r/{token}" in html
        assert "evil.example" not in html
        assert "strict-transport-security" in client.get("/").headers
    store.dispose()


def test_without_a_public_url_the_host_header_is_not_reflected(tmp_path: Path) -> None:
    """With no public URL set, a forged Host header never reaches the patient's link."""
    app, store = make_app(tmp_path)
    with TestClient(app, headers={"host": "evil.example"}) as client:
        html, _ = _result(client)
    store.dispose()
    assert "evil.example" not in html


def test_public_url_setting_is_checked_and_used_for_links() -> None:
    """A public URL must be an http(s) address (the error names the variable); links
    are absolute under it, and relative when it is unset."""
    assert check_public_url("https://backpath.example/") == "https://backpath.example"
    assert check_public_url("") is None
    for bad in ("backpath.example", "ftp://x.example", "https://", "https://x.example/?a=1"):
        with pytest.raises(ValueError, match=PUBLIC_URL_ENV):
            check_public_url(bad)
    assert absolute_url("https://b.example", "/r/abc") == "https://b.example/r/abc"
    assert absolute_url(None, "/r/abc") == "/r/abc"


def _failed_reads(store: Store) -> list[AuditEvent]:
    with store.session() as db:
        return list(db.query(AuditEvent).filter_by(action="read_failed").order_by(AuditEvent.seq))


def test_a_wrong_result_link_is_audited_without_the_token(client: TestClient, store: Store) -> None:
    """A 404 on /r/{token} is audited with the token's SHA-256, never the token itself."""
    guess = "A" * 43
    assert client.get(f"/r/{guess}").status_code == 404
    assert client.get(f"/r/{guess}/handout").status_code == 404
    rows = _failed_reads(store)
    assert [row.target_type for row in rows] == ["result", "result"]
    assert {row.target_id for row in rows} == {hashlib.sha256(guess.encode()).hexdigest()}
    assert [row.detail["path"] for row in rows] == ["/r/{token}", "/r/{token}/handout"]
    assert all(row.detail["status"] == 404 and row.actor == "anonymous" for row in rows)
    with store.session() as db:
        assert guess not in str([(e.detail, e.target_id) for e in db.query(AuditEvent)])
        assert verify_chain(db).ok


def test_refused_and_missed_clinician_reads_are_audited(client: TestClient, store: Store) -> None:
    """Not signed in (redirect to sign-in, or 401 from the API) and not found (404) on an
    assessment are audited, with who asked when someone was signed in."""
    assert client.get("/clinic/assessments/abc123", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/assessments/abc123").status_code == 401
    add_clinician(store)
    assert login(client).status_code == 200
    assert client.get("/clinic/assessments/doesnotexist").status_code == 404
    rows = _failed_reads(store)
    seen = [(row.actor, row.target_type, row.target_id, row.detail["status"]) for row in rows]
    assert seen == [
        ("anonymous", "assessment", "abc123", 303),
        ("anonymous", "assessment", "abc123", 401),
        ("clinician:dr.lee", "assessment", "doesnotexist", 404),
    ]


def test_ordinary_pages_and_sign_in_are_not_failed_reads(client: TestClient, store: Store) -> None:
    """A 404 outside the patient-data routes and the sign-in page itself write nothing."""
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/clinic/login").status_code == 200
    assert _failed_reads(store) == []
