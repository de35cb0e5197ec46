"""The order of the adaptive interview, as one pure function.

``next_question`` decides which question comes next; the terminal interview
(``backpath assess``) and the interview replay benchmark both call it, so what the benchmark
measures is what a person at the terminal is asked:

1. The safety screen: the questions of the ``safety_screen`` sections of
   ``questionnaire.yaml``, in order, each only when its ``ask_if`` condition is not *false*
   (an unknown condition asks, so a red flag is never skipped for lack of an answer).
2. Then only what could still change the result: the current assessment's
   ``next_questions``, most consequential first, that are in the questionnaire, not yet
   asked and whose ``ask_if`` is not false.

A question is asked at most once: ``asked`` holds every code already put to the person,
answered or not, and is kept by the caller apart from the answers (a question skipped or
answered "not sure" has been asked but has no value).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from functools import lru_cache

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.kb.schema import QuestionRef
from backpath.triage.engine import Assessment, assess
from backpath.vocabulary import FindingValue

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
