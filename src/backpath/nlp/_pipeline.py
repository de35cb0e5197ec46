"""The spaCy + medspaCy pipeline that reads narratives, built once per process.

Blank English tokenizer (no model can be downloaded) -> spaCy ``sentencizer`` (PyRuSH is
about four times slower and logs every token) -> a newline splitter -> medspaCy
``TargetMatcher`` for findings -> a second ``TargetMatcher`` for numbers (durations, pain
scores, ages) -> medspaCy ``ConText`` with backpath's own patient-language rules.

Both matchers write to span groups rather than ``doc.ents`` because one phrase may mention
several findings ("both legs tingle" is leg numbness *and* both legs), and entities cannot
overlap. The pipeline must run single-process: ``nlp.pipe(n_process=2)`` cannot pickle
``TargetRule`` objects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import spacy
from medspacy.context import ConTextRule
from medspacy.ner import TargetRule
from spacy.language import Language
from spacy.tokens import Doc

from backpath.nlp._knowledge import NlpKnowledge, load_nlp_knowledge
from backpath.nlp._patterns import compile_for_matching

TARGET_GROUP = "backpath_targets"
MEASURE_GROUP = "backpath_measures"
# Sentence ends: the sentencizer's defaults plus ";" (patients use it between complaints).
_EXTRA_SENTENCE_ENDS = [";"]


@functools.lru_cache(maxsize=1)
def _blank() -> Language:
    """A blank English pipeline used only to tokenize lexicon phrases."""
    return spacy.blank("en")


def phrase_tokenizer() -> Callable[[str], list[str]]:
    """Tokenize a lexicon word exactly as narratives are tokenized, returning token norms."""
    tokenizer = _blank().tokenizer

    def tokenize(word: str) -> list[str]:
        return [token.norm_ for token in tokenizer(normalise_text(word)) if not token.is_space]

    return tokenize


def normalise_text(text: str) -> str:
    """Lower-case and straighten quotes without changing any character offset.

    spaCy's contraction rules ("cant" -> "can" + "not") only apply to lower-case words, so
    "CANT FEEL MY BUM" must be lowered first; a character whose lower-case form is longer
    (rare, e.g. Turkish dotted I) is kept as it is, so evidence spans stay exact.
    """
    out = []
    for char in text:
        if char in "\u2018\u2019\u02bc\u00b4`":
            out.append("'")
        elif char in "\u201c\u201d":
            out.append('"')
        else:
            lowered = char.lower()
            out.append(lowered if len(lowered) == 1 else char)
    return "".join(out)


@Language.component("backpath_newline_sentences")
def _newline_sentences(doc: Doc) -> Doc:
    """Start a new sentence after a line break: people list complaints one per line."""
    for index, token in enumerate(doc[:-1]):
        if token.is_space and "\n" in token.text:
            doc[index + 1].is_sent_start = True
    return doc


def _matchables(
    phrases: tuple[str, ...], knowledge: NlpKnowledge, tokenize: Callable[[str], list[str]]
) -> list[tuple[str | None, list[dict[str, Any]] | None]]:
    """(literal, None) for phrase-matcher sequences, (None, pattern) for token patterns.

    A literal is only used when re-tokenizing it gives back the same norms; otherwise the
    sequence falls back to an exact token pattern.
    """
    out: list[tuple[str | None, list[dict[str, Any]] | None]] = []
    seen: set[str] = set()
    for phrase in phrases:
        literals, patterns = compile_for_matching(phrase, knowledge.macros, tokenize)
        for norms in literals:
            literal = " ".join(norms)
            if literal in seen:
                continue
            seen.add(literal)
            if tokenize(literal) == norms:
                out.append((literal, None))
            else:
                out.append((None, [{"NORM": norm} for norm in norms]))
        out.extend((None, pattern) for pattern in patterns)
    return out


def _target_rules(
    entries: Any, knowledge: NlpKnowledge, tokenize: Callable[[str], list[str]]
) -> list[Any]:
    rules = []
    for entry in entries:
        for literal, pattern in _matchables(entry.phrases, knowledge, tokenize):
            rules.append(
                TargetRule(literal=literal or entry.id, category=entry.id, pattern=pattern)
            )
    return rules


def _context_rules(knowledge: NlpKnowledge, tokenize: Callable[[str], list[str]]) -> list[Any]:
    rules = []
    for entry in knowledge.context:
        for literal, pattern in _matchables(entry.phrases, knowledge, tokenize):
            rules.append(
                ConTextRule(
                    literal=literal or entry.id,
                    category=entry.category,
                    pattern=pattern,
                    direction=entry.direction,
                    max_scope=entry.max_scope,
                    terminated_by=set(entry.terminated_by) or None,
                    metadata={"id": entry.id},
                )
            )
    return rules


@functools.lru_cache(maxsize=1)
def get_pipeline() -> Language:
    """The narrative pipeline, built on first use and then shared (building takes ~1 s)."""
    knowledge = load_nlp_knowledge()
    tokenize = phrase_tokenizer()
    nlp = spacy.blank("en")
    sentencizer: Any = nlp.add_pipe("sentencizer")
    sentencizer.punct_chars = set(sentencizer.punct_chars) | set(_EXTRA_SENTENCE_ENDS)
    nlp.add_pipe("backpath_newline_sentences")
    targets: Any = nlp.add_pipe(
        "medspacy_target_matcher",
        name="backpath_targets",
        config={
            "result_type": "group",
            "span_group_name": TARGET_GROUP,
            "prune": False,
            "phrase_matcher_attr": "NORM",
        },
    )
    targets.add(_target_rules(knowledge.targets, knowledge, tokenize))
    measures: Any = nlp.add_pipe(
        "medspacy_target_matcher",
        name="backpath_measures",
        config={
            "result_type": "group",
            "span_group_name": MEASURE_GROUP,
            "prune": False,
            "phrase_matcher_attr": "NORM",
        },
    )
    measures.add(_target_rules(knowledge.measures, knowledge, tokenize))
    context: Any = nlp.add_pipe(
        "medspacy_context",
        name="backpath_context",
        config={
            "rules": None,
            "input_span_type": "group",
            "span_group_name": TARGET_GROUP,
            "prune_on_modifier_overlap": True,
            "prune_on_target_overlap": True,
            "phrase_matcher_attr": "NORM",
        },
    )
    context.add(_context_rules(knowledge, tokenize))
    return nlp
