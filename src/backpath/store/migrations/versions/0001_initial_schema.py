"""Initial schema: assessments, notes, drafts, clinicians, sessions, login attempts, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

A migration is frozen history: it uses plain SQLAlchemy types, never the model classes, so
that later model changes cannot rewrite what an old database looked like.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table of the first release."""
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("intake", _json(), nullable=False),
        sa.Column("result", _json(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("urgency_rank", sa.Integer(), nullable=False),
        sa.Column("concerns", _json(), nullable=False),
        sa.Column("kb_version", sa.String(length=32), nullable=False),
        sa.Column("kb_sha256", sa.String(length=64), nullable=False),
        sa.Column("narrative_read", sa.Boolean(), nullable=False),
        sa.Column("patient_token_sha256", sa.String(length=64), nullable=False),
        sa.Column("episode_id", sa.String(length=32), nullable=False),
        sa.Column("reviewed_at", _when(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint(
            "patient_token_sha256", name=op.f("uq_assessments_patient_token_sha256")
        ),
    )
    op.create_index(op.f("ix_assessments_created_at"), "assessments", ["created_at"])
    op.create_index(op.f("ix_assessments_episode_id"), "assessments", ["episode_id"])
    op.create_index("ix_assessments_worklist", "assessments", ["urgency_rank", "created_at"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("actor", sa.String(length=96), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("detail", _json(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_target_id"), "audit_events", ["target_id"])

    op.create_table(
        "clinicians",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinicians")),
        sa.UniqueConstraint("username", name=op.f("uq_clinicians_username")),
    )

    op.create_table(
        "drafts",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_drafts")),
    )
    op.create_index(op.f("ix_drafts_updated_at"), "drafts", ["updated_at"])

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_at"), "login_attempts", ["at"])
    op.create_index(op.f("ix_login_attempts_client"), "login_attempts", ["client"])
    op.create_index(op.f("ix_login_attempts_username"), "login_attempts", ["username"])

    op.create_table(
        "clinician_sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinicians.id"],
            name=op.f("fk_clinician_sessions_clinician_id_clinicians"),
        ),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_clinician_sessions")),
    )
    op.create_index(
        op.f("ix_clinician_sessions_clinician_id"), "clinician_sessions", ["clinician_id"]
    )

    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("assessment_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_notes_assessment_id_assessments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    op.create_index(op.f("ix_notes_assessment_id"), "notes", ["assessment_id"])


def downgrade() -> None:
    """Drop every table (in dependency order)."""
    for table in (
        "notes",
        "clinician_sessions",
        "login_attempts",
        "drafts",
        "clinicians",
        "audit_events",
        "assessments",
    ):
        op.drop_table(table)
