"""Narrative reading: a person's own words -> findings with certainty and evidence spans.

People rarely volunteer what matters most ("I can't really feel the toilet paper"). This
package reads free text with spaCy + medspaCy (TargetMatcher and ConText) and returns
findings of the vocabulary in ``knowledge/findings.yaml``, each with the words it rests on.
The lexicon and context rules are data in ``knowledge/nlp/``.

Public API::

    from backpath.nlp import read_narrative
    reading = read_narrative("my left leg is numb and I can't pee, no fever")
    reading.findings      # list[backpath.intake.NarrativeFinding]
    reading.understood    # False for empty or non-English text: nothing is ruled out
    reading.answers()     # one value per code, resolved safety-first
    reading.unresolved_danger_words  # ("blood",): danger words no finding explains

The core is pure: no clock (pass ``today`` for "since Monday"), no I/O beyond reading the
knowledge files once.
"""

from __future__ import annotations

from backpath.nlp._knowledge import load_nlp_knowledge, validate_nlp_knowledge
from backpath.nlp._reader import (
    CERTAINTIES,
    DANGER_WORDS_PROBLEM,
    MAX_NARRATIVE_CHARS,
    NarrativeReading,
    read_narrative,
)

__all__ = [
    "CERTAINTIES",
    "DANGER_WORDS_PROBLEM",
    "MAX_NARRATIVE_CHARS",
    "NarrativeReading",
    "load_nlp_knowledge",
    "read_narrative",
    "validate_nlp_knowledge",
]
