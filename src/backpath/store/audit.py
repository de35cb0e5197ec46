"""The audit log: every view, change and export of patient data, with who and when.

Audit rows are written in the same transaction as the action they describe, so an action
that is committed always has its audit row, and a failed audit write undoes the action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backpath.store.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who is acting: ``clinician:<username>``, ``patient`` (holder of a token), ``api``."""

    name: str
    client: str | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit row (flushed, committed with the caller's transaction)."""
    event = AuditEvent(
        actor=actor.name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=dict(detail or {}),
        client=actor.client,
    )
    session.add(event)
    session.flush()
    return event


def events(
    session: Session, target_id: str | None = None, limit: int = 500
) -> Sequence[AuditEvent]:
    """The newest audit rows first, optionally only those about ``target_id``."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    return session.scalars(query).all()
