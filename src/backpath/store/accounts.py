"""Clinician accounts: argon2id password hashes, password strength, sign-in sessions and
the progressive sign-in delay.

Repeated failed sign-ins slow further attempts down instead of locking the account: the
wait grows with the recent failures for the username and from the client address, up to a
ceiling, and the right password after the wait always works. Nobody can lock a clinician
out by typing wrong passwords for them; a guesser gets a few tries a minute at most.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from backpath.store._tokens import digest, new_token
from backpath.store.models import Clinician, ClinicianSession, LoginAttempt, utcnow

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
# Verifying against this hash when the user does not exist takes as long as a real check,
# so response times do not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class AccountError(ValueError):
    """An account cannot be created or changed; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (argon2-cffi's recommended parameters)."""
    return _hasher.hash(password)


# zxcvbn scores 0-4; 3 is "safely unguessable" against an online attack and slows an
# offline one. Common passwords, keyboard walks, years and names score 0-2.
MIN_PASSWORD_SCORE = 3
# zxcvbn's run time grows with length; what lies beyond this many characters only adds
# strength, so the estimate looks at the beginning.
_STRENGTH_CHECK_CHARS = 64


def password_problem(password: str, hints: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` is too weak for a clinician login, or ``None`` when it will do.

    Too short, or guessable by zxcvbn's offline lists (common passwords, words, names,
    dates, keyboard patterns) and by the ``hints`` (the username, the display name).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    from zxcvbn import zxcvbn  # loads word lists: import late

    words = [hint for hint in hints if hint] + ["backpath", "clinic", "clinician"]
    estimate = zxcvbn(password[:_STRENGTH_CHECK_CHARS], user_inputs=words)
    if int(estimate["score"]) >= MIN_PASSWORD_SCORE:
        return None
    warning = str(estimate["feedback"].get("warning") or "").rstrip(".")
    reason = warning.lower() if warning else "it is easy to guess"
    return f"is too easy to guess ({reason}); use four or more unrelated words"


def _check_password(password: str, *hints: str) -> None:
    problem = password_problem(password, hints)
    if problem is not None:
        raise AccountError("password", problem)


def create_clinician(
    session: Session, username: str, password: str, display_name: str | None = None
) -> Clinician:
    """Add a clinician; the username is lower-case letters, digits, ``.``, ``_`` or ``-``."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise AccountError(
            "username", "use 2-63 lower-case letters, digits, dots, dashes or underscores"
        )
    _check_password(password, username, display_name or "")
    if get_clinician(session, username) is not None:
        raise AccountError("username", f"{username!r} already exists")
    clinician = Clinician(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        active=True,
        created_at=utcnow(),
    )
    session.add(clinician)
    session.flush()
    return clinician


def get_clinician(session: Session, username: str) -> Clinician | None:
    """The clinician with this username, or ``None``."""
    query = select(Clinician).where(Clinician.username == username.strip().lower())
    return session.scalars(query).one_or_none()


def list_clinicians(session: Session) -> Sequence[Clinician]:
    """Every clinician account, by username."""
    return session.scalars(select(Clinician).order_by(Clinician.username)).all()


def set_password(session: Session, clinician: Clinician, password: str) -> None:
    """Replace a clinician's password and sign out every session they have."""
    _check_password(password, clinician.username, clinician.display_name)
    clinician.password_hash = hash_password(password)
    session.execute(delete(ClinicianSession).where(ClinicianSession.clinician_id == clinician.id))
    session.flush()


def set_active(session: Session, clinician: Clinician, active: bool) -> None:
    """Enable or disable an account; disabling also signs out every session."""
    clinician.active = active
    if not active:
        session.execute(
            delete(ClinicianSession).where(ClinicianSession.clinician_id == clinician.id)
        )
    session.flush()


def authenticate(session: Session, username: str, password: str) -> Clinician | None:
    """The active clinician whose password matches, or ``None``. Rehashes old hashes."""
    clinician = get_clinician(session, username)
    if clinician is None or not clinician.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(clinician.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(clinician.password_hash):
        clinician.password_hash = hash_password(password)
    return clinician


def record_attempt(session: Session, username: str, client: str, success: bool) -> None:
    """Remember one sign-in attempt (for throttling)."""
    session.add(
        LoginAttempt(username=username.strip().lower()[:64], client=client[:64], success=success)
    )
    session.flush()


def recent_failures(
    session: Session, username: str, client: str, window: timedelta, now: datetime | None = None
) -> tuple[int, int]:
    """Failed sign-ins in the last ``window``: (for this username, from this client)."""
    since = (now or utcnow()) - window
    base = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    )
    by_user = session.scalar(base.where(LoginAttempt.username == username.strip().lower()[:64]))
    by_client = session.scalar(base.where(LoginAttempt.client == client[:64]))
    return int(by_user or 0), int(by_client or 0)


def sign_in_delay(failures: int, free: int, base_seconds: float, max_seconds: float) -> float:
    """Seconds to wait before checking a password after ``failures`` recent failures.

    The first ``free`` failures cost nothing (typos); then the wait doubles with each
    failure from ``base_seconds`` up to ``max_seconds``. It never becomes a lockout.
    """
    if failures < free or max_seconds <= 0:
        return 0.0
    steps = min(failures - free, 32)  # 2**32 seconds is past any ceiling
    return float(min(max_seconds, base_seconds * 2**steps))


def start_session(session: Session, clinician: Clinician, lifetime: timedelta) -> str:
    """Create a sign-in session and return its token (stored only as a digest)."""
    token = new_token()
    now = utcnow()
    session.add(
        ClinicianSession(
            id_sha256=digest(token),
            clinician_id=clinician.id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def session_clinician(session: Session, token: str) -> Clinician | None:
    """The active clinician signed in with ``token``, or ``None`` (expired, signed out)."""
    if not token:
        return None
    row = session.get(ClinicianSession, digest(token))
    if row is None or row.expires_at <= utcnow():
        return None
    clinician = row.clinician
    return clinician if clinician.active else None


def end_session(session: Session, token: str) -> None:
    """Sign out: delete the session row so the token no longer works anywhere."""
    session.execute(delete(ClinicianSession).where(ClinicianSession.id_sha256 == digest(token)))


def purge_expired(session: Session, attempts_older_than: timedelta) -> None:
    """Remove expired sessions and old sign-in attempts."""
    now = utcnow()
    session.execute(delete(ClinicianSession).where(ClinicianSession.expires_at <= now))
    session.execute(
        delete(LoginAttempt).where(
            or_(
                LoginAttempt.at < now - attempts_older_than,
                LoginAttempt.at > now + attempts_older_than,
            )
        )
    )
