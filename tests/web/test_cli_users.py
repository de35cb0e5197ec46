"""`backpath users`: create, list, change the password of and disable clinician logins."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from backpath.cli import app
from backpath.store import accounts, open_store
from backpath.store.models import AuditEvent

runner = CliRunner()
PASSWORD = "a long enough password"


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'users.db'}"


def test_create_and_list(tmp_path: Path) -> None:
    """A created login is listed, active, and its password is stored as an argon2id hash."""
    url = _url(tmp_path)
    created = runner.invoke(
        app,
        [
            "users",
            "create",
            "Dr.Kim",
            "--name",
            "Dr Kim",
            "--password-stdin",
            "--database-url",
            url,
        ],
        input=PASSWORD + "\n",
    )
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["users", "list", "--database-url", url])
    assert "dr.kim\tDr Kim\tactive" in listed.stdout
    store = open_store(url)
    with store.session() as db:
        clinician = accounts.get_clinician(db, "dr.kim")
        assert clinician is not None
        assert clinician.password_hash.startswith("$argon2id$")
        assert accounts.authenticate(db, "dr.kim", PASSWORD) is not None
    store.dispose()


def test_create_refuses_short_passwords_and_duplicates(tmp_path: Path) -> None:
    """A short password or an existing username exits with status 2 and says why."""
    url = _url(tmp_path)
    short = runner.invoke(
        app, ["users", "create", "kim", "--password-stdin", "--database-url", url], input="short\n"
    )
    assert short.exit_code == 2
    assert "password" in short.output
    args = ["users", "create", "kim", "--password-stdin", "--database-url", url]
    assert runner.invoke(app, args, input=PASSWORD + "\n").exit_code == 0
    again = runner.invoke(app, args, input=PASSWORD + "\n")
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_prompted_passwords_must_match(tmp_path: Path) -> None:
    """Without --password-stdin the password is asked twice and must match."""
    result = runner.invoke(
        app,
        ["users", "create", "kim", "--database-url", _url(tmp_path)],
        input=f"{PASSWORD}\n{PASSWORD}x\n",
    )
    assert result.exit_code == 2


def test_set_password_and_disable(tmp_path: Path) -> None:
    """A new password replaces the old one; a disabled login cannot sign in."""
    url = _url(tmp_path)
    runner.invoke(
        app,
        ["users", "create", "kim", "--password-stdin", "--database-url", url],
        input=PASSWORD + "\n",
    )
    changed = runner.invoke(
        app,
        ["users", "set-password", "kim", "--password-stdin", "--database-url", url],
        input="another long password\n",
    )
    assert changed.exit_code == 0, changed.output
    assert runner.invoke(app, ["users", "disable", "kim", "--database-url", url]).exit_code == 0
    store = open_store(url)
    with store.session() as db:
        assert accounts.authenticate(db, "kim", "another long password") is None
        clinician = accounts.get_clinician(db, "kim")
        assert clinician is not None
        accounts.set_active(db, clinician, True)
        assert accounts.authenticate(db, "kim", "another long password") is not None
        assert accounts.authenticate(db, "kim", PASSWORD) is None
    store.dispose()
    missing = runner.invoke(app, ["users", "disable", "nobody", "--database-url", url])
    assert missing.exit_code == 2


def test_totp_enable_prints_the_secret_once_and_disable_turns_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`users totp enable` prints the secret and its otpauth URI, stores the secret
    encrypted (under DATA_DIR/identity_key), refuses a second enable without --replace;
    `users totp disable` turns the code off. Every change is audited."""
    monkeypatch.delenv("BACKPATH_IDENTITY_KEY", raising=False)
    monkeypatch.delenv("BACKPATH_IDENTITY_KEYS_OLD", raising=False)
    url = _url(tmp_path)
    where = ["--database-url", url, "--data-dir", str(tmp_path)]
    runner.invoke(
        app, ["users", "create", "kim", "--password-stdin", *where], input=PASSWORD + "\n"
    )
    enabled = runner.invoke(app, ["users", "totp", "enable", "kim", *where])
    assert enabled.exit_code == 0, enabled.output
    secret = re.search(r"^secret: ([A-Z2-7]{32})$", enabled.stdout, re.M)
    uri = re.search(r"^uri: (otpauth://totp/\S+)$", enabled.stdout, re.M)
    assert secret
    assert uri
    parts = urlsplit(uri.group(1))
    assert unquote(parts.path) == "/backpath:kim"
    assert parse_qs(parts.query)["secret"] == [secret.group(1)]
    assert parse_qs(parts.query)["issuer"] == ["backpath"]
    assert (tmp_path / "identity_key").exists()

    store = open_store(url)
    with store.session() as db:
        clinician = accounts.get_clinician(db, "kim")
        assert clinician is not None
        assert accounts.totp_enabled(db, clinician)
        stored = db.scalars(select(accounts.ClinicianTotp)).one().ciphertext
        assert secret.group(1) not in stored
        keyring = accounts.TotpKeyring((tmp_path / "identity_key").read_text().strip())
        code = pyotp.TOTP(secret.group(1)).now()
        assert accounts.verify_totp(db, clinician, keyring, code)
    store.dispose()

    listed = runner.invoke(app, ["users", "list", *where])
    assert "kim\tkim\tactive\ttotp" in listed.stdout
    again = runner.invoke(app, ["users", "totp", "enable", "kim", *where])
    assert again.exit_code == 2
    assert "--replace" in again.output
    replaced = runner.invoke(app, ["users", "totp", "enable", "kim", "--replace", *where])
    assert replaced.exit_code == 0, replaced.output
    assert secret.group(1) not in replaced.stdout  # a new secret

    disabled = runner.invoke(app, ["users", "totp", "disable", "kim", *where])
    assert disabled.exit_code == 0, disabled.output
    missing = runner.invoke(app, ["users", "totp", "enable", "nobody", *where])
    assert missing.exit_code == 2
    store = open_store(url)
    with store.session() as db:
        clinician = accounts.get_clinician(db, "kim")
        assert clinician is not None
        assert not accounts.totp_enabled(db, clinician)
        changes = [
            event.detail.get("totp")
            for event in db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
            if "totp" in event.detail
        ]
    store.dispose()
    assert changes == ["enabled", "replaced", "disabled"]
