"""The phrase notation compiles to the spaCy patterns its documentation promises."""

from __future__ import annotations

import pytest

from backpath.nlp._patterns import (
    PhraseError,
    compile_for_matching,
    compile_phrase,
    expand_macros,
)
from backpath.nlp._pipeline import phrase_tokenizer

TOKENIZE = phrase_tokenizer()


def test_contractions_match_on_norm() -> None:
    """ "can't" compiles to the norms can + not, which also match "cant" and "cannot"."""
    literals, patterns = compile_for_matching("can't pee", {}, TOKENIZE)
    assert literals == [["can", "not", "pee"]]
    assert patterns == []
    assert TOKENIZE("cant pee") == TOKENIZE("cannot pee") == ["can", "not", "pee"]


def test_choices_expand_to_literal_sequences() -> None:
    """A choice of words expands to one literal sequence per option."""
    literals, _ = compile_for_matching("(numb|dead) (bum|bottom)", {}, TOKENIZE)
    assert sorted(literals) == [
        ["dead", "bottom"],
        ["dead", "bum"],
        ["numb", "bottom"],
        ["numb", "bum"],
    ]


def test_optional_group_with_question_mark() -> None:
    """'(the)?' is the same as '(the|)': the word may be missing."""
    literals, _ = compile_for_matching("pain in (the)? back", {}, TOKENIZE)
    assert sorted(literals) == [["pain", "in", "back"], ["pain", "in", "the", "back"]]


def test_macros_expand_and_flatten_inside_choices() -> None:
    """A macro used as a choice option adds its own options to the choice."""
    macros = {"PEE": "(pee|wee)"}
    assert expand_macros("can't ($PEE|urinate)", macros) == "can't ((pee|wee)|urinate)"
    literals, _ = compile_for_matching("can't ($PEE|urinate)", macros, TOKENIZE)
    assert sorted(w[-1] for w in literals) == ["pee", "urinate", "wee"]


def test_gap_becomes_a_bounded_wildcard_that_stops_at_negation() -> None:
    """'*3' matches up to three words but never a negation or punctuation."""
    patterns = compile_phrase("numb *3 bum", {}, TOKENIZE)
    gap = patterns[0][1]
    assert gap["OP"] == "{0,3}"
    assert "not" in gap["NORM"]["NOT_IN"]
    assert "," in gap["NORM"]["NOT_IN"]


def test_single_word_choices_become_one_in_test_in_patterns() -> None:
    """With a gap, a choice of single words is one IN test, not one pattern per word."""
    patterns = compile_phrase("(numb|dead|tingly) *2 (bum|bottom)", {}, TOKENIZE)
    assert len(patterns) == 1
    assert patterns[0][0] == {"NORM": {"IN": ["dead", "numb", "tingly"]}}


def test_fuzzy_word_allows_one_typing_error() -> None:
    """'numbness~' compiles to a FUZZY1 test."""
    assert compile_phrase("numbness~", {}, TOKENIZE) == [[{"NORM": {"FUZZY1": "numbness"}}]]


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("(numb|dead", "unclosed"),
        ("numb)", "unmatched"),
        ("$MISSING pain", "unknown macro"),
        ("numb~", "fuzzy word"),
        ("(a (b|c))", "choice inside a longer option"),
        ("(the)?", "can match nothing"),
        ("<bogus>", "unknown token class"),
    ],
)
def test_misused_notation_fails_with_a_readable_message(phrase: str, message: str) -> None:
    """Every misuse of the notation raises PhraseError saying what is wrong."""
    with pytest.raises(PhraseError, match=message):
        compile_for_matching(phrase, {}, TOKENIZE)
