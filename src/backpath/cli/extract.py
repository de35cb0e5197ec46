"""``backpath extract``: show what the narrative reader finds in a piece of free text.

An adapter only: it reads the text, supplies today's date (the core never reads the
clock), calls ``backpath.nlp.read_narrative`` and prints the result - the narrative with
the evidence highlighted and a table of findings, or JSON with ``--json``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from backpath.cli import app
from backpath.cli._io import err_console, fail
from backpath.errors import NarrativeError

# How each certainty is shown: a red flag affirmed is loud, a denial is quiet.
_STYLES = {
    "affirmed": "bold black on yellow",
    "uncertain": "black on bright_yellow",
    "historical": "black on cyan",
    "negated": "strike dim",
    "hypothetical": "italic dim",
    "family": "italic dim",
}


def _finding_json(finding: Any) -> dict[str, Any]:
    return {
        "code": finding.code,
        "value": finding.value,
        "certainty": finding.certainty,
        "text": finding.text,
        "span": list(finding.span),
    }


def _highlighted(text: str, findings: list[Any]) -> Text:
    """The narrative with every evidence span styled by its certainty."""
    rich_text = Text(text)
    for finding in sorted(findings, key=lambda f: f.span[1] - f.span[0], reverse=True):
        start, end = finding.span
        rich_text.stylize(_STYLES.get(finding.certainty, "bold"), start, end)
    return rich_text


@app.command("extract")
def extract(
    text: Annotated[
        str, typer.Argument(help='The narrative, in quotes, or "-" to read standard input.')
    ],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the findings as JSON: [{code, value, certainty, text, span}]."
        ),
    ] = False,
    today: Annotated[
        str | None,
        typer.Option(help='Date that "since Monday" counts from (YYYY-MM-DD); default: today.'),
    ] = None,
) -> None:
    """Read a narrative and show the findings it mentions, with the words they rest on."""
    from backpath.nlp import read_narrative

    if text == "-":
        import sys

        text = sys.stdin.read()
    try:
        reference = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        fail(f"--today: {today!r} is not a date like 2024-05-15")
    try:
        reading = read_narrative(text, today=reference)
    except NarrativeError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([_finding_json(f) for f in reading.findings], ensure_ascii=False))
        for problem in reading.problems:
            err_console.print(f"[yellow]note:[/] {problem}", highlight=False)
        return
    console = Console()
    console.print(_highlighted(text, reading.findings))
    console.print()
    if not reading.understood:
        console.print(
            '[bold red]Not understood[/] - nothing here can be taken to mean "no red flags".',
            highlight=False,
        )
    table = Table(title="Findings", show_lines=False)
    for column in ("code", "value", "certainty", "evidence", "span"):
        table.add_column(column)
    for finding in reading.findings:
        table.add_row(
            finding.code,
            json.dumps(finding.value),
            finding.certainty,
            Text(finding.text, style=_STYLES.get(finding.certainty, "")),
            f"{finding.span[0]}-{finding.span[1]}",
        )
    if reading.findings:
        console.print(table)
    else:
        console.print("No findings.")
    for problem in reading.problems:
        console.print(f"[yellow]note:[/] {problem}", highlight=False)
