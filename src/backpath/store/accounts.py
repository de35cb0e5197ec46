"""Clinician accounts: argon2id password hashes, password strength, sign-in sessions and
the progressive sign-in delay.

Repeated failed sign-ins slow further attempts down instead of locking the account: the
wait grows with the recent failures for the username and from the client address, up to a
ceiling, and the right password after the wait always works. Nobody can lock a clinician
out by typing wrong passwords for them; a guesser gets a few tries a minute at most.

A clinician may also have a second factor: a TOTP secret (RFC 6238, the 6-digit codes of
an authenticator app; ``backpath users totp enable``). The secret is stored encrypted with
Fernet under a key derived from the identity key (the key that protects patient contact
details, ``store.identity``), and each accepted code's time step is remembered so a code
cannot be used twice.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import CursorResult, ForeignKey, Integer, String, Text, delete, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Mapped, Session, mapped_column

from backpath.store._tokens import digest, new_token
from backpath.store.identity import IDENTITY_KEY_ENV, IDENTITY_KEYS_OLD_ENV, check_key, key_id
from backpath.store.models import (
    Base,
    Clinician,
    ClinicianSession,
    LoginAttempt,
    UTCDateTime,
    utcnow,
)

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


# ---------------------------------------------------------------- TOTP second factor

TOTP_ISSUER = "backpath"
TOTP_DIGITS = 6
# RFC 6238's 30-second step: what every authenticator app uses by default.
TOTP_PERIOD_SECONDS = 30
# Codes of one step before and after the current one are accepted too: a phone's clock a
# little fast or slow, or a code typed as it changes.
TOTP_VALID_WINDOW = 1
_TOTP_KEY_INFO = b"backpath clinician totp secret v1"
_TOTP_PAYLOAD_VERSION = 1


class ClinicianTotp(Base):
    """A clinician's TOTP secret (encrypted) and the last time step a code was accepted for.

    ``last_step`` makes each code single-use: a code is accepted only for a time step after
    the last accepted one, so a code seen over a shoulder or replayed is refused.
    """

    __tablename__ = "clinician_totp"

    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    key_id: Mapped[str] = mapped_column(String(16))
    ciphertext: Mapped[str] = mapped_column(Text)
    last_step: Mapped[int | None] = mapped_column(Integer, default=None)


class TotpSecretError(RuntimeError):
    """A stored TOTP secret cannot be opened with the configured keys (or is not this
    clinician's): sign-in with the second factor is refused until it is set up again."""


def _totp_fernet_key(identity_key: bytes) -> bytes:
    """The Fernet key for TOTP secrets derived from an identity key (HKDF-SHA256), so the
    same key never encrypts two kinds of document."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_TOTP_KEY_INFO).derive(
        base64.urlsafe_b64decode(identity_key)
    )
    return base64.urlsafe_b64encode(raw)


class TotpKeyring:
    """Encrypts TOTP secrets under the current identity key; every key decrypts.

    Takes the same keys as ``store.identity.IdentityKeyring`` (``BACKPATH_IDENTITY_KEY`` or
    the key file, then ``BACKPATH_IDENTITY_KEYS_OLD``), so one rotation covers both; run
    ``backpath users totp reencrypt`` after a rotation, before dropping the old key.
    """

    def __init__(self, current: str, old: Iterable[str] = ()) -> None:
        keys = [check_key(current, IDENTITY_KEY_ENV)]
        keys += [check_key(key, IDENTITY_KEYS_OLD_ENV) for key in old if key.strip()]
        unique = list(dict.fromkeys(keys))
        self._fernet = MultiFernet([Fernet(_totp_fernet_key(key)) for key in unique])
        self.current_key_id = key_id(unique[0])

    def encrypt(self, secret: str, username: str) -> str:
        """The Fernet token of ``secret``, bound to ``username``."""
        document = {"v": _TOTP_PAYLOAD_VERSION, "username": username, "secret": secret}
        return self._fernet.encrypt(json.dumps(document, sort_keys=True).encode()).decode()

    def decrypt(self, token: str, username: str) -> str:
        """The secret in ``token``; refuses a token made for another clinician."""
        try:
            document = json.loads(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, ValueError) as exc:
            raise TotpSecretError(
                "no configured identity key opens this TOTP secret (set the old key in "
                f"{IDENTITY_KEYS_OLD_ENV}, or enable TOTP again)"
            ) from exc
        if document.get("username") != username:
            raise TotpSecretError("this TOTP secret belongs to another clinician")
        return str(document["secret"])

    def rotate(self, token: str) -> str:
        """``token`` encrypted again under the current key (same secret)."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


@dataclass(frozen=True)
class TotpSetup:
    """A new TOTP secret, to show once: the base32 secret and its ``otpauth://`` URI."""

    secret: str
    uri: str


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_SECONDS)


def totp_enabled(session: Session, clinician: Clinician) -> bool:
    """True when this clinician signs in with a code after the password."""
    return session.get(ClinicianTotp, clinician.id) is not None


def enable_totp(session: Session, clinician: Clinician, keyring: TotpKeyring) -> TotpSetup:
    """Give ``clinician`` a new TOTP secret (replacing any earlier one) and sign out every
    session they have, which were opened without it."""
    secret = pyotp.random_base32()
    row = session.get(ClinicianTotp, clinician.id)
    if row is None:
        row = ClinicianTotp(clinician_id=clinician.id, created_at=utcnow())
        session.add(row)
    row.key_id = keyring.current_key_id
    row.ciphertext = keyring.encrypt(secret, clinician.username)
    row.last_step = None
    row.created_at = utcnow()
    session.execute(delete(ClinicianSession).where(ClinicianSession.clinician_id == clinician.id))
    session.flush()
    uri = _totp(secret).provisioning_uri(name=clinician.username, issuer_name=TOTP_ISSUER)
    return TotpSetup(secret, uri)


def disable_totp(session: Session, clinician: Clinician) -> bool:
    """Remove the clinician's second factor; ``False`` when there was none."""
    row = session.get(ClinicianTotp, clinician.id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def normalise_code(code: str) -> str | None:
    """A typed code without spaces or dashes, or ``None`` when it is not 6 digits."""
    plain = "".join(ch for ch in code if ch not in " -\t")
    if len(plain) != TOTP_DIGITS or not plain.isascii() or not plain.isdigit():
        return None
    return plain


def verify_totp(
    session: Session,
    clinician: Clinician,
    keyring: TotpKeyring,
    code: str,
    now: datetime | None = None,
) -> bool:
    """True when ``code`` is the clinician's current code (one step either side allowed)
    and no code of that or a later time step was accepted before; the step is then
    remembered, in the caller's transaction, so the same code cannot be used again.

    Raises ``TotpSecretError`` when the stored secret cannot be opened.
    """
    row = session.get(ClinicianTotp, clinician.id)
    typed = normalise_code(code)
    if row is None or typed is None:
        return False
    totp = _totp(keyring.decrypt(row.ciphertext, clinician.username))
    current = int((now or utcnow()).timestamp()) // TOTP_PERIOD_SECONDS
    matched = [
        step
        for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1)
        if hmac.compare_digest(totp.generate_otp(step), typed)
    ]
    if not matched:
        return False
    step = max(matched)
    # Compare-and-set: of two requests with the same code, only one moves the step on.
    result = cast(
        "CursorResult[Any]",
        session.execute(
            sql_update(ClinicianTotp)
            .where(ClinicianTotp.clinician_id == clinician.id)
            .where(or_(ClinicianTotp.last_step.is_(None), ClinicianTotp.last_step < step))
            .values(last_step=step)
            .execution_options(synchronize_session=False)
        ),
    )
    session.expire(row)
    return result.rowcount == 1


def reencrypt_totp(session: Session, keyring: TotpKeyring) -> int:
    """Encrypt every TOTP secret again under the current key (after a key rotation);
    returns how many were rewritten. ``TotpSecretError`` if one opens with no key."""
    count = 0
    for row in session.scalars(select(ClinicianTotp)).all():
        if row.key_id == keyring.current_key_id:
            continue
        try:
            row.ciphertext = keyring.rotate(row.ciphertext)
        except InvalidToken as exc:
            raise TotpSecretError(
                f"the TOTP secret of clinician {row.clinician_id} opens with no configured key"
            ) from exc
        row.key_id = keyring.current_key_id
        count += 1
    session.flush()
    return count
