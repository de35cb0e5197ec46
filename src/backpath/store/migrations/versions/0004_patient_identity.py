"""Patient identity and contact: encrypted details with keyed blind indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

``patient_identities`` holds, for a stored assessment, the patient's name, date of birth,
phone and optional record number and e-mail as one Fernet token (``ciphertext``), the id
of the key that made it, and three HMAC-SHA256 blind indexes (full name; family name with
date of birth; date of birth) that the worklist search compares without decrypting.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXED = ("name_index", "surname_dob_index", "dob_index")


def upgrade() -> None:
    """Create ``patient_identities`` and its blind-index indexes."""
    op.create_table(
        "patient_identities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("assessment_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("name_index", sa.String(length=64), nullable=False),
        sa.Column("surname_dob_index", sa.String(length=64), nullable=False),
        sa.Column("dob_index", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_patient_identities_assessment_id_assessments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_identities")),
        sa.UniqueConstraint("assessment_id", name=op.f("uq_patient_identities_assessment_id")),
    )
    for column in INDEXED:
        op.create_index(op.f(f"ix_patient_identities_{column}"), "patient_identities", [column])


def downgrade() -> None:
    """Drop the table (the encrypted details go with it)."""
    for column in INDEXED:
        op.drop_index(op.f(f"ix_patient_identities_{column}"), table_name="patient_identities")
    op.drop_table("patient_identities")
