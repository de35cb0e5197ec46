"""Every patient-facing text is translated into every language, with the same placeholders."""

from __future__ import annotations

import re

import pytest

from backpath.kb import KnowledgeBase, load_knowledge

KB = load_knowledge()
LANGUAGES = [lang for lang in KB.languages if lang != "en"]
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def placeholders(text: str) -> list[str]:
    """The {placeholders} of a text, sorted, repeats kept."""
    return sorted(PLACEHOLDER.findall(text))


def list_items(text: str) -> int:
    """How many "- " list lines a text has (the handout prints them as a list)."""
    return sum(1 for line in text.splitlines() if line.strip().startswith("- "))


def test_there_is_a_second_language() -> None:
    """The manifest lists English and at least one other language."""
    assert "en" in KB.languages
    assert LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_patient_text_is_translated(kb: KnowledgeBase, language: str) -> None:
    """No key of kb.patient_texts() lacks a translation (questions, rules, advice, urgencies, sections, ui)."""
    catalog = kb.translations.get(language, {})
    missing = sorted(key for key in kb.patient_texts() if key not in catalog)
    assert missing == [], f"{len(missing)} texts lack a {language} translation: {missing[:20]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(kb: KnowledgeBase, language: str) -> None:
    """A translation has exactly the {placeholders} of its English text."""
    catalog = kb.translations.get(language, {})
    wrong = {
        key: (placeholders(english), placeholders(catalog[key]))
        for key, english in kb.patient_texts().items()
        if key in catalog and placeholders(english) != placeholders(catalog[key])
    }
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_lists(kb: KnowledgeBase, language: str) -> None:
    """A translation has as many list lines as its English text, so the handout prints the same list."""
    catalog = kb.translations.get(language, {})
    wrong = {
        key: (list_items(english), list_items(catalog[key]))
        for key, english in kb.patient_texts().items()
        if key in catalog and list_items(english) != list_items(catalog[key])
    }
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_orphan_translations(kb: KnowledgeBase, language: str) -> None:
    """Every translated key still exists in English (a renamed key leaves no stale text behind)."""
    english = kb.patient_texts()
    orphans = sorted(key for key in kb.translations.get(language, {}) if key not in english)
    assert orphans == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_terminal_yes_and_no_differ(kb: KnowledgeBase, language: str) -> None:
    """The terminal's yes and no answers are different letters in every language."""
    assert kb.ui("terminal.answer_yes", language) != kb.ui("terminal.answer_no", language)
