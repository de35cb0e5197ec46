"""Hedges, second round (issue 11, point 4): a doubted or hedged red flag is uncertain and
present, never a "no"; a plain denial stays a denial; a denied denial is a yes.

Sentences here are new, written for this test; the corpora are
tests/data/narratives/hedges_dev_v2.yaml and es_hedges_dev_v2.yaml.
"""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative
from tests.nlp._eval import load_eval


def _answer(text: str, code: str, language: str | None = None) -> object:
    return read_narrative(text, language=language).answers().get(code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # doubted "normal" phrases are possible symptoms
        ("not sure if I can feel myself when I wipe", "saddle_numbness"),
        ("honestly couldn't tell you if I can feel the loo seat", "saddle_numbness"),
        ("I wouldn't say I've got proper feeling round my bottom", "saddle_numbness"),
        ("hard to know if I need a wee or not", "urinary_sensation_change"),
        ("I wouldn't say I can hold my wee like before", "urinary_incontinence"),
        ("no idea whether my bowels need to go anymore", "bowel_incontinence"),
        # double negatives with a subject other than "I"
        ("I wouldn't say my feet aren't weaker", "leg_weakness"),
        # hedges inside the symptom phrase
        ("my right calf looks maybe a little swollen", "calf_swelling"),
        ("my pee has turned sort of pinkish", "blood_in_urine"),
        ("a bit leaky with my wee lately", "urinary_incontinence"),
        ("found a damp patch in my pants again", "urinary_incontinence"),
        # a correction after a denial
        (
            "I'm 9 weeks pregnant. No bleeding as such, well a tiny bit of spotting",
            "vaginal_bleeding",
        ),
    ],
)
def test_a_hedged_or_doubted_red_flag_is_present(text: str, code: str) -> None:
    assert _answer(text, code) is True


# Readings made in src/backpath/nlp/_reader.py (``_apply_concessive``,
# ``_apply_litotes_change``, recent dates of hedged mentions): a concession with its own
# object ("I did have an accident"), an elliptic "well, maybe a bit", a hedged symptom dated
# recently (ces_symptom_recent), and a sign named in the clause after its body part ("the
# paper, it just feels duller").
@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "Bowels are fine. Actually I did have an accident and didn't feel it coming",
            "bowel_incontinence",
        ),
        ("I'm not short of breath... well, maybe a bit when I lie flat", "breathless_now"),
        ("I'm not 100% sure but I think I wet the bed last night", "ces_symptom_recent"),
        # "it just feels duller" names no body part: the saddle word is in the clause before.
        (
            "It's not that I can't feel the paper, it just feels duller than it used to",
            "saddle_numbness",
        ),
    ],
)
def test_concessions_and_recent_hedges_that_need_a_code_change(text: str, code: str) -> None:
    """A concession, an elliptic hedge, a hedged recent symptom and a changed feeling after a
    litotes are each a yes."""
    assert _answer(text, code) is True


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("I can feel myself fine when I wipe", "saddle_numbness"),
        ("I've got full feeling down below", "saddle_numbness"),
        ("Can't say I've noticed any swelling in my calf", "calf_swelling"),
        ("I wouldn't say my legs are weak", "leg_weakness"),
        ("Weakness in my legs - not that I've noticed.", "leg_weakness"),
        ("No fever as far as I know", "fever"),
        # a concession or a hedge that says something else keeps the denial
        ("It's not that I can't pee, I pee fine", "urinary_retention"),
        ("No fever. Well, maybe I'm just tired", "fever"),
        ("I haven't wet myself, but maybe a bit of sweat", "urinary_incontinence"),
    ],
)
def test_a_plain_or_hedged_denial_stays_a_no(text: str, code: str) -> None:
    assert _answer(text, code) is False


def test_no_accidents_beside_a_leak_is_not_about_a_fall() -> None:
    answers = read_narrative(
        "No accidents, well, apart from one leak on the way to the loo"
    ).answers()
    assert answers.get("urinary_incontinence") is True
    assert "trauma_minor" not in answers
    assert "trauma_major" not in answers


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("no sé si noto bien el asiento del váter", "saddle_numbness"),
        ("no estoy seguro de si era sangre en las heces", "rectal_bleeding"),
        ("no sé si noto cuando tengo que ir a hacer caca", "bowel_incontinence"),
        ("me duele un poquito el pecho, será un tirón", "chest_pain"),
        ("tengo el gemelo derecho como algo hinchado", "calf_swelling"),
        ("creo que se me ha salido un poco de pis al toser", "urinary_incontinence"),
    ],
)
def test_spanish_hedges_and_doubts_are_present(text: str, code: str) -> None:
    assert _answer(text, code, "es") is True


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("no sé, pero no tengo fiebre", "fever"),
        ("noto bien el asiento del váter", "saddle_numbness"),
    ],
)
def test_spanish_denials_stay_a_no(text: str, code: str) -> None:
    assert _answer(text, code, "es") is False


def test_a_doubt_about_the_bowel_is_not_a_bladder_answer() -> None:
    answers = read_narrative("no sé si noto cuando tengo que ir a hacer caca", language="es")
    assert "urinary_sensation_change" not in answers.answers()


@pytest.mark.parametrize("language", ["en", "es"])
def test_hedges_v2_dev_corpus_finds_every_emergency_capable_finding(language: str) -> None:
    """The dev part of the second hedges corpus: positive recall on the emergency codes."""
    nlp_eval = load_eval()
    name = "hedges_dev_v2.yaml" if language == "en" else "es_hedges_dev_v2.yaml"
    narratives = [
        n
        for n in nlp_eval.load_corpus("dev", "hedges", language)
        if n.id.startswith("hd2-" if language == "en" else "eshd2-")
    ]
    assert len(narratives) >= (70 if language == "en" else 50), name
    found = wanted = 0
    for narrative in narratives:
        answers = read_narrative(narrative.text, language=language).answers()
        for code, value in narrative.findings.items():
            if code in nlp_eval.EMERGENCY_CODES and value is True:
                wanted += 1
                found += answers.get(code) is True
    # Known misses are listed in the helper report (code changes proposed, not made here).
    assert found / wanted >= (0.95 if language == "en" else 0.85), (found, wanted)
