"""Safety invariants of triage, checked on generated intakes (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from backpath.intake import Intake
from backpath.kb import load_knowledge
from backpath.triage import assess
from backpath.vocabulary import FindingType, Urgency

KB = load_knowledge()


def _value_strategy(finding: Any) -> st.SearchStrategy[Any]:
    if finding.type is FindingType.BOOLEAN:
        return st.booleans()
    if finding.type is FindingType.INTEGER:
        return st.integers(min_value=finding.min or 0, max_value=min(finding.max or 200, 200))
    if finding.type is FindingType.CHOICE:
        return st.sampled_from(finding.allowed_values)
    return st.lists(st.sampled_from(finding.allowed_values), max_size=4).map(tuple)


intakes = st.fixed_dictionaries(
    {},
    optional={code: _value_strategy(f) for code, f in KB.findings.items()},
)


@settings(max_examples=400, deadline=None)
@given(intakes, st.sampled_from(KB.red_flags))
def test_adding_a_red_flag_never_lowers_urgency(answers: dict[str, Any], flag: str) -> None:
    """Setting any red flag to true never makes the result less urgent."""
    before = assess(Intake(answers=answers)).urgency
    after = assess(Intake(answers={**answers, flag: True})).urgency
    assert after.rank >= before.rank


@settings(max_examples=300, deadline=None)
@given(intakes, st.sampled_from(KB.red_flags))
def test_unanswering_a_red_flag_never_gives_self_care(answers: dict[str, Any], flag: str) -> None:
    """With any red flag unanswered, the result is never self-care (unknown is not 'no')."""
    answers = {k: v for k, v in answers.items() if k != flag}
    assert assess(Intake(answers=answers)).urgency is not Urgency.SELF_CARE


@settings(max_examples=300, deadline=None)
@given(intakes)
def test_same_input_same_output(answers: dict[str, Any]) -> None:
    """Triage is deterministic: the same intake gives the same Result JSON."""
    first = assess(Intake(answers=answers)).to_json()
    second = assess(Intake(answers=dict(reversed(list(answers.items()))))).to_json()
    assert first == second


@settings(max_examples=300, deadline=None)
@given(intakes)
def test_random_valid_intakes_never_crash_and_explain_themselves(answers: dict[str, Any]) -> None:
    """Any valid intake gives a result whose urgency is the highest fired urgency."""
    result = assess(Intake(answers=answers))
    data = result.to_json()
    fired = [Urgency(rule["urgency"]) for rule in data["fired_rules"]]
    if fired:
        assert result.urgency == max(fired, key=lambda u: u.rank)
    else:
        assert result.urgency is KB.manifest.baseline_urgency
    for rule in data["fired_rules"]:
        assert rule["because"]
        assert rule["sources"]
    assert data["safety_net"], "the safety net is always shown"
    assert data["knowledge_base"]["sha256"] == KB.sha256


@settings(max_examples=200, deadline=None)
@given(intakes)
def test_json_round_trip_gives_same_result(answers: dict[str, Any]) -> None:
    """An intake serialised to JSON and validated back triages identically."""
    intake = Intake(answers=answers)
    again = Intake.from_json(intake.to_json())
    assert assess(again).to_json() == assess(intake).to_json()
