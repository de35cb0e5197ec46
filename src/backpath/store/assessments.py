"""Stored assessments: save a result with what produced it, find it, list the worklist."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backpath.store._tokens import digest, new_token
from backpath.store.models import Note, StoredAssessment, utcnow
from backpath.vocabulary import Urgency


@dataclass(frozen=True)
class Saved:
    """A newly stored assessment and the patient token that opens it (shown only once)."""

    assessment: StoredAssessment
    patient_token: str


def save_assessment(
    session: Session,
    *,
    intake: Mapping[str, Any],
    result: Mapping[str, Any],
    channel: str,
    narrative_read: bool,
    episode_id: str | None = None,
    created_at: datetime | None = None,
) -> Saved:
    """Store an intake with its Result JSON; the caller's transaction commits it.

    The urgency, concerns and knowledge-base identity are copied out of the Result JSON into
    columns so that the worklist can sort and filter without reading documents.
    """
    urgency = Urgency(result["urgency"])
    knowledge = result["knowledge_base"]
    token = new_token()
    row = StoredAssessment(
        id=uuid.uuid4().hex,
        created_at=created_at or utcnow(),
        channel=channel,
        language=str(result.get("language", intake.get("language", "en"))),
        intake=dict(intake),
        result=dict(result),
        urgency=urgency.value,
        urgency_rank=urgency.rank,
        concerns=list(result.get("concerns", [])),
        kb_version=str(knowledge["version"]),
        kb_sha256=str(knowledge["sha256"]),
        narrative_read=narrative_read,
        patient_token_sha256=digest(token),
        episode_id=episode_id or uuid.uuid4().hex,
    )
    session.add(row)
    session.flush()
    return Saved(row, token)


def update_assessment(
    session: Session,
    row: StoredAssessment,
    *,
    intake: Mapping[str, Any],
    result: Mapping[str, Any],
    narrative_read: bool,
    rotate_token: bool = False,
) -> Saved:
    """Replace a stored assessment's intake and result (the same row, not a new one).

    Used when an intake stored early - the moment its answers made it an emergency - goes on
    and is finished: the worklist keeps one row, with its first arrival time and its episode.
    With ``rotate_token`` a new patient token replaces the old one (the old link stops working)
    and is returned; otherwise ``Saved.patient_token`` is empty.
    """
    urgency = Urgency(result["urgency"])
    knowledge = result["knowledge_base"]
    row.language = str(result.get("language", intake.get("language", row.language)))
    row.intake = dict(intake)
    row.result = dict(result)
    row.urgency = urgency.value
    row.urgency_rank = urgency.rank
    row.concerns = list(result.get("concerns", []))
    row.kb_version = str(knowledge["version"])
    row.kb_sha256 = str(knowledge["sha256"])
    row.narrative_read = narrative_read
    token = ""
    if rotate_token:
        token = new_token()
        row.patient_token_sha256 = digest(token)
    session.flush()
    return Saved(row, token)


def get_assessment(session: Session, assessment_id: str) -> StoredAssessment | None:
    """The assessment with this id, with its notes, or ``None``."""
    query = (
        select(StoredAssessment)
        .where(StoredAssessment.id == assessment_id)
        .options(selectinload(StoredAssessment.notes))
    )
    return session.scalars(query).one_or_none()


def find_by_token(session: Session, token: str) -> StoredAssessment | None:
    """The one assessment that ``token`` opens, or ``None``."""
    if not token or len(token) > 128:
        return None
    query = select(StoredAssessment).where(StoredAssessment.patient_token_sha256 == digest(token))
    return session.scalars(query).one_or_none()


REVIEW_STATUSES = ("open", "reviewed", "all")


def worklist(
    session: Session,
    *,
    urgencies: Collection[str] = (),
    status: str = "open",
    concern: str | None = None,
    limit: int | None = None,
) -> Sequence[StoredAssessment]:
    """Assessments most urgent first, then oldest first (who has waited longest).

    ``status`` is ``open`` (not yet reviewed), ``reviewed`` or ``all``; ``urgencies`` and
    ``concern`` narrow the list. No limit by default: the pages and the CSV export decide
    what to show, so nothing is silently cut off (issue #12).
    """
    if status not in REVIEW_STATUSES:
        raise ValueError(f"status must be one of {', '.join(REVIEW_STATUSES)}")
    query = select(StoredAssessment).order_by(
        StoredAssessment.urgency_rank.desc(),
        StoredAssessment.created_at.asc(),
        StoredAssessment.id.asc(),
    )
    if urgencies:
        query = query.where(StoredAssessment.urgency.in_(sorted(urgencies)))
    if status == "open":
        query = query.where(StoredAssessment.reviewed_at.is_(None))
    elif status == "reviewed":
        query = query.where(StoredAssessment.reviewed_at.is_not(None))
    rows = session.scalars(query).all()
    if concern:
        # Concerns are a short JSON list; filtering in Python keeps one query for both
        # back ends (SQLite JSON and PostgreSQL JSONB differ in containment operators).
        rows = [row for row in rows if concern in row.concerns]
    return rows if limit is None else rows[:limit]


def newest_emergencies(
    session: Session, *, since: datetime, limit: int = 50
) -> Sequence[StoredAssessment]:
    """Unreviewed emergencies that arrived since ``since``, newest first.

    Shown above the worklist so that a new emergency is never below the fold, however many
    older items wait (a busy clinic, or a flood of posts).
    """
    query = (
        select(StoredAssessment)
        .where(StoredAssessment.urgency == "emergency")
        .where(StoredAssessment.reviewed_at.is_(None))
        .where(StoredAssessment.created_at >= since)
        .order_by(StoredAssessment.created_at.desc(), StoredAssessment.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


def set_reviewed(
    session: Session, assessment: StoredAssessment, by: str | None, reviewed: bool = True
) -> None:
    """Mark an assessment reviewed by ``by`` now, or clear the mark."""
    assessment.reviewed_at = utcnow() if reviewed else None
    assessment.reviewed_by = by if reviewed else None
    session.flush()


def add_note(session: Session, assessment: StoredAssessment, author: str, text: str) -> Note:
    """Add a clinician's note to an assessment."""
    note = Note(assessment_id=assessment.id, author=author, text=text, created_at=utcnow())
    session.add(note)
    session.flush()
    return note


def episode(session: Session, episode_id: str) -> Sequence[StoredAssessment]:
    """Every assessment of one episode (first intake and follow-ups), oldest first."""
    query = (
        select(StoredAssessment)
        .where(StoredAssessment.episode_id == episode_id)
        .order_by(StoredAssessment.created_at.asc(), StoredAssessment.id.asc())
    )
    return session.scalars(query).all()
