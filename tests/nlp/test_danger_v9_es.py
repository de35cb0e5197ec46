"""Emergencies from outside the spine, and the combinations that raise a suspicion, read
from Spanish as people type it on a phone and as carers write it (es/lexicon/danger_v9.yaml,
corpus tests/data/narratives/es_dev_v9.yaml, written blind and scored once before tuning).

A stroke told in other words ("se le cae la comida por un lado de la boca", "le salían
palabras raras"), a thunderclap headache typed short ("peor dolor d cabeza d mi vida"), a
rash that does not fade, chest pain "q me baja x el brazo", a kidney that hurts with a
fever, a pregnancy in trouble ("el bb no se mueve como antes", "la prueba salió positiva y
tengo sangrado"), a bleed on a blood thinner that "no para", and the combinations of NICE
NG59 and NG234 (drugs, a recent operation, a past cancer with night pain, thin bones with a
fall) are each read. A carer's relative is the patient, their history included ("mi papá
de 71 toma sintrom", "Mi padre, 78, tiene mieloma"). Denials, someone else's story, advice
for later, the remote past and figures of speech ("casi me desmayo cuando vi lo que
cuesta", "me falta el aire cuando corro pero siempre fue así") raise nothing; the corpus-level
checks (tests/nlp/test_danger_corpora.py) hold that triage from the text alone never gives
less than the urgency of the labelled findings.
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
        ("mi abuela se le cae la comida por un lado de la boca", "face_arm_weakness"),
        ("De golpe tengo el lado derecho del cuerpo como muerto", "face_arm_weakness"),
        ("no levanta el brazo derecho desde la siesta", "face_arm_weakness"),
        ("de repente le salían palabras raras", "slurred_speech"),
        ("no podía decir lo que quería", "slurred_speech"),
        ("de la nada veo la mitad de las cosas", "sudden_vision_change"),
        ("peor dolor d cabeza d mi vida", "sudden_severe_headache"),
        ("le dio un dolor de cabeza como nunca en su vida", "sudden_severe_headache"),
        ("me vino un dolor en la cabeza brutal, como un estallido", "sudden_severe_headache"),
        ("tiene fiebre y no soporta la luz", "stiff_neck"),
        (
            "puntitos como de sangre debajo de la piel que no desaparecen al apretar",
            "non_blanching_rash",
        ),
        # Vessels, heart, lungs.
        ("una puntada en la espalda que me atravesó hasta el pecho", "chest_pain"),
        ("dolor d pecho q me baja x el brazo", "chest_pain"),
        ("dolor d pecho q me baja x el brazo", "pain_to_arm_or_jaw"),
        ("me duele la parte alta de la espalda y la mandíbula", "pain_to_arm_or_jaw"),
        ("me duele la barriga y la espalda de golpe", "sudden_severe_pain"),
        ("la pierna derecha helada y no puede moverla", "leg_weakness"),
        ("me duele la pantorrilla derecha, la tengo roja e inflamada", "calf_swelling"),
        # Kidneys.
        ("m duele el riñon izq y tengo tiritona", "loin_pain"),
        ("me duele la espalda del lado del riñon", "loin_pain"),
        # Pregnancy and after birth.
        ("me hice la prueba y salio positiva", "pregnant_or_postpartum"),
        ("mi nuera dio a luz hace un mes", "pregnant_or_postpartum"),
        ("me hice la prueba y salio positiva, ahora tengo sangrado", "vaginal_bleeding"),
        ("el bb no se mueve como antes", "fetal_movements_reduced"),
        ("hoy el bebe casi no se ha movido", "fetal_movements_reduced"),
        ("se me pone la panza dura seguido", "regular_tightening"),
        # Blood thinners.
        ("estoy con xarelto y me sangra la nariz desde hace rato y no para", "heavy_bleeding"),
        ("vomito algo como cafe molido", "vomiting_blood"),
        ("tomo sintrom y m sale sangre x el culo, bastante", "rectal_bleeding"),
        ("tomo sintrom y m sale sangre x el culo, bastante", "heavy_bleeding"),
        # The combinations.
        ("se pica heroina", "iv_drug_use"),
        ("tengo 38,5 y me duele la espalda", "fever"),
        ("la herida está roja, supura y tengo 38.", "fever"),
        ("dolor en la espalda q cada vez es peor", "pain_progressive"),
        ("la espalda me duele cada vez mas, de noche peor", "night_pain"),
        ("m duele la espalda x las noches", "night_pain"),
        ("dolor de espalda que no se calma ni acostado", "night_pain"),
        ("se le estan debilitando las piernas", "weakness_worsening"),
        ("le duele la cadera, no puede pararse", "cannot_bear_weight"),
        ("se cayo d la silla", "trauma_minor"),
        # Cauda equina in everyday words.
        ("no controla el pipi", "urinary_incontinence"),
        ("camina arrastrando los pies", "foot_drop"),
        ("sin sentir bien el culete al sentarme en el váter", "saddle_numbness"),
        ("hoy no puede orinar", "ces_symptom_recent"),
        # Other emergencies.
        ("se tomo de mas las pastillas para el dolor", "medicine_overdose"),
        ("un dolor nuevo en la sien derecha, me duele al peinarme", "gca_signs"),
    ],
)
def test_each_danger_is_read_as_people_type_it(text: str, code: str) -> None:
    assert _answers(text).get(code) is True, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # A "no" that belongs to a symptom does not deny the finding after it.
        ("A mi esposa se le durmió medio cuerpo y no levanta el brazo, es diabética.", "diabetes"),
        ("tengo las dos piernas frias y moradas y no las siento", "cold_pale_leg"),
        ("un dolor de cabeza q no se me quita con nada, fiebre", "fever"),
        ("está muy rara, no duerme, dice cosas sin sentido", "slurred_speech"),
        ("no controla el pipi y camina arrastrando los pies", "foot_drop"),
        # "Normal" back pain does not deny the pregnancy beside it.
        ("por ahora tengo 30 semanas y dolor de espalda normal", "pregnant_or_postpartum"),
        # "Si me operaron" is a past fact, not an "if".
        (
            "pq me duele la espalda si me operaron de la columna hace 1 mes",
            "recent_spinal_procedure",
        ),
        # A carer's relative is the patient, history included.
        ("Mi padre, 78, tiene mieloma y ahora le duele mucho la espalda", "cancer_history"),
        ("mi mama tiene osteoporosis y se cayo d la silla", "osteoporosis"),
        (
            "mi papá tiene un aneurisma en la aorta q le estan vigilando y hoy le duele la espalda",
            "known_aaa",
        ),
        ("mi hermano se pica heroina y lleva dias con calentura", "iv_drug_use"),
        # A partner named in the story of a headache is not its subject.
        (
            "Estaba teniendo relaciones con mi pareja y me vino un dolor en la cabeza brutal,"
            " como un estallido.",
            "sudden_severe_headache",
        ),
    ],
)
def test_the_finding_is_not_lost_to_a_nearby_word(text: str, code: str) -> None:
    assert _answers(text).get(code) is True, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("casi me desmayo cuando vi lo q cuesta la resonancia jaja", "collapse"),
        (
            "me falta el aire cuando corro pero siempre fue asi, estoy fuera de forma",
            "breathless_now",
        ),
        ("tengo los pies frios siempre xq soy friolenta jaja", "cold_pale_leg"),
        ("he bajado 5 kilos porque estoy a dieta y voy al gimnasio", "weight_loss_unexplained"),
        ("de la nada veo la mitad de las cosas, me choco con todo", "trauma_major"),
        ("Di a luz hace 10 días, me duele la cabeza y veo manchas", "vaginal_bleeding"),
        ("tuve a mi hijo hace 2 años por cesarea", "recent_procedure"),
        (
            "tuve incontinencia despues del parto hace 10 años, se me quito con ejercicios",
            "urinary_incontinence",
        ),
        ("Mi amigo se droga con jeringas, yo nunca.", "iv_drug_use"),
    ],
)
def test_look_alikes_and_the_past_say_nothing(text: str, code: str) -> None:
    assert _answers(text).get(code) is None, text
