"""The open worklist's own index: unreviewed rows in worklist order.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

The worklist a clinician works from shows unreviewed assessments, most urgent first, then
oldest first (issue 12). With 100,000 rows, half of them reviewed, the index on
(urgency_rank, created_at) alone made every page and every per-urgency count read the
table rows to test ``reviewed_at`` (benchmarks/worklist_scale.py: counts 1.4 s on SQLite).
This partial index holds only unreviewed rows, in exactly the keyset order
(urgency_rank, created_at, id): a page is one index range that starts at the cursor, and
the counts read the index alone. Reviewing a row takes it out of the index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_ROWS = "reviewed_at IS NULL"


def upgrade() -> None:
    """Create ``ix_assessments_open_worklist`` (partial: unreviewed rows only)."""
    op.create_index(
        "ix_assessments_open_worklist",
        "assessments",
        ["urgency_rank", "created_at", "id"],
        sqlite_where=sa.text(OPEN_ROWS),
        postgresql_where=sa.text(OPEN_ROWS),
    )


def downgrade() -> None:
    """Drop the index (the worklist still works, by the older index)."""
    op.drop_index("ix_assessments_open_worklist", table_name="assessments")
