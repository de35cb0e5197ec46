"""Readability: every English text a handout can contain, and whole handouts, at grade 6 or below."""

from __future__ import annotations

import pytest

from backpath.education import compose_handout
from backpath.education.knowledge import handout_knowledge
from backpath.education.readability import (
    as_prose,
    check_texts,
    grade,
    handout_texts,
    hard_words,
    is_prose,
    longest_sentence,
    spanish_ease,
)
from backpath.kb import KnowledgeBase, load_knowledge
from tests.education.conftest import BY_URGENCY, PERSONA_IDS, assess_persona

KB = load_knowledge()
CHECKS = check_texts(KB)


@pytest.mark.parametrize("check", CHECKS, ids=[c.key for c in CHECKS])
def test_english_handout_text_is_plain(check: object) -> None:
    """Each English text a handout can print: grade <= 6 (prose), short sentences, no unexplained hard words."""
    assert check.problems == [], f"{check.key}: {check.text!r}"  # type: ignore[attr-defined]


def test_every_handout_block_is_checked(kb: KnowledgeBase) -> None:
    """The readability check covers every block of advice/en/handout.yaml and every rule message."""
    keys = set(handout_texts(kb))
    for block_id in handout_knowledge(kb).handout_block_ids:
        assert f"advice.{block_id}.body" in keys
    for rule in kb.rules:
        assert f"rule.{rule.id}.patient" in keys


@pytest.mark.parametrize("urgency", list(BY_URGENCY))
def test_whole_english_handout_is_at_grade_6_or_below(kb: KnowledgeBase, urgency: str) -> None:
    """A whole English handout, one persona per urgency, reads at Flesch-Kincaid grade 6 or below."""
    limits = handout_knowledge(kb).readability
    handout = compose_handout(assess_persona(BY_URGENCY[urgency], kb), "en")
    text = handout.plain_text()
    assert grade(text) <= limits.max_grade
    assert longest_sentence(text) <= limits.max_sentence_words


@pytest.mark.parametrize("persona_id", PERSONA_IDS)
def test_whole_handout_prose_without_headings_is_at_grade_6_or_below(
    kb: KnowledgeBase, persona_id: str
) -> None:
    """Measured on its sentences alone (headings left out), every persona's handout is still grade 6 or below."""
    handout = compose_handout(assess_persona(persona_id, kb), "en")
    prose = "\n".join(
        block.text for section in handout.sections for block in section.blocks if block.text
    )
    assert grade(prose) <= handout_knowledge(kb).readability.max_grade


@pytest.mark.parametrize("urgency", list(BY_URGENCY))
def test_spanish_handout_is_easy_to_read(kb: KnowledgeBase, urgency: str) -> None:
    """A whole Spanish handout scores at least 70 ("fairly easy") on the Fernández-Huerta scale."""
    handout = compose_handout(assess_persona(BY_URGENCY[urgency], kb), "es")
    assert spanish_ease(handout.plain_text()) >= 70


def test_grade_matches_textstat_on_the_seed_paragraph() -> None:
    """The grade is textstat 0.7.8's Flesch-Kincaid: the seed's jargon scores far above grade 6."""
    seed = (
        "If the usual treatments do not relieve your pain, your doctor may recommend an "
        "injection of cortisone, an anti-inflammatory medication, under X-ray guidance into "
        "the space around a spinal nerve."
    )
    assert grade(seed) > 12
    assert grade("Walk a bit each day. It helps your back.") < 3


def test_list_items_and_headings_count_as_sentences() -> None:
    """Each line (heading, list item) ends like a sentence, so a list is not one long sentence."""
    text = "What to do:\n- Walk a bit.\n- Rest a bit"
    assert as_prose(text) == "What to do. Walk a bit. Rest a bit."
    assert longest_sentence(text) == 3


def test_labels_are_not_graded_but_checked_for_hard_words() -> None:
    """Headings get no grade (the formula needs sentences); unexplained long words are still found."""
    assert not is_prose("When to get help at once")
    assert is_prose("Call 911.")
    assert hard_words("Your radiculopathy is irritated", allowed=["irritated"]) == ["radiculopathy"]
