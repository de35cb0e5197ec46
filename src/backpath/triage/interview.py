"""The order of the adaptive interview, as pure functions.

``next_step`` (below) is the planner of every front end. ``next_question`` is the older
question-by-question planner over the questionnaire's sections, kept for callers that ask
one finding at a time:

1. The safety screen: the questions of the ``safety_screen`` sections of
   ``questionnaire.yaml``, in order, each only when its ``ask_if`` condition is not *false*
   (an unknown condition asks, so a red flag is never skipped for lack of an answer).
2. Then only what could still change the result: the current assessment's
   ``next_questions``, most consequential first, that are in the questionnaire, not yet
   asked and whose ``ask_if`` is not false.

A question is asked at most once: ``asked`` holds every code already put to the person,
answered or not, and is kept by the caller apart from the answers (a question skipped or
answered "not sure" has been asked but has no value).

``next_step`` is the planner of the step interview (issue #10), used by ``backpath assess``,
``POST /api/v1/interview``, the Result JSON's ``next_step`` and the interview replay. It asks
*steps* (``questionnaire.yaml`` ``steps``): a yes/no question, a number, a choice, or a
checklist that answers several findings at once. From the current assessment it keeps the
rules that could still change the urgency, with the codes each still needs (never a code
already answered, "not sure" included): unresolved rules above the current urgency; while
no rule has fired, the rules below the baseline (self-care must be earned); and below an
emergency, when every rule that sets the urgency fired only because a question was not
asked yet (``missing``: "new pain" while the duration is unknown), those questions. A step
is useful when it asks one of those codes. Among the useful steps not yet asked:

1. those that could still reach ``emergency`` come first, in questionnaire order (the order
   of ``steps`` is the clinical order: life-threatening signs before the intimate ones);
2. then those that could raise the urgency, by the highest urgency they could reach, then by
   how many open rules they touch, then in questionnaire order;
3. then those that could only lower it (self-care, a result set by an unasked question).

An emergency ends the interview at once: nothing can raise it, and it is never lowered by
asking more.

A useful follow-up whose ``ask_if`` cannot be decided because an earlier step was never
asked brings that earlier step first (a pregnancy question needs the sex question); one
undecided only by "not sure" or a skipped answer is asked (a red flag is never skipped for
lack of an answer). ``None`` means nothing left can change the urgency: the interview is
done and the result can be shown; ``optional_steps`` are the steps left to offer after it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from functools import lru_cache
from typing import Any

from backpath.errors import IntakeError
from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.kb.schema import QuestionRef, StepDef
from backpath.triage.engine import Assessment, assess
from backpath.vocabulary import FindingType, FindingValue, Urgency

Truth = bool | None


@lru_cache(maxsize=1024)
def _compiled(ask_if: str) -> Callable[[Mapping[str, FindingValue]], Truth]:
    """The compiled ``ask_if`` condition (given as its JSON text, so that it can be cached)."""
    from backpath.logic import parse

    test: Callable[[Mapping[str, FindingValue]], Truth] = parse(json.loads(ask_if)).compile()
    return test


def should_ask(
    question: QuestionRef, answers: Mapping[str, FindingValue], asked: AbstractSet[str]
) -> bool:
    """Whether ``question`` may be asked now: not asked before and ``ask_if`` not false.

    ``answers`` may hold ``None`` for "not sure"; it counts as unknown, like an absent code.
    """
    if question.code in asked:
        return False
    if question.ask_if is None:
        return True
    return _compiled(json.dumps(question.ask_if, sort_keys=True))(answers) is not False


def screen_questions(kb: KnowledgeBase) -> Iterator[QuestionRef]:
    """The questions of the safety-screen sections, in questionnaire order."""
    for section in kb.sections:
        if section.safety_screen:
            yield from section.questions


def next_question(
    kb: KnowledgeBase,
    answers: Mapping[str, FindingValue],
    asked: AbstractSet[str],
    assessment: Assessment | None = None,
) -> str | None:
    """The finding code to ask next, or ``None`` when the interview is done.

    ``answers`` are the answers given so far (``None`` or absent = unknown); ``asked`` are the
    codes already asked, answered or not. ``assessment`` is the current assessment of
    everything known (answers, narrative, instruments); when omitted it is computed from
    ``answers`` alone, and only once the safety screen is done.

    The safety screen is one pass in questionnaire order: the first screen question that may
    be asked (see ``should_ask``) comes next. The ``ask_if`` conditions of the screen only
    refer to questions asked before them, so a question passed over because its condition
    was false stays passed over, as in a single pass. The planner never stops the interview
    on an emergency; the caller decides what to do when one is found.
    """
    for question in screen_questions(kb):
        if should_ask(question, answers, asked):
            return question.code
    if assessment is None:
        known = {code: value for code, value in answers.items() if value is not None}
        assessment = assess(Intake(answers=known), kb)
    refs = _question_refs(kb)
    for code in assessment.next_questions:
        ref = refs.get(code)
        if ref is not None and should_ask(ref, answers, asked):
            return code
    return None


def _question_refs(kb: KnowledgeBase) -> dict[str, QuestionRef]:
    """Every question of the questionnaire by finding code."""
    return {q.code: q for s in kb.sections for q in s.questions}


def forward_references(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(question, code) pairs where a screen question's ``ask_if`` names a code that is not
    asked before it in the safety screen.

    ``next_question`` behaves as one pass over the screen only when this list is empty; the
    tests check it on the real questionnaire.
    """
    from backpath.logic import parse

    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for question in screen_questions(kb):
        if question.ask_if is not None:
            out.extend(
                (question.code, code)
                for code in dict.fromkeys(parse(question.ask_if).codes())
                if code not in seen
            )
        seen.add(question.code)
    return out


# ---------------------------------------------------------------------------------------
# The step interview (issue #10)
# ---------------------------------------------------------------------------------------

Step = StepDef
EMERGENCY_RANK = Urgency.EMERGENCY.rank
_RANK = {urgency: urgency.rank for urgency in Urgency}


def as_intake(answers: Intake | Mapping[str, FindingValue]) -> Intake:
    """An ``Intake`` from answers where ``None`` means "not sure" (absent: not asked)."""
    if isinstance(answers, Intake):
        return answers
    return Intake(
        answers={code: value for code, value in answers.items() if value is not None},
        unsure=frozenset(code for code, value in answers.items() if value is None),
    )


def answered_codes(assessment: Assessment, intake: Intake | None = None) -> frozenset[str]:
    """Codes with an answer: a value (given, read in the narrative or implied) or "not sure"."""
    codes = set(assessment.answers) | set(assessment.unsure)
    if intake is not None:
        codes |= set(intake.answers) | intake.unsure
    return frozenset(codes)


def next_step(
    kb: KnowledgeBase,
    answers: Intake | Mapping[str, FindingValue],
    asked_steps: Iterable[str] = (),
    assessment: Assessment | None = None,
) -> StepDef | None:
    """The step to ask next, or ``None`` when nothing left can change the urgency.

    ``answers`` is the intake so far (an ``Intake``, or a mapping where ``None`` is "not
    sure" and an absent code was not asked); ``asked_steps`` are the ids of the steps already
    put to the person, answered or skipped (a step is never asked twice); ``assessment`` is
    the current assessment of that intake (computed when omitted). Pure: the same answers
    always give the same step.
    """
    intake = as_intake(answers)
    if assessment is None:
        assessment = assess(intake, kb)
    return plan_step(kb, assessment, frozenset(asked_steps), answered_codes(assessment, intake))


def plan_step(
    kb: KnowledgeBase,
    assessment: Assessment,
    asked_steps: AbstractSet[str] = frozenset(),
    answered: AbstractSet[str] | None = None,
) -> StepDef | None:
    """``next_step`` on an assessment already made (see the module docstring)."""
    known_codes: Container[str]
    if answered is not None:
        known_codes = answered
    elif assessment.unsure:
        known_codes = answered_codes(assessment)
    else:
        # The Result JSON's hot path: with no "not sure" answer, the codes answered are
        # the keys of the answers (``answered_codes`` would copy them into a set).
        known_codes = assessment.answers
    asked_codes: Container[str] = known_codes
    if asked_steps:
        with_steps = set(known_codes)
        for step_id in asked_steps:
            known = kb.steps_by_id.get(step_id)
            if known is not None:
                with_steps.update(known.codes)
        asked_codes = with_steps
    # Fast path (the Result JSON's hot path): while an emergency rule is open, the first
    # step in questionnaire order that asks one of its codes comes next.
    # ``emergency_steps``: each step asking a code of an open emergency rule, with those
    # codes, in questionnaire order (made once per set of open rules, see the engine).
    if assessment.urgency is not Urgency.EMERGENCY:
        for step_id, emergency_codes in assessment._open_facts.emergency_steps:
            if step_id in asked_steps:
                continue
            for code in emergency_codes:
                if code not in known_codes:
                    break
            else:
                continue  # every code it asks for an emergency rule is answered
            step = kb.steps_by_id[step_id]
            target = _askable(kb, step, assessment.answers, asked_codes, asked_steps)
            if target is not None:
                return target
    open_rules = _open_rules(assessment, known_codes)
    if not open_rules:
        return None
    # For each step that asks an open code: the highest urgency it could reach, and how
    # many open rules it touches.
    step_of_code = kb.step_id_of_code
    reach: dict[str, int] = {}
    touched: dict[str, int] = {}
    for rank, codes in open_rules:
        for step_id in {step_of_code.get(code, "") for code in codes}:
            if not step_id or step_id in asked_steps:
                continue
            touched[step_id] = touched.get(step_id, 0) + 1
            if rank > reach.get(step_id, -1):
                reach[step_id] = rank
    if not reach:
        return None
    current = assessment.urgency.rank
    position = kb.step_position
    candidates = []
    for step_id, rank in reach.items():
        where = position[step_id]
        if rank > current:
            key = (0, -rank, where if rank == EMERGENCY_RANK else -touched[step_id], where)
        else:
            key = (1, 0, -touched[step_id], where)
        candidates.append((key, step_id))
    candidates.sort()
    for _, step_id in candidates:
        target = _askable(
            kb, kb.steps_by_id[step_id], assessment.answers, asked_codes, asked_steps
        )
        if target is not None:
            return target
    return None


def _open_rules(
    assessment: Assessment, answered: Container[str]
) -> list[tuple[int, list[str]]]:
    """Rules that could still change the urgency: (urgency rank, codes not yet answered).

    Rules above the current urgency could raise it. While no rule has fired (the urgency is
    the baseline), a rule below it (self-care) could lower it. Below an emergency (which
    stops the interview at once), when every rule that sets the urgency fired only because a
    question was not asked yet (``missing``: the worse case, such as "new pain" while the
    duration is unknown), asking it could lower the urgency too.
    """
    current = assessment.urgency.rank
    lowering = not assessment.fired
    out: list[tuple[int, list[str]]] = []
    for item in assessment.unresolved:  # most urgent first
        rank = _RANK[item.rule.spec.urgency]
        if rank <= current and not lowering:
            break
        if rank != current:
            codes = [code for code in item.ask if code not in answered]
            if codes:
                out.append((rank, codes))
    if assessment.fired and current != EMERGENCY_RANK:
        holding = [f for f in assessment.fired if _RANK[f.rule.spec.urgency] == current]
        defaults = [
            [e.code for e in f.because if e.source == "unknown" and e.code not in answered]
            for f in holding
        ]
        if all(defaults):
            out.extend((current, codes) for codes in defaults)
    return out


def _askable(
    kb: KnowledgeBase,
    step: StepDef,
    answers: Mapping[str, FindingValue],
    asked_codes: Container[str],
    asked_steps: AbstractSet[str],
    depth: int = 0,
) -> StepDef | None:
    """``step`` if it may be asked now; an earlier step its ``ask_if`` needs first; or None
    when its ``ask_if`` is false."""
    gate = kb.step_gates.get(step.id)
    if gate is None:
        return step
    outcome = gate.evaluate(answers)
    if outcome.value is True:
        return step
    if outcome.value is False:
        return None
    if depth < len(kb.steps):
        for code in outcome.unknown:
            if code in asked_codes:
                continue
            parent = kb.step_of_code.get(code)
            if parent is not None and parent.id not in asked_steps and parent.id != step.id:
                found = _askable(kb, parent, answers, asked_codes, asked_steps, depth + 1)
                if found is not None:
                    return found
    # Undecided only by "not sure" or a skipped answer: asked (never skipped for lack of one).
    return step


# How many questions one page may show (a checklist counts each of its items): enough for
# the age, the danger signs (19) and the bladder, bowel and saddle checklist (7), little enough to
# read on a phone. 24 since knowledge 2026.12.6 (shaking chills, a blocked bowel, a trapped
# hernia and a rash that does not fade joined the body checklist, asked of everyone); 27
# since 2026.12.7 (a swelling airway, an overdose and thoughts of suicide joined the danger
# signs): both emergency checklists share the first page
# (benchmarks/interview_replay.py --pages).
PAGE_QUESTIONS = 27


def next_page(
    kb: KnowledgeBase,
    answers: Intake | Mapping[str, FindingValue],
    asked_steps: Iterable[str] = (),
    assessment: Assessment | None = None,
    max_questions: int = PAGE_QUESTIONS,
) -> list[StepDef]:
    """The steps of the next page: what ``next_step`` would ask next, in its order, as many
    as fit on one page. Empty when nothing left can change the urgency.

    The first step is always ``next_step``. The page then takes the step the planner would
    choose if the person left the page's steps unanswered, and so on, until the page holds
    ``max_questions`` questions. A follow-up whose ``ask_if`` depends on an answer on this
    page waits for the next page (it appears only after a "yes"); any later step can still
    join. Every front end that shows pages (the web, ``backpath assess``, a client of
    ``POST /api/v1/interview`` reading ``page``) shows the same pages for the same answers.
    """
    intake = as_intake(answers)
    if assessment is None:
        assessment = assess(intake, kb)
    answered = answered_codes(assessment, intake)
    def planned() -> Iterator[StepDef]:
        asked = set(asked_steps)
        for _ in range(len(kb.steps)):
            step = plan_step(kb, assessment, frozenset(asked), answered)
            if step is None:
                return
            asked.add(step.id)
            yield step

    return _group(kb, planned(), max_questions)


def optional_page(
    kb: KnowledgeBase,
    answers: Intake | Mapping[str, FindingValue],
    asked_steps: Iterable[str] = (),
    assessment: Assessment | None = None,
    max_questions: int = PAGE_QUESTIONS,
) -> list[StepDef]:
    """The next page of "help your care team" steps offered after the result
    (``optional_steps`` in questionnaire order, grouped as ``next_page`` groups them)."""
    steps = optional_steps(kb, answers, asked_steps, assessment)
    return _group(kb, iter(steps), max_questions)


def _group(kb: KnowledgeBase, steps: Iterator[StepDef], max_questions: int) -> list[StepDef]:
    """The first steps of ``steps`` that fit on one page of ``max_questions`` questions (a
    checklist counts its items; the first step always fits). A follow-up whose ``ask_if``
    names a code asked on the page is passed over: it waits for that answer."""
    page: list[StepDef] = []
    page_codes: set[str] = set()
    size = 0
    for step in steps:
        gate = kb.step_gates.get(step.id)
        if page and gate is not None and page_codes.intersection(gate.codes()):
            continue
        if page and size + len(step.codes) > max_questions:
            break
        page.append(step)
        page_codes.update(step.codes)
        size += len(step.codes)
    return page


def optional_steps(
    kb: KnowledgeBase,
    answers: Intake | Mapping[str, FindingValue],
    asked_steps: Iterable[str] = (),
    assessment: Assessment | None = None,
) -> list[StepDef]:
    """Steps left to offer after the result ("help your care team"), in questionnaire order.

    Every step not yet asked, with a code not yet answered, whose ``ask_if`` is not false.
    Answering them cannot lower the urgency and rarely raises it; ask ``next_step`` again
    after each answer, since a "yes" here can still make a step matter.
    """
    intake = as_intake(answers)
    if assessment is None:
        assessment = assess(intake, kb)
    asked = frozenset(asked_steps)
    answered = answered_codes(assessment, intake)
    out = []
    for step in kb.steps:
        if step.id in asked or all(code in answered for code in step.codes):
            continue
        gate = kb.step_gates.get(step.id)
        if gate is not None and gate.evaluate(assessment.answers).value is False:
            continue
        out.append(step)
    return out


def checklist_answers(
    step: StepDef, ticked: Iterable[str] | None, rest_unsure: bool = False
) -> dict[str, bool | None]:
    """The answers a checklist gives: ``None`` ("I'm not sure") makes every item ``null``;
    an empty selection ("None of these") makes every item ``false``; otherwise the ticked
    items are ``true`` and the others ``false`` - or, with ``rest_unsure`` (items ticked
    *and* "I'm not sure"), ``null``: a person sure of one sign and unsure of the others is
    never taken to have said "no" to them. Raises ``ValueError`` for an unknown item."""
    if ticked is None:
        return dict.fromkeys(step.codes)
    chosen = set(ticked)
    unknown = sorted(chosen - set(step.codes))
    if unknown:
        raise ValueError(f"not an item of step {step.id!r}: {', '.join(unknown)}")
    rest: bool | None = None if rest_unsure and chosen else False
    return {code: True if code in chosen else rest for code in step.codes}


def step_text(kb: KnowledgeBase, step: StepDef, language: str = "en") -> str:
    """What the person reads for ``step``: its own text, or the question of its finding."""
    if step.text:
        return kb.text(f"step.{step.id}.text", language, step.text)
    finding = kb.findings[step.codes[0]]
    return kb.text(f"finding.{finding.code}.question", language, finding.question)


def step_json(kb: KnowledgeBase, step: StepDef, language: str = "en") -> dict[str, Any]:
    """The ``next_step`` of the Result JSON: id, kind, codes and text in ``language``.

    A checklist also lists its ``items`` (each finding's own question, so every item is
    shown by name); a choice its ``options`` (and ``multiple`` for a tick-all question); a
    number its ``min`` and ``max``.
    """
    key = ("step", step.id, language)
    cached = kb.fragments.get(key)
    if cached is None:
        out: dict[str, Any] = {
            "id": step.id,
            "kind": step.kind,
            "codes": list(step.codes),
            "text": step_text(kb, step, language),
        }
        finding = kb.findings[step.codes[0]]
        if step.kind == "checklist":
            out["items"] = [
                {
                    "code": code,
                    "text": kb.text(
                        f"finding.{code}.question", language, kb.findings[code].question
                    ),
                }
                for code in step.codes
            ]
        elif step.kind == "choice":
            out["multiple"] = finding.type is FindingType.MULTI_CHOICE
            out["options"] = [
                {
                    "value": choice.value,
                    "label": kb.text(
                        f"finding.{finding.code}.value.{choice.value}", language, choice.label
                    ),
                }
                for choice in finding.values
            ]
        elif step.kind == "number":
            out["min"] = finding.min
            out["max"] = finding.max
            if step.ranges:
                # Answer ranges a front end may offer instead of a typed number: send the
                # chosen range's value (the loader proves no rule tells a range apart).
                out["ranges"] = [
                    {
                        "label": kb.text(f"step.{step.id}.range.{i}", language, r.label),
                        "min": r.min,
                        "max": r.max,
                        "value": r.value,
                    }
                    for i, r in enumerate(step.ranges)
                ]
        cached = kb.fragments[key] = out
    copy = cached.copy()
    copy["codes"] = cached["codes"][:]
    for part in ("items", "options", "ranges"):
        if part in cached:
            copy[part] = list(map(dict.copy, cached[part]))
    return copy


def next_step_json(assessment: Assessment) -> dict[str, Any] | None:
    """The Result JSON's ``next_step`` for an assessment (no steps known to be asked)."""
    step = plan_step(assessment.kb, assessment)
    return None if step is None else step_json(assessment.kb, step, assessment.language)


def parse_asked_steps(kb: KnowledgeBase, data: Any) -> tuple[str, ...]:
    """Validate the ``asked_steps`` of an interview request: a list of known step ids.

    Raises ``IntakeError`` naming the field (``asked_steps`` or ``asked_steps[i]``).
    """
    if data is None:
        return ()
    if not isinstance(data, list):
        raise IntakeError("asked_steps", "must be a list of step ids")
    for index, step_id in enumerate(data):
        if not isinstance(step_id, str) or step_id not in kb.steps_by_id:
            raise IntakeError(f"asked_steps[{index}]", f"unknown step id {step_id!r}")
    return tuple(dict.fromkeys(data))
