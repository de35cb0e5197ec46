"""``backpath triage``: JSON (or JSON Lines) intakes in, Result JSON out."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from backpath import jsonio
from backpath.cli import app
from backpath.cli._io import err_console, fail, read_text
from backpath.errors import IntakeError, NarrativeError
from backpath.intake import Intake
from backpath.triage import Assessment, assess


def _parse_documents(text: str) -> tuple[str, list[tuple[int, Any]]]:
    """Return the input mode and the decoded documents with their line numbers.

    A single JSON object (possibly pretty-printed) or a JSON array is ``json`` mode; one
    object per line is ``jsonl`` mode. Lines that cannot be used (not JSON, or refused by
    ``backpath.jsonio``) are returned as ``IntakeError`` so that every other line is still
    processed.
    """
    stripped = text.strip()
    if not stripped:
        fail("no input: give a JSON object, a JSON array or JSON Lines")
    try:
        whole = jsonio.loads(stripped)
    except jsonio.JSONSyntaxError:
        whole = None
    except IntakeError as exc:
        # Valid JSON that may not be used (duplicate keys, a huge integer, deep nesting,
        # a NUL byte or a lone surrogate): the field is named, nothing is guessed.
        return "json", [(1, exc)]
    else:
        if isinstance(whole, list):
            return "array", [(i + 1, item) for i, item in enumerate(whole)]
        return "json", [(1, whole)]
    documents: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append((number, jsonio.loads(line)))
        except IntakeError as exc:
            documents.append((number, exc))
    return "jsonl", documents


def _one(document: Any, language: str | None) -> Assessment:
    if isinstance(document, jsonio.JSONSyntaxError):
        raise IntakeError("(json)", document.message)
    if isinstance(document, IntakeError):
        raise document
    if language and isinstance(document, dict):
        document = {**document, "language": language}
    return assess(Intake.from_json(document))


@app.command("triage")
def triage_command(
    source: Annotated[
        str, typer.Argument(help="Intake file (JSON, JSON array or JSON Lines); - for stdin.")
    ] = "-",
    explain: Annotated[
        bool, typer.Option("--explain", help="Print a readable explanation instead of JSON.")
    ] = False,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language of patient texts (en, es).")
    ] = None,
) -> None:
    """Triage intakes: how urgent, why (rule, evidence, source), what to do.

    Reads a JSON object and prints one Result JSON; reads JSON Lines and prints one result
    per line. Exit code 2 when any input is invalid: the message names the line and field,
    and every valid line is still processed.
    """
    mode, documents = _parse_documents(read_text(source))
    console = Console()
    errors: list[str] = []
    results: list[Any] = []
    for number, document in documents:
        try:
            assessment = _one(document, lang)
        except (IntakeError, NarrativeError) as exc:
            where = (
                f"line {number}"
                if mode == "jsonl"
                else (f"item {number}" if mode == "array" else "input")
            )
            field = getattr(exc, "field", "narrative")
            message = getattr(exc, "message", str(exc))
            errors.append(f"{where}: field {field!r}: {message}")
            results.append({"line": number, "error": {"field": field, "message": message}})
            continue
        if explain:
            from backpath.cli.explain import print_assessment

            print_assessment(console, assessment)
            continue
        results.append(assessment.to_json())
    if not explain:
        if mode == "jsonl":
            for item in results:
                typer.echo(json.dumps(item, ensure_ascii=False))
        elif mode == "array":
            typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
        elif results and "error" not in results[0]:
            typer.echo(json.dumps(results[0], indent=2, ensure_ascii=False))
    for message in errors:
        err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    if errors:
        raise typer.Exit(2)
