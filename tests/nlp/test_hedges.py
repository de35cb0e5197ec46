"""Hedges, double negatives and concessions (issue 11): uncertain is never a "no"."""

from __future__ import annotations

import pytest

from backpath.kb import load_knowledge
from backpath.nlp import read_narrative


def _finding(text: str, code: str) -> tuple[object, str]:
    """(value, certainty) of the resolved mention of ``code`` (a true one first)."""
    findings = [f for f in read_narrative(text).findings if f.code == code]
    assert findings, f"{code} not found in {text!r}"
    best = next((f for f in findings if f.value is True), findings[0])
    return best.value, best.certainty


def test_the_triage_counts_an_uncertain_red_flag_as_present() -> None:
    assert "uncertain" in load_knowledge().manifest.narrative.counts_as_present


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("I'm not sure if I can feel the toilet paper", "saddle_numbness"),
        ("I dont know whether I can feel it when I wipe", "saddle_numbness"),
        ("I think maybe my left leg is a bit weak", "leg_weakness"),
        ("my bum is sort of numb", "saddle_numbness"),
        ("I might have leaked a little when I coughed", "urinary_incontinence"),
        ("I don't know if I can tell when my bladder is full anymore", "urinary_sensation_change"),
        ("I'm not sure I can feel when I need a poo", "bowel_incontinence"),
        ("I don't know whether I'm emptying my bladder properly", "urinary_retention"),
        ("I don't really know if I have control of my bladder", "urinary_incontinence"),
        ("it's hard to say whether my legs are weaker", "leg_weakness"),
        ("I can't rule out that I've wet myself in my sleep", "urinary_incontinence"),
    ],
)
def test_hedges_and_doubts_make_a_red_flag_uncertain_and_present(text: str, code: str) -> None:
    value, certainty = _finding(text, code)
    assert value is True
    assert certainty in ("uncertain", "affirmed")


def test_a_doubted_normal_is_uncertain_but_a_plain_normal_is_a_no() -> None:
    assert _finding("I'm not sure if I can feel the toilet paper", "saddle_numbness") == (
        True,
        "uncertain",
    )
    assert _finding("I can feel the toilet paper", "saddle_numbness") == (False, "negated")
    assert (
        _finding("I think I can feel everything down there normally", "saddle_numbness")[0] is False
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Can't say I've noticed any numbness down below", "saddle_numbness"),
        ("I haven't noticed any numbness", "leg_numbness"),
        ("Haven't noticed any weakness in my legs", "leg_weakness"),
        ("I can't honestly say I've noticed any weakness in my legs", "leg_weakness"),
        ("I've not noticed any change in my waterworks", "urinary_incontinence"),
        ("Numbness down there? Not that I've noticed.", "saddle_numbness"),
        ("not sure whether it matters, no numbness", "leg_numbness"),
    ],
)
def test_cant_say_ive_noticed_is_a_negation(text: str, code: str) -> None:
    assert _finding(text, code) == (False, "negated")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "I wouldn't say I don't have numbness down there, it does feel odd when I wipe",
            "saddle_numbness",
        ),
        ("I wouldn't say I can feel the paper properly when I wipe", "saddle_numbness"),
        ("It's not as if I don't have numbness in my bum", "saddle_numbness"),
        ("I wouldn't say I have no feeling in my legs", "leg_numbness"),
    ],
)
def test_a_double_negative_is_present(text: str, code: str) -> None:
    assert _finding(text, code)[0] is True


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "I don't think I've lost control\u2026 but I did leak a bit yesterday",
            "urinary_incontinence",
        ),
        ("I haven't wet myself, but I did once", "urinary_incontinence"),
        ("No accidents with my bowels. Well, I did have one", "bowel_incontinence"),
        ("haven't noticed any leaking, though I did wet the bed once", "urinary_incontinence"),
        ("No leaks at all. OK, one small leak when I sneezed.", "urinary_incontinence"),
    ],
)
def test_a_concession_after_a_denial_is_an_affirmation(text: str, code: str) -> None:
    assert read_narrative(text).answers()[code] is True


def test_a_no_that_starts_a_statement_is_not_an_answer() -> None:
    answers = read_narrative("Is this sciatica in my left leg? No fever though.").answers()
    assert answers.get("fever") is False
    assert answers.get("leg_pain") is not False


def test_a_concession_with_its_own_verb_denies_nothing_else() -> None:
    answers = read_narrative("I don't have any numbness but I do have a bit of tingling in my bum")
    assert answers.answers()["leg_numbness"] is False
    assert answers.answers()["saddle_numbness"] is True
