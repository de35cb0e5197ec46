"""``backpath users``: clinician accounts for the web app (argon2id password hashes)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from backpath.cli import app

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from backpath.store import Store
    from backpath.store.accounts import TotpKeyring
    from backpath.store.models import Clinician

users_app = typer.Typer(help="Clinician logins for the web app.", no_args_is_help=True)
app.add_typer(users_app, name="users")

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: $BACKPATH_DATABASE_URL, else SQLite in DATA_DIR).",
    ),
]
DataDirOption = Annotated[
    Path,
    typer.Option(
        "--data-dir", envvar="BACKPATH_DATA_DIR", help="Folder of the default SQLite database."
    ),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first: str = typer.prompt("Password (at least 12 characters)", hide_input=True)
    second: str = typer.prompt("Repeat the password", hide_input=True)
    if first != second:
        from backpath.cli._io import fail

        fail("the passwords do not match")
    return first


def _open(database_url: str | None, data_dir: Path) -> Store:
    from backpath.store import default_database_url, open_store

    return open_store(database_url or default_database_url(data_dir))


@contextmanager
def _clinician(
    username: str, database_url: str | None, data_dir: Path
) -> Iterator[tuple[Session, Clinician]]:
    """A session on the store and the clinician ``username`` in it (exit 2 naming the login
    when there is none); the store is closed afterwards whatever happens."""
    from backpath.cli._io import fail
    from backpath.store import accounts

    store = _open(database_url, data_dir)
    try:
        with store.session() as db:
            clinician = accounts.get_clinician(db, username)
            if clinician is None:
                raise fail(f"no clinician {username!r}")
            yield db, clinician
    finally:
        store.dispose()


@users_app.command("create")
def create_command(
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, . _ -")],
    display_name: Annotated[
        str | None, typer.Option("--name", help="Name shown in the app and the audit log.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Create a clinician login (asks for the password twice)."""
    from backpath.cli._io import fail
    from backpath.store import accounts, audit
    from backpath.store.audit import Actor

    password = _password(password_stdin)
    store = _open(database_url, data_dir)
    try:
        with store.session() as db:
            clinician = accounts.create_clinician(db, username, password, display_name)
            audit.record(db, Actor("cli"), "create", "clinician", clinician.username)
    except accounts.AccountError as exc:
        fail(f"{exc.field}: {exc.message}")
    finally:
        store.dispose()
    typer.echo(f"Created clinician {username.strip().lower()!r}. Sign in at /clinic/login.")


@users_app.command("list")
def list_command(
    database_url: DatabaseOption = None, data_dir: DataDirOption = Path("data")
) -> None:
    """List clinician logins (username, name, active or disabled, and ``totp`` when the
    login asks for an authenticator code after the password)."""
    from backpath.store import accounts

    store = _open(database_url, data_dir)
    try:
        with store.session() as db:
            for clinician in accounts.list_clinicians(db):
                state = "active" if clinician.active else "disabled"
                second = "\ttotp" if accounts.totp_enabled(db, clinician) else ""
                typer.echo(f"{clinician.username}\t{clinician.display_name}\t{state}{second}")
    finally:
        store.dispose()


@users_app.command("set-password")
def set_password_command(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Set a new password (signs the clinician out everywhere)."""
    from backpath.cli._io import fail
    from backpath.store import accounts, audit
    from backpath.store.audit import Actor

    password = _password(password_stdin)
    try:
        with _clinician(username, database_url, data_dir) as (db, clinician):
            accounts.set_password(db, clinician, password)
            audit.record(
                db, Actor("cli"), "update", "clinician", clinician.username, {"password": True}
            )
    except accounts.AccountError as exc:
        fail(f"{exc.field}: {exc.message}")
    typer.echo(f"Password changed for {username!r}.")


@users_app.command("disable")
def disable_command(
    username: Annotated[str, typer.Argument(help="Login name.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the login again.")] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Disable a login (and sign it out everywhere), or enable it again with --enable."""
    from backpath.store import accounts, audit
    from backpath.store.audit import Actor

    with _clinician(username, database_url, data_dir) as (db, clinician):
        accounts.set_active(db, clinician, enable)
        audit.record(
            db, Actor("cli"), "update", "clinician", clinician.username, {"active": enable}
        )
    typer.echo(f"{username!r} is now {'enabled' if enable else 'disabled'}.")


totp_app = typer.Typer(
    help="TOTP second factor (authenticator-app codes) for clinician sign-in.",
    no_args_is_help=True,
)
users_app.add_typer(totp_app, name="totp")


def _totp_keyring(data_dir: Path) -> TotpKeyring:
    """The keys of the TOTP secrets: the identity key (``BACKPATH_IDENTITY_KEY`` or
    ``DATA_DIR/identity_key``) and the old ones (``BACKPATH_IDENTITY_KEYS_OLD``)."""
    from backpath.cli._io import fail
    from backpath.store import accounts
    from backpath.store.identity import IdentityKeyError, load_identity_key, old_identity_keys

    try:
        return accounts.TotpKeyring(load_identity_key(data_dir), old_identity_keys())
    except IdentityKeyError as exc:
        raise fail(str(exc)) from exc


@totp_app.command("enable")
def totp_enable_command(
    username: Annotated[str, typer.Argument(help="Login name.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Make a new secret when TOTP is already on.")
    ] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Turn on the code after the password; prints the secret and its otpauth:// URI once.

    Signs the clinician out everywhere (those sessions were opened without a code).
    """
    from backpath.cli._io import fail
    from backpath.store import accounts, audit
    from backpath.store.audit import Actor

    keyring = _totp_keyring(data_dir)
    with _clinician(username, database_url, data_dir) as (db, clinician):
        if accounts.totp_enabled(db, clinician) and not replace:
            raise fail(
                f"{clinician.username!r} already has TOTP: --replace makes a new secret "
                "(the old one stops working)"
            )
        setup = accounts.enable_totp(db, clinician, keyring)
        audit.record(
            db,
            Actor("cli"),
            "update",
            "clinician",
            clinician.username,
            {"totp": "replaced" if replace else "enabled"},
        )
    typer.echo(
        f"TOTP is on for {username.strip().lower()!r}: add it to an authenticator app now "
        "(scan the URI as a QR code, or type the secret). It is not shown again."
    )
    typer.echo(f"secret: {setup.secret}")
    typer.echo(f"uri: {setup.uri}")


@totp_app.command("disable")
def totp_disable_command(
    username: Annotated[str, typer.Argument(help="Login name.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Turn the code off: the clinician signs in with the password alone again."""
    from backpath.store import accounts, audit
    from backpath.store.audit import Actor

    with _clinician(username, database_url, data_dir) as (db, clinician):
        removed = accounts.disable_totp(db, clinician)
        if removed:
            audit.record(
                db, Actor("cli"), "update", "clinician", clinician.username, {"totp": "disabled"}
            )
    if removed:
        typer.echo(f"TOTP is off for {username.strip().lower()!r}.")
    else:
        typer.echo(f"{username.strip().lower()!r} had no TOTP; nothing changed.")


@totp_app.command("reencrypt")
def totp_reencrypt_command(
    database_url: DatabaseOption = None, data_dir: DataDirOption = Path("data")
) -> None:
    """After an identity-key rotation: encrypt every TOTP secret under the new key (run it
    while the old key is still in BACKPATH_IDENTITY_KEYS_OLD)."""
    from backpath.cli._io import fail
    from backpath.store import accounts

    keyring = _totp_keyring(data_dir)
    store = _open(database_url, data_dir)
    try:
        with store.session() as db:
            count = accounts.reencrypt_totp(db, keyring)
    except accounts.TotpSecretError as exc:
        fail(str(exc), code=1)
        return
    finally:
        store.dispose()
    typer.echo(f"Re-encrypted {count} TOTP secret(s).")
