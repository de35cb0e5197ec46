"""Danger from outside the spine, read from Spanish as patients and carers write it
(es/lexicon/danger_v8.yaml, corpus tests/data/narratives/es_dev_v8.yaml).

A stroke, a torn aorta, a clot, a bleed, a kidney or belly emergency, a pregnancy in
trouble, a blood thinner and the risks of a spinal infection are each read when a person in
Spain or Latin America writes them - colloquial, misspelt, without accents, and often in the
third person for a relative ("a mi madre le duele el pecho", "se le durmió el brazo",
"sangra por abajo", "está amarilla"). They are *not* read when the text denies them, tells
someone else's story, puts them in the remote past or only looks like them ("me ahogo de
calor", "hablo mal el español", "se me cae la cara de vergüenza"). A "no" that belongs to a
symptom ("temblores que no puedo controlar") must not deny the next finding. The
corpus-level checks are in tests/nlp/test_danger_corpora.py.
"""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative
from backpath.vocabulary import FindingValue


def _answers(text: str) -> dict[str, FindingValue]:
    return read_narrative(text, language="es").answers()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # The brain: face and arm, speech, a thunderclap headache, meningism, confusion.
        ("de repente se me durmio la mitad de la cara y el brazo izquierdo", "face_arm_weakness"),
        ("A mi mamá se le durmió el brazo derecho y media cara de golpe.", "face_arm_weakness"),
        ("la comisura de la boca se me ha caido y no puedo sonreir bien", "face_arm_weakness"),
        ("Mi abuelo no puede tragar ni hablar bien, se le tuerce la boca.", "face_arm_weakness"),
        ("Mi papá hace un rato no encuentra las palabras", "slurred_speech"),
        ("me vino un dolor de cabeza como un trallazo en la nuca", "sudden_severe_headache"),
        ("a mi padre le dio un dolor de cabeza terrible de repente", "sudden_severe_headache"),
        ("el cuello tan rígido que no puedo bajar la barbilla al pecho", "stiff_neck"),
        ("tengo la nuca dura y fiebre de 39", "stiff_neck"),
        ("casi no la podemos despertar", "new_confusion"),
        ("mi esposo esta raro desde la tarde, como ido", "new_confusion"),
        # Vessels.
        ("como si me estuvieran desgarrando por dentro", "tearing_pain"),
        ("siento como que algo se me rasgó por dentro", "tearing_pain"),
        ("me dio un dolor en la espalda como un desgarro", "tearing_pain"),
        ("Mi marido está sudando frío y dice que se va a desmayar.", "collapse"),
        ("Mi madre se puso pálida y casi se desmaya", "collapse"),
        (
            "Toda la pierna se me hinchó desde la ingle hasta el pie y está azulada.",
            "calf_swelling",
        ),
        # Chest and lungs.
        ("A mi madre le duele el pecho desde hace un rato", "chest_pain"),
        ("siento como un elefante sentado en el pecho", "chest_pain"),
        ("el dolor me sube hasta la mandibula y el brazo", "pain_to_arm_or_jaw"),
        ("el dolor se me corre al cuello y al brazo izquierdo", "pain_to_arm_or_jaw"),
        ("a mi papá le falta el aire", "breathless_now"),
        ("tengo la respiracion entrecortada", "breathless_now"),
        ("Ayer empecé a toser sangre", "coughing_blood"),
        ("a mi tio le salio sangre al toser", "coughing_blood"),
        ("el gemelo derecho lo tengo gordo y duro", "calf_swelling"),
        ("le duele la pantorrilla y la tiene hinchada", "calf_swelling"),
        # Kidneys, urine and muscles.
        ("me duele un monton el lado derecho de la espalda", "loin_pain"),
        ("tengo un dolor nuevo en el costado", "loin_pain"),
        ("el pis me sale rojo", "blood_in_urine"),
        ("orino como coca cola y me duelen muchisimo todos los musculos", "muscle_breakdown_signs"),
        (
            "estuvo toda la noche tirado en el suelo y ahora tiene los músculos doloridos",
            "muscle_breakdown_signs",
        ),
        ("A mi papá le arde al orinar", "burning_urination"),
        ("escalofríos que le hacen temblar entero", "shivers_rigors"),
        ("estoy echando la pota desde esta mañana", "vomiting"),
        # Belly.
        ("Mi hijo vomita sangre desde esta mañana", "vomiting_blood"),
        ("me sale sangre cuando hago del baño", "rectal_bleeding"),
        ("mi abuela esta amarilla y con fiebre", "jaundice"),
        ("le duele la barriga y la tiene dura como una tabla", "rigid_belly"),
        ("no hago del baño ni echo gases y tengo la panza hinchada", "bowel_blocked"),
        # Pregnancy.
        ("Mi mujer está embarazada de 30 semanas y sangra por abajo.", "vaginal_bleeding"),
        ("estoy de 5 meses y manché las bragas de sangre", "vaginal_bleeding"),
        ("a mi hermana se le rompio la fuente, esta de 37 semanas", "waters_leaking"),
        ("a mi hermana se le rompio la fuente, esta de 37 semanas", "pregnant_or_postpartum"),
        (
            "está embarazada de 33 semanas y le duele la cabeza y ve borroso",
            "pregnancy_headache_vision",
        ),
        # Blood thinners, misspelt or taken for years.
        ("tomo guarfarina y me duele la cintura", "anticoagulant"),
        ("tomo asenocumarol", "anticoagulant"),
        ("Mi abuelo toma eliquiz", "anticoagulant"),
        ("llevo el sintron hace años y me duele la espalda", "anticoagulant"),
        ("me pongo unos pinchazos para los trombos", "anticoagulant"),
        # Infection risk.
        ("mi hermano se inyecta droga y tiene fiebre", "iv_drug_use"),
        ("se droga con jeringas", "iv_drug_use"),
    ],
)
def test_each_danger_is_read_as_people_write_it(text: str, code: str) -> None:
    assert _answers(text).get(code) is True, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("No tengo la cara torcida ni debilidad en los brazos", "face_arm_weakness"),
        ("No soy diabético ni tengo las defensas bajas", "diabetes"),
        ("Nunca me he drogado, me duele la espalda", "iv_drug_use"),
        ("la pantorrilla no esta hinchada ni roja", "calf_swelling"),
        ("no he tosido sangre, solo tos de resfriado", "coughing_blood"),
        ("Mi madre está bien, no tiene fiebre ni le falta el aire", "breathless_now"),
    ],
)
def test_a_denial_says_no(text: str, code: str) -> None:
    assert _answers(text).get(code) is False, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Figures of speech and look-alikes.
        ("me ahogo de calor en esta casa jaja", "breathless_now"),
        ("hablo mal el español perdon, me duele la espalda", "slurred_speech"),
        ("se me cae la cara de verguenza escribir esto", "face_arm_weakness"),
        ("Tengo el brazo dormido porque dormí encima de él", "face_arm_weakness"),
        ("Mi jefe no me contesta bien los mensajes", "new_confusion"),
        ("La orina la tengo amarilla fuerte porque bebo poca agua", "jaundice"),
        ("Echo sangre por la nariz cuando me sueno fuerte", "coughing_blood"),
        ("Echo sangre por la nariz cuando me sueno fuerte", "vomiting_blood"),
        ("me duelen todos los músculos después del gimnasio", "muscle_breakdown_signs"),
        ("Estoy de 3 semanas de baja por la ciática", "pregnant_or_postpartum"),
        ("tomo guarfarina por un trombo que tuve", "calf_swelling"),
        ("me duele la espalda y un dolor fuerte en el costado derecho de la panza", "loin_pain"),
        ("me salio sangre en la orina", "urinary_incontinence"),
        # A slang word must not take a real word by the fuzzy speller ("potando").
        ("Me caí de la escalera pintando el techo", "vomiting"),
        # Someone else, the remote past, advice for later.
        ("Mi suegra tuvo hepatitis y se puso amarilla, yo solo tengo lumbago", "jaundice"),
        ("Mi amigo se droga con jeringas, yo nunca. Me duele la espalda.", "iv_drug_use"),
        ("mi vecina se cayó, yo tengo lumbago", "trauma_minor"),
        ("el médico me dijo que si me falta el aire vaya a urgencias", "breathless_now"),
    ],
)
def test_look_alikes_someone_else_and_advice_say_nothing(text: str, code: str) -> None:
    assert _answers(text).get(code) is None, text


def test_a_no_inside_the_chills_does_not_deny_the_fever() -> None:
    answers = _answers("tengo temblores de frio que no puedo controlar y 39 de fiebre")
    assert answers.get("shivers_rigors") is True
    assert answers.get("fever") is True


def test_no_stool_and_no_wind_says_nothing_about_the_bladder() -> None:
    answers = _answers("no he podido ir al baño ni echar gases y tengo la tripa inflada y me duele")
    assert answers.get("bowel_blocked") is True
    assert answers.get("abdominal_pain") is True
    for code in ("urinary_retention", "urinary_incontinence", "urinary_sensation_change"):
        assert code not in answers, code


def test_a_thunderclap_headache_is_not_sudden_back_pain_or_sciatica() -> None:
    answers = _answers(
        "tengo un dolor de cabeza que me revienta, me empezo de golpe como un latigazo"
    )
    assert answers.get("sudden_severe_headache") is True
    assert "sudden_severe_pain" not in answers
    assert "leg_pain" not in answers


def test_arm_weakness_is_not_a_leg_weakness() -> None:
    answers = _answers("Se me cae el vaso de la mano derecha, no tengo fuerza en el brazo")
    assert answers.get("face_arm_weakness") is True
    assert "leg_weakness" not in answers


def test_blood_on_the_knickers_is_not_soiling() -> None:
    answers = _answers("estoy esperando un bebe, de 5 meses, y manche las bragas de sangre")
    assert answers.get("vaginal_bleeding") is True
    assert "bowel_incontinence" not in answers
