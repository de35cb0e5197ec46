"""The whole patient: warning signs outside the spine read from the person's own words.

Covers ``knowledge/nlp/lexicon/whole_patient.yaml`` (aorta, brain, chest and clots, kidney,
belly, pregnancy, blood thinners, shingles, a hip after a fall, worsening pain and recent
cauda equina symptoms): affirmed phrasings (British and American, plain and slang),
denials, other people, the past and hypotheticals, and the false hits the lexicon guards
against ("sick of this pain", "drinking water", "tearing up", "the left side of my back").
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backpath.intake import NarrativeFinding
from backpath.nlp import NarrativeReading, _knowledge, read_narrative, validate_nlp_knowledge

# The codes added with the whole-patient vocabulary (knowledge/findings.yaml).
WHOLE_PATIENT_CODES = (
    "ces_symptom_recent", "pain_progressive", "pulsatile_abdominal_mass", "pale_sweaty_faint",
    "tearing_pain", "cold_pale_leg", "new_confusion", "face_arm_weakness", "slurred_speech",
    "sudden_severe_headache", "breathless_now", "coughing_blood", "calf_swelling", "loin_pain",
    "shivers_rigors", "vomiting", "pain_in_waves", "blood_in_urine", "burning_urination",
    "thirst_polyuria", "vomiting_blood", "black_stools", "jaundice", "rigid_belly",
    "pregnant_or_postpartum", "vaginal_bleeding", "waters_leaking", "regular_tightening",
    "anticoagulant", "band_rash", "cannot_bear_weight",
)  # fmt: skip


def _found(reading: NarrativeReading, code: str) -> list[NarrativeFinding]:
    return [finding for finding in reading.findings if finding.code == code]


def _assert_spans_exact(text: str, reading: NarrativeReading) -> None:
    for finding in reading.findings:
        start, end = finding.span
        assert text[start:end] == finding.text


# ------------------------------------------------------------------ acceptance examples


def test_pulsing_lump_in_the_tummy_is_a_pulsatile_abdominal_mass() -> None:
    """The issue's acceptance sentence: a pulsing lump in the tummy, with back ache."""
    text = "I can feel a pulsing lump in my tummy and my back aches"
    reading = read_narrative(text)
    answers = reading.answers()
    assert answers["pulsatile_abdominal_mass"] is True
    assert answers["back_pain"] is True
    assert [f.certainty for f in _found(reading, "pulsatile_abdominal_mass")] == ["affirmed"]
    _assert_spans_exact(text, reading)


def test_warfarin_with_sudden_pain_and_a_weak_leg() -> None:
    """On warfarin, sudden bad back pain and then a weak leg: the anticoagulant is read."""
    text = (
        "I'm on warfarin and my back suddenly started hurting badly, "
        "an hour later my right leg went weak"
    )
    reading = read_narrative(text)
    answers = reading.answers()
    assert answers["anticoagulant"] is True
    assert [f.certainty for f in _found(reading, "anticoagulant")] == ["affirmed"]
    assert answers["back_pain"] is True
    assert answers["leg_weakness"] is True
    assert answers["onset_sudden"] is True
    _assert_spans_exact(text, reading)


def test_sudden_tearing_pain_and_nearly_passing_out() -> None:
    """A tearing pain an hour ago with a near-faint: tearing pain and collapse or shock."""
    text = "sudden tearing pain in my back an hour ago and I nearly passed out"
    answers = read_narrative(text).answers()
    assert answers["tearing_pain"] is True
    assert answers.get("collapse") is True or answers.get("pale_sweaty_faint") is True
    # The hour is not a reason to doubt it: "an hour ago" is not a past episode.
    assert answers["sudden_severe_pain"] is True


def test_pregnant_with_cramping_pains_that_come_and_go() -> None:
    """30 weeks pregnant with tummy cramps that come and go: pregnancy and tightenings."""
    text = "I'm 30 weeks pregnant with lower back pain and cramping tummy pains that come and go"
    reading = read_narrative(text)
    answers = reading.answers()
    assert answers["pregnant_or_postpartum"] is True
    assert answers["regular_tightening"] is True
    assert answers["back_pain"] is True
    # "30 weeks" is how far along the pregnancy is, not how long the back pain has lasted.
    assert "duration_days" not in answers
    _assert_spans_exact(text, reading)


# ------------------------------------------------------------------ affirmed, every code

AFFIRMED = [
    # aorta and vessels
    ("pulsatile_abdominal_mass", "there's a throbbing lump in my belly when I lie flat"),
    ("pulsatile_abdominal_mass", "my stomach is pulsing"),
    ("pulsatile_abdominal_mass", "my belly throbs when I lie down"),
    ("pale_sweaty_faint", "I nearly passed out, clammy, pale and sweaty"),
    ("pale_sweaty_faint", "I went grey and clammy"),
    ("pale_sweaty_faint", "I was white as a sheet"),
    ("tearing_pain", "a ripping pain going through to my back"),
    ("tearing_pain", "it feels like my back is being torn apart"),
    ("tearing_pain", "like something tearing inside"),
    ("cold_pale_leg", "my left foot has gone cold and white"),
    ("cold_pale_leg", "my leg turned blue and it's agony"),
    # brain
    ("new_confusion", "I feel confused and muddled"),
    ("new_confusion", "I'm so drowsy"),
    ("new_confusion", "I can't wake him properly"),
    ("face_arm_weakness", "my face is drooping on one side"),
    ("face_arm_weakness", "my arm went weak"),
    ("face_arm_weakness", "my hand went numb"),
    ("slurred_speech", "my words came out wrong"),
    ("slurred_speech", "I was slurring my words"),
    ("slurred_speech", "I couldn't get my words out"),
    ("sudden_severe_headache", "the worst headache of my life"),
    ("sudden_severe_headache", "a sudden headache like being hit on the back of the head"),
    ("sudden_severe_headache", "thunderclap headache"),
    # chest, breathing, clots
    ("breathless_now", "I'm short of breath"),
    ("breathless_now", "I can't catch my breath"),
    ("breathless_now", "breathing is really hard"),
    ("coughing_blood", "I've been coughing up blood"),
    ("coughing_blood", "there's blood in my phlegm"),
    ("calf_swelling", "my calf is swollen, hot and red"),
    ("calf_swelling", "one leg is swollen and twice the size of the other"),
    ("calf_swelling", "I think I have a DVT"),
    # kidney and urine
    ("loin_pain", "pain in my side between my ribs and my hip"),
    ("loin_pain", "pain in my left flank"),
    ("loin_pain", "my kidney area hurts"),
    ("loin_pain", "it feels like it's coming from my kidneys"),
    ("shivers_rigors", "I've had uncontrollable shivers"),
    ("shivers_rigors", "shaking all over with rigors"),
    ("shivers_rigors", "teeth chattering and I can't stop shaking"),
    ("vomiting", "I've been being sick all night"),
    ("vomiting", "throwing up since this morning"),
    ("vomiting", "I was vomiting"),
    ("vomiting", "I can't keep anything down"),
    ("pain_in_waves", "the pain comes in waves"),
    ("pain_in_waves", "I can't sit still with it"),
    ("pain_in_waves", "I'm pacing the floor"),
    ("blood_in_urine", "there's blood in my pee"),
    ("blood_in_urine", "my urine is red"),
    ("blood_in_urine", "my pee looks like cola"),
    ("blood_in_urine", "pink wee"),
    ("burning_urination", "it burns when I pee"),
    ("burning_urination", "stings when I wee"),
    ("burning_urination", "like pissing razor blades"),
    ("thirst_polyuria", "I'm so thirsty and peeing all the time"),
    ("thirst_polyuria", "I've been drinking and passing water a lot"),
    # stomach, bowel, liver
    ("vomiting_blood", "I threw up blood"),
    ("vomiting_blood", "my sick looked like coffee grounds"),
    ("black_stools", "black tarry poo"),
    ("black_stools", "my stools are black and sticky"),
    ("jaundice", "my skin and eyes have gone yellow"),
    ("jaundice", "yellow eyes"),
    ("jaundice", "my husband says I look yellow"),
    ("rigid_belly", "my belly is rock hard and too sore to touch"),
    ("rigid_belly", "my stomach is hard as a board"),
    # pregnancy and after birth
    ("pregnant_or_postpartum", "I'm 30 weeks pregnant"),
    ("pregnant_or_postpartum", "I had a baby 2 weeks ago"),
    ("pregnant_or_postpartum", "my baby is 3 weeks old"),
    ("pregnant_or_postpartum", "I'm pregnant with my first baby"),
    ("pregnant_or_postpartum", "since I had my baby my back has been killing me"),
    ("vaginal_bleeding", "I'm 20 weeks pregnant and bleeding down below"),
    ("vaginal_bleeding", "some vaginal bleeding"),
    ("waters_leaking", "my waters broke"),
    ("waters_leaking", "my water broke an hour ago"),
    ("waters_leaking", "I'm leaking fluid from my vagina"),
    ("regular_tightening", "contractions every 5 minutes"),
    ("regular_tightening", "Braxton Hicks"),
    ("regular_tightening", "I'm 34 weeks pregnant and have cramps that come and go"),
    # medicines and bleeding
    ("anticoagulant", "I'm on warfarin"),
    ("anticoagulant", "I take apixaban"),
    ("anticoagulant", "on Eliquis for my heart"),
    ("anticoagulant", "I'm on rivaroxaban"),
    ("anticoagulant", "I take Xarelto"),
    ("anticoagulant", "dabigatran"),
    ("anticoagulant", "edoxaban"),
    ("anticoagulant", "heparin injections"),
    ("anticoagulant", "I inject Clexane every day"),
    ("anticoagulant", "I'm on blood thinners"),
    ("anticoagulant", "I have haemophilia"),
    ("anticoagulant", "I have hemophilia"),
    ("anticoagulant", "tablets to thin my blood"),
    # skin and hip
    ("band_rash", "a blistery rash in a band round my side"),
    ("band_rash", "a rash in a strip on my back"),
    ("band_rash", "I have shingles"),
    ("cannot_bear_weight", "I can't put weight on my leg after I fell"),
    ("cannot_bear_weight", "my hip has been agony since the fall"),
    ("cannot_bear_weight", "I slipped on the ice and haven't been able to walk on that leg"),
    ("cannot_bear_weight", "I tripped and my groin is agony"),
    # the course of the pain and of cauda equina symptoms
    ("pain_progressive", "it's getting worse every week"),
    ("pain_progressive", "the pain is getting worse and worse"),
    ("pain_progressive", "my back pain has been getting steadily worse over the last few weeks"),
    ("ces_symptom_recent", "I can't pee since yesterday"),
    ("ces_symptom_recent", "I wet myself last night"),
    ("ces_symptom_recent", "my bum went numb, it's new"),
]


@pytest.mark.parametrize(("code", "text"), AFFIRMED)
def test_affirmed_phrasings_are_read(code: str, text: str) -> None:
    """Each phrasing gives its code as yes, with exact evidence spans."""
    reading = read_narrative(text)
    assert reading.answers().get(code) is True, (text, reading.findings)
    assert {f.certainty for f in _found(reading, code)} <= {"affirmed", "uncertain"}
    _assert_spans_exact(text, reading)


def test_every_whole_patient_code_has_affirmed_examples() -> None:
    """No code of the whole-patient vocabulary is left without a tested phrasing."""
    assert {code for code, _ in AFFIRMED} == set(WHOLE_PATIENT_CODES)


def test_every_whole_patient_code_has_a_lexicon_entry() -> None:
    """whole_patient.yaml has targets for every whole-patient code."""
    knowledge = _knowledge.load_nlp_knowledge()
    codes = {
        code
        for entry in knowledge.targets
        if entry.file.endswith("whole_patient.yaml") and not entry.blocker
        for code in entry.codes
    }
    assert set(WHOLE_PATIENT_CODES) <= codes


# ------------------------------------------------------------------ denials

NEGATED = [
    ("blood_in_urine", "no blood in my pee"),
    ("anticoagulant", "I'm not on any blood thinners"),
    ("anticoagulant", "I stopped taking warfarin"),
    ("pregnant_or_postpartum", "I'm not pregnant"),
    ("pregnant_or_postpartum", "my pregnancy test was negative"),
    ("vomiting", "no vomiting"),
    ("breathless_now", "no shortness of breath"),
    ("breathless_now", "my breathing is fine"),
    ("coughing_blood", "I haven't coughed up any blood"),
    ("pulsatile_abdominal_mass", "no lumps in my tummy"),
    ("waters_leaking", "my waters haven't broken"),
    ("burning_urination", "no burning when I pee"),
    ("jaundice", "no yellow skin"),
    ("new_confusion", "not confused at all"),
    ("calf_swelling", "no swelling in my calf"),
    ("cannot_bear_weight", "I can still put weight on my leg"),
    ("tearing_pain", "it's not a tearing pain"),
    ("band_rash", "no rash, no shingles"),
]


@pytest.mark.parametrize(("code", "text"), NEGATED)
def test_denials_say_no(code: str, text: str) -> None:
    """A denied finding is answered no (so it need not be asked again)."""
    reading = read_narrative(text)
    assert reading.answers().get(code) is False, (text, reading.findings)


def test_no_blood_in_my_pee_denies_nothing_about_the_bladder() -> None:
    """'pee' inside a denied blood-in-urine phrase does not deny every bladder symptom."""
    answers = read_narrative("no blood in my pee").answers()
    assert answers == {"blood_in_urine": False}


# ------------------------------------------------------------------ someone else, past, maybe

NO_VALUE = [
    ("anticoagulant", "my mum is on warfarin and my back hurts", "family"),
    ("pregnant_or_postpartum", "my wife is pregnant and I have back pain", "family"),
    ("new_confusion", "my dad has been confused. I have back pain", "family"),
    ("pulsatile_abdominal_mass", "my dad has a pulsing lump in his belly, my back hurts", "family"),
    ("band_rash", "I had shingles years ago", "historical"),
    ("calf_swelling", "I had a DVT years ago", "historical"),
    ("coughing_blood", "go to A&E if you start coughing up blood", "hypothetical"),
    ("vomiting", "what should I do if I start vomiting", "hypothetical"),
]


@pytest.mark.parametrize(("code", "text", "certainty"), NO_VALUE)
def test_other_people_the_past_and_hypotheticals_give_no_value(
    code: str, text: str, certainty: str
) -> None:
    """Someone else's finding, a long-past one or a 'what if' says nothing about now."""
    reading = read_narrative(text)
    assert code not in reading.answers(), reading.findings
    assert {f.certainty for f in _found(reading, code)} == {certainty}


def test_a_birth_months_or_years_ago_is_not_postpartum() -> None:
    """'Had a baby' counts only within weeks; months or years ago is blocked."""
    for text in (
        "I had a baby 3 months ago",
        "gave birth 4 months ago",
        "I had a baby 3 years ago",
    ):
        answers = read_narrative(text).answers()
        assert "pregnant_or_postpartum" not in answers, text
        # ... and the time does not become the back pain's duration.
        assert "duration_days" not in answers, text


def test_past_pregnancies_and_trying_for_a_baby_are_not_pregnancy() -> None:
    """'When I was pregnant', 'in my first pregnancy', 'trying to get pregnant'."""
    for text in (
        "when I was pregnant with my son I had the same pain",
        "in my first pregnancy I had this pain",
        "I'm trying to get pregnant",
    ):
        assert "pregnant_or_postpartum" not in read_narrative(text).answers(), text


# ------------------------------------------------------------------ false hits

FALSE_HITS = [
    ("waters_leaking", "I've been drinking water all day"),
    ("waters_leaking", "I work for the water company"),
    ("vomiting", "I'm sick of this pain"),
    ("vomiting", "I'm so sick and tired of my back"),
    ("vomiting", "I've been off sick from work"),
    ("vomiting", "I feel sick"),
    ("anticoagulant", "I have thin blood so I'm always cold"),
    ("anticoagulant", "I'm on a blood thinner, just aspirin"),
    ("anticoagulant", "I take aspirin"),
    ("loin_pain", "the pain is on the left side of my back"),
    ("loin_pain", "pain in my right side of my leg"),
    ("tearing_pain", "I keep tearing up when I think about it"),
    ("tearing_pain", "I tore a muscle in my back"),
    ("thirst_polyuria", "I'm drinking lots of water"),
    ("thirst_polyuria", "I'm peeing all the time"),
    ("new_confusion", "I'm confused about which exercises to do"),
    ("new_confusion", "the tablets make me really drowsy"),
    ("slurred_speech", "I can't find the words to describe the pain"),
    ("face_arm_weakness", "on the other hand the weakness in my leg is worse"),
    ("blood_in_urine", "a wee bit sore in my lower back"),
    ("burning_urination", "my back hurts when I pee"),
    ("cold_pale_leg", "my feet are always cold"),
    ("pale_sweaty_faint", "my hair is going grey"),
    ("jaundice", "my phlegm is yellow"),
    ("jaundice", "the bruise has turned yellow"),
    ("pain_in_waves", "the pain comes and goes"),
    ("pain_in_waves", "I can't get comfortable"),
    ("regular_tightening", "muscle contractions in my back"),
    ("regular_tightening", "back pain that comes and goes"),
    ("cannot_bear_weight", "I can't put weight on my leg because of the sciatica"),
    ("cannot_bear_weight", "I fell asleep on the sofa and my hip hurts"),
    ("band_rash", "I had my shingles jab last week"),
    ("pain_progressive", "it's getting worse"),
    ("sudden_severe_headache", "I have a headache"),
    ("breathless_now", "it hurts to breathe in"),
    ("calf_swelling", "my calf hurts"),
    ("pregnant_or_postpartum", "I'm having the second injection next week"),
    ("pregnant_or_postpartum", "I'm a delivery driver"),
]


@pytest.mark.parametrize(("code", "text"), FALSE_HITS)
def test_look_alike_words_are_not_read_as_findings(code: str, text: str) -> None:
    """Everyday uses of the same words give no finding at all for the code."""
    reading = read_narrative(text)
    assert _found(reading, code) == [], reading.findings


def test_blockers_never_speak_even_when_denied() -> None:
    """A blocker ('sick of', 'a wee bit') stops a false hit and is never a 'no' itself."""
    for text, code in (
        ("I'm not sick of it yet", "vomiting"),
        ("it's not a wee bit red", "blood_in_urine"),
        ("not confused about the exercises", "new_confusion"),
    ):
        assert _found(read_narrative(text), code) == [], text


def test_a_blocker_does_not_take_a_time_word_from_other_findings() -> None:
    """'since my third baby 15 years ago' still dates the leakage as long past."""
    text = "I've had leakage of urine since my third baby 15 years ago, nothing new."
    answers = read_narrative(text).answers()
    assert answers.get("urinary_incontinence") is not True
    assert "pregnant_or_postpartum" not in answers


def test_a_denial_inside_a_new_phrase_does_not_leak_to_other_findings() -> None:
    """'no worse at night' still denies night pain (no whole-patient phrase swallows 'no')."""
    text = "The pain is there all day but it's no worse at night."
    answers = read_narrative(text).answers()
    assert answers.get("night_pain") is False
    assert "pain_progressive" not in answers


# ------------------------------------------------------------------ times and durations


def test_a_duration_next_to_a_whole_patient_finding_does_not_date_the_back_pain() -> None:
    """'On warfarin for 5 years' and 'vomiting for 2 days' are not the back pain's duration."""
    for text in ("I've been on warfarin for 5 years", "I've been vomiting for 2 days"):
        assert "duration_days" not in read_narrative(text).answers(), text
    # The back pain's own duration is still read.
    answers = read_narrative("back pain for 3 weeks and I'm on apixaban").answers()
    assert answers["duration_days"] == 21
    assert answers["anticoagulant"] is True


@pytest.mark.parametrize(
    ("text", "recent"),
    [
        ("I can't pee since yesterday", True),
        ("can't pee for 2 days", True),
        ("numb bum for the last 2 weeks", True),
        ("I wet myself last night", True),
        ("my bum has been numb this week", True),
        ("new numbness down there", True),
        ("I've had trouble peeing, it only started today", True),
        ("can't pee for 3 weeks", None),
        ("I wet myself last month", None),
        ("my back hurts since yesterday", None),
        ("no numbness down there since yesterday", None),
    ],
)
def test_cauda_equina_symptoms_dated_within_14_days_are_recent(
    text: str, recent: bool | None
) -> None:
    """A bladder, bowel, saddle, sexual or both-leg symptom dated <= 14 days is recent.

    Older or undated symptoms leave ``ces_symptom_recent`` unknown (never "no"): the
    question is then asked.
    """
    assert read_narrative(text).answers().get("ces_symptom_recent") is recent


def test_a_recent_symptom_keeps_its_days() -> None:
    """The recent flag comes with the days it rests on."""
    answers = read_narrative("I haven't been able to pee since yesterday").answers()
    assert answers["ces_symptom_recent"] is True
    assert answers["cauda_equina_symptoms_days"] == 1


# ------------------------------------------------------------------ longer narratives


def test_a_long_narrative_reads_several_whole_patient_findings() -> None:
    """A realistic story with several systems at once, some denied, one about someone else."""
    text = (
        "I'm 67 and on apixaban for my heart. Since yesterday I've had an awful pain in my "
        "left flank that comes in waves and I can't sit still. I've been sick twice and my "
        "pee looks pink. No fever, no burning when I wee. My brother had kidney stones."
    )
    reading = read_narrative(text)
    answers = reading.answers()
    for code in ("anticoagulant", "loin_pain", "pain_in_waves", "vomiting", "blood_in_urine"):
        assert answers.get(code) is True, code
    assert answers["fever"] is False
    assert answers["burning_urination"] is False
    assert answers["age"] == 67
    _assert_spans_exact(text, reading)


# ------------------------------------------------------------------ knowledge checks


@pytest.fixture
def knowledge_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of knowledge/nlp that the validator reads instead of the real one."""
    target = tmp_path / "nlp"
    shutil.copytree(_knowledge.NLP_DIR, target)
    monkeypatch.setattr(_knowledge, "NLP_DIR", target)
    return target


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_blocker_must_be_true_or_false(knowledge_copy: Path) -> None:
    """'blocker' is a yes/no key."""
    _append(
        knowledge_copy / "lexicon" / "whole_patient.yaml",
        "\n  - id: test.bad_blocker\n    codes: [vomiting]\n    blocker: maybe\n"
        '    phrases: ["zzz"]\n',
    )
    assert any("test.bad_blocker: 'blocker' must be true or false" in p
               for p in validate_nlp_knowledge())  # fmt: skip


def test_blocker_cannot_also_be_an_anchor_or_a_denial(knowledge_copy: Path) -> None:
    """A blocker is never a finding, so 'only_when', 'denies' and 'value' make no sense."""
    _append(
        knowledge_copy / "lexicon" / "whole_patient.yaml",
        "\n  - id: test.blocker_anchor\n    codes: [vomiting]\n    blocker: true\n"
        '    only_when: negated\n    phrases: ["zzz"]\n',
    )
    assert any("test.blocker_anchor: a 'blocker' is never a finding" in p
               for p in validate_nlp_knowledge())  # fmt: skip
