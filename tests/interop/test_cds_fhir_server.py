"""CDS Hooks: reading the EHR's FHIR server when the prefetch is missing (a real local HTTP
server), the allow-list, the bearer token and 412 when neither source works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.interop._servers import resource_type, serve
from tests.interop.conftest import (
    SERVICE,
    condition,
    hook_request,
    patient,
    questionnaire_response,
    searchset,
)
from tests.web._support import make_app

TOKEN = "opaque-fhir-access-token"


def chart_route(path: str, headers: dict[str, str]) -> tuple[int, Any]:
    """A FHIR server holding p1: an intake, a G83.4 Condition, nothing else."""
    if headers.get("authorization") != f"Bearer {TOKEN}":
        return 401, {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "login", "diagnostics": "no token"}],
        }
    kind = resource_type(path)
    if kind == "Patient":
        return 200, patient("1975-02-03")
    if kind == "QuestionnaireResponse":
        qr = questionnaire_response({"back_pain": True})
        qr.update(id="qr9", authored="2026-11-24")
        return 200, searchset(qr)
    if kind == "Condition":
        return 200, searchset(condition("G83.4"))
    return 200, searchset()


@pytest.fixture
def fhir_server() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """A local FHIR server (base URL ends in /fhir) and the requests it received."""
    with serve(chart_route) as (base, seen):
        yield f"{base}/fhir", seen


def request_without_prefetch(server: str, token: str | None = TOKEN) -> dict[str, Any]:
    """A patient-view request that sends fhirServer (and a token) but no prefetch."""
    request = hook_request(None)
    del request["prefetch"]
    request["fhirServer"] = server
    if token is not None:
        request["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read user/Condition.read",
            "subject": "backpath",
        }
    return request


def test_missing_prefetch_is_read_from_the_allow_listed_fhir_server(
    tmp_path: Path, fhir_server: tuple[str, list[tuple[str, dict[str, str]]]]
) -> None:
    """No prefetch: the service reads Patient, intake and chart with the bearer token; the
    G83.4 on the server gives a critical card."""
    server, seen = fhir_server
    app, store = make_app(tmp_path, cds_fhir_servers=(server,))
    with TestClient(app) as client:
        response = client.post(SERVICE, json=request_without_prefetch(server))
    store.dispose()
    assert response.status_code == 200, response.text
    card = response.json()["cards"][0]
    assert card["indicator"] == "critical"
    assert "Condition/c1: ICD-10-CM G83.4" in card["detail"]
    assert "QuestionnaireResponse/qr9" in card["detail"]
    paths = [path for path, _ in seen]
    assert "/fhir/Patient/p1" in paths
    assert any(p.startswith("/fhir/Condition?patient=p1") for p in paths)
    assert all(h["authorization"] == f"Bearer {TOKEN}" for _, h in seen)


def test_prefetched_keys_are_not_fetched_again(
    tmp_path: Path, fhir_server: tuple[str, list[tuple[str, dict[str, str]]]]
) -> None:
    """Prefetch first: only the missing key (Conditions) is read from the server."""
    server, seen = fhir_server
    request = hook_request(questionnaire_response({"back_pain": True}))
    del request["prefetch"]["conditions"]
    request.update(request_without_prefetch(server) | {"prefetch": request["prefetch"]})
    app, store = make_app(tmp_path, cds_fhir_servers=(server,))
    with TestClient(app) as client:
        response = client.post(SERVICE, json=request)
    store.dispose()
    assert response.status_code == 200
    assert response.json()["cards"][0]["indicator"] == "critical"
    assert [resource_type(path) for path, _ in seen] == ["Condition"]


def test_server_not_on_the_allow_list_is_not_queried(
    tmp_path: Path, fhir_server: tuple[str, list[tuple[str, dict[str, str]]]]
) -> None:
    """A fhirServer that is not allow-listed is never contacted: 412."""
    server, seen = fhir_server
    app, store = make_app(tmp_path)
    with TestClient(app) as client:
        response = client.post(SERVICE, json=request_without_prefetch(server))
    store.dispose()
    assert response.status_code == 412
    assert "allow-list" in response.json()["error"]["message"]
    assert seen == []


def test_server_refusing_the_token_is_412(
    tmp_path: Path, fhir_server: tuple[str, list[tuple[str, dict[str, str]]]]
) -> None:
    """The FHIR server answers 401 (wrong token): the service cannot get the data, 412."""
    server, _ = fhir_server
    app, store = make_app(tmp_path, cds_fhir_servers=(server,))
    with TestClient(app) as client:
        response = client.post(SERVICE, json=request_without_prefetch(server, token="wrong"))
    store.dispose()
    assert response.status_code == 412
    assert "answered 401" in response.json()["error"]["message"]


def test_unreachable_server_is_412(tmp_path: Path) -> None:
    """Nothing listens at the FHIR server's address: 412, quickly."""
    server = "http://127.0.0.1:9/fhir"
    app, store = make_app(tmp_path, cds_fhir_servers=(server,))
    with TestClient(app) as client:
        response = client.post(SERVICE, json=request_without_prefetch(server))
    store.dispose()
    assert response.status_code == 412
    assert "not reachable" in response.json()["error"]["message"]
