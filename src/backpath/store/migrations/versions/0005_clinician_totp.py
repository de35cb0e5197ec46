"""Clinician TOTP second factor: one encrypted secret per clinician.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

``clinician_totp`` holds, for a clinician who signs in with a code after the password, the
TOTP secret as a Fernet token (``ciphertext``, under a key derived from the identity key),
the id of the identity key that made it, and ``last_step``: the time step of the last code
accepted, so that no code is accepted twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``clinician_totp``."""
    op.create_table(
        "clinician_totp",
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_clinician_totp_clinician_id_clinicians"),
        ),
        sa.PrimaryKeyConstraint("clinician_id", name=op.f("pk_clinician_totp")),
    )


def downgrade() -> None:
    """Drop the table (every clinician then signs in with the password alone)."""
    op.drop_table("clinician_totp")
