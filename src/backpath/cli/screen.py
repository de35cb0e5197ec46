"""``backpath screen``: population screening with the rules compiled to SQL.

The command only translates: it hands the file to ``backpath.screening.Screening`` (DuckDB
embedded, or Spark with ``--engine spark``), shows progress and the summary on standard
error, writes the screened rows, and exits 2 when any row (or the file) was invalid - after
screening every valid row.
"""

from __future__ import annotations

import time
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
            "unsure) or JSON Lines (one Intake JSON per line).",
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
    show_sql: Annotated[
        bool,
        typer.Option(
            "--sql",
            help="Print the generated triage SQL (portable to Spark SQL, Trino) and exit.",
        ),
    ] = False,
) -> None:
    """Screen a population: urgency and fired rules for every row, plus a summary.

    Every value is validated in SQL (bad rows are reported by line and field, exit 2, and
    every valid row is still screened); rows with a narrative or instruments are read in
    Python first; then every rule runs as one SQL query.
    """
    from backpath.kb import load_knowledge
    from backpath.screening import Screening, ScreeningInputError, triage_sql

    kb = load_knowledge()
    if show_sql:
        typer.echo(triage_sql(kb))
        return
    if source is None:
        fail("give an input file (CSV, JSON Lines or Parquet), or --sql to print the query")
        return
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
            TextColumn("screening"),
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
        ) as screening,
    ):
        task = progress.add_task("screen", total=1.0, rows=0.0)
        try:
            run = screening.run(source)
            screening.write(output)
        except ScreeningInputError as exc:
            progress.stop()
            fail(f"{source}: {exc}")
            return
        if report is not None:
            from backpath.screening.report import write_report

            write_report(screening, run, report, kb, title=source.name)
    _print_summary(run.summary, run.seconds)
    for line, message in run.errors[:_SHOWN_ERRORS]:
        err_console.print(f"[bold red]error:[/] line {line}: {message}", highlight=False)
    hidden = run.summary.errors - min(len(run.errors), _SHOWN_ERRORS)
    if hidden > 0:
        err_console.print(f"[bold red]error:[/] ... and {hidden} more rows with errors")
    if run.summary.errors:
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
