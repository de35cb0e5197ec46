"""The closed schema of an instrument definition (``knowledge/instruments/<id>.yaml``).

Every model forbids unknown keys, so a typo in an instrument file fails at load time with the
file, the instrument id and the valid keys. The models only describe *shape*; the clinical
content (items, bands, strata, minimal important change) is data. Cross-field checks that
need the whole instrument (bands cover the score range, strata never overlap...) live in
``backpath.instruments.catalogue``.
"""

from __future__ import annotations

from enum import StrEnum
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ID = r"^[a-z][a-z0-9_]*$"

#: The name a stratum condition uses for the instrument's main score.
TOTAL = "total"


class Closed(BaseModel):
    """A model that rejects unknown keys and is immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Wording(StrEnum):
    """Which item wording an output was produced with.

    ``paraphrase``: backpath's own words, shipped in the repository (never the licensed text).
    ``official``: the licensed wording, loaded from a file the clinic supplies.
    """

    PARAPHRASE = "paraphrase"
    OFFICIAL = "official"


class ScoringMethod(StrEnum):
    """How item scores combine into one number.

    ``sum``: add the item scores (STarT Back, RMDQ, SBI, NRS).
    ``mean``: average of the answered item scores (PEG).
    ``percent_of_answered``: sum / (highest possible sum of the answered items) x 100, so an
    unanswered item leaves the denominator instead of counting as zero (ODI).
    """

    SUM = "sum"
    MEAN = "mean"
    PERCENT_OF_ANSWERED = "percent_of_answered"


class ResponseOption(Closed):
    """One answer a person can give to an item, and the score it carries."""

    score: int = Field(ge=0)
    text: str = Field(min_length=1)


class ResponseSet(Closed):
    """Answer options shared by several items (for example agree / disagree)."""

    id: str = Field(pattern=_ID)
    options: tuple[ResponseOption, ...] = Field(min_length=2)


class Item(Closed):
    """One question of an instrument.

    ``responses`` names a shared response set; ``options`` lists the answers inline (for
    instruments such as the ODI whose every section has its own statements). Exactly one of
    the two is given.
    """

    id: str = Field(pattern=_ID)
    number: int = Field(ge=1)
    text: str = Field(min_length=1)
    measures: str | None = None
    responses: str | None = Field(default=None, pattern=_ID)
    options: tuple[ResponseOption, ...] | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def _one_source_of_options(self) -> Item:
        if (self.responses is None) == (self.options is None):
            raise ValueError("give exactly one of 'responses' (a response set id) or 'options'")
        return self


class Subscale(Closed):
    """A score over some of the items (for example STarT Back's psychosocial subscale)."""

    id: str = Field(pattern=_ID)
    name: str
    method: ScoringMethod = ScoringMethod.SUM
    items: tuple[str, ...] = Field(min_length=1)
    meaning: str

    @field_validator("id")
    @classmethod
    def _not_total(cls, ident: str) -> str:
        if ident == TOTAL:
            raise ValueError(f"{TOTAL!r} is reserved for the instrument's main score")
        return ident


class Scoring(Closed):
    """How the instrument's score is computed; ``decimals`` is for display only."""

    method: ScoringMethod
    decimals: int = Field(default=1, ge=0, le=3)
    note: str
    subscales: tuple[Subscale, ...] = ()


class MissingData(Closed):
    """How unanswered items are handled.

    At most ``max_missing`` items may be unanswered; with more, the instrument is not scored
    and a ``ScoringError`` says why. ``verified`` is false when the threshold is a backpath
    assumption rather than published guidance.
    """

    max_missing: int = Field(ge=0)
    rule: str
    verified: bool
    note: str | None = None


class Band(Closed):
    """An interpretation band, with published inclusive limits ``min``-``max``.

    A value above the previous band's ``max`` and up to this band's ``max`` belongs here, so
    fractional values in a gap between published whole-number bands go to the higher band.
    """

    id: str = Field(pattern=_ID)
    label: str
    min: float
    max: float
    meaning: str

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    @property
    def upper(self) -> Fraction:
        """The inclusive upper limit as an exact number."""
        return Fraction(str(self.max))


class Interpretation(Closed):
    """Interpretation bands of the main score, in ascending order."""

    verified: bool
    note: str
    bands: tuple[Band, ...] = Field(min_length=1)


class Bound(Closed):
    """One condition of a stratum: ``min <= score <= max`` (both inclusive, either optional).

    ``score`` is ``total`` (the instrument's main score) or a subscale id.
    """

    score: str = Field(pattern=_ID)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some_limit(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def holds(self, value: Fraction) -> bool:
        """Whether ``value`` lies within the limits (inclusive)."""
        if self.min is not None and value < Fraction(str(self.min)):
            return False
        return not (self.max is not None and value > Fraction(str(self.max)))


class Stratum(Closed):
    """A risk stratum: applies when every condition in ``when`` holds.

    ``care`` is the matched care in clinician words and ``next_step`` the id of the care
    plan's next step that it feeds (for example ``physiotherapy``).
    """

    id: str = Field(pattern=_ID)
    label: str
    when: tuple[Bound, ...] = Field(min_length=1)
    meaning: str
    care: str
    next_step: str = Field(pattern=_ID)

    def applies(self, values: dict[str, Fraction]) -> bool:
        """Whether every condition holds for these exact scores (``total`` and subscales)."""
        return all(bound.holds(values[bound.score]) for bound in self.when)


class Stratification(Closed):
    """Risk strata, listed from lowest to highest risk; exactly one applies to any answers."""

    verified: bool
    note: str
    strata: tuple[Stratum, ...] = Field(min_length=2)


class MinimalImportantChange(Closed):
    """The smallest change that matters to a patient.

    A change is clinically important when its size reaches ``absolute`` points OR
    ``relative_percent`` % of the baseline value (the ``either`` rule, Ostelo 2008).
    """

    absolute: float = Field(gt=0)
    relative_percent: float = Field(gt=0, le=100)
    rule: Literal["either"] = "either"
    verified: bool
    note: str


class Licence(Closed):
    """Who owns the instrument and what use of its official text requires."""

    holder: str
    note: str
    verified: bool
    url: str | None = None


class Reference(Closed):
    """A published source for the instrument; needs a DOI or, failing that, a URL."""

    citation: str
    doi: str | None = None
    url: str | None = None
    verified: bool

    @field_validator("doi")
    @classmethod
    def _doi_shape(cls, doi: str | None) -> str | None:
        if doi is not None and not doi.startswith("10."):
            raise ValueError("a DOI starts with '10.'")
        return doi

    @model_validator(mode="after")
    def _findable(self) -> Reference:
        if self.doi is None and self.url is None:
            raise ValueError("give a 'doi' or, when there is none, a 'url'")
        return self


class Instrument(Closed):
    """A validated outcome or screening instrument, as declared in its YAML file."""

    id: str = Field(pattern=_ID)
    name: str
    short_name: str
    version: str
    measures: str
    higher_is: Literal["worse", "better"]
    recall_period: str
    instructions: str
    wording: Wording
    response_sets: tuple[ResponseSet, ...] = ()
    items: tuple[Item, ...] = Field(min_length=1)
    scoring: Scoring
    missing_data: MissingData
    interpretation: Interpretation | None = None
    stratification: Stratification | None = None
    minimal_important_change: MinimalImportantChange
    licence: Licence
    references: tuple[Reference, ...] = Field(min_length=1)

    def options_for(self, item: Item) -> tuple[ResponseOption, ...]:
        """The answer options of ``item`` (inline, or from its response set)."""
        if item.options is not None:
            return item.options
        for response_set in self.response_sets:
            if response_set.id == item.responses:
                return response_set.options
        raise KeyError(f"{self.id}.{item.id}: unknown response set {item.responses!r}")

    def allowed_scores(self, item: Item) -> tuple[int, ...]:
        """The distinct scores an answer to ``item`` may carry, ascending."""
        return tuple(sorted({option.score for option in self.options_for(item)}))

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Item ids in questionnaire order."""
        return tuple(item.id for item in self.items)
