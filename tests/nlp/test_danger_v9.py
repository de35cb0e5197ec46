"""Emergencies from outside the spine and suspicions that only a combination raises, as
real people type them on a phone (lexicon/danger_v9.yaml, corpus
tests/data/narratives/dev_v9.yaml).

A whole side gone weak, a face "slipping", "can't smile properly"; a head that "exploded";
"not really with it"; pain "like a knife being dragged" through to the back; a calf "fat and
tight"; "a pulsing in his stomach"; "can't get a full sentence out"; a temperature "n
shiverin"; pain "from my back round to my groin"; "29 wks n gettin tightenins"; "been sick
and there's blood in it"; a hip replaced two weeks ago; "I use gear (heroin)", "my son
injects drugs"; "wee'd myself ... didn't even know I was going" - each read when the text
says it, and *not* when it denies it ("never been told I have an aneurysm"), tells someone
else's story, puts it in the remote past ("when I was a teenager") or only looks like it
(a dog on blood thinners, "slimming world", a "weak bladder", "chin to chest", the baby
that "hasn't kicked", being sick after too much wine). A "can't", "didn't" or "without"
that belongs to a sign ("can't smile properly", "didn't even know I was going", "without
stopping for breath") must not deny the next finding. The corpus-level checks are in
tests/nlp/test_danger_corpora.py.
"""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative
from backpath.vocabulary import FindingValue


def _answers(text: str) -> dict[str, FindingValue]:
    return read_narrative(text, language="en").answers()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Brain.
        ("hubby 66 suddenly weak down his whole right side arm and leg", "face_arm_weakness"),
        ("hubby 66 suddenly weak down his whole right side arm and leg", "leg_weakness"),
        ("wife cant smile properly one side of her face is slipping", "face_arm_weakness"),
        ("wife cant smile properly and her arm is weak pls help", "face_arm_weakness"),
        ("hes fallen and he cant stand up", "walking_difficulty"),
        ("head exploded with pain when i was straining on the loo", "sudden_severe_headache"),
        ("flatmate is boiling hot and hes not really with it", "new_confusion"),
        # Vessels.
        ("pain moved through to my back like a knife being dragged down", "tearing_pain"),
        ("the pain started in my chest and went to my back", "chest_pain"),
        ("had my hip replaced 2 weeks ago now my calf is fat and tight", "calf_swelling"),
        ("had my hip replaced 2 weeks ago now my calf is fat and tight", "recent_procedure"),
        ("hubby says theres a pulsing in his stomach", "pulsatile_abdominal_mass"),
        ("his back is killing him out of nowhere", "sudden_severe_pain"),
        ("hes gone really pale n sweaty", "pale_sweaty_faint"),
        # Lungs.
        ("I can't get a full sentence out without stopping for breath", "breathless_now"),
        # Kidneys.
        ("pain in my right kidney area, temp 39 and shaking", "shivers_rigors"),
        ("on chemo n got a temp of 38 n shiverin", "shivers_rigors"),
        ("it stings when i wee, now my side hurts round the back", "loin_pain"),
        ("pain comes in waves from my side round to my groin", "loin_pain"),
        ("pain in waves and my pee is pinky", "blood_in_urine"),
        # Pregnancy.
        ("29 wks n gettin tightenins every few mins", "pregnant_or_postpartum"),
        ("29 wks n gettin tightenins every few mins", "regular_tightening"),
        ("32 weeks, pain under my ribs and a headache that wont shift", "pregnant_or_postpartum"),
        (
            "32 weeks pregnant and I have a headache that wont shift",
            "pregnancy_headache_vision",
        ),
        ("positive test last week now spotting and cramping on one side", "abdominal_pain"),
        ("my wife had a c section 10 days ago and has a temp", "recent_procedure"),
        ("period is 2 weeks late, pain low in my tummy, feel dizzy", "collapse"),
        # Belly.
        ("been sick and theres blood in it, dark red", "vomiting_blood"),
        ("dad says his back and belly are killing him", "abdominal_pain"),
        # Infection.
        ("i use gear (heroin) and my back is killing me", "iv_drug_use"),
        ("my son injects drugs, hes got a fever", "iv_drug_use"),
        ("I used to take heroin but I've been clean for 12 years", "iv_drug_use"),
        # Bladder and legs.
        ("wee'd myself in tesco today", "urinary_incontinence"),
        ("didnt even know i was going, never happened b4", "urinary_incontinence"),
        ("now both legs are going numb and weak", "weakness_worsening"),
        # A carer's relative with cancer and a new complaint "since yesterday".
        (
            "My dad has myeloma and since yesterday both his legs feel heavy",
            "cancer_history",
        ),
        ("My dad has myeloma and since yesterday both his legs feel heavy", "leg_weakness"),
        ("back pain getting worse and i get sweats at night", "pain_progressive"),
        ("new pain mid back wakes me every nite n gettin worse", "pain_progressive"),
    ],
)
def test_each_danger_is_read_as_people_type_it(text: str, code: str) -> None:
    """The sign is read as present."""
    assert _answers(text).get(code) is True, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("I've never been told I have an aneurysm", "known_aaa"),
        ("my face isnt drooping and i can talk fine", "face_arm_weakness"),
        ("my face isnt drooping and i can talk fine", "slurred_speech"),
        ("no confusion, no problems with my eyesight", "sudden_vision_change"),
        ("no stiff neck, no rash, no temperature", "non_blanching_rash"),
        ("used to inject drugs? no never. i smoke weed sometimes", "iv_drug_use"),
        ("never used drugs, no fever, no diabetes", "iv_drug_use"),
    ],
)
def test_a_denial_says_no(text: str, code: str) -> None:
    """A denial is read as no."""
    assert _answers(text).get(code) is False, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("out of breath running for the bus like everyone, fine once i stop", "breathless_now"),
        ("my dog is on blood thinners lol. my back hurts after walking him", "anticoagulant"),
        ("I lost 2 stone on slimming world which I'm proud of!", "iv_drug_use"),
        ("I lost 2 stone on slimming world which I'm proud of!", "weight_loss_unexplained"),
        ("My kids are 8 and 11. I had an epidural with both of them.", "recent_spinal_procedure"),
        ("I've had a weak bladder since having my kids", "leg_weakness"),
        ("temp n neck so stiff cant touch chin to chest n light hurts my eyes", "chest_pain"),
        ("38 wks baby hasnt kicked since this morning", "trauma_minor"),
        ("I threw up once after too much wine on Saturday, fine now.", "vomiting"),
        ("I broke my wrist falling off a horse when I was a teenager.", "trauma_major"),
        ("I had my aneurysm screening scan and it was normal, all clear", "known_aaa"),
        (
            "My mum has breast cancer and since her diagnosis I have had back pain.",
            "cancer_history",
        ),
        ("i cant lift my left arm properly and my hand is clumsy", "walking_difficulty"),
        ("My leg is getting weaker, I couldn't stand on my tiptoes.", "walking_difficulty"),
        ("my left leg has gone white and cold from the knee down", "pale_sweaty_faint"),
        (
            "Got an explosive headache, the worst pain I've ever had in my head",
            "sudden_severe_pain",
        ),
        (
            "I'm 33 weeks and there's a gush of water, my knickers are soaked",
            "urinary_incontinence",
        ),
        ("positive test, spotting and cramping on one side and my lower back aches", "loin_pain"),
    ],
)
def test_someone_else_the_remote_past_and_look_alikes_say_nothing(text: str, code: str) -> None:
    """Nothing is read as present for the patient."""
    assert _answers(text).get(code) is not True, text


def test_a_sign_that_holds_a_no_does_not_deny_the_next_one() -> None:
    """ "Can't get a full sentence out without stopping for breath" is breathlessness; its
    "can't" and "without" do not deny the back pain that follows."""
    answers = _answers(
        "I can't get a full sentence out without stopping for breath, "
        "back pain between my shoulders"
    )
    assert answers.get("breathless_now") is True
    assert answers.get("thoracic_pain") is True


def test_never_happened_before_dates_and_denies_nothing() -> None:
    """ "Never happened b4, sciatica both sides": new incontinence, and sciatica in both legs."""
    answers = _answers(
        "wee'd myself in tesco today didnt even know i was going, never happened b4, "
        "sciatica both sides"
    )
    assert answers.get("urinary_incontinence") is True
    assert answers.get("leg_pain") is True
    assert answers.get("bilateral_leg_symptoms") is True


def test_a_remote_past_stops_at_a_new_complaint() -> None:
    """ "Had bowel cancer 2 yrs ago, new pain mid back wakes me every nite": the cancer is
    history, the night pain in the mid back is now."""
    answers = _answers("had bowel cancer 2 yrs ago, new pain mid back wakes me every nite")
    assert answers.get("cancer_history") is True
    assert answers.get("night_pain") is True
    assert answers.get("thoracic_pain") is True
