"""Is this narrative English? A cheap, model-free check that fails safe.

A narrative the reader cannot understand must never be read as "no red flags". The check
counts the words that English explains (spaCy's English stop words, every word of the
lexicon, and an everyday word list in ``knowledge/nlp/language.yaml``) and the words that
only another language's stop-word list explains (Spanish, French, German, Italian,
Portuguese, Dutch, Polish - the lists ship with spaCy, nothing is downloaded).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_OTHER_LANGUAGES = ("es", "fr", "de", "it", "pt", "nl", "pl")
# Below this share of English-explained words a text of several words is not English.
MIN_ENGLISH_SHARE = 0.45
# Texts shorter than this many words are judged only by "does any word look English".
SHORT_TEXT_WORDS = 4


@dataclass(frozen=True)
class LanguageGuess:
    """The result of the language check: best-guess code, whether it is English, and why."""

    language: str
    english: bool
    english_share: float
    reason: str


@functools.cache
def _stop_words(code: str) -> frozenset[str]:
    """spaCy's stop words for a language, read from ``spacy/lang/<code>/stop_words.py``.

    The file is loaded on its own: importing ``spacy.lang.<code>.stop_words`` would first
    import the language package, whose tokenizer exceptions take over a second to compile
    for French. The stop-word files are plain Python with no imports.
    """
    lang = importlib.import_module("spacy.lang")
    path = Path(next(iter(lang.__path__))) / code / "stop_words.py"
    spec = importlib.util.spec_from_file_location(f"_backpath_stop_words_{code}", path)
    if spec is None or spec.loader is None:  # pragma: no cover - spaCy always ships them
        module = importlib.import_module(f"spacy.lang.{code}.stop_words")
    else:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return frozenset(word.lower() for word in module.STOP_WORDS)


def guess_language(words: Iterable[str], english_words: frozenset[str]) -> LanguageGuess:
    """Guess the language of some lower-case alphabetic words.

    ``english_words`` is the reader's English vocabulary (lexicon + everyday words); it is
    added to spaCy's English stop words.
    """
    tokens = [word for word in words if word.isalpha()]
    if not tokens:
        return LanguageGuess("und", False, 0.0, "the narrative contains no words")
    english = _stop_words("en") | english_words
    english_hits = sum(1 for word in tokens if word in english)
    share = english_hits / len(tokens)
    best_other, best_hits = "und", 0
    for code in _OTHER_LANGUAGES:
        hits = sum(1 for word in tokens if word in _stop_words(code) and word not in english)
        if hits > best_hits:
            best_other, best_hits = code, hits
    if best_hits > english_hits or (
        best_hits >= 2 and best_hits >= english_hits * 0.75 and share < 0.6
    ):
        return LanguageGuess(
            best_other, False, share, f"the narrative looks like '{best_other}', not English"
        )
    if len(tokens) < SHORT_TEXT_WORDS:
        if english_hits:
            return LanguageGuess("en", True, share, "short English text")
        return LanguageGuess(
            best_other, False, share, "none of its words are English words this reader knows"
        )
    if share < MIN_ENGLISH_SHARE:
        return LanguageGuess(
            best_other,
            False,
            share,
            f"only {share:.0%} of its words are English words this reader knows",
        )
    return LanguageGuess("en", True, share, "English")
