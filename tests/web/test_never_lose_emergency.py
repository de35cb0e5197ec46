"""Acceptance (issue #12): an emergency is never pushed off the clinician's worklist.

600 assessments arrive through the API and then one emergency; on SQLite and on
PostgreSQL the emergency must be on the first page of ``/clinic``, in the emergency filter
and in the CSV export. A second test floods the API anonymously (with anonymous posting
turned on): the rate limit keeps the flood to a handful of rows and the emergency, sent by
a system with a token, is still on the first page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backpath.store import Store
from tests.store.conftest import database_url  # noqa: F401  (SQLite and PostgreSQL)
from tests.web._api_auth import bearer, issue_token
from tests.web._support import add_clinician, login, make_app

FLOOD = 600
EMERGENCY = {"age": 61, "answers": {"leg_pain": True, "saddle_numbness": True}}


def _ordinary(number: int) -> dict[str, object]:
    """The ``number``-th of many ordinary intakes: back and leg pain, no red flag."""
    return {
        "age": 20 + number % 60,
        "sex": "female" if number % 2 else "male",
        "answers": {"back_pain": True, "leg_pain": number % 3 != 0, "leg_numbness": False},
    }


def _csv_ids(client: TestClient, query: str = "") -> list[str]:
    response = client.get(f"/clinic/export.csv{query}")
    assert response.status_code == 200
    return [row["id"] for row in csv.DictReader(io.StringIO(response.text))]


def _assert_emergency_in_view(client: TestClient, emergency_id: str, total: int) -> None:
    """The emergency on page 1 of the worklist and of its emergency filter, first in the CSV
    export, and every stored row in the export (nothing hidden)."""
    link = f"/clinic/assessments/{emergency_id}"
    first_page = client.get("/clinic")
    assert first_page.status_code == 200
    assert link in first_page.text
    emergency_filter = client.get("/clinic?urgency=emergency")
    assert link in emergency_filter.text
    exported = _csv_ids(client)
    assert len(exported) == total
    assert exported[0] == emergency_id
    assert _csv_ids(client, "?urgency=emergency") == [emergency_id]


@pytest.fixture
def clinic(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:  # noqa: F811
    """The app on SQLite or PostgreSQL, with a clinician account."""
    app, store = make_app(tmp_path, database_url=database_url)
    add_clinician(store)
    with TestClient(app) as client:
        yield client, store
    store.dispose()


@pytest.mark.slow
def test_600_assessments_then_an_emergency(clinic: tuple[TestClient, Store]) -> None:
    """After 600 ordinary assessments from a busy system, the next emergency is on the first
    worklist page, in the emergency filter and first in the CSV export."""
    client, store = clinic
    system = bearer(issue_token(store, "referral-portal"))
    for number in range(FLOOD):
        response = client.post("/api/v1/assessments", json=_ordinary(number), headers=system)
        assert response.status_code == 201, response.text
        assert response.json()["result"]["urgency"] != "emergency"
    emergency = client.post("/api/v1/assessments", json=EMERGENCY, headers=system)
    assert emergency.json()["result"]["urgency"] == "emergency"
    login(client)
    _assert_emergency_in_view(client, emergency.json()["id"], FLOOD + 1)


def test_an_anonymous_flood_is_held_back(tmp_path: Path, database_url: str) -> None:  # noqa: F811
    """With anonymous posting on, 600 posts from one address store only the first few (then
    429); the emergency from a system with a token is on the first page."""
    app, store = make_app(tmp_path, database_url=database_url, api_anonymous_posts=True)
    add_clinician(store)
    allowed = app.state.web.settings.api_anonymous_posts_per_window
    try:
        with TestClient(app) as client:
            statuses = [
                client.post("/api/v1/assessments", json=_ordinary(n)).status_code
                for n in range(FLOOD)
            ]
            assert statuses == [201] * allowed + [429] * (FLOOD - allowed)
            system = bearer(issue_token(store, "referral-portal"))
            emergency = client.post("/api/v1/assessments", json=EMERGENCY, headers=system)
            assert emergency.status_code == 201
            login(client)
            _assert_emergency_in_view(client, emergency.json()["id"], allowed + 1)
    finally:
        store.dispose()
