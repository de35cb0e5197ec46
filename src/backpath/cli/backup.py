"""``backpath backup`` and ``backpath restore``: a consistent copy of the whole database.

SQLite: the backup is a SQLite file made with SQLite's online backup API (a consistent
snapshot while the app keeps running; never copy the ``.db`` file by hand, WAL mode keeps
recent commits in ``-wal``). PostgreSQL: the backup is a ``pg_dump`` custom-format archive
(``postgresql-client`` must be installed, of the server's major version or newer), restored
with ``pg_restore`` in one transaction.

Both commands check the audit hash chain and print its head: ``backup`` in the SQLite copy
it made (for PostgreSQL, in the live database right after the dump), ``restore`` in the
database it restored. A backup is written to a temporary name and
renamed when complete (file mode 0600: it holds health data), so a half-written file never
looks like a backup. ``restore`` refuses a database that already holds data unless
``--force``; stop ``backpath serve`` before restoring.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from backpath.cli import app

if TYPE_CHECKING:
    from sqlalchemy import URL

SQLITE_HEADER = b"SQLite format 3\x00"
PG_CUSTOM_HEADER = b"PGDMP"
# Tables whose rows mean "this database is in use": restore will not overwrite them blindly.
_DATA_TABLES = ("assessments", "audit_events", "clinicians")

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
ForceOption = Annotated[
    bool, typer.Option("--force", help="Overwrite: an existing file, or a database with data.")
]


class BackupError(Exception):
    """A backup or restore cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class ChainStatus:
    """The audit chain of a copied or restored database: rows, newest hash, first break."""

    rows: int
    head_hash: str
    problem: str | None


def _sqlite_path(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"cannot back up SQLite database {database!r}: give a file path")
    return Path(database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI (no password in it) and the environment carrying the password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _search_path_schema(url: URL) -> str | None:
    """The schema a ``?options=-csearch_path=NAME`` URL works in, or ``None``."""
    options = url.query.get("options")
    text = options if isinstance(options, str) else " ".join(options or ())
    for part in text.split():
        if part.startswith("-csearch_path="):
            return part.split("=", 1)[1].split(",")[0].strip('"')
    return None


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (install postgresql-client)")
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {' '.join(message[-3:])}")


def chain_status(url: str, *, upgrade: bool) -> ChainStatus:
    """Verify the audit chain of the database at ``url``."""
    from sqlalchemy import inspect

    from backpath.store import open_store
    from backpath.store.audit import verify_chain

    store = open_store(url, upgrade=upgrade)
    try:
        if "audit_chain_head" not in inspect(store.engine).get_table_names():
            return ChainStatus(0, "", "this database has no audit hash chain (older release)")
        with store.session() as db:
            report = verify_chain(db)
    finally:
        store.dispose()
    problem = None
    if report.broken is not None:
        row = report.broken.row_id
        problem = f"audit row id {row}: {report.broken.reason}" if row else report.broken.reason
    return ChainStatus(report.rows, report.head_hash, problem)


def _holds_data(url: str) -> bool:
    from sqlalchemy import inspect, text

    from backpath.store import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            for table in _DATA_TABLES:
                if (
                    table in tables
                    and connection.execute(
                        text(f"select 1 from {table} limit 1")  # fixed names, never user input
                    ).first()
                ):
                    return True
    finally:
        engine.dispose()
    return False


def backup_database(url: str, output: Path, *, force: bool = False) -> ChainStatus:
    """Write a consistent copy of the database at ``url`` to ``output``; verify its chain."""
    from sqlalchemy.engine import make_url

    if output.exists() and not force:
        raise BackupError(f"{output} exists (pass --force to replace it)")
    parsed = make_url(url)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if parsed.get_backend_name() == "sqlite":
            source_path = _sqlite_path(parsed)
            if not source_path.exists():
                raise BackupError(f"{source_path}: no such database")
            source = sqlite3.connect(f"file:{source_path.as_posix()}?mode=ro", uri=True)
            target = sqlite3.connect(partial)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            status = chain_status(f"sqlite:///{partial.as_posix()}", upgrade=False)
        elif parsed.get_backend_name() == "postgresql":
            conninfo, env = _libpq(parsed)
            command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
            schema = _search_path_schema(parsed)
            if schema:
                command.append(f"--schema={schema}")
            _run([*command, f"--file={partial}", f"--dbname={conninfo}"], env)
            status = chain_status(url, upgrade=False)
        else:
            raise BackupError(f"cannot back up a {parsed.get_backend_name()} database")
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return status


def restore_database(backup: Path, url: str, *, force: bool = False) -> ChainStatus:
    """Restore ``backup`` into the database at ``url``, migrate it, verify its chain."""
    from sqlalchemy.engine import make_url

    if not backup.is_file():
        raise BackupError(f"{backup}: no such backup file")
    with backup.open("rb") as handle:
        header = handle.read(16)
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and header != SQLITE_HEADER:
        raise BackupError(f"{backup} is not a SQLite backup (made by backpath backup)")
    if backend == "postgresql" and not header.startswith(PG_CUSTOM_HEADER):
        raise BackupError(f"{backup} is not a pg_dump custom-format archive")
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot restore into a {backend} database")
    is_new_file = backend == "sqlite" and not _sqlite_path(parsed).exists()
    if not is_new_file and not force and _holds_data(url):
        raise BackupError(
            "the target database already holds data (pass --force to replace it, "
            "after stopping backpath serve)"
        )
    if backend == "sqlite":
        from backpath.store import make_engine

        make_engine(url).dispose()  # creates the folder and a 0600 file
        source = sqlite3.connect(f"file:{backup.as_posix()}?mode=ro", uri=True)
        target = sqlite3.connect(_sqlite_path(parsed))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        conninfo, env = _libpq(parsed)
        command = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
        if force:
            command += ["--clean", "--if-exists"]
        _run([*command, "--single-transaction", f"--dbname={conninfo}", str(backup)], env)
    return chain_status(url, upgrade=True)


def _report(status: ChainStatus) -> None:
    if status.problem is None:
        typer.echo(f"Audit chain OK: {status.rows} rows; chain head {status.head_hash}")
        return
    typer.echo(f"AUDIT CHAIN BROKEN: {status.problem}", err=True)
    raise typer.Exit(1)


@app.command("backup")
def backup_command(
    output: Annotated[Path, typer.Argument(help="File to write (SQLite file or pg_dump archive).")],
    force: ForceOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Copy the whole database to OUTPUT (consistent while the app runs) and verify the copy."""
    from backpath.cli._io import fail
    from backpath.store import default_database_url

    try:
        status = backup_database(
            database_url or default_database_url(data_dir), output, force=force
        )
    except BackupError as exc:
        fail(str(exc))
        return
    typer.echo(f"Backup written to {output}")
    _report(status)


@app.command("restore")
def restore_command(
    backup: Annotated[Path, typer.Argument(help="A file made by backpath backup.")],
    force: ForceOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Restore BACKUP into the database (stop the app first) and verify the audit chain."""
    from backpath.cli._io import fail
    from backpath.store import default_database_url

    try:
        status = restore_database(
            backup, database_url or default_database_url(data_dir), force=force
        )
    except BackupError as exc:
        fail(str(exc))
        return
    typer.echo(f"Restored {backup}")
    _report(status)
