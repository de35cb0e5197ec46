"""Spanish hedges, third round (issue 11, point 4): what the dev part of
tests/data/narratives/es_hedges_dev_v2.yaml left open, read with the right value and
certainty (knowledge/nlp/es/lexicon/hedges_es_v3.yaml, the v3 rules at the end of
knowledge/nlp/es/context.yaml, and the Spanish concession of ``_reader._apply_concessive``).

Sentences here are new, written for this test in our own words.
"""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative


def _values(text: str, code: str) -> set[tuple[object, str]]:
    """Every (value, certainty) the Spanish reader gives ``code`` in ``text``."""
    reading = read_narrative(text, language="es")
    return {(f.value, f.certainty) for f in reading.findings if f.code == code}


@pytest.mark.parametrize(
    ("text", "code", "certainty"),
    [
        # a litotes, then the saddle area felt strange and numb in the next clause
        (
            "Tampoco es que no sienta nada ahí abajo, aunque lo siento raro, como dormido",
            "saddle_numbness",
            "uncertain",
        ),
        # less urine and a hard start
        ("igual estoy meando menos y me cuesta que salga", "urinary_retention", "affirmed"),
        # soiling beside a bowel that is "normal"
        (
            "Del vientre normal, aunque un par de veces me manché sin querer",
            "bowel_incontinence",
            "affirmed",
        ),
        # feeling hot and shivery after "no fever"
        (
            "No tengo fiebre, pero esta noche me notaba caliente y con escalofríos",
            "fever",
            "uncertain",
        ),
        # an elliptic concession in the next sentence
        ("No he tenido fiebre. Bueno, sí, anoche", "fever", "affirmed"),
        ("No tengo debilidad en las piernas. Bueno, un poco.", "leg_weakness", "uncertain"),
        # a hedged leak dated recently
        (
            "a lo mejor me hice pis encima ayer por la noche",
            "ces_symptom_recent",
            "uncertain",
        ),
        (
            "puede que se haya hecho pis encima esta tarde.",
            "ces_symptom_recent",
            "uncertain",
        ),
    ],
)
def test_a_hedged_or_conceded_red_flag_is_present(text: str, code: str, certainty: str) -> None:
    """A hedge, a correction after a denial or a hedged recent date is a yes, with the
    certainty the words give it."""
    assert (True, certainty) in _values(text, code)
    assert read_narrative(text, language="es").answers().get(code) is True


def test_the_saddle_numbness_after_a_litotes_is_not_the_leg() -> None:
    """The numb word of the saddle clause is not also leg numbness."""
    answers = read_narrative(
        "No es que no note nada ahí abajo, pero lo noto raro, algo adormecido", language="es"
    ).answers()
    assert answers.get("saddle_numbness") is True
    assert "leg_numbness" not in answers


def test_a_doubt_about_emptying_is_retention_not_bladder_feeling() -> None:
    """A doubt about emptying the bladder ("no sé si vacío ...") is retention, not a change
    in bladder feeling."""
    answers = read_narrative(
        "no sé si vacío del todo la vejiga, siento que queda algo", language="es"
    ).answers()
    assert answers.get("urinary_retention") is True
    assert "urinary_sensation_change" not in answers


@pytest.mark.parametrize(
    ("text", "denied", "absent"),
    [
        (
            "no he notado sangre en el pis ni en la caca",
            ("blood_in_urine", "rectal_bleeding"),
            ("bowel_incontinence",),
        ),
        (
            "no vi sangre en las heces ni en la orina",
            ("blood_in_urine", "rectal_bleeding"),
            ("urinary_retention", "urinary_incontinence"),
        ),
        (
            "el intestino y la vejiga me van bien",
            (
                "urinary_retention",
                "urinary_incontinence",
                "urinary_sensation_change",
                "bowel_incontinence",
            ),
            (),
        ),
    ],
)
def test_a_shared_denial_reaches_every_item_of_its_list(
    text: str, denied: tuple[str, ...], absent: tuple[str, ...]
) -> None:
    """One "sangre" or one "me van bien" for two places denies both, and nothing else."""
    answers = read_narrative(text, language="es").answers()
    for code in denied:
        assert answers.get(code) is False, code
    for code in absent:
        assert code not in answers, code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # "si" (if) starting a clause is not a "sí"
        ("No me duele el pecho. Bueno, si me duele voy al médico", "chest_pain"),
        ("No he tenido fiebre, aunque tengo mucho calor por el verano", "fever"),
    ],
)
def test_a_denial_stays_a_no(text: str, code: str) -> None:
    """A conditional or an unrelated "aunque" clause does not take a denial back."""
    assert read_narrative(text, language="es").answers().get(code) is False


def test_caliente_alone_is_not_a_fever() -> None:
    """Feeling hot without sweats or shivers says nothing about a fever."""
    answers = read_narrative("hoy me siento muy caliente", language="es").answers()
    assert "fever" not in answers
