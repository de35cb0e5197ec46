"""Composing the handout: sections in urgency order, nothing the triage chose left out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backpath.education import HandoutError, compose_handout
from backpath.education.compose import parse_text
from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.triage import Assessment, assess
from backpath.vocabulary import FindingType, Urgency
from tests.education.conftest import BY_URGENCY, PERSONA_IDS, PERSONAS, assess_persona


@pytest.mark.parametrize("persona", PERSONAS, ids=PERSONA_IDS)
def test_persona_gets_the_expected_sections_in_order(
    persona: dict[str, Any], kb: KnowledgeBase
) -> None:
    """Each persona's handout has exactly the expected sections, in the expected order."""
    assessment = assess(Intake.from_json(persona["intake"]), kb)
    expected = persona["expected"]
    assert assessment.urgency.value == expected["urgency"], persona["description"]
    handout = compose_handout(assessment, "en")
    assert list(handout.section_ids) == expected["sections"]


@pytest.mark.parametrize("persona", PERSONAS, ids=PERSONA_IDS)
def test_persona_blocks_included_and_excluded(persona: dict[str, Any], kb: KnowledgeBase) -> None:
    """The blocks a persona must get are printed; the ones they must not get are not."""
    handout = compose_handout(assess(Intake.from_json(persona["intake"]), kb), "en")
    printed = set(handout.block_ids)
    expected = persona["expected"]
    assert [b for b in expected.get("blocks_include", []) if b not in printed] == []
    assert [b for b in expected.get("blocks_exclude", []) if b in printed] == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_emergency_opens_with_get_help_now(kb: KnowledgeBase, language: str) -> None:
    """An emergency handout's first section is "get help now", with the action to take."""
    handout = compose_handout(assess_persona(BY_URGENCY["emergency"], kb), language)
    first = handout.sections[0]
    assert first.id == "get_help_now"
    assert first.heading == kb.ui("handout.get_help_now", language)
    assert first.blocks[0].id == "go_to_emergency_department_now"
    assert "emergency_number" in first.widgets


def test_self_care_opens_with_home_care_and_when_to_see_a_doctor(kb: KnowledgeBase) -> None:
    """A self-care handout opens with what to do at home, then when to see a doctor."""
    handout = compose_handout(assess_persona(BY_URGENCY["self_care"], kb), "en")
    assert handout.section_ids[:3] == ("at_home", "when_to_see_a_doctor", "when_to_get_help")
    at_home = handout.section("at_home")
    assert at_home.blocks[0].id == "urgency"
    assert at_home.blocks[0].title == kb.urgencies[Urgency.SELF_CARE].headline
    assert "see_a_doctor_if" in [b.id for b in handout.section("when_to_see_a_doctor").blocks]


@pytest.mark.parametrize("urgency", list(BY_URGENCY))
def test_when_to_get_help_is_always_there_and_prominent(kb: KnowledgeBase, urgency: str) -> None:
    """Every handout has the alarm-styled "when to get help at once" box with the safety net."""
    handout = compose_handout(assess_persona(BY_URGENCY[urgency], kb), "en")
    section = handout.section("when_to_get_help")
    assert section.style == "alarm"
    assert "get_help_at_once" in [b.id for b in section.blocks]
    assert "emergency_number" in section.widgets
    assert handout.section_ids.index("when_to_get_help") <= 2


def _assessment_blocks(assessment: Assessment) -> set[str]:
    return {*assessment.advice, *assessment.next_steps, *assessment.safety_net}


def _omissions_are_lower_urgency(assessment: Assessment, omitted: tuple[str, ...]) -> bool:
    """Only actions and reasons of rules less urgent than the result may be left out."""
    at_result = {
        block
        for fired in assessment.fired
        if fired.rule.urgency is assessment.urgency
        for block in fired.rule.spec.advice
    }
    for item in omitted:
        if item.startswith("rule:"):
            rule = assessment.kb.rules_by_id[item.removeprefix("rule:")]
            if rule.urgency.rank >= assessment.urgency.rank:
                return False
        elif item in at_result or assessment.kb.advice[item].kind != "action":
            return False
    return True


@pytest.mark.parametrize("persona", PERSONAS, ids=PERSONA_IDS)
def test_nothing_the_triage_chose_is_dropped(persona: dict[str, Any], kb: KnowledgeBase) -> None:
    """Every advice, next step and safety-net block is printed once, unless omitted as less urgent."""
    assessment = assess(Intake.from_json(persona["intake"]), kb)
    handout = compose_handout(assessment, "en")
    printed = list(handout.block_ids)
    assert len(printed) == len(set(printed)), "a block is printed twice"
    missing = _assessment_blocks(assessment) - set(printed) - set(handout.omitted)
    assert missing == set()
    assert _omissions_are_lower_urgency(assessment, handout.omitted)


def test_emergency_handout_does_not_say_wait_for_a_visit(kb: KnowledgeBase) -> None:
    """An emergency handout leaves out "speak to a doctor today" and "book a visit" messages."""
    assessment = assess_persona("emergency_tearing_pain", kb)
    assert any(f.rule.urgency.value == "urgent" for f in assessment.fired), "a lesser rule fired"
    # The engine already keeps lesser rules' actions out of "what to do now".
    assert "speak_to_doctor_today" not in assessment.advice
    handout = compose_handout(assessment, "en")
    text = handout.plain_text()
    assert "Speak to a doctor today" not in text
    assert "book a visit" not in text.lower()


def test_glossary_lists_only_words_in_the_handout(kb: KnowledgeBase) -> None:
    """A glossary entry is printed only when its word occurs in that handout."""
    routine = compose_handout(assess_persona("routine_stenosis_walker", kb), "en")
    emergency = compose_handout(assess_persona("emergency_tearing_pain", kb), "en")
    routine_terms = {e.block_id for e in routine.section("glossary").glossary}
    emergency_terms = {e.block_id for e in emergency.section("glossary").glossary}
    assert {"glossary_stenosis", "glossary_nerve_root", "glossary_sciatica"} <= routine_terms
    assert "glossary_stenosis" not in emergency_terms
    assert "glossary_emergency_department" in emergency_terms


def test_spanish_handout_uses_spanish_words_everywhere(kb: KnowledgeBase) -> None:
    """In Spanish every heading, block and glossary entry is the Spanish catalog text."""
    handout = compose_handout(assess_persona("routine_stenosis_walker", kb), "es")
    catalog = kb.translations["es"]
    for section in handout.sections:
        assert section.heading in catalog.values(), section.id
        for block in section.blocks:
            if block.id in kb.advice:
                assert block.title == catalog[f"advice.{block.id}.title"]
    terms = {e.term for e in handout.section("glossary").glossary}
    assert "Estenosis espinal" in terms


def test_diary_asks_about_leg_pain_only_when_there_is_leg_pain(kb: KnowledgeBase) -> None:
    """The diary table has a leg-pain column for sciatica and none for back pain alone."""
    sciatica = compose_handout(assess_persona("routine_sciatica_office_worker", kb), "en")
    back_only = compose_handout(assess_persona("self_care_back_strain", kb), "en")
    assert "leg_pain" in [c.id for c in sciatica.diary_columns]
    assert "leg_pain" not in [c.id for c in back_only.diary_columns]
    assert sciatica.diary_days == 14


def test_unknown_language_is_refused(kb: KnowledgeBase) -> None:
    """Asking for a language without patient text raises HandoutError, never English silently."""
    with pytest.raises(HandoutError, match="unsupported language 'fr'"):
        compose_handout(assess_persona("routine_nothing_answered", kb), "fr")


def test_language_defaults_to_the_assessment_language(kb: KnowledgeBase) -> None:
    """Without a language argument the handout uses the intake's language."""
    intake = Intake.from_json({"answers": {"back_pain": True}, "language": "es"})
    handout = compose_handout(assess(intake, kb))
    assert handout.language == "es"
    assert handout.title == kb.ui("handout.document_title", "es")


def test_parse_text_splits_paragraphs_and_lists() -> None:
    """Lines starting with "- " become list items; other lines are paragraphs."""
    parts = parse_text("Intro line.\n- one.\n- two.\nAfter.")
    assert [(p.kind, p.lines) for p in parts] == [
        ("paragraph", ("Intro line.",)),
        ("list", ("one.", "two.")),
        ("paragraph", ("After.",)),
    ]


def _intakes(kb: KnowledgeBase) -> st.SearchStrategy[dict[str, Any]]:
    booleans = sorted(c for c, f in kb.findings.items() if f.type is FindingType.BOOLEAN)
    answers = st.dictionaries(st.sampled_from(booleans), st.booleans(), max_size=20)
    return st.fixed_dictionaries(
        {
            "age": st.integers(min_value=16, max_value=95),
            "answers": answers,
        },
        optional={"language": st.sampled_from(["en", "es"])},
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_intake_gives_a_safe_handout(kb: KnowledgeBase, data: st.DataObject) -> None:
    """For any intake: get-help box present, emergency first, nothing dropped, all in one language."""
    raw = data.draw(_intakes(kb))
    raw["answers"]["duration_days"] = data.draw(st.integers(min_value=0, max_value=400))
    assessment = assess(Intake.from_json(raw), kb)
    handout = compose_handout(assessment)
    assert "when_to_get_help" in handout.section_ids
    assert "contact" in handout.section_ids
    if assessment.urgency is Urgency.EMERGENCY:
        assert handout.section_ids[0] == "get_help_now"
        assert "diary" not in handout.section_ids
    if assessment.urgency is Urgency.SELF_CARE:
        assert handout.section_ids[0] == "at_home"
    missing = _assessment_blocks(assessment) - set(handout.block_ids) - set(handout.omitted)
    assert missing == set()
    assert _omissions_are_lower_urgency(assessment, handout.omitted)
