"""The spaCy + medspaCy pipeline that reads narratives, built once per process.

Blank English tokenizer (no model can be downloaded) -> ``backpath_real_words`` (real words
typed for another, read by their neighbours: ``_spelling.RealWordReader``, which sets the
token's norm) -> spaCy ``sentencizer`` (PyRuSH is
about four times slower and logs every token) -> a newline splitter -> medspaCy
``TargetMatcher`` for findings -> a second ``TargetMatcher`` for numbers (durations, pain
scores, ages) -> medspaCy ``ConText`` with backpath's own patient-language rules -> a third
``TargetMatcher`` for danger words -> a fourth for blockers (``blocker: true`` lexicon
entries), which adds its spans to the targets' group. The last two run after ConText so
that they never change what ConText sees: ConText drops a trigger inside any target, and a
blocker such as "a baby 3 years ago" must not take "3 years ago" from the other findings.

Both matchers write to span groups rather than ``doc.ents`` because one phrase may mention
several findings ("both legs tingle" is leg numbness *and* both legs), and entities cannot
overlap. The pipeline must run single-process: ``nlp.pipe(n_process=2)`` cannot pickle
``TargetRule`` objects.

This pipeline is the reference reader (``_reader._read_reference``); ``read_narrative``
uses ``_fast``, which takes each component's PhraseMatcher, Matcher patterns and rules from
the pipeline built here and runs them without medspaCy's per-document overhead.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any, cast

import spacy
from medspacy.context import ConTextRule
from medspacy.ner import TargetRule
from spacy.attrs import LIKE_NUM, NORM
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.strings import get_string_id
from spacy.tokens import Doc

from backpath.nlp._knowledge import NlpKnowledge, load_nlp_knowledge
from backpath.nlp._language import text_normaliser
from backpath.nlp._patterns import compile_phrase, literal_items
from backpath.nlp._spelling import RealWordReader

TARGET_GROUP = "backpath_targets"
MEASURE_GROUP = "backpath_measures"
DANGER_GROUP = "backpath_danger"
# A danger-word span whose label ends with this marks a phrase in which the word of that
# entry signals nothing ("blood test"): ``<entry id>`` + IGNORE_SUFFIX.
IGNORE_SUFFIX = "#ignore"
# Sentence ends: the sentencizer's defaults plus ";" (patients use it between complaints).
_EXTRA_SENTENCE_ENDS = [";"]


@functools.cache
def _blank(language: str = "en") -> Language:
    """A blank pipeline of a reader language whose tokenizer tokenizes lexicon phrases.

    ``get_pipeline`` builds on it the first time (a blank pipeline takes ~0.1 s to make);
    phrases are still tokenized by its tokenizer alone, which the components do not change.
    """
    return spacy.blank(language)


@functools.cache
def phrase_tokenizer(language: str = "en") -> Callable[[str], list[str]]:
    """Tokenize a lexicon word exactly as narratives are tokenized, returning token norms.

    One shared function per reader language (with its cache of words), so that loading the
    knowledge and building the pipeline reuse each other's compiled phrases.
    """
    return _phrase_tokenizer(language)


@functools.cache
def _phrase_tokenizer(language: str) -> Callable[[str], list[str]]:
    tokenizer = _blank(language).tokenizer
    normalise_text = text_normaliser(language)
    # Macros repeat the same words thousands of times: tokenize each word once.
    cache: dict[str, tuple[str, ...]] = {}

    def tokenize(word: str) -> list[str]:
        norms = cache.get(word)
        if norms is None:
            norms = tuple(
                token.norm_ for token in tokenizer(normalise_text(word)) if not token.is_space
            )
            cache[word] = norms
        return list(norms)

    return tokenize


@Language.component("backpath_newline_sentences")
def _newline_sentences(doc: Doc) -> Doc:
    """Start a new sentence after a line break: people list complaints one per line."""
    for index, token in enumerate(doc[:-1]):
        if token.is_space and "\n" in token.text:
            doc[index + 1].is_sent_start = True
    return doc


class RealWords:
    """Reads real words typed for another real word (the ``real_word_errors`` of a reader
    language's ``spelling.yaml``; see ``_spelling``) in a ``Doc``: each token read as
    another word gets that word as its norm, so every matcher reads the word meant and
    evidence spans keep the words as written. It runs as the pipeline's first component
    (``backpath_real_words``), and the fast reader calls that same component on its
    ``Doc``, so both readers read the same words."""

    def __init__(self, language: str) -> None:
        tokenize = phrase_tokenizer(language)
        # The knowledge checked that each word is one token.
        self.reader = RealWordReader(
            load_nlp_knowledge(language).real_word_errors, lambda word: tokenize(word)[0]
        )
        self._written = frozenset(get_string_id(word) for word in self.reader.written)

    def __call__(self, doc: Doc) -> Doc:
        if not self._written or not len(doc):
            return doc
        keys = doc.to_array(NORM).tolist()
        if self._written.isdisjoint(keys):
            return doc
        strings = doc.vocab.strings
        words = [strings[key] for key in keys]
        numbers = [bool(flag) for flag in doc.to_array(LIKE_NUM).tolist()]
        for index, word in self.reader.read(words, numbers):
            doc[index].norm_ = word
        return doc


@functools.cache
def real_words(language: str = "en") -> RealWords:
    """The real-word reader of a reader language, built once."""
    return RealWords(language)


@Language.component("backpath_real_words")
def _real_words(doc: Doc) -> Doc:
    """Real words typed for another, read by their neighbours (``RealWords``)."""
    return real_words(doc.lang_)(doc)


Sequence = tuple[int, ...]
TokenPatterns = list[list[dict[str, Any]]]


class _Compiled:
    """The phrases of one lexicon entry, ready for a medspaCy matcher.

    ``parts`` has, for each phrase in order, its word sequences as arrays of norm hashes
    (each sequence once per entry, in expansion order) and its Matcher patterns: the order
    in which the previous build gave every sequence and pattern a rule of its own.
    """

    def __init__(
        self,
        entry: Any,
        knowledge: NlpKnowledge,
        nlp: Language,
        tokenize: Callable[[str], list[str]],
    ) -> None:
        strings = nlp.vocab.strings
        hashes: dict[str, int] = {}
        seen: set[Sequence] = set()
        self.entry = entry
        self.parts: list[tuple[list[Sequence], TokenPatterns]] = []
        for phrase in entry.phrases:
            items = literal_items(phrase, knowledge.macros, tokenize)
            if items is None:
                self.parts.append(([], compile_phrase(phrase, knowledge.macros, tokenize)))
                continue
            sequences: list[Sequence] = [()]
            for options in items:
                hashed_options = []
                for option in options:
                    for norm in option:
                        if norm not in hashes:
                            hashes[norm] = strings.add(norm)
                    hashed_options.append(tuple(hashes[norm] for norm in option))
                sequences = [head + tail for head in sequences for tail in hashed_options]
            new = [sequence for sequence in sequences if sequence not in seen]
            if len(new) != len(set(new)):
                new = list(dict.fromkeys(new))
            seen.update(new)
            self.parts.append((new, []))


def _spacy_matchers(component: Any) -> tuple[Any, Matcher, PhraseMatcher]:
    """medspaCy's matcher inside a TargetMatcher or ConText, and its spaCy matchers.

    medspaCy (1.3) keeps them private; a clear error says so if that ever changes.
    """
    for owner in ("_TargetMatcher__matcher", "_ConText__matcher"):
        medspacy_matcher = getattr(component, owner, None)
        if medspacy_matcher is not None:
            matcher = getattr(medspacy_matcher, "_MedspacyMatcher__matcher", None)
            phrases = getattr(medspacy_matcher, "_MedspacyMatcher__phrase_matcher", None)
            if (
                isinstance(matcher, Matcher)
                and isinstance(phrases, PhraseMatcher)
                and isinstance(getattr(medspacy_matcher, _RULE_COUNT, None), int)
            ):
                return medspacy_matcher, matcher, phrases
    raise RuntimeError(f"medspaCy changed: no spaCy matchers found in {type(component).__name__}")


_RULE_COUNT = "_MedspacyMatcher__rule_count"
_TOKEN_MATCHER = "_MedspacyMatcher__matcher"


def _add_rules(
    component: Any,
    compiled: list[_Compiled],
    make_rule: Callable[[Any, list[dict[str, Any]] | None], Any],
) -> None:
    """Add the entries' phrases to a medspaCy component with one rule per entry.

    All the word sequences of an entry share one rule; they go into spaCy's PhraseMatcher
    as arrays of norm hashes (no ``Doc``, no tokenizing). One rule per sequence took ~8 s,
    mostly spaCy creating a vocabulary entry for each rule's match key. Each Matcher
    pattern keeps a rule of its own.

    Every rule keeps the id the previous build gave it (medspaCy numbers rules as it adds
    them), and a word sequence of several entries ("not sure" is a forward and a backward
    uncertainty trigger) keeps one rule per entry: where two entries match the same words,
    medspaCy keeps the order of spaCy's hash map of match keys, so the same keys give the
    same readings.
    """
    medspacy_matcher, matcher, phrase_matcher = _spacy_matchers(component)
    # The patterns come from backpath's own compiler, whose output the tests check against
    # spaCy's pattern schema; validating them here again took ~0.5 s per process.
    cast(Any, matcher).validate = False
    entries_of = Counter(
        chain.from_iterable(sequences for item in compiled for sequences, _ in item.parts)
    )
    number = getattr(medspacy_matcher, _RULE_COUNT)
    phrase_rules: list[tuple[Any, list[Sequence]]] = []

    def add(rule: Any, rule_number: int) -> None:
        setattr(medspacy_matcher, _RULE_COUNT, rule_number)
        component.add([rule])

    for item in compiled:
        entry_sequences: list[Sequence] = []
        for sequences, patterns in item.parts:
            for sequence in sequences:
                if entries_of[sequence] > 1:
                    rule = make_rule(item.entry, None)
                    add(rule, number)
                    phrase_rules.append((rule, [sequence]))
                elif not entry_sequences:
                    rule = make_rule(item.entry, None)
                    add(rule, number)
                    phrase_rules.append((rule, entry_sequences))
                    entry_sequences.append(sequence)
                else:
                    entry_sequences.append(sequence)
                number += 1
            for pattern in patterns:
                add(make_rule(item.entry, pattern), number)
                number += 1
    setattr(medspacy_matcher, _RULE_COUNT, number)
    for rule, rule_sequences in phrase_rules:
        # medspaCy added the rule's literal (the entry id) as its phrase: replace it by the
        # entry's sequences. PhraseMatcher.add takes arrays of attribute hashes as well as
        # Docs (its Cython code reads a Doc's NORM hashes into exactly such an array).
        key = rule._rule_id
        phrase_matcher.remove(key)
        phrase_matcher.add(key, cast(Any, rule_sequences))


@dataclass(frozen=True)
class _MatchEntry:
    """Phrases matched under one label (a danger word entry, or the phrases it ignores)."""

    id: str
    phrases: tuple[str, ...]


def _danger_entries(knowledge: NlpKnowledge) -> list[_MatchEntry]:
    entries: list[_MatchEntry] = []
    for entry in knowledge.danger_words:
        entries.append(_MatchEntry(entry.id, entry.phrases))
        if entry.ignore_in:
            entries.append(_MatchEntry(entry.id + IGNORE_SUFFIX, entry.ignore_in))
    return entries


def _no_matches(doc: Doc) -> list[tuple[int, int, int]]:
    return []


class _GatedTokenMatcher:
    """A spaCy token ``Matcher`` split into one small matcher per pattern, each run only
    when the words it needs are in the document, and only around them.

    spaCy's ``Matcher`` tests every pattern's first token at every token of the text (a
    Python set lookup per pattern per token for the ``IN`` choices the lexicon is made of):
    with ~600 English and ~1,100 Spanish target patterns that was about two thirds of the
    reading time. Here every pattern keeps its required words: each token that must be
    present (no ``OP``, or ``+``) and is matched on ``NORM`` by a word or an ``IN`` choice.
    The pattern's matcher runs only when each of those tokens has a choice among the
    document's norms, and only on the stretch of text a match could cover around each
    occurrence of its rarest required word (``_Gate.before`` / ``after`` tokens; windows
    that touch are merged). Patterns with no such token (regular expressions, fuzzy words,
    numbers) share one matcher that reads the whole text. Every match of the full matcher
    contains an occurrence of each required word, so it lies inside one window; the
    sub-matchers hold the same patterns under the same keys, so the matches are exactly
    those of the full matcher. They are returned in its order: by end token (a match is
    reported when its last token is reached); ``tests/nlp/test_pipeline.py`` checks the
    readings against the full matcher.
    """

    def __init__(self, matcher: Matcher) -> None:
        vocab = cast(Any, matcher).vocab
        strings = vocab.strings
        # The full matcher is kept for the tests and benchmarks that compare the two.
        self.full = matcher
        common = _common_norms(vocab)
        self._always = Matcher(vocab, validate=False)
        # trigger norm hash -> gates whose rarest required word it is
        self._by_norm: dict[int, list[_Gate]] = {}
        self._patterns = 0
        for key in list(cast(Any, matcher)._patterns):
            _on_match, patterns = matcher.get(key)
            for pattern in patterns:
                self._patterns += 1
                required = _required_choices(pattern, strings)
                if not required:
                    self._always.add(strings[key], [pattern])
                    continue
                # The rarest required word: few choices, and no everyday word ("my", "y").
                index, trigger = min(
                    required, key=lambda item: len(item[1]) + 1000 * len(item[1] & common)
                )
                sub = Matcher(vocab, validate=False)
                sub.add(strings[key], [pattern])
                gate = _Gate(
                    others=tuple(choice for i, choice in required if i != index),
                    matcher=sub,
                    position=self._patterns,
                    before=_max_tokens(pattern[:index]),
                    after=_max_tokens(pattern[index + 1 :]),
                )
                for norm in trigger:
                    self._by_norm.setdefault(norm, []).append(gate)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        where: dict[int, list[int]] = {}
        for index, norm in enumerate(doc.to_array(NORM).tolist()):
            where.setdefault(norm, []).append(index)
        present = where.keys()
        windows: dict[int, tuple[_Gate, list[tuple[int, int]]]] = {}
        for norm in present & self._by_norm.keys():
            for gate in self._by_norm[norm]:
                if not all(not choice.isdisjoint(present) for choice in gate.others):
                    continue
                _, spans = windows.setdefault(gate.position, (gate, []))
                spans.extend((i - gate.before, i + gate.after + 1) for i in where[norm])
        matches: list[tuple[int, int, int]] = (
            cast(Any, self._always(doc)) if len(self._always) else []
        )
        length = len(doc)
        for position in sorted(windows):
            gate, spans = windows[position]
            for start, end in _merged(spans, length):
                for key, match_start, match_end in cast(Any, gate.matcher(doc[start:end])):
                    matches.append((key, match_start + start, match_end + start))
        # spaCy's Matcher reports a match when its last token is reached.
        matches.sort(key=lambda match: match[2])
        return matches

    def __len__(self) -> int:
        return self._patterns


@dataclass(frozen=True)
class _Gate:
    """One pattern of a ``_GatedTokenMatcher``: the other required choices, its matcher,
    its place in the full matcher, and how many tokens a match can reach before and after
    the rarest required word (``None``: no limit)."""

    others: tuple[frozenset[int], ...]
    matcher: Matcher
    position: int
    before: int
    after: int


_UNBOUNDED = 10_000


def _common_norms(vocab: Any) -> frozenset[int]:
    """Norm hashes of the language's stop words (found in almost every narrative)."""
    words = cast(Any, vocab).lang and spacy.blank(vocab.lang).Defaults.stop_words
    return frozenset(vocab.strings.add(word) for word in words or ())


def _max_tokens(tokens: list[dict[str, Any]]) -> int:
    """The most tokens a run of pattern tokens can match (``_UNBOUNDED`` for ``+``/``*``)."""
    total = 0
    for token in tokens:
        op = token.get("OP")
        if op in (None, "!", "?", "1"):
            total += 1
        elif isinstance(op, str) and op.startswith("{") and op.endswith("}"):
            upper = op[1:-1].split(",")[-1].strip()
            total += int(upper) if upper else _UNBOUNDED
        else:
            total += _UNBOUNDED
    return total


def _merged(spans: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Windows clipped to the document, overlapping or touching ones merged."""
    out: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        start, end = max(0, first), min(length, last)
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _required_choices(
    pattern: list[dict[str, Any]], strings: Any
) -> list[tuple[int, frozenset[int]]]:
    """(index, norm-hash choices) of the tokens a pattern cannot match without."""
    required: list[tuple[int, frozenset[int]]] = []
    for index, token in enumerate(pattern):
        if token.get("OP") not in (None, "+") or set(token) - {"NORM", "OP"}:
            continue
        value = token.get("NORM")
        if isinstance(value, str):
            required.append((index, frozenset([strings.add(value)])))
        elif isinstance(value, dict) and set(value) == {"IN"}:
            required.append((index, frozenset(strings.add(str(word)) for word in value["IN"])))
    return required


def _gate_token_matcher(component: Any) -> None:
    """Replace a medspaCy component's spaCy token Matcher by a ``_GatedTokenMatcher``."""
    medspacy_matcher, matcher, _ = _spacy_matchers(component)
    if len(matcher) == 0:
        setattr(medspacy_matcher, _TOKEN_MATCHER, _no_matches)
    else:
        setattr(medspacy_matcher, _TOKEN_MATCHER, _GatedTokenMatcher(matcher))


def _target_rule(entry: Any, pattern: list[dict[str, Any]] | None) -> Any:
    return TargetRule(literal=entry.id, category=entry.id, pattern=pattern)


def _context_rule(entry: Any, pattern: list[dict[str, Any]] | None) -> Any:
    return ConTextRule(
        literal=entry.id,
        category=entry.category,
        pattern=pattern,
        direction=entry.direction,
        max_scope=entry.max_scope,
        terminated_by=set(entry.terminated_by) or None,
        metadata={"id": entry.id},
    )


# One lock for every build: two threads (the web app's warm-up and a first request) that
# ask for a pipeline at the same time get the same one, built once.
_BUILD_LOCK = threading.RLock()


@functools.cache
def get_pipeline(language: str = "en") -> Language:
    """The narrative pipeline of a reader language, built once per process under a lock on
    first use and then shared (English ~0.5 s, Spanish ~1.9 s on an idle core).
    ``backpath.nlp.warm_up`` builds them ahead of the first narrative."""
    with _BUILD_LOCK:
        return _build_pipeline(language)


@functools.cache
def _build_pipeline(language: str) -> Language:
    knowledge = load_nlp_knowledge(language)
    tokenize = phrase_tokenizer(language)
    nlp = _blank(language) if not _blank(language).pipe_names else spacy.blank(language)
    nlp.add_pipe("backpath_real_words")
    real_words(language)  # built here, under the build lock, rather than on the first text
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
    _add_rules(
        targets,
        [_Compiled(e, knowledge, nlp, tokenize) for e in knowledge.targets if not e.blocker],
        _target_rule,
    )
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
    _add_rules(
        measures, [_Compiled(e, knowledge, nlp, tokenize) for e in knowledge.measures], _target_rule
    )
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
    _add_rules(
        context, [_Compiled(e, knowledge, nlp, tokenize) for e in knowledge.context], _context_rule
    )
    danger: Any = nlp.add_pipe(
        "medspacy_target_matcher",
        name="backpath_danger",
        config={
            "result_type": "group",
            "span_group_name": DANGER_GROUP,
            "prune": False,
            "phrase_matcher_attr": "NORM",
        },
    )
    _add_rules(
        danger,
        [_Compiled(e, knowledge, nlp, tokenize) for e in _danger_entries(knowledge)],
        _target_rule,
    )
    blockers: Any = nlp.add_pipe(
        "medspacy_target_matcher",
        name="backpath_blockers",
        config={
            "result_type": "group",
            # Appended to the targets' group (medspaCy adds to an existing group), after
            # ConText: a blocker has no modifiers and prunes no trigger.
            "span_group_name": TARGET_GROUP,
            "prune": False,
            "phrase_matcher_attr": "NORM",
        },
    )
    _add_rules(
        blockers,
        [_Compiled(e, knowledge, nlp, tokenize) for e in knowledge.targets if e.blocker],
        _target_rule,
    )
    for component in (targets, measures, context, danger, blockers):
        # medspaCy calls its token matcher on every document even when every phrase went
        # to the phrase matcher (spaCy then warns, W036): an empty one is skipped.
        _gate_token_matcher(component)
    return nlp
