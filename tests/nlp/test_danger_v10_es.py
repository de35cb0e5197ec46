"""Danger signs from the whole patient, read from Spanish as people in Spain and Latin
America type it on a phone and as carers write it (es/lexicon/danger_v10.yaml, corpus
tests/data/narratives/es_dev_v10.yaml, written blind and scored once before tuning).

A stroke in slang or Spanglish ("habla rarísimo", "el face caído de un lado"), a chest pain
with a word in between ("un dolor desgarrador en el pecho"), the belly beside the back, a
belly "dura como una tabla", blood in the urine in any tense, rigors as "fiebre y tiembla",
a relative whose leg "se le durmió" and "no la puede levantar", "no tiene erección", rest
pain "ni acostado", "va en aumento", tablets counted ("tomé como 8 ibuprofenos"), a fall
"después de caerme" and a testicle in slang are each read. A relative told a diagnosis
("a mi papá le dijeron que tiene un aneurisma ..., hoy le duele") or named with an age and
what they woke up with ("mi abuelo de 83 hoy amaneció desorientado") is the patient.
Everyday words the speller did not know ("siesta", "pileta") no longer turn into an "if".
Denials, pets, look-alikes and the past raise nothing. The corpus-level checks (every red
flag read, no control raising one, triage from the text alone never lower than the labels)
are in tests/nlp/test_danger_corpora.py; the held-out part of the corpus (``split:
heldout``) is left out of every check that runs the reader: it was scored once and never
tuned on.
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
        # The brain.
        ("che mi vieja habla rarisimo desde la tarde", "slurred_speech"),
        ("mi dad tiene el face caido de un lado", "face_arm_weakness"),
        ("se levanto de la siesta con la cara torcida", "face_arm_weakness"),
        # Vessels and heart.
        ("un dolor desgarrador en el pecho", "chest_pain"),
        ("tengo una opresion en el pecho y estoy todo sudado", "pale_sweaty_faint"),
        (
            "me vino un dolor como si me rajaran la espalda, de golpe",
            "sudden_severe_pain",
        ),
        ("de la nada un dolor terrible en la espalda y la barriga", "abdominal_pain"),
        # Belly.
        ("la panza se me puso dura como una tabla", "rigid_belly"),
        ("tiene la panza de abajo hinchada y dura y le duele", "rigid_belly"),
        ("tiene la panza de abajo hinchada y dura y le duele", "abdominal_pain"),
        ("tengo un atraso y un dolor fuerte abajo a la izquierda", "abdominal_pain"),
        # Kidneys and infection.
        ("tomo rivaroxaban y estoy orinando con sangre", "blood_in_urine"),
        ("ayer tuve un choque y hoy orine con sangre", "blood_in_urine"),
        ("mi mama tiene fiebre y tiembla", "shivers_rigors"),
        ("me duele la rodilla, se puso caliente e hinchada", "hot_swollen_joint"),
        # Legs, sex, blood thinners.
        ("toma sintrom y de golpe se le durmio la pierna derecha", "leg_numbness"),
        ("se le durmio la pierna derecha, no la puede levantar", "leg_weakness"),
        ("me duele la espalda, y no levanto bien el pie", "foot_drop"),
        ("mi esposo no tiene ereccion desde hace 4 dias", "sexual_dysfunction_new"),
        # Cancer, progression, falls, medicines, testicle.
        ("un dolor de espalda que no se me va ni acostado", "night_pain"),
        ("un dolor en la espalda que va en aumento cada semana", "pain_progressive"),
        ("estuve tirado en el piso toda la noche despues de caerme", "trauma_minor"),
        ("hoy tome como 8 ibuprofenos de 600", "medicine_overdose"),
        ("me duele un huevo de repente, muchisimo", "testicle_pain"),
        # A relative is the patient.
        (
            "a mi papa le dijeron q tiene un aneurisma en la aorta de 5 cm, hoy le duele"
            " la cintura",
            "known_aaa",
        ),
        ("mi abuelo de 83 hoy amanecio desorientado", "new_confusion"),
    ],
)
def test_each_danger_is_read_as_people_type_it(text: str, code: str) -> None:
    assert _answers(text).get(code) is True, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "me canso y me falta el aire solo cuando subo 4 pisos, siempre fui asi",
            "breathless_now",
        ),
        ("hago ejercicio y baje 6 kilos a proposito", "weight_loss_unexplained"),
        ("me duele la cabeza como siempre que no duermo bien", "night_pain"),
        ("tenia el pie frio pq estuve en la pileta, ya se me calento", "cold_pale_leg"),
        ("tuve un infarto en 2015 y me pusieron un stent", "recent_procedure"),
        ("mi perro se cayo de la escalera jaja, yo tengo dolor de espalda", "trauma_major"),
        ("el pis salio rosado", "urinary_incontinence"),
        ("ando con falta de aire de repente", "pregnant_or_postpartum"),
        ("me duele un huevo la espalda de tanto cargar cajas", "testicle_pain"),
        ("todo sudado del gym, me duele la espalda", "pale_sweaty_faint"),
    ],
)
def test_look_alikes_say_nothing(text: str, code: str) -> None:
    assert _answers(text).get(code) is None, text


def test_the_pet_does_not_take_the_writers_own_fall() -> None:
    answers = _answers("mi perro se cayo de la escalera y yo me cai tambien, me duele la espalda")
    assert answers.get("trauma_minor") is True
    assert answers.get("back_pain") is True
