"""``backpath score INSTRUMENT [FILE|-]``: score a validated instrument from the terminal.

Answers are the item scores in item order, separated by spaces, commas or new lines, with
``-``, ``null`` or ``x`` for an unanswered item; or a JSON list in item order; or a JSON
object keyed by item id. The command only translates: every rule (ODI percentage, STarT
Back strata, missing data, change over time) is in ``backpath.instruments``. Invalid input
exits with code 2 and a message naming the instrument and the item, never a traceback.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from backpath import jsonio
from backpath.cli import app
from backpath.errors import IntakeError, KnowledgeError, ScoringError
from backpath.instruments import (
    Change,
    Instrument,
    Score,
    compare,
    get_instrument,
    score,
)

_UNANSWERED = frozenset({"-", "null", "x"})
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")


def parse_answers(text: str, instrument: Instrument) -> list[int | None] | Any:
    """Turn typed or JSON answers into what ``instruments.score`` takes.

    JSON (a list or an object) is passed through for the scorer to check; plain text is
    split on spaces and commas. Raises ``ScoringError`` naming the item for a token that is
    neither a whole number nor an unanswered marker.
    """
    stripped = text.strip()
    if not stripped:
        raise ScoringError(instrument.id, None, "no answers given")
    if stripped[0] in "[{":
        try:
            return jsonio.loads(stripped)
        except jsonio.JSONSyntaxError as exc:
            raise ScoringError(
                instrument.id, None, f"answers are {exc.message.replace(': ', ' (', 1)})"
            ) from None
        except IntakeError as exc:
            raise ScoringError(instrument.id, exc.field, exc.message) from None
    answers: list[int | None] = []
    for position, token in enumerate(re.split(r"[\s,]+", stripped), start=1):
        if token.lower() in _UNANSWERED:
            answers.append(None)
        elif _WHOLE_NUMBER.fullmatch(token):
            answers.append(int(token))
        else:
            item = instrument.items[position - 1].id if position <= len(instrument.items) else None
            raise ScoringError(
                instrument.id,
                item,
                f"answer {position} is {token!r}: give a whole number, or -, null or x when "
                "the item was not answered",
            )
    return answers


@app.command("score")
def score_command(
    instrument: Annotated[
        str,
        typer.Argument(
            help="Instrument id: nprs_back, nprs_leg, startback, odi, rmdq, peg or sbi."
        ),
    ],
    source: Annotated[
        str, typer.Argument(metavar="[FILE|-]", help="Answers file; - (default) for stdin.")
    ] = "-",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a summary.")
    ] = False,
    texts: Annotated[
        Path | None,
        typer.Option(
            "--texts",
            dir_okay=False,
            help="Clinic-supplied YAML file of licensed (official) item wording; overrides "
            "$BACKPATH_INSTRUMENT_TEXTS. Changes the wording shown, never the score.",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Answers file of an earlier administration: also report the change "
            "(JSON becomes {baseline, follow_up, change}).",
        ),
    ] = None,
) -> None:
    """Score a validated instrument: value, band or risk stratum, and wording used.

    Answers: item scores in order, space or comma separated (-, null or x = unanswered).

    Or a JSON list in item order, or a JSON object keyed by item id.

    Example: echo 1 1 0 0 1 1 1 1 1 | backpath score startback

    Exit code 2 for invalid answers, with a message naming the instrument and the item.
    """
    if baseline == "-" and source == "-":
        _fail("read the baseline and the follow-up answers from files, not both from stdin")
    try:
        definition = get_instrument(instrument, texts=texts)
        current = score(definition.id, parse_answers(_read(source), definition), texts=texts)
        earlier = None
        change = None
        if baseline is not None:
            earlier = score(definition.id, parse_answers(_read(baseline), definition), texts=texts)
            change = compare(definition.id, earlier, current, texts=texts)
    except ScoringError as exc:
        _fail(str(exc))
    except KnowledgeError as exc:
        _fail("cannot load the instruments:\n" + "\n".join(f"  {p}" for p in exc.problems))
    if as_json:
        if earlier is not None and change is not None:
            document: dict[str, Any] = {
                "baseline": earlier.to_json(),
                "follow_up": current.to_json(),
                "change": change.to_json(),
            }
        else:
            document = current.to_json()
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    _print_summary(definition, current, earlier, change)


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(f"{source}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{source}: cannot read ({exc})")


def _fail(message: str) -> NoReturn:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(message)}", highlight=False
    )
    raise typer.Exit(2)


def _number(value: float, unit: str) -> str:
    return f"{value} %" if unit == "percent" else f"{value}"


def _print_summary(
    instrument: Instrument, current: Score, earlier: Score | None, change: Change | None
) -> None:
    console = Console(highlight=False)
    console.print(f"[bold]{escape(instrument.name)}[/] ({escape(instrument.version)})")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    title = "Score" if current.unit == "percent" else "Total"
    table.add_row(
        title,
        f"{_number(current.value, current.unit)} "
        f"(range {current.min} to {_number(current.max, current.unit)})",
    )
    for subscale in instrument.scoring.subscales:
        table.add_row(f"{subscale.name}", str(current.subscales[subscale.id]))
    if current.band is not None:
        table.add_row("Band", f"{current.band} - {escape(current.band_label or '')}")
    if current.stratum is not None:
        table.add_row("Stratum", f"{current.stratum} - {escape(current.stratum_label or '')}")
        table.add_row("Matched care", escape(current.care or ""))
        table.add_row("Next step", current.next_step or "")
    answered = f"{current.answered} of {current.items}"
    if current.missing_items:
        answered += f" (unanswered: {', '.join(current.missing_items)})"
    table.add_row("Answered", answered)
    if earlier is not None and change is not None:
        relative = (
            "n/a (baseline 0)"
            if change.relative_change_percent is None
            else f"{change.relative_change_percent:+} %"
        )
        verdict = (
            "clinically important" if change.clinically_important else "not clinically important"
        )
        table.add_row("Baseline", _number(earlier.value, earlier.unit))
        table.add_row(
            "Change",
            f"{change.absolute_change:+} ({relative}): {change.direction.value}, {verdict} "
            f"(threshold {change.mic_absolute:g} points or {change.mic_relative_percent:g} % "
            "of baseline)",
        )
    wording = (
        "official (licensed text supplied by the clinic)"
        if current.wording == "official"
        else "paraphrase (backpath's own words, not the licensed text)"
    )
    table.add_row("Wording", wording)
    console.print(table)
    console.print(f"[dim]Licence: {escape(instrument.licence.note)}[/]")
