"""The narrative reader's public contract: findings, certainty, values, spans, safety."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backpath.errors import NarrativeError
from backpath.intake import NarrativeFinding
from backpath.nlp import CERTAINTIES, MAX_NARRATIVE_CHARS, NarrativeReading, read_narrative
from backpath.nlp._knowledge import TargetEntry
from backpath.nlp._reader import _apply_nearby, _Mention

ACCEPTANCE = "my left leg is numb and I can't pee properly since yesterday, no fever"


def _by_code(reading: NarrativeReading) -> dict[str, list[NarrativeFinding]]:
    out: dict[str, list[NarrativeFinding]] = {}
    for finding in reading.findings:
        out.setdefault(finding.code, []).append(finding)
    return out


def test_acceptance_example_finds_numbness_retention_and_no_fever() -> None:
    """The issue's acceptance sentence gives leg numbness (left), retention and no fever."""
    reading = read_narrative(ACCEPTANCE)
    answers = reading.answers()
    assert answers["leg_numbness"] is True
    assert answers["pain_side"] == "left"
    assert answers["urinary_retention"] is True
    assert answers["fever"] is False
    found = _by_code(reading)
    assert found["fever"][0].certainty == "negated"
    for finding in reading.findings:
        start, end = finding.span
        assert ACCEPTANCE[start:end] == finding.text


def test_reading_shape_matches_the_public_api() -> None:
    """A reading has findings of NarrativeFinding, understood, language and problems."""
    reading = read_narrative("My back hurts.")
    assert isinstance(reading, NarrativeReading)
    assert reading.understood is True
    assert reading.language == "en"
    assert reading.problems == []
    assert all(isinstance(f, NarrativeFinding) for f in reading.findings)
    assert all(f.certainty in CERTAINTIES for f in reading.findings)


@pytest.mark.parametrize(
    ("text", "code", "value", "certainty"),
    [
        ("I can't feel the toilet paper when I wipe", "saddle_numbness", True, "affirmed"),
        ("numb bum", "saddle_numbness", True, "affirmed"),
        ("I wet myself last night", "urinary_incontinence", True, "affirmed"),
        ("my bladder is fine", "urinary_retention", False, "negated"),
        ("bowels are fine", "bowel_incontinence", False, "negated"),
        ("I'm not numb down there", "saddle_numbness", False, "negated"),
        ("no problems with my bladder", "urinary_incontinence", False, "negated"),
        ("I think my foot might be a bit weak", "leg_weakness", True, "uncertain"),
        ("my foot slaps when I walk", "foot_drop", True, "affirmed"),
        ("pins and needles in my toes", "leg_numbness", True, "affirmed"),
        ("I had cancer 10 years ago", "cancer_history", True, "historical"),
        ("I fell off a ladder last week", "trauma_major", True, "historical"),
        ("I had back surgery in 2015", "previous_spine_surgery", True, "historical"),
    ],
)
def test_phrases_resolve_to_value_and_certainty(
    text: str, code: str, value: object, certainty: str
) -> None:
    """Lay phrases, denials, hedges and past events resolve to the documented value."""
    found = _by_code(read_narrative(text))
    assert code in found, f"{code} not found in {text!r}"
    assert any(f.value == value and f.certainty == certainty for f in found[code]), found[code]


def test_family_history_never_makes_a_patient_finding_true() -> None:
    """'My dad had cancer' is recorded as family and gives no value for the patient."""
    reading = read_narrative("My dad had cancer and my mum has osteoporosis.")
    assert "cancer_history" not in reading.answers()
    assert "osteoporosis" not in reading.answers()
    certainties = {f.certainty for f in reading.findings if f.code == "cancer_history"}
    assert certainties == {"family"}


def test_hypothetical_red_flags_give_no_value() -> None:
    """Safety-net advice ('go to A&E if I lose control of my bladder') is not a symptom."""
    reading = read_narrative("My GP said to go to A&E if I lose control of my bladder.")
    assert reading.answers().get("urinary_incontinence") is None


def test_remote_past_symptom_says_nothing_about_now() -> None:
    """Numbness 'years ago' is historical and not a current finding."""
    reading = read_narrative("I had pins and needles in my leg years ago.")
    assert reading.answers().get("leg_numbness") is None
    assert any(f.certainty == "historical" for f in reading.findings if f.code == "leg_numbness")


@pytest.mark.parametrize(
    ("text", "code", "value"),
    [
        ("back pain for 3 weeks", "duration_days", 21),
        ("sciatica started 2 months ago", "duration_days", 60),
        ("my leg pain is 8/10", "pain_leg_nrs", 8),
        ("back pain eight out of ten", "pain_back_nrs", 8),
        ("I'm 52 and my back hurts", "age", 52),
        ("can't pee for 2 days", "cauda_equina_symptoms_days", 2),
        ("sciatica down both legs", "pain_side", "both"),
        ("sciatica down both legs", "bilateral_leg_symptoms", True),
        ("pain in my left leg and now my right leg too", "pain_side", "both"),
    ],
)
def test_numbers_and_sides_are_read(text: str, code: str, value: object) -> None:
    """Durations, pain scores, ages and sides become typed values for their codes."""
    assert read_narrative(text).answers().get(code) == value


def test_calendar_duration_needs_today_and_is_never_guessed() -> None:
    """'Since Monday' is counted only with a reference date; otherwise it is reported."""
    without = read_narrative("back pain since Monday")
    assert "duration_days" not in without.answers()
    assert any("since Monday" in problem for problem in without.problems)
    wednesday = dt.date(2024, 5, 15)
    assert read_narrative("back pain since Monday", today=wednesday).answers()["duration_days"] == 2


def test_someone_elses_age_is_not_the_patients() -> None:
    """'My 80 year old mum' does not set the age of a writer with symptoms of their own;
    a carer's text about her ("my 80 year old mum fell over") is about the patient."""
    own = read_narrative("My 80 year old mum fell over and I hurt my back helping her up.")
    assert "age" not in own.answers()
    assert read_narrative("My 80 year old mum fell over.").answers().get("age") == 80


def test_text_over_the_limit_is_refused_with_a_clear_error() -> None:
    """A narrative longer than the limit raises NarrativeError naming the limit."""
    with pytest.raises(NarrativeError, match="20,000"):
        read_narrative("a" * (MAX_NARRATIVE_CHARS + 1))


def test_text_at_the_limit_is_read() -> None:
    """A narrative of exactly the limit is read, not refused."""
    text = ("My back hurts and my left leg is numb. " * 600)[:MAX_NARRATIVE_CHARS]
    assert read_narrative(text).answers()["leg_numbness"] is True


def test_non_string_input_is_refused() -> None:
    """Passing something that is not text raises NarrativeError, never a crash."""
    with pytest.raises(NarrativeError):
        read_narrative(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "Ich habe seit zwei Wochen starke Schmerzen im Rücken und im linken Bein.",
        "J'ai mal au dos depuis une semaine et ma jambe droite est engourdie.",
        "asdkjh qwpoeiru zxmcnv lkjasd poiqwe",
        "",
        "   ",
        "👍👍👍",
    ],
)
def test_text_that_is_not_english_is_not_understood(text: str) -> None:
    """Non-English, gibberish and empty text are 'not understood', with a reason."""
    reading = read_narrative(text)
    assert reading.understood is False
    assert reading.problems


def test_spanish_is_guessed_as_spanish() -> None:
    """The best-guess language of a Spanish narrative is 'es'."""
    reading = read_narrative("Me duele mucho la espalda y no puedo dormir por la noche.")
    assert reading.language == "es"


def test_short_english_texts_are_understood() -> None:
    """Very short English narratives are understood (they are often the urgent ones)."""
    for text in ("numb bum", "cant pee", "no", "help"):
        assert read_narrative(text).understood is True, text


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes_and_spans_are_exact(text: str) -> None:
    """Any text (unknown words, symbols, any script) gives a reading with exact spans; a NUL
    byte or a lone surrogate is refused with a NarrativeError (issue 11)."""
    if "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text):
        with pytest.raises(NarrativeError):
            read_narrative(text)
        return
    reading = read_narrative(text)
    for finding in reading.findings:
        start, end = finding.span
        assert 0 <= start < end <= len(text)
        assert text[start:end] == finding.text
        assert finding.certainty in CERTAINTIES


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "my",
                "back",
                "leg",
                "numb",
                "no",
                "not",
                "can't",
                "pee",
                "fever",
                "both",
                "left",
                "if",
                "my dad",
                "had",
                "cancer",
                "years ago",
                ",",
                ".",
                "but",
                "fine",
                "8/10",
                "3 weeks",
            ]
        ),
        max_size=40,
    )
)
def test_clinical_word_salad_never_crashes(words: list[str]) -> None:
    """Random mixes of clinical trigger words always give a valid reading."""
    text = " ".join(words)
    reading = read_narrative(text)
    answers = reading.answers()
    for code, value in answers.items():
        assert value is not None, code


def _nearby_mentions(
    nearby_value: bool | None, own: bool = False, denied: bool = False
) -> list[_Mention]:
    """A rash mention whose entry needs a fever nearby (or, with ``own``, a rash: a need
    that only asks for the topic), and a mention of the needed code in the same sentence
    with the given value. ``denied``: the rash mention is itself a denial."""
    needed = "non_blanching_rash" if own else "fever"
    needy = TargetEntry(
        id="test.needs_nearby",
        codes=("non_blanching_rash",),
        phrases=("purple spots spreading",),
        file="test",
        needs_nearby=(needed,),
    )
    other = TargetEntry(id="test.other", codes=(needed,), phrases=("fever",), file="test")
    certainty = {True: "affirmed", False: "negated", None: "hypothetical"}[nearby_value]
    return [
        _Mention(
            "non_blanching_rash", not denied, "negated" if denied else "affirmed", 0, 3, 0, needy
        ),
        _Mention(needed, nearby_value, certainty, 5, 6, 0, other),
    ]


@pytest.mark.parametrize(
    ("nearby_value", "own", "denied", "kept"),
    [
        (True, False, False, True),  # "purple spots spreading, she has a fever"
        (False, False, False, False),  # "purple spots spreading, no fever": the bug
        (None, False, False, True),  # a relative's or a past mention still names the topic
        (False, True, False, True),  # a need for the topic only: any mention of it
        (False, False, True, True),  # a denial may lean on a denial ("... ni las nalgas")
    ],
)
def test_needs_nearby_is_not_met_by_a_denied_mention(
    nearby_value: bool | None, own: bool, denied: bool, kept: bool
) -> None:
    """A ``needs_nearby`` condition of a finding that is there is not met by a denied
    nearby mention ("no fever"). Before the fix any nearby mention of the code counted,
    so the second case kept the rash."""
    mentions = _nearby_mentions(nearby_value, own, denied)
    rash = [m for m in _apply_nearby(mentions) if m.code == "non_blanching_rash"]
    assert bool(rash) is kept


def test_a_denied_fever_does_not_make_spreading_spots_a_rash_of_sepsis() -> None:
    """Purple spots spreading beside a fever are a non-blanching rash; beside "no fever"
    they are not (the lexicon entry needs a fever, rigors, drowsiness or a stiff neck)."""
    with_fever = read_narrative("Little purple spots are spreading on her legs and she has a fever")
    assert with_fever.answers().get("non_blanching_rash") is True
    denied = read_narrative("Little purple spots are spreading on her legs. No fever.")
    assert "non_blanching_rash" not in denied.answers()
    assert denied.answers().get("fever") is False
