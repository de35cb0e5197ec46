"""Persistence: SQLAlchemy 2 models, repositories, Alembic migrations and the audit log.

``open_store(url)`` opens SQLite (WAL mode, the default, under ``./data``) or PostgreSQL
(``BACKPATH_DATABASE_URL``) and migrates it to the newest schema. Repositories are plain
functions taking a ``Session`` (``store.assessments``, ``store.accounts``, ``store.drafts``,
``store.audit``); callers own the transaction, so a stored assessment and its audit row are
committed together, before anything is acknowledged.
"""

# The API-access tables are defined beside their functions; importing them here puts them on
# ``models.Base.metadata`` wherever the store is used (migrations, schema comparison).
from backpath.store import api_tokens as _api_tokens  # noqa: F401
from backpath.store import idempotency as _idempotency  # noqa: F401
from backpath.store import identity as _identity  # noqa: F401
from backpath.store.db import (
    DATABASE_URL_ENV,
    Store,
    default_database_url,
    make_engine,
    migrate,
    open_store,
)

__all__ = [
    "DATABASE_URL_ENV",
    "Store",
    "default_database_url",
    "make_engine",
    "migrate",
    "open_store",
]
