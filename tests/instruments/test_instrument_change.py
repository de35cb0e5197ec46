"""Change over time: absolute and relative change, direction, and the Ostelo 2008 "either"
rule for clinical importance (absolute change >= MIC or >= 30 % of baseline).

Expected values are worked out by hand: e.g. ODI 42 -> 30 is -12 points, -12/42 = -28.6 %.
"""

from __future__ import annotations

import pytest

from backpath.errors import ScoringError
from backpath.instruments import Direction, changes_from_baseline, compare, score


def test_odi_42_to_30_is_a_clinically_important_improvement() -> None:
    """Acceptance: ODI 42 -> 30 (-12 points) is an important improvement by the 10-point MIC."""
    baseline = score("odi", [3] + [2] * 9)  # 21/50 = 42 %
    follow_up = score("odi", [2] * 5 + [1] * 5)  # 15/50 = 30 %
    change = compare("odi", baseline, follow_up)
    assert (change.baseline, change.follow_up) == (42, 30)
    assert change.absolute_change == -12
    assert change.relative_change_percent == -28.6
    assert change.direction is Direction.IMPROVED
    assert change.clinically_important is True
    assert change.important_by == ("absolute",)
    assert (change.baseline_band, change.follow_up_band) == ("severe", "moderate")


def test_leg_nrs_8_to_7_is_not_clinically_important() -> None:
    """Acceptance: leg pain 8 -> 7 improved by 1 point (12.5 %), below both thresholds."""
    change = compare("nprs_leg", score("nprs_leg", [8]), score("nprs_leg", [7]))
    assert change.absolute_change == -1
    assert change.relative_change_percent == -12.5
    assert change.direction is Direction.IMPROVED
    assert change.clinically_important is False
    assert change.important_by == ()


@pytest.mark.parametrize(
    ("instrument", "before", "after", "absolute", "relative", "direction", "by"),
    [
        ("nprs_back", [4], [2], -2, -50, "improved", ("absolute", "relative")),
        ("nprs_back", [10], [7], -3, -30, "improved", ("absolute", "relative")),
        ("nprs_back", [3], [2], -1, -33.3, "improved", ("relative",)),
        ("nprs_back", [5], [4], -1, -20, "improved", ()),
        ("nprs_back", [5], [5], 0, 0, "unchanged", ()),
        ("nprs_back", [2], [4], 2, 100, "worse", ("absolute", "relative")),
        ("nprs_back", [6], [7], 1, 16.7, "worse", ()),
        ("odi", [5] * 5 + [0] * 5, [2] * 10, -10, -20, "improved", ("absolute",)),
        ("odi", [2] * 10, [2] * 6 + [1] * 4, -8, -20, "improved", ()),
        ("odi", [1] * 10, [1] * 7 + [0] * 3, -6, -30, "improved", ("relative",)),
        (
            "rmdq",
            [1] * 10 + [0] * 14,
            [1] * 5 + [0] * 19,
            -5,
            -50,
            "improved",
            ("absolute", "relative"),
        ),
        ("rmdq", [1] * 20 + [0] * 4, [1] * 16 + [0] * 8, -4, -20, "improved", ()),
        ("peg", [6, 6, 6], [5, 5, 5], -1, -16.7, "improved", ("absolute",)),
        # 17/3 is reported as 5.7; change is taken from reported values: -0.3 / 6 = -5 %
        ("peg", [6, 6, 6], [6, 6, 5], -0.3, -5, "improved", ()),
        ("sbi", [6, 6, 6, 6], [5, 5, 5, 4], -5, -20.8, "improved", ("absolute",)),
        ("sbi", [6, 6, 6, 6], [5, 5, 5, 5], -4, -16.7, "improved", ()),
        ("startback", [1] * 9, [1, 1, 1, 1, 1, 1, 1, 0, 0], -2, -22.2, "improved", ("absolute",)),
    ],
)
def test_change_thresholds_by_the_either_rule(
    instrument: str,
    before: list[int],
    after: list[int],
    absolute: float,
    relative: float,
    direction: str,
    by: tuple[str, ...],
) -> None:
    """Important when the change reaches the MIC in points or 30 % of baseline, either way."""
    change = compare(instrument, score(instrument, before), score(instrument, after))
    assert change.absolute_change == absolute
    assert change.relative_change_percent == relative
    assert change.direction.value == direction
    assert change.important_by == by
    assert change.clinically_important is bool(by)


def test_change_from_a_zero_baseline_has_no_relative_change() -> None:
    """From a baseline of 0 the relative change is undefined; only points count."""
    change = compare("nprs_leg", score("nprs_leg", [0]), score("nprs_leg", [1]))
    assert change.relative_change_percent is None
    assert change.direction is Direction.WORSE
    assert change.clinically_important is False


def test_startback_change_reports_strata_before_and_after() -> None:
    """A STarT Back change carries the strata at baseline and follow-up."""
    change = compare(
        "startback",
        score("startback", [1, 1, 0, 0, 1, 1, 1, 1, 1]),
        score("startback", [1, 1, 1, 0, 0, 0, 0, 0, 0]),
    )
    assert (change.baseline_stratum, change.follow_up_stratum) == ("high", "low")
    assert change.absolute_change == -4


def test_change_json_shape() -> None:
    """Change.to_json holds the change, direction, importance and the thresholds applied."""
    change = compare("nprs_leg", score("nprs_leg", [8]), score("nprs_leg", [7]))
    assert change.to_json() == {
        "instrument": "nprs_leg",
        "baseline": 8,
        "follow_up": 7,
        "absolute_change": -1,
        "relative_change_percent": -12.5,
        "direction": "improved",
        "clinically_important": False,
        "important_by": [],
        "minimal_important_change": {"absolute": 2, "relative_percent": 30, "rule": "either"},
        "baseline_band": "severe",
        "follow_up_band": "severe",
        "baseline_stratum": None,
        "follow_up_stratum": None,
    }


def test_comparing_scores_of_another_instrument_is_refused() -> None:
    """Comparing a back-pain score with a leg-pain baseline raises ScoringError."""
    with pytest.raises(ScoringError, match="baseline score is for 'nprs_back'"):
        compare("nprs_leg", score("nprs_back", [8]), score("nprs_leg", [7]))


def test_changes_from_baseline_compares_each_follow_up_with_the_first() -> None:
    """Three administrations give two changes, both measured from the first."""
    scores = [score("nprs_leg", [8]), score("nprs_leg", [7]), score("nprs_leg", [4])]
    changes = changes_from_baseline("nprs_leg", scores)
    assert [c.absolute_change for c in changes] == [-1, -4]
    assert [c.clinically_important for c in changes] == [False, True]


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_administrations_give_no_change(count: int) -> None:
    """With fewer than two administrations there is nothing to compare."""
    assert changes_from_baseline("nprs_leg", [score("nprs_leg", [8])] * count) == []
