"""Text normalisation before matching (issue 11): odd characters, offsets, bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backpath.errors import IntakeError, NarrativeError
from backpath.intake import Intake
from backpath.nlp import read_narrative
from backpath.nlp._normalise import check_text, normalise, normalise_text


def _codes(text: str) -> dict[str, object]:
    return read_narrative(text).answers()


@pytest.mark.parametrize(
    "text",
    [
        "I wet\u00a0myself",  # no-break space
        "I wet\u202fmyself",  # narrow no-break space
        "I wet\u200bmyself",  # zero-width space between words
        "I wet\u2060 myself",  # word joiner
        "I wet my\u00adself",  # soft hyphen
        "\ufeffI wet myself",  # byte-order mark
        "\u200eI wet myself\u200f",  # direction marks
        "I WET MYSELF",
        "I wet   myself",  # several spaces
        "I\twet\tmyself",
        "\uff29 \uff57\uff45\uff54 \uff4d\uff59\uff53\uff45\uff4c\uff46",  # full-width letters
    ],
)
def test_a_red_flag_joined_by_odd_characters_is_still_read(text: str) -> None:
    assert _codes(text).get("urinary_incontinence") is True


def test_curly_quotes_ligatures_and_dashes() -> None:
    assert _codes("I can\u2019t pee")["urinary_retention"] is True
    assert _codes("I can\u02bct pee")["urinary_retention"] is True
    assert _codes("\ufb02oppy foot")["foot_drop"] is True
    answers = _codes("Back pain \u2013 no numbness \u2013 no weakness")
    assert answers["leg_numbness"] is False
    assert answers["back_pain"] is True


def test_zero_width_space_inside_a_contraction_is_removed() -> None:
    assert _codes("can\u200b\u2019t\u200b feel\u200b my\u200b bum")["saddle_numbness"] is True


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("sooo numb down there", "saddle_numbness"),
        ("numbbbb bum", "saddle_numbness"),
        ("my legs are sooooo weak", "leg_weakness"),
        ("I wet myselffff", "urinary_incontinence"),
    ],
)
def test_repeated_letters_are_collapsed(text: str, code: str) -> None:
    assert _codes(text)[code] is True


def test_spans_point_into_the_original_text() -> None:
    text = "\ufeffMy\u00a0back\u2026 I can\u2019t feel my bum\u200b \u200band I\u2019ve wet my\u00adself"
    reading = read_narrative(text)
    assert reading.findings
    for finding in reading.findings:
        start, end = finding.span
        assert text[start:end] == finding.text
    evidence = {f.code: f.text for f in reading.findings}
    assert evidence["saddle_numbness"] == "can\u2019t feel my bum"
    assert evidence["urinary_incontinence"] == "wet my\u00adself"


def test_a_corrected_word_keeps_its_written_evidence() -> None:
    text = "peein myslef and cnat feel my arse wen i wipe, bak pain"
    reading = read_narrative(text)
    evidence = {f.code: f.text for f in reading.findings}
    assert evidence["urinary_incontinence"] == "peein myslef"
    assert evidence["saddle_numbness"] == "cnat feel my arse"


def test_normalise_keeps_a_map_for_every_character() -> None:
    original = "A\u00a0b\u200bc\u00add \ufb01ne\u2019s   x"
    result = normalise(original)
    assert result.text == "a b cd fine's x"
    assert result.span(0, len(result.text)) == (0, len(original))
    start = result.text.index("fine")
    first, last = result.span(start, start + 4)
    assert original[first:last] == "\ufb01ne"


def test_plain_text_keeps_its_offsets() -> None:
    result = normalise("My Back Hurts")
    assert result.text == "my back hurts"
    assert result.starts is None
    assert result.span(3, 7) == (3, 7)
    assert normalise_text("CAN\u2019T") == "can't"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_any_text_maps_back_inside_the_original(text: str) -> None:
    result = normalise(text)
    for start in range(len(result.text) + 1):
        for end in (start, min(start + 3, len(result.text))):
            first, last = result.span(start, end)
            assert 0 <= first <= last <= len(text)


@pytest.mark.parametrize("bad", ["my back\x00 hurts", "numb \ud800 bum"])
def test_nul_bytes_and_lone_surrogates_are_refused_by_the_reader(bad: str) -> None:
    with pytest.raises(NarrativeError):
        read_narrative(bad)
    with pytest.raises(NarrativeError):
        check_text(bad)


@pytest.mark.parametrize("bad", ["my back\x00 hurts", json.loads('"numb \\ud83d bum"')])
def test_nul_bytes_and_lone_surrogates_are_an_intake_error(bad: str) -> None:
    with pytest.raises(IntakeError) as caught:
        Intake.from_json({"narrative": bad})
    assert caught.value.field == "narrative"


def test_a_surrogate_pair_is_fine() -> None:
    Intake.from_json({"narrative": "my back hurts \U0001f62d"})
    assert _codes("my back hurts \U0001f62d and I wet myself")["urinary_incontinence"] is True
