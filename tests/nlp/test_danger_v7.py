"""The six dangers of knowledge 2026.12.7, read from a person's own words (lexicon/
danger_v7.yaml and es/lexicon/danger_v7.yaml).

Thoughts of suicide (said plainly or sideways), too much of a medicine, a swelling airway, a
knock to the head, the signs of giant cell arteritis and a hot swollen joint are each read
when the text says them, in English and Spanish - and *not* when the text denies them,
tells someone else's story, puts them in the remote past, or only looks like them (a
headache alone, a knee swollen by arthritis for years, a dose the doctor raised, "the pain
is killing me"). A missed disclosure of suicidal thoughts or an overdose costs a life; a
false one costs a phone call, so the sideways phrasings count as uncertain (still present).
"""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative
from backpath.vocabulary import FindingValue


def _answers(text: str, language: str) -> dict[str, FindingValue]:
    return read_narrative(text, language=language).answers()


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        # Thoughts of suicide or self-harm, plainly and sideways; a carer writing for someone.
        (
            "Honestly some nights I think my family would be better off without me",
            "en",
            "suicidal_thoughts",
        ),
        ("some days i dont want to wake up, the back pain never stops", "en", "suicidal_thoughts"),
        ("I can't go on like this any more, six months of sciatica", "en", "suicidal_thoughts"),
        (
            "Typing for my husband. He keeps saying he wants to end it all.",
            "en",
            "suicidal_thoughts",
        ),
        ("pensé en quitarme de en medio, ya no aguanto la ciática", "es", "suicidal_thoughts"),
        ("no quiero seguir viviendo así con este dolor de espalda", "es", "suicidal_thoughts"),
        # Too much of a medicine, on purpose or by mistake.
        ("I took a whole packet of paracetamol last night for my back", "en", "medicine_overdose"),
        ("took 20 tablets in one go because of the pain", "en", "medicine_overdose"),
        ("I've been on double the dose of naproxen all week", "en", "medicine_overdose"),
        ("taking co-codamol on top of the paracetamol every 4 hours", "en", "medicine_overdose"),
        ("me tomé una caja entera de paracetamol", "es", "medicine_overdose"),
        ("me pasé con las pastillas para el dolor", "es", "medicine_overdose"),
        # Lips, tongue, face or throat swelling.
        (
            "my lips have puffed up and my throat feels tight since the new tablets",
            "en",
            "allergic_swelling",
        ),
        ("se me hincharon los labios y la lengua con el ibuprofeno", "es", "allergic_swelling"),
        # A knock to the head, recent.
        ("slipped in the bath this morning and banged the back of my head", "en", "head_injury"),
        ("me di un golpe en la cabeza al caerme ayer", "es", "head_injury"),
        ("me pegué en la cabeza con la puerta del armario", "es", "head_injury"),
        # Giant cell arteritis: temple, scalp, jaw on chewing.
        ("new headache by my right temple and my jaw aches when I chew", "en", "gca_signs"),
        ("my scalp is sore when I brush my hair", "en", "gca_signs"),
        ("me duele la mandíbula al masticar y la sien derecha", "es", "gca_signs"),
        # A joint suddenly hot and swollen.
        ("since yesterday my knee is hot, swollen and so painful", "en", "hot_swollen_joint"),
        ("tengo la rodilla caliente e hinchada desde ayer", "es", "hot_swollen_joint"),
    ],
)
def test_each_danger_is_read_as_people_write_it(text: str, language: str, code: str) -> None:
    assert _answers(text, language).get(code) is True, text


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("My mood is low but I have no thoughts of harming myself", "en", "suicidal_thoughts"),
        ("I'm not suicidal, just fed up with this back pain", "en", "suicidal_thoughts"),
        ("No tengo pensamientos de hacerme daño", "es", "suicidal_thoughts"),
        ("I haven't taken more than the recommended dose", "en", "medicine_overdose"),
        ("nunca me paso de la dosis", "es", "medicine_overdose"),
        ("No swelling of my lips, tongue or throat", "en", "allergic_swelling"),
        ("No se me han hinchado los labios ni la lengua", "es", "allergic_swelling"),
        ("I didn't hit my head when I fell", "en", "head_injury"),
        ("No me golpeé la cabeza cuando me caí", "es", "head_injury"),
        ("No hubo ningún golpe en la cabeza", "es", "head_injury"),
        ("Knee pain but no swelling or heat in it", "en", "hot_swollen_joint"),
        ("la rodilla no está hinchada ni caliente", "es", "hot_swollen_joint"),
    ],
)
def test_a_denial_says_no(text: str, language: str, code: str) -> None:
    assert _answers(text, language).get(code) is False, text


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        # Someone else's story.
        (
            "My brother overdosed years ago so I'm wary of painkillers. My back hurts.",
            "en",
            "medicine_overdose",
        ),
        (
            "My brother took his own life two years ago and my back has ached since",
            "en",
            "suicidal_thoughts",
        ),
        (
            "My son banged his head at school today but I'm writing about my own back pain",
            "en",
            "head_injury",
        ),
        ("Mi primo tuvo una sobredosis hace años. Me duele la espalda.", "es", "medicine_overdose"),
        # The remote past: head injury and overdose are events, the others present states.
        (
            "Hit my head in a car crash 10 years ago. My back started hurting last month.",
            "en",
            "head_injury",
        ),
        (
            "Hace 10 años me di un golpe fuerte en la cabeza. Ahora me duele la espalda.",
            "es",
            "head_injury",
        ),
        ("As a teenager I self harmed, but now it's just my back", "en", "suicidal_thoughts"),
        (
            "my throat swelled up when I was a child, now I have back pain",
            "en",
            "allergic_swelling",
        ),
        # Look-alikes.
        ("The pain is killing me, I'm dying here lol", "en", "suicidal_thoughts"),
        ("I've been killing myself at the gym and now my back has gone", "en", "suicidal_thoughts"),
        ("Me quiero morir del dolor de espalda jaja", "es", "suicidal_thoughts"),
        ("I don't want to live on painkillers for the rest of my life", "en", "suicidal_thoughts"),
        ("The doctor doubled my dose of gabapentin last week", "en", "medicine_overdose"),
        ("El médico me subió la dosis de pregabalina", "es", "medicine_overdose"),
        ("Ya no tengo hormigueo, se me pasó con las pastillas", "es", "medicine_overdose"),
        ("I thought about taking all my tablets at once", "en", "medicine_overdose"),
        ("headache and back ache from sleeping on the sofa", "en", "gca_signs"),
        ("my jaw hurts when I chew since the dentist pulled a tooth", "en", "gca_signs"),
        ("me duele la mandíbula al masticar por una muela", "es", "gca_signs"),
        ("It felt like being hit on the back of the head", "en", "head_injury"),
        ("I feel like I'm banging my head against a brick wall with my GP", "en", "head_injury"),
        ("My knee has been swollen from arthritis for years", "en", "hot_swollen_joint"),
        ("a hot water bottle on my knee and my back helps", "en", "hot_swollen_joint"),
        ("La rodilla la tengo hinchada por la artrosis desde hace años", "es", "hot_swollen_joint"),
    ],
)
def test_someone_else_the_remote_past_and_look_alikes_say_nothing(
    text: str, language: str, code: str
) -> None:
    assert _answers(text, language).get(code) is None, text


def test_a_thought_of_taking_them_all_is_a_suicidal_thought_not_an_overdose() -> None:
    answers = _answers("ive thought about taking all my tablets at once to make it stop", "en")
    assert answers.get("suicidal_thoughts") is True
    assert "medicine_overdose" not in answers


def test_sideways_phrasings_count_as_uncertain_and_present() -> None:
    reading = read_narrative("I can't go on like this, everyone would be better off", language="en")
    found = [f for f in reading.findings if f.code == "suicidal_thoughts"]
    assert found
    assert all(f.value is True for f in found)
    assert {f.certainty for f in found} == {"uncertain"}


def test_a_hot_swollen_joint_is_not_a_fever_and_does_not_date_the_back_pain() -> None:
    answers = _answers("My ankle has suddenly blown up, it's red hot. Back pain too.", "en")
    assert answers.get("hot_swollen_joint") is True
    assert "fever" not in answers
    assert "onset_sudden" not in answers
    dated = _answers("My hip has been hot and swollen for 2 days. Back pain too.", "en")
    assert dated.get("hot_swollen_joint") is True
    assert "duration_days" not in dated


def test_swelling_words_are_explained_by_the_new_findings() -> None:
    reading = read_narrative("my lips are swollen after the new tablets", language="en")
    assert reading.unresolved_danger_words == ()
    reading = read_narrative("se me hincharon los labios con la pastilla nueva", language="es")
    assert reading.unresolved_danger_words == ()


def test_a_relatives_overdose_is_still_left_for_a_person_to_read() -> None:
    reading = read_narrative("My brother overdosed years ago. My back hurts.", language="en")
    assert "overdosed" in reading.unresolved_danger_words


def test_a_carer_writing_for_the_patient_reports_the_patients_head_injury() -> None:
    answers = _answers(
        "Writing for my dad, he is on apixaban. He slipped this morning and banged his head.",
        "en",
    )
    assert answers.get("head_injury") is True
    assert answers.get("anticoagulant") is True
