"""The tables of backpath: stored assessments, intake drafts, clinicians and the audit log.

A stored assessment keeps exactly what produced its result (the intake JSON, the Result
JSON, the knowledge-base version and sha256) so that a result can always be explained later,
even after the knowledge base has changed. Patient tokens and session ids are stored only as
SHA-256 hashes: a copy of the database does not open anyone's result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only clock the store uses)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones and returns naive values; PostgreSQL returns aware ones. This
    type makes both return aware UTC datetimes so comparisons never mix the two.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base with the naming convention for constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONDocument,
        list[Any]: JSONDocument,
    }


class StoredAssessment(Base):
    """One submitted intake and the result it produced."""

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(16))  # "web" | "api"
    language: Mapped[str] = mapped_column(String(8))
    intake: Mapped[dict[str, Any]] = mapped_column()
    result: Mapped[dict[str, Any]] = mapped_column()
    urgency: Mapped[str] = mapped_column(String(16))
    urgency_rank: Mapped[int] = mapped_column(Integer)
    concerns: Mapped[list[Any]] = mapped_column()
    kb_version: Mapped[str] = mapped_column(String(32))
    kb_sha256: Mapped[str] = mapped_column(String(64))
    narrative_read: Mapped[bool] = mapped_column(Boolean)
    patient_token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    episode_id: Mapped[str] = mapped_column(String(32), index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), default=None)

    notes: Mapped[list[Note]] = relationship(
        back_populates="assessment", order_by="Note.created_at", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_assessments_worklist", "urgency_rank", "created_at"),
        # The open worklist in keyset order, unreviewed rows only (migration 0006, #12).
        Index(
            "ix_assessments_open_worklist",
            "urgency_rank",
            "created_at",
            "id",
            sqlite_where=text("reviewed_at IS NULL"),
            postgresql_where=text("reviewed_at IS NULL"),
        ),
    )


class Note(Base):
    """A clinician's note on an assessment."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)

    assessment: Mapped[StoredAssessment] = relationship(back_populates="notes")


class Draft(Base):
    """An intake being filled in, kept on the server so that nothing is lost between pages."""

    __tablename__ = "drafts"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    state: Mapped[dict[str, Any]] = mapped_column()


class Clinician(Base):
    """A clinician account. Passwords are stored only as argon2id hashes."""

    __tablename__ = "clinicians"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClinicianSession(Base):
    """A signed-in browser session; deleting the row signs the browser out."""

    __tablename__ = "clinician_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    clinician: Mapped[Clinician] = relationship()


class LoginAttempt(Base):
    """One sign-in attempt, kept for rate limiting and the audit trail."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    """Who did what to which patient data, and when. Rows are only ever added.

    The rows form a hash chain (``store.audit``): ``seq`` is the row's place in the chain
    (1, 2, 3, ... with no gaps), ``prev_hash`` the ``row_hash`` of the row before it, and
    ``row_hash`` the SHA-256 of ``prev_hash`` plus this row's own content. Changing, deleting
    or inserting a row behind the app's back breaks the chain at that row.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(96))
    action: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column()
    client: Mapped[str | None] = mapped_column(String(64))
    seq: Mapped[int | None] = mapped_column(Integer, unique=True, default=None)
    prev_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    row_hash: Mapped[str | None] = mapped_column(String(64), default=None)


class AuditChainHead(Base):
    """The end of the audit hash chain: one row (``id`` 1) that every append updates.

    Updating this row first is what serialises concurrent appends (a row lock on
    PostgreSQL, the database write lock on SQLite), so two transactions can never both
    chain onto the same predecessor. It also records the last ``seq`` and hash, so removing
    the newest audit rows is detected too.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    row_hash: Mapped[str] = mapped_column(String(64))
