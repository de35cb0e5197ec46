"""The web intake: questionnaire pages, the server-side draft, and reading a submitted page.

Pages are the sections of ``knowledge/questionnaire.yaml`` in order (safety screen first),
then "Anything else?". A question with ``ask_if`` appears once its condition, evaluated by
the core's condition language on the answers so far, is not false; when a page's answers
make such a question relevant, the same page is shown again with it (this works without
JavaScript). This module only translates between HTML forms and Intake JSON answers: every
value is checked by ``Intake.from_json`` and every clinical decision is the core's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backpath.errors import IntakeError
from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.kb.schema import FindingDef, RangeDef, SectionDef
from backpath.logic import parse
from backpath.vocabulary import FindingType, FindingValue
from backpath.web.i18n import Words

# Body-map regions drawn in templates/_body_map.html. A multi-choice finding whose values
# are all regions of the map is shown on the map (with the checklist as the fallback).
BODY_MAP_REGIONS = frozenset(
    f"{part}_{side}"
    for part in ("lower_back", "buttock", "thigh", "knee", "calf", "shin", "foot")
    for side in ("left", "right")
)
# Whole-number questions with at most this many steps are a row of buttons (pain 0-10).
SCALE_MAX_STEPS = 11
NARRATIVE_PAGE = "anything_else"
# The page of the questions still open after a result (``Questionnaire.open_page``).
OPEN_PAGE = "open_questions"
# Validated questionnaires offered after the sections, as in `backpath assess`. Their items
# are in English only for now (knowledge/instruments), so they are offered in English only.
OFFERED_INSTRUMENTS = ("startback",)
INSTRUMENT_LANGUAGES = ("en",)
YES, NO, NOT_SURE = "yes", "no", "not_sure"
# Choice questions offered without "Not sure": every person can answer them, and their own
# answers already cover "I'd rather not say" (sex has "Other or prefer to describe").
NO_NOT_SURE = frozenset({"sex"})
_WHOLE_NUMBER = re.compile(r"^\s*[+-]?\d{1,9}\s*$")

AskIf = Callable[[Mapping[str, FindingValue]], bool | None]


@dataclass(frozen=True)
class Question:
    """One question of a page: the finding, how it is shown, and when it is asked."""

    finding: FindingDef
    control: str  # yes_no | number | scale | ranges | choice | multi | body_map
    ask_if: AskIf | None = None
    # A number answered by ranges ("2 to 4 weeks"; questionnaire.yaml step ``ranges``).
    ranges: tuple[RangeDef, ...] = ()

    @property
    def code(self) -> str:
        """The finding code, which is also the form control's ``name``."""
        return self.finding.code

    @property
    def offers_not_sure(self) -> bool:
        """True when the question has a "Not sure" answer (all but a few choice questions)."""
        return self.code not in NO_NOT_SURE

    def plain(self) -> Question:
        """The same question without its ``ask_if`` (asked because a planner chose it)."""
        return Question(self.finding, self.control, None, self.ranges)

    def range_value(self, value: Any) -> str:
        """The form value of the range holding ``value`` ("" when none does)."""
        if not isinstance(value, int) or isinstance(value, bool):
            return ""
        for answer_range in self.ranges:
            if answer_range.min <= value and (
                answer_range.max is None or value <= answer_range.max
            ):
                return str(answer_range.value)
        return ""

    @property
    def scale(self) -> range:
        """The whole numbers offered by a ``scale`` control."""
        low = self.finding.min or 0
        high = self.finding.max if self.finding.max is not None else low
        return range(low, high + 1)


@dataclass(frozen=True)
class Page:
    """One page of the intake: a questionnaire section."""

    number: int
    section: SectionDef
    questions: tuple[Question, ...]

    @property
    def id(self) -> str:
        """The section id, used in the page's address."""
        return self.section.id


def _control(finding: FindingDef) -> str:
    if finding.type is FindingType.BOOLEAN:
        return "yes_no"
    if finding.type is FindingType.INTEGER:
        low, high = finding.min, finding.max
        if low is not None and high is not None and high - low + 1 <= SCALE_MAX_STEPS:
            return "scale"
        return "number"
    if finding.type is FindingType.CHOICE:
        return "choice"
    if finding.values and set(finding.allowed_values) <= BODY_MAP_REGIONS:
        return "body_map"
    return "multi"


class Questionnaire:
    """The pages of the web intake, built once from the knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        pages = []
        for number, section in enumerate(kb.sections, start=1):
            questions = []
            for ref in section.questions:
                finding = kb.findings[ref.code]
                ask_if: AskIf | None = None
                if ref.ask_if is not None:
                    ask_if = parse(ref.ask_if, "ask_if").compile()
                step = kb.step_of_code.get(ref.code)
                ranges = step.ranges if step is not None else ()
                control = "ranges" if ranges else _control(finding)
                questions.append(Question(finding, control, ask_if, ranges))
            pages.append(Page(number, section, tuple(questions)))
        self.pages: tuple[Page, ...] = tuple(pages)
        self._by_id = {page.id: page for page in self.pages}
        self._questions = {q.code: q for page in self.pages for q in page.questions}

    def question(self, code: str) -> Question | None:
        """The question asking ``code``, or ``None`` when the questionnaire does not ask it."""
        return self._questions.get(code)

    def open_page(self, codes: Sequence[str]) -> Page:
        """A page of exactly the questions ``codes`` (the questions still open after a
        result), in questionnaire order; it is not one of ``pages``."""
        wanted = set(codes)
        # Shown without their ask_if: the core lists a question as open only while its
        # condition is not false, so an undecided condition still asks it.
        questions = tuple(
            question.plain()
            for page in self.pages
            for question in page.questions
            if question.code in wanted
        )
        section = self.pages[-1].section if not questions else self._section_of(questions[0])
        return Page(0, section, questions)

    def _section_of(self, question: Question) -> SectionDef:
        return next(
            page.section
            for page in self.pages
            if any(q.code == question.code for q in page.questions)
        )

    @property
    def total(self) -> int:
        """How many pages there are, counting "Anything else?"."""
        return len(self.pages) + 1

    @property
    def first(self) -> Page:
        """The first page (the start of the safety screen)."""
        return self.pages[0]

    def page(self, page_id: str) -> Page | None:
        """The page with this id, or ``None``."""
        return self._by_id.get(page_id)

    def after(self, page: Page) -> str:
        """The id of the page after ``page`` (``NARRATIVE_PAGE`` after the last)."""
        index = self.pages.index(page)
        return self.pages[index + 1].id if index + 1 < len(self.pages) else NARRATIVE_PAGE

    def before(self, page: Page) -> str | None:
        """The id of the page before ``page``, or ``None`` for the first."""
        index = self.pages.index(page)
        return self.pages[index - 1].id if index > 0 else None


@dataclass
class DraftState:
    """What a person has entered so far; stored as JSON in the ``drafts`` table.

    ``answers`` holds Intake JSON values (a missing code is unknown); ``unsure`` remembers
    the questions answered "Not sure" so the page shows that choice again; ``offered`` are
    the conditional questions already shown.
    """

    language: str = "en"
    answers: dict[str, Any] = field(default_factory=dict)
    unsure: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)
    # "Not sure" answers already asked again in plainer words (``unsure_help``).
    reasked: list[str] = field(default_factory=list)
    narrative: str | None = None
    emergency_shown: bool = False
    resume: str | None = None
    episode_id: str | None = None
    # The assessment stored the moment the answers made it an emergency (its row id): it is
    # updated, never duplicated, as the person goes on and when they finish.
    stored_id: str | None = None
    instruments: dict[str, list[int | None]] = field(default_factory=dict)
    instrument_choices: dict[str, list[int | None]] = field(default_factory=dict)
    # The questions still open after a result, when the person chose to answer them (the
    # open-questions page shows exactly these).
    only: list[str] = field(default_factory=list)
    # The step interview (backpath.web.steps): the steps already shown, in order; the steps
    # of the page on screen; the pages shown before it (for Back); and the phase: "main"
    # (up to the result) or "more" (the optional steps offered after it).
    asked_steps: list[str] = field(default_factory=list)
    page: list[str] = field(default_factory=list)
    history: list[list[str]] = field(default_factory=list)
    phase: str = "main"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DraftState:
        """Rebuild a draft from its stored JSON."""
        return cls(
            language=str(data.get("language", "en")),
            answers=dict(data.get("answers", {})),
            unsure=list(data.get("unsure", [])),
            offered=list(data.get("offered", [])),
            reasked=list(data.get("reasked", [])),
            narrative=data.get("narrative"),
            emergency_shown=bool(data.get("emergency_shown", False)),
            resume=data.get("resume"),
            episode_id=data.get("episode_id"),
            stored_id=data.get("stored_id"),
            instruments=dict(data.get("instruments", {})),
            instrument_choices=dict(data.get("instrument_choices", {})),
            only=list(data.get("only", [])),
            asked_steps=[str(s) for s in data.get("asked_steps", [])],
            page=[str(s) for s in data.get("page", [])],
            history=[[str(s) for s in p] for p in data.get("history", [])],
            phase=str(data.get("phase", "main")),
        )

    def to_json(self) -> dict[str, Any]:
        """The draft as JSON for the database."""
        return {
            "language": self.language,
            "answers": dict(self.answers),
            "unsure": list(self.unsure),
            "offered": list(self.offered),
            "reasked": list(self.reasked),
            "narrative": self.narrative,
            "emergency_shown": self.emergency_shown,
            "resume": self.resume,
            "episode_id": self.episode_id,
            "stored_id": self.stored_id,
            "instruments": dict(self.instruments),
            "instrument_choices": dict(self.instrument_choices),
            "only": list(self.only),
            "asked_steps": list(self.asked_steps),
            "page": list(self.page),
            "history": [list(p) for p in self.history],
            "phase": self.phase,
        }

    def back_a_page(self) -> bool:
        """Show the previous page of steps again (its answers kept, its steps no longer
        counted as asked); False when there is none."""
        if not self.history:
            return False
        previous = self.history.pop()
        self.asked_steps = [s for s in self.asked_steps if s not in previous]
        self.page = previous
        return True

    def typed_answers(self) -> Mapping[str, FindingValue]:
        """The answers as the core's typed values (they were validated when entered)."""
        return Intake.from_json({"answers": self.answers}).answers

    def intake_json(self) -> dict[str, Any]:
        """The Intake JSON of this draft (what is triaged and stored)."""
        answers = dict(self.answers)
        for code in self.unsure:
            # "Not sure" is an answer (null), not a question left unasked.
            answers.setdefault(code, None)
        data: dict[str, Any] = {"answers": answers, "language": self.language}
        if self.narrative:
            data["narrative"] = self.narrative
        if self.instruments:
            data["instruments"] = {k: list(v) for k, v in self.instruments.items()}
        return data


def visible(page: Page, state: DraftState) -> tuple[Question, ...]:
    """The questions to show on ``page`` now (conditional ones once they are relevant)."""
    answers = state.typed_answers()
    shown = []
    for question in page.questions:
        if (
            question.ask_if is None
            or question.code in state.answers
            or question.code in state.unsure
            or question.code in state.offered
            or question.ask_if(answers) is True
        ):
            shown.append(question)
    return tuple(shown)


@dataclass(frozen=True)
class FieldError:
    """A problem with one answer, in the page's language, to show next to the question."""

    code: str
    message: str


@dataclass
class Submission:
    """The result of reading one submitted page."""

    state: DraftState
    errors: list[FieldError] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)
    newly_offered: list[str] = field(default_factory=list)


def _candidate(question: Question, form: Mapping[str, list[str]]) -> tuple[str, Any, str]:
    """Turn the form values of one question into (kind, Intake JSON value, raw text).

    ``kind`` is ``answer``, ``unsure`` or ``blank``.
    """
    values = [v for v in form.get(question.code, []) if v != ""]
    raw = values[0] if values else ""
    if question.control in ("multi", "body_map"):
        return ("answer", list(dict.fromkeys(values)), "") if values else ("blank", None, "")
    if not values:
        return "blank", None, ""
    if raw == NOT_SURE and question.offers_not_sure:
        return "unsure", None, raw
    if question.control == "yes_no":
        if raw == YES:
            return "answer", True, raw
        if raw == NO:
            return "answer", False, raw
        return "answer", raw, raw  # Intake.from_json names the field
    if question.control in ("number", "scale", "ranges"):
        if _WHOLE_NUMBER.match(raw):
            return "answer", int(raw), raw
        return "answer", raw.strip()[:20], raw[:20]
    return "answer", raw, raw


def _given_twice(question: Question, form: Mapping[str, list[str]]) -> bool:
    """True when a single-answer question was sent more than one value."""
    if question.control in ("multi", "body_map"):
        return False
    return len([v for v in form.get(question.code, []) if v != ""]) > 1


def _error_text(question: Question, words: Words) -> str:
    finding = question.finding
    if finding.type is FindingType.INTEGER:
        low = finding.min if finding.min is not None else 0
        high = finding.max if finding.max is not None else 10**6
        return words("error_number", lo=low, hi=high)
    if finding.type in (FindingType.CHOICE, FindingType.MULTI_CHOICE):
        return words("error_choice")
    return words("error_answer")


def read_page(
    page: Page, form: Mapping[str, list[str]], state: DraftState, words: Words
) -> Submission:
    """Merge one submitted page into the draft; keep every valid answer, report the rest.

    Only questions that were shown (listed in the form's ``_shown`` field and on this page)
    are read, so a blank answer clears an earlier one and hidden questions stay as they were.
    """
    shown_codes = set(form.get("_shown", []))
    answers = dict(state.answers)
    unsure = list(state.unsure)
    reasked = list(state.reasked)
    submission = Submission(state=state)
    for question in page.questions:
        if question.code not in shown_codes:
            continue
        if _given_twice(question, form):
            # A browser sends one value for a radio group or a number box: two values are
            # two different answers, and neither is chosen silently.
            submission.errors.append(FieldError(question.code, words("error_answer")))
            continue
        kind, value, raw = _candidate(question, form)
        answers.pop(question.code, None)
        if question.code in unsure:
            unsure.remove(question.code)
        if kind == "unsure":
            unsure.append(question.code)
            if question.finding.unsure_help and question.code not in reasked:
                # Asked once more in plainer words, with an example, before moving on.
                reasked.append(question.code)
                submission.newly_offered.append(question.code)
            continue
        if kind == "blank":
            continue
        try:
            Intake.from_json({"answers": {question.code: value}})
        except IntakeError:
            submission.errors.append(FieldError(question.code, _error_text(question, words)))
            submission.raw[question.code] = raw
            continue
        answers[question.code] = value
    new_state = DraftState.from_json(
        {**state.to_json(), "answers": answers, "unsure": unsure, "reasked": reasked}
    )
    offered = list(state.offered)
    typed = new_state.typed_answers()
    for question in page.questions:
        if (
            question.ask_if is not None
            and question.code not in shown_codes
            and question.code not in offered
            and question.ask_if(typed) is not False
        ):
            offered.append(question.code)
            submission.newly_offered.append(question.code)
    new_state.offered = offered
    submission.state = new_state
    return submission


def yes_answers(question: Question, state: DraftState) -> list[tuple[str, Any]]:
    """The answers that say "yes" to something, as (form value, Intake JSON value) pairs:
    "Yes", each choice, and each checkbox ticked on top of those ticked now. The web marks
    those that alone would make the result an emergency (numbers are typed, not marked)."""
    finding = question.finding
    if question.control == "yes_no":
        return [(YES, True)]
    if question.control == "choice":
        return [(choice.value, choice.value) for choice in finding.values]
    if question.control in ("multi", "body_map"):
        ticked = state.answers.get(question.code)
        now = [str(v) for v in ticked] if isinstance(ticked, list) else []
        return [
            (choice.value, [*now, choice.value])
            for choice in finding.values
            if choice.value not in now
        ]
    return []


def form_lists(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Group a form's (name, value) pairs into lists, keeping the order they came in."""
    grouped: dict[str, list[str]] = {}
    for name, value in items:
        grouped.setdefault(name, []).append(value)
    return grouped


def answer_state(question: Question, state: DraftState, raw: Mapping[str, str]) -> dict[str, Any]:
    """What a question's control shows: the chosen value(s) and the raw text on an error."""
    code = question.code
    value = state.answers.get(code)
    if code in raw:
        return {"value": raw[code], "values": [], "unsure": False}
    if code in state.unsure:
        return {
            "value": NOT_SURE,
            "values": [],
            "unsure": True,
            "reask": code in state.reasked and bool(question.finding.unsure_help),
        }
    if isinstance(value, bool):
        return {"value": YES if value else NO, "values": [], "unsure": False}
    if isinstance(value, list):
        return {"value": "", "values": [str(v) for v in value], "unsure": False}
    if question.ranges:
        return {"value": question.range_value(value), "values": [], "unsure": False}
    return {"value": "" if value is None else str(value), "values": [], "unsure": False}


@dataclass(frozen=True)
class InstrumentItem:
    """One item of a questionnaire page: its number, words, answer options and choice."""

    id: str
    number: int
    text: str
    options: tuple[str, ...]
    chosen: int | None


def instrument_items(instrument: Any, state: DraftState) -> tuple[InstrumentItem, ...]:
    """The items of ``instrument`` with the option each one has chosen so far."""
    chosen = state.instrument_choices.get(instrument.id, [])
    items = []
    for index, item in enumerate(instrument.items):
        items.append(
            InstrumentItem(
                id=item.id,
                number=item.number,
                text=item.text,
                options=tuple(option.text for option in instrument.options_for(item)),
                chosen=chosen[index] if index < len(chosen) else None,
            )
        )
    return tuple(items)


def read_instrument(
    instrument: Any, form: Mapping[str, list[str]]
) -> tuple[list[int | None], list[int | None]]:
    """(option index, item score) per item from a submitted questionnaire page.

    The control of an item is named ``<instrument>.<item id>`` and its value is the option's
    position, so that options with the same score stay distinct on the page.
    """
    choices: list[int | None] = []
    scores: list[int | None] = []
    for item in instrument.items:
        options = instrument.options_for(item)
        raw = form.get(f"{instrument.id}.{item.id}", [""])[0]
        if raw.isdigit() and int(raw) < len(options):
            choices.append(int(raw))
            scores.append(options[int(raw)].score)
        else:
            choices.append(None)
            scores.append(None)
    return choices, scores
