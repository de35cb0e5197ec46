"""Turn the words of a measure into a number: durations, pain scores and ages.

Pure functions over already-lower-cased evidence text. A duration that depends on the
calendar ("since Monday", "since March") is only computed when the caller gives ``today``;
otherwise it is reported as relative (``Duration.days is None``) and nothing is guessed.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_UNIT_DAYS = {
    "hour": 0, "hr": 0, "day": 1, "night": 1, "week": 7, "wk": 7, "fortnight": 14,
    "month": 30, "mth": 30, "year": 365, "yr": 365,
}  # fmt: skip
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_SHORT = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
_MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
]  # fmt: skip
_RELATIVE_FIXED = {
    "today": 0, "this morning": 0, "this afternoon": 0, "this evening": 0, "tonight": 0,
    "earlier today": 0, "yesterday": 1, "last night": 1, "the day before yesterday": 2,
    "last week": 7, "last month": 30, "last year": 365,
}  # fmt: skip
_NUMBER_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[a-z]+")
_CLINICAL_DAYS = re.compile(r"\b(\d{1,3})/(7|52|12)\b")
# The expressions below are compiled once here: the ``re`` module's own cache holds 512
# expressions, and a process that reads narratives uses more, so an expression written
# inline can be compiled again at every call.
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NOT_NUMBER_CHARS = re.compile(r"[^a-z0-9.,]+")
_UNIT_WORDS = [(re.compile(rf"\b{unit}s?\b"), days) for unit, days in _UNIT_DAYS.items()]
_WEEKDAY_WORDS = [(re.compile(rf"\b{name}\b"), index) for index, name in enumerate(_WEEKDAYS)]
_WEEKDAY_SHORT_WORDS = [
    (re.compile(rf"\b{short}\b"), index) for short, index in _WEEKDAY_SHORT.items()
]
_MONTH_WORDS = [(re.compile(rf"\b{name}\b"), index) for index, name in enumerate(_MONTHS)]
_WEEKEND = re.compile(r"\bweekend\b")
_MAY_BE = re.compile(r"\bmay\s+(be|have)\b")
_DAY_OF_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b")
_CHRISTMAS = re.compile(r"\b(christmas|xmas)\b")
_NEW_YEAR = re.compile(r"\bnew year\b")
_RELATIVE_FIXED_WORDS = [
    (re.compile(rf"\b{phrase}\b"), days) for phrase, days in _RELATIVE_FIXED.items()
]
_COUNTED = re.compile(r"\d|\b(a|an|few|couple)\b.*\b(day|week|month|year)")
_FEW = re.compile(r"\b(few|several)\b")
_COUPLE = re.compile(r"\bcouple\b")
_HALF = re.compile(r"\bhalf an?\b")
_AND_A_HALF = re.compile(r"\band a half\b")
_SLASH_SCORE = re.compile(r"(\d{1,2})(?:[.,]5)?\s*/\s*10\b")
_OUT_OF_TEN = re.compile(r"out of (10|ten)")
_DIGITS = re.compile(r"(\d{1,3})")


def words_to_number(words: list[str]) -> float | None:
    """Read the first number in a list of words: "52", "sixty seven", "sixty-seven", "a few"."""
    total: float | None = None
    for word in words:
        if _NUMBER.fullmatch(word):
            if total is not None:
                return total
            return float(word.replace(",", "."))
        if word in _TENS:
            if total is not None:
                return total
            total = _TENS[word]
            continue
        if word in _UNITS:
            return (total or 0) + _UNITS[word]
        if total is not None:
            return total
    return total


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text``, in order ("3 or 4 weeks" -> [3, 4])."""
    words = [w for w in _NOT_NUMBER_CHARS.split(text) if w]
    found: list[float] = []
    i = 0
    while i < len(words):
        word = words[i].strip(".,")
        if _NUMBER.fullmatch(word):
            found.append(float(word.replace(",", ".")))
        elif word in _TENS:
            value = float(_TENS[word])
            if i + 1 < len(words) and words[i + 1].strip(".,") in _UNITS:
                value += _UNITS[words[i + 1].strip(".,")]
                i += 1
            found.append(value)
        elif word in _UNITS:
            found.append(float(_UNITS[word]))
        i += 1
    return found


_GLUED_UNIT = re.compile(r"\b(\d{1,3})(days?|wks?|weeks?|mths?|months?|yrs?|years?)\b")


@dataclass(frozen=True)
class Duration:
    """A duration read from text: ``days`` (None when it needs a calendar) and its bounds."""

    days: int | None
    low: int | None
    high: int | None
    relative: bool = False


def _unit_days(text: str) -> int | None:
    for unit, days in _UNIT_WORDS:
        if unit.search(text):
            return days
    return None


def _calendar_days(text: str, today: dt.date | None) -> tuple[int | None, bool]:
    """Days since a weekday, month, "the weekend" or "the 3rd"; (None, True) without today."""
    weekday = None
    for name, index in _WEEKDAY_WORDS:
        if name.search(text):
            weekday = index
    for short, index in _WEEKDAY_SHORT_WORDS:
        if short.search(text):
            weekday = index
    if _WEEKEND.search(text):
        weekday = 5
    month = None
    for name, index in _MONTH_WORDS:
        if name.search(text) and not (_MONTHS[index] == "may" and _MAY_BE.search(text)):
            month = index + 1
    day_of_month = _DAY_OF_MONTH.search(text)
    christmas = _CHRISTMAS.search(text)
    new_year = _NEW_YEAR.search(text)
    if (
        weekday is None
        and month is None
        and day_of_month is None
        and not christmas
        and not new_year
    ):
        return None, False
    if today is None:
        return None, True
    if weekday is not None:
        back = (today.weekday() - weekday) % 7
        return (back or 7), True
    if christmas or new_year:
        target = dt.date(today.year, 12, 25) if christmas else dt.date(today.year, 1, 1)
        if target > today:
            target = target.replace(year=today.year - 1)
        return (today - target).days, True
    if month is not None:
        day = int(day_of_month.group(1)) if day_of_month else 1
        year = today.year if (month, day) <= (today.month, today.day) else today.year - 1
        try:
            return (today - dt.date(year, month, day)).days, True
        except ValueError:
            return None, True
    if day_of_month is None:
        return None, True
    day = int(day_of_month.group(1))
    try:
        start = today.replace(day=day)
    except ValueError:
        return None, True
    if start > today:
        previous = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        try:
            start = previous.replace(day=day)
        except ValueError:
            return None, True
    return (today - start).days, True


def parse_duration(text: str, today: dt.date | None = None) -> Duration | None:
    """Days that ``text`` ("for 3 weeks", "since yesterday", "2/52") says have passed.

    Ranges keep both ends ("3-4 weeks" -> low 21, high 28); the caller picks the end that
    is safer for the code it fills. Returns None when no duration can be read. (The same
    few phrases - "yesterday", "for 2 weeks" - come back all the time: each is read once
    per day given, ``_parse_duration``.)
    """
    return _parse_duration(text, today)


@functools.lru_cache(maxsize=4096)
def _parse_duration(text: str, today: dt.date | None) -> Duration | None:
    """``parse_duration``, cached (a ``Duration`` is frozen, so a reading cannot change
    the one another reading gets)."""
    # A count typed against its unit ("3days", "10yrs") is read as "3 days", "10 yrs".
    text = _GLUED_UNIT.sub(r"\1 \2", text.lower())
    clinical = _CLINICAL_DAYS.search(text)
    if clinical:
        count = int(clinical.group(1))
        per = {"7": 1, "52": 7, "12": 30}[clinical.group(2)]
        return Duration(count * per, count * per, count * per)
    for phrase, fixed_days in _RELATIVE_FIXED_WORDS:
        if phrase.search(text) and not _COUNTED.search(text):
            return Duration(fixed_days, fixed_days, fixed_days)
    unit = _unit_days(text)
    if unit is None:
        days, relative = _calendar_days(text, today)
        if not relative:
            return None
        return Duration(days, days, days, relative=True)
    values = numbers_in(text)
    if not values:
        if _FEW.search(text):
            values = [3.0]
        elif _COUPLE.search(text):
            values = [2.0]
        elif _HALF.search(text):
            values = [0.5]
        else:
            # "a week", "an hour", "the past month": one unit.
            values = [1.0]
    if _AND_A_HALF.search(text):
        values = [v + 0.5 for v in values]
    low = int(min(values) * unit)
    high = int(max(values) * unit)
    return Duration(low, low, high)


def parse_pain_score(text: str) -> int | None:
    """A 0-10 pain score ("8/10", "eight out of ten", "7 or 8 out of 10" -> 8)."""
    text = text.lower()
    slash = _SLASH_SCORE.findall(text)
    values = [float(v) for v in slash] if slash else numbers_in(_OUT_OF_TEN.sub("", text))
    values = [v for v in values if 0 <= v <= 10]
    if not values:
        return None
    return int(max(values))


def parse_age(text: str) -> int | None:
    """An age in years ("I'm 52", "sixty seven years old", "52yo"), or None if implausible."""
    text = text.lower()
    digits = _DIGITS.search(text)
    if digits:
        value: float | None = float(digits.group(1))
    else:
        value = words_to_number(_NUMBER_TOKEN.findall(text.replace("-", " ")))
    if value is None or not 1 <= value <= 120:
        return None
    return int(value)


# A number standing alone: not the "2" of "o2" or "spo2", not a decimal's second half.
_MEASURED_NUMBER = re.compile(r"(?<![a-z\d.,])(\d{1,3})(?:[.,]\d)?(?![\d])")
# Blood pressure written in centimetres of mercury ("8/5", "14/9"), as many Spanish
# speakers do: a top number this small is read as tens of mmHg.
_CMHG_BELOW = 30


def parse_measured(kind: str, text: str, low: int, high: int) -> int | None:
    """A measured sign from its phrase: the first standing number ("bp 85/50" -> 85,
    "sats 88%" -> 88, "pulse 140bpm" -> 140), a blood pressure in cmHg converted ("la
    presion en 8/5" -> 80), or None when the number is outside ``low``..``high`` (the
    finding's plausible range)."""
    found = _MEASURED_NUMBER.search(text.lower())
    if found is None:
        return None
    value = int(found.group(1))
    if kind == "systolic_bp" and 0 < value < _CMHG_BELOW:
        value *= 10
    if not low <= value <= high:
        return None
    return value
