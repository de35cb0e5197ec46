"""Skipping lingua never changes a reading (issue 11, speed at realistic lengths).

``identify_language`` takes a text given in a reader language to be in it, without asking
lingua, when the text is plainly in that language (``_language._clearly_in``). The fast
and reference readers share that step, so ``test_fast_equivalence`` cannot see a wrong
skip; here every corpus narrative (and the benchmark's 50-, 150- and 400-word texts) is
checked against lingua's path: wherever the quick check says "plainly English" or
"plainly Spanish", with the narrative's own language or the other reader's given, the
full identification names the same language and reader - and so the reading is the same
(the reason is read only when no reader reads the text, and the skip always has one).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from backpath.nlp import _language, read_narrative
from backpath.nlp._language import (
    READER_LANGUAGES,
    _clearly_in,
    identify_language,
    words_of,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fast_equivalence import CORPUS  # noqa: E402


def _benchmark_texts() -> list[tuple[str, str, str]]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import nlp_speed

    out: list[tuple[str, str, str]] = []
    for language in READER_LANGUAGES:
        for length in nlp_speed.LENGTHS:
            for index, text in enumerate(nlp_speed.narratives_of_length(length, language=language)):
                out.append((f"benchmark {language} {length}#{index}", text, language))
    return out


def _full(text: str, hint: str) -> _language.LanguageGuess:
    """``identify_language`` with the quick check turned off (lingua always asked)."""
    original = _language._clearly_in
    _language._clearly_in = lambda words, language: False  # type: ignore[assignment]
    try:
        return identify_language(text, hint)
    finally:
        _language._clearly_in = original  # type: ignore[assignment]


@pytest.mark.slow
def test_the_quick_language_check_agrees_with_lingua_wherever_it_is_used() -> None:
    fired = dict.fromkeys(READER_LANGUAGES, 0)
    different: list[str] = []
    for key, text, given in [*CORPUS, *_benchmark_texts()]:
        words = words_of(text)
        for hint in READER_LANGUAGES:
            if not words or not _clearly_in(words, hint):
                continue
            fired[hint] += 1
            quick = identify_language(text, hint)
            full = _full(text, hint)
            assert (quick.language, quick.reader) == (hint, hint)
            if (full.language, full.reader) != (quick.language, quick.reader):
                different.append(f"{key} (given {given}, hint {hint}): lingua {full}")
    assert not different, "\n".join(different[:10])
    # The check is used on most longer texts, or it saves nothing.
    assert fired["en"] > 500
    assert fired["es"] > 300


@pytest.mark.slow
def test_readings_with_and_without_the_quick_check_are_identical() -> None:
    """The whole reading, on the narratives where the check is used, both ways."""
    checked = 0
    for key, text, given in CORPUS:
        if given not in READER_LANGUAGES or not _clearly_in(words_of(text), given):
            continue
        quick = read_narrative(text, language=given)
        original = _language._clearly_in
        _language._clearly_in = lambda words, language: False  # type: ignore[assignment]
        try:
            full = read_narrative(text, language=given)
        finally:
            _language._clearly_in = original  # type: ignore[assignment]
        assert quick == full, key
        checked += 1
    assert checked > 500


def test_the_quick_check_leaves_doubtful_texts_to_lingua() -> None:
    """Short, mixed or foreign texts are never taken on the form's word."""
    assert not _clearly_in(words_of("my back hurts"), "en")  # too short
    spanish = "no puedo orinar desde ayer y no siento nada cuando me limpio la verdad"
    assert not _clearly_in(words_of(spanish), "en")
    portuguese = "eu não consigo urinar desde ontem e não sinto nada quando me limpo com o papel"
    assert not _clearly_in(words_of(portuguese), "es")
    assert not _clearly_in(words_of(portuguese), "en")
    english = "I have had back pain for the last three weeks and now my left leg is numb too"
    assert _clearly_in(words_of(english), "en")
    assert not _clearly_in(words_of(english), "es")
    mixed = "my back hurts and the pain is bad, no puedo orinar y tengo la pierna dormida"
    assert not _clearly_in(words_of(mixed), "en")
    assert not _clearly_in(words_of(mixed), "es")
    # Given as English, a Spanish text still goes to lingua and is read in Spanish.
    assert identify_language(spanish, "en").reader == "es"
