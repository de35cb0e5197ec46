"""The web intake as pages of interview steps (issue #10).

The pages are those of ``backpath.triage.interview.next_page``: the same planner, and the
same pages, as ``backpath assess`` and the ``page`` of ``POST /api/v1/interview``. A page
holds steps: a single question (shown with the controls of ``backpath.web.intake``) or a
**checklist** - every item shown by name as a tick box, with "None of these" and "I'm not
sure" below them. Ticked items are "yes" and the others "no"; "None of these" makes every
item "no"; "I'm not sure" makes every item unknown (``null``), and a checklist with plainer
words for its items (the bladder, bowel and saddle signs) is shown once more with those
words before "not sure" is kept. A checklist left blank is not a "no": the page asks for an
answer and keeps everything else that was entered.

This module only translates between HTML forms and Intake JSON answers; every clinical
decision (what to ask, when it is an emergency) is the core's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backpath.kb import KnowledgeBase
from backpath.kb.schema import FindingDef, SectionDef, StepDef
from backpath.triage.interview import checklist_answers, step_text
from backpath.web.i18n import Words
from backpath.web.intake import (
    DraftState,
    FieldError,
    Page,
    Question,
    Questionnaire,
    Submission,
    read_page,
)

# Form names of checklists are prefixed so that they can never clash with a finding code.
CHECKLIST_PREFIX = "list-"
NONE_OF_THESE = "_none"
NOT_SURE_ALL = "_unsure"


@dataclass(frozen=True)
class Checklist:
    """A checklist step on a web page: its text and each item's finding."""

    step: StepDef
    text: str
    items: tuple[FindingDef, ...]
    control: str = "checklist"

    @property
    def code(self) -> str:
        """The form name of the checklist (also used for its errors and anchor)."""
        return CHECKLIST_PREFIX + self.step.id

    @property
    def plain_words(self) -> tuple[FindingDef, ...]:
        """The items that have plainer words for a second asking after "not sure"."""
        return tuple(item for item in self.items if item.unsure_help)


Shown = Question | Checklist


@dataclass(frozen=True)
class StepPage:
    """One page of the step interview: its steps and how each is shown."""

    steps: tuple[StepDef, ...]
    questions: tuple[Shown, ...]
    section: SectionDef

    @property
    def step_ids(self) -> list[str]:
        """The ids of the page's steps, in order."""
        return [step.id for step in self.steps]

    def simple(self) -> Page:
        """The single questions of the page as a ``backpath.web.intake.Page``."""
        questions = tuple(q for q in self.questions if isinstance(q, Question))
        return Page(0, self.section, questions)


def build_page(
    kb: KnowledgeBase, questionnaire: Questionnaire, step_ids: Sequence[str], language: str
) -> StepPage:
    """The page showing ``step_ids`` (known step ids, in order). Its title is that of the
    questionnaire section holding its first question."""
    steps = tuple(kb.steps_by_id[step_id] for step_id in step_ids)
    shown: list[Shown] = []
    for step in steps:
        if step.kind == "checklist":
            items = tuple(kb.findings[code] for code in step.codes)
            shown.append(Checklist(step, step_text(kb, step, language), items))
            continue
        question = questionnaire.question(step.codes[0])
        finding = kb.findings[step.codes[0]]
        if question is None:  # a step outside the sections: shown with its own control
            from backpath.web.intake import _control

            question = Question(finding, _control(finding))
        # Asked because the planner chose it: shown without its section's ask_if.
        shown.append(question.plain())
    first = steps[0].codes[0] if steps else ""
    section = next(
        (s for s in kb.sections if any(q.code == first for q in s.questions)),
        kb.sections[0],
    )
    return StepPage(steps, tuple(shown), section)


def read_step_page(
    page: StepPage, form: Mapping[str, list[str]], state: DraftState, words: Words
) -> Submission:
    """Merge one submitted page into the draft; keep every valid answer, report the rest.

    Single questions are read by ``backpath.web.intake.read_page`` (only those listed as
    shown); one left blank was asked and not answered: "not sure". A checklist gives its items' answers (see the module docstring); a blank one,
    or one with an item ticked together with "None of these" or "I'm not sure", is an error
    on that checklist and changes none of its answers.
    """
    submission = read_page(page.simple(), form, state, words)
    new = submission.state
    shown_codes = set(form.get("_shown", []))
    answers = dict(new.answers)
    unsure = list(new.unsure)
    reasked = list(new.reasked)
    failed = {error.code for error in submission.errors}
    for question in page.questions:
        code = question.code
        if (
            isinstance(question, Question)
            and code in shown_codes
            and code not in answers
            and code not in unsure
            and code not in failed
        ):
            # Shown and left blank: asked without an answer, which is "not sure" (null),
            # as Enter is at the terminal - never "no", and never "not asked".
            unsure.append(code)
    for question in page.questions:
        if not isinstance(question, Checklist) or question.code not in shown_codes:
            continue
        values = list(dict.fromkeys(v for v in form.get(question.code, []) if v))
        ticked = [v for v in values if v not in (NONE_OF_THESE, NOT_SURE_ALL)]
        problem = _checklist_problem(question, values, ticked, words)
        if problem is not None:
            submission.errors.append(FieldError(question.code, problem))
            continue
        unsure_too = NOT_SURE_ALL in values
        # "I'm not sure" alone: every item unknown; with ticked items: the others unknown.
        chosen: list[str] | None = None if unsure_too and not ticked else ticked
        for code, value in checklist_answers(question.step, chosen, unsure_too).items():
            answers.pop(code, None)
            if code in unsure:
                unsure.remove(code)
            if value is None:
                unsure.append(code)
            else:
                answers[code] = value
        doubted = {code for code in question.step.codes if code in unsure}
        plain = any(item.code in doubted for item in question.plain_words)
        if unsure_too and plain and question.step.id not in reasked:
            # Asked once more, in plainer words with an example, before "not sure" stays.
            reasked.append(question.step.id)
            submission.newly_offered.append(question.code)
    new.answers = answers
    new.unsure = unsure
    new.reasked = reasked
    submission.state = new
    return submission


def _checklist_problem(
    question: Checklist, values: list[str], ticked: list[str], words: Words
) -> str | None:
    """Why a checklist's values cannot be used, or ``None``."""
    if not values:
        return words("error_checklist_blank")
    allowed = set(question.step.codes)
    if any(value not in allowed for value in ticked):
        return words("error_answer")
    # "None of these" goes with nothing else; "I'm not sure" may go with ticked items.
    if NONE_OF_THESE in values and len(values) > 1:
        return words("error_checklist_mixed")
    return None


def checklist_state(question: Checklist, state: DraftState) -> dict[str, Any]:
    """What a checklist shows: the items ticked, and "None of these" or "I'm not sure"
    when that was the answer (``reask``: shown again in plainer words)."""
    codes = question.step.codes
    answered = [code for code in codes if code in state.answers]
    doubted = [code for code in codes if code in state.unsure]
    ticked = [code for code in answered if state.answers.get(code) is True]
    choice = ""
    if doubted:
        choice = NOT_SURE_ALL
    elif answered and not ticked and len(answered) == len(codes):
        choice = NONE_OF_THESE
    plain = any(item.code in doubted for item in question.plain_words)
    return {
        "ticked": ticked,
        "choice": choice,
        "reask": plain and question.step.id in state.reasked,
    }
