"""Patient identity at rest: encrypted, found by blind index, rotated keys, form rules."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from backpath.store import Store, assessments
from backpath.store.identity import (
    IdentityDecryptError,
    IdentityKeyError,
    IdentityKeyring,
    PatientContact,
    PatientIdentity,
    age_disagrees,
    identity_of,
    load_identity_key,
    main,
    normalise_name,
    read_contact,
    reencrypt,
    save_identity,
    search_assessments,
)

TODAY = date(2026, 12, 3)
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
RESULT = {
    "urgency": "routine",
    "concerns": [],
    "knowledge_base": {"version": "t", "sha256": "0" * 64},
    "language": "en",
}


def _assessment(store: Store) -> str:
    with store.session() as db:
        saved = assessments.save_assessment(
            db, intake={"answers": {"age": 46}}, result=RESULT, channel="web", narrative_read=True
        )
        return saved.assessment.id


def _contact(given: str = "María José", family: str = "García-López") -> PatientContact:
    return PatientContact(given, family, date(1980, 3, 27), "+34 600 123 456", "H-123", "m@x.es")


def test_details_are_stored_only_as_ciphertext_and_indexes(store: Store) -> None:
    """The database holds no name, phone or birth date in the clear; the key opens it."""
    keyring = IdentityKeyring(KEY_A)
    assessment_id = _assessment(store)
    with store.session() as db:
        save_identity(db, assessment_id, _contact(), keyring)
    with store.engine.connect() as connection:
        row = connection.execute(text("select * from patient_identities")).mappings().one()
    stored = " ".join(str(value) for value in row.values())
    for secret in ("García", "Garcia", "garcia", "600 123", "600123", "1980", "H-123", "m@x.es"):
        assert secret not in stored
    with store.session() as db:
        found = identity_of(db, assessment_id)
        assert found is not None
        assert keyring.decrypt(found.ciphertext, assessment_id) == _contact()


def test_a_ciphertext_moved_to_another_assessment_is_refused(store: Store) -> None:
    """The encrypted document names its assessment: copying it onto another row fails."""
    keyring = IdentityKeyring(KEY_A)
    first, second = _assessment(store), _assessment(store)
    with store.session() as db:
        row, created = save_identity(db, first, _contact(), keyring)
        assert created
        with pytest.raises(IdentityDecryptError, match="another assessment"):
            keyring.decrypt(row.ciphertext, second)


def test_saving_again_replaces_the_details(store: Store) -> None:
    """One identity per assessment: a second save updates the same row."""
    keyring = IdentityKeyring(KEY_A)
    assessment_id = _assessment(store)
    with store.session() as db:
        save_identity(db, assessment_id, _contact(), keyring)
        _, created = save_identity(db, assessment_id, _contact(given="Ana"), keyring)
        assert not created
        assert db.query(PatientIdentity).count() == 1
        row = identity_of(db, assessment_id)
        assert row is not None
        assert keyring.decrypt(row.ciphertext, assessment_id).given_name == "Ana"


def test_search_by_name_and_birth_date_uses_the_blind_indexes(store: Store) -> None:
    """Full name, family name with date, or date alone find the patient; accents, case and
    hyphens do not matter; a family name alone or the wrong date does not match."""
    keyring = IdentityKeyring(KEY_A)
    wanted, other = _assessment(store), _assessment(store)
    with store.session() as db:
        save_identity(db, wanted, _contact(), keyring)
        save_identity(
            db, other, PatientContact("Ann", "Smith", date(1975, 1, 2), "0123 456789"), keyring
        )
    born = date(1980, 3, 27)
    cases = [
        ("maria jose garcia lopez", None, [wanted]),
        ("GARCÍA LÓPEZ", born, [wanted]),
        ("garcia-lopez", born, [wanted]),
        ("María José García-López", born, [wanted]),
        (None, born, [wanted]),
        (None, date(1975, 1, 2), [other]),
        ("garcia lopez", None, []),
        ("garcia lopez", date(1980, 3, 28), []),
        ("Smith", born, []),
    ]
    with store.session() as db:
        for name, when, expected in cases:
            found = [row.id for row in search_assessments(db, keyring, name, when)]
            assert found == expected, (name, when)


def test_normalised_names() -> None:
    """Accents, case, apostrophes and hyphens fold to one form."""
    assert normalise_name("  O'Brien ") == normalise_name("OBRIEN") == "obrien"
    assert normalise_name("Núñez-Pérez") == "nunez perez"
    assert normalise_name("Strauß") == "strauss"


def test_rotation_keeps_old_rows_readable_and_findable_then_reencrypts(store: Store) -> None:
    """After a new key, rows under the old key still open and are still found; reencrypt
    moves them to the new key, after which the old key is no longer needed."""
    assessment_id = _assessment(store)
    with store.session() as db:
        save_identity(db, assessment_id, _contact(), IdentityKeyring(KEY_A))
    rotated = IdentityKeyring(KEY_B, [KEY_A])
    with store.session() as db:
        hits = search_assessments(db, rotated, "Garcia Lopez", date(1980, 3, 27))
        assert [row.id for row in hits] == [assessment_id]
        done = reencrypt(db, rotated)
        assert (done.rewritten, done.current) == (1, 0)
        assert reencrypt(db, rotated).current == 1
    only_new = IdentityKeyring(KEY_B)
    with store.session() as db:
        row = identity_of(db, assessment_id)
        assert row is not None
        assert row.key_id == only_new.current_key_id
        assert only_new.decrypt(row.ciphertext, assessment_id) == _contact()
        hits = search_assessments(db, only_new, "Garcia Lopez", date(1980, 3, 27))
        assert [row.id for row in hits] == [assessment_id]
        with pytest.raises(IdentityDecryptError):
            IdentityKeyring(KEY_A).decrypt(row.ciphertext, assessment_id)


def test_reencrypt_stops_and_changes_nothing_when_a_key_is_missing(store: Store) -> None:
    """A row no configured key opens stops the run; the transaction is rolled back."""
    assessment_id = _assessment(store)
    with store.session() as db:
        save_identity(db, assessment_id, _contact(), IdentityKeyring(KEY_A))
    with pytest.raises(IdentityDecryptError), store.session() as db:
        reencrypt(db, IdentityKeyring(KEY_B))
    with store.session() as db:
        row = identity_of(db, assessment_id)
        assert row is not None
        assert IdentityKeyring(KEY_A).decrypt(row.ciphertext, assessment_id) == _contact()


def test_key_file_is_made_once_with_mode_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the variable, a key is made in the data folder on first use and reused."""
    monkeypatch.delenv("BACKPATH_IDENTITY_KEY", raising=False)
    first = load_identity_key(tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / "identity_key").st_mode) == 0o600
    assert load_identity_key(tmp_path) == first
    IdentityKeyring(first)
    monkeypatch.setenv("BACKPATH_IDENTITY_KEY", KEY_B)
    assert load_identity_key(tmp_path) == KEY_B


@pytest.mark.parametrize("bad", ["short", "x" * 44, ""])
def test_a_bad_key_names_its_setting(bad: str) -> None:
    """A key that is not 32 bytes of URL-safe base64 is refused, naming the variable."""
    with pytest.raises(IdentityKeyError, match="BACKPATH_IDENTITY_KEYS_OLD"):
        IdentityKeyring(KEY_A, [bad or "=="])


def test_reencrypt_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m backpath.store.identity reencrypt`` rotates a SQLite database's rows."""
    from backpath.store import open_store

    url = f"sqlite:///{tmp_path / 'backpath.db'}"
    store = open_store(url)
    assessment_id = _assessment(store)
    with store.session() as db:
        save_identity(db, assessment_id, _contact(), IdentityKeyring(KEY_A))
    monkeypatch.setenv("BACKPATH_IDENTITY_KEY", KEY_B)
    monkeypatch.delenv("BACKPATH_IDENTITY_KEYS_OLD", raising=False)
    assert main(["reencrypt", "--database-url", url, "--data-dir", str(tmp_path)]) == 1
    assert "nothing was changed" in capsys.readouterr().err
    monkeypatch.setenv("BACKPATH_IDENTITY_KEYS_OLD", KEY_A)
    assert main(["reencrypt", "--database-url", url, "--data-dir", str(tmp_path)]) == 0
    assert "1 identity records re-encrypted" in capsys.readouterr().out
    with store.session() as db:
        row = identity_of(db, assessment_id)
        assert row is not None
        assert IdentityKeyring(KEY_B).decrypt(row.ciphertext, assessment_id) == _contact()
    store.dispose()


def _form(**values: str) -> dict[str, list[str]]:
    base = {
        "given_name": "Ana",
        "family_name": "Ruiz",
        "dob_day": "27",
        "dob_month": "3",
        "dob_year": "1980",
        "phone": "+44 (0)20 7946-0000",
        "record_number": "",
        "email": "",
    }
    base.update(values)
    return {name: [value] for name, value in base.items()}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"given_name": ""}, "given_name", "required"),
        ({"family_name": "x" * 101}, "family_name", "too_long"),
        ({"family_name": "Ru\x00iz"}, "family_name", "nul"),
        ({"given_name": "12345"}, "given_name", "no_letter"),
        ({"phone": "0123 456789 ext 4"}, "phone", "phone_chars"),
        ({"phone": "0123+456789"}, "phone", "phone_plus"),
        ({"phone": "12345"}, "phone", "phone_digits"),
        ({"phone": ""}, "phone", "required"),
        ({"dob_day": "31", "dob_month": "2"}, "date_of_birth", "not_a_date"),
        ({"dob_year": "80"}, "date_of_birth", "not_a_date"),
        ({"dob_year": "2027"}, "date_of_birth", "future"),
        ({"dob_year": "1890"}, "date_of_birth", "too_old"),
        ({"dob_day": ""}, "date_of_birth", "required"),
        ({"record_number": "=cmd()"}, "record_number", "record_chars"),
        ({"email": "not an address"}, "email", "email"),
    ],
)
def test_form_rules_name_the_field(change: dict[str, str], field: str, code: str) -> None:
    """Each rule refuses with its field and reason, and keeps what was typed."""
    reading = read_contact(_form(**change), TODAY)
    assert reading.contact is None
    assert [(p.field, p.code) for p in reading.problems] == [(field, code)]
    for name, value in change.items():
        assert reading.entered[name] == value.strip()


def test_a_control_sent_twice_is_refused() -> None:
    """Two values for one control: neither is taken."""
    form = _form()
    form["phone"] = ["0123 456789", "0999 999999"]
    reading = read_contact(form, TODAY)
    assert reading.contact is None
    assert [(p.field, p.code) for p in reading.problems] == [("phone", "repeated")]


def test_a_valid_form_and_the_age_check() -> None:
    """A valid form gives the details; an age answered otherwise is reported."""
    reading = read_contact(_form(email="ana@example.org", record_number="MRN 42/7"), TODAY)
    assert reading.contact is not None
    assert reading.contact.date_of_birth == date(1980, 3, 27)
    assert reading.contact.age_on(TODAY) == 46
    assert reading.contact.age_on(date(2026, 3, 26)) == 45
    assert age_disagrees(reading.contact, 46, TODAY) is None
    assert age_disagrees(reading.contact, 40, TODAY) == 46
    assert age_disagrees(reading.contact, None, TODAY) is None
