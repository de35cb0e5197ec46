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
Denials, pets, look-alikes and the past raise nothing, and triage from the text alone never
gives less than the urgency of the labelled findings (the known gaps apart). The held-out
part of the corpus (``split: heldout``) is left out of every check here: it was scored once
and never tuned on.
"""

from __future__ import annotations

from typing import Any

import pytest

from backpath.intake import Intake
from backpath.nlp import read_narrative
from backpath.triage import assess
from backpath.vocabulary import FindingValue, Urgency
from tests.nlp._eval import corpus_file, red_flags

# Dev narratives whose red flag the reader still misses, with the reason (not the lexicon):
# the test fails when one of them starts to pass, so the entry is removed.
KNOWN_GAPS = {
    # "me hicieron cesárea hace 2 semanas": a caesarean is an operation of the last 6
    # weeks, but older dev corpora leave it unlabelled (as v9-es-098), so reading it waits
    # for the lead to relabel them.
    ("v10-es-054", "recent_procedure"),
    # "..., me cuesta caminar, hace 2 días": the date is nearest to the walking difficulty,
    # whose duration policy (knowledge/nlp/codes.yaml) dates the episode, not the cauda
    # equina symptoms, so the both-leg symptom is not dated as recent.
    ("v10-es-063", "ces_symptom_recent"),
    ("v10-es-090", "ces_symptom_recent"),
}

# Red flags read beyond the labels of a narrative that has a danger of its own, each an
# over-reading (never an under-reading), none on a control:
KNOWN_OVERREADS = {
    # "derrepente un dolor de cabeza horrible": the sudden headache also as sudden pain.
    ("v10-es-008", "sudden_severe_pain"),
    # "un dolor desgarrador": a tearing pain also as sudden (as v9-es-029).
    ("v10-es-015", "sudden_severe_pain"),
    # "un cólico nefrítico": renal colic also read as loin pain.
    ("v10-es-034", "loin_pain"),
    # "se me hincharon mucho la cara y las manos" in pregnancy: read as allergic swelling.
    ("v10-es-051", "allergic_swelling"),
    # "me duele ... la mandíbula al masticar" (jaw claudication) also as jaw pain.
    ("v10-es-112", "pain_to_arm_or_jaw"),
}

# Dev narratives triaged lower from the text than from the labels, with the reason.
KNOWN_UNDER_TRIAGE: set[str] = set()
# v10-es-062 ("estoy con warfarina y hace 2 días me empezó un dolor en el costado") was
# routine: the 2 days are not read onto the side pain. Since knowledge 2026.12.10 the rule
# counts a pain with no date as new (H76), so it is an emergency again.


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


def _corpus() -> list[dict[str, Any]]:
    return [n for n in corpus_file("es_dev_v10.yaml") if n.get("split", "dev") == "dev"]


def test_the_v10_corpus_is_large_and_has_controls_and_a_heldout_part() -> None:
    """At least 150 narratives, at least 40 controls, and about 30 held out."""
    flags = red_flags()
    narratives = corpus_file("es_dev_v10.yaml")
    controls = [n for n in narratives if not any(n["findings"].get(c) is True for c in flags)]
    heldout = [n for n in narratives if n.get("split") == "heldout"]
    assert len(narratives) >= 150
    assert len(controls) >= 40
    assert 25 <= len(heldout) <= 35


def test_the_labelled_urgency_is_what_the_labels_give() -> None:
    """Each narrative's urgency is the triage engine's on its labelled findings (+ age) as
    structured answers: a perfect reader (held-out part included: labels, not reading)."""
    wrong = []
    for narrative in corpus_file("es_dev_v10.yaml"):
        data: dict[str, Any] = {"answers": dict(narrative["findings"])}
        if narrative.get("age") is not None:
            data["age"] = narrative["age"]
        got = str(assess(Intake.from_json(data)).urgency)
        if got != narrative["urgency"]:
            wrong.append((narrative["id"], narrative["urgency"], got))
    assert wrong == []


def test_every_red_flag_of_the_v10_dev_corpus_is_read() -> None:
    """Every red flag the v10 dev narratives affirm is read as present (known gaps apart)."""
    flags = red_flags()
    missed = []
    for narrative in _corpus():
        answers = _answers(str(narrative["text"]))
        for code, value in narrative["findings"].items():
            if code in flags and value is True and answers.get(code) is not True:
                missed.append((narrative["id"], code))
    assert set(missed) == KNOWN_GAPS


def test_no_control_of_the_v10_dev_corpus_raises_a_red_flag() -> None:
    """A red flag read as present must be labelled present (the known over-readings of
    narratives with a danger of their own apart): no control raises one."""
    flags = red_flags()
    raised = []
    for narrative in _corpus():
        findings = narrative["findings"]
        for code, value in _answers(str(narrative["text"])).items():
            if code in flags and value is True and findings.get(code) is not True:
                raised.append((narrative["id"], code))
    assert set(raised) == KNOWN_OVERREADS
    affirmed = {n["id"] for n in _corpus() if any(n["findings"].get(c) is True for c in flags)}
    assert {narrative for narrative, _ in KNOWN_OVERREADS} <= affirmed


def test_triage_from_the_text_alone_never_under_triages() -> None:
    """The real triage engine on the narrative (+ age) reaches at least the urgency of the
    labelled findings (the known under-triage apart)."""
    under = []
    for narrative in _corpus():
        data: dict[str, Any] = {"narrative": narrative["text"], "language": "es"}
        if narrative.get("age") is not None:
            data["age"] = narrative["age"]
        urgency = str(assess(Intake.from_json(data)).urgency)
        if Urgency(urgency).rank < Urgency(narrative["urgency"]).rank:
            under.append(narrative["id"])
    assert set(under) == KNOWN_UNDER_TRIAGE
