"""``backpath screen``: population screening with the rules compiled to SQL.

The command only translates: it hands the file to ``backpath.screening.Screening`` (DuckDB
embedded, or Spark with ``--engine spark``), shows progress and the summary on standard
error, writes the screened rows, and exits 2 when any row (or the file) was invalid - after
screening every valid row.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from backpath.cli import app
from backpath.cli._io import err_console, fail

if TYPE_CHECKING:
    from backpath.screening import ScreeningSummary

_SHOWN_ERRORS = 20


class _RowsPerSecond(ProgressColumn):
    """Rows done and rows per second (estimated from the engine's progress while it runs)."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started

    def render(self, task: Task) -> Text:
        rows = float(task.fields.get("rows", 0.0))
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return Text(f"{rows:,.0f} rows  {rows / elapsed:,.0f} rows/s")


@app.command("screen")
def screen_command(
    source: Annotated[
        Path | None,
        typer.Argument(
            help="Intakes: CSV or Parquet (row_id, one column per finding code, optional "
            "unsure) or JSON Lines (one Intake JSON per line); or a FOLDER holding a FHIR "
            "Bulk Data export (Patient, Condition, Observation, MedicationStatement, "
            "MedicationRequest, QuestionnaireResponse .ndjson files), read into one row per "
            "patient.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write row_id, urgency, fired_rules, concerns, complete here (.csv, .jsonl "
            "or .parquet; default: CSV on standard output).",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option("--engine", help="duckdb (embedded, default) or spark (needs pyspark)."),
    ] = "duckdb",
    master: Annotated[
        str,
        typer.Option("--master", help="Spark master URL for --engine spark."),
    ] = "local[2]",
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write an HTML report with plots and the urgent rows."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Bulk export: the day ages and chart time windows are measured on "
            "(YYYY-MM-DD; default today), as the CDS Hooks service's context.date.",
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            help="Read the rows from this table or view (same columns as a CSV; "
            "schema.name allowed) instead of a file.",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="SQLAlchemy URL for --table: SQLite or PostgreSQL (default: "
            "$BACKPATH_DATABASE_URL, else SQLite in --data-dir).",
        ),
    ] = None,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            envvar="BACKPATH_DATA_DIR",
            help="Folder of the default SQLite database (for --table).",
        ),
    ] = Path("data"),
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Processes reading narratives (rows with the person's own words); each "
            "builds the reader once. 1 reads them in this process.",
        ),
    ] = 1,
    show_sql: Annotated[
        bool,
        typer.Option(
            "--sql",
            help="Print the generated triage SQL (portable to Spark SQL, Trino) and exit.",
        ),
    ] = False,
) -> None:
    """Screen a population: urgency and fired rules for every row, plus a summary.

    Input: a file (CSV, JSON Lines, Parquet), a table of a database (--table), or a folder
    of FHIR Bulk Data NDJSON read with the CDS Hooks service's terminology maps (--as-of).
    Every value is validated in SQL (bad rows are reported by line and field, exit 2, and
    every valid row is still screened); rows with a narrative or instruments are read in
    Python first (--workers processes); then every rule runs as one SQL query.
    """
    from backpath.kb import load_knowledge
    from backpath.screening import Screening, ScreeningInputError, triage_sql

    kb = load_knowledge()
    if show_sql:
        typer.echo(triage_sql(kb))
        return
    if source is None and table is None:
        fail(
            "give an input file (CSV, JSON Lines or Parquet), a Bulk export folder, "
            "--table NAME, or --sql to print the query"
        )
        return
    if source is not None and table is not None:
        fail("--table: give either an input file or --table, not both")
    day = None
    if as_of is not None:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of: not a date (YYYY-MM-DD): {as_of!r}")
    url = None
    if table is not None:
        from backpath.store import default_database_url

        url = database_url or default_database_url(data_dir)
    name = source.name if source is not None else f"table {table}"
    if engine not in ("duckdb", "spark"):
        fail(f"--engine: must be duckdb or spark, not {engine!r}")
    if engine == "spark":
        from backpath.screening.spark import spark_available

        problem = spark_available()
        if problem:
            fail(f"--engine spark: {problem}")
    started = time.perf_counter()
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            _RowsPerSecond(started),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as progress,
        Screening(
            kb,
            engine=engine,
            master=master,
            progress=lambda done, rows: progress.update(task, completed=done, rows=rows),
            workers=workers,
            stage=lambda text: progress.update(task, description=text),
        ) as screening,
    ):
        task = progress.add_task("screening", total=1.0, rows=0.0)
        try:
            if table is not None and url is not None:
                run = screening.run_table(url, table)
            else:
                assert source is not None
                run = screening.run(source, as_of=day)
            screening.write(output)
        except ScreeningInputError as exc:
            progress.stop()
            fail(f"{source if source is not None else table}: {exc}")
            return
        if report is not None:
            from backpath.screening.report import write_report

            write_report(screening, run, report, kb, title=name)
    if run.bulk is not None:
        for note in run.bulk.notes():
            err_console.print(note, highlight=False)
    _print_summary(run.summary, run.seconds)
    if run.python_rows:
        err_console.print(
            f"{run.python_rows:,} rows with a narrative or instruments read in Python "
            f"({workers} worker{'s' if workers > 1 else ''})",
            highlight=False,
        )
    if run.bulk is not None:
        for bad_line in run.bulk.problems[:_SHOWN_ERRORS]:
            err_console.print(f"[bold red]error:[/] {bad_line}", highlight=False)
        more = run.bulk.problem_count - min(len(run.bulk.problems), _SHOWN_ERRORS)
        if more > 0:
            err_console.print(f"[bold red]error:[/] ... and {more} more lines not used")
    for line, message in run.errors[:_SHOWN_ERRORS]:
        err_console.print(f"[bold red]error:[/] {run.where} {line}: {message}", highlight=False)
    hidden = run.summary.errors - min(len(run.errors), _SHOWN_ERRORS)
    if hidden > 0:
        err_console.print(f"[bold red]error:[/] ... and {hidden} more rows with errors")
    if run.failed:
        raise typer.Exit(2)


def _print_summary(summary: ScreeningSummary, seconds: float) -> None:
    """The summary tables on standard error: urgency, concern, age band."""
    data = summary.to_json()
    rate = (summary.rows + summary.errors) / seconds if seconds > 0 else 0.0
    table = Table(
        title=f"{summary.rows:,} rows screened in {seconds:.1f} s ({rate:,.0f} rows/s); "
        f"{summary.incomplete:,} incomplete, {summary.errors:,} with errors"
    )
    table.add_column("urgency")
    table.add_column("rows", justify="right")
    for urgency, count in data["by_urgency"].items():
        table.add_row(urgency, f"{count:,}")
    err_console.print(table)
    if data["by_concern"]:
        concerns = Table(title="rows by concern")
        concerns.add_column("concern")
        concerns.add_column("rows", justify="right")
        for concern, count in data["by_concern"].items():
            concerns.add_row(concern, f"{count:,}")
        err_console.print(concerns)
    if data["by_age_band"]:
        bands = Table(title="rows by age band and urgency")
        bands.add_column("age band")
        urgencies = list(data["by_urgency"])
        for urgency in urgencies:
            bands.add_column(urgency, justify="right")
        for band, counts in data["by_age_band"].items():
            bands.add_row(band, *(f"{counts[u]:,}" for u in urgencies))
        err_console.print(bands)
