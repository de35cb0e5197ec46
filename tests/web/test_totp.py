"""The optional TOTP second factor for clinicians (issue #12).

With TOTP on, the right password leads to a second step asking for the 6-digit code; only
the right code, used once, signs in. Wrong codes count as failed sign-ins (the same
progressive waits as wrong passwords). The secret is stored encrypted under a key derived
from the identity key and bound to its clinician.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from backpath.store import Store, accounts
from backpath.store.identity import new_key
from backpath.store.models import AuditEvent, LoginAttempt
from backpath.web.routes_clinic import TOTP_PENDING_TRIES, totp_keyring
from tests.web._support import CLINICIAN, add_clinician, csrf_of, make_app

# Short waits: 0.3 s after two free failures per username.
FAST = {
    "login_free_failures_per_user": 2,
    "login_free_failures_per_client": 4,
    "login_delay_base_seconds": 0.3,
    "login_delay_max_seconds": 0.6,
}
# RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", 6 of its 8 digits.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
RFC_VECTORS = [(59, "287082"), (1111111109, "081804"), (1234567890, "005924")]


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[tuple[FastAPI, Store]]:
    """An app with short sign-in waits, one clinician, TOTP not yet on."""
    app, store = make_app(tmp_path, **FAST)
    add_clinician(store)
    yield app, store
    store.dispose()


def _enable(app: FastAPI, store: Store, username: str = CLINICIAN[0]) -> str:
    """Turn TOTP on for ``username`` with the app's keys; the secret."""
    with store.session() as db:
        clinician = accounts.get_clinician(db, username)
        assert clinician is not None
        setup = accounts.enable_totp(db, clinician, totp_keyring(app.state.web.settings))
    return setup.secret


def _password_step(client: TestClient) -> Any:
    page = client.get("/clinic/login")
    return client.post(
        "/clinic/login",
        data={"csrf_token": csrf_of(page.text), "username": CLINICIAN[0], "password": CLINICIAN[1]},
        follow_redirects=False,
    )


def _code_step(client: TestClient, code: str) -> Any:
    page = client.get("/clinic/login/code")
    assert page.status_code == 200, "no code step is waiting"
    return client.post(
        "/clinic/login/code",
        data={"csrf_token": csrf_of(page.text), "code": code},
        follow_redirects=False,
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _audit(store: Store, action: str) -> list[AuditEvent]:
    with store.session() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_codes_follow_rfc_6238() -> None:
    """The codes the app accepts are the standard ones every authenticator app shows."""
    totp = pyotp.TOTP(RFC_SECRET, digits=6, interval=30)
    for moment, expected in RFC_VECTORS:
        assert totp.at(moment) == expected
    assert accounts.TOTP_DIGITS == 6
    assert accounts.TOTP_PERIOD_SECONDS == 30


def test_without_totp_the_password_alone_signs_in(app_store: tuple[FastAPI, Store]) -> None:
    app, _ = app_store
    with TestClient(app) as client:
        response = _password_step(client)
        assert response.status_code == 303
        assert response.headers["location"] == "/clinic"


def test_with_totp_the_password_leads_to_the_code_and_the_right_code_signs_in(
    app_store: tuple[FastAPI, Store],
) -> None:
    app, store = app_store
    secret = _enable(app, store)
    with TestClient(app) as client:
        response = _password_step(client)
        assert response.status_code == 303
        assert response.headers["location"] == "/clinic/login/code"
        # The password alone opens nothing.
        worklist = client.get("/clinic", follow_redirects=False)
        assert worklist.status_code == 303
        assert worklist.headers["location"].startswith("/clinic/login")
        page = client.get("/clinic/login/code")
        assert 'autocomplete="one-time-code"' in page.text
        response = _code_step(client, pyotp.TOTP(secret).now())
        assert response.status_code == 303
        assert response.headers["location"] == "/clinic"
        assert client.get("/clinic", follow_redirects=False).status_code == 200
    (login,) = _audit(store, "login")
    assert login.detail["factor"] == "totp"
    assert len(_audit(store, "login_code_asked")) == 1


def test_a_code_is_not_accepted_twice(app_store: tuple[FastAPI, Store]) -> None:
    app, store = app_store
    secret = _enable(app, store)
    code = pyotp.TOTP(secret).now()
    with TestClient(app) as client:
        _password_step(client)
        assert _code_step(client, code).status_code == 303
    with TestClient(app) as other:
        _password_step(other)
        response = _code_step(other, code)
        assert response.status_code == 401
        assert "already been used" in response.text
        assert other.get("/clinic", follow_redirects=False).status_code == 303


def test_wrong_codes_count_as_failed_sign_ins_and_slow_the_next(
    app_store: tuple[FastAPI, Store],
) -> None:
    app, store = app_store
    secret = _enable(app, store)
    with TestClient(app) as client:
        _password_step(client)
        for _ in range(2):
            assert _code_step(client, _wrong(pyotp.TOTP(secret).now())).status_code == 401
        started = time.perf_counter()
        assert _code_step(client, _wrong(pyotp.TOTP(secret).now())).status_code == 401
        assert time.perf_counter() - started >= 0.3  # waited like after wrong passwords
        started = time.perf_counter()
        response = _code_step(client, pyotp.TOTP(secret).now())
        assert time.perf_counter() - started >= 0.3
        assert response.status_code == 303  # the right code after the wait still works
    failed = _audit(store, "login_failed")
    assert [event.detail.get("factor") for event in failed] == ["totp"] * 3
    with store.session() as db:
        failures = db.scalars(select(LoginAttempt).where(LoginAttempt.success.is_(False))).all()
    assert len(failures) == 3


def test_too_many_wrong_codes_ask_for_the_password_again(
    app_store: tuple[FastAPI, Store],
) -> None:
    app, store = app_store
    secret = _enable(app, store)
    with TestClient(app) as client:
        _password_step(client)
        for _ in range(TOTP_PENDING_TRIES - 1):
            assert _code_step(client, _wrong(pyotp.TOTP(secret).now())).status_code == 401
        last = _code_step(client, _wrong(pyotp.TOTP(secret).now()))
        assert last.status_code == 401
        assert 'id="f-password"' in last.text  # back on the password form
        assert client.get("/clinic/login/code", follow_redirects=False).status_code == 303


def test_the_code_page_needs_the_password_first(app_store: tuple[FastAPI, Store]) -> None:
    app, store = app_store
    secret = _enable(app, store)
    with TestClient(app) as client:
        response = client.get("/clinic/login/code", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/clinic/login"
        page = client.get("/clinic/login")
        posted = client.post(
            "/clinic/login/code",
            data={"csrf_token": csrf_of(page.text), "code": pyotp.TOTP(secret).now()},
            follow_redirects=False,
        )
        assert posted.status_code == 303
        assert posted.headers["location"] == "/clinic/login"
        assert client.get("/clinic", follow_redirects=False).status_code == 303


def test_verify_accepts_one_step_of_drift_and_no_more(app_store: tuple[FastAPI, Store]) -> None:
    app, store = app_store
    secret = _enable(app, store)
    keyring = totp_keyring(app.state.web.settings)
    totp = pyotp.TOTP(secret)
    now = datetime(2026, 11, 30, 12, 0, 10, tzinfo=UTC)
    with store.session() as db:
        clinician = accounts.get_clinician(db, CLINICIAN[0])
        assert clinician is not None
        two_ago = totp.at(now - timedelta(seconds=60))
        assert not accounts.verify_totp(db, clinician, keyring, two_ago, now=now)
        one_ago = totp.at(now - timedelta(seconds=30))
        assert accounts.verify_totp(db, clinician, keyring, one_ago, now=now)
        # Once the current step is used, the step before cannot be used any more either.
        assert accounts.verify_totp(db, clinician, keyring, totp.at(now), now=now)
        assert not accounts.verify_totp(db, clinician, keyring, one_ago, now=now)
        assert not accounts.verify_totp(db, clinician, keyring, "12345", now=now)
        assert not accounts.verify_totp(db, clinician, keyring, "abcdef", now=now)
        spaced = totp.at(now + timedelta(seconds=30))
        assert accounts.verify_totp(db, clinician, keyring, f"{spaced[:3]} {spaced[3:]}", now=now)


def test_the_secret_is_stored_encrypted_and_bound_to_its_clinician(
    app_store: tuple[FastAPI, Store],
) -> None:
    app, store = app_store
    secret = _enable(app, store)
    keyring = totp_keyring(app.state.web.settings)
    with store.session() as db:
        row = db.scalars(select(accounts.ClinicianTotp)).one()
        ciphertext = row.ciphertext
        assert secret not in ciphertext
        assert row.key_id == keyring.current_key_id
    assert keyring.decrypt(ciphertext, CLINICIAN[0]) == secret
    with pytest.raises(accounts.TotpSecretError, match="another clinician"):
        keyring.decrypt(ciphertext, "dr.other")
    with pytest.raises(accounts.TotpSecretError, match="no configured identity key"):
        accounts.TotpKeyring(new_key()).decrypt(ciphertext, CLINICIAN[0])


def test_after_a_key_rotation_reencrypt_keeps_the_secret(
    app_store: tuple[FastAPI, Store],
) -> None:
    app, store = app_store
    secret = _enable(app, store)
    old = (
        app.state.web.settings.identity_key
        or (app.state.web.settings.data_dir / "identity_key").read_text().strip()
    )
    rotated = accounts.TotpKeyring(new_key(), [old])
    with store.session() as db:
        assert accounts.reencrypt_totp(db, rotated) == 1
        row = db.scalars(select(accounts.ClinicianTotp)).one()
        ciphertext = row.ciphertext
    assert rotated.decrypt(ciphertext, CLINICIAN[0]) == secret
    with pytest.raises(accounts.TotpSecretError):
        accounts.TotpKeyring(old).decrypt(ciphertext, CLINICIAN[0])


def test_enabling_signs_out_existing_sessions(app_store: tuple[FastAPI, Store]) -> None:
    app, store = app_store
    with TestClient(app) as client:
        assert _password_step(client).status_code == 303
        assert client.get("/clinic", follow_redirects=False).status_code == 200
        _enable(app, store)
        assert client.get("/clinic", follow_redirects=False).status_code == 303


def test_the_code_form_is_labelled_in_spanish_too(app_store: tuple[FastAPI, Store]) -> None:
    app, store = app_store
    _enable(app, store)
    with TestClient(app) as client:
        client.get("/clinic/login?lang=es")
        _password_step(client)
        page = client.get("/clinic/login/code").text
        assert re.search(r'<label class="q-text" for="f-code">Código de 6 cifras</label>', page)
