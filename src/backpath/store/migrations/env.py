"""Alembic environment: runs the migrations on the engine handed over by ``store.db``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from backpath.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on the engine in ``config.attributes['engine']``."""
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("run migrations through backpath.store.migrate(engine)")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("backpath migrations run online only")
run_migrations_online()
