"""Rows from a database table or view (SQLite, PostgreSQL) for screening.

DuckDB could attach SQLite and PostgreSQL itself, but only through its ``sqlite_scanner``
and ``postgres_scanner`` extensions, which it downloads at first use; backpath installs and
runs without a network beyond its package index, so they are not used. Instead the rows
are streamed through SQLAlchemy (a server-side cursor on PostgreSQL, ``yield_per``
batches) into a CSV file in the screening's private work folder, and the engine reads that
file like any CSV: the same validation SQL, the same triage query. Memory holds one batch
at a time, whatever the size of the table; no pandas, no Arrow.

The table has the columns a CSV has (``row_id``, one column per finding code, optional
``unsure``). Typed columns are written as the text a CSV would hold: a boolean as
``true``/``false`` (SQLite's 0/1 read the same), a number as digits, ``NULL`` as an empty
cell (*not asked*). Without a ``row_id`` column each row is named by its position in the
result (1, 2, ...), and errors are reported by that row number.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backpath.kb import KnowledgeBase
from backpath.screening.staging import KEY_COLUMN, ScreeningInputError, check_header

TABLE_BATCH = 10_000
"""Rows fetched from the database at a time."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _split_name(table: str) -> tuple[str | None, str]:
    """``schema.name`` or ``name``; refuses anything else (the name is never spliced into
    SQL: SQLAlchemy reflects and quotes it)."""
    parts = table.split(".")
    if len(parts) > 2 or not all(parts):
        raise ScreeningInputError("", f"--table: {table!r} must be NAME or SCHEMA.NAME")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def table_to_csv(
    kb: KnowledgeBase,
    database_url: str,
    table: str,
    path: Path,
    progress: Callable[[int], None] | None = None,
    batch: int = TABLE_BATCH,
) -> int:
    """Stream ``table`` from ``database_url`` into the CSV file ``path``; return the row
    count. The columns are checked first (``check_header``): an unknown or duplicated
    column stops the run before any row is read."""
    from sqlalchemy import MetaData, Table, create_engine, select
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError

    schema, name = _split_name(table)
    try:
        engine = create_engine(database_url)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ScreeningInputError("", f"--database-url: {exc}") from None
    try:
        try:
            reflected = Table(name, MetaData(), schema=schema, autoload_with=engine)
        except NoSuchTableError:
            raise ScreeningInputError(
                "", f"no table or view {table!r} in {engine.url.render_as_string()}"
            ) from None
        names = [str(column.name) for column in reflected.columns]
        check_header(kb, names)
        numbered = KEY_COLUMN not in names
        count = 0
        with (
            engine.connect() as connection,
            path.open("w", newline="", encoding="utf-8") as handle,
        ):
            writer = csv.writer(handle)
            writer.writerow([KEY_COLUMN, *names] if numbered else names)
            # A table has no order of its own: rows come out in row_id order when there is
            # one (as a file would list them), else in the order the database returns.
            query = select(reflected)
            if not numbered:
                query = query.order_by(reflected.c[KEY_COLUMN])
            result = connection.execution_options(stream_results=True, yield_per=batch).execute(
                query
            )
            for rows in result.partitions():
                if numbered:
                    writer.writerows(
                        [str(count + i + 1), *map(_cell, row)] for i, row in enumerate(rows)
                    )
                else:
                    writer.writerows([_cell(v) for v in row] for row in rows)
                count += len(rows)
                if progress is not None:
                    progress(count)
        return count
    except SQLAlchemyError as exc:
        raise ScreeningInputError(
            "", f"cannot read {table!r}: {exc.__class__.__name__}: {exc}"
        ) from None
    finally:
        engine.dispose()
