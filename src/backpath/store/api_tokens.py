"""API tokens: how another system (an EHR, a kiosk, a referral portal) calls ``/api/v1``.

A token is made by ``backpath tokens create NAME --scope ...``, shown once, and kept only as
its SHA-256 (``store._tokens.digest``): a copy of the database does not let anyone call the
API. Each token carries *scopes*, the closed list in ``SCOPES``: a kiosk that only sends
intakes gets ``assessments:write`` and cannot read back anyone's result. A revoked token
stays in the table (revoked_at set) so the audit log keeps naming it and its name is never
handed to another system.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from backpath.store._tokens import digest, new_token
from backpath.store.models import Base, UTCDateTime, utcnow

SCOPE_ASSESSMENTS_WRITE = "assessments:write"
SCOPE_ASSESSMENTS_READ = "assessments:read"

SCOPES: dict[str, str] = {
    SCOPE_ASSESSMENTS_WRITE: "POST /api/v1/assessments: triage and store an intake",
    SCOPE_ASSESSMENTS_READ: "GET /api/v1/assessments/{id}: read a stored assessment",
}
"""Every scope a token may carry, with what it allows."""

TOKEN_PREFIX = "bp_"
"""Written before every token, so a leaked token is recognisable in logs and secret scanners."""

MAX_PRESENTED_LENGTH = 256
"""Longer Authorization values are refused before they are hashed."""

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


class ApiToken(Base):
    """One API token: its name, scopes and life; the token itself is stored only hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(96))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def actor_name(self) -> str:
        """How the audit log names a caller using this token."""
        return f"api-token:{self.name}"


class TokenError(ValueError):
    """A token cannot be created or revoked; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class TokenRejectedError(Exception):
    """A presented token does not authenticate; ``reason`` says why, in words for the caller.

    ``token`` is the stored token when one matched (it was revoked), else ``None``.
    """

    def __init__(self, reason: str, token: ApiToken | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.token = token


@dataclass(frozen=True)
class Created:
    """A new token row and the token itself, which is shown once and never stored."""

    row: ApiToken
    token: str


def _check_name(name: str) -> str:
    cleaned = name.strip().lower()
    if not NAME_PATTERN.match(cleaned):
        raise TokenError("name", "use 2-63 lower-case letters, digits, dots, dashes or underscores")
    return cleaned


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, each known, without repeats, in ``SCOPES`` order; at least one."""
    wanted = list(scopes)
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if unknown:
        raise TokenError(
            "scope", f"unknown scope {unknown[0]!r}; the scopes are {', '.join(SCOPES)}"
        )
    if not wanted:
        raise TokenError("scope", f"give at least one scope: {', '.join(SCOPES)}")
    return [scope for scope in SCOPES if scope in wanted]


def get_token(session: Session, name: str) -> ApiToken | None:
    """The token called ``name`` (revoked or not), or ``None``."""
    return session.scalars(select(ApiToken).where(ApiToken.name == name.strip().lower())).first()


def create_token(session: Session, name: str, scopes: Iterable[str], created_by: str) -> Created:
    """Make a token with ``scopes``; the caller's transaction commits it (audit it there)."""
    cleaned = _check_name(name)
    allowed = check_scopes(scopes)
    if get_token(session, cleaned) is not None:
        raise TokenError(
            "name", f"a token called {cleaned!r} exists already (names are never reused)"
        )
    token = TOKEN_PREFIX + new_token()
    row = ApiToken(
        name=cleaned,
        token_sha256=digest(token),
        scopes=allowed,
        created_at=utcnow(),
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return Created(row, token)


def list_tokens(session: Session) -> Sequence[ApiToken]:
    """Every token, revoked ones included, oldest first."""
    return session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def revoke_token(session: Session, name: str) -> ApiToken:
    """Revoke the token called ``name`` now; revoking it again keeps the first time."""
    row = get_token(session, name)
    if row is None:
        raise TokenError("name", f"no token called {name.strip().lower()!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def authenticate(session: Session, presented: str) -> ApiToken:
    """The live token that ``presented`` is; its last use is set to now.

    Raises ``TokenRejectedError`` saying why otherwise: not a token of this service, or
    revoked (with the time, so the system's operator knows what happened).
    """
    if not presented or len(presented) > MAX_PRESENTED_LENGTH:
        raise TokenRejectedError("this is not an API token of this service")
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == digest(presented))
    ).first()
    if row is None:
        raise TokenRejectedError("this is not an API token of this service")
    if row.revoked_at is not None:
        when = row.revoked_at.strftime("%Y-%m-%d %H:%M UTC")
        raise TokenRejectedError(f"the API token {row.name!r} was revoked on {when}", row)
    row.last_used_at = utcnow()
    session.flush()
    return row


def has_scope(token: ApiToken, scope: str) -> bool:
    """Whether ``token`` may do what ``scope`` allows."""
    return scope in token.scopes
