"""Which language is this narrative in, and can a reader read it? (issue 11)

backpath reads English and Spanish (``READER_LANGUAGES``). A narrative is identified by
``lingua-language-detector`` (offline, its models ship in the wheel), restricted to the two
reader languages and the languages people most often write in instead (French, German,
Italian, Portuguese, Dutch, Polish), so that a text in one of those is named as such
rather than forced into English or Spanish. Text in another script (Chinese, Arabic,
Cyrillic ...) gets no confidence from any of them and is ``und``.

Statistical identification is weak on very short texts ("no", "lol", "numb bum"), so:

* a text given in a reader language (the intake's ``language``) that is plainly in it -
  eight or more words, enough of that language's own function words and few of the other
  languages', nearly every word known to its reader (``_clearly_in``) - is read in it
  without asking lingua, whose answer would be the same (a test checks every corpus
  narrative); lingua decides everything less plain;
* a text of ``STRONG_WORDS`` or more words whose best language has a confidence of
  ``STRONG_CONFIDENCE`` or more is in that language - unless that language has no reader
  and a reader's vocabulary knows ``KNOWN_SHARE_OVERRIDE`` of its words (lingua sometimes
  takes plain Spanish for Portuguese);
* otherwise the readers' own vocabularies decide between English and Spanish (every word
  of a reader's lexicon, context rules and measures, spaCy's stop words, and an everyday
  word list): the reader that knows more of the words wins, the language given with the
  narrative (the intake's ``language``) breaks a tie, then lingua's confidence does; when
  neither reader knows any word, lingua's best guess is kept;
* whatever was chosen, a reader only says it *understood* a text of 4 or more words when
  its vocabulary explains at least ``MIN_SHARE`` of them (a fail-safe against a wrong
  identification: an English reader that finds nothing in a Spanish text must never say
  "no red flags").

A narrative in a language with no reader is *not read*: ``NarrativeReading.understood`` is
False and its ``problems`` hold ``NOT_READ_PROBLEM``; the English reader still looks for
English red flags in it (a mixed "no puedo orinar, can't pee" keeps its "can't pee").
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Languages the narrative reader can read, each with its own knowledge and pipeline.
READER_LANGUAGES = ("en", "es")
# Languages identification can name: the readers' and the commonest others.
DETECTED_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl", "pl")
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "und": "an unknown language",
}  # fmt: skip
# The exact problem a reading reports when its language has no reader, or the reader of
# its language could not read it (``NarrativeReading.problems``).
NOT_READ_PROBLEM = "language_not_read"
# A text with at least this many words and this confidence is in lingua's best language.
STRONG_WORDS = 4
STRONG_CONFIDENCE = 0.7
# A text lingua gives to a language with no reader is still read when a reader's vocabulary
# knows at least this share of its words.
KNOWN_SHARE_OVERRIDE = 0.75
# A reader understands a text of SHORT_TEXT_WORDS or more words only when its vocabulary
# explains at least this share of them.
MIN_SHARE = 0.45
SHORT_TEXT_WORDS = 4
# A text given in a reader language is taken to be in it without asking lingua when it has
# this many words, this share of that language's marker words (``_clearly_in``) and this
# many times more of them than of other languages' marker words.
QUICK_MIN_WORDS = 8
QUICK_MARKER_SHARE = {"en": 0.2, "es": 0.1}
QUICK_FOREIGN_RATIO = 4
# Code-switching (issue 11, third red team: "tengo fever y chills, la pierna se siente
# weak"): the other reader also reads a text when at least this many of its words, and
# this share of them, are function words only the other reader language has.
MIXED_MIN_MARKERS = 1
MIXED_MARKER_SHARE = 0.04
# English contraction stems ("don't" -> "don"); a word after an apostrophe is not counted.
_ENGLISH_STEMS = frozenset(
    [
        "don",
        "doesn",
        "didn",
        "isn",
        "wasn",
        "aren",
        "weren",
        "haven",
        "hasn",
        "hadn",
        "couldn",
        "wouldn",
        "shouldn",
        "won",
        "ain",
        "can",
    ]
)
_WORD = re.compile(r"(?<!['\u2019])[^\W\d_]+")


@dataclass(frozen=True)
class LanguageGuess:
    """What the language check decided.

    ``language``: the language the text is in ("en", "es", "fr", ..., "und");
    ``reader``: the reader language that reads it, or None when no reader does;
    ``confidence``: lingua's confidence for ``language`` (0 when it was not asked);
    ``reason``: in plain words, why.
    """

    language: str
    reader: str | None
    confidence: float
    reason: str

    @property
    def english(self) -> bool:
        """Kept for callers of the first language check: read by the English reader."""
        return self.reader == "en"


@dataclass(frozen=True)
class Coverage:
    """How much of a text a reader's vocabulary explains, and whether that is enough."""

    understood: bool
    share: float
    reason: str


def text_normaliser(language: str) -> Callable[[str], str]:
    """The character normalisation of a reader language, applied to narratives and to
    lexicon words alike: ``_normalise.normalise_text``, and for Spanish no accents."""
    from backpath.nlp._normalise import normalise_text

    if language == "es":
        from backpath.nlp._spanish import fold_accents

        return lambda text: fold_accents(normalise_text(text))
    return normalise_text


def measure_text(language: str, text: str) -> str:
    """The words of a measure as the value parsers (``_values``, English) read them."""
    if language == "es":
        from backpath.nlp._spanish import measure_words

        return measure_words(text)
    return text


def words_of(text: str) -> list[str]:
    """The lower-case words of a text, without the letters after an apostrophe."""
    return [word.lower() for word in _WORD.findall(text)]


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


def fold(language: str, word: str) -> str:
    """A word as the reader of ``language`` matches it (Spanish reads without accents)."""
    if language == "es":
        from backpath.nlp._spanish import fold_accents

        return fold_accents(word)
    return word


@functools.cache
def reader_vocabulary(language: str) -> frozenset[str]:
    """Every word the reader of ``language`` knows, as it matches them.

    The words of its lexicon, context rules, measures and macros, the danger words of its
    language, its everyday word list and spaCy's stop words of the language.
    """
    from backpath.nlp._knowledge import load_nlp_knowledge, phrase_vocabulary

    knowledge = load_nlp_knowledge(language)
    words = set(phrase_vocabulary(knowledge))
    words |= knowledge.english_words if language == "en" else knowledge.everyday_words
    words |= _stop_words(language)
    if language == "en":
        words |= _ENGLISH_STEMS
    return frozenset(fold(language, word.lower()) for word in words)


@functools.cache
def _detector() -> Any:
    """lingua's detector for ``DETECTED_LANGUAGES``, or None when lingua is not installed.

    Built once; its models (about 220 MB for the eight languages) load on first use.
    """
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
        for code in DETECTED_LANGUAGES
    ]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def confidences(text: str) -> dict[str, float]:
    """lingua's confidence for each language of ``DETECTED_LANGUAGES`` (all 0 for text in
    another script; empty when lingua is not installed)."""
    detector = _detector()
    if detector is None:  # pragma: no cover - a declared dependency
        return {}
    values = detector.compute_language_confidence_values(text)
    return {value.language.iso_code_639_1.name.lower(): float(value.value) for value in values}


@functools.cache
def _known_words(language: str) -> dict[str, bool]:
    """Per reader language, whether each word seen so far is in its vocabulary (as the
    reader folds it): a cache, so that each word is folded and looked up once."""
    return {}


def _hits(words: Iterable[str], language: str) -> int:
    """How many of ``words`` the reader of ``language`` knows."""
    known = _known_words(language)
    count = 0
    for word in words:
        hit = known.get(word)
        if hit is None:
            hit = fold(language, word) in reader_vocabulary(language)
            if len(known) < 200_000:
                known[word] = hit
        count += hit
    return count


def identify_language(text: str, hint: str | None = None) -> LanguageGuess:
    """The language of a narrative and the reader that reads it (see the module notes).

    ``hint`` is the language given with the narrative (the intake's ``language``); it
    decides only when the text itself does not (a short "no" is English for an English
    form and Spanish for a Spanish one).
    """
    words = words_of(text)
    if not words:
        return LanguageGuess("und", None, 0.0, "the narrative contains no words")
    if hint in READER_LANGUAGES and _clearly_in(words, hint):
        # lingua would name the given language too (``tests/nlp/
        # test_speed_equivalence_language.py`` checks it on every corpus narrative).
        return _guess(hint, 0.0, f"the narrative is in {LANGUAGE_NAMES[hint]}")
    values = confidences(text[:5000])
    top, top_value = max(values.items(), key=lambda item: item[1], default=("und", 0.0))
    if values and top_value <= 0.0:
        return LanguageGuess(
            "und", None, 0.0, "it is written in a language or script this reader does not know"
        )
    hits = {language: _hits(words, language) for language in READER_LANGUAGES}
    if len(words) >= STRONG_WORDS and top_value >= STRONG_CONFIDENCE:
        if top not in READER_LANGUAGES:
            # lingua can take plain Spanish for Portuguese ("No me caí ni me golpeé,
            # simplemente me levanté ..." -> pt 0.74): a reader that knows nearly every word
            # reads it. Portuguese or Italian texts share far fewer words (about a third).
            best = max(READER_LANGUAGES, key=lambda language: hits[language])
            if hits[best] / len(words) >= KNOWN_SHARE_OVERRIDE:
                return _guess(
                    best,
                    values.get(best, 0.0),
                    f"it looks like {LANGUAGE_NAMES[top]}, but nearly all its words are "
                    f"{LANGUAGE_NAMES[best]} words this reader knows",
                )
        return _guess(top, top_value, f"the narrative is in {LANGUAGE_NAMES[top]}")
    if any(hits.values()):
        # Without a language given, a tie is English (the reader's first language).
        prior = hint if hint in READER_LANGUAGES else READER_LANGUAGES[0]
        best = max(
            READER_LANGUAGES,
            key=lambda language: (hits[language], language == prior, values.get(language, 0.0)),
        )
        return _guess(
            best,
            values.get(best, 0.0),
            f"most of its words are {LANGUAGE_NAMES[best]} words this reader knows",
        )
    if top == "und":  # pragma: no cover - only without lingua
        return LanguageGuess("und", None, 0.0, "none of its words are words this reader knows")
    return _guess(top, top_value, f"it looks like {LANGUAGE_NAMES[top]}")


@functools.cache
def _marker_words(language: str) -> tuple[frozenset[str], frozenset[str]]:
    """Function words that tell ``language`` apart among ``DETECTED_LANGUAGES``: spaCy's
    stop words of ``language`` that no other of them has ("the", "with"; "tengo",
    "estoy"), and those of the others that ``language`` does not have ("não", "und")."""
    own = set(_stop_words(language))
    foreign: set[str] = set()
    for other in DETECTED_LANGUAGES:
        if other != language:
            own -= _stop_words(other)
            foreign |= _stop_words(other)
    return frozenset(own), frozenset(foreign - _stop_words(language))


def _clearly_in(words: list[str], language: str) -> bool:
    """Whether a text is plainly in the reader language given with it, so that lingua need
    not be asked (it takes about a quarter of a 50-word reading; issue 11).

    Plainly: ``QUICK_MIN_WORDS`` words or more; its own marker words (``_marker_words``)
    make at least ``QUICK_MARKER_SHARE`` of them (Spanish shares most of its function
    words with Portuguese and Italian, so fewer are needed), and at least
    ``QUICK_FOREIGN_RATIO`` times the marker words of the other languages; and the reader's
    vocabulary knows ``KNOWN_SHARE_OVERRIDE`` of its words, more than any other reader's.
    Anything less certain, a mixed text, a short one, goes to lingua as before."""
    if len(words) < QUICK_MIN_WORDS:
        return False
    own, foreign = _marker_words(language)
    own_count = 0
    foreign_count = 0
    for word in words:
        if word in own:
            own_count += 1
        elif word in foreign:
            foreign_count += 1
    if own_count < max(3.0, QUICK_MARKER_SHARE[language] * len(words)):
        return False
    if foreign_count * QUICK_FOREIGN_RATIO > own_count:
        return False
    known = _hits(words, language)
    if known < KNOWN_SHARE_OVERRIDE * len(words):
        return False
    return all(known > _hits(words, other) for other in READER_LANGUAGES if other != language)


def mixed_with(words: list[str], reader: str) -> str | None:
    """The other reader language when a text read by ``reader`` mixes it in
    (Spanglish: "my back me duele, tengo fever y chills"), else ``None``.

    Mixed: the other language's own function words ("tengo", "y", "la"; "the", "my",
    "since") make at least ``MIXED_MIN_MARKERS`` of the text's words and
    ``MIXED_MARKER_SHARE`` of them. A plain English or Spanish text has almost none of the
    other's, so it is read once, as before.
    """
    tokens = [word.lower() for word in words if word.isalpha()]
    if not tokens:
        return None
    for other in READER_LANGUAGES:
        if other == reader:
            continue
        own, _foreign = _marker_words(other)
        markers = sum(1 for word in tokens if fold(other, word) in own or word in own)
        if markers >= MIXED_MIN_MARKERS and markers / len(tokens) >= MIXED_MARKER_SHARE:
            return other
    return None


def _guess(language: str, confidence: float, reason: str) -> LanguageGuess:
    reader = language if language in READER_LANGUAGES else None
    return LanguageGuess(language, reader, confidence, reason)


def check_coverage(words: Iterable[str], language: str) -> Coverage:
    """Whether the reader of ``language`` knows enough of ``words`` (as it tokenized them)."""
    tokens = [word for word in words if word.isalpha()]
    if not tokens:
        return Coverage(False, 0.0, "the narrative contains no words")
    known = _hits(tokens, language)
    share = known / len(tokens)
    name = LANGUAGE_NAMES[language]
    if len(tokens) < SHORT_TEXT_WORDS:
        if known:
            return Coverage(True, share, f"short {name} text")
        return Coverage(False, share, f"none of its words are {name} words this reader knows")
    if share < MIN_SHARE:
        return Coverage(
            False, share, f"only {share:.0%} of its words are {name} words this reader knows"
        )
    return Coverage(True, share, name)


def not_read_note(guess: LanguageGuess, coverage: Coverage | None) -> str:
    """The plain-words problem for a narrative that was not read."""
    readable = " and ".join(LANGUAGE_NAMES[code] for code in READER_LANGUAGES)
    if guess.reader is None:
        why = guess.reason
    else:
        why = coverage.reason if coverage is not None else guess.reason
    return (
        f"not understood: {why}; this reader reads {readable}; "
        "red flags cannot be ruled out from this text"
    )
