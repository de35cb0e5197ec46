"""A crash never leaves a patient with no advice; machines get JSON errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backpath.kb import KnowledgeBase
from backpath.store import Store
from tests.web._support import esc


@pytest.fixture
def crashing(app_and_store: tuple[FastAPI, Store]) -> Iterator[TestClient]:
    """The app with two routes that raise, one for people and one for machines."""
    app, _ = app_and_store

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("simulated bug")

    @app.get("/fhir/boom")
    async def fhir_boom() -> None:
        raise RuntimeError("simulated bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_server_error_page_shows_the_safety_net(crashing: TestClient, kb: KnowledgeBase) -> None:
    """The 500 page still tells the person when to get help at once."""
    response = crashing.get("/boom")
    assert response.status_code == 500
    assert esc(kb.advice["get_help_at_once"].body) in response.text
    assert "simulated bug" not in response.text


def test_server_error_page_in_spanish(crashing: TestClient, kb: KnowledgeBase) -> None:
    """The safety net on the error page follows the page language."""
    response = crashing.get("/boom?lang=es")
    spanish = kb.text("advice.get_help_at_once.body", "es", "")
    assert spanish
    assert esc(spanish) in response.text


def test_machine_paths_get_json_errors(crashing: TestClient) -> None:
    """FHIR and CDS Hooks paths answer errors in JSON, like the API."""
    response = crashing.get("/fhir/boom")
    assert response.status_code == 500
    assert response.json() == {"error": {"field": "(server)", "message": "internal error"}}
    missing = crashing.post("/cds-services/no-such-service", json={"hook": "patient-view"})
    assert missing.status_code == 404
    assert "error" in missing.json()
