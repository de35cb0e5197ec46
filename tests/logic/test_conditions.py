"""The condition language: parsing and Kleene three-valued evaluation."""

from __future__ import annotations

import pytest

from backpath.errors import ConditionError
from backpath.logic import parse

T, F, U = True, False, None


def _answers(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize(
    ("a", "b", "expected_all", "expected_any"),
    [
        (T, T, T, T),
        (T, F, F, T),
        (T, U, U, T),
        (F, T, F, T),
        (F, F, F, F),
        (F, U, F, U),
        (U, T, U, T),
        (U, F, F, U),
        (U, U, U, U),
    ],
)
def test_all_and_any_follow_kleene_truth_tables(a, b, expected_all, expected_any) -> None:
    """all/any agree with the SQL NULL truth tables for every pair of values."""
    answers = _answers(fever=a, iv_drug_use=b)
    assert parse({"all": ["fever", "iv_drug_use"]}).evaluate(answers).value is expected_all
    assert parse({"any": ["fever", "iv_drug_use"]}).evaluate(answers).value is expected_any
    assert parse({"all": ["fever", "iv_drug_use"]}).compile()(answers) is expected_all
    assert parse({"any": ["fever", "iv_drug_use"]}).compile()(answers) is expected_any


@pytest.mark.parametrize(("value", "expected"), [(T, F), (F, T), (U, U)])
def test_not_keeps_unknown_unknown(value, expected) -> None:
    """'not fever' is unknown when fever is unknown: unknown is never 'no'."""
    condition = parse({"not": "fever"})
    assert condition.evaluate(_answers(fever=value)).value is expected
    assert condition.compile()(_answers(fever=value)) is expected


@pytest.mark.parametrize(("age", "expected"), [(49, F), (50, T), (51, T), (None, U)])
def test_comparison_boundaries_and_unknown(age, expected) -> None:
    """'age >= 50' is false at 49, true at 50 and 51, and unknown without an age."""
    condition = parse("age >= 50")
    assert condition.evaluate(_answers(age=age)).value is expected
    assert condition.compile()(_answers(age=age)) is expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((T, T, U), T),  # already 2 true
        ((T, U, U), U),  # could reach 2
        ((T, F, F), F),  # cannot reach 2
        ((U, F, F), F),
        ((F, F, F), F),
        ((U, U, F), U),
    ],
)
def test_at_least_counts_unknowns_as_possible(values, expected) -> None:
    """at_least 2 is false only when even every unknown being true could not reach 2."""
    codes = ["morning_stiffness_over_30min", "improves_with_movement", "wakes_second_half_night"]
    condition = parse({"at_least": 2, "of": codes})
    answers = _answers(**dict(zip(codes, values, strict=True)))
    assert condition.evaluate(answers).value is expected
    assert condition.compile()(answers) is expected


def test_missing_is_two_valued() -> None:
    """'missing: x' is true exactly when x is unanswered, and never itself unknown."""
    condition = parse({"missing": "cauda_equina_symptoms_days"})
    assert condition.evaluate({}).value is True
    assert condition.evaluate({"cauda_equina_symptoms_days": 3}).value is False


def test_explanation_names_deciding_and_unknown_findings() -> None:
    """A true 'all' names every finding that made it true; an unknown one names what to ask."""
    condition = parse({"all": ["fever", {"any": ["iv_drug_use", "immunosuppressed"]}]})
    fired = condition.evaluate({"fever": True, "immunosuppressed": True, "iv_drug_use": False})
    assert fired.value is True
    assert fired.decided_by == ("fever", "immunosuppressed")
    open_ = condition.evaluate({"fever": True})
    assert open_.value is None
    assert open_.unknown == ("iv_drug_use", "immunosuppressed")
    false = condition.evaluate({"fever": False})
    assert (false.value, false.decided_by) == (False, ("fever",))


def test_choice_comparison() -> None:
    """A choice finding compares by value."""
    assert parse("pain_side == both").evaluate({"pain_side": "both"}).value is True
    assert parse("pain_side != both").evaluate({"pain_side": "left"}).value is True


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ({"allof": ["fever"]}, "unknown operator"),
        ({"all": []}, "non-empty list"),
        ("age >>= 3", "cannot read"),
        ({"at_least": 4, "of": ["fever", "collapse"]}, "at_least"),
        (42, "expected a string or a mapping"),
    ],
)
def test_parse_errors_name_the_problem(bad, fragment) -> None:
    """Malformed conditions fail at load with a message saying what is wrong."""
    with pytest.raises(ConditionError, match=fragment):
        parse(bad)


def test_round_trip_to_data() -> None:
    """A parsed condition turns back into the same YAML data."""
    data = {"all": ["fever", {"not": "age >= 50"}, {"at_least": 1, "of": [{"missing": "sex"}]}]}
    assert parse(data).to_data() == data
