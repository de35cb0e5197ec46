"""Screen a file of intakes with the compiled SQL: read, validate, decide, summarise, write.

The engine reads the file itself (DuckDB's ``read_csv``/``read_parquet``, or Spark's
readers), validates every value in SQL (``staging``), runs the compiled triage query
(``compile``) and writes the screened rows to a Parquet file in a private work folder,
streaming: memory does not grow with the number of rows. The summary is one SQL aggregate
over that file, and the output (CSV, JSON Lines or Parquet) is one ``COPY`` from it.

Only JSON Lines rows with a narrative or instruments go through Python (``narrative``):
they are fetched in batches, prepared by the same step as ``assess`` and joined back
before the triage query runs, so every row is decided by the same SQL.

Line numbers: for JSON Lines the file's line; for CSV the record number plus one (the
header), which is the line unless a quoted cell spans lines; for Parquet the row number.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from backpath.kb import KnowledgeBase
from backpath.screening.bulk import BulkReading, read_bulk_export
from backpath.screening.compile import screening_columns, triage_sql
from backpath.screening.narrative import prepared_rows_parallel, write_prepared
from backpath.screening.staging import (
    DUCKDB,
    ERROR_COLUMN,
    KEY_COLUMN,
    LINE_COLUMN,
    ScreeningInputError,
    check_header,
    jsonl_staging_sql,
    staging_sql,
)
from backpath.screening.summary import ScreeningSummary, summary_groups
from backpath.screening.workers import WorkerError
from backpath.vocabulary import FindingType

INPUT_FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
OUTPUT_FORMATS = INPUT_FORMATS
ENGINES = ("duckdb", "spark")
ERROR_SAMPLE = 200
"""Most error rows kept in memory for the terminal; every one is in the error count."""

Progress = Callable[[float, float], None]
"""Called with (fraction done, rows done so far - estimated while the query runs)."""

_INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
    "HUGEINT", "INT8", "INT16", "INT32", "INT64",
}  # fmt: skip
_BATCH = 512
_RESULTS_FORMAT = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def input_format(path: Path) -> str:
    """``csv``, ``jsonl`` or ``parquet`` from the file name; ``ScreeningInputError`` otherwise."""
    fmt = INPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ScreeningInputError(
            "", f"{path.name}: unknown input format; use .csv, .jsonl/.ndjson or .parquet"
        )
    return fmt


@dataclass
class ScreenRun:
    """What a run produced: the summary, the first error rows and the timing."""

    summary: ScreeningSummary
    errors: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0
    python_rows: int = 0
    where: str = "line"
    """What an error's number counts: ``line`` of the file, ``row`` of a database table,
    or ``patient`` of a Bulk export (its place in the Patient files)."""
    bulk: BulkReading | None = None
    """For a FHIR Bulk export: what it held and its bad lines."""

    @property
    def failed(self) -> bool:
        """True when any row, line or resource could not be used (the CLI exits 2)."""
        return bool(self.summary.errors or (self.bulk and self.bulk.problem_count))


class Screening:
    """One screening run: a DuckDB connection and a private work folder (``with`` block).

    ``engine="spark"`` runs validation and triage in Spark (``master``, e.g. ``local[2]``
    or a cluster URL) and uses DuckDB only to summarise and write the results.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        engine: str = "duckdb",
        master: str = "local[2]",
        progress: Progress | None = None,
        threads: int | None = None,
        memory_limit: str | None = None,
        workers: int = 1,
        stage: Callable[[str], None] | None = None,
    ) -> None:
        import duckdb

        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.kb = kb
        self.workers = workers
        self.stage = stage or (lambda _text: None)
        self.engine = engine
        self.master = master
        self.progress = progress
        self.folder = Path(tempfile.mkdtemp(prefix="backpath-screen-"))
        self.results = self.folder / "results.parquet"
        self.con = duckdb.connect()
        self.con.execute(f"SET temp_directory = {_literal(str(self.folder / 'spill'))}")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_literal(memory_limit)}")
        self.con.execute("SET enable_progress_bar = true")
        self.con.execute("SET enable_progress_bar_print = false")

    def __enter__(self) -> Screening:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and remove the work folder."""
        self.con.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- reading --------------------------------------------------------------------

    def _csv_header(self, source: Path) -> list[str]:
        row = self.con.execute(
            f"SELECT * FROM read_csv({_literal(str(source))}, header = false, "
            "all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
            "null_padding = true) LIMIT 1"
        ).fetchone()
        return [] if row is None else [("" if v is None else str(v)).strip() for v in row]

    def _columns(self, source: Path, fmt: str) -> list[tuple[str, bool]]:
        """The file's columns (checked: none unknown, none twice), each with ``True`` when
        the file stores it with the finding's own SQL type (Parquet)."""
        if fmt == "csv":
            names = self._csv_header(source)
            check_header(self.kb, names)
            return [(name, False) for name in names]
        described = self.con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_literal(str(source))})"
        ).fetchall()
        check_header(self.kb, [str(row[0]) for row in described])
        columns: list[tuple[str, bool]] = []
        for name, sql_type in ((str(r[0]), str(r[1]).upper()) for r in described):
            finding = self.kb.findings.get(name)
            typed = finding is not None and (
                (finding.type is FindingType.BOOLEAN and sql_type == "BOOLEAN")
                or (finding.type is FindingType.INTEGER and sql_type in _INTEGER_TYPES)
            )
            columns.append((name, typed))
        return columns

    def _stage_table(
        self,
        source: Path,
        fmt: str,
        columns: list[tuple[str, bool]],
        typed_booleans: bool = False,
    ) -> str:
        """Create the ``source_rows`` view over the file; return the staging SQL.

        ``typed_booleans`` (CSV): the reader parses yes/no columns itself (``BOOLEAN``,
        strict: any cell it cannot parse, or any malformed line, fails the whole read, so
        the caller runs the text read instead). Every spelling DuckDB's CSV reader takes
        for a boolean (true/false, t/f, yes/no, y/n, 1/0 in any case, or empty) is one the
        text rules take with the same value and no error, so the rows come out identical
        (``tests/screening/test_csv_fast_path.py``)."""
        if fmt == "csv":
            if typed_booleans:
                columns = [(name, self._is_boolean(name)) for name, _ in columns]
            spec = ", ".join(
                f"{_literal(name)}: {_literal('BOOLEAN' if typed else 'VARCHAR')}"
                for name, typed in columns
            )
            rejects = "" if typed_booleans else ", store_rejects = true"
            self.con.execute(
                # No line number here: a window would make the whole query single-threaded.
                # Rows stay in file order, so the line is the result's position (``run``).
                "CREATE OR REPLACE VIEW source_rows AS SELECT CAST(NULL AS BIGINT) AS __line, "
                f"* FROM read_csv({_literal(str(source))}, header = true, delim = ',', "
                f"quote = '\"', escape = '\"', columns = {{{spec}}}, auto_detect = false"
                f"{rejects})"
            )
        else:
            self.con.execute(
                "CREATE VIEW source_rows AS SELECT file_row_number + 1 AS __line, "
                f"* EXCLUDE (file_row_number) FROM read_parquet({_literal(str(source))}, "
                "file_row_number = true)"
            )
        return staging_sql(self.kb, columns, DUCKDB)

    def _is_boolean(self, name: str) -> bool:
        finding = self.kb.findings.get(name)
        return finding is not None and finding.type is FindingType.BOOLEAN

    def _stage_jsonl(self, source: Path, row_errors: Path | None = None) -> tuple[str, int]:
        """Stage a JSON Lines file; ``row_errors`` (JSON Lines of ``__line``, ``__error``)
        marks rows found invalid before staging (a Bulk export's unreadable intakes)."""
        self.con.execute(
            "CREATE VIEW source_lines AS SELECT row_number() OVER () AS __line, line FROM "
            f"read_csv({_literal(str(source))}, columns = {{'line': 'VARCHAR'}}, header = false,"
            " delim = '\x01', quote = '', escape = '', auto_detect = false, "
            "strict_mode = false, null_padding = true)"
        )
        self.con.execute(f"CREATE TABLE staged AS {jsonl_staging_sql(self.kb)}")
        if row_errors is not None and row_errors.stat().st_size:
            self.con.execute(
                f"UPDATE staged SET {ERROR_COLUMN} = e.__error, __python = FALSE FROM "
                f"read_json({_literal(str(row_errors))}, format = 'newline_delimited', "
                "columns = {'__line': 'BIGINT', '__error': 'VARCHAR'}) AS e "
                f"WHERE staged.{LINE_COLUMN} = e.__line"
            )
        # Rows with a narrative or instruments: prepared in Python, then joined back.
        prepared = self.folder / "prepared.jsonl"
        waiting = self.con.execute(
            "SELECT count(*) FROM staged WHERE __python AND __error IS NULL"
        ).fetchone()
        total = int(waiting[0]) if waiting else 0
        if total:
            self.stage(
                f"reading {total:,} narratives ({self.workers} "
                f"worker{'s' if self.workers > 1 else ''})"
            )
        cursor = self.con.execute(
            "SELECT __line, line FROM staged WHERE __python AND __error IS NULL ORDER BY __line"
        )

        def batches() -> Iterator[tuple[int, str]]:
            while True:
                chunk = cursor.fetchmany(_BATCH)
                if not chunk:
                    return
                for number, line in chunk:
                    yield int(number), str(line)

        try:
            count = write_prepared(
                prepared_rows_parallel(batches(), self.kb, self.workers), str(prepared)
            )
        except WorkerError as exc:
            raise ScreeningInputError("", str(exc)) from None
        self.stage("screening")
        columns = [
            (LINE_COLUMN, "BIGINT"),
            (KEY_COLUMN, "VARCHAR"),
            *screening_columns(self.kb),
            ("unsure_codes", "VARCHAR"),
            ("narrative_unclear", "BOOLEAN"),
            ("danger_words", "BOOLEAN"),
            (ERROR_COLUMN, "VARCHAR"),
        ]
        names = ", ".join(name for name, _ in columns)
        if count:
            spec = ", ".join(f"{_literal(n)}: {_literal(t)}" for n, t in columns)
            python_rows = (
                f"SELECT {names} FROM read_json({_literal(str(prepared))}, "
                f"format = 'newline_delimited', columns = {{{spec}}})"
            )
            sql = (
                f"SELECT {names} FROM staged WHERE NOT __python OR __error IS NOT NULL "
                f"UNION ALL {python_rows}"
            )
        else:
            sql = f"SELECT {names} FROM staged"
        return sql, count

    def _estimate_rows(self, source: Path, fmt: str) -> float:
        if fmt == "parquet":
            row = self.con.execute(
                f"SELECT count(*) FROM read_parquet({_literal(str(source))})"
            ).fetchone()
            return float(row[0]) if row else 0.0
        size = source.stat().st_size
        with source.open("rb") as handle:
            head = handle.read(1 << 20)
        lines = max(head.count(b"\n"), 1)
        return size / (len(head) / lines) if head else 0.0

    # --- running --------------------------------------------------------------------

    def _execute(self, sql: str, estimate: float) -> None:
        """Run one statement; report progress from DuckDB's own counter meanwhile."""
        if self.progress is None:
            self.con.execute(sql)
            return
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self.con.execute(sql)
            except BaseException as exc:
                failure.append(exc)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.25)
            done = self.con.query_progress()
            if done >= 0:
                self.progress(done / 100.0, estimate * done / 100.0)
        if failure:
            raise failure[0]

    def _read_bulk(self, folder: Path, as_of: date | None) -> tuple[BulkReading, Path, Path]:
        """A Bulk export read into one Intake JSON line per patient (``bulk``)."""
        if self.engine == "spark":
            raise ScreeningInputError(
                "", "a FHIR Bulk export is read with DuckDB; use --engine duckdb"
            )
        out = self.folder / "bulk-patients.jsonl"
        errors = self.folder / "bulk-errors.jsonl"
        day = as_of or datetime.now(UTC).date()
        self.stage(
            f"reading {folder.name} ({self.workers} worker{'s' if self.workers > 1 else ''})"
        )
        try:
            reading = read_bulk_export(
                self.con,
                self.kb,
                folder,
                day,
                out,
                errors,
                workers=self.workers,
                progress=lambda n: self.stage(f"reading {folder.name}: {n:,} patients"),
            )
        except WorkerError as exc:
            raise ScreeningInputError("", str(exc)) from None
        self.stage("screening")
        if reading.patients == 0:
            shown = "; ".join(str(p) for p in reading.problems[:3])
            raise ScreeningInputError(
                "",
                f"{folder.name}: no Patient resources with an id, so nobody to screen"
                + (f" ({reading.problem_count} bad lines: {shown})" if shown else ""),
            )
        return reading, out, errors

    def _triage(self, staged: str, python_rows: int, estimate: float) -> None:
        """Run the compiled triage query over ``staged`` into the results file."""
        self.con.execute(f"CREATE OR REPLACE VIEW screen_input AS {staged}")
        query = triage_sql(
            self.kb,
            table="screen_input",
            passthrough=[LINE_COLUMN, "age", ERROR_COLUMN],
            order_by_key=False,
        )
        order = f" ORDER BY {LINE_COLUMN}" if python_rows else ""
        self._execute(
            f"COPY (SELECT * FROM ({query}) AS screened{order}) "
            f"TO {_literal(str(self.results))} {_RESULTS_FORMAT}",
            estimate,
        )

    def run(self, source: Path, as_of: date | None = None) -> ScreenRun:
        """Validate and screen ``source`` (a file, or a folder holding a FHIR Bulk export,
        read on ``as_of``: default today); keep the screened rows for ``write``/``report``."""
        started = time.perf_counter()
        bulk: BulkReading | None = None
        row_errors: Path | None = None
        if source.is_dir():
            bulk, source, row_errors = self._read_bulk(source, as_of)
        fmt = input_format(source)
        if not source.exists():
            raise ScreeningInputError("", f"{source}: no such file")
        if (
            source.stat().st_size == 0
            or (
                fmt != "parquet"
                and source.stat().st_size <= 4096  # read the head only: never the whole file
                and not source.read_bytes()[:4096].lstrip(b"\xef\xbb\xbf").strip()
            )
        ):
            raise ScreeningInputError("", f"{source.name}: the file is empty")
        estimate = self._estimate_rows(source, fmt)
        python_rows = 0
        if self.engine == "spark":
            from backpath.screening.spark import spark_screen

            if fmt == "jsonl":
                raise ScreeningInputError(
                    "", "the Spark engine reads CSV and Parquet; use --engine duckdb for JSON Lines"
                )
            spark_dir = self.folder / "spark"
            spark_screen(self.kb, source, fmt, self._columns(source, fmt), spark_dir, self.master)
            self._execute(
                f"COPY (SELECT * FROM read_parquet({_literal(str(spark_dir / '*.parquet'))}) "
                f"ORDER BY {LINE_COLUMN}) TO {_literal(str(self.results))} {_RESULTS_FORMAT}",
                estimate,
            )
        else:
            columns = self._columns(source, fmt) if fmt in ("csv", "parquet") else []
            fast = fmt == "csv" and any(self._is_boolean(name) for name, _ in columns)
            if fast:
                # First try: the reader parses yes/no cells itself (most of a CSV's cells,
                # far cheaper than text rules in SQL). A cell it cannot take - "unsure", a
                # typo - or a malformed line stops it; then the text read below decides
                # every row and reports every error, exactly as without this attempt.
                import duckdb

                try:
                    self._triage(self._stage_table(source, fmt, columns, True), 0, estimate)
                except duckdb.Error:
                    self.stage("screening (cells beyond yes/no: reading them as text)")
                else:
                    columns = []
            if fmt in ("csv", "parquet"):
                if columns:
                    self._triage(self._stage_table(source, fmt, columns), 0, estimate)
            else:
                staged, python_rows = self._stage_jsonl(source, row_errors)
                self._triage(staged, python_rows, estimate)
        # A CSV row's line is its position among the results plus one (the header).
        self.con.execute(
            "CREATE VIEW results AS SELECT * EXCLUDE (file_row_number) REPLACE ("
            f"COALESCE({LINE_COLUMN}, file_row_number + 2) AS {LINE_COLUMN}, "
            f"COALESCE({KEY_COLUMN}, CAST(file_row_number + 2 AS VARCHAR)) AS {KEY_COLUMN}) "
            f"FROM read_parquet({_literal(str(self.results))}, "
            "file_row_number = true)"
        )
        errors = self._errors(label_rows=bulk is not None)
        groups, names = summary_groups(self.con, self.kb, "results")
        count = self.con.execute(
            f"SELECT count(*) FROM results WHERE {ERROR_COLUMN} IS NOT NULL"
        ).fetchone()
        rejected = len([e for e in errors if e[1].startswith("CSV")])
        summary = ScreeningSummary.from_groups(
            groups, names, errors=int(count[0] if count else 0) + rejected
        )
        if self.progress is not None:
            self.progress(1.0, float(summary.rows + summary.errors))
        return ScreenRun(
            summary,
            errors,
            time.perf_counter() - started,
            python_rows,
            where="patient" if bulk is not None else "line",
            bulk=bulk,
        )

    def run_table(self, database_url: str, table: str) -> ScreenRun:
        """Screen the rows of a table or view of a SQLite or PostgreSQL database, streamed
        through SQLAlchemy (``screening.table``); errors are named by row number."""
        from backpath.screening.table import table_to_csv

        if self.engine == "spark":
            raise ScreeningInputError("", "--table is read with DuckDB; use --engine duckdb")
        staged = self.folder / "table.csv"
        self.stage(f"reading table {table}")
        rows = table_to_csv(
            self.kb,
            database_url,
            table,
            staged,
            progress=lambda n: self.stage(f"reading table {table}: {n:,} rows"),
        )
        self.stage("screening")
        if rows == 0:
            raise ScreeningInputError("", f"table {table!r} has no rows")
        run = self.run(staged)
        # The CSV has a header line: a table's row N is the file's line N + 1.
        run.errors = [(line - 1, message.removeprefix("CSV: ")) for line, message in run.errors]
        run.where = "row"
        return run

    def _errors(self, label_rows: bool = False) -> list[tuple[int, str]]:
        """The first error rows; ``label_rows`` names each by its row id (a Patient)."""
        rows = self.con.execute(
            f"SELECT {LINE_COLUMN}, {ERROR_COLUMN}, {KEY_COLUMN} FROM results "
            f"WHERE {ERROR_COLUMN} IS NOT NULL ORDER BY {LINE_COLUMN} LIMIT {ERROR_SAMPLE}"
        ).fetchall()
        errors = [
            (int(line), f"Patient/{key}: {message}" if label_rows else str(message))
            for line, message, key in rows
        ]
        import duckdb

        try:
            rejects = self.con.execute(
                "SELECT line, error_message FROM reject_errors ORDER BY line"
            ).fetchall()
        except duckdb.CatalogException:  # the reject table exists only after a CSV scan
            rejects = []
        for line, message in rejects:
            first = str(message).splitlines()[0] if message else "unreadable row"
            errors.append((int(line), f"CSV: {first}"))
        errors.sort()
        return errors

    # --- writing --------------------------------------------------------------------

    def output_query(self, fmt: str) -> str:
        """The screened rows as written: lists in JSON Lines/Parquet, words in CSV."""
        where = f"WHERE {ERROR_COLUMN} IS NULL"
        if fmt == "csv":
            return f"SELECT row_id, urgency, fired_rules, concerns, complete FROM results {where}"

        def words(column: str) -> str:
            return (
                f"CASE WHEN {column} = '' THEN CAST([] AS VARCHAR[]) "
                f"ELSE string_split({column}, ' ') END AS {column}"
            )

        return (
            f"SELECT row_id, urgency, {words('fired_rules')}, {words('concerns')}, complete "
            f"FROM results {where}"
        )

    def write(self, output: Path | None, stream: TextIO | None = None) -> None:
        """Write the screened rows to ``output`` (format from its suffix) or, as CSV, to
        ``stream`` (standard output by default)."""
        if output is None:
            handle = stream or sys.stdout
            writer = csv.writer(handle, lineterminator="\n")
            cursor = self.con.execute(self.output_query("csv"))
            writer.writerow([d[0] for d in cursor.description or ()])
            while True:
                chunk = cursor.fetchmany(10_000)
                if not chunk:
                    break
                writer.writerows(
                    [(r[0], r[1], r[2], r[3], "true" if r[4] else "false") for r in chunk]
                )
            return
        fmt = OUTPUT_FORMATS.get(output.suffix.lower())
        if fmt is None:
            raise ScreeningInputError(
                "", f"{output.name}: unknown output format; use .csv, .jsonl or .parquet"
            )
        options = {
            "csv": "(FORMAT csv, HEADER true)",
            "jsonl": "(FORMAT json)",
            "parquet": "(FORMAT parquet, COMPRESSION zstd)",
        }[fmt]
        partial = output.with_name(output.name + ".partial")
        self.con.execute(f"COPY ({self.output_query(fmt)}) TO {_literal(str(partial))} {options}")
        os.replace(partial, output)

    def rows(self, where: str = "TRUE", limit: int | None = None) -> list[dict[str, Any]]:
        """Screened rows as dicts (for reports and tests), in input order."""
        sql = (
            "SELECT __line, row_id, age, urgency, concerns, fired_rules, complete FROM results "
            f"WHERE {ERROR_COLUMN} IS NULL AND ({where}) ORDER BY __line"
            + (f" LIMIT {int(limit)}" if limit is not None else "")
        )
        cursor = self.con.execute(sql)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
