"""Danger signs from the whole patient, as real people and carers type them on a phone
(lexicon/danger_v10.yaml, corpus tests/data/narratives/dev_v10.yaml).

An "instant" pain in the back of the head "like I'd been shot", a "sudden crack of a
headache"; a daughter "burning hot"; light "killing my eyes"; grandad "all muddled"; "can't
wiggle my toes"; a leg "like a block of ice"; "he's grey"; the back "sore just under my ribs";
"shaking like mad"; a groin lump "that won't push back in"; "16 wks and bleeding", "I'm 31
weeks", the bump "going hard every 10 minutes", a "banging headache" at 35 weeks; "bleeding
through pads really fast"; "sex feels completely different"; "took a load of his nan's
tramadol on purpose" - each read when the text says it, and *not* when the pain is "low in
the middle of my back", a face is "puffed up" (not puffed out), a daughter is pregnant "but
I'm asking about my own back", a brother injects "but I've never touched drugs", weight went
"since I started running", a leak on coughing goes back to a birth years ago, stiffness comes
"in waves" when sitting, or "she's grey haired". A "won't" or "don't" that belongs to a sign
("won't push back in", "don't even need to go") must not deny the next finding.

The corpus-level checks (tests/nlp/test_danger_corpora.py) run on the dev part only: the
held-out part (marked `split: reserve`, so that tests/nlp/test_corpus.py does not hold it to the
tuned targets) was scored once and is never tuned on.
"""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative
from backpath.vocabulary import FindingValue

_TRAMADOL = "my son took a load of his nans tramadol on purpose last night, hes 17"


def _answers(text: str) -> dict[str, FindingValue]:
    return read_narrative(text, language="en").answers()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Brain.
        (
            "got an instant pain in the back of my head like i'd been shot",
            "sudden_severe_headache",
        ),
        ("sudden crack of a headache then my neck went stiff", "sudden_severe_headache"),
        ("my daughter is home from uni, shes burning hot", "fever"),
        ("temp of 39, light is killing my eyes", "stiff_neck"),
        ("it hurts to bend my neck and i have a temperature", "stiff_neck"),
        ("grandad is suddenly all muddled today", "new_confusion"),
        ("she thinks its 1970 and keeps trying to go to work", "new_confusion"),
        ("breathing really fast, hot to touch and not making sense", "fever"),
        # Vessels.
        ("my foot went cold and white and i cant wiggle my toes properly", "leg_weakness"),
        ("leg feels like a block of ice and has gone numb", "cold_pale_leg"),
        ("my foot looks really pale compared to the other one", "cold_pale_leg"),
        ("dad has pain between his shoulders, hes grey and been sick", "pale_sweaty_faint"),
        # Kidneys.
        ("my back on the right is sore just under my ribs and im hot", "loin_pain"),
        ("she has a kidney infection and her side is so sore", "loin_pain"),
        ("now im shaking like mad with a temp", "shivers_rigors"),
        # Belly.
        ("sudden stabbing pain in my tummy and my belly is rock hard", "sudden_severe_pain"),
        ("painful lump in my groin thats gone hard and wont push back in", "groin_lump_painful"),
        # Pregnancy.
        ("16 wks and bleeding bright red", "vaginal_bleeding"),
        ("16 wks and bleeding bright red", "pregnant_or_postpartum"),
        ("36 weeks and i think my waters have gone", "pregnant_or_postpartum"),
        ("im 31 weeks and my back hurts", "pregnant_or_postpartum"),
        ("my tummy keeps going hard every 10 minutes", "regular_tightening"),
        (
            "35 weeks, my face and hands have puffed right up, got a banging headache",
            "pregnancy_headache_vision",
        ),
        ("38 wks and my vision keeps going blurry", "pregnancy_headache_vision"),
        ("had my baby 2 weeks ago, tummy sore and a fever", "abdominal_pain"),
        ("8 weeks pregnant, bleeding through pads really fast", "heavy_bleeding"),
        # Cauda equina, overdose.
        ("sex feels completely different, numb down below", "sexual_dysfunction_new"),
        (_TRAMADOL, "medicine_overdose"),
        (_TRAMADOL, "suicidal_thoughts"),
    ],
)
def test_each_danger_is_read_as_people_type_it(text: str, code: str) -> None:
    """The sign is read as present."""
    assert _answers(text).get(code) is True, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("taking 2 paracetamol four times a day like the packet says", "medicine_overdose"),
        ("legs are a normal colour and not swollen", "calf_swelling"),
        ("wee is normal colour, no stinging, no blood", "burning_urination"),
        ("sex feels the same as always", "sexual_dysfunction_new"),
    ],
)
def test_a_denial_says_no(text: str, code: str) -> None:
    """A denial is read as no."""
    assert _answers(text).get(code) is False, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("its a dull ache low in the middle of my back", "thoracic_pain"),
        ("35 weeks, my face and hands have puffed right up", "breathless_now"),
        (
            "my daughter is 30 weeks and has bad pelvic pain, but im asking about my own back",
            "pregnant_or_postpartum",
        ),
        (
            "my brother injects and i worry about him, but ive never touched drugs myself",
            "iv_drug_use",
        ),
        ("lost 3 stone since i started running and cut out sugar", "weight_loss_unexplained"),
        (
            "I've leaked a bit when I cough or sneeze ever since my second baby 15 years ago",
            "urinary_incontinence",
        ),
        ("my back stiffness comes and goes in waves when i sit too long", "pain_in_waves"),
        ("shes grey haired and 80 with a bad back", "pale_sweaty_faint"),
        ("my knee is hot to touch after football", "fever"),
        ("I'm 12 weeks into physio for my back", "pregnant_or_postpartum"),
        ("coughing up blood in my tissues", "rectal_bleeding"),
        ("i get a bit muddled with my tablets", "new_confusion"),
        ("type 1 diabetic, now im feverish and shivery", "shivers_rigors"),
    ],
)
def test_someone_else_the_remote_past_and_look_alikes_say_nothing(text: str, code: str) -> None:
    """Nothing is read as present for the patient."""
    assert _answers(text).get(code) is not True, text


def test_a_sign_that_holds_a_no_does_not_deny_the_next_one() -> None:
    """ "Won't push back in" and "don't even need to go" hold their own "no": the vomiting
    and the fever that follow are read as present."""
    lump = _answers("painful lump in my groin thats gone hard and wont push back in, been sick")
    assert lump.get("groin_lump_painful") is True
    assert lump.get("vomiting") is True
    urine = _answers("havent weed since yesterday morning and i dont even need to go, feverish")
    assert urine.get("fever") is True
