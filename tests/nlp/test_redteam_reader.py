"""The narrative reader on the families the independent red team found missing
(tests/redteam/README.md, fix codes C1-C8 and C11).

The sentences here are our own variants of each family (the red-team texts themselves stay
in tests/redteam as the independent yardstick); each family also has its denial, and C1
its controls: a relative's *past* illness, or a relative beside the writer's own symptom,
is still someone else's.
"""

from __future__ import annotations

from typing import Any

import pytest

from backpath.nlp import read_narrative


def _answers(text: str, language: str | None = None) -> dict[str, Any]:
    return read_narrative(text, language=language).answers()


def _certainty(text: str, code: str, language: str | None = None) -> set[str]:
    return {f.certainty for f in read_narrative(text, language=language).findings if f.code == code}


# ------------------------------------------------------------------ C1: written for someone


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # a relative as the subject of a present symptom, nothing of the writer's own
        ("My husband is confused today and has a fever.", None, {"new_confusion", "fever"}),
        ("my mum keeps dozing off and is not making sense", None, {"new_confusion"}),
        ("My dad can't pee since this morning.", None, {"urinary_retention"}),
        ("she has been confused all day and has a temperature", None, {"new_confusion", "fever"}),
        ("my grandad's legs have gone weak", None, {"leg_weakness"}),
        ("he has wet himself and his legs are numb", None, {"urinary_incontinence", "leg_numbness"}),
        # the writer says so
        ("Asking for my wife. She can't feel the toilet paper when she wipes.", None,
         {"saddle_numbness"}),
        ("Typing this for my dad, he says he can't feel the seat under his bum", None,
         {"saddle_numbness"}),
        ("On behalf of my mother: she is very drowsy.", None, {"new_confusion"}),
        # Spanish
        ("Mi madre no puede orinar desde anoche.", "es", {"urinary_retention"}),
        ("mi marido está confuso y tiene fiebre", "es", {"new_confusion", "fever"}),
        ("Escribo por mi padre: no siente nada cuando se limpia.", "es", {"saddle_numbness"}),
        ("Soy su hija. Las piernas no le responden y se hizo pis encima.", "es",
         {"leg_weakness", "urinary_incontinence"}),
    ],
)  # fmt: skip
def test_a_relative_describing_present_symptoms_describes_the_patient(
    text: str, language: str | None, expected: set[str]
) -> None:
    answers = _answers(text, language)
    assert {code for code in expected if answers.get(code) is True} == expected, answers


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        # a relative's past illness, a death, a family history: never the patient
        ("My mum had breast cancer.", None, "cancer_history"),
        ("Bowel cancer runs in the family.", None, "cancer_history"),
        ("my grandad died of a triple A", None, "known_aaa"),
        ("Mi padre tuvo cáncer de próstata.", "es", "cancer_history"),
        ("Mi abuela murió de cáncer.", "es", "cancer_history"),
        # a relative beside the writer's own symptom
        ("My son has a fever and I have back pain.", None, "fever"),
        ("my wife is pregnant and I hurt my back lifting the cot", None, "pregnant_or_postpartum"),
        ("Mi hija tiene fiebre y yo tengo lumbago.", "es", "fever"),
        ("Mi papá tiene incontinencia; yo vengo por mi ciática.", "es", "urinary_incontinence"),
        # "asking for my dad" does not make a family history the patient's
        ("Asking for my dad. Cancer runs in the family.", None, "cancer_history"),
    ],
)  # fmt: skip
def test_a_relatives_past_illness_or_a_relative_beside_the_writer_is_someone_else(
    text: str, language: str | None, code: str
) -> None:
    assert code not in _answers(text, language)
    assert _certainty(text, code, language) == {"family"}


def test_a_carers_denial_is_still_a_denial() -> None:
    answers = _answers("Writing for my wife. She has no fever but she is confused.")
    assert answers["fever"] is False
    assert answers["new_confusion"] is True


def test_my_relative_says_i_am_still_the_writer() -> None:
    """ "My husband says I've been wetting myself" is the writer's own symptom, with or
    without another symptom of the writer's."""
    for text in (
        "My husband says I've been wetting myself.",
        "My husband says I've been wetting myself. My back is sore.",
    ):
        assert _answers(text)["urinary_incontinence"] is True


# ------------------------------------------------------------------ C2: possible pregnancy


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("my period is 9 days late", None),
        ("I've missed my period", None),
        ("haven't had a period for 8 weeks", None),
        ("my period still hasn't come", None),
        ("I'm two weeks late and my back hurts", None),
        ("tengo dos semanas de retraso", "es"),
        ("no me ha venido la regla este mes", "es"),
        ("la regla todavía no me baja", "es"),
        ("se me ha retrasado el periodo", "es"),
        ("estoy atrasada y me duele la espalda", "es"),
    ],
)
def test_a_late_or_missed_period_is_a_possible_pregnancy(text: str, language: str | None) -> None:
    reading = read_narrative(text, language=language)
    assert reading.answers()["pregnant_or_postpartum"] is True
    # "possibly pregnant": read as uncertain, which still counts as present
    assert {f.certainty for f in reading.findings if f.code == "pregnant_or_postpartum"} == {
        "uncertain"
    }


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I haven't missed a period", None),
        ("no period pain, just my back", None),
        ("my period isn't late", None),
        ("no tengo retraso", "es"),
        ("no me ha bajado la fiebre", "es"),
    ],
)
def test_a_period_on_time_is_not_a_pregnancy(text: str, language: str | None) -> None:
    assert _answers(text, language).get("pregnant_or_postpartum") is not True


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("period is 2 weeks late and some light bleeding today", None),
        ("missed my period, now spotting a bit brown", None),
        ("tengo un retraso y estoy manchando", "es"),
        ("no me ha bajado la regla y estoy sangrando un poco", "es"),
    ],
)
def test_light_bleeding_beside_a_late_period_is_vaginal_bleeding(
    text: str, language: str | None
) -> None:
    assert _answers(text, language)["vaginal_bleeding"] is True


def test_blood_in_a_cough_beside_a_late_period_is_not_vaginal_bleeding() -> None:
    answers = _answers("tengo un retraso y toso con sangre", "es")
    assert answers["coughing_blood"] is True
    assert "vaginal_bleeding" not in answers


# ------------------------------------------------------------------ C3: near-fainting


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("felt so woozy I had to sit down on the floor", None),
        ("got dizzy at the shops and had to lie down", None),
        ("my vision went black for a moment", None),
        ("I feel lightheaded every time I stand up", None),
        ("me siento mareada", "es"),
        ("me mareé en el baño", "es"),
        ("se me nubló la vista", "es"),
    ],
)
def test_near_fainting_is_collapse_uncertain(text: str, language: str | None) -> None:
    reading = read_narrative(text, language=language)
    assert reading.answers()["collapse"] is True
    assert "uncertain" in {f.certainty for f in reading.findings if f.code == "collapse"}


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I felt dizzy but I did not have to sit down", None),
        ("las pastillas me marean", "es"),
        ("me mareo en el coche", "es"),
        ("no me he mareado", "es"),
    ],
)
def test_dizziness_from_tablets_or_denied_is_not_collapse(text: str, language: str | None) -> None:
    assert _answers(text, language).get("collapse") is not True


# ------------------------------------------------------------------ C4: lower belly pain


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("a stabbing pain low down on the left", None),
        ("sharp pain low on the right side", None),
        ("cramps in the lower part of my belly", None),
        ("my back and tummy hurt", None),
        ("dolor en el lado derecho del vientre", "es"),
        ("me duele un costado de la barriga", "es"),
        ("me duele la espalda baja y el bajo vientre de un lado", "es"),
    ],
)
def test_pain_low_on_one_side_is_belly_pain(text: str, language: str | None) -> None:
    assert _answers(text, language)["abdominal_pain"] is True


@pytest.mark.parametrize(
    "text",
    [
        "pain low down on the right side of my back",
        "a sharp pain low on the left side of my buttock",
        "no pain low down on the right",
    ],
)
def test_pain_low_on_one_side_of_the_back_is_not_belly_pain(text: str) -> None:
    assert _answers(text).get("abdominal_pain") is not True


# ------------------------------------------------------------------ C5: injecting drugs


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I inject", None),
        ("i do inject now and then", None),
        ("I still inject", None),
        ("I used to inject", None),
        ("i inject (heroin)", None),
        ("been injecting for years", None),
        ("me inyecto", "es"),
        ("me inyectaba heroína", "es"),
    ],
)
def test_i_inject_is_injecting_drug_use(text: str, language: str | None) -> None:
    assert _answers(text, language)["iv_drug_use"] is True


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I inject my insulin", None),
        ("I inject clexane every day", None),
        ("I inject for my diabetes", None),
        ("I injected it into my knee", None),
        ("I have never injected anything", None),
        ("me inyecto la insulina", "es"),
    ],
)
def test_injecting_a_medicine_or_never_is_not_drug_use(text: str, language: str | None) -> None:
    assert _answers(text, language).get("iv_drug_use") is not True


# ------------------------------------------------------------------ C6: wet bed, toilet seat


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("the bed was wet this morning", None),
        ("my sheets were soaked when I woke", None),
        ("woke up wet", None),
        ("woke up in a wet bed", None),
        ("I wet the bed last night", None),
        ("amanecí con la cama mojada", "es"),
        ("mojé la cama", "es"),
        ("me hice pipí en la cama", "es"),
    ],
)
def test_a_wet_bed_is_new_incontinence(text: str, language: str | None) -> None:
    assert _answers(text, language)["urinary_incontinence"] is True


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("the bed wasn't wet", None),
        ("the sheets were soaked with sweat", None),
        ("woke up soaked in sweat", None),
        ("la cama no estaba mojada", "es"),
        ("amanecí empapada de sudor", "es"),
    ],
)
def test_a_dry_bed_or_sweat_is_not_incontinence(text: str, language: str | None) -> None:
    assert _answers(text, language).get("urinary_incontinence") is not True


def test_sweat_soaked_sheets_are_a_fever() -> None:
    assert _answers("woke up soaked in sweat")["fever"] is True
    assert _answers("amanecí empapada de sudor", "es")["fever"] is True


@pytest.mark.parametrize(
    "text",
    [
        "I can't feel the toilet seat",
        "can't really feel the seat under me",
        "I can't feel my bum on the chair",
        "can't tell if I'm sitting on the toilet",
    ],
)
def test_cannot_feel_the_seat_is_saddle_numbness(text: str) -> None:
    assert _answers(text)["saddle_numbness"] is True


def test_feeling_the_seat_fine_denies_saddle_numbness() -> None:
    assert _answers("I can feel the toilet seat fine")["saddle_numbness"] is False


# ------------------------------------------------------------------ C7: leg weakness


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("my left leg keeps going on me", None),
        ("the leg keeps giving out", None),
        ("my right leg feels floppy", None),
        ("my legs are like jelly", None),
        ("my leg won't take my weight", None),
        ("right leg, it's gone numb and floppy", None),
        ("la pierna izquierda no la puedo mover", "es"),
        ("el pie derecho no lo puedo levantar", "es"),
        ("la pierna se me pone floja", "es"),
    ],
)
def test_a_leg_that_gives_way_or_is_floppy_is_weak(text: str, language: str | None) -> None:
    assert _answers(text, language)["leg_weakness"] is True


@pytest.mark.parametrize(
    "text",
    ["my legs are strong", "leg strength is normal", "my leg doesn't keep going on me"],
)
def test_strong_legs_are_not_weak(text: str) -> None:
    assert _answers(text).get("leg_weakness") is not True


def test_a_floppy_arm_is_not_a_weak_leg() -> None:
    answers = _answers("my arm went floppy")
    assert answers.get("leg_weakness") is not True
    assert answers["face_arm_weakness"] is True


# ------------------------------------------------------------------ C8: coughing blood


@pytest.mark.parametrize(
    "text",
    [
        "toso con sangre",
        "escupo un poco de sangre",
        "flema con sangre",
        "al toser me sale sangre",
        "tengo sangre en las flemas",
    ],
)
def test_spanish_haemoptysis(text: str) -> None:
    assert _answers(text, "es")["coughing_blood"] is True


def test_spanish_haemoptysis_denied() -> None:
    assert _answers("toso pero no escupo sangre", "es")["coughing_blood"] is False


# ------------------------------------------------------------------ C11: over-calls


@pytest.mark.parametrize(
    "text",
    ["crushing chest pain and a bit sweaty", "I went pale and sweaty", "cold and clammy"],
)
def test_sweaty_alone_is_not_a_fever(text: str) -> None:
    assert "fever" not in _answers(text)


@pytest.mark.parametrize(
    "text",
    ["night sweats", "hot and sweaty", "sweating and shivering", "I wake up sweating"],
)
def test_sweats_that_mean_fever_are_still_a_fever(text: str) -> None:
    assert _answers(text)["fever"] is True


@pytest.mark.parametrize(("text", "language"), [("diabetic", None), ("soy diabética", "es")])
def test_diabetes_named_without_treatment_is_a_doubtful_weak_immunity(
    text: str, language: str | None
) -> None:
    """The finding counts "diabetes on treatment": a bare "diabetic" is uncertain (still
    present); insulin or tablets named make it affirmed."""
    assert _certainty(text, "immunosuppressed", language) == {"uncertain"}
    assert _certainty("diabetic on insulin", "immunosuppressed") == {"uncertain", "affirmed"}
