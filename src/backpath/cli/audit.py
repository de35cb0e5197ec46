"""``backpath audit verify``: check the audit log's hash chain from the first row to the head.

Exit status 0 with the row count and the newest hash when every row verifies; 1 with the
first row where the chain breaks (changed, removed or inserted behind the app's back);
2 when the database cannot be opened. Keep the printed head hash outside the database
(a ticket, the backup log): a later run that no longer reaches it shows that the whole
chain was rewritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backpath.cli import app

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify_command(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="SQLAlchemy URL (default: $BACKPATH_DATABASE_URL, else SQLite in DATA_DIR).",
        ),
    ] = None,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir", envvar="BACKPATH_DATA_DIR", help="Folder of the default SQLite database."
        ),
    ] = Path("data"),
) -> None:
    """Recompute the audit hash chain; name the first broken row (exit 1) or say OK (exit 0)."""
    from sqlalchemy.exc import SQLAlchemyError

    from backpath.cli._io import fail
    from backpath.store import default_database_url, open_store
    from backpath.store.audit import verify_chain

    url = database_url or default_database_url(data_dir)
    try:
        store = open_store(url)
    except (SQLAlchemyError, OSError) as exc:
        fail(f"cannot open the database: {exc}")
        return
    try:
        with store.session() as db:
            report = verify_chain(db)
    finally:
        store.dispose()
    if report.broken is None:
        typer.echo(f"OK: {report.rows} audit rows verified; chain head {report.head_hash}")
        return
    broken = report.broken
    where = f"audit row id {broken.row_id}" if broken.row_id is not None else "the chain head"
    seq = f" (seq {broken.seq})" if broken.seq is not None else ""
    typer.echo(
        f"BROKEN at {where}{seq}: {broken.reason}. "
        f"{report.rows} rows before it verify (last good hash {report.head_hash}).",
        err=True,
    )
    raise typer.Exit(1)
