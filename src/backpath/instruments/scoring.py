"""Score one administration of an instrument, generically, from its YAML definition.

There is no per-instrument Python here: the ODI percentage, the STarT Back strata and the
PEG mean all follow from the definition's scoring method, subscales, missing-data rule,
bands and strata. Invalid answers raise a ``ScoringError`` naming the instrument and the
item; nothing is guessed, so a score that comes back can be trusted to follow the
published rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backpath.errors import ScoringError
from backpath.instruments import _rules
from backpath.instruments.catalogue import get_instrument
from backpath.instruments.schema import TOTAL, Instrument, ScoringMethod

#: Answers to an instrument: one entry per item in order (``None`` = unanswered), or an
#: object keyed by item id (a missing key = unanswered). Each answer is the item *score*.
Answers = Sequence[int | None] | Mapping[str, int | None]

_JSON_KEYS = (
    "instrument",
    "version",
    "value",
    "min",
    "max",
    "unit",
    "band",
    "band_label",
    "stratum",
    "stratum_label",
    "care",
    "next_step",
    "subscales",
    "answered",
    "items",
    "missing_items",
    "wording",
)


@dataclass(frozen=True)
class Score:
    """The scored result of one administration of an instrument.

    ``value`` is the main score (ODI in percent, the others in points), rounded for display
    to the instrument's decimals; higher is worse for every current instrument. ``band`` is
    the interpretation band id (ODI, NRS), ``stratum`` the risk group (STarT Back) with its
    matched ``care`` and the care plan's ``next_step`` id. ``answered`` items of ``items``
    were answered; ``missing_items`` lists the rest. ``wording`` says whether backpath's
    paraphrase or the clinic's licensed (official) wording was in use.
    """

    instrument: str
    value: float
    max: float
    band: str | None
    stratum: str | None
    subscales: dict[str, float]
    answered: int
    wording: str
    version: str = ""
    min: float = 0
    unit: str = "points"
    band_label: str | None = None
    stratum_label: str | None = None
    care: str | None = None
    next_step: str | None = None
    items: int = 0
    missing_items: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The score as a JSON-ready object (the shape of the result's ``scores`` entries)."""
        return {
            "instrument": self.instrument,
            "version": self.version,
            "value": self.value,
            "min": self.min,
            "max": self.max,
            "unit": self.unit,
            "band": self.band,
            "band_label": self.band_label,
            "stratum": self.stratum,
            "stratum_label": self.stratum_label,
            "care": self.care,
            "next_step": self.next_step,
            "subscales": dict(self.subscales),
            "answered": self.answered,
            "items": self.items,
            "missing_items": list(self.missing_items),
            "wording": self.wording,
        }

    @classmethod
    def from_json(cls, data: Any) -> Score:
        """Rebuild a score stored with ``to_json`` (for example a baseline from the store)."""
        if not isinstance(data, Mapping):
            raise ScoringError("(unknown)", None, "a stored score must be a JSON object")
        instrument = str(data.get("instrument", "(unknown)"))
        missing = [key for key in _JSON_KEYS if key not in data]
        unknown = sorted(set(data) - set(_JSON_KEYS))
        if missing or unknown:
            detail = f"missing keys: {', '.join(missing)}" if missing else ""
            if unknown:
                detail += ("; " if detail else "") + f"unknown keys: {', '.join(unknown)}"
            raise ScoringError(instrument, None, f"not a stored score ({detail})")
        for key in ("value", "min", "max"):
            if isinstance(data[key], bool) or not isinstance(data[key], int | float):
                raise ScoringError(instrument, None, f"stored score: {key!r} must be a number")
        return cls(
            instrument=instrument,
            version=str(data["version"]),
            value=data["value"],
            min=data["min"],
            max=data["max"],
            unit=str(data["unit"]),
            band=data["band"],
            band_label=data["band_label"],
            stratum=data["stratum"],
            stratum_label=data["stratum_label"],
            care=data["care"],
            next_step=data["next_step"],
            subscales=dict(data["subscales"]),
            answered=int(data["answered"]),
            items=int(data["items"]),
            missing_items=tuple(data["missing_items"]),
            wording=str(data["wording"]),
        )


def score(instrument_id: str, answers: Answers, *, texts: str | Path | None = None) -> Score:
    """Score one administration of ``instrument_id``.

    ``answers`` gives each item's score: a list in item order (``None`` for unanswered) or an
    object keyed by item id (absent = unanswered). ``texts`` names a clinic-supplied file of
    licensed wording (default ``$BACKPATH_INSTRUMENT_TEXTS``); it changes ``wording`` only,
    never the score.

    Raises ``ScoringError`` (instrument, item) for an unknown instrument, a wrong number of
    answers, an unknown item, an answer that is not one of the item's scores, or more
    unanswered items than the instrument's missing-data rule allows.
    """
    instrument = get_instrument(instrument_id, texts=texts)
    given = _item_answers(instrument, answers)
    answered = {ident: value for ident, value in given.items() if value is not None}
    missing = tuple(ident for ident in instrument.item_ids if given[ident] is None)
    allowed = instrument.missing_data.max_missing
    if len(missing) > allowed:
        limit = f"at most {allowed} may be" if allowed else "every item must be"
        raise ScoringError(
            instrument.id,
            None,
            f"{len(missing)} of {len(instrument.items)} items unanswered "
            f"({', '.join(missing)}); {limit} unanswered to score the {instrument.short_name}",
        )
    values = _rules.exact_scores(instrument, answered)
    total = values.pop(TOTAL)
    band = _rules.band_for(instrument, total)
    stratum = None
    if instrument.stratification is not None:
        stratum = _rules.stratum_for(instrument, {TOTAL: total, **values})
        if stratum is None:  # excluded at load time; refuse rather than guess a risk group
            raise ScoringError(instrument.id, None, "no single stratum applies to these answers")
    low, high = _rules.score_range(instrument.scoring.method, instrument, instrument.items)
    decimals = instrument.scoring.decimals
    return Score(
        instrument=instrument.id,
        version=instrument.version,
        value=_rules.present(total, decimals),
        min=_rules.present(low, decimals),
        max=_rules.present(high, decimals),
        unit="percent"
        if instrument.scoring.method is ScoringMethod.PERCENT_OF_ANSWERED
        else "points",
        band=band.id if band else None,
        band_label=band.label if band else None,
        stratum=stratum.id if stratum else None,
        stratum_label=stratum.label if stratum else None,
        care=stratum.care if stratum else None,
        next_step=stratum.next_step if stratum else None,
        subscales={ident: _rules.present(value, decimals) for ident, value in values.items()},
        answered=len(answered),
        items=len(instrument.items),
        missing_items=missing,
        wording=instrument.wording.value,
    )


def score_many(
    administrations: Mapping[str, Answers], *, texts: str | Path | None = None
) -> dict[str, Score]:
    """Score several instruments at once (the intake's ``instruments`` object).

    The first invalid instrument raises its ``ScoringError``; none is silently skipped.
    """
    return {ident: score(ident, answers, texts=texts) for ident, answers in administrations.items()}


def _item_answers(instrument: Instrument, answers: Any) -> dict[str, int | None]:
    """Each item's answer (``None`` = unanswered), checked against its allowed scores."""
    if isinstance(answers, Mapping):
        unknown = [str(key) for key in answers if key not in instrument.item_ids]
        if unknown:
            raise ScoringError(
                instrument.id,
                unknown[0],
                f"unknown item; valid items: {', '.join(instrument.item_ids)}",
            )
        given = {ident: answers.get(ident) for ident in instrument.item_ids}
    elif isinstance(answers, Sequence) and not isinstance(answers, str | bytes):
        expected = len(instrument.items)
        if len(answers) != expected:
            item = instrument.items[len(answers)].id if len(answers) < expected else None
            raise ScoringError(
                instrument.id,
                item,
                f"expected {expected} answers (one per item, null for unanswered), "
                f"got {len(answers)}",
            )
        given = dict(zip(instrument.item_ids, answers, strict=True))
    else:
        raise ScoringError(
            instrument.id, None, "answers must be a list in item order or an object keyed by id"
        )
    for question in instrument.items:
        value = given[question.id]
        if value is None:
            continue
        allowed = instrument.allowed_scores(question)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScoringError(
                instrument.id,
                question.id,
                f"answer to item {question.number} must be a whole number "
                f"({_describe(allowed)}) or null, not {value!r}",
            )
        if value not in allowed:
            raise ScoringError(
                instrument.id,
                question.id,
                f"{value} is not a valid answer to item {question.number}; allowed: "
                f"{_describe(allowed)}",
            )
    return given


def _describe(allowed: tuple[int, ...]) -> str:
    """``0 to 5`` for a run of whole numbers, else ``0, 2, 4``."""
    if list(allowed) == list(range(allowed[0], allowed[-1] + 1)) and len(allowed) > 2:
        return f"{allowed[0]} to {allowed[-1]}"
    return ", ".join(str(value) for value in allowed)
