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
uses ``_fast``, which takes each component's phrases (``LiteralPhrases``), Matcher patterns
and rules from the pipeline built here and runs them without medspaCy's per-document
overhead. Building is quick (December 2026: ~1.5 s for English on an idle core, was ~15 s):
spaCy's ``Matcher`` and each component's ``PhraseMatcher`` are not filled at build time but
on first use (``_GatedTokenMatcher.full``, ``_LazyPhraseMatcher``), which only the
reference reader and the tests make, with exactly the calls the earlier build made.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, cast

import numpy
import spacy
from medspacy.context import ConTextRule
from medspacy.ner import TargetRule
from spacy.attrs import LIKE_NUM, NORM
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.strings import get_string_id
from spacy.tokens import Doc
from spacy.vocab import Vocab

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
        # each literal phrase as its items (a list of options, each a tuple of norms; ``()``
        # makes the item optional): what the fast reader matches instead of the sequences
        # and the index of its part (its word sequences) in ``parts``
        self.items: list[tuple[list[list[tuple[str, ...]]], int]] = []
        for phrase in entry.phrases:
            items = literal_items(phrase, knowledge.macros, tokenize)
            if items is None:
                self.parts.append(([], compile_phrase(phrase, knowledge.macros, tokenize)))
                continue
            self.items.append((items, len(self.parts)))
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


def _spacy_matchers(component: Any) -> tuple[Any, Any, Any]:
    """medspaCy's matcher inside a TargetMatcher or ConText, its token matcher (spaCy's
    ``Matcher``, or what this module put in its place) and its PhraseMatcher (spaCy's, or
    the ``_LazyPhraseMatcher`` this module puts in its place).

    medspaCy (1.3) keeps them private; a clear error says so if that ever changes.
    """
    for owner in ("_TargetMatcher__matcher", "_ConText__matcher"):
        medspacy_matcher = getattr(component, owner, None)
        if medspacy_matcher is not None:
            matcher = getattr(medspacy_matcher, "_MedspacyMatcher__matcher", None)
            phrases = getattr(medspacy_matcher, "_MedspacyMatcher__phrase_matcher", None)
            if (
                isinstance(matcher, (Matcher, _PatternRecorder, _GatedTokenMatcher))
                and isinstance(phrases, (PhraseMatcher, _LazyPhraseMatcher))
                and isinstance(getattr(medspacy_matcher, _RULE_COUNT, None), int)
            ):
                return medspacy_matcher, matcher, phrases
    raise RuntimeError(f"medspaCy changed: no spaCy matchers found in {type(component).__name__}")


_RULE_COUNT = "_MedspacyMatcher__rule_count"
_TOKEN_MATCHER = "_MedspacyMatcher__matcher"
_PHRASE_MATCHER = "_MedspacyMatcher__phrase_matcher"


class _PatternRecorder:
    """Stands in for the spaCy ``Matcher`` of a medspaCy matcher while rules are added:
    keeps each Matcher pattern with its match key, in the order spaCy's ``Matcher`` would
    hold them, without compiling them (``Matcher.add`` looks up every earlier predicate
    of the matcher for each new pattern token: with ~16,500 English patterns that took
    ~10 s). ``_GatedTokenMatcher`` is made from the record; spaCy's full ``Matcher`` is
    compiled only when a test or benchmark asks for it (``_GatedTokenMatcher.full``)."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        # match key hash -> (on_match, patterns), in the order keys were first added
        self.rules: dict[int, tuple[Any, list[list[dict[str, Any]]]]] = {}

    def add(
        self, key: str | int, patterns: list[list[dict[str, Any]]], *, on_match: Any = None
    ) -> None:
        """``Matcher.add`` without compiling (the patterns were checked by the tests)."""
        hashed = self.vocab.strings.add(key) if isinstance(key, str) else key
        _, known = self.rules.get(hashed, (None, []))
        self.rules[hashed] = (on_match, [*known, *patterns])

    def __len__(self) -> int:
        return len(self.rules)


class _LiteralArrays:
    """What medspaCy's ``MedspacyMatcher.add`` makes of a rule's literal for the
    PhraseMatcher (the tokenizer's ``Doc``, read by the PhraseMatcher as the array of its
    tokens' norms), made once per literal: an entry's id is the literal of every rule of
    the entry. The PhraseMatcher takes such an array as it takes the ``Doc`` (its
    ``_convert_to_array``), so it ends up in exactly the same state."""

    def __init__(self, tokenizer: Any, phrase_matcher: PhraseMatcher) -> None:
        self.tokenizer = tokenizer
        # a PhraseMatcher on the same attribute, for its ``Doc`` -> array conversion
        self.phrase_matcher = phrase_matcher
        self.arrays: dict[str, tuple[int, ...]] = {}

    def __call__(self, text: str) -> tuple[int, ...]:
        array = self.arrays.get(text)
        if array is None:
            doc = self.tokenizer(text)
            array = tuple(cast(Any, self.phrase_matcher)._convert_to_array(doc))
            self.arrays[text] = array
        return array


def _add_rules(
    component: Any,
    compiled: list[_Compiled],
    make_rule: Callable[[Any, list[dict[str, Any]] | None], Any],
) -> None:
    """Add the entries' phrases to a medspaCy component with one rule per entry.

    All the word sequences of an entry share one rule; they go into spaCy's PhraseMatcher
    as arrays of norm hashes (no ``Doc``, no tokenizing). One rule per sequence took ~8 s,
    mostly spaCy creating a vocabulary entry for each rule's match key. Each Matcher
    pattern keeps a rule of its own; the patterns are recorded (``_PatternRecorder``), not
    compiled into spaCy's ``Matcher``.

    Every rule keeps the id the previous build gave it (medspaCy numbers rules as it adds
    them), and a word sequence of several entries ("not sure" is a forward and a backward
    uncertainty trigger) keeps one rule per entry: where two entries match the same words,
    medspaCy keeps the order of spaCy's hash map of match keys, so the same keys give the
    same readings. The PhraseMatcher gets exactly the additions and removals of that build,
    in the same order (its hash maps, and so the order of keys on the same words, depend
    on that history).
    """
    medspacy_matcher, matcher, phrase_matcher = _spacy_matchers(component)
    if isinstance(phrase_matcher, PhraseMatcher) and len(phrase_matcher) == 0:
        phrase_matcher = _LazyPhraseMatcher(phrase_matcher)
        setattr(medspacy_matcher, _PHRASE_MATCHER, phrase_matcher)
    else:
        raise RuntimeError("rules are added to a medspaCy component once")
    if isinstance(matcher, Matcher) and len(matcher) == 0:
        recorder = _PatternRecorder(cast(Any, matcher).vocab)
        setattr(medspacy_matcher, _TOKEN_MATCHER, recorder)
    elif isinstance(matcher, _PatternRecorder):
        recorder = matcher
    else:
        raise RuntimeError("rules are added to a medspaCy component once, before gating")
    # medspaCy tokenizes each rule's literal (the entry id) with ``self.nlp``, its
    # tokenizer: the same literal, the same array, made once.
    tokenizer = medspacy_matcher.nlp
    medspacy_matcher.nlp = _LiteralArrays(tokenizer, phrase_matcher.empty)
    try:
        _add_component_rules(component, medspacy_matcher, phrase_matcher, compiled, make_rule)
    finally:
        medspacy_matcher.nlp = tokenizer
    del recorder


def _add_component_rules(
    component: Any,
    medspacy_matcher: Any,
    phrase_matcher: _LazyPhraseMatcher,
    compiled: list[_Compiled],
    make_rule: Callable[[Any, list[dict[str, Any]] | None], Any],
) -> None:
    """``_add_rules`` once medspaCy's matchers are set up for it."""
    entries_of = Counter(
        chain.from_iterable(sequences for item in compiled for sequences, _ in item.parts)
    )
    number = getattr(medspacy_matcher, _RULE_COUNT)
    phrase_rules: list[tuple[Any, list[Sequence]]] = []
    strings = medspacy_matcher._MedspacyMatcher__phrase_matcher.vocab.strings
    literals = phrase_matcher.literals

    def add(rule: Any, rule_number: int) -> None:
        setattr(medspacy_matcher, _RULE_COUNT, rule_number)
        component.add([rule])

    for index, item in enumerate(compiled):
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
                    literals.entry_keys[index] = strings.add(rule._rule_id)
                else:
                    entry_sequences.append(sequence)
                number += 1
            for pattern in patterns:
                add(make_rule(item.entry, pattern), number)
                number += 1
        literals.phrases.extend((index, items, item.parts[part][0]) for items, part in item.items)
    setattr(medspacy_matcher, _RULE_COUNT, number)
    for rule, rule_sequences in phrase_rules:
        # medspaCy added the rule's literal (the entry id) as its phrase: replace it by the
        # entry's sequences. PhraseMatcher.add takes arrays of attribute hashes as well as
        # Docs (its Cython code reads a Doc's NORM hashes into exactly such an array).
        key = rule._rule_id
        phrase_matcher.remove(key)
        phrase_matcher.add(key, cast(Any, rule_sequences))
    literals.shared = phrase_matcher.shared_orders(
        {sequence for sequence, count in entries_of.items() if count > 1}
    )


@dataclass
class LiteralPhrases:
    """A component's literal phrases as the fast reader matches them (``_fast``): each
    phrase as its entry's index and its items, the match key of each entry's rule for
    the word sequences no other entry has, and, for each word sequence several entries
    have (as norms), the keys of their rules in the order spaCy's PhraseMatcher reports
    them (``_LazyPhraseMatcher.shared_orders``)."""

    # (entry index, items, the phrase's word sequences as norm hashes - those no earlier
    # phrase of the entry has)
    phrases: list[tuple[int, list[list[tuple[str, ...]]], list[Sequence]]] = field(
        default_factory=list
    )
    entry_keys: dict[int, int] = field(default_factory=dict)
    shared: dict[tuple[str, ...], tuple[int, ...]] = field(default_factory=dict)


class _LazyPhraseMatcher:
    """Stands in for a medspaCy matcher's spaCy PhraseMatcher: keeps every addition and
    removal and makes the PhraseMatcher from them, in the same order, the first time a
    document is matched (the reference reader and the tests; the fast reader matches the
    lexicon's phrases by their items, ``literals``). Adding the ~1.6 million English word
    sequences to spaCy's PhraseMatcher took ~5 s of each process's first reading.
    """

    def __init__(self, empty: PhraseMatcher) -> None:
        # The medspaCy component's own (empty) PhraseMatcher: filled on first use.
        self.empty = empty
        self.vocab = cast(Any, empty).vocab
        self._ops: list[tuple[str, str, list[Any] | None, Any]] = []
        self._built: PhraseMatcher | None = None
        self.literals = LiteralPhrases()

    def add(self, key: str, docs: list[Any], *, on_match: Any = None) -> None:
        """``PhraseMatcher.add`` (arrays of norm hashes only), recorded."""
        if docs and not isinstance(docs[0], tuple):
            raise TypeError("the pipeline adds tuples of norm hashes, not Doc objects")
        self._ops.append(("add", key, docs, on_match))

    def remove(self, key: str) -> None:
        """``PhraseMatcher.remove``, recorded."""
        self._ops.append(("remove", key, None, None))

    def __len__(self) -> int:
        return len(self.phrase_matcher) if self._built is not None else len(self._keys())

    def _keys(self) -> set[str]:
        keys: set[str] = set()
        for op, key, _docs, _on_match in self._ops:
            if op == "add":
                keys.add(key)
            else:
                keys.discard(key)
        return keys

    @property
    def phrase_matcher(self) -> PhraseMatcher:
        """The spaCy PhraseMatcher, made on first use by replaying every recorded call."""
        if self._built is None:
            with _BUILD_LOCK:
                if self._built is None:
                    matcher = self.empty
                    for op, key, docs, on_match in self._ops:
                        if op == "add":
                            matcher.add(key, cast(Any, docs), on_match=on_match)
                        else:
                            matcher.remove(key)
                    self._built = matcher
        return self._built

    def __call__(self, doclike: Any, **kwargs: Any) -> Any:
        return self.phrase_matcher(doclike, **kwargs)

    def shared_orders(self, shared: set[Sequence]) -> dict[tuple[str, ...], tuple[int, ...]]:
        """For each word sequence in ``shared`` (norm hashes), the keys spaCy's
        PhraseMatcher reports on those words once every recorded call is made, in its
        order, with the sequence as norms.

        The order is that of the hash map of the sequence's node in the PhraseMatcher's
        trie, which only the additions and removals of that same sequence change (an
        addition or removal touches the maps along its own words; a removal frees only
        nodes no other sequence passes through). So a PhraseMatcher given, in the same
        order, only the calls' sequences that are in ``shared`` holds the same map for
        each: its report on a document of the sequences (one separator between them,
        which no phrase holds) is read here. It has a vocabulary of its own: the keys'
        lexemes are not made in the pipeline's.
        """
        if not shared:
            return {}
        oracle = PhraseMatcher(Vocab(strings=[]), attr="NORM")
        for op, key, docs, on_match in self._ops:
            if op == "add":
                kept = [doc for doc in cast(Any, docs) if doc in shared]
                if kept:
                    oracle.add(key, kept, on_match=on_match)
            elif key in oracle:
                oracle.remove(key)
        ordered = sorted(shared, key=lambda sequence: (len(sequence), sequence))
        separator = get_string_id("\u0000backpath separator\u0000")
        norms: list[int] = []
        starts: dict[int, Sequence] = {}
        for sequence in ordered:
            if norms:
                norms.append(separator)
            starts[len(norms)] = sequence
            norms.extend(sequence)
        doc = Doc(cast(Any, oracle).vocab, words=["x"] * len(norms))
        doc.from_array([NORM], cast(Any, numpy.array(norms, dtype="uint64").reshape(-1, 1)))
        found: dict[Sequence, list[int]] = {}
        for key, start, end in cast(Any, oracle(doc)):
            words = starts.get(start)
            if words is not None and end - start == len(words):
                found.setdefault(words, []).append(key)
        strings = self.vocab.strings
        return {
            tuple(strings[norm] for norm in sequence): tuple(found.get(sequence, ()))
            for sequence in ordered
        }

    def __getattr__(self, name: str) -> Any:
        # Anything else spaCy's PhraseMatcher offers, on the PhraseMatcher made in full.
        if name.startswith("__") or name in ("empty", "_built", "_ops", "vocab", "literals"):
            raise AttributeError(name)
        return getattr(self.phrase_matcher, name)


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

    Made from a spaCy ``Matcher`` or from the patterns a ``_PatternRecorder`` kept (the
    pipeline's way: no spaCy matcher is compiled at build time). spaCy's matchers - the
    full one and each pattern's own - are compiled on first use, which only the reference
    reader and the tests make (the fast reader reads ``patterns``).
    """

    def __init__(self, matcher: Matcher | _PatternRecorder) -> None:
        vocab = cast(Any, matcher).vocab
        strings = vocab.strings
        self.vocab = vocab
        self._full: Matcher | None = None
        # (match key hash, on_match, pattern), in the full matcher's order
        self.patterns: list[tuple[int, Any, list[dict[str, Any]]]] = []
        if isinstance(matcher, _PatternRecorder):
            for key, (on_match, patterns) in matcher.rules.items():
                self.patterns.extend((key, on_match, pattern) for pattern in patterns)
        else:
            # The full matcher is kept for the tests and benchmarks that compare the two.
            self._full = matcher
            for key in list(cast(Any, matcher)._patterns):
                on_match, patterns = matcher.get(key)
                self.patterns.extend((key, on_match, pattern) for pattern in patterns)
        common = _common_norms(vocab)
        self._always_patterns: list[tuple[int, Any, list[dict[str, Any]]]] = []
        self._always_matcher: Matcher | None = None
        # trigger norm hash -> gates whose rarest required word it is
        self._by_norm: dict[int, list[_Gate]] = {}
        self._patterns = 0
        # each pattern's required norm choices (``required_norms``), for the fast reader too
        self.required = [required_norms(pattern) for _key, _on_match, pattern in self.patterns]
        for (key, on_match, pattern), norms in zip(self.patterns, self.required, strict=True):
            self._patterns += 1
            required = _hashed_choices(norms, strings)
            if not required:
                self._always_patterns.append((key, on_match, pattern))
                continue
            # The rarest required word: few choices, and no everyday word ("my", "y").
            index, trigger = min(
                required, key=lambda item: len(item[1]) + 1000 * len(item[1] & common)
            )
            gate = _Gate(
                others=tuple([choice for i, choice in required if i != index]),
                key=key,
                on_match=on_match,
                pattern=pattern,
                vocab=vocab,
                position=self._patterns,
                before=_max_tokens(pattern[:index]),
                after=_max_tokens(pattern[index + 1 :]),
            )
            for norm in trigger:
                self._by_norm.setdefault(norm, []).append(gate)

    @property
    def full(self) -> Matcher:
        """spaCy's ``Matcher`` with every pattern (compiled on first use)."""
        if self._full is None:
            with _BUILD_LOCK:
                if self._full is None:
                    self._full = _spacy_matcher(self.vocab, self.patterns)
        return self._full

    @property
    def _always(self) -> Matcher:
        """The patterns with no required word, in one spaCy ``Matcher`` (made on first use)."""
        if self._always_matcher is None:
            with _BUILD_LOCK:
                if self._always_matcher is None:
                    self._always_matcher = _spacy_matcher(self.vocab, self._always_patterns)
        return self._always_matcher

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
            cast(Any, self._always(doc)) if self._always_patterns else []
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


def _spacy_matcher(vocab: Any, patterns: list[tuple[int, Any, list[dict[str, Any]]]]) -> Matcher:
    """A spaCy ``Matcher`` holding ``patterns`` under their keys, added in order."""
    matcher = Matcher(vocab, validate=False)
    for key, on_match, pattern in patterns:
        matcher.add(vocab.strings[key], [pattern], on_match=on_match)
    return matcher


class _Gate:
    """One pattern of a ``_GatedTokenMatcher``: the other required choices, its match key
    and pattern (its own spaCy ``Matcher`` is made on first use), its place in the full
    matcher, and how many tokens a match can reach before and after the rarest required
    word (``_UNBOUNDED``: no limit)."""

    __slots__ = (
        "_matcher",
        "after",
        "before",
        "key",
        "on_match",
        "others",
        "pattern",
        "position",
        "vocab",
    )

    def __init__(
        self,
        others: tuple[frozenset[int], ...],
        key: int,
        on_match: Any,
        pattern: list[dict[str, Any]],
        vocab: Any,
        position: int,
        before: int,
        after: int,
    ) -> None:
        self.others = others
        self.key = key
        self.on_match = on_match
        self.pattern = pattern
        self.vocab = vocab
        self.position = position
        self.before = before
        self.after = after
        self._matcher: Matcher | None = None

    @property
    def matcher(self) -> Matcher:
        """The pattern alone in a spaCy ``Matcher`` under its key."""
        if self._matcher is None:
            self._matcher = _spacy_matcher(self.vocab, [(self.key, self.on_match, self.pattern)])
        return self._matcher


_UNBOUNDED = 10_000


@functools.cache
def _stop_words(language: str) -> frozenset[str]:
    """The stop words of a spaCy language (its ``Defaults``, without building a pipeline:
    ``spacy.blank`` made a tokenizer for each call, ~0.3 s)."""
    return frozenset(spacy.util.get_lang_class(language).Defaults.stop_words or ())


def _common_norms(vocab: Any) -> frozenset[int]:
    """Norm hashes of the language's stop words (found in almost every narrative)."""
    language = cast(Any, vocab).lang
    words = _stop_words(language) if language else frozenset[str]()
    return frozenset(vocab.strings.add(word) for word in words)


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


# Word choices already read, by the identity of the pattern's value (``{"IN": [...]}``
# objects are shared by every expansion of a phrase): value id -> (value, norms).
_CHOICES: dict[int, tuple[Any, frozenset[str]]] = {}
# Their hashes, per string store (each store gets the words added): store id -> choice ->
# hashes.
_CHOICE_HASHES: dict[int, tuple[Any, dict[frozenset[str], frozenset[int]]]] = {}


def required_norms(pattern: list[dict[str, Any]]) -> list[tuple[int, frozenset[str]]]:
    """(index, norm choices) of the tokens a pattern cannot match without: each token that
    must be present (no ``OP``, or ``+``) and is matched on ``NORM`` by a word or an ``IN``
    choice."""
    required: list[tuple[int, frozenset[str]]] = []
    for index, token in enumerate(pattern):
        if token.get("OP") not in (None, "+"):
            continue
        value = token.get("NORM")
        if value is None or len(token) > 1 + ("OP" in token):
            continue
        if isinstance(value, str):
            required.append((index, frozenset((value,))))
        elif isinstance(value, dict) and value.keys() == {"IN"}:
            known = _CHOICES.get(id(value))
            if known is None or known[0] is not value:
                known = _CHOICES[id(value)] = (value, frozenset(str(w) for w in value["IN"]))
            required.append((index, known[1]))
    return required


def _required_choices(
    pattern: list[dict[str, Any]], strings: Any
) -> list[tuple[int, frozenset[int]]]:
    """(index, norm-hash choices) of the tokens a pattern cannot match without."""
    return _hashed_choices(required_norms(pattern), strings)


def _hashed_choices(
    required: list[tuple[int, frozenset[str]]], strings: Any
) -> list[tuple[int, frozenset[int]]]:
    """``required_norms`` with each norm as its hash (added to ``strings``)."""
    out: list[tuple[int, frozenset[int]]] = []
    store = _CHOICE_HASHES.get(id(strings))
    if store is None or store[0] is not strings:
        store = _CHOICE_HASHES[id(strings)] = (strings, {})
    known = store[1]
    for index, choice in required:
        hashes = known.get(choice)
        if hashes is None:
            hashes = known[choice] = frozenset(strings.add(word) for word in choice)
        out.append((index, hashes))
    return out


def _gate_token_matcher(component: Any) -> None:
    """Replace a medspaCy component's token matcher (spaCy's ``Matcher``, or the patterns
    ``_add_rules`` recorded) by a ``_GatedTokenMatcher``."""
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
    first use and then shared (its spaCy matchers are filled when first used, see the
    module notes).
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
