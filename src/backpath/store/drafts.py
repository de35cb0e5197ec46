"""Intake drafts: the answers of an unfinished intake, kept server-side between pages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from backpath.store._tokens import digest, new_token
from backpath.store.models import Draft, utcnow


def new_draft(session: Session, state: Mapping[str, Any]) -> str:
    """Store a new draft and return its token (the database keeps only the digest)."""
    token = new_token()
    now = utcnow()
    session.add(Draft(id_sha256=digest(token), created_at=now, updated_at=now, state=dict(state)))
    session.flush()
    return token


def load_draft(session: Session, token: str, max_age: timedelta) -> Draft | None:
    """The draft for ``token`` if it exists and was touched within ``max_age``."""
    if not token or len(token) > 128:
        return None
    draft = session.get(Draft, digest(token))
    if draft is None or draft.updated_at < utcnow() - max_age:
        return None
    return draft


def save_draft(session: Session, draft: Draft, state: Mapping[str, Any]) -> None:
    """Replace the draft's state (a new dict, so the JSON column sees the change)."""
    draft.state = dict(state)
    draft.updated_at = utcnow()
    session.flush()


def delete_draft(session: Session, draft: Draft) -> None:
    """Remove a finished or abandoned draft: unsent answers are not kept."""
    session.delete(draft)
    session.flush()


def purge_drafts(session: Session, max_age: timedelta) -> int:
    """Delete drafts untouched for ``max_age``; returns how many were removed."""
    result = session.execute(delete(Draft).where(Draft.updated_at < utcnow() - max_age))
    return int(getattr(result, "rowcount", 0) or 0)
