"""``Idempotency-Key``: a retried create returns the first answer instead of a second row.

A system that sends an intake and loses the answer (a timeout, a dropped connection) cannot
know whether the assessment was stored. If it sent an ``Idempotency-Key`` header, it sends
the same request with the same key again: the first response comes back (the same
assessment id) and nothing is stored twice. The same key with a *different* body is
refused, because answering it with the first result would hand one patient's triage to
another. Keys belong to one caller (one API token, or one client address for anonymous
posts) and are forgotten after ``Settings.idempotency_key_lifetime``.

Race safety: the key row is inserted and flushed *before* the assessment, under a unique
constraint on (caller, key). Two requests with one key at the same moment cannot both
insert it: PostgreSQL makes the second wait for the first transaction and then fail with
an integrity error, SQLite serialises the writers the same way. The loser then reads the
winner's committed row and replays it.

The stored response never holds the patient's private link, since a copy of the database
must not open anyone's result: the link's token is derived from a random ``link_nonce``
kept here and the application's secret key (HMAC-SHA256), so only the running service can
rebuild it for a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from base64 import urlsafe_b64encode
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from backpath.store.models import Base, UTCDateTime, utcnow

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKey(Base):
    """One key a caller used for a create, the request it came with and the first answer."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller: Mapped[str] = mapped_column(String(96))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    link_nonce: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_body: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),)


class IdempotencyError(ValueError):
    """The key cannot be used; ``field`` is always the header's name."""

    def __init__(self, message: str) -> None:
        self.field = HEADER
        self.message = message
        super().__init__(f"{HEADER}: {message}")


def check_key(value: str) -> str:
    """``value`` if it is a usable key: 1-255 visible ASCII characters (a UUID is ideal)."""
    if not _KEY_PATTERN.match(value):
        raise IdempotencyError(
            f"use 1-{MAX_KEY_LENGTH} visible ASCII characters without spaces (a UUID is ideal)"
        )
    return value


def request_digest(document: Any) -> str:
    """SHA-256 of the request document in canonical form (key order and spacing ignored)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Delete every key whose lifetime is over; returns how many."""
    result = session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def find(session: Session, caller: str, key: str) -> IdempotencyKey | None:
    """The live key ``key`` of ``caller``, or ``None`` (an expired key counts as unused)."""
    query = select(IdempotencyKey).where(
        IdempotencyKey.caller == caller,
        IdempotencyKey.key == key,
        IdempotencyKey.expires_at > utcnow(),
    )
    return session.scalars(query).first()


def claim(
    session: Session, caller: str, key: str, request_sha256: str, lifetime: timedelta
) -> IdempotencyKey:
    """Insert the key (flushed at once): raises ``sqlalchemy.exc.IntegrityError`` when
    another request of the same caller has claimed it first."""
    now = utcnow()
    row = IdempotencyKey(
        caller=caller,
        key=key,
        request_sha256=request_sha256,
        created_at=now,
        expires_at=now + lifetime,
        link_nonce=secrets.token_hex(32),
        response_body={},
    )
    session.add(row)
    session.flush()
    return row


def complete(
    session: Session, row: IdempotencyKey, status: int, body: dict[str, Any], target_id: str
) -> None:
    """Keep the answer given for the key (without anything secret in it)."""
    row.response_status = status
    row.response_body = body
    row.target_id = target_id
    session.flush()


def patient_token(secret_key: str, nonce: str) -> str:
    """The patient's private token for an assessment made under a key: the same every time
    it is rebuilt from ``nonce``, unguessable without the application's secret key."""
    mac = hmac.new(
        secret_key.encode("utf-8"), b"backpath patient link\x00" + nonce.encode(), hashlib.sha256
    )
    return urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")
