"""``backpath kb``: check, explain and document the clinical knowledge base."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown

from backpath.cli import app
from backpath.cli._io import fail

kb_app = typer.Typer(
    help="Check, explain and document the clinical knowledge base.", no_args_is_help=True
)
app.add_typer(kb_app, name="kb")


@kb_app.command("check")
def check() -> None:
    """Validate every knowledge file: schema, codes, sources, ids, reachability, safety.

    Exit 1 and list every problem (file: id: message) when anything is wrong.
    """
    from backpath.interop.imaging import validate_imaging
    from backpath.kb import check_knowledge, load_knowledge

    # imaging.yaml (lumbar imaging at the point of ordering) is checked here as well: its
    # conditions use the findings, so it is part of the knowledge base's clinical content.
    problems = [*check_knowledge(), *validate_imaging()]
    console = Console()
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/] {problem}", highlight=False)
        console.print(f"[bold red]{len(problems)} problem(s)[/]")
        raise typer.Exit(1)
    kb = load_knowledge()
    console.print(
        f"[green]✓[/] knowledge base {kb.version} is valid: {len(kb.findings)} findings "
        f"({len(kb.red_flags)} red flags), {len(kb.rules)} triage rules, {len(kb.plan)} plan "
        f"rules, {len(kb.advice)} texts, {len(kb.sources)} sources; sha256 {kb.sha256[:16]}"
    )


@kb_app.command("explain")
def explain(
    rule_id: Annotated[
        str, typer.Argument(help="A rule id, e.g. ces_new_bladder_bowel_saddle_sexual")
    ],
) -> None:
    """Show one rule: when it fires (in words), its urgency, messages and sources."""
    from backpath.kb import load_knowledge
    from backpath.logic.render import to_text

    kb = load_knowledge()
    rule = kb.rules_by_id.get(rule_id)
    plan = next((p for p in kb.plan if p.spec.id == rule_id), None)
    if rule is None and plan is None:
        close = difflib.get_close_matches(
            rule_id, [*kb.rules_by_id, *(p.spec.id for p in kb.plan)], n=3
        )
        hint = f"; did you mean {', '.join(close)}?" if close else "; see docs/knowledge.md"
        fail(f"no rule {rule_id!r}{hint}")

    def label(code: str) -> str:
        return f"{code} ({kb.findings[code].label})"

    console = Console()
    if rule is not None:
        spec = rule.spec
        lines = [
            f"# {spec.id}: {spec.title}",
            f"**Urgency:** {spec.urgency.value} · **Concern:** {spec.concern.value} · **File:** {rule.file}",
            "## Fires when",
            to_text(rule.condition, label),
            "## Clinician message",
            spec.clinician,
            "## Patient message",
            spec.patient,
            "## Sources",
        ]
        lines += [
            f"- {s}: {kb.sources[s].title} ({kb.sources[s].year}) {kb.sources[s].doi or kb.sources[s].url}"
            for s in spec.sources
        ]
        if spec.advice or spec.next_steps:
            lines += [
                "## Adds",
                f"advice: {', '.join(spec.advice) or '-'}; next steps: {', '.join(spec.next_steps) or '-'}",
            ]
    else:
        assert plan is not None
        lines = [
            f"# {plan.spec.id}: {plan.spec.title} (plan rule)",
            f"**For urgency:** {', '.join(u.value for u in plan.spec.for_urgency)}",
            "## Applies when",
            to_text(plan.condition, label),
            f"advice: {', '.join(plan.spec.advice) or '-'}; next steps: {', '.join(plan.spec.next_steps) or '-'}",
        ]
    console.print(Markdown("\n\n".join(lines)))


@kb_app.command("docs")
def docs(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write the catalogue.")
    ] = Path("docs/knowledge.md"),
) -> None:
    """Regenerate the rule catalogue (docs/knowledge.md) from the knowledge base."""
    from backpath.kb import load_knowledge
    from backpath.kb.catalogue import render_catalogue

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_catalogue(load_knowledge()), encoding="utf-8")
    typer.echo(f"wrote {output}")
