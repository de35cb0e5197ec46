"""Every red flag can be read from a person's own words, in every reader language.

A red-flag finding with no lexicon phrase in a language is invisible in that language's
free text: the second red team found five such findings in English and six in Spanish
(stiff neck, testicle pain, pregnancy headache, diabetes, walking difficulty...). This
test keeps the gap from coming back when a red flag is added.
"""

from __future__ import annotations

import pytest

from backpath.kb import KnowledgeBase
from backpath.nlp import _knowledge, read_narrative

# One plain sentence per new family, read in each language (the phrases themselves are
# data; these only prove the families load and fire).
SENTENCES = [
    ("en", "Since this morning I have been seeing double", "sudden_vision_change"),
    ("es", "Desde esta mañana veo doble", "sudden_vision_change"),
    ("en", "I'm 30 weeks pregnant and the baby has stopped moving", "fetal_movements_reduced"),
    ("es", "Estoy de 30 semanas y el bebé no se mueve desde ayer", "fetal_movements_reduced"),
    ("en", "My neck is really stiff and the light hurts my eyes", "stiff_neck"),
    ("es", "Tengo el cuello rígido y la luz me molesta en los ojos", "stiff_neck"),
    ("en", "I keep falling over and can't walk properly", "walking_difficulty"),
    ("es", "Ya no puedo caminar bien, me caigo a cada rato", "walking_difficulty"),
    ("en", "I'm type 2 diabetic", "diabetes"),
    ("es", "Soy diabético", "diabetes"),
]


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_red_flag_has_a_phrase_in_each_reader_language(
    kb: KnowledgeBase, language: str
) -> None:
    """Each ``red_flag: true`` finding has at least one lexicon target that asserts it
    (not only a denial, an anchor or a blocker) in the language's lexicon."""
    knowledge = _knowledge.load_nlp_knowledge(language)
    asserted = {
        code
        for entry in knowledge.targets
        if not (entry.blocker or entry.denies or entry.only_when_negated)
        for code in entry.codes
    }
    missing = sorted(set(kb.red_flags) - asserted)
    assert missing == [], f"red flags the {language} reader cannot read: {missing}"


@pytest.mark.parametrize(("language", "text", "code"), SENTENCES)
def test_new_red_flag_families_are_read(language: str, text: str, code: str) -> None:
    reading = read_narrative(text, language=language)
    found = {f.code: f.value for f in reading.findings}
    assert found.get(code) is True, (text, found)
