"""``backpath tokens``: API tokens for systems that call ``/api/v1`` (create, list, revoke).

A token is printed once, when it is made, and stored only as its SHA-256. Every create and
revoke writes an audit row (actor ``cli``); every use of a token is audited by the API as
``api-token:<name>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from backpath.cli import app

if TYPE_CHECKING:
    from backpath.store import Store

tokens_app = typer.Typer(
    help="API tokens for systems that call /api/v1 (shown once, stored hashed).",
    no_args_is_help=True,
)
app.add_typer(tokens_app, name="tokens")

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


def _open(database_url: str | None, data_dir: Path) -> Store:
    from backpath.store import default_database_url, open_store

    return open_store(database_url or default_database_url(data_dir))


def _when(moment: object) -> str:
    from datetime import datetime

    return moment.strftime("%Y-%m-%d %H:%M UTC") if isinstance(moment, datetime) else "-"


@tokens_app.command("create")
def create_command(
    name: Annotated[
        str, typer.Argument(help="Which system holds the token: lower-case letters, digits, . _ -")
    ],
    scopes: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="What the token may do; repeat for several: assessments:write (store "
            "intakes), assessments:read (read stored assessments).",
        ),
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Make a token and print it once (only its SHA-256 is kept)."""
    from backpath.cli._io import fail
    from backpath.store import api_tokens, audit
    from backpath.store.audit import Actor

    store = _open(database_url, data_dir)
    try:
        with store.session() as db:
            created = api_tokens.create_token(db, name, scopes, created_by="cli")
            audit.record(
                db,
                Actor("cli"),
                "create",
                "api_token",
                created.row.name,
                {"scopes": list(created.row.scopes)},
            )
            row_name, row_scopes = created.row.name, " ".join(created.row.scopes)
    except api_tokens.TokenError as exc:
        fail(f"{'--' if exc.field == 'scope' else ''}{exc.field}: {exc.message}")
        return
    finally:
        store.dispose()
    typer.echo(created.token)
    typer.echo(
        f"Token {row_name!r} with {row_scopes}. It is shown only this once: give it to the "
        "system now, which sends it as 'Authorization: Bearer <token>'.",
        err=True,
    )


@tokens_app.command("list")
def list_command(
    database_url: DatabaseOption = None, data_dir: DataDirOption = Path("data")
) -> None:
    """List tokens: name, scopes, state, created, last used (never the token)."""
    from backpath.store import api_tokens

    store = _open(database_url, data_dir)
    try:
        with store.session() as db:
            for row in api_tokens.list_tokens(db):
                state = f"revoked {_when(row.revoked_at)}" if row.revoked_at else "active"
                typer.echo(
                    "\t".join(
                        (
                            row.name,
                            ",".join(row.scopes),
                            state,
                            f"created {_when(row.created_at)}",
                            f"last used {_when(row.last_used_at)}",
                        )
                    )
                )
    finally:
        store.dispose()


@tokens_app.command("revoke")
def revoke_command(
    name: Annotated[str, typer.Argument(help="The token's name (see `backpath tokens list`).")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Revoke a token at once: the next request with it gets 401. Its name is not reused."""
    from backpath.cli._io import fail
    from backpath.store import api_tokens, audit
    from backpath.store.audit import Actor

    store = _open(database_url, data_dir)
    try:
        with store.session() as db:
            before = api_tokens.get_token(db, name)
            already = before is not None and before.revoked_at is not None
            row = api_tokens.revoke_token(db, name)
            if not already:
                audit.record(db, Actor("cli"), "revoke", "api_token", row.name)
            shown = row.name
    except api_tokens.TokenError as exc:
        fail(f"{exc.field}: {exc.message}")
        return
    finally:
        store.dispose()
    typer.echo(f"Token {shown!r} {'was already' if already else 'is now'} revoked.")
