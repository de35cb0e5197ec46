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

The corpus-level checks run on the dev part only: the held-out part (marked `split: reserve`,
so that tests/nlp/test_corpus.py does not hold it to the tuned targets) was scored once and is
never tuned on.
"""

from __future__ import annotations

from typing import Any

import pytest

from backpath.intake import Intake
from backpath.nlp import read_narrative
from backpath.triage import assess
from backpath.vocabulary import FindingValue, Urgency
from tests.nlp._eval import corpus_file, red_flags

# Corpus narratives whose red flag the reader still misses, with the reason (not the
# lexicon): the test fails when one of them starts to pass, so the entry is removed.
KNOWN_GAPS: dict[tuple[str, str], str] = {}

# Red flags read beyond the labels, each an over-reading (never an under-reading) that errs
# on the side of safety, with the reason. No control may raise any other red flag.
KNOWN_OVERREADS: dict[tuple[str, str], str] = {
    # "A tearing feeling between my shoulder blades", "sharp tearing pain in my back": an
    # older entry reads a tearing pain as sudden and severe too (dissection pain is).
    ("v10-en-020", "sudden_severe_pain"): "tearing pain read as sudden severe pain",
    ("v10-en-149", "sudden_severe_pain"): "tearing pain read as sudden severe pain",
    # "So out of breath I can't get up the stairs ... my lips look a bit blue": blue lips are
    # read as the colour of shock (danger_v8), and the stairs as a walking difficulty.
    ("v10-en-036", "pale_sweaty_faint"): "blue lips read as the colour of shock",
    ("v10-en-036", "walking_difficulty"): "can't get up the stairs (for breath) read as walking",
    # "Since my stent": an operation with no date is read as recent.
    ("v10-en-085", "recent_procedure"): "an undated stent read as a recent procedure",
    # "Unsteady on my feet": feet (plural) unsteady read as weak legs, both sides.
    ("v10-en-096", "leg_weakness"): "unsteady on my feet read as weak legs",
    ("v10-en-096", "bilateral_leg_symptoms"): "feet (plural) read as both legs",
    # "Didn't realise I'd wet myself": not feeling the urine pass is also a sensation change.
    ("v10-en-104", "urinary_sensation_change"): "wetting without noticing read as no sensation",
    # "Both legs feel like jelly": jelly legs read as a walking difficulty too.
    ("v10-en-107", "walking_difficulty"): "legs like jelly read as a walking difficulty",
    # "Haven't weed since yesterday morning and I don't even need to go": no finding exists
    # for passing no urine (NICE NG51 high-risk sign); retention is the nearest reading and
    # gives the emergency that NG51 asks for.
    ("v10-en-113", "urinary_retention"): "no urine passed read as retention (no finding for it)",
    ("v10-en-113", "ces_symptom_recent"): "no urine passed since yesterday dated as recent",
    # "Been vomiting all day" is read as vomiting that keeps nothing down (fluids_v9).
    ("v10-en-128", "cannot_keep_fluids_down"): "vomiting all day read as no fluids kept down",
}

# Dev narratives triaged lower from the text than from the labels, with the reason. Empty:
# v10-en-116 ("My blood pressure machine says 85 over 50") is read since measures.yaml
# takes "machine", "monitor" or "cuff" between "blood pressure" and the number.
KNOWN_UNDER_TRIAGE: dict[str, str] = {}

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


def _corpus() -> list[dict[str, Any]]:
    """The dev part of the v10 corpus (the held-out `reserve` part is never tuned on)."""
    return [n for n in corpus_file("dev_v10.yaml") if n.get("split", "dev") == "dev"]


def test_the_corpus_is_large_and_has_controls() -> None:
    """At least 150 narratives (about 30 held out), at least 40 of them controls that state
    no red flag."""
    narratives = corpus_file("dev_v10.yaml")
    flags = red_flags()
    controls = [
        n for n in narratives if not any(c in flags and v is True for c, v in n["findings"].items())
    ]
    held_out = [n for n in narratives if n.get("split") == "reserve"]
    assert len(narratives) >= 150
    assert len(controls) >= 40
    assert 25 <= len(held_out) <= 35


def test_every_red_flag_of_the_v10_dev_corpus_is_read() -> None:
    """Every red flag the v10 dev narratives affirm is read as present (the known gaps
    apart)."""
    flags = red_flags()
    missed = []
    for narrative in _corpus():
        answers = _answers(str(narrative["text"]))
        for code, value in narrative["findings"].items():
            if code in flags and value is True and answers.get(code) is not True:
                missed.append((narrative["id"], code))
    assert set(missed) == set(KNOWN_GAPS)


def test_no_control_of_the_v10_dev_corpus_raises_a_red_flag() -> None:
    """A red flag read as present must be labelled present (the known over-readings apart):
    no control raises one."""
    flags = red_flags()
    raised = []
    for narrative in _corpus():
        findings = narrative["findings"]
        for code, value in _answers(str(narrative["text"])).items():
            if code in flags and value is True and findings.get(code) is not True:
                raised.append((narrative["id"], code))
    assert set(raised) <= set(KNOWN_OVERREADS), sorted(set(raised) - set(KNOWN_OVERREADS))


def test_triage_from_the_text_alone_never_under_triages() -> None:
    """The triage engine on the narrative (+ age) alone reaches at least the urgency that
    the labelled findings give (derived with the engine from the labels as answers)."""
    under = []
    for narrative in _corpus():
        data: dict[str, Any] = {"narrative": narrative["text"], "language": "en"}
        if narrative.get("age") is not None:
            data["age"] = narrative["age"]
        got = str(assess(Intake.from_json(data), read_narrative=read_narrative).urgency)
        if Urgency(got).rank < Urgency(narrative["urgency"]).rank:
            under.append(narrative["id"])
    assert set(under) == set(KNOWN_UNDER_TRIAGE)


def test_the_labelled_urgency_is_what_the_labels_give() -> None:
    """Each narrative's urgency (held-out ones too: this reads labels, not the reader) is
    the triage engine's on its labelled findings (+ age) as structured answers."""
    wrong = []
    for narrative in corpus_file("dev_v10.yaml"):
        data: dict[str, Any] = {"answers": dict(narrative["findings"])}
        if narrative.get("age") is not None:
            data["age"] = narrative["age"]
        got = str(assess(Intake.from_json(data)).urgency)
        if got != narrative["urgency"]:
            wrong.append((narrative["id"], narrative["urgency"], got))
    assert wrong == []
