"""The personalised handout from the web app: patient PDF and HTML, clinician PDF, audited."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backpath.kb import KnowledgeBase
from backpath.store import Store
from backpath.store.models import AuditEvent
from tests.web._support import Patient, add_clinician, login
from tests.web.test_clinic import _store_case

# These tests render PDFs: WeasyPrint needs Pango (skip without it; CI requires it).
pytestmark = pytest.mark.usefixtures("pdf_engine")


def _token(url: str) -> str:
    match = re.search(r"/r/([A-Za-z0-9_-]+)$", url)
    assert match, url
    return match.group(1)


def test_result_page_links_the_handout_and_the_pdf_says_get_help_now(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """An emergency result links its handout; the PDF opens with 'Get help now'."""
    page = Patient(client).complete({"age": "45", "saddle_numbness": "yes"})
    token = _token(str(page.url))
    assert f"/r/{token}/handout.pdf" in page.text
    pdf = client.get(f"/r/{token}/handout.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert text.index(kb.ui("handout.get_help_now")) < text.index(
        kb.advice["get_help_at_once"].title
    )


def test_handout_html_is_the_same_content_in_spanish(client: TestClient, kb: KnowledgeBase) -> None:
    """?lang=es gives the Spanish handout page with the Spanish safety net."""
    page = Patient(client).complete({"age": "45", "saddle_numbness": "yes"})
    token = _token(str(page.url))
    html = client.get(f"/r/{token}/handout?lang=es")
    assert html.status_code == 200
    assert 'lang="es"' in html.text
    spanish_title = kb.text("advice.get_help_at_once.title", "es", "")
    assert spanish_title
    assert spanish_title in html.text


def test_unknown_token_has_no_handout(client: TestClient) -> None:
    """A wrong token gives 404, never someone else's handout."""
    assert client.get("/r/not-a-real-token/handout.pdf").status_code == 404


def test_clinician_handout_needs_sign_in_and_is_audited(client: TestClient, store: Store) -> None:
    """The clinician's PDF download requires a login and writes an export audit row."""
    assessment_id = _store_case(store, {"age": 45, "saddle_numbness": True}, 5)
    anonymous = client.get(
        f"/clinic/assessments/{assessment_id}/handout.pdf", follow_redirects=False
    )
    assert anonymous.status_code in (302, 303, 307)
    add_clinician(store)
    assert login(client).status_code == 200
    page = client.get(f"/clinic/assessments/{assessment_id}")
    assert f"/clinic/assessments/{assessment_id}/handout.pdf" in page.text
    pdf = client.get(f"/clinic/assessments/{assessment_id}/handout.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    with store.session() as db:
        actions = db.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == assessment_id)
        ).all()
    assert "export" in actions


def test_result_page_and_handout_name_the_same_emergency_number(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the region set to the UK, the emergency result and its handout both say 999."""
    monkeypatch.setenv("BACKPATH_EMERGENCY_REGION", "uk")
    page = Patient(client).complete({"age": "45", "saddle_numbness": "yes"})
    assert 'href="tel:999"' in page.text
    assert 'href="tel:911"' not in page.text
    token = _token(str(page.url))
    html = client.get(f"/r/{token}/handout")
    assert html.status_code == 200
    assert "999" in html.text
    assert "911" not in html.text
