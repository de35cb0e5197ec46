"""Danger signs from outside the spine as people really type them (lexicon/danger_v8.yaml).

Heart pain felt in the back and an arm with a cold sweat, "an elephant on my chest",
indigestion that will not go; sight blurring in one eye all of a sudden; one leg swollen;
shivers that cannot be stopped; pain in my side; muscles sore after a run or the gym beside
cola-coloured pee (muscle breakdown); blood when wiping; "he's yellow"; no poo or wind; a
carer's "she is 36 weeks"; a baby gone quiet; a blood thinner taken "since my clot last
year" - each read when the text says it, and *not* when it denies it, tells someone else's
story, puts it in the remote past, or only looks like it (grey hair, heat rash that fades,
"peeing is normal").
"""

from __future__ import annotations

import pytest

from backpath.intake import Intake
from backpath.nlp import read_narrative
from backpath.triage import assess
from backpath.vocabulary import FindingValue


def _answers(text: str) -> dict[str, FindingValue]:
    return read_narrative(text, language="en").answers()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Heart: back and arm with a sweat, pressure words, indigestion that stays, going grey.
        ("pain in my back and left arm, sweaty and sick", "pain_to_arm_or_jaw"),
        ("pain in my back and left arm, sweaty and sick", "pale_sweaty_faint"),
        (
            "Back pain between my shoulders and now my jaw and teeth ache, clammy",
            "pain_to_arm_or_jaw",
        ),
        ("feels like an elephant sitting on my chest", "chest_pain"),
        ("there's a tight band round my chest", "chest_pain"),
        ("pressure in the middle of my chest, started shovelling snow", "chest_pain"),
        ("indigestion that wont go away, been 2 hrs now", "chest_pain"),
        ("sudden agonising back pain and I went grey and collapsed", "pale_sweaty_faint"),
        ("struggling to breathe and my lips look a bit blue", "pale_sweaty_faint"),
        # Brain.
        ("my vision went blurry in one eye all of a sudden", "sudden_vision_change"),
        # Vessels.
        ("My leg is swollen and sore behind the knee", "calf_swelling"),
        ("my calf has been tight, swollen and tender since the weekend", "calf_swelling"),
        ("my foot is freezing cold and gone a funny blue colour", "cold_pale_leg"),
        ("He's on heparin and there's blood when he coughs", "coughing_blood"),
        # Kidneys and urine.
        ("Kidney pain on the right with shivers I can't stop", "shivers_rigors"),
        ("shaking with chills and throwing up", "shivers_rigors"),
        ("shaking all over with a temp and my side is killing me", "loin_pain"),
        ("he has pain in his left flank", "loin_pain"),
        ("wee is pinkish and it stings", "burning_urination"),
        ("pee looks like coca cola after a long run, legs cramping", "muscle_breakdown_signs"),
        (
            "my muscles ache after the gym and my pee is really dark, like tea",
            "muscle_breakdown_signs",
        ),
        (
            "started a statin and my muscles are so weak and achy, urine dark brown",
            "muscle_breakdown_signs",
        ),
        # Belly.
        ("Bright red blood when I wipe and in the toilet bowl", "rectal_bleeding"),
        ("black runny poo that stinks", "black_stools"),
        ("my wife has turned yellow", "jaundice"),
        ("mums eyes r yellow", "jaundice"),
        ("No poo or wind since Sunday and my tummy is huge and sore", "bowel_blocked"),
        ("No poo or wind since Sunday and my tummy is huge and sore", "abdominal_pain"),
        ("My tummy is too sore to touch", "abdominal_pain"),
        # Pregnancy and after birth.
        (
            "Writing for my wife, she is 36 weeks and is seeing flashing lights",
            "pregnant_or_postpartum",
        ),
        (
            "Writing for my wife, she is 36 weeks and is seeing flashing lights",
            "pregnancy_headache_vision",
        ),
        ("Baby's been really quiet today. I'm 29 weeks.", "fetal_movements_reduced"),
        ("6 months pregnant, fluid keeps trickling out of me", "waters_leaking"),
        ("I had a baby 2 weeks ago and now my left leg is swollen", "calf_swelling"),
        # Blood thinners and infection.
        ("On xarelto since my clot last year. Back pain.", "anticoagulant"),
        ("had a camera down and a biopsy last week, now burning up", "recent_procedure"),
        ("I inject clexane every day since my knee op", "recent_procedure"),
        ("He's been hot to touch all night", "fever"),
        (
            "On dabigatran. Back pain came on suddenly when I bent over, it's agony.",
            "sudden_severe_pain",
        ),
    ],
)
def test_each_danger_is_read_as_people_write_it(text: str, code: str) -> None:
    """The sign is read as present."""
    assert _answers(text).get(code) is True, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("my chest isnt tight and my breathing is fine", "chest_pain"),
        ("I'm not sweaty and I don't feel faint", "collapse"),
        ("No face drooping and my speech is fine", "slurred_speech"),
        ("The rash is only heat rash, it fades when I press a glass on it.", "non_blanching_rash"),
        ("No blood in my urine and it doesn't burn when I pee", "burning_urination"),
        ("my pee is a normal colour", "blood_in_urine"),
        ("My skin and eyes aren't yellow", "jaundice"),
        ("My stomach isn't hard or tender", "rigid_belly"),
        ("I haven't vomited any blood", "vomiting_blood"),
        ("Baby's movements are normal, 33 weeks pregnant", "fetal_movements_reduced"),
        ("Baby is kicking loads at 28 weeks", "fetal_movements_reduced"),
    ],
)
def test_a_denial_says_no(text: str, code: str) -> None:
    """A denial is read as no."""
    assert _answers(text).get(code) is False, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Someone else's story and the remote past.
        (
            "My dad had a heart attack with pain down his arm, mine is only my lower back",
            "pain_to_arm_or_jaw",
        ),
        ("I had jaundice as a newborn apparently. Back pain for 3 months.", "jaundice"),
        (
            "I had jaundice as a newborn apparently. Back pain for 3 months.",
            "pregnant_or_postpartum",
        ),
        (
            "My daughter is pregnant and has back pain, I'm asking about my sciatica",
            "pregnant_or_postpartum",
        ),
        ("My mum is on warfarin and I look after her, my own back hurts", "anticoagulant"),
        # Look-alikes.
        ("Heartburn after a curry last night, gone now. Back pain for a fortnight.", "chest_pain"),
        (
            "My arms ache from carrying the baby all day and my back is killing me",
            "pain_to_arm_or_jaw",
        ),
        ("my hair went grey years ago and my back aches", "pale_sweaty_faint"),
        ("I'm sick of this back pain.", "vomiting"),
        ("I sleep on my left side and the back pain is worse", "loin_pain"),
        ("Both my ankles swell a bit at the end of a long shift", "calf_swelling"),
        ("I'm sweating after the gym and my back is sore", "pale_sweaty_faint"),
        ("Peeing is normal, back sore", "blood_in_urine"),
    ],
)
def test_someone_else_the_remote_past_and_look_alikes_say_nothing(text: str, code: str) -> None:
    """Nothing is read for the patient."""
    assert _answers(text).get(code) is None, text


def test_no_arm_weakness_denies_nothing_about_the_legs() -> None:
    """ "No arm weakness" is a denial about the arm, and "heavy and weak" arm not a leg."""
    assert _answers("no arm weakness").get("leg_weakness") is None
    answers = _answers("My left arm feels heavy and weak")
    assert answers.get("face_arm_weakness") is True
    assert "leg_weakness" not in answers


def test_an_arm_side_is_not_a_leg_side() -> None:
    """An ache "down my left arm" beside sciatica on the right is not sciatica in both legs."""
    answers = _answers(
        "Tightness across my chest and a dull ache down my left arm. I've got sciatica on the right."
    )
    assert answers.get("pain_side") == "right"
    assert "bilateral_leg_symptoms" not in answers


def test_waters_soaking_the_bed_are_not_a_wet_bed() -> None:
    """Clear fluid soaking the bed in pregnancy is the waters, not urinary incontinence."""
    answers = _answers("37 weeks pregnant, my waters went, the bed was soaked with clear fluid")
    assert answers.get("waters_leaking") is True
    assert "urinary_incontinence" not in answers


def test_back_and_arm_pain_with_a_sweat_is_an_emergency() -> None:
    """The independent test's first miss now reaches the emergency department."""
    result = assess(
        Intake.from_json({"narrative": "pain in my back and left arm, sweaty and sick"}),
        read_narrative=read_narrative,
    )
    assert str(result.urgency) == "emergency"


def test_back_and_arm_pain_alone_is_not_read_as_heart_pain() -> None:
    """Without a sweat, chest pain or breathlessness, back and arm pain is left to the
    questions (more often a trapped nerve)."""
    assert "pain_to_arm_or_jaw" not in _answers("pain in my back and left arm for a week")
