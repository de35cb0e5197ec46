"""The audit log: every view, change and export of patient data, with who and when.

Audit rows are written in the same transaction as the action they describe, so an action
that is committed always has its audit row, and a failed audit write undoes the action.

The log is tamper-evident: the rows form a hash chain. Row *n* stores ``seq = n``, the hash
of row *n-1* (``prev_hash``; 64 zeros for the first row) and its own ``row_hash``, the
SHA-256 of a canonical JSON text of its content plus ``prev_hash``. Editing a row's
content, deleting a row or slipping one in breaks the chain at that row, and
``verify_chain`` (``backpath audit verify``) names the first row where it breaks. The
one-row table ``audit_chain_head`` holds the newest ``seq`` and hash; appends update it
first, which serialises them, and it lets ``verify_chain`` notice removed newest rows.

What the chain cannot catch on its own: someone who can write to the database and who
recomputes every later hash and the head. Keep the head hash that ``backpath audit verify``
prints (for example in the backup log) somewhere the database's users cannot write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backpath.store.models import AuditChainHead, AuditEvent, utcnow

# The ``prev_hash`` of the first row of the chain.
GENESIS_HASH = "0" * 64
# The version of the canonical form below. Changing that form needs a new version number
# (and verification that understands both), or every existing chain stops verifying.
CHAIN_FORMAT = 1
HEAD_ID = 1


@dataclass(frozen=True)
class Actor:
    """Who is acting: ``clinician:<username>``, ``patient`` (holder of a token), ``api``."""

    name: str
    client: str | None = None


def _canonical(value: Any) -> Any:
    """``value`` as it reads back from either database's JSON column.

    Tuples become lists and whole-number floats become integers (PostgreSQL's JSONB gives
    ``1e20`` back as an integer), so the hash does not depend on the back end.
    """
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _timestamp(moment: datetime) -> str:
    """The row time in UTC with microseconds (what both databases store exactly)."""
    if moment.tzinfo is None:  # SQLite hands back naive values; they are UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def chain_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    detail: Mapping[str, Any],
    client: str | None,
    prev_hash: str,
) -> str:
    """The ``row_hash`` of an audit row: SHA-256 of its canonical content and ``prev_hash``."""
    content = {
        "v": CHAIN_FORMAT,
        "seq": seq,
        "at": _timestamp(at),
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "detail": _canonical(detail),
        "client": client,
        "prev_hash": prev_hash,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _hash_of(event: AuditEvent, seq: int, prev_hash: str) -> str:
    return chain_hash(
        seq=seq,
        at=event.at,
        actor=event.actor,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        detail=event.detail,
        client=event.client,
        prev_hash=prev_hash,
    )


class AuditChainError(RuntimeError):
    """The chain head is missing: the database was not migrated, or it was tampered with."""


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row to the chain (flushed, committed with the caller's transaction).

    The head row is updated before anything is read, so the transaction holds the head's
    row lock (PostgreSQL) or the write lock (SQLite) until it commits: a concurrent append
    waits and then chains onto this row.
    """
    claimed = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=AuditChainHead.seq + 1)
        .returning(AuditChainHead.seq, AuditChainHead.row_hash)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if claimed is None:
        raise AuditChainError("the audit chain head is missing (run the migrations)")
    seq, prev_hash = int(claimed[0]), str(claimed[1])
    event = AuditEvent(
        at=utcnow(),
        actor=actor.name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=_canonical(dict(detail or {})),
        client=actor.client,
        seq=seq,
        prev_hash=prev_hash,
    )
    event.row_hash = _hash_of(event, seq, prev_hash)
    session.add(event)
    session.flush()
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(row_hash=event.row_hash)
        .execution_options(synchronize_session=False)
    )
    return event


def events(
    session: Session, target_id: str | None = None, limit: int = 500
) -> Sequence[AuditEvent]:
    """The newest audit rows first, optionally only those about ``target_id``."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    return session.scalars(query).all()


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the chain does not hold: the row (``id``, ``seq``) and why."""

    row_id: int | None
    seq: int | None
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: how many rows, the newest hash, the first break if any."""

    rows: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        """True when every row and the head agree."""
        return self.broken is None


def verify_chain(session: Session, batch_size: int = 1000) -> ChainReport:
    """Recompute the chain from the first row and report the first row where it breaks.

    Checks, in ``seq`` order: that every row is chained (no ``NULL`` seq or hash), that
    ``seq`` runs 1, 2, 3, ... without gaps, that ``prev_hash`` is the previous row's hash,
    and that ``row_hash`` matches the row's content; finally that the head names the last
    row (so deleting the newest rows is caught too).
    """
    unchained = session.scalars(
        select(AuditEvent)
        .where((AuditEvent.seq.is_(None)) | (AuditEvent.row_hash.is_(None)))
        .order_by(AuditEvent.id)
        .limit(1)
    ).first()
    if unchained is not None:
        return ChainReport(
            0,
            GENESIS_HASH,
            ChainBreak(unchained.id, unchained.seq, "row is not part of the chain (no hash)"),
        )
    expected_seq = 1
    prev_hash = GENESIS_HASH
    rows = 0
    query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch_size)
    for event in session.scalars(query):
        seq = int(event.seq or 0)
        if seq != expected_seq:
            reason = f"expected seq {expected_seq}, found {seq} (a row was removed or added)"
            return ChainReport(rows, prev_hash, ChainBreak(event.id, seq, reason))
        if event.prev_hash != prev_hash:
            reason = "prev_hash does not match the previous row (a row was removed or changed)"
            return ChainReport(rows, prev_hash, ChainBreak(event.id, seq, reason))
        if _hash_of(event, seq, prev_hash) != event.row_hash:
            reason = "content does not match its hash (the row was changed)"
            return ChainReport(rows, prev_hash, ChainBreak(event.id, seq, reason))
        prev_hash = str(event.row_hash)
        expected_seq += 1
        rows += 1
        if rows % batch_size == 0:
            session.expunge_all()  # keep memory flat on a long log
    head = session.get(AuditChainHead, HEAD_ID)
    if head is None:
        return ChainReport(rows, prev_hash, ChainBreak(None, None, "the chain head row is missing"))
    if head.seq != rows or head.row_hash != prev_hash:
        reason = (
            f"the head says {head.seq} rows ending in {head.row_hash[:12]}..., the log has "
            f"{rows} ending in {prev_hash[:12]}... (newest rows removed or head changed)"
        )
        return ChainReport(rows, prev_hash, ChainBreak(None, rows + 1, reason))
    return ChainReport(rows, prev_hash, None)
