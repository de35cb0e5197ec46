"""Narrative reading: a person's own words -> findings with certainty and evidence spans.

People rarely volunteer what matters most ("I can't really feel the toilet paper", "no
siento nada cuando me limpio"). This package reads free text with spaCy + medspaCy
(TargetMatcher and ConText) and returns findings of the vocabulary in
``knowledge/findings.yaml``, each with the words it rests on. The lexicon and context rules
are data in ``knowledge/nlp/`` (English) and ``knowledge/nlp/es/`` (Spanish). The
pipeline is built from them and is the reference; ``read_narrative`` matches with the
faster ``_fast`` reader built from the same pipeline, which must read every corpus
narrative exactly as the pipeline does (``tests/nlp/test_fast_equivalence.py``).

Public API::

    from backpath.nlp import read_narrative
    reading = read_narrative("my left leg is numb and I can't pee, no fever")
    reading = read_narrative("no puedo orinar desde ayer", language="es")
    reading.findings      # list[backpath.intake.NarrativeFinding]
    reading.understood    # False for empty text or a language with no reader
    reading.language      # "en", "es", or the language identified ("fr", "de", ..., "und")
    reading.answers()     # one value per code, resolved safety-first
    reading.unresolved_danger_words  # ("blood",): danger words no finding explains
    warm_up()             # build the English and Spanish readers now (start-up, any thread)

Language dispatch (issue 11): ``language`` is the language given with the narrative (the
intake's); the text is identified with ``lingua-language-detector`` and read by the English
or the Spanish reader - the given language decides only when the text itself does not
(``_language.identify_language``). A text in a language with no reader is *not read*:
``understood`` is False and ``problems`` starts with ``NOT_READ_PROBLEM``.

The core is pure: no clock (pass ``today`` for "since Monday"), no I/O beyond reading the
knowledge files once.
"""

from __future__ import annotations

from backpath.nlp._knowledge import load_nlp_knowledge, validate_nlp_knowledge
from backpath.nlp._language import (
    DETECTED_LANGUAGES,
    NOT_READ_PROBLEM,
    READER_LANGUAGES,
    identify_language,
)
from backpath.nlp._reader import (
    CERTAINTIES,
    DANGER_WORDS_PROBLEM,
    MAX_NARRATIVE_CHARS,
    NarrativeReading,
    read_narrative,
    warm_up,
)

__all__ = [
    "CERTAINTIES",
    "DANGER_WORDS_PROBLEM",
    "DETECTED_LANGUAGES",
    "MAX_NARRATIVE_CHARS",
    "NOT_READ_PROBLEM",
    "READER_LANGUAGES",
    "NarrativeReading",
    "identify_language",
    "load_nlp_knowledge",
    "read_narrative",
    "validate_nlp_knowledge",
    "warm_up",
]
