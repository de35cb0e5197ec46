"""Invariants over every possible set of answers (hypothesis): scores stay in the published
range, and answering an item worse never makes the score, band or risk stratum better."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backpath.instruments import Direction, compare, score
from tests.instruments.conftest import PUBLISHED

_BAND_ORDER = {
    "odi": ["minimal", "moderate", "severe", "crippled", "bed_bound"],
    "nprs_back": ["none", "mild", "moderate", "severe"],
    "nprs_leg": ["none", "mild", "moderate", "severe"],
}
_STRATUM_ORDER = ["low", "medium", "high"]


@st.composite
def administrations(draw: st.DrawFn, ident: str) -> list[int | None]:
    """Valid answers to ``ident``: allowed scores, with no more blanks than it allows."""
    facts = PUBLISHED[ident]
    answers: list[int | None] = draw(
        st.lists(st.sampled_from(facts.scores), min_size=facts.items, max_size=facts.items)
    )
    blanks = draw(st.sets(st.integers(0, facts.items - 1), max_size=facts.max_missing))
    return [None if i in blanks else a for i, a in enumerate(answers)]


@pytest.mark.parametrize("ident", sorted(PUBLISHED))
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_scores_stay_in_the_published_range(ident: str, data: st.DataObject) -> None:
    """Any valid answers score within the instrument's published range."""
    answers = data.draw(administrations(ident))
    result = score(ident, answers)
    low, high = PUBLISHED[ident].range
    assert low <= result.value <= high
    assert (result.min, result.max) == (low, high)
    assert result.answered == sum(a is not None for a in answers)
    if ident in _BAND_ORDER:
        assert result.band in _BAND_ORDER[ident]
    if ident == "startback":
        assert result.stratum in _STRATUM_ORDER
        assert 0 <= result.subscales["psychosocial"] <= 5


@pytest.mark.parametrize("ident", sorted(PUBLISHED))
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_raising_an_item_never_lowers_the_score(ident: str, data: st.DataObject) -> None:
    """Answering one item with a higher score never lowers the score, band or stratum."""
    answers = data.draw(administrations(ident))
    answered = [i for i, a in enumerate(answers) if a is not None]
    position = data.draw(st.sampled_from(answered))
    current = answers[position]
    assert current is not None
    higher = [s for s in PUBLISHED[ident].scores if s > current]
    if not higher:
        return
    worse = list(answers)
    worse[position] = data.draw(st.sampled_from(higher))
    before, after = score(ident, answers), score(ident, worse)
    assert after.value >= before.value
    for name, value in before.subscales.items():
        assert after.subscales[name] >= value
    if ident in _BAND_ORDER:
        order = _BAND_ORDER[ident]
        assert order.index(str(after.band)) >= order.index(str(before.band))
    if ident == "startback":
        assert _STRATUM_ORDER.index(str(after.stratum)) >= _STRATUM_ORDER.index(str(before.stratum))


@pytest.mark.parametrize("ident", sorted(PUBLISHED))
@given(data=st.data())
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_official_wording_never_changes_a_score(
    ident: str, data: st.DataObject, official_texts: Path
) -> None:
    """For any answers, the official wording gives exactly the paraphrase's score."""
    answers = data.draw(administrations(ident))
    paraphrase = score(ident, answers).to_json()
    official = score(ident, answers, texts=official_texts).to_json()
    assert official == {**paraphrase, "wording": "official"}


@pytest.mark.parametrize("ident", sorted(PUBLISHED))
@given(data=st.data())
@settings(max_examples=100, deadline=None)
def test_swapping_baseline_and_follow_up_flips_the_direction(
    ident: str, data: st.DataObject
) -> None:
    """An improvement read backwards is a worsening of the same size, and vice versa."""
    first = score(ident, data.draw(administrations(ident)))
    second = score(ident, data.draw(administrations(ident)))
    forward, backward = compare(ident, first, second), compare(ident, second, first)
    assert forward.absolute_change == -backward.absolute_change
    flipped = {
        Direction.IMPROVED: Direction.WORSE,
        Direction.WORSE: Direction.IMPROVED,
        Direction.UNCHANGED: Direction.UNCHANGED,
    }
    assert backward.direction is flipped[forward.direction]
    assert ("absolute" in forward.important_by) == ("absolute" in backward.important_by)
