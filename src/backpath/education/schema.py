"""The closed schema of ``knowledge/handout.yaml`` (sections, layouts, block selection,
glossary, readability limits).

Every model forbids unknown keys, so a typo fails at load time with the file, the id and the
list of valid keys. Cross-checks against the knowledge base (does the block exist, is the
finding code known) are in :mod:`backpath.education.knowledge`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backpath.vocabulary import Concern, Urgency

_ID = r"^[a-z][a-z0-9_]*$"

#: What a section can take, in order. Assessment content (``actions``, ``advice``,
#: ``next_steps``, ``safety_net``, ``{ids: [...]}``) is placed once, in the first section
#: that takes it; ``next_steps_now`` are the next steps asked for by rules at the result's
#: own urgency (what happens at the hospital), ``next_steps`` the rest. ``urgency`` is the
#: result's headline and action (left out when a rule at the result's urgency gives its
#: own action, which says the same in more detail); ``reasons`` the patient messages of
#: the fired rules; ``selected`` the handout blocks chosen for the section; the rest are
#: printed parts filled in by the renderer (clinic, diary table, glossary).
TakeName = Literal[
    "urgency",
    "actions",
    "next_steps_now",
    "advice",
    "next_steps",
    "safety_net",
    "reasons",
    "selected",
    "emergency_number",
    "diary_table",
    "next_visit",
    "glossary",
    "contact",
]

#: How a section looks: ``alarm`` (red box), ``notice`` (tinted box), ``plain``, and the
#: special layouts of the diary page, the glossary and the clinic block.
SectionStyle = Literal["alarm", "notice", "plain", "diary", "glossary", "contact"]


class _Closed(BaseModel):
    """A model that rejects unknown keys and is immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TakeIds(_Closed):
    """Take these Assessment blocks (by advice id), if the Assessment has them."""

    ids: tuple[str, ...] = Field(min_length=1)


class SectionDef(_Closed):
    """One section of the handout: its heading (a ``ui`` key) and what it takes."""

    id: str = Field(pattern=_ID)
    heading: str
    style: SectionStyle = "plain"
    required: bool = False
    take: tuple[TakeName | TakeIds, ...] = Field(min_length=1)


class SelectedBy(_Closed):
    """Triggers for a handout block; any one that is true selects it.

    ``findings`` is a condition in the rule language and must be *true* (unknown is not
    enough); ``answers_include`` maps a multi-choice finding to values, one of which the
    answer must contain.
    """

    concerns: tuple[Concern, ...] = ()
    rules: tuple[str, ...] = ()
    findings: Any = None
    answers_include: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """True when no trigger is given (the block is then always selected)."""
        return not (
            self.concerns or self.rules or self.findings is not None or self.answers_include
        )


class BlockSelection(_Closed):
    """A handout block (an advice id) and when and where it is printed."""

    block: str = Field(pattern=_ID)
    section: str = Field(pattern=_ID)
    for_urgency: tuple[Urgency, ...] = Field(default=tuple(Urgency), min_length=1)
    selected_by: SelectedBy = Field(default_factory=SelectedBy)


class GlossaryDef(_Closed):
    """A glossary entry (an advice block: title = the word, body = what it means) and the
    terms, per language, whose presence in a handout prints it."""

    block: str = Field(pattern=_ID)
    terms: dict[str, tuple[str, ...]]

    @field_validator("terms")
    @classmethod
    def _non_empty_terms(cls, terms: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for language, words in terms.items():
            if not words or not all(word.strip() for word in words):
                raise ValueError(f"{language}: give at least one non-empty term")
        return terms


class ReadabilityDef(_Closed):
    """The limits the readability tests enforce on English patient text."""

    max_grade: float = Field(gt=0)
    max_sentence_words: int = Field(gt=0)
    familiar_words: tuple[str, ...] = ()


class DiaryDef(_Closed):
    """The pain and activity diary: how many days, and when it asks about leg pain."""

    days: int = Field(ge=1, le=31)
    leg_pain_column_when: Any


class HandoutFile(_Closed):
    """``knowledge/handout.yaml``."""

    sections: tuple[SectionDef, ...] = Field(min_length=1)
    layouts: dict[Urgency, tuple[str, ...]]
    blocks: tuple[BlockSelection, ...] = ()
    glossary: tuple[GlossaryDef, ...] = ()
    readability: ReadabilityDef
    diary: DiaryDef
    omit_lower_urgency: bool = True
