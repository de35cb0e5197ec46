"""The generic scoring rules, in exact arithmetic.

Scores are computed as ``Fraction`` so that a boundary is never crossed by a rounding error
(18/45 of the ODI is exactly 40 %, "moderate", not 40.000000000000001 %, "severe"). Values
are rounded only for display, half up, to the instrument's ``decimals``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from backpath.instruments.schema import (
    TOTAL,
    Band,
    Instrument,
    Item,
    ScoringMethod,
    Stratum,
)


def aggregate(
    method: ScoringMethod, instrument: Instrument, items: Sequence[Item], answers: Mapping[str, int]
) -> Fraction:
    """Combine the answered item scores of ``items`` by ``method``.

    ``answers`` holds only answered items. The caller guarantees at least one is answered.
    """
    answered = [item for item in items if item.id in answers]
    total = sum(answers[item.id] for item in answered)
    if method is ScoringMethod.SUM:
        return Fraction(total)
    if method is ScoringMethod.MEAN:
        return Fraction(total, len(answered))
    highest = sum(max(instrument.allowed_scores(item)) for item in answered)
    return Fraction(total * 100, highest)


def score_range(
    method: ScoringMethod, instrument: Instrument, items: Sequence[Item]
) -> tuple[Fraction, Fraction]:
    """The lowest and highest possible score over ``items`` (all answered)."""
    lows = [min(instrument.allowed_scores(item)) for item in items]
    highs = [max(instrument.allowed_scores(item)) for item in items]
    if method is ScoringMethod.SUM:
        return Fraction(sum(lows)), Fraction(sum(highs))
    if method is ScoringMethod.MEAN:
        return Fraction(sum(lows), len(items)), Fraction(sum(highs), len(items))
    return Fraction(0), Fraction(100)


def band_for(instrument: Instrument, value: Fraction) -> Band | None:
    """The interpretation band of an exact score, or ``None`` without bands.

    Bands run from just above the previous band's upper limit up to and including their own
    (inclusive) upper limit: 40 is "moderate" on the ODI, 40.5 is "severe".
    """
    if instrument.interpretation is None:
        return None
    for band in instrument.interpretation.bands:
        if value <= band.upper:
            return band
    return None


def stratum_for(instrument: Instrument, values: Mapping[str, Fraction]) -> Stratum | None:
    """The one stratum whose conditions hold for ``values`` (``total`` and subscales).

    The catalogue proves at load time that exactly one applies; should that ever fail, this
    returns ``None`` and the scorer refuses to score rather than guess a risk group.
    """
    if instrument.stratification is None:
        return None
    matching = [s for s in instrument.stratification.strata if s.applies(dict(values))]
    return matching[0] if len(matching) == 1 else None


def exact_scores(instrument: Instrument, answers: Mapping[str, int]) -> dict[str, Fraction]:
    """The main score (key ``total``) and every subscale, exactly."""
    values = {TOTAL: aggregate(instrument.scoring.method, instrument, instrument.items, answers)}
    by_id = {item.id: item for item in instrument.items}
    for subscale in instrument.scoring.subscales:
        items = [by_id[ident] for ident in subscale.items]
        values[subscale.id] = aggregate(subscale.method, instrument, items, answers)
    return values


def present(value: Fraction, decimals: int) -> float:
    """A score for display: an ``int`` when whole, else rounded half up to ``decimals``."""
    if value.denominator == 1:
        return int(value)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    rounded = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return int(rounded) if decimals == 0 else float(rounded)
