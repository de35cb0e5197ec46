"""Audit hash chain: ``seq``, ``prev_hash`` and ``row_hash`` on audit rows, and a chain head.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Existing audit rows are chained in ``id`` order (the order they were written), so a
database that was in use before this release verifies from its first row on. The hash is
computed by ``backpath.store.audit.chain_hash``, whose canonical form carries a version
number and never changes for an existing version: the same function that the app and
``backpath audit verify`` use, so the backfilled chain and the live one are one chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

from backpath.store.audit import GENESIS_HASH, chain_hash

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the chain columns, chain every existing row, create and fill the head row."""
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_audit_events_seq"), ["seq"])
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("target_type", sa.String()),
        sa.column("target_id", sa.String()),
        sa.column("detail", sa.JSON()),
        sa.column("client", sa.String()),
        sa.column("seq", sa.Integer()),
        sa.column("prev_hash", sa.String()),
        sa.column("row_hash", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    prev_hash = GENESIS_HASH
    for seq, row in enumerate(rows, start=1):
        at = row["at"]
        if at.tzinfo is None:  # SQLite keeps UTC without a zone
            at = at.replace(tzinfo=UTC)
        row_hash = chain_hash(
            seq=seq,
            at=at,
            actor=row["actor"],
            action=row["action"],
            target_type=row["target_type"],
            target_id=row["target_id"],
            detail=row["detail"] or {},
            client=row["client"],
            prev_hash=prev_hash,
        )
        connection.execute(
            events.update()
            .where(events.c.id == row["id"])
            .values(seq=seq, prev_hash=prev_hash, row_hash=row_hash)
        )
        prev_hash = row_hash
    head = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.Integer()),
        sa.column("row_hash", sa.String()),
    )
    connection.execute(head.insert().values(id=1, seq=len(rows), row_hash=prev_hash))


def downgrade() -> None:
    """Drop the head table and the chain columns (the chain itself is lost)."""
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("uq_audit_events_seq"), type_="unique")
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
