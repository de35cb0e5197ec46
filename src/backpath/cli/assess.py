"""``backpath assess``: the terminal interview.

The interview asks *steps* (``questionnaire.yaml`` ``steps``) page by page, as the web pages
do: ``backpath.triage.interview.next_page`` - the same planner as the web intake,
``POST /api/v1/interview`` (``page``), the Result JSON's ``next_step`` and the interview
replay: the signs that need help at once first, then only what could still change the
result. After the result, the person may answer the optional "help your care team" steps
(``optional_page``) and STarT Back; an answer there can still raise the result, which is
then shown again. A checklist is shown as a numbered list: type
the numbers of the "yes" answers, 0 for none of these, ? (or Enter) for not sure. The moment
an emergency rule fires the person is told what to do and the interview stops. Keyboard
only; Ctrl-C or Ctrl-D stops cleanly. Nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from backpath.cli import app
from backpath.intake import Intake
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.kb.schema import FindingDef, StepDef
from backpath.triage import Assessment, assess
from backpath.triage.interview import (
    checklist_answers,
    next_page,
    optional_page,
    optional_steps,
    step_text,
)
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
        # Steps asked, in order (answered or not).
        self.asked_steps: list[str] = []
        self.page_number = 0

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
            if raw in ("", "?"):
                # Asked and skipped: "not sure" (null), which is unknown, never "no". The
                # bladder, bowel and saddle questions are asked once more in plainer words.
                plain = finding.unsure_help and finding.code not in self.unsure
                self.unsure.add(finding.code)
                if not plain:
                    return
                help_text = self.text(
                    f"finding.{finding.code}.unsure_help", finding.unsure_help or ""
                )
                self.console.print(f"[italic]{help_text}[/]")
                continue
            self.unsure.discard(finding.code)
            value = self._parse(finding, raw)
            if value is not None:
                self.answers[finding.code] = value
                return

    def ask_step(self, step: StepDef) -> None:
        """Ask one step: a single question, or a checklist as a numbered list."""
        self.asked_steps.append(step.id)
        if step.kind == "checklist":
            self.ask_checklist(step)
        else:
            self.ask(self.kb.findings[step.codes[0]])

    def ask_checklist(self, step: StepDef) -> None:
        """Show every item by name; the numbers typed are the "yes" answers.

        0 is "None of these" (every item no); ? or Enter is "I'm not sure" (every item
        null). A first "not sure" shows the plainer words of the items that have them and
        asks once more.
        """
        self.asked.update(step.codes)
        findings = [self.kb.findings[code] for code in step.codes]
        plain = [f for f in findings if f.unsure_help]
        reasked = False
        while True:
            self.console.print(f"\n[bold]{step_text(self.kb, step, self.language)}[/]")
            for number, finding in enumerate(findings, start=1):
                question = self.text(f"finding.{finding.code}.question", finding.question)
                self.console.print(f"  {number}. {question}")
            self.console.print(f"  0. {self.ui['none_of_these']}")
            self.console.print(f"  ?. {self.ui['not_sure']}")
            raw = self.console.input(f"{self.ui['checklist_hint']} ").strip()
            reply = self._parse_checklist(step, raw)
            if isinstance(reply, _Invalid):
                self.console.print(f"[yellow]{self.ui['bad_checklist']}[/]")
                continue
            ticked, rest_unsure = reply
            answers = checklist_answers(step, ticked, rest_unsure)
            doubted = {code for code, value in answers.items() if value is None}
            unclear = [f for f in plain if f.code in doubted]
            if unclear and not reasked:
                reasked = True
                for finding in unclear:
                    help_text = self.text(
                        f"finding.{finding.code}.unsure_help", finding.unsure_help or ""
                    )
                    self.console.print(f"[italic]{help_text}[/]")
                continue
            for code, value in answers.items():
                if value is None:
                    self.answers.pop(code, None)
                    self.unsure.add(code)
                else:
                    self.unsure.discard(code)
                    self.answers[code] = value
            return

    @staticmethod
    def _parse_checklist(step: StepDef, raw: str) -> tuple[list[str] | None, bool] | _Invalid:
        """(the items ticked, whether the others are "not sure"): ``([], False)`` for 0
        (none of these); ``(None, True)`` for ? or Enter (every item not sure); numbers with
        a ? ("1 3 ?"): those items yes and the others not sure."""
        picks = raw.replace(",", " ").split()
        if not picks or picks == ["?"]:
            return None, True
        if picks == ["0"]:
            return [], False
        unsure = "?" in picks
        numbers = [p for p in picks if p != "?"]
        if not all(p.isdigit() and 1 <= int(p) <= len(step.codes) for p in numbers):
            return _INVALID
        return [step.codes[int(p) - 1] for p in dict.fromkeys(numbers)], unsure

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

    def next_page(self) -> list[StepDef]:
        """The next page of steps (``backpath.triage.interview.next_page``); empty when
        nothing left can change the result."""
        return next_page(self.kb, self.intake(), self.asked_steps, self.current())

    def optional_page(self) -> list[StepDef]:
        """The next page of optional steps: first anything that could still change the
        result, then the "help your care team" steps."""
        return self.next_page() or optional_page(
            self.kb, self.intake(), self.asked_steps, self.current()
        )

    def ask_pages(self, pages: Callable[[], list[StepDef]]) -> bool:
        """Ask page after page until ``pages`` gives none; True when an answer made it an
        emergency (the emergency screen is then shown and nothing more is asked)."""
        while page := pages():
            self.page_number += 1
            self.console.rule(self.ui["page"].format(n=self.page_number))
            for step in page:
                self.ask_step(step)
                if self.current().urgency is Urgency.EMERGENCY:
                    _emergency_screen(self.console, self)
                    return True
        return False

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


class _Invalid:
    """A checklist reply that is not a list of item numbers, 0 or ?."""


_INVALID = _Invalid()


def run_interview(console: Console, kb: KnowledgeBase, language: str) -> Interview:
    """The interview up to a safe result; returns the interview with its answers.

    What to ask is decided by ``backpath.triage.interview.next_page`` (the same pages as the
    web intake and the JSON interview endpoint); this function only shows the steps, asks,
    and stops at the emergency screen: nothing left could change an emergency.
    """
    interview = Interview(console, kb, language)
    console.print(Panel(interview.ui["intro"], title="backpath"))
    interview.ask_pages(interview.next_page)
    return interview


def offer_more(console: Console, interview: Interview) -> bool:
    """After the result: the optional "help your care team" pages, then STarT Back (in
    English). True when the person answered something. Ctrl-D or Enter means no."""
    if interview.current().urgency is Urgency.EMERGENCY:
        return False
    remaining = optional_page(interview.kb, interview.intake(), interview.asked_steps)
    asked_before = len(interview.asked_steps)
    if remaining:
        # About ten seconds a question: what the offer says it will take.
        questions = sum(
            len(step.codes)
            for step in optional_steps(interview.kb, interview.intake(), interview.asked_steps)
        )
        offer = interview.ui["offer_more"].format(minutes=max(1, round(questions / 6)))
        try:
            reply = console.input(f"\n[bold]{offer}[/] ").strip().lower()
        except EOFError:
            return False
        agreed = reply in (interview.ui["answer_yes"], "y", "yes", "s", "si", "sí")
        if agreed and interview.ask_pages(interview.optional_page):
            return True
    if interview.language != "en":
        console.print(interview.ui["questionnaire_english_only"])
        return len(interview.asked_steps) > asked_before
    try:
        before = dict(interview.instruments)
        interview.offer_instrument("startback")
    except EOFError:
        return len(interview.asked_steps) > asked_before
    return len(interview.asked_steps) > asked_before or interview.instruments != before


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
    """Interactive interview in the terminal: danger signs first, then only what matters."""
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
    first = interview.current()
    print_assessment(console, first, clinician=clinician)
    try:
        more = offer_more(console, interview)
    except KeyboardInterrupt:
        more = False
    if more:
        final = interview.current()
        changed = final.urgency is not first.urgency
        console.print(f"\n[bold]{ui['updated_result' if changed else 'result_with_more']}[/]")
        print_assessment(console, final, clinician=clinician)
    if save is not None:
        intake = interview.intake()
        save.write_text(json.dumps(intake.to_json(), indent=2), encoding="utf-8")
        console.print(ui["saved"].format(path=save))
