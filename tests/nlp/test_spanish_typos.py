"""Spanish typo correction for red-flag phrases (issue 11): real misspellings are read,
and real words that look like misspellings are left alone."""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative
from backpath.nlp._reader import get_speller


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("no pueo orinar desde ayer", "urinary_retention"),  # a dropped d
        ("no puedo horinar", "urinary_retention"),  # an added silent h
        ("no puedo orinár", "urinary_retention"),  # a stray accent
        ("q no puedo orinar", "urinary_retention"),  # "q" for "que"
        ("me ise pipi encima", "urinary_incontinence"),  # "ise" for "hice"
        ("me e echo caca encima", "bowel_incontinence"),  # "e echo" for "he hecho"
        ("ormigueo en las nalgas", "saddle_numbness"),  # a dropped h
        ("tengo adormesida la entrepierna", "saddle_numbness"),  # seseo: s for c
        ("tengo la vegiga llena y no puedo orinar", "urinary_retention"),  # g for j
    ],
)
def test_misspelt_spanish_red_flags_are_read(text: str, code: str) -> None:
    reading = read_narrative(text, language="es")
    assert reading.language == "es"
    assert reading.answers().get(code) is True, reading.findings


def test_the_evidence_keeps_the_words_as_written() -> None:
    text = "no pueo orinar desde ayer"
    reading = read_narrative(text, language="es")
    retention = [f for f in reading.findings if f.code == "urinary_retention"]
    assert retention
    start, end = retention[0].span
    assert text[start:end] == retention[0].text
    assert "pueo" in retention[0].text


@pytest.mark.parametrize(
    "word",
    ["orinal", "sentado", "mojado", "vejez", "lejos", "pasado", "pierna", "espalda", "que"],
)
def test_real_spanish_words_are_never_corrected(word: str) -> None:
    """Known words (the vocabulary and not_typos) are never changed."""
    assert get_speller("es")(word) is None


def test_fuzzy_spanish_matching_has_guards() -> None:
    """Short unknown words are only read through the list; a substitution that is neither a
    neighbouring key, a vowel nor a sound-alike letter is not a typo ("orinan" is not
    "orinar"); an accent alone is not a correction."""
    speller = get_speller("es")
    assert speller("ori") is None
    assert speller("orinán") is None
    assert speller("vegiga") == "vejiga"
    assert speller("bejiga") == "vejiga"
    assert speller("horinar") == "orinar"


def test_sound_alike_letters_are_spanish_only() -> None:
    """The English speller does not take b for v ("bomit" stays as written)."""
    assert get_speller()("bomit") is None
