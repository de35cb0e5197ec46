"""Scoring every instrument exactly as published: worked examples, every band and stratum
boundary, every missing-data branch and every kind of invalid input.

Expected values are worked out by hand from the published rules (clinical-facts section 3),
never by calling the code under test.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from backpath.errors import ScoringError
from backpath.instruments import Score, get_instrument, score, score_many
from backpath.instruments._rules import band_for

# --- ODI: percent = sum / (5 x sections answered) x 100 ------------------------------------


def test_odi_worked_example_all_answered() -> None:
    """ODI with all 10 sections answered and a total of 16 is 16/50 = 32 % (moderate)."""
    result = score("odi", [2, 2, 2, 2, 2, 2, 1, 1, 1, 1])
    assert result.value == 32
    assert result.band == "moderate"
    assert result.unit == "percent"
    assert result.answered == 10


def test_odi_worked_example_one_section_missing() -> None:
    """ODI with one section unanswered and a total of 16 is 16/45 = 35.6 %."""
    result = score("odi", [2, 2, 2, 2, 2, 2, 1, 1, None, 2])
    assert result.value == 35.6
    assert result.band == "moderate"
    assert result.answered == 9
    assert result.missing_items == ("social_life",)


def test_odi_ten_sections_of_two_is_forty_percent_moderate() -> None:
    """Acceptance: ten sections all scored 2 give 40 %, moderate disability."""
    result = score("odi", [2] * 10)
    assert (result.value, result.band, result.max) == (40, "moderate", 100)


def test_odi_two_sections_unanswered_still_scores() -> None:
    """Acceptance: two unanswered sections leave 16/40 = 40 %, still scored."""
    result = score("odi", [2, 2, 2, 2, 2, 2, 2, 2, None, None])
    assert result.value == 40
    assert result.answered == 8
    assert result.missing_items == ("social_life", "travelling")


def test_odi_three_sections_unanswered_is_refused() -> None:
    """With 3 of 10 sections unanswered the ODI is not scored and the error says why."""
    with pytest.raises(ScoringError) as caught:
        score("odi", [2, 2, 2, 2, 2, 2, 2, None, None, None])
    assert caught.value.instrument == "odi"
    assert "3 of 10" in caught.value.message
    assert "sex_life, social_life, travelling" in caught.value.message
    assert "at most 2" in caught.value.message


def test_odi_nothing_answered_is_refused() -> None:
    """An ODI with no section answered is refused, never scored as 0 %."""
    with pytest.raises(ScoringError, match="10 of 10"):
        score("odi", [None] * 10)


def test_odi_not_applicable_sex_life_leaves_the_denominator() -> None:
    """Sex life skipped as not applicable: 18/45 = 40 % exactly, so moderate, not severe."""
    result = score("odi", {f: 2 for f in _ODI_SECTIONS if f != "sex_life"})
    assert result.value == 40
    assert result.band == "moderate"
    assert result.missing_items == ("sex_life",)


def test_odi_object_with_missing_keys_counts_them_unanswered() -> None:
    """An answers object that leaves out two sections is scored over the other eight."""
    answers = dict.fromkeys(_ODI_SECTIONS, 3)
    del answers["lifting"], answers["sleeping"]
    result = score("odi", answers)
    assert result.value == 60  # 24 / 40
    assert result.answered == 8


_ODI_SECTIONS = (
    "pain_intensity",
    "personal_care",
    "lifting",
    "walking",
    "sitting",
    "standing",
    "sleeping",
    "sex_life",
    "social_life",
    "travelling",
)


@pytest.mark.parametrize(
    ("answers", "percent", "band"),
    [
        ([0] * 10, 0, "minimal"),
        ([1] * 10, 20, "minimal"),
        ([2] + [1] * 9, 22, "moderate"),
        ([2] * 10, 40, "moderate"),
        ([3] + [2] * 9, 42, "severe"),
        ([3] * 10, 60, "severe"),
        ([4] + [3] * 9, 62, "crippled"),
        ([4] * 10, 80, "crippled"),
        ([5] + [4] * 9, 82, "bed_bound"),
        ([5] * 10, 100, "bed_bound"),
        ([1] * 9 + [None], 20, "minimal"),  # 9/45
        ([2] + [1] * 8 + [None], 22.2, "moderate"),  # 10/45
        ([3] + [2] * 8 + [None], 42.2, "severe"),  # 19/45
        ([3] * 9 + [None], 60, "severe"),  # 27/45
        ([4] + [3] * 8 + [None], 62.2, "crippled"),  # 28/45
        ([4] * 9 + [None], 80, "crippled"),  # 36/45
        ([5] + [4] * 8 + [None], 82.2, "bed_bound"),  # 37/45
        ([2] * 8 + [None, None], 40, "moderate"),  # 16/40
        ([3] + [2] * 7 + [None, None], 42.5, "severe"),  # 17/40
    ],
)
def test_odi_band_boundaries(answers: list[int | None], percent: float, band: str) -> None:
    """Every ODI band boundary reachable by real answers lands in the published band."""
    result = score("odi", answers)
    assert (result.value, result.band) == (percent, band)


@pytest.mark.parametrize(
    ("percent", "band"),
    [
        (Fraction(0), "minimal"),
        (Fraction(20), "minimal"),
        (Fraction(201, 10), "moderate"),
        (Fraction(41, 2), "moderate"),
        (Fraction(21), "moderate"),
        (Fraction(40), "moderate"),
        (Fraction(81, 2), "severe"),
        (Fraction(41), "severe"),
        (Fraction(60), "severe"),
        (Fraction(121, 2), "crippled"),
        (Fraction(61), "crippled"),
        (Fraction(80), "crippled"),
        (Fraction(161, 2), "bed_bound"),
        (Fraction(81), "bed_bound"),
        (Fraction(100), "bed_bound"),
    ],
)
def test_odi_fractional_values_between_published_bands(percent: Fraction, band: str) -> None:
    """A value above a band's published upper limit (40.5 %) belongs to the next band."""
    found = band_for(get_instrument("odi"), percent)
    assert found is not None
    assert found.id == band


# --- STarT Back: total 0-9, psychosocial items 5-9, Keele flowchart ------------------------


def test_startback_acceptance_example() -> None:
    """Acceptance: answers 1 1 0 0 1 1 1 1 1 give total 7, psychosocial 5, high risk."""
    result = score("startback", [1, 1, 0, 0, 1, 1, 1, 1, 1])
    assert result.value == 7
    assert result.subscales == {"psychosocial": 5}
    assert result.stratum == "high"
    assert result.next_step == "psychologically_informed_physiotherapy"


@pytest.mark.parametrize(
    ("answers", "total", "psychosocial", "stratum"),
    [
        ([0, 0, 0, 0, 0, 0, 0, 0, 0], 0, 0, "low"),
        ([1, 1, 1, 0, 0, 0, 0, 0, 0], 3, 0, "low"),
        ([0, 0, 0, 0, 1, 1, 1, 0, 0], 3, 3, "low"),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, 0, "medium"),
        ([1, 0, 0, 0, 1, 1, 1, 0, 0], 4, 3, "medium"),
        ([1, 1, 1, 1, 1, 1, 1, 0, 0], 7, 3, "medium"),
        ([0, 0, 0, 0, 1, 1, 1, 1, 0], 4, 4, "high"),
        ([0, 0, 0, 0, 1, 1, 1, 1, 1], 5, 5, "high"),
        ([1, 1, 1, 1, 1, 1, 1, 1, 1], 9, 5, "high"),
    ],
)
def test_startback_strata_boundaries(
    answers: list[int], total: int, psychosocial: int, stratum: str
) -> None:
    """Total 0-3 is low; otherwise psychosocial 4-5 is high and 0-3 is medium (Keele)."""
    result = score("startback", answers)
    assert (result.value, result.subscales["psychosocial"], result.stratum) == (
        total,
        psychosocial,
        stratum,
    )


@pytest.mark.parametrize(
    ("answers", "next_step"),
    [
        ([0] * 9, "advice_and_self_management"),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], "physiotherapy"),
        ([1] * 9, "psychologically_informed_physiotherapy"),
    ],
)
def test_startback_stratum_carries_matched_care(answers: list[int], next_step: str) -> None:
    """Each stratum carries its matched care text and the care plan's next-step id."""
    result = score("startback", answers)
    assert result.next_step == next_step
    assert result.care


def test_startback_bothersomeness_scores_only_zero_or_one() -> None:
    """Item 9 is entered as its score (0 or 1), so a 5-point response code is refused."""
    with pytest.raises(ScoringError) as caught:
        score("startback", [0, 0, 0, 0, 0, 0, 0, 0, 3])
    assert (caught.value.instrument, caught.value.item) == ("startback", "bothersomeness")


def test_startback_missing_item_is_refused() -> None:
    """One unanswered STarT Back item is refused: it could change the stratum."""
    with pytest.raises(ScoringError, match="1 of 9 items unanswered"):
        score("startback", [1, 1, 0, 0, 1, 1, 1, 1, None])


# --- NRS, RMDQ, PEG, SBI ----------------------------------------------------------------------


@pytest.mark.parametrize("instrument", ["nprs_back", "nprs_leg"])
@pytest.mark.parametrize(
    ("rating", "band"),
    [
        (0, "none"),
        (1, "mild"),
        (3, "mild"),
        (4, "moderate"),
        (6, "moderate"),
        (7, "severe"),
        (10, "severe"),
    ],
)
def test_nrs_band_boundaries(instrument: str, rating: int, band: str) -> None:
    """Back and leg NRS: 0 none, 1-3 mild, 4-6 moderate, 7-10 severe (inclusive)."""
    result = score(instrument, [rating])
    assert (result.value, result.band, result.max) == (rating, band, 10)


@pytest.mark.parametrize("instrument", ["nprs_back", "nprs_leg"])
def test_nrs_without_an_answer_is_refused(instrument: str) -> None:
    """A pain rating with no answer has no score."""
    with pytest.raises(ScoringError, match="1 of 1"):
        score(instrument, [None])


@pytest.mark.parametrize(("yes_count", "total"), [(0, 0), (1, 1), (12, 12), (23, 23), (24, 24)])
def test_rmdq_counts_yes_answers(yes_count: int, total: int) -> None:
    """RMDQ is the number of statements answered yes, 0-24."""
    result = score("rmdq", [1] * yes_count + [0] * (24 - yes_count))
    assert (result.value, result.max, result.band) == (total, 24, None)


def test_rmdq_blank_item_is_refused() -> None:
    """An RMDQ item with no answer (not even 'no') is refused rather than guessed."""
    with pytest.raises(ScoringError, match="1 of 24"):
        score("rmdq", [1] * 23 + [None])


@pytest.mark.parametrize(
    ("answers", "mean"),
    [
        ([0, 0, 0], 0),
        ([7, 5, 6], 6),
        ([1, 0, 0], 0.3),
        ([2, 2, 3], 2.3),
        ([6, 6, 5], 5.7),
        ([10, 10, 10], 10),
    ],
)
def test_peg_is_the_mean_of_three_items(answers: list[int], mean: float) -> None:
    """PEG is the mean of pain, enjoyment and general activity, shown to one decimal."""
    result = score("peg", answers)
    assert (result.value, result.max) == (mean, 10)


def test_peg_missing_item_is_refused() -> None:
    """A PEG with one item unanswered is refused, not averaged over two."""
    with pytest.raises(ScoringError, match="1 of 3"):
        score("peg", [5, None, 5])


@pytest.mark.parametrize(
    ("answers", "total"), [([0, 0, 0, 0], 0), ([3, 2, 1, 0], 6), ([6, 6, 6, 6], 24)]
)
def test_sbi_sums_four_items(answers: list[int], total: int) -> None:
    """SBI is the sum of four 0-6 bothersomeness ratings, 0-24."""
    result = score("sbi", answers)
    assert (result.value, result.max) == (total, 24)


def test_sbi_missing_item_is_refused() -> None:
    """An SBI with one item unanswered is refused: the sum would understate it."""
    with pytest.raises(ScoringError, match="1 of 4"):
        score("sbi", [3, None, 3, 3])


# --- invalid input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "answers", "item", "words"),
    [
        ("odi", [2, 2, 2, 6, 2, 2, 2, 2, 2, 2], "walking", "6 is not a valid answer to item 4"),
        ("odi", [-1, 2, 2, 2, 2, 2, 2, 2, 2, 2], "pain_intensity", "allowed: 0 to 5"),
        ("nprs_leg", [11], "leg_pain", "allowed: 0 to 10"),
        ("rmdq", [2] + [0] * 23, "stays_home", "allowed: 0, 1"),
        ("peg", [5, 11, 5], "enjoyment", "item 2"),
        ("sbi", [0, 0, 7, 0], "weakness", "allowed: 0 to 6"),
        ("startback", [1, 1, True, 0, 1, 1, 1, 1, 1], "walks_short_distances", "whole number"),
        ("odi", [2.0, 2, 2, 2, 2, 2, 2, 2, 2, 2], "pain_intensity", "whole number"),
        ("sbi", ["3", 0, 0, 0], "leg_pain", "whole number"),
        ("startback", [1, 1, 0, 0, 1, 1, 1, 1], "bothersomeness", "expected 9 answers"),
        ("odi", [2] * 3, "walking", "got 3"),
        ("odi", {"walking": 2, "flying": 1}, "flying", "unknown item"),
    ],
)
def test_invalid_answers_name_instrument_and_item(
    instrument: str, answers: Any, item: str, words: str
) -> None:
    """Out-of-range, non-integer, too few and unknown answers raise naming the item."""
    with pytest.raises(ScoringError) as caught:
        score(instrument, answers)
    assert caught.value.instrument == instrument
    assert caught.value.item == item
    assert words in caught.value.message
    assert str(caught.value).startswith(f"{instrument}.{item}: ")


def test_too_many_answers_names_the_instrument() -> None:
    """Ten answers for the nine STarT Back items are refused, naming the count."""
    with pytest.raises(ScoringError) as caught:
        score("startback", [0] * 10)
    assert caught.value.instrument == "startback"
    assert caught.value.item is None
    assert "expected 9 answers" in caught.value.message
    assert "got 10" in caught.value.message


@pytest.mark.parametrize("answers", ["1 1 0", 7, None])
def test_answers_of_the_wrong_shape_are_refused(answers: Any) -> None:
    """Answers that are neither a list nor an object are refused."""
    with pytest.raises(ScoringError, match="a list in item order"):
        score("startback", answers)


def test_unknown_instrument_is_refused() -> None:
    """An unknown instrument id is refused, listing the known ones."""
    with pytest.raises(ScoringError) as caught:
        score("oswestry", [2] * 10)
    assert caught.value.instrument == "oswestry"
    assert "odi" in caught.value.message
    assert "startback" in caught.value.message


# --- output shape ------------------------------------------------------------------------------


def test_score_json_shape() -> None:
    """Score.to_json holds the value, range, band, stratum, subscales and wording."""
    data = score("odi", [2, 2, 2, 2, 2, 2, 1, 1, None, 2]).to_json()
    assert data == {
        "instrument": "odi",
        "version": "2.1a",
        "value": 35.6,
        "min": 0,
        "max": 100,
        "unit": "percent",
        "band": "moderate",
        "band_label": "Moderate disability",
        "stratum": None,
        "stratum_label": None,
        "care": None,
        "next_step": None,
        "subscales": {},
        "answered": 9,
        "items": 10,
        "missing_items": ["social_life"],
        "wording": "paraphrase",
    }


def test_score_json_round_trips() -> None:
    """A score stored as JSON is rebuilt unchanged (for a baseline kept in the store)."""
    original = score("startback", [1, 1, 0, 0, 1, 1, 1, 1, 1])
    assert Score.from_json(original.to_json()) == original


@pytest.mark.parametrize(
    "broken",
    [
        "not an object",
        {"instrument": "odi"},
        {**score("odi", [2] * 10).to_json(), "extra": 1},
        {**score("odi", [2] * 10).to_json(), "value": "40"},
    ],
)
def test_stored_score_that_is_not_a_score_is_refused(broken: Any) -> None:
    """Rebuilding a score from a malformed stored object raises ScoringError."""
    with pytest.raises(ScoringError):
        Score.from_json(broken)


def test_every_score_says_which_wording_was_used() -> None:
    """Every instrument's score carries wording 'paraphrase' by default."""
    examples = {
        "nprs_back": [3],
        "nprs_leg": [3],
        "startback": [0] * 9,
        "odi": [0] * 10,
        "rmdq": [0] * 24,
        "peg": [0, 0, 0],
        "sbi": [0, 0, 0, 0],
    }
    for instrument, answers in examples.items():
        assert score(instrument, answers).wording == "paraphrase"


def test_score_many_scores_an_intakes_instruments() -> None:
    """The intake's instruments object is scored per instrument, keyed by id."""
    scores = score_many({"startback": [1, 1, 0, 0, 1, 1, 1, 1, 1], "nprs_leg": [8]})
    assert {ident: s.value for ident, s in scores.items()} == {"startback": 7, "nprs_leg": 8}
    assert scores["startback"].next_step == "psychologically_informed_physiotherapy"


def test_score_many_fails_loudly_on_one_invalid_instrument() -> None:
    """One invalid instrument in an intake raises instead of being skipped."""
    with pytest.raises(ScoringError) as caught:
        score_many({"nprs_leg": [8], "odi": [2] * 9})
    assert (caught.value.instrument, caught.value.item) == ("odi", "travelling")
