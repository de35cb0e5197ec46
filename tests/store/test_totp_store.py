"""TOTP secrets on SQLite and PostgreSQL: stored encrypted, a code accepted once only."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from backpath.store import Store, accounts
from backpath.store.identity import new_key

PASSWORD = "correct horse battery staple"


def test_a_code_is_accepted_once_on_each_back_end(store: Store) -> None:
    keyring = accounts.TotpKeyring(new_key())
    with store.session() as db:
        clinician = accounts.create_clinician(db, "dr.ng", PASSWORD, "Dr Ng")
        setup = accounts.enable_totp(db, clinician, keyring)
    code = pyotp.TOTP(setup.secret).now()
    with store.session() as db:
        clinician = accounts.get_clinician(db, "dr.ng")
        assert clinician is not None
        assert accounts.verify_totp(db, clinician, keyring, code)
    with store.session() as db:
        clinician = accounts.get_clinician(db, "dr.ng")
        assert clinician is not None
        assert not accounts.verify_totp(db, clinician, keyring, code)
        row = db.scalars(select(accounts.ClinicianTotp)).one()
        assert setup.secret not in row.ciphertext
        assert row.last_step is not None
        assert accounts.disable_totp(db, clinician)
        assert not accounts.totp_enabled(db, clinician)
