"""``backpath followup``: compare a follow-up intake with its baseline and re-triage."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from backpath.cli import app
from backpath.cli._io import fail, read_json
from backpath.errors import IntakeError


@app.command("followup")
def followup_command(
    baseline: Annotated[str, typer.Argument(help="Baseline intake JSON file.")],
    current: Annotated[str, typer.Argument(help="Follow-up intake JSON file (- for stdin).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score changes since baseline (clinically important or not) and re-triage.

    Answers not given again are carried forward from the baseline; a new red flag, new
    numbness or worsening weakness raises the urgency.
    """
    from backpath.followup import follow_up
    from backpath.intake import Intake

    intakes = []
    for name, source in (("baseline", baseline), ("follow-up", current)):
        try:
            intakes.append(Intake.from_json(read_json(source, name)))
        except IntakeError as exc:
            fail(f"{name}: field {exc.field!r}: {exc.message}")
    result = follow_up(intakes[0], intakes[1])
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return
    console = Console()
    data = result.to_json()
    arrow = "[bold red]RAISED[/]" if result.urgency_raised else "unchanged or lower"
    console.print(f"Urgency: {data['urgency_before']} -> [bold]{data['urgency_now']}[/] ({arrow})")
    if result.new_red_flags:
        console.print(f"[bold red]New red flags:[/] {', '.join(result.new_red_flags)}")
    elif result.new_findings:
        console.print(f"New findings: {', '.join(result.new_findings)}")
    for instrument_id, change in data["changes"].items():
        console.print(
            f"{instrument_id}: {change['baseline']} -> {change['follow_up']} "
            f"({change['absolute_change']:+}), {change['direction']}"
            + (
                ", clinically important"
                if change["clinically_important"]
                else ", not clinically important"
            )
        )
