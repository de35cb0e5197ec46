"""`Idempotency-Key` on POST /api/v1/assessments (issue #12), on SQLite and PostgreSQL: a
retry returns the first answer and stores nothing twice, even when the retries race."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from backpath.store import Store
from backpath.store.audit import Actor
from backpath.store.idempotency import IdempotencyKey
from backpath.store.models import AuditEvent, StoredAssessment, utcnow
from backpath.web import routes_api
from tests.store.conftest import database_url  # noqa: F401  (SQLite and PostgreSQL)
from tests.web._api_auth import bearer, issue_token
from tests.web._support import make_app

INTAKE = {"age": 52, "answers": {"leg_pain": True, "back_pain": True, "leg_numbness": True}}
OTHER_INTAKE = {"age": 52, "answers": {"leg_pain": True, "saddle_numbness": True}}


class Api:
    """A test client, its store and the headers of one system's token."""

    def __init__(self, client: TestClient, store: Store) -> None:
        self.client = client
        self.store = store
        self.headers = bearer(issue_token(store))

    def post(self, body: Any, key: str | None, headers: dict[str, str] | None = None) -> Any:
        sent = dict(headers or self.headers)
        if key is not None:
            sent["idempotency-key"] = key
        return self.client.post("/api/v1/assessments", json=body, headers=sent)

    def count(self, model: type[Any]) -> int:
        with self.store.session() as db:
            return int(db.query(model).count())


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:  # noqa: F811
    """The app on SQLite or PostgreSQL, with one API token."""
    app, store = make_app(tmp_path, database_url=database_url)
    with TestClient(app) as client:
        yield Api(client, store)
    store.dispose()


def test_same_key_same_body_returns_the_first_answer(api: Api) -> None:
    """The retry gets the same id, created_at, result and a working patient link, is marked
    as a replay, and stores no second row."""
    first = api.post(INTAKE, "order-7f3a")
    assert first.status_code == 201, first.text
    again = api.post(INTAKE, "order-7f3a")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert api.count(StoredAssessment) == 1
    page = api.client.get(again.json()["patient_link"])
    assert page.status_code == 200
    with api.store.session() as db:
        actions = [e.action for e in db.query(AuditEvent).filter_by(target_type="assessment")]
    assert actions == ["create", "replay", "view"]  # the patient opening the link: "view"


def test_key_order_and_spacing_do_not_make_another_body(api: Api) -> None:
    """The body is compared as JSON, not as bytes: reordered keys are the same request."""
    first = api.post(INTAKE, "k-1").json()
    reordered = (
        b'{ "answers": {"leg_numbness": true, "back_pain": true, "leg_pain": true}, "age": 52 }'
    )
    headers = {**api.headers, "idempotency-key": "k-1", "content-type": "application/json"}
    again = api.client.post("/api/v1/assessments", content=reordered, headers=headers)
    assert again.json()["id"] == first["id"]
    assert api.count(StoredAssessment) == 1


def test_same_key_with_another_body_is_422_naming_the_header(api: Api) -> None:
    """Reusing a key for another intake never returns the first patient's result."""
    first = api.post(INTAKE, "k-2").json()
    response = api.post(OTHER_INTAKE, "k-2")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert "different body" in response.json()["error"]["message"]
    assert first["id"] not in response.text
    assert api.count(StoredAssessment) == 1


def test_keys_belong_to_one_caller(api: Api) -> None:
    """Another system using the same key string gets its own assessment, not the first one."""
    first = api.post(INTAKE, "shared-key").json()
    other = bearer(issue_token(api.store, "other-system"))
    second = api.post(INTAKE, "shared-key", headers=other)
    assert second.status_code == 201
    assert second.json()["id"] != first["id"]
    assert "idempotent-replayed" not in second.headers
    assert api.count(StoredAssessment) == 2


def test_an_expired_key_is_forgotten(api: Api) -> None:
    """After its lifetime a key stores a new assessment and the old key row is deleted."""
    first = api.post(INTAKE, "k-3").json()
    with api.store.session() as db:
        db.execute(update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    second = api.post(INTAKE, "k-3")
    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first["id"]
    assert api.count(StoredAssessment) == 2
    assert api.count(IdempotencyKey) == 1


def test_a_rejected_intake_does_not_use_up_the_key(api: Api) -> None:
    """An invalid intake is 422 on its field and stores nothing, not even the key: the
    corrected intake with the same key is then stored."""
    bad = api.post({"answers": {"age": 300}}, "k-4")
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "answers.age"
    assert api.count(IdempotencyKey) == 0
    assert api.post(INTAKE, "k-4").status_code == 201


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
def test_an_unusable_key_is_422_naming_the_header(api: Api, key: str) -> None:
    """Empty, spaced, over-long or non-ASCII keys are refused before anything is stored."""
    headers = [(name.encode(), value.encode()) for name, value in api.headers.items()]
    headers += [(b"content-type", b"application/json")]
    headers += [(b"idempotency-key", key.encode("utf-8"))]  # raw bytes, as a client could send
    response = api.client.post(
        "/api/v1/assessments", content=b'{"age": 40, "answers": {}}', headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert api.count(StoredAssessment) == 0


def test_the_stored_key_does_not_hold_the_patient_link(api: Api) -> None:
    """A copy of the database must not open a result: the key row keeps no patient token."""
    created = api.post(INTAKE, "k-5").json()
    token = created["patient_link"].rsplit("/", 1)[1]
    with api.store.session() as db:
        row = db.query(IdempotencyKey).one()
        kept = " ".join(str(value) for value in row.__dict__.values())
    assert row.target_id == created["id"]
    assert token not in kept
    assert "patient_link" not in row.response_body


def test_simultaneous_retries_store_one_row(api: Api) -> None:
    """Eight requests with one key at the same moment: one row, one answer, eight times."""
    shared = api.client.app.state.web  # type: ignore[attr-defined]
    caller = routes_api.Caller(Actor("api-token:race"), "token:race", "race")
    barrier = threading.Barrier(8)
    answers: list[Any] = []

    def send() -> None:
        barrier.wait()
        answers.append(routes_api.store_assessment(shared, caller, "same-moment", INTAKE))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [201] * 8
    # The same document each time (PostgreSQL's JSONB may order a replay's keys differently).
    documents = [json.loads(a.body) for a in answers]
    assert all(document == documents[0] for document in documents)
    assert api.count(StoredAssessment) == 1
    assert api.count(IdempotencyKey) == 1
