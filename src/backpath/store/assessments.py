"""Stored assessments: save a result with what produced it, find it, list the worklist."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    func,
    insert,
    literal,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, selectinload

from backpath.store._tokens import digest, new_token
from backpath.store.models import Note, StoredAssessment, UTCDateTime, utcnow
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


@dataclass(frozen=True)
class NewAssessment:
    """One assessment for ``save_assessments``: what ``save_assessment`` takes, as data."""

    intake: Mapping[str, Any]
    result: Mapping[str, Any]
    channel: str
    narrative_read: bool
    created_at: datetime
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None


def save_assessments(session: Session, items: Iterable[NewAssessment]) -> list[str]:
    """Store many assessments in one multi-row insert (imports, benchmarks); their ids.

    The columns the worklist sorts and filters on are derived exactly as in
    ``save_assessment``. No patient token is returned: these rows are not opened by a
    patient link (each gets a random one that nobody is shown). The caller audits and
    commits.
    """
    rows: list[dict[str, Any]] = []
    for item in items:
        urgency = Urgency(item.result["urgency"])
        knowledge = item.result["knowledge_base"]
        rows.append(
            {
                "id": uuid.uuid4().hex,
                "created_at": item.created_at,
                "channel": item.channel,
                "language": str(item.result.get("language", item.intake.get("language", "en"))),
                "intake": dict(item.intake),
                "result": dict(item.result),
                "urgency": urgency.value,
                "urgency_rank": urgency.rank,
                "concerns": list(item.result.get("concerns", [])),
                "kb_version": str(knowledge["version"]),
                "kb_sha256": str(knowledge["sha256"]),
                "narrative_read": item.narrative_read,
                "patient_token_sha256": digest(new_token()),
                "episode_id": uuid.uuid4().hex,
                "reviewed_at": item.reviewed_at,
                "reviewed_by": item.reviewed_by,
            }
        )
    if rows:
        session.execute(insert(StoredAssessment), rows)
    return [row["id"] for row in rows]


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


URGENCY_RANKS: dict[str, int] = {urgency.value: urgency.rank for urgency in Urgency}
"""Each urgency's sort rank (higher is more urgent), as stored in ``urgency_rank``."""

CURSOR_FIELD = "after"
"""The query parameter that carries a worklist cursor (named in cursor errors)."""


class CursorError(ValueError):
    """A worklist cursor that this store did not make (edited, truncated, or from elsewhere)."""

    def __init__(self, message: str) -> None:
        self.field = CURSOR_FIELD
        self.message = message
        super().__init__(f"{CURSOR_FIELD}: {message}")


@dataclass(frozen=True)
class WorklistCursor:
    """Where a worklist page ended: the last row's rank, arrival time and id.

    The next page starts strictly after this row in worklist order (most urgent first,
    then oldest first, then id), so rows that arrive or are reviewed while a clinician
    pages never shift a row onto two pages or off all of them, as offsets would.
    """

    urgency_rank: int
    created_at: datetime
    id: str

    @classmethod
    def after(cls, row: StoredAssessment) -> WorklistCursor:
        """The cursor that continues after ``row``."""
        return cls(row.urgency_rank, row.created_at, row.id)

    def encode(self) -> str:
        """A short text for a link: ``rank.microseconds-since-epoch.id``."""
        micros = round((self.created_at - _EPOCH) / timedelta(microseconds=1))
        return f"{self.urgency_rank}.{micros}.{self.id}"

    @classmethod
    def decode(cls, text: str) -> WorklistCursor:
        """The cursor ``text`` stands for; ``CursorError`` (naming ``after``) when it is not
        one that ``encode`` makes."""
        parts = text.split(".")
        if len(parts) != 3 or len(text) > 80:
            raise CursorError("not a worklist position; open the first page again")
        rank, micros, row_id = parts
        if not rank.isdigit() or int(rank) not in URGENCY_RANKS.values():
            raise CursorError("unknown urgency rank; open the first page again")
        if not micros.isdigit() or len(micros) > 17:
            raise CursorError("bad time; open the first page again")
        if len(row_id) != 32 or any(ch not in "0123456789abcdef" for ch in row_id):
            raise CursorError("bad assessment id; open the first page again")
        return cls(int(rank), _EPOCH + timedelta(microseconds=int(micros)), row_id)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WorklistPage:
    """One page of the worklist and the cursor of the next (``None`` on the last page)."""

    rows: Sequence[StoredAssessment]
    next_cursor: WorklistCursor | None


def _worklist_filters(
    session: Session, status: str, concern: str | None
) -> list[ColumnElement[bool]]:
    """The WHERE terms for a review status and a concern, in SQL on both back ends."""
    if status not in REVIEW_STATUSES:
        raise ValueError(f"status must be one of {', '.join(REVIEW_STATUSES)}")
    terms: list[ColumnElement[bool]] = []
    if status == "open":
        terms.append(StoredAssessment.reviewed_at.is_(None))
    elif status == "reviewed":
        terms.append(StoredAssessment.reviewed_at.is_not(None))
    if concern:
        if session.get_bind().dialect.name == "postgresql":
            terms.append(type_coerce(StoredAssessment.concerns, JSONB).contains([concern]))
        else:
            listed = func.json_each(StoredAssessment.concerns).table_valued("value")
            terms.append(select(1).select_from(listed).where(listed.c.value == concern).exists())
    return terms


def worklist_page(
    session: Session,
    *,
    urgencies: Collection[str] = (),
    status: str = "open",
    concern: str | None = None,
    after: WorklistCursor | None = None,
    limit: int = 100,
) -> WorklistPage:
    """One page of the worklist (same order and filters as ``worklist``), by keyset.

    The page is read one urgency at a time, most urgent first: each read is a range of an
    index on (urgency_rank, created_at, id) that starts at the cursor (for open rows the
    partial index of migration 0006), so a page deep in a list of 100,000 rows costs about
    what the first page costs (docs/web.md, "The worklist at 100,000 assessments"). At most
    four small queries, one per urgency, and usually one. ``next_cursor`` is ``None`` on
    the last page; ``WorklistCursor.encode`` makes its link text.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    terms = _worklist_filters(session, status, concern)
    unknown = sorted(set(urgencies) - set(URGENCY_RANKS))
    if unknown:
        raise ValueError(f"urgency must be one of {', '.join(URGENCY_RANKS)}, not {unknown[0]!r}")
    wanted = [URGENCY_RANKS[u] for u in urgencies] if urgencies else URGENCY_RANKS.values()
    ranks = sorted(set(wanted), reverse=True)
    rows: list[StoredAssessment] = []
    for rank in ranks:
        if after is not None and rank > after.urgency_rank:
            continue
        query = select(StoredAssessment).where(StoredAssessment.urgency_rank == rank, *terms)
        if after is not None and rank == after.urgency_rank:
            query = query.where(
                tuple_(StoredAssessment.created_at, StoredAssessment.id)
                > tuple_(literal(after.created_at, UTCDateTime()), literal(after.id, String(32)))
            )
        query = query.order_by(StoredAssessment.created_at.asc(), StoredAssessment.id.asc())
        rows.extend(session.scalars(query.limit(limit + 1 - len(rows))).all())
        if len(rows) > limit:
            break
    if len(rows) > limit:
        return WorklistPage(rows[:limit], WorklistCursor.after(rows[limit - 1]))
    return WorklistPage(rows, None)


def urgency_counts(
    session: Session, *, status: str = "open", concern: str | None = None
) -> dict[str, int]:
    """How many assessments of each urgency match ``status`` and ``concern`` (every
    urgency present, 0 when none): the counts the worklist always shows."""
    terms = _worklist_filters(session, status, concern)
    query = (
        select(StoredAssessment.urgency_rank, func.count())
        .where(*terms)
        .group_by(StoredAssessment.urgency_rank)
    )
    by_rank = {int(rank): int(count) for rank, count in session.execute(query).all()}
    return {urgency: by_rank.get(rank, 0) for urgency, rank in URGENCY_RANKS.items()}


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
