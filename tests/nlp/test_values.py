"""Numbers written in words become durations, pain scores and ages."""

from __future__ import annotations

import datetime as dt

import pytest

from backpath.nlp._values import parse_age, parse_duration, parse_measured, parse_pain_score

WEDNESDAY = dt.date(2024, 5, 15)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("for 3 weeks", 21),
        ("for three weeks", 21),
        ("a week and a half", 10),
        ("for about a fortnight", 14),
        ("2 months ago", 60),
        ("since yesterday", 1),
        ("since this morning", 0),
        ("for the past month", 30),
        ("a few days ago", 3),
        ("x 5 weeks", 35),
        ("3/7", 3),
        ("2/52", 14),
    ],
)
def test_durations_in_days(text: str, days: int) -> None:
    """Common ways of writing a duration give the number of days."""
    duration = parse_duration(text)
    assert duration is not None
    assert duration.days == days


def test_ranges_keep_both_ends() -> None:
    """'3-4 weeks' keeps 21 and 28 so the caller can take the safer end."""
    duration = parse_duration("for 3-4 weeks")
    assert duration is not None
    assert (duration.low, duration.high) == (21, 28)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("since monday", 2),
        ("since tuesday", 1),
        ("since wednesday", 7),
        ("since the weekend", 4),
        ("since march", 75),
    ],
)
def test_calendar_durations_count_from_today(text: str, days: int) -> None:
    """Weekdays, the weekend and months count back from the given date."""
    duration = parse_duration(text, WEDNESDAY)
    assert duration is not None
    assert duration.days == days


def test_calendar_duration_without_today_is_relative_and_uncounted() -> None:
    """Without a date, 'since monday' is reported as relative with no days."""
    duration = parse_duration("since monday")
    assert duration is not None
    assert duration.relative
    assert duration.days is None


@pytest.mark.parametrize(
    ("text", "score"),
    [("8/10", 8), ("eight out of ten", 8), ("7 or 8 out of 10", 8), ("10/10", 10), ("6.5/10", 6)],
)
def test_pain_scores(text: str, score: int) -> None:
    """0-10 scores in digits or words; a range takes its higher end."""
    assert parse_pain_score(text) == score


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("i'm 52", 52),
        ("sixty seven years old", 67),
        ("52yo", 52),
        ("aged 47", 47),
        ("i am 130", None),
    ],
)
def test_ages(text: str, age: int | None) -> None:
    """Ages in digits or words; implausible ages are dropped."""
    assert parse_age(text) == age


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("systolic_bp", "bp was 85/50", 85),
        ("systolic_bp", "blood pressure 85 over 50", 85),
        ("systolic_bp", "presión en 8/5", 80),  # centimetres of mercury
        ("systolic_bp", "tensión 14/9", 140),
        ("oxygen_saturation", "sats 88%", 88),
        ("oxygen_saturation", "o2 sats 91", 91),  # not the 2 of "o2"
        ("oxygen_saturation", "spo2 89 %", 89),
        ("heart_rate", "pulse 140bpm", 140),
        ("respiratory_rate", "rr 28", 28),
    ],
)
def test_measured_signs(kind: str, text: str, value: int) -> None:
    assert parse_measured(kind, text, 4, 300) == value


def test_a_measured_sign_outside_its_plausible_range_is_not_read() -> None:
    assert parse_measured("oxygen_saturation", "sats 880", 50, 100) is None
    assert parse_measured("heart_rate", "pulse 3", 20, 250) is None
    assert parse_measured("respiratory_rate", "rr", 4, 80) is None
