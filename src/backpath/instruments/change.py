"""Change over time between two scored administrations of the same instrument.

backpath applies the **either** rule of Ostelo et al. (Spine 2008): a change is clinically
important when its size reaches the instrument's minimal important change in points (NRS 2,
ODI 10, RMDQ 5, ...) **or** 30 % of the baseline value. Many systems report both; the
"either" rule is the more sensitive one, so a patient whose leg pain falls from 4 to 2 (2
points, 50 %) is not told that nothing changed. The same thresholds flag an important
worsening, so that deterioration is never hidden (a safety choice; Ostelo's consensus is
about improvement).

Direction is the plain direction of the score. For every current instrument a higher score
is worse, so a lower follow-up score is ``improved``; an instrument declaring
``higher_is: better`` is handled the other way round. Direction and importance are separate:
leg pain 8 -> 7 is ``improved`` but not clinically important.

Changes are computed from the scores as reported (rounded to the instrument's decimals),
exactly, so that a change of exactly the threshold counts as reaching it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from backpath.errors import ScoringError
from backpath.instruments import _rules
from backpath.instruments.catalogue import get_instrument
from backpath.instruments.scoring import Score


class Direction(StrEnum):
    """Which way the score moved, in clinical terms (not only up or down)."""

    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    WORSE = "worse"


@dataclass(frozen=True)
class Change:
    """The change from a baseline to a follow-up score of one instrument.

    ``absolute_change`` is follow-up minus baseline in the score's units (negative when the
    score fell); ``relative_change_percent`` is that change as a percentage of the baseline
    (``None`` when the baseline is 0). ``clinically_important`` is true when the size of the
    change reaches ``mic_absolute`` points or ``mic_relative_percent`` % of baseline;
    ``important_by`` says which threshold(s) were reached.
    """

    instrument: str
    baseline: float
    follow_up: float
    absolute_change: float
    relative_change_percent: float | None
    direction: Direction
    clinically_important: bool
    important_by: tuple[str, ...]
    mic_absolute: float
    mic_relative_percent: float
    rule: str
    baseline_band: str | None
    follow_up_band: str | None
    baseline_stratum: str | None
    follow_up_stratum: str | None

    def to_json(self) -> dict[str, Any]:
        """The change as a JSON-ready object."""
        return {
            "instrument": self.instrument,
            "baseline": self.baseline,
            "follow_up": self.follow_up,
            "absolute_change": self.absolute_change,
            "relative_change_percent": self.relative_change_percent,
            "direction": self.direction.value,
            "clinically_important": self.clinically_important,
            "important_by": list(self.important_by),
            "minimal_important_change": {
                "absolute": self.mic_absolute,
                "relative_percent": self.mic_relative_percent,
                "rule": self.rule,
            },
            "baseline_band": self.baseline_band,
            "follow_up_band": self.follow_up_band,
            "baseline_stratum": self.baseline_stratum,
            "follow_up_stratum": self.follow_up_stratum,
        }


def compare(
    instrument_id: str,
    baseline: Score,
    follow_up: Score,
    *,
    texts: str | Path | None = None,
) -> Change:
    """The change from ``baseline`` to ``follow_up`` of ``instrument_id``.

    Raises ``ScoringError`` when either score belongs to another instrument.
    """
    instrument = get_instrument(instrument_id, texts=texts)
    for label, given in (("baseline", baseline), ("follow_up", follow_up)):
        if given.instrument != instrument.id:
            raise ScoringError(
                instrument.id,
                None,
                f"the {label} score is for {given.instrument!r}, not {instrument.id!r}",
            )
    mic = instrument.minimal_important_change
    before = Fraction(repr(baseline.value))
    after = Fraction(repr(follow_up.value))
    delta = after - before
    size = abs(delta)
    important_by: list[str] = []
    if delta != 0 and size >= Fraction(repr(mic.absolute)):
        important_by.append("absolute")
    if delta != 0 and before != 0 and size * 100 >= Fraction(repr(mic.relative_percent)) * before:
        important_by.append("relative")
    if delta == 0:
        direction = Direction.UNCHANGED
    elif (delta < 0) == (instrument.higher_is == "worse"):
        direction = Direction.IMPROVED
    else:
        direction = Direction.WORSE
    decimals = max(instrument.scoring.decimals, 1)
    return Change(
        instrument=instrument.id,
        baseline=baseline.value,
        follow_up=follow_up.value,
        absolute_change=_rules.present(delta, decimals),
        relative_change_percent=None if before == 0 else _rules.present(delta * 100 / before, 1),
        direction=direction,
        clinically_important=bool(important_by),
        important_by=tuple(important_by),
        mic_absolute=_rules.present(Fraction(repr(mic.absolute)), 2),
        mic_relative_percent=_rules.present(Fraction(repr(mic.relative_percent)), 2),
        rule=mic.rule,
        baseline_band=baseline.band,
        follow_up_band=follow_up.band,
        baseline_stratum=baseline.stratum,
        follow_up_stratum=follow_up.stratum,
    )


def changes_from_baseline(
    instrument_id: str, administrations: Sequence[Score], *, texts: str | Path | None = None
) -> list[Change]:
    """Each later administration compared with the first (the baseline), in order.

    Fewer than two administrations give no change (an empty list): there is nothing to
    compare yet.
    """
    if not administrations:
        return []
    first = administrations[0]
    return [compare(instrument_id, first, later, texts=texts) for later in administrations[1:]]
