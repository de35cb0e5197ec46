"""Opening the database: SQLite in WAL mode by default, PostgreSQL when configured.

``open_store(url)`` returns a ``Store`` (engine + session factory) after bringing the schema
up to date with the Alembic migrations in ``store/migrations``. SQLite runs in WAL mode with
``synchronous=FULL`` so that a transaction that has committed survives a killed process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DATABASE_URL_ENV = "BACKPATH_DATABASE_URL"
DEFAULT_DATA_DIR = Path("data")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def default_database_url(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """``$BACKPATH_DATABASE_URL``, or a SQLite file ``backpath.db`` in ``data_dir``."""
    configured = os.environ.get(DATABASE_URL_ENV)
    if configured:
        return configured
    return f"sqlite:///{(data_dir / 'backpath.db').as_posix()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers, FULL sync for durability, and real foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, **options: Any) -> Engine:
    """Create an engine for ``url``; for a SQLite file, create its folder and set pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                # Health data: only the service's own user may read the file (SQLite gives
                # its -wal and -shm files the same permissions).
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        options.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, **options)


def alembic_config(engine: Engine) -> Any:
    """An Alembic ``Config`` for the migrations shipped with backpath, bound to ``engine``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest) with Alembic."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


@dataclass(frozen=True)
class Store:
    """An open database: the engine and a factory for sessions."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_store(url: str, *, upgrade: bool = True, **options: Any) -> Store:
    """Open the database at ``url`` and (by default) migrate it to the newest schema."""
    engine = make_engine(url, **options)
    if upgrade:
        migrate(engine)
    return Store(engine, sessionmaker(engine, expire_on_commit=False))
