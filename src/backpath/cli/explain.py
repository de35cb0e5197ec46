"""Readable terminal rendering of an Assessment (used by ``triage --explain`` and ``assess``)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from backpath.triage import Assessment
from backpath.vocabulary import Urgency

URGENCY_STYLE = {
    Urgency.EMERGENCY: "bold white on red",
    Urgency.URGENT: "bold black on dark_orange",
    Urgency.ROUTINE: "bold white on blue",
    Urgency.SELF_CARE: "bold white on green4",
}


def print_assessment(console: Console, assessment: Assessment, clinician: bool = True) -> None:
    """Print the urgency banner, reasons, what to do, next steps and the safety net."""
    data = assessment.to_json()
    urgency = assessment.urgency
    style = URGENCY_STYLE[urgency]
    head = Text(f" {data['urgency_text']['headline'].upper()} ", style=style)
    parts: list[Text | str] = [head, Text(data["urgency_text"]["action"], style="bold")]
    if data["fired_rules"]:
        parts.append(Text("\nWhy:", style="bold underline"))
        for rule in data["fired_rules"]:
            parts.append(Text(f"• {rule['patient_message']}"))
            if clinician:
                because = ", ".join(
                    f"{b['code']}={b['value']}"
                    + (f' (narrative: "{b["evidence"]}")' if b["source"] == "narrative" else "")
                    + (
                        " (not answered - counted as the worse case)"
                        if b["source"] == "unknown"
                        else ""
                    )
                    for b in rule["because"]
                )
                parts.append(
                    Text(
                        f"   rule {rule['id']} [{rule['urgency']}/{rule['concern']}] because {because}; "
                        f"sources: {', '.join(rule['sources'])}",
                        style="dim",
                    )
                )
    actions = [a for a in data["advice"] if a["kind"] == "action"]
    advice = [a for a in data["advice"] if a["kind"] != "action"]
    for title, blocks in (
        ("What to do now", actions),
        ("What you can do", advice),
        ("What happens next", data["next_steps"]),
    ):
        if blocks:
            parts.append(Text(f"\n{title}:", style="bold underline"))
            for block in blocks:
                parts.append(Text(f"• {block['title']}: ", style="bold") + Text(block["text"]))
    if data.get("scores"):
        parts.append(Text("\nQuestionnaire results:", style="bold underline"))
        for item in data["scores"]:
            label = item["stratum_label"] or item["band_label"] or ""
            unit = "%" if item["unit"] == "percent" else f"/{item['max']}"
            parts.append(Text(f"• {item['instrument']}: {item['value']}{unit} {label} ({item['wording']} wording)"))
    if data["unresolved"] and clinician:
        parts.append(Text("\nNot yet ruled out (unanswered):", style="bold underline"))
        for item in data["unresolved"][:8]:
            parts.append(
                Text(
                    f"• [{item['urgency']}] {item['title']} - ask: {', '.join(item['ask'])}",
                    style="dim",
                )
            )
    if data["conflicts"]:
        parts.append(Text("\nAnswers that disagree with the narrative:", style="bold underline"))
        for conflict in data["conflicts"]:
            parts.append(
                Text(
                    f'• {conflict["code"]}: form said {conflict["answer"]}, words said "{conflict["evidence"]}" - used {conflict["used"]}'
                )
            )
    if data["narrative"]["status"] == "not_understood":
        parts.append(
            Text(
                "\nYour own words could not be read, so they were not used. "
                + " ".join(data["narrative"]["problems"]),
                style="bold",
            )
        )
    console.print(Panel(Group(*parts), title="backpath result", border_style=style.split()[-1]))
    net = Group(
        *[Text(f"{b['title']}: ", style="bold") + Text(b["text"]) for b in data["safety_net"]]
    )
    console.print(Panel(net, title="When to get help at once", border_style="red"))
    kb = data["knowledge_base"]
    console.print(Text(f"knowledge base {kb['version']} sha256 {kb['sha256'][:12]}", style="dim"))
