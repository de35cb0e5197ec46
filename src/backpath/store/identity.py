"""Who the patient is and how to reach them: stored encrypted, found by keyed blind indexes.

A patient may leave their name, date of birth, phone number and, if they like, a record
number and an e-mail address, so that their care team can call them back (issue #12). The
triage never needs these, and a copy of the database must not give them away, so:

- the details are one JSON document encrypted with Fernet (AES-128-CBC with HMAC-SHA256,
  from the ``cryptography`` package) under the identity key (``BACKPATH_IDENTITY_KEY`` or
  ``<data dir>/identity_key``). The document names its assessment, so a ciphertext copied
  onto another assessment's row is refused when it is read;
- to find a patient by name and date of birth without decrypting every row, each row also
  keeps three *blind indexes*: HMAC-SHA256 of the normalised full name, of the normalised
  family name with the date of birth, and of the date of birth alone, under a key derived
  from the identity key (HKDF). A search computes the same HMACs and compares them with
  ``=``; the database never sees a name. What the indexes do reveal to someone holding a
  copy of the database: which rows share a name, a family name and birth date, or a birth
  date (not what they are);
- keys rotate with ``MultiFernet``: the first key encrypts, every key decrypts and every
  key's indexes are searched, so nothing is lost between setting a new key and re-encrypting
  (``reencrypt`` here, ``python -m backpath.store.identity reencrypt``; docs/security.md).

Nothing in this module logs, and the values never go into audit rows: callers audit that a
record was saved or viewed, with field names at most.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import os
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import ForeignKey, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import Select

from backpath.store.models import Base, StoredAssessment, UTCDateTime, utcnow

# ---------------------------------------------------------------- the details themselves

NAME_MAX = 100
PHONE_MAX = 32
PHONE_DIGITS_MIN = 6
PHONE_DIGITS_MAX = 20
RECORD_NUMBER_MAX = 40
EMAIL_MAX = 254
AGE_MAX = 120
PAYLOAD_VERSION = 1

FIELDS = ("given_name", "family_name", "date_of_birth", "phone", "record_number", "email")
"""The fields of a contact, in the order the form asks for them."""

_PHONE = re.compile(r"^[0-9 ()+\-]+$")
_RECORD_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./\-]*$")
_EMAIL = re.compile(r"^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$")


@dataclass(frozen=True)
class PatientContact:
    """What the patient typed: who they are and how to reach them."""

    given_name: str
    family_name: str
    date_of_birth: date
    phone: str
    record_number: str | None = None
    email: str | None = None

    @property
    def full_name(self) -> str:
        """Given name(s) then family name(s), as the patient wrote them."""
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        before_birthday = (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day)
        return day.year - self.date_of_birth.year - int(before_birthday)

    def to_json(self) -> dict[str, Any]:
        """The details as a JSON object (the date as ``YYYY-MM-DD``)."""
        return {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "phone": self.phone,
            "record_number": self.record_number,
            "email": self.email,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PatientContact:
        """The details from ``to_json``'s form."""
        return cls(
            given_name=str(data["given_name"]),
            family_name=str(data["family_name"]),
            date_of_birth=date.fromisoformat(str(data["date_of_birth"])),
            phone=str(data["phone"]),
            record_number=data.get("record_number"),
            email=data.get("email"),
        )


@dataclass(frozen=True)
class ContactProblem:
    """Why one field of the contact form cannot be taken.

    ``field`` is the form field's name (``date_of_birth`` for the three date boxes);
    ``code`` says what is wrong, for the page to put in words (``required``, ``too_long``,
    ``nul``, ``control``, ``no_letter``, ``phone_chars``, ``phone_plus``, ``phone_digits``,
    ``not_a_date``, ``future``, ``too_old``, ``record_chars``, ``email``, ``repeated``);
    ``values`` fills the words (``max``, ``min``).
    """

    field: str
    code: str
    values: Mapping[str, int] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ContactReading:
    """What a contact form said: the details when every field is valid, else the problems;
    ``entered`` keeps every value as typed, to show the form again without losing any."""

    contact: PatientContact | None
    problems: tuple[ContactProblem, ...]
    entered: dict[str, str]


FORM_FIELDS = (
    "given_name",
    "family_name",
    "dob_day",
    "dob_month",
    "dob_year",
    "phone",
    "record_number",
    "email",
)
"""The names of the form's controls (the date of birth is three boxes: day, month, year)."""


def _text_problem(name: str, value: str, limit: int, required: bool) -> ContactProblem | None:
    if "\x00" in value:
        return ContactProblem(name, "nul")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in value):
        return ContactProblem(name, "control")
    if not value:
        return ContactProblem(name, "required") if required else None
    if len(value) > limit:
        return ContactProblem(name, "too_long", {"max": limit})
    return None


def _read_name(name: str, value: str) -> ContactProblem | None:
    problem = _text_problem(name, value, NAME_MAX, required=True)
    if problem is None and not any(ch.isalpha() for ch in value):
        return ContactProblem(name, "no_letter")
    return problem


def _read_phone(value: str) -> ContactProblem | None:
    problem = _text_problem("phone", value, PHONE_MAX, required=True)
    if problem is not None:
        return problem
    if not _PHONE.match(value):
        return ContactProblem("phone", "phone_chars")
    if "+" in value[1:]:
        return ContactProblem("phone", "phone_plus")
    digits = sum(ch.isdigit() for ch in value)
    if not PHONE_DIGITS_MIN <= digits <= PHONE_DIGITS_MAX:
        return ContactProblem(
            "phone", "phone_digits", {"min": PHONE_DIGITS_MIN, "max": PHONE_DIGITS_MAX}
        )
    return None


def _read_birth_date(
    day: str, month: str, year: str, today: date
) -> tuple[date | None, ContactProblem | None]:
    parts = (day, month, year)
    for part in parts:
        problem = _text_problem("date_of_birth", part, 4, required=False)
        if problem is not None:
            return None, ContactProblem("date_of_birth", problem.code)
    if not all(parts):
        return None, ContactProblem("date_of_birth", "required")
    if not all(part.isascii() and part.isdigit() for part in parts) or len(year) != 4:
        return None, ContactProblem("date_of_birth", "not_a_date")
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:
        return None, ContactProblem("date_of_birth", "not_a_date")
    if born >= today:
        return None, ContactProblem("date_of_birth", "future")
    contact_age = PatientContact("", "", born, "").age_on(today)
    if contact_age > AGE_MAX:
        return None, ContactProblem("date_of_birth", "too_old", {"max": AGE_MAX})
    return born, None


def read_contact(form: Mapping[str, Sequence[str]], today: date) -> ContactReading:
    """Check a contact form (each control's values as posted) against the rules.

    Names: 1-100 characters with a letter; phone: digits, spaces, ``+`` (first only),
    ``-``, ``(`` and ``)`` with 6-20 digits; date of birth: a real date before ``today``,
    age 0-120; record number and e-mail optional. NUL bytes and other control characters
    are refused everywhere, and so is a control sent twice (which value would be meant?).
    Every problem names its field; every value is kept as typed.
    """
    entered: dict[str, str] = {}
    problems: list[ContactProblem] = []
    for name in FORM_FIELDS:
        values = list(form.get(name, []))
        entered[name] = values[0].strip() if values else ""
        if len(values) > 1:
            target = "date_of_birth" if name.startswith("dob_") else name
            problems.append(ContactProblem(target, "repeated"))
    if problems:
        unique = {(problem.field, problem.code): problem for problem in problems}
        return ContactReading(None, tuple(unique.values()), entered)
    for name in ("given_name", "family_name"):
        problem = _read_name(name, entered[name])
        if problem:
            problems.append(problem)
    born, birth_problem = _read_birth_date(
        entered["dob_day"], entered["dob_month"], entered["dob_year"], today
    )
    if birth_problem:
        problems.append(birth_problem)
    phone_problem = _read_phone(entered["phone"])
    if phone_problem:
        problems.append(phone_problem)
    record = entered["record_number"]
    record_problem = _text_problem("record_number", record, RECORD_NUMBER_MAX, required=False)
    if record_problem is None and record and not _RECORD_NUMBER.match(record):
        record_problem = ContactProblem("record_number", "record_chars")
    if record_problem:
        problems.append(record_problem)
    email = entered["email"]
    email_problem = _text_problem("email", email, EMAIL_MAX, required=False)
    if email_problem is None and email and not _EMAIL.match(email):
        email_problem = ContactProblem("email", "email")
    if email_problem:
        problems.append(email_problem)
    if problems or born is None:
        return ContactReading(None, tuple(problems), entered)
    contact = PatientContact(
        given_name=entered["given_name"],
        family_name=entered["family_name"],
        date_of_birth=born,
        phone=" ".join(entered["phone"].split()),
        record_number=record or None,
        email=email or None,
    )
    return ContactReading(contact, (), entered)


def age_disagrees(contact: PatientContact, intake_age: Any, on: date) -> int | None:
    """The age the date of birth gives on ``on`` when the intake's age says otherwise."""
    if not isinstance(intake_age, int) or isinstance(intake_age, bool):
        return None
    computed = contact.age_on(on)
    return computed if computed != intake_age else None


# ---------------------------------------------------------------- keys, encryption, indexes

IDENTITY_KEY_ENV = "BACKPATH_IDENTITY_KEY"
IDENTITY_KEYS_OLD_ENV = "BACKPATH_IDENTITY_KEYS_OLD"
IDENTITY_KEY_FILE = "identity_key"


class IdentityKeyError(ValueError):
    """An identity key is not a Fernet key; ``setting`` names where it came from."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        super().__init__(f"{setting}: {message}")


class IdentityDecryptError(RuntimeError):
    """A stored identity cannot be read with any configured key, or belongs to another row."""


def new_key() -> str:
    """A fresh identity key (32 random bytes, URL-safe base64: a Fernet key)."""
    return Fernet.generate_key().decode("ascii")


def check_key(key: str, setting: str) -> bytes:
    """``key`` as the bytes Fernet takes, or ``IdentityKeyError`` naming ``setting``."""
    try:
        raw = base64.urlsafe_b64decode(key.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise IdentityKeyError(
            setting,
            "must be 32 random bytes in URL-safe base64 (44 characters), as made by "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
            ".decode())'`",
        )
    return key.strip().encode("ascii")


def _index_key(fernet_key: bytes) -> bytes:
    """The blind-index HMAC key belonging to one identity key (HKDF-SHA256)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"backpath patient identity blind index v1",
    ).derive(base64.urlsafe_b64decode(fernet_key))


def key_id(fernet_key: bytes) -> str:
    """A short name for a key, stored with each row (which key encrypted it); not secret."""
    digest = hashlib.sha256(b"backpath identity key id\x00" + base64.urlsafe_b64decode(fernet_key))
    return digest.hexdigest()[:16]


def normalise_name(text: str) -> str:
    """A name as the blind index sees it: accents and case gone, apostrophes dropped,
    other marks (hyphens, dots) made spaces, spaces collapsed ("García-López" and
    "garcia lopez" are the same; so are "O'Brien" and "OBRIEN")."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    plain = plain.replace("'", "").replace("\u2019", "")
    return " ".join("".join(ch if ch.isalnum() else " " for ch in plain).split())


@dataclass(frozen=True)
class BlindIndexes:
    """The three HMACs stored beside a ciphertext (hex)."""

    name: str
    surname_dob: str
    dob: str


class IdentityKeyring:
    """The identity keys: the first encrypts and indexes; all decrypt and are searched."""

    def __init__(self, current: str, old: Iterable[str] = ()) -> None:
        keys = [check_key(current, IDENTITY_KEY_ENV)]
        keys += [check_key(key, IDENTITY_KEYS_OLD_ENV) for key in old if key.strip()]
        unique = list(dict.fromkeys(keys))
        self._fernet = MultiFernet([Fernet(key) for key in unique])
        self._index_keys = [_index_key(key) for key in unique]
        self.key_ids = tuple(key_id(key) for key in unique)

    @property
    def current_key_id(self) -> str:
        """The id of the key that encrypts new rows."""
        return self.key_ids[0]

    def encrypt(self, contact: PatientContact, assessment_id: str) -> str:
        """The Fernet token of the details, bound to ``assessment_id``."""
        document = {"v": PAYLOAD_VERSION, "assessment_id": assessment_id, **contact.to_json()}
        text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, assessment_id: str) -> PatientContact:
        """The details in ``token``; refuses a token made for another assessment."""
        try:
            text = self._fernet.decrypt(token.encode("ascii"))
        except InvalidToken as exc:
            raise IdentityDecryptError(
                "no configured identity key opens this record (set the old key in "
                "BACKPATH_IDENTITY_KEYS_OLD)"
            ) from exc
        document = json.loads(text)
        if document.get("assessment_id") != assessment_id:
            raise IdentityDecryptError("this identity record belongs to another assessment")
        return PatientContact.from_json(document)

    def rotate(self, token: str) -> str:
        """``token`` encrypted again under the current key (same content)."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def _hmacs(self, kind: str, value: str) -> list[str]:
        message = f"{kind}\x00{value}".encode()
        return [hmac.new(key, message, hashlib.sha256).hexdigest() for key in self._index_keys]

    def indexes(self, contact: PatientContact) -> BlindIndexes:
        """The blind indexes of ``contact`` under the current key."""
        born = contact.date_of_birth.isoformat()
        return BlindIndexes(
            name=self._hmacs("name", normalise_name(contact.full_name))[0],
            surname_dob=self._hmacs("surname_dob", f"{normalise_name(contact.family_name)}|{born}")[
                0
            ],
            dob=self._hmacs("dob", born)[0],
        )

    def search_digests(self, name: str | None, born: date | None) -> dict[str, list[str]]:
        """What to look for, under every key: ``name`` (a full name), ``surname_dob`` (the
        name as a family name, with the date), ``dob`` (the date)."""
        wanted: dict[str, list[str]] = {}
        if name and normalise_name(name):
            wanted["name"] = self._hmacs("name", normalise_name(name))
            if born is not None:
                wanted["surname_dob"] = self._hmacs(
                    "surname_dob", f"{normalise_name(name)}|{born.isoformat()}"
                )
        if born is not None:
            wanted["dob"] = self._hmacs("dob", born.isoformat())
        return wanted


# ---------------------------------------------------------------- the table


class PatientIdentity(Base):
    """The encrypted contact details of one stored assessment, with their blind indexes."""

    __tablename__ = "patient_identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    key_id: Mapped[str] = mapped_column(String(16))
    ciphertext: Mapped[str] = mapped_column(Text)
    name_index: Mapped[str] = mapped_column(String(64), index=True)
    surname_dob_index: Mapped[str] = mapped_column(String(64), index=True)
    dob_index: Mapped[str] = mapped_column(String(64), index=True)


def save_identity(
    session: Session, assessment_id: str, contact: PatientContact, keyring: IdentityKeyring
) -> tuple[PatientIdentity, bool]:
    """Store (or replace) the assessment's contact details; True when new.

    The caller's transaction commits it, with its audit row.
    """
    row = identity_of(session, assessment_id)
    created = row is None
    now = utcnow()
    if row is None:
        row = PatientIdentity(assessment_id=assessment_id, created_at=now)
        session.add(row)
    indexes = keyring.indexes(contact)
    row.updated_at = now
    row.key_id = keyring.current_key_id
    row.ciphertext = keyring.encrypt(contact, assessment_id)
    row.name_index = indexes.name
    row.surname_dob_index = indexes.surname_dob
    row.dob_index = indexes.dob
    session.flush()
    return row, created


def identity_of(session: Session, assessment_id: str) -> PatientIdentity | None:
    """The identity row of an assessment, or ``None`` (nothing decrypted)."""
    query = select(PatientIdentity).where(PatientIdentity.assessment_id == assessment_id)
    return session.scalars(query).one_or_none()


def identities_of(session: Session, assessment_ids: Collection[str]) -> dict[str, PatientIdentity]:
    """The identity rows of these assessments, by assessment id (nothing decrypted)."""
    if not assessment_ids:
        return {}
    query = select(PatientIdentity).where(PatientIdentity.assessment_id.in_(list(assessment_ids)))
    return {row.assessment_id: row for row in session.scalars(query)}


def matching_assessments(
    keyring: IdentityKeyring, name: str | None, born: date | None
) -> Select[str]:
    """The ids of assessments whose identity matches, by blind index only.

    With a name and a date: the name as a family name with that date, or as the full name
    with that date. A name alone: the full name. A date alone: the date. Every configured
    key's HMACs are looked for, so rows not yet re-encrypted after a rotation are found.
    """
    wanted = keyring.search_digests(name, born)
    query = select(PatientIdentity.assessment_id)
    if "name" in wanted and "dob" in wanted:
        return query.where(
            or_(
                PatientIdentity.surname_dob_index.in_(wanted["surname_dob"]),
                PatientIdentity.name_index.in_(wanted["name"])
                & PatientIdentity.dob_index.in_(wanted["dob"]),
            )
        )
    if "name" in wanted:
        return query.where(PatientIdentity.name_index.in_(wanted["name"]))
    if "dob" in wanted:
        return query.where(PatientIdentity.dob_index.in_(wanted["dob"]))
    return query.where(PatientIdentity.id.is_(None))


def search_assessments(
    session: Session, keyring: IdentityKeyring, name: str | None, born: date | None
) -> Sequence[StoredAssessment]:
    """The assessments whose patient matches (``matching_assessments``), in worklist order:
    most urgent first, then longest waiting. Reviewed ones are included."""
    query = (
        select(StoredAssessment)
        .where(StoredAssessment.id.in_(matching_assessments(keyring, name, born)))
        .order_by(
            StoredAssessment.urgency_rank.desc(),
            StoredAssessment.created_at.asc(),
            StoredAssessment.id.asc(),
        )
    )
    return session.scalars(query).all()


@dataclass(frozen=True)
class Reencrypted:
    """What ``reencrypt`` did: rows rewritten under the current key, rows already on it."""

    rewritten: int
    current: int


def reencrypt(session: Session, keyring: IdentityKeyring, batch_size: int = 500) -> Reencrypted:
    """Encrypt and index every row under the current key (after a key rotation).

    Rows already on the current key are left alone, so it can be run again after an
    interruption. Every row must open with one of the configured keys; one that does not
    stops the run with ``IdentityDecryptError`` (nothing of that transaction is kept).
    """
    rewritten = current = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(PatientIdentity)
            .where(PatientIdentity.id > last_id)
            .order_by(PatientIdentity.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        for row in rows:
            last_id = row.id
            if row.key_id == keyring.current_key_id:
                current += 1
                continue
            contact = keyring.decrypt(row.ciphertext, row.assessment_id)
            indexes = keyring.indexes(contact)
            row.ciphertext = keyring.rotate(row.ciphertext)
            row.key_id = keyring.current_key_id
            row.name_index = indexes.name
            row.surname_dob_index = indexes.surname_dob
            row.dob_index = indexes.dob
            rewritten += 1
        session.flush()
    return Reencrypted(rewritten, current)


def load_identity_key(data_dir: Path) -> str:
    """``$BACKPATH_IDENTITY_KEY``, or the key in ``<data_dir>/identity_key`` (made on first
    use, readable by its owner only: mode 0600). Checked: a bad key names where it came from.

    Keep a copy of this key somewhere safe and apart from the database backups: without it
    the stored contact details cannot be read, and with it anyone holding a backup can.
    """
    configured = os.environ.get(IDENTITY_KEY_ENV, "").strip()
    if configured:
        check_key(configured, IDENTITY_KEY_ENV)
        return configured
    path = data_dir / IDENTITY_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it a moment ago
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(new_key() + "\n")
    key = path.read_text(encoding="ascii").strip()
    check_key(key, str(path))
    return key


def old_identity_keys() -> tuple[str, ...]:
    """``$BACKPATH_IDENTITY_KEYS_OLD``: earlier keys, comma-separated, still used to read."""
    raw = os.environ.get(IDENTITY_KEYS_OLD_ENV, "")
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    for key in keys:
        check_key(key, IDENTITY_KEYS_OLD_ENV)
    return keys


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m backpath.store.identity reencrypt``: re-encrypt after a key rotation.

    Uses the same settings as ``backpath serve`` (``BACKPATH_DATABASE_URL``,
    ``BACKPATH_DATA_DIR``, ``BACKPATH_IDENTITY_KEY``, ``BACKPATH_IDENTITY_KEYS_OLD``) and
    prints how many rows were rewritten. Exit 2 on a key or database error, 1 when a row
    opens with none of the keys (then nothing is changed).
    """
    import argparse
    import sys

    from sqlalchemy.exc import SQLAlchemyError

    from backpath.store.db import default_database_url, open_store

    parser = argparse.ArgumentParser(
        prog="python -m backpath.store.identity",
        description="Re-encrypt the stored patient identities under the current key.",
    )
    parser.add_argument("command", choices=["reencrypt"])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", default=os.environ.get("BACKPATH_DATA_DIR", "data"))
    arguments = parser.parse_args(argv)
    data_dir = Path(arguments.data_dir)
    try:
        keyring = IdentityKeyring(load_identity_key(data_dir), old_identity_keys())
        store = open_store(arguments.database_url or default_database_url(data_dir))
    except (IdentityKeyError, SQLAlchemyError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with store.session() as db:
            done = reencrypt(db, keyring)
    except IdentityDecryptError as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return 1
    finally:
        store.dispose()
    print(
        f"OK: {done.rewritten} identity records re-encrypted under key {keyring.current_key_id}; "
        f"{done.current} were already on it"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
