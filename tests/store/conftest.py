"""Store tests run twice: on SQLite and on a real PostgreSQL (in a schema of their own).

PostgreSQL comes from ``BACKPATH_TEST_POSTGRES_URL`` (default: the local server of this
machine kind). Without it the PostgreSQL half is skipped with a message; with
``BACKPATH_REQUIRE_SERVICES=1`` (CI) it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from backpath.store import Store, open_store
from tests.conftest import need

POSTGRES_URL = os.environ.get(
    "BACKPATH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_problem() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except OperationalError as exc:
        return f"cannot connect to {make_url(POSTGRES_URL).render_as_string()}: {exc.orig}"
    return None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty database (SQLite file, or a fresh PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    problem = _postgres_problem()
    need("PostgreSQL", problem is None, problem or "")
    schema = f"backpath_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """An open, migrated store on the database under test."""
    opened = open_store(database_url)
    yield opened
    opened.dispose()
