"""API access control (issue #12): scoped API tokens, anonymous posting as an explicit and
rate-limited setting, and `backpath tokens create|list|revoke`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from backpath.cli import app as cli_app
from backpath.store import Store, api_tokens, open_store
from backpath.store.models import AuditEvent, StoredAssessment
from backpath.web import routes_api
from backpath.web.settings import settings_from_env
from tests.web._api_auth import READ, WRITE, api_headers, bearer, issue_token  # noqa: F401
from tests.web._support import add_clinician, login, make_app

ROUTINE_INTAKE = {"age": 40, "answers": {"leg_pain": True, "back_pain": True}}
runner = CliRunner()


def _stored(store: Store) -> int:
    with store.session() as db:
        return db.query(StoredAssessment).count()


def _audit(store: Store, action: str) -> list[AuditEvent]:
    with store.session() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_anonymous_post_is_refused_by_default(client: TestClient, store: Store) -> None:
    """Without a token (and with anonymous posting off) nothing is stored: 401 naming the
    Authorization header, the scope it needs and how to get a token."""
    response = client.post("/api/v1/assessments", json=ROUTINE_INTAKE)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["field"] == "Authorization"
    assert WRITE in error["message"]
    assert "backpath tokens create" in error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert _stored(store) == 0


def test_a_write_token_stores_and_every_use_is_audited(
    client: TestClient,
    store: Store,
    api_headers: dict[str, str],  # noqa: F811
) -> None:
    """A token with assessments:write stores the intake; the audit row names the token and
    the token's last use is recorded."""
    response = client.post("/api/v1/assessments", json=ROUTINE_INTAKE, headers=api_headers)
    assert response.status_code == 201, response.text
    created = _audit(store, "create")
    assert [
        (e.actor, e.target_type, e.target_id) for e in created if e.target_type == "assessment"
    ] == [("api-token:test-system", "assessment", response.json()["id"])]
    with store.session() as db:
        token = api_tokens.get_token(db, "test-system")
        assert token is not None
        assert token.last_used_at is not None


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("Bearer bp_not-a-real-token", "not an API token"),
        ("Bearer " + "x" * 300, "not an API token"),
        ("Basic dXNlcjpwYXNz", "Bearer <token>"),
        ("Bearer", "Bearer <token>"),
    ],
)
def test_a_wrong_token_is_401_naming_the_problem(
    client: TestClient, store: Store, header: str, words: str
) -> None:
    """An unknown, oversized or malformed credential is 401 on `Authorization`; nothing stored."""
    response = client.post(
        "/api/v1/assessments", json=ROUTINE_INTAKE, headers={"authorization": header}
    )
    assert response.status_code == 401
    assert response.json()["error"]["field"] == "Authorization"
    assert words in response.json()["error"]["message"]
    assert _stored(store) == 0


def test_a_revoked_token_is_401_saying_so_and_the_attempt_is_audited(
    client: TestClient, store: Store
) -> None:
    """After revocation the same token gets 401 naming the token and that it was revoked."""
    token = issue_token(store, "kiosk-2")
    assert (
        client.post("/api/v1/assessments", json=ROUTINE_INTAKE, headers=bearer(token)).status_code
        == 201
    )
    with store.session() as db:
        api_tokens.revoke_token(db, "kiosk-2")
    response = client.post("/api/v1/assessments", json=ROUTINE_INTAKE, headers=bearer(token))
    assert response.status_code == 401
    assert "'kiosk-2' was revoked" in response.json()["error"]["message"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert _stored(store) == 1
    assert [e.target_id for e in _audit(store, "token_rejected")] == ["kiosk-2"]


def test_a_missing_scope_is_403(client: TestClient, store: Store) -> None:
    """A read-only token cannot store, a write-only token cannot read: 403 naming the scope."""
    reader = bearer(issue_token(store, "reader", [READ]))
    writer = bearer(issue_token(store, "writer", [WRITE]))
    refused = client.post("/api/v1/assessments", json=ROUTINE_INTAKE, headers=reader)
    assert refused.status_code == 403
    assert WRITE in refused.json()["error"]["message"]
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    created = client.post("/api/v1/assessments", json=ROUTINE_INTAKE, headers=writer).json()
    read_refused = client.get(f"/api/v1/assessments/{created['id']}", headers=writer)
    assert read_refused.status_code == 403
    assert READ in read_refused.json()["error"]["message"]
    assert [e.detail["needs"] for e in _audit(store, "token_refused")] == [WRITE, READ]


def test_a_read_token_reads_and_the_view_is_audited(client: TestClient, store: Store) -> None:
    """assessments:read opens a stored assessment without a clinician session; audited."""
    both = bearer(issue_token(store, "ehr", [WRITE, READ]))
    created = client.post("/api/v1/assessments", json=ROUTINE_INTAKE, headers=both).json()
    response = client.get(f"/api/v1/assessments/{created['id']}", headers=both)
    assert response.status_code == 200
    assert response.json()["result"] == created["result"]
    assert [(e.actor, e.target_id) for e in _audit(store, "view")] == [
        ("api-token:ehr", created["id"])
    ]
    for bad_id in ("0" * 32, "abc%00def", "x" * 200):
        missing = client.get(f"/api/v1/assessments/{bad_id}", headers=both)
        assert missing.status_code == 404
        assert missing.json()["error"]["field"] == "assessment_id"


def test_reading_without_credentials_is_401_and_a_clinician_session_still_works(
    client: TestClient,
    store: Store,
    api_headers: dict[str, str],  # noqa: F811
) -> None:
    """No token and no session: 401 that names both ways in; a signed-in clinician reads."""
    created = client.post("/api/v1/assessments", json=ROUTINE_INTAKE, headers=api_headers).json()
    anonymous = client.get(f"/api/v1/assessments/{created['id']}")
    assert anonymous.status_code == 401
    assert "/clinic/login" in anonymous.json()["error"]["message"]
    assert READ in anonymous.json()["error"]["message"]
    add_clinician(store)
    login(client)
    assert client.get(f"/api/v1/assessments/{created['id']}").status_code == 200


@pytest.fixture
def open_client(tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    """An app with anonymous posting turned on, at most 3 posts per client per minute."""
    app, store = make_app(tmp_path, api_anonymous_posts=True, api_anonymous_posts_per_window=3)
    with TestClient(app) as client:
        yield client, store
    store.dispose()


def test_anonymous_posting_when_on_is_limited_per_client(
    open_client: tuple[TestClient, Store],
) -> None:
    """With the setting on, a client's 4th post in a minute is 429 with Retry-After and is
    not stored; a system with a token is not held back by it."""
    client, store = open_client
    statuses = [
        client.post("/api/v1/assessments", json=ROUTINE_INTAKE).status_code for _ in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429]
    refused = client.post("/api/v1/assessments", json=ROUTINE_INTAKE)
    assert refused.json()["error"]["field"] == "(client)"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert _stored(store) == 3
    assert {e.actor for e in _audit(store, "create")} == {"api"}
    token = bearer(issue_token(store))
    assert client.post("/api/v1/assessments", json=ROUTINE_INTAKE, headers=token).status_code == 201


def test_the_rate_limit_window_slides() -> None:
    """Requests leave the window as it moves; clients are counted separately."""
    limit = routes_api.ClientRateLimit()
    assert [limit.retry_after("a", 2, 60, now=t) for t in (0.0, 1.0)] == [None, None]
    assert limit.retry_after("a", 2, 60, now=30.0) == 30
    assert limit.retry_after("b", 2, 60, now=30.0) is None
    assert limit.retry_after("a", 2, 60, now=60.5) is None
    assert limit.retry_after("a", 2, 60, now=60.6) == 1


def test_settings_read_the_api_access_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anonymous posting is off unless BACKPATH_API_ANONYMOUS_POSTS=1; a bad number names
    its variable."""
    monkeypatch.delenv("BACKPATH_API_ANONYMOUS_POSTS", raising=False)
    assert settings_from_env(data_dir=tmp_path).api_anonymous_posts is False
    monkeypatch.setenv("BACKPATH_API_ANONYMOUS_POSTS", "1")
    monkeypatch.setenv("BACKPATH_API_ANONYMOUS_POSTS_PER_MINUTE", "7")
    monkeypatch.setenv("BACKPATH_IDEMPOTENCY_KEY_HOURS", "2")
    settings = settings_from_env(data_dir=tmp_path)
    assert (settings.api_anonymous_posts, settings.api_anonymous_posts_per_window) == (True, 7)
    assert settings.idempotency_key_lifetime.total_seconds() == 7200
    monkeypatch.setenv("BACKPATH_API_ANONYMOUS_POSTS_PER_MINUTE", "many")
    with pytest.raises(ValueError, match="BACKPATH_API_ANONYMOUS_POSTS_PER_MINUTE"):
        settings_from_env(data_dir=tmp_path)


def test_openapi_declares_the_bearer_scheme_and_the_idempotency_header(client: TestClient) -> None:
    """The OpenAPI document tells integrators how to authenticate and retry."""
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    post = spec["paths"]["/api/v1/assessments"]["post"]
    assert post["security"] == [{"apiToken": []}]
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]
    assert {"401", "403", "429"} <= set(post["responses"])
    assert "saddle_numbness" in str(post["requestBody"])


# ---------------------------------------------------------------- backpath tokens


def _cli(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli_app, ["tokens", *args, "--database-url", url])
    return result.exit_code, result.stdout, result.stderr


def test_cli_creates_lists_and_revokes_tokens(tmp_path: Path) -> None:
    """The token is printed once and stored only hashed; list never shows it; create and
    revoke are audited; a revoked token no longer authenticates."""
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    code, out, err = _cli(url, "create", "Referral-Portal", "--scope", WRITE, "--scope", READ)
    assert code == 0, err
    token = out.strip()
    assert token.startswith("bp_")
    assert len(token) > 40
    assert "shown only this once" in err
    code, listed, _ = _cli(url, "list")
    assert code == 0
    assert listed.startswith(f"referral-portal\t{WRITE},{READ}\tactive\t")
    assert token not in listed
    store = open_store(url)
    try:
        with store.session() as db:
            row = api_tokens.authenticate(db, token)
            assert token not in (row.token_sha256, row.name, str(row.scopes))
        code, out, _ = _cli(url, "revoke", "referral-portal")
        assert (code, out.strip()) == (0, "Token 'referral-portal' is now revoked.")
        code, out, _ = _cli(url, "revoke", "referral-portal")
        assert out.strip() == "Token 'referral-portal' was already revoked."
        assert "revoked 20" in _cli(url, "list")[1]
        with store.session() as db, pytest.raises(api_tokens.TokenRejectedError, match="revoked"):
            api_tokens.authenticate(db, token)
        audited = [(e.actor, e.action, e.target_id) for e in _audit(store, "create")]
        audited += [(e.actor, e.action, e.target_id) for e in _audit(store, "revoke")]
        assert audited == [
            ("cli", "create", "referral-portal"),
            ("cli", "revoke", "referral-portal"),
        ]
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["create", "kiosk", "--scope", "assessments:delete"], "--scope: unknown scope"),
        (["create", "Kiosk 1", "--scope", WRITE], "name: use 2-63"),
        (["revoke", "nobody"], "name: no token called 'nobody'"),
    ],
)
def test_cli_refuses_bad_input_with_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    """An unknown scope, a bad name or an unknown token: exit 2 naming what to fix."""
    code, _, err = _cli(f"sqlite:///{tmp_path / 'tokens.db'}", *args)
    assert code == 2
    assert words in " ".join(err.split())


def test_cli_never_reuses_a_name(tmp_path: Path) -> None:
    """A second token with a name already used (even revoked) is refused with exit 2."""
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    assert _cli(url, "create", "kiosk", "--scope", WRITE)[0] == 0
    assert _cli(url, "revoke", "kiosk")[0] == 0
    code, _, err = _cli(url, "create", "kiosk", "--scope", WRITE)
    assert code == 2
    assert "exists already" in err
