"""Readability of patient text: Flesch-Kincaid grade, sentence length and hard words.

English grades use textstat 0.7.8 (pinned: later versions need NLTK data from the network).
A text is measured the way it is printed: each list item and each line is a sentence of
its own, and a heading is a line. The Flesch-Kincaid formula is only meaningful for prose,
so headings and labels (texts that do not end like a sentence) are checked for hard words
instead: every word of three or more syllables that is not on the Dale-Chall list of easy
words must be a reviewed familiar word or a glossary term.

Spanish text is reported with the Fernández-Huerta reading ease (higher is easier; 70-80
is "fairly easy", 80-90 "easy"), which textstat computes with Spanish syllable rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from textstat.textstat import textstatistics

from backpath.education.knowledge import handout_knowledge
from backpath.kb import KnowledgeBase

_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*", re.UNICODE)  # textstat's own sentence rule
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@lru_cache(maxsize=2)
def _stats(language: str) -> textstatistics:
    """A textstat instance for one language (its own, so no global state is touched)."""
    stats = textstatistics()
    stats.set_lang("es_ES" if language == "es" else "en_US")
    return stats


def as_prose(text: str) -> str:
    """The text as sentences: placeholders as plain words, list markers dropped, and every
    line (heading, list item, table cell) ended like a sentence."""
    lines = []
    for raw in text.splitlines():
        line = _PLACEHOLDER.sub(r"\1", raw.strip())
        line = line.removeprefix("- ").strip()
        if not line:
            continue
        if line.endswith(":"):
            line = line[:-1] + "."
        elif line[-1] not in ".!?":
            line += "."
        lines.append(line)
    return " ".join(lines)


def is_prose(text: str) -> bool:
    """True for text written as sentences (it ends with . ! or ?); false for labels."""
    stripped = text.rstrip()
    return bool(stripped) and stripped[-1] in ".!?"


def grade(text: str) -> float:
    """Flesch-Kincaid grade of English ``text`` (textstat 0.7.8), measured as printed."""
    return float(_stats("en").flesch_kincaid_grade(as_prose(text)))


def spanish_ease(text: str) -> float:
    """Fernández-Huerta reading ease of Spanish ``text`` (higher is easier)."""
    return float(_stats("es").fernandez_huerta(as_prose(text)))


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as textstat counts them."""
    return [s.strip() for s in _SENTENCE.findall(as_prose(text)) if s.strip()]


def longest_sentence(text: str) -> int:
    """Words in the longest sentence of ``text``."""
    return max((len(_WORD.findall(s)) for s in sentences(text)), default=0)


@lru_cache(maxsize=1)
def _easy_words() -> frozenset[str]:
    from textstat.backend.utils._get_lang_easy_words import get_lang_easy_words

    return frozenset(get_lang_easy_words("en_US"))


def syllables(word: str) -> int:
    """Syllables in one English word (CMU dictionary, then Pyphen)."""
    return int(_stats("en").syllable_count(word.lower()))


def hard_words(
    text: str, allowed: Iterable[str] = (), glossary: re.Pattern[str] | None = None
) -> list[str]:
    """Words of three or more syllables that are neither easy (Dale-Chall), nor in
    ``allowed``, nor matched by the ``glossary`` pattern. Sorted, without repeats."""
    easy = _easy_words()
    allowed_set = {w.lower() for w in allowed}
    remainder = glossary.sub(" ", text) if glossary else text
    found = set()
    for word in _WORD.findall(_PLACEHOLDER.sub(" ", remainder)):
        lower = word.lower().strip("'’-")
        if not lower or lower in easy or lower in allowed_set:
            continue
        if lower.endswith(("'s", "’s")) and lower[:-2] in allowed_set | easy:
            continue
        if syllables(lower) >= 3:
            found.add(lower)
    return sorted(found)


@dataclass(frozen=True)
class TextCheck:
    """The readability of one English text, against the handout's limits."""

    key: str
    text: str
    prose: bool
    grade: float | None
    longest_sentence: int
    hard_words: tuple[str, ...]
    max_grade: float
    max_sentence_words: int

    @property
    def problems(self) -> list[str]:
        """What is wrong with the text, in words; empty when it passes."""
        out = []
        if self.grade is not None and self.grade > self.max_grade:
            out.append(f"grade {self.grade:.1f} > {self.max_grade:g}")
        if self.longest_sentence > self.max_sentence_words:
            out.append(f"a sentence of {self.longest_sentence} words > {self.max_sentence_words}")
        if self.hard_words:
            out.append("unexplained hard words: " + ", ".join(self.hard_words))
        return out


def handout_texts(kb: KnowledgeBase) -> dict[str, str]:
    """Every English text a handout can contain, by translation key.

    Urgency wording, every rule's patient message, every advice block (title and body,
    the glossary included) and the handout's interface words. Rule titles are for
    clinicians and are never printed on a handout.
    """
    texts: dict[str, str] = {}
    for urgency in kb.urgencies.values():
        for part in ("label", "headline", "action"):
            texts[f"urgency.{urgency.id.value}.{part}"] = getattr(urgency, part)
    for rule in kb.rules:
        texts[f"rule.{rule.id}.patient"] = rule.spec.patient
    for block in kb.advice.values():
        texts[f"advice.{block.id}.title"] = block.title
        texts[f"advice.{block.id}.body"] = block.body
    for key, text in kb.ui_texts.items():
        if key.startswith("handout."):
            texts[key] = text
    return texts


def glossary_pattern(kb: KnowledgeBase, language: str = "en") -> re.Pattern[str] | None:
    """One pattern matching every glossary term of ``language`` (whole words)."""
    terms = [
        term
        for entry in handout_knowledge(kb).glossary
        for term in entry.spec.terms.get(language, ())
    ]
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def check_texts(kb: KnowledgeBase, texts: Mapping[str, str] | None = None) -> list[TextCheck]:
    """Check English texts (default: :func:`handout_texts`) against the handout's limits.

    Prose gets a grade and a sentence-length check; every text gets the hard-word check.
    The glossary's own titles are the hard words it explains, so they are not checked.
    """
    limits = handout_knowledge(kb).readability
    glossary_ids = {entry.spec.block for entry in handout_knowledge(kb).glossary}
    pattern = glossary_pattern(kb)
    checks = []
    for key, text in (texts if texts is not None else handout_texts(kb)).items():
        prose = is_prose(text)
        is_glossary_title = key.endswith(".title") and key.split(".")[1] in glossary_ids
        checks.append(
            TextCheck(
                key=key,
                text=text,
                prose=prose,
                grade=grade(text) if prose else None,
                longest_sentence=longest_sentence(text),
                hard_words=()
                if is_glossary_title
                else tuple(hard_words(text, limits.familiar_words, pattern)),
                max_grade=limits.max_grade,
                max_sentence_words=limits.max_sentence_words,
            )
        )
    return checks
