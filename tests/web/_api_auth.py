"""API tokens for tests that store assessments through ``POST /api/v1/assessments``.

Anonymous posting is off by default (issue #12), so a test that posts an intake sends a
token, as a real system would::

    from tests.web._api_auth import api_headers  # noqa: F401  (the fixture)

    def test_x(client: TestClient, api_headers: dict[str, str]) -> None:
        client.post("/api/v1/assessments", json=intake, headers=api_headers)

The headers are passed per request (not set on the client) so that the same client can
still show what a caller *without* a token gets. A test that starts ``backpath serve`` as a
process calls ``issue_token(open_store(url))`` before starting it, or sets
``BACKPATH_API_ANONYMOUS_POSTS=1`` in the server's environment.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from backpath.store import Store, api_tokens, audit
from backpath.store.audit import Actor

WRITE = api_tokens.SCOPE_ASSESSMENTS_WRITE
READ = api_tokens.SCOPE_ASSESSMENTS_READ
SYSTEM = "test-system"
"""The name of the token the fixtures make; the audit actor is ``api-token:test-system``."""


def issue_token(store: Store, name: str = SYSTEM, scopes: Iterable[str] = (WRITE,)) -> str:
    """Make an API token in ``store`` (audited as ``backpath tokens create`` does); returns it."""
    with store.session() as db:
        created = api_tokens.create_token(db, name, scopes, created_by="test")
        audit.record(db, Actor("cli"), "create", "api_token", created.row.name)
    return created.token


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header for ``token``."""
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def api_headers(store: Store) -> dict[str, str]:
    """Headers of a system whose token may store assessments (``assessments:write`` only)."""
    return bearer(issue_token(store))
