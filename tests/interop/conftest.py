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
