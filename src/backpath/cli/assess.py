"""``backpath assess``: the terminal interview.

Safety first: the safety-screen sections of ``questionnaire.yaml`` are asked first, and the
moment an emergency rule fires the person is told what to do. After the screen, only the
questions that could still change the result (``next_questions``) are asked. Keyboard only;
Ctrl-C or Ctrl-D stops cleanly. Nothing is stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from backpath.cli import app
from backpath.intake import Intake
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.kb.schema import FindingDef
from backpath.triage import Assessment, assess
from backpath.triage.interview import next_question
from backpath.vocabulary import FindingType, FindingValue, Urgency


class _Words:
    """Interface words of the terminal interview in one language (knowledge/ui)."""

    def __init__(self, kb: KnowledgeBase, language: str) -> None:
        self.kb = kb
        self.language = language

    def __getitem__(self, key: str) -> str:
        return self.kb.ui(f"terminal.{key}", self.language)


class Interview:
    """Asks questions on a console and keeps the answers."""

    def __init__(self, console: Console, kb: KnowledgeBase, language: str) -> None:
        self.console = console
        self.kb = kb
        self.language = language
        self.ui = _Words(kb, language)
        self.answers: dict[str, FindingValue] = {}
        self.instruments: dict[str, list[int | None]] = {}
        self.asked: set[str] = set()
        # Questions asked and skipped ("not sure").
        self.unsure: set[str] = set()

    def text(self, key: str, default: str) -> str:
        return self.kb.text(key, self.language, default)

    def ask(self, finding: FindingDef) -> None:
        """Ask one question until the answer is valid or skipped."""
        self.asked.add(finding.code)
        question = self.text(f"finding.{finding.code}.question", finding.question)
        while True:
            if finding.type in (FindingType.CHOICE, FindingType.MULTI_CHOICE):
                self.console.print(f"\n[bold]{question}[/]")
                for number, choice in enumerate(finding.values, start=1):
                    label = self.text(f"finding.{finding.code}.value.{choice.value}", choice.label)
                    self.console.print(f"  {number}. {label}")
                raw = self.console.input("> ").strip()
            else:
                hint = (
                    f"({self.ui['answer_yes']}/{self.ui['answer_no']})"
                    if finding.type is FindingType.BOOLEAN
                    else ""
                )
                raw = self.console.input(f"\n[bold]{question}[/] {hint} ").strip().lower()
            if not raw:
                # Asked and skipped: "not sure" (null), which is unknown, never "no". The
                # bladder, bowel and saddle questions are asked once more in plainer words.
                plain = finding.unsure_help and finding.code not in self.unsure
                self.unsure.add(finding.code)
                if not plain:
                    return
                help_text = self.text(f"finding.{finding.code}.unsure_help", finding.unsure_help or "")
                self.console.print(f"[italic]{help_text}[/]")
                continue
            self.unsure.discard(finding.code)
            value = self._parse(finding, raw)
            if value is not None:
                self.answers[finding.code] = value
                return

    def _parse(self, finding: FindingDef, raw: str) -> FindingValue:
        ui = self.ui
        if finding.type is FindingType.BOOLEAN:
            if raw in (ui["answer_yes"], "yes", "y", "si", "sí", "s"):
                return True
            if raw in (ui["answer_no"], "no", "n"):
                return False
            self.console.print(f"[yellow]{ui['bad_yes_no']}[/]")
            return None
        if finding.type is FindingType.INTEGER:
            lo, hi = finding.min or 0, finding.max if finding.max is not None else 10**6
            if raw.isdigit() and lo <= int(raw) <= hi:
                return int(raw)
            self.console.print(f"[yellow]{ui['bad_number'].format(lo=lo, hi=hi)}[/]")
            return None
        picks = [p.strip() for p in raw.replace(",", " ").split()]
        values = finding.allowed_values
        if all(p.isdigit() and 1 <= int(p) <= len(values) for p in picks):
            chosen = [values[int(p) - 1] for p in picks]
            if finding.type is FindingType.CHOICE:
                if len(chosen) == 1:
                    return chosen[0]
            else:
                return tuple(dict.fromkeys(chosen))
        self.console.print(f"[yellow]{ui['bad_choice']}[/]")
        return None

    def next_code(self) -> str | None:
        """The next question to ask (``backpath.triage.interview.next_question``), or None."""
        return next_question(self.kb, self.answers, self.asked, self.current())

    def current(self) -> Assessment:
        return assess(self.intake(), self.kb)

    def intake(self) -> Intake:
        return Intake(
            answers=dict(self.answers),
            instruments=dict(self.instruments),
            language=self.language,
            unsure=frozenset(code for code in self.unsure if code not in self.answers),
        )

    def offer_instrument(self, instrument_id: str) -> None:
        """Offer a questionnaire (STarT Back) item by item; Enter skips the whole thing."""
        from backpath.instruments import get_instrument

        instrument = get_instrument(instrument_id)
        offer = self.kb.ui("terminal.offer_questionnaire", self.language).format(
            name=instrument.short_name, n=len(instrument.items)
        )
        if self.console.input(f"\n[bold]{offer}[/] ").strip().lower() not in (
            self.ui["answer_yes"],
            "y",
            "yes",
        ):
            return
        self.console.print(instrument.instructions)
        scores: list[int | None] = []
        for item in instrument.items:
            options = instrument.options_for(item)
            while True:
                self.console.print(f"\n[bold]{item.number}. {item.text}[/]")
                for number, option in enumerate(options, start=1):
                    self.console.print(f"  {number}. {option.text}")
                raw = self.console.input("> ").strip()
                if not raw:
                    scores.append(None)
                    break
                if raw.isdigit() and 1 <= int(raw) <= len(options):
                    scores.append(options[int(raw) - 1].score)
                    break
                self.console.print(f"[yellow]{self.ui['bad_choice']}[/]")
        if any(s is not None for s in scores):
            self.instruments[instrument_id] = scores


def run_interview(console: Console, kb: KnowledgeBase, language: str) -> Interview:
    """The whole interview; returns the interview with its answers.

    What to ask next is decided by ``backpath.triage.interview.next_question`` (the same
    planner the interview replay benchmark runs); this function only shows the sections,
    asks, and stops at the emergency screen when the person does not want to go on.
    """
    interview = Interview(console, kb, language)
    console.print(Panel(interview.ui["intro"], title="backpath"))
    warned = False
    screen = [s for s in kb.sections if s.safety_screen]
    for number, section in enumerate(screen, start=1):
        title = interview.text(f"section.{section.id}.title", section.title)
        console.rule(f"{title} ({number}/{len(screen)})")
        if section.intro:
            console.print(interview.text(f"section.{section.id}.intro", section.intro))
        in_section = {question.code for question in section.questions}
        while (code := interview.next_code()) in in_section:
            interview.ask(kb.findings[code])
            if not warned and interview.current().urgency is Urgency.EMERGENCY:
                warned = True
                _emergency_screen(console, interview)
                answer = console.input(f"\n{interview.ui['continue']} ").strip().lower()
                if answer not in (interview.ui["answer_yes"], "y", "yes"):
                    return interview
    while (code := interview.next_code()) is not None:
        interview.ask(kb.findings[code])
    if interview.current().urgency is not Urgency.EMERGENCY:
        if language == "en":
            interview.offer_instrument("startback")
        else:
            console.print(interview.ui["questionnaire_english_only"])
    return interview


def _emergency_screen(console: Console, interview: Interview) -> None:
    from backpath.cli.explain import URGENCY_STYLE

    result = interview.current().to_json()
    actions = [a for a in result["advice"] if a["kind"] == "action"]
    body = "\n\n".join([result["urgency_text"]["action"], *(a["text"] for a in actions)])
    console.print(
        Panel(body, title=interview.ui["emergency_now"], style=URGENCY_STYLE[Urgency.EMERGENCY])
    )


@app.command("assess")
def assess_command(
    lang: Annotated[str, typer.Option("--lang", help="Language: en or es.")] = "en",
    save: Annotated[
        Path | None, typer.Option("--save", help="Also write the intake JSON to this file.")
    ] = None,
    clinician: Annotated[
        bool, typer.Option("--clinician/--patient", help="Show rule ids and sources.")
    ] = False,
) -> None:
    """Interactive interview in the terminal: red-flag questions first, then only what matters."""
    from backpath.cli.explain import print_assessment

    kb = load_knowledge()
    if lang not in kb.languages:
        from backpath.cli._io import fail

        fail(f"--lang must be one of {', '.join(kb.languages)}")
    console = Console()
    ui = _Words(kb, lang)
    try:
        interview = run_interview(console, kb, lang)
    except (KeyboardInterrupt, EOFError):
        console.print(f"\n{ui['stopped']}")
        raise typer.Exit(130) from None
    console.print()
    print_assessment(console, interview.current(), clinician=clinician)
    if save is not None:
        intake = interview.intake()
        save.write_text(json.dumps(intake.to_json(), indent=2), encoding="utf-8")
        console.print(ui["saved"].format(path=save))
