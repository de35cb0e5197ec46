"""The JSON API /api/v1: stateless triage, stored assessments, errors that name the field."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from backpath.kb import KnowledgeBase
from backpath.store import Store
from backpath.store.models import AuditEvent, StoredAssessment
from backpath.triage import assess_json
from backpath.web import routes_api
from tests.web._support import add_clinician, login, urgency_of

EMERGENCY_INTAKE = {"age": 45, "answers": {"leg_pain": True, "saddle_numbness": True}}


def test_triage_returns_the_same_result_json_as_the_core(client: TestClient) -> None:
    """POST /api/v1/triage returns exactly the core's Result JSON."""
    response = client.post("/api/v1/triage", json=EMERGENCY_INTAKE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == assess_json(EMERGENCY_INTAKE)
    assert response.json()["urgency"] == "emergency"


def test_triage_stores_nothing(client: TestClient, store: Store) -> None:
    """The triage endpoint is stateless."""
    client.post("/api/v1/triage", json=EMERGENCY_INTAKE)
    with store.session() as db:
        assert db.query(StoredAssessment).count() == 0


def test_triage_endpoint_is_async(kb: KnowledgeBase) -> None:
    """The triage route is `async def` (no thread-pool hop on the hot path)."""
    router = routes_api.build_router(kb, 4000)
    route = next(r for r in router.routes if getattr(r, "path", "") == "/api/v1/triage")
    assert asyncio.iscoroutinefunction(route.endpoint)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"age": 45, "answers": {"fever": "yes"}}, 422, "answers.fever"),
        ({"answers": {"age": 300}}, 422, "answers.age"),
        ({"answers": {"not_a_code": True}}, 422, "answers.not_a_code"),
        ({"age": 45, "colour": "blue"}, 422, "colour"),
        ({"language": "xx"}, 422, "language"),
        ({"narrative": 5}, 422, "narrative"),
        ([1, 2, 3], 422, "(root)"),
    ],
)
def test_invalid_intakes_name_the_field(
    client: TestClient, body: object, status: int, field: str
) -> None:
    """Invalid intakes give 422 and name the field exactly as IntakeError does."""
    response = client.post("/api/v1/triage", json=body)
    assert response.status_code == status
    assert response.json()["error"]["field"] == field
    assert response.json()["error"]["message"]


def test_malformed_json_is_400_naming_the_body(client: TestClient) -> None:
    """A body that is not JSON is 400 with field "(body)"."""
    response = client.post(
        "/api/v1/triage", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "(body)"


def test_wrong_content_type_is_415(client: TestClient) -> None:
    """A form post to the API is refused (this also blocks cross-site form posts)."""
    response = client.post("/api/v1/triage", data={"age": "45"})
    assert response.status_code == 415
    assert response.json()["error"]["field"] == "(body)"


def test_body_size_limit(client: TestClient) -> None:
    """A body over the limit is refused with 413 before it is parsed."""
    big = {"answers": {}, "narrative": "x" * 100_000}
    response = client.post("/api/v1/triage", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "(body)"


def test_streamed_body_over_the_limit_is_refused(client: TestClient) -> None:
    """A chunked body without Content-Length is counted as it arrives."""

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b" " * 1024

    response = client.post(
        "/api/v1/triage", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_narrative_length_limit_names_the_field(client: TestClient) -> None:
    """A narrative longer than the configured limit is 422 on `narrative`."""
    response = client.post("/api/v1/triage", json={"answers": {}, "narrative": "a " * 2500})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "narrative"


def test_create_assessment_stores_intake_result_and_kb_identity(
    client: TestClient, store: Store
, api_headers: dict[str, str]) -> None:
    """POST /api/v1/assessments stores everything, returns 201, Location and a patient link."""
    response = client.post("/api/v1/assessments", json=EMERGENCY_INTAKE, headers=api_headers)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/v1/assessments/{body['id']}"
    with store.session() as db:
        row = db.get(StoredAssessment, body["id"])
        assert row is not None
        audit_row = db.query(AuditEvent).filter_by(target_id=row.id).one()
    assert row.intake["answers"] == {"age": 45, "leg_pain": True, "saddle_numbness": True}
    assert row.result == body["result"]
    assert row.urgency == "emergency"
    assert row.kb_version == body["result"]["knowledge_base"]["version"]
    assert row.kb_sha256 == body["result"]["knowledge_base"]["sha256"]
    assert (audit_row.actor, audit_row.action) == ("api-token:test-system", "create")
    page = client.get(body["patient_link"])
    assert urgency_of(page.text) == ["emergency"]


def test_create_assessment_rejects_invalid_intake(client: TestClient, store: Store, api_headers: dict[str, str]) -> None:
    """An invalid intake is not stored and names the field."""
    response = client.post("/api/v1/assessments", json={"answers": {"fever": 1}}, headers=api_headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "answers.fever"
    with store.session() as db:
        assert db.query(StoredAssessment).count() == 0


def test_reading_an_assessment_needs_a_clinician(client: TestClient, store: Store, api_headers: dict[str, str]) -> None:
    """GET /api/v1/assessments/{id} is 401 for everyone but a signed-in clinician."""
    created = client.post("/api/v1/assessments", json=EMERGENCY_INTAKE, headers=api_headers).json()
    anonymous = client.get(f"/api/v1/assessments/{created['id']}")
    assert anonymous.status_code == 401
    add_clinician(store)
    login(client)
    response = client.get(f"/api/v1/assessments/{created['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == created["result"]
    assert body["knowledge_base"]["sha256"] == created["result"]["knowledge_base"]["sha256"]
    assert client.get("/api/v1/assessments/0000").status_code == 404
    with store.session() as db:
        views = db.query(AuditEvent).filter_by(action="view", target_id=created["id"]).all()
    assert [v.detail for v in views] == [{"via": "api"}]


def test_patient_link_does_not_open_the_api(client: TestClient, api_headers: dict[str, str]) -> None:
    """The patient's token opens their result page, never the clinician API."""
    created = client.post("/api/v1/assessments", json=EMERGENCY_INTAKE, headers=api_headers).json()
    client.get(created["patient_link"])
    assert client.get(f"/api/v1/assessments/{created['id']}").status_code == 401


def test_openapi_documents_the_api_with_the_intake_schema(client: TestClient) -> None:
    """The OpenAPI document lists the three endpoints and the findings in the intake schema."""
    spec = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/triage", "/api/v1/assessments", "/api/v1/assessments/{assessment_id}"} <= set(
        spec["paths"]
    )
    schema = spec["paths"]["/api/v1/triage"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert "saddle_numbness" in schema["properties"]["answers"]["properties"]
    assert not any(path.startswith(("/intake", "/clinic", "/r/")) for path in spec["paths"])
    json.dumps(spec)


def test_interview_returns_the_next_step_and_the_result(client: TestClient, store: Store) -> None:
    """POST /api/v1/interview: the planner's next step and the core's Result JSON; stateless."""
    from backpath.triage.interview import next_step, step_json

    intake = {"age": 47, "answers": {"back_pain": True}}
    response = client.post("/api/v1/interview", json=intake)
    assert response.status_code == 200
    body = response.json()
    kb = store_kb()
    expected = next_step(kb, {"age": 47, "back_pain": True})
    assert expected is not None
    assert body["next_step"] == step_json(kb, expected)
    assert body["next_step"]["id"] == "danger_signs"
    assert body["result"] == assess_json(intake)
    with store.session() as db:
        assert db.query(StoredAssessment).count() == 0


def test_interview_never_shows_an_asked_step_again(client: TestClient) -> None:
    """A step in ``asked_steps`` is not shown again, even when it was skipped."""
    first = client.post("/api/v1/interview", json={"answers": {}}).json()["next_step"]
    assert first["id"] == "age"
    second = client.post("/api/v1/interview", json={"answers": {}, "asked_steps": ["age"]})
    assert second.json()["next_step"]["id"] != "age"


def test_interview_ends_with_null_on_an_emergency(client: TestClient) -> None:
    body = client.post("/api/v1/interview", json=EMERGENCY_INTAKE).json()
    assert body["next_step"] is None
    assert body["result"]["urgency"] == "emergency"
    assert body["result"]["next_step"] is None


def test_interview_speaks_the_intake_language(client: TestClient) -> None:
    kb = store_kb()
    body = client.post("/api/v1/interview", json={"age": 40, "language": "es"}).json()
    assert body["next_step"]["text"] == kb.translations["es"]["step.danger_signs.text"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": {}, "asked_steps": "age"}, "asked_steps"),
        ({"answers": {}, "asked_steps": ["age", "not_a_step"]}, "asked_steps[1]"),
        ({"answers": {"fever": "yes"}}, "answers.fever"),
        ({"answers": {}, "colour": "blue"}, "colour"),
    ],
)
def test_interview_rejects_bad_input_naming_the_field(
    client: TestClient, body: object, field: str
) -> None:
    response = client.post("/api/v1/interview", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_openapi_documents_the_interview(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    post = spec["paths"]["/api/v1/interview"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert "asked_steps" in schema["properties"]
    assert "saddle_numbness" in schema["properties"]["answers"]["properties"]


def store_kb() -> KnowledgeBase:
    from backpath.kb import load_knowledge

    return load_knowledge()
