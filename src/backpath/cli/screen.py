"""``backpath screen``: population batch screening with the rules compiled to SQL."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from backpath import jsonio
from backpath.cli import app
from backpath.cli._io import err_console, fail


@app.command("screen")
def screen_command(
    source: Annotated[
        Path | None,
        typer.Argument(
            help="Intakes: JSON Lines (Intake JSON per line) or CSV (one column per finding code, plus row_id)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write row_id,urgency,fired_rules as CSV here (default: standard output).",
        ),
    ] = None,
    show_sql: Annotated[
        bool,
        typer.Option(
            "--sql",
            help="Print the generated SQL (portable to Spark SQL, Trino, PostgreSQL) and exit.",
        ),
    ] = False,
) -> None:
    """Screen a population: urgency and fired rules for every row, plus a summary.

    JSON Lines rows are validated like `backpath triage` (bad rows are reported by line and
    field, exit 2, and every valid row is still screened); narratives and questionnaires are
    read in Python first, then every rule runs as one SQL query in DuckDB.
    """
    from backpath.kb import load_knowledge
    from backpath.screening import screen_rows, triage_sql

    kb = load_knowledge()
    if show_sql:
        typer.echo(triage_sql(kb))
        return
    if source is None:
        fail("give an input file (JSON Lines or CSV), or --sql to print the query")
    assert source is not None
    if not source.exists():
        fail(f"{source}: no such file")
    errors: list[str] = []
    rows = list(_rows(source, errors))
    with Progress(
        TextColumn("screening"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rows"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("load", total=len(rows))
        results, summary = screen_rows(
            rows, kb, progress=lambda n: progress.update(task, completed=n), chunk=5000
        )
    handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    writer = csv.writer(handle)
    writer.writerow(["row_id", "urgency", "fired_rules"])
    for row_id, urgency, fired in results:
        writer.writerow([row_id, urgency, " ".join(fired)])
    if output:
        handle.close()
    table = Table(title=f"{summary.rows} rows screened")
    table.add_column("urgency")
    table.add_column("rows", justify="right")
    for urgency, count in summary.to_json()["by_urgency"].items():
        table.add_row(urgency, str(count))
    Console(stderr=True).print(table)
    for message in errors:
        err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    if errors:
        raise typer.Exit(2)


def _rows(source: Path, errors: list[str]) -> Iterator[dict[str, Any]]:
    """Answer rows from a JSON Lines or CSV file; problems are collected by line and field."""
    from backpath.errors import IntakeError
    from backpath.intake import Intake
    from backpath.kb import load_knowledge
    from backpath.triage.engine import prepare_answers

    kb = load_knowledge()
    if source.suffix.lower() == ".csv":
        with source.open(newline="", encoding="utf-8") as handle:
            for number, record in enumerate(csv.DictReader(handle), start=2):
                row_id = record.pop("row_id", None) or str(number)
                answers: dict[str, Any] = {}
                try:
                    for code, text in record.items():
                        answers[code] = _parse_cell(kb, code, text)
                    intake = Intake.from_json({"answers": answers})
                except IntakeError as exc:
                    errors.append(f"line {number}: field {exc.field!r}: {exc.message}")
                    continue
                yield {"row_id": row_id, **prepare_answers(intake, kb).answers}
        return
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = jsonio.loads(line)
                intake = Intake.from_json(data)
            except IntakeError as exc:
                errors.append(f"line {number}: field {exc.field!r}: {exc.message}")
                continue
            row_id = intake.intake_id or str(number)
            yield {"row_id": row_id, **prepare_answers(intake, kb).answers}


def _parse_cell(kb: Any, code: str, text: str | None) -> Any:
    """A CSV cell as a finding value: empty means unknown; true/false/yes/no; numbers."""
    from backpath.errors import IntakeError
    from backpath.vocabulary import FindingType

    finding = kb.findings.get(code)
    if finding is None:
        raise IntakeError(code, "unknown finding code (CSV column)")
    if text is None or not text.strip():
        return None
    value = text.strip().lower()
    if finding.type is FindingType.BOOLEAN:
        if value in ("1", "true", "yes", "y", "t"):
            return True
        if value in ("0", "false", "no", "n", "f"):
            return False
        raise IntakeError(code, f"must be true or false, not {text!r}")
    if finding.type is FindingType.INTEGER:
        try:
            return int(value)
        except ValueError:
            raise IntakeError(code, f"must be a whole number, not {text!r}") from None
    if finding.type is FindingType.MULTI_CHOICE:
        return [v for v in value.replace(";", " ").split() if v]
    return value
