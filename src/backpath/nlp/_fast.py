"""The fast narrative reader: the same matches and ConText modifiers as the spaCy + medspaCy
pipeline, without building spaCy spans, running medspaCy components or spaCy's token
``Matcher`` (issue 11, "speed at realistic lengths").

The pipeline of ``_pipeline`` stays the reference (``_reader._read_reference``): it is built
as before and this module reads its compiled rules, so the lexicon, context rules and their
phrase notation are loaded once and in one place. For each piece of a narrative:

1. spaCy's blank tokenizer makes the ``Doc`` (the same tokens), the pipeline's own
   ``backpath_real_words`` component reads real words typed for another (their norms),
   and one ``to_array`` call reads every token attribute the reader needs;
2. sentence starts are set as spaCy's ``sentencizer`` and ``backpath_newline_sentences``
   set them (a full stop, "?", "!", ";" ... ends a sentence at the next token that is not
   punctuation; a line break starts one);
3. every medspaCy component's literal phrases (the bulk of the lexicon) are matched by
   ``_LiteralMatcher``: the phrases of few word sequences by a spaCy ``PhraseMatcher`` of
   this module, the others by their items (choices of words), with exactly the matches,
   keys and order of the pipeline's PhraseMatcher, which is only filled when the reference
   reader first needs it (``_pipeline._LazyPhraseMatcher``; filling it with the ~1.6
   million English word sequences took ~5 s of the first reading);
4. the Matcher patterns (gaps ``*N``, numbers, regular expressions, fuzzy words) run in a
   small matcher of this module over the token norms, each only where its rarest required
   word occurs (``_Pattern``), returning every match spaCy's ``Matcher`` returns, in the
   order ``_pipeline._GatedTokenMatcher`` returns them;
5. ConText runs medspaCy's own ``ConTextGraph`` and ``ConTextModifier`` code on light spans
   (``FastSpan``), with each modifier's scope computed from the sentence starts as medspaCy
   computes it.

The result is a ``FastDoc``: the few parts of a spaCy ``Doc`` the reader uses (tokens with
``text``, ``norm_``, ``lower_``, ``is_alpha``, ``is_punct``, ``is_space``; slices; ``sents``;
``spans`` groups; ``_.context_graph``; spans' ``_.modifiers``). ``tests/nlp/
test_fast_equivalence.py`` reads every corpus narrative both ways and asserts identical
readings, so a lexicon or context change that the fast path misread would fail there.
"""

from __future__ import annotations

import functools
import itertools
import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast, overload

from spacy.attrs import IDX, IS_ALPHA, IS_PUNCT, IS_SPACE, LENGTH, LIKE_NUM, LOWER, NORM
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.matcher.levenshtein import levenshtein_compare
from spacy.strings import get_string_id
from spacy.vocab import Vocab

from backpath.nlp._pipeline import (
    _BUILD_LOCK,
    DANGER_GROUP,
    MEASURE_GROUP,
    TARGET_GROUP,
    _common_norms,
    _GatedTokenMatcher,
    _LazyPhraseMatcher,
    _max_tokens,
    get_pipeline,
    required_norms,
)

_ATTRS = [NORM, LOWER, IDX, LENGTH, IS_ALPHA, IS_PUNCT, IS_SPACE, LIKE_NUM]
# A literal phrase of at most this many word sequences goes into the fast reader's spaCy
# PhraseMatcher (~3.5 us per sequence to add, matched in C); a longer one is matched by
# its items (``_LiteralMatcher``).
_SMALL_PHRASE = 1000
_UNBOUNDED = 10_000


class _Underscore:
    """The ``._`` namespace of a span (ConText's ``modifiers``) or a doc (its graph)."""

    __slots__ = ("context_graph", "modifiers")

    def __init__(self) -> None:
        self.modifiers: tuple[Any, ...] = ()
        self.context_graph: Any = None


class FastToken:
    """One token: the attributes of a spaCy ``Token`` the reader reads."""

    __slots__ = ("i", "is_alpha", "is_punct", "is_space", "lower_", "norm_", "text")

    def __init__(
        self,
        i: int,
        text: str,
        norm: str,
        lower: str,
        is_alpha: bool,
        is_punct: bool,
        is_space: bool,
    ) -> None:
        self.i = i
        self.text = text
        self.norm_ = norm
        self.lower_ = lower
        self.is_alpha = is_alpha
        self.is_punct = is_punct
        self.is_space = is_space


class FastSpan:
    """Tokens ``start:end`` of a ``FastDoc``, with a label (a rule's category) when it is a
    match: the attributes of a spaCy ``Span`` the reader and ConText read."""

    __slots__ = ("_slot", "doc", "end", "label_", "start")

    def __init__(self, doc: FastDoc, start: int, end: int, label: str = "") -> None:
        self.doc = doc
        self.start = start
        self.end = end
        self.label_ = label
        self._slot: _Underscore | None = None

    @property
    def _(self) -> _Underscore:
        """The span's extension attributes. As in spaCy (3.7), every span of a document
        that covers the same characters shares them, whatever its group or label: two
        targets on the same words both collect ConText's modifiers there, and a blocker
        added after ConText sees those of a target on the same words. (A document's slot
        for some characters is made once, so a span keeps the one it found.)"""
        slot = self._slot
        if slot is None:
            doc = self.doc
            if self.start < self.end:
                key = (doc.starts[self.start], doc.ends[self.end - 1])
            else:
                key = (self.start_char, self.end_char)
            slot = doc.underscores.get(key)
            if slot is None:
                slot = doc.underscores[key] = _Underscore()
            self._slot = slot
        return slot

    @property
    def start_char(self) -> int:
        if self.start >= self.end:
            return self.doc.starts[self.start] if self.start < len(self.doc) else len(self.doc.text)
        return self.doc.starts[self.start]

    @property
    def end_char(self) -> int:
        if self.start >= self.end:
            return self.start_char
        return self.doc.ends[self.end - 1]

    @property
    def text(self) -> str:
        return self.doc.text[self.start_char : self.end_char]

    def __len__(self) -> int:
        return self.end - self.start

    def __iter__(self) -> Iterator[FastToken]:
        tokens = self.doc.tokens
        for index in range(self.start, self.end):
            yield tokens[index]


class FastDoc:
    """A processed piece of narrative: tokens, sentences, span groups and ConText graph."""

    def __init__(
        self,
        text: str,
        tokens: list[FastToken],
        starts: list[int],
        ends: list[int],
        sentence_starts: list[int],
    ) -> None:
        self.text = text
        self.tokens = tokens
        self.starts = starts
        self.ends = ends
        self.sentence_starts = sentence_starts
        self.spans: dict[str, list[FastSpan]] = {}
        self.underscores: dict[tuple[int, int], _Underscore] = {}
        self._ = _Underscore()
        self._sents: list[FastSpan] | None = None
        self._sentence_index: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    def __iter__(self) -> Iterator[FastToken]:
        return iter(self.tokens)

    @overload
    def __getitem__(self, index: int) -> FastToken: ...

    @overload
    def __getitem__(self, index: slice) -> FastSpan: ...

    def __getitem__(self, index: int | slice) -> FastToken | FastSpan:
        if isinstance(index, slice):
            start, end, _ = index.indices(len(self.tokens))
            return FastSpan(self, start, max(start, end))
        return self.tokens[index]

    def sentence_index(self) -> tuple[int, ...]:
        """The ordinal of the sentence each token belongs to (``_reader._sentence_index``),
        made once per document."""
        if self._sentence_index is None:
            index: list[int] = []
            bounds = [*self.sentence_starts, len(self.tokens)]
            for ordinal, (start, end) in enumerate(itertools.pairwise(bounds)):
                index.extend([ordinal] * (end - start))
            self._sentence_index = tuple(index)
        return self._sentence_index

    @property
    def sents(self) -> list[FastSpan]:
        if self._sents is None:
            bounds = [*self.sentence_starts, len(self.tokens)]
            self._sents = [FastSpan(self, a, b) for a, b in itertools.pairwise(bounds)]
        return self._sents


# --- the token patterns --------------------------------------------------------------

# One test of a pattern token: (kind, argument, least tokens, most tokens).
_Test = tuple[str, Any, int, int]


def _bounds(op: Any) -> tuple[int, int]:
    """The least and most tokens a pattern token's ``OP`` lets it match."""
    if op is None or op == "1":
        return 1, 1
    if op == "?":
        return 0, 1
    if op == "+":
        return 1, _UNBOUNDED
    if op == "*":
        return 0, _UNBOUNDED
    if isinstance(op, str) and op.startswith("{") and op.endswith("}"):
        inner = op[1:-1]
        if "," not in inner:
            return int(inner), int(inner)
        low, high = (part.strip() for part in inner.split(",", 1))
        return int(low or 0), int(high) if high else _UNBOUNDED
    raise ValueError(f"the fast reader does not know the Matcher operator {op!r}")


# Tests already compiled, by the identity of the pattern token's value (the expansions of
# a phrase share their ``{"IN": [...]}`` values): (value id, OP) -> (value, test).
_TESTS: dict[tuple[int, Any], tuple[Any, _Test]] = {}


def _test(token: dict[str, Any]) -> _Test:
    """Compile one Matcher pattern token into a test of this module (each shared value
    once)."""
    if len(token) <= 2 and "NORM" in token:
        value = token["NORM"]
        cache_key = (id(value), token.get("OP"))
        known = _TESTS.get(cache_key)
        if known is not None and known[0] is value:
            return known[1]
        test = _compile_test(token)
        _TESTS[cache_key] = (value, test)
        return test
    return _compile_test(token)


def _compile_test(token: dict[str, Any]) -> _Test:
    """Compile one Matcher pattern token into a test of this module."""
    low, high = _bounds(token.get("OP"))
    keys = set(token) - {"OP"}
    if keys == {"NORM"}:
        value = token["NORM"]
        if isinstance(value, str):
            return ("eq", value, low, high)
        if isinstance(value, dict) and len(value) == 1:
            ((name, argument),) = value.items()
            if name == "IN":
                return ("in", frozenset(argument), low, high)
            if name == "NOT_IN":
                return ("not_in", frozenset(argument), low, high)
            if name == "REGEX":
                return ("norm_re", re.compile(argument), low, high)
            if name.startswith("FUZZY"):
                edits = int(name[5:]) if name[5:] else -1
                return ("fuzzy", (argument, edits), low, high)
    if keys == {"LIKE_NUM"} and token["LIKE_NUM"] is True:
        return ("like_num", None, low, high)
    if keys == {"TEXT"} and isinstance(token["TEXT"], dict) and set(token["TEXT"]) == {"REGEX"}:
        return ("text_re", re.compile(token["TEXT"]["REGEX"]), low, high)
    raise ValueError(f"the fast reader does not know the Matcher pattern token {token!r}")


@functools.lru_cache(maxsize=65536)
def _fuzzy(norm: str, stem: str, edits: int) -> bool:
    """spaCy's FUZZY test (its own Levenshtein comparison), cached per word."""
    return norm == stem or bool(levenshtein_compare(norm, stem, edits))


class _Tokens:
    """What the patterns test, per token of one piece of narrative; ``where``: the
    positions of each norm, ``present``: the norms (shared by the components)."""

    __slots__ = ("like_num", "norms", "present", "texts", "where")

    def __init__(self, norms: list[str], texts: list[str], like_num: list[bool]) -> None:
        self.norms = norms
        self.texts = texts
        self.like_num = like_num
        where: dict[str, list[int]] = {}
        for index, norm in enumerate(norms):
            where.setdefault(norm, []).append(index)
        self.where = where
        self.present = frozenset(where)


def _passes(test: _Test, tokens: _Tokens, index: int) -> bool:
    kind, argument = test[0], test[1]
    if kind == "eq":
        return bool(tokens.norms[index] == argument)
    if kind == "in":
        return tokens.norms[index] in argument
    if kind == "not_in":
        return tokens.norms[index] not in argument
    if kind == "like_num":
        return tokens.like_num[index]
    if kind == "norm_re":
        return argument.search(tokens.norms[index]) is not None
    if kind == "text_re":
        return argument.search(tokens.texts[index]) is not None
    stem, edits = argument
    return _fuzzy(tokens.norms[index], stem, edits)


def _first_norms(tests: tuple[_Test, ...]) -> frozenset[str] | None:
    """The norms the first token of any match must have, when the pattern's leading
    tests are words or word choices (``None`` when the first token can be anything a
    number, a regular expression or a gap can match)."""
    out: set[str] = set()
    for test in tests:
        kind, argument, low = test[0], test[1], test[2]
        if kind == "eq":
            out.add(argument)
        elif kind == "in":
            out.update(argument)
        else:
            return None
        if low >= 1:
            return frozenset(out)
    return None


def _fixed(tests: tuple[_Test, ...]) -> tuple[frozenset[str], ...] | None:
    """The word choice of each token when every test is one word or one word choice,
    taken exactly once (``None`` otherwise)."""
    out: list[frozenset[str]] = []
    for kind, argument, low, high in tests:
        if low != 1 or high != 1:
            return None
        if kind == "eq":
            out.append(frozenset((argument,)))
        elif kind == "in":
            out.append(frozenset(argument))
        else:
            return None
    return tuple(out)


def _head(tests: tuple[_Test, ...]) -> tuple[tuple[frozenset[str], bool], ...]:
    """The leading tests of a pattern that take exactly one token and test its norm
    against a word or word choice (``_Pattern.head``)."""
    out: list[tuple[frozenset[str], bool]] = []
    for kind, argument, low, high in tests:
        if low != 1 or high != 1:
            break
        if kind == "eq":
            out.append((frozenset((argument,)), True))
        elif kind == "in":
            out.append((frozenset(argument), True))
        elif kind == "not_in":
            out.append((frozenset(argument), False))
        else:
            break
    return tuple(out)


@dataclass(frozen=True)
class _Pattern:
    """One Matcher pattern under its match key, with its gate: its rarest required word
    choice (``trigger``), the other required choices (each must occur in the piece), how
    far a match reaches before the trigger, and the norms a match can start with.
    ``position``: its place in the full matcher; ``always``: it has no required word and
    is tried everywhere."""

    key: int
    tests: tuple[_Test, ...]
    position: int
    always: bool
    trigger: frozenset[str]
    others: tuple[int, ...]  # ids of ``_TokenMatcher._choices``
    before: int
    first: frozenset[str] | None
    # The word choices of a pattern that is one word or word choice per token (no
    # repeats, numbers or expressions), else None: matched without the general search.
    fixed: tuple[frozenset[str], ...] | None
    # Every word it can start with is its trigger: each start is a trigger position, so no
    # start needs checking for a trigger in reach.
    starts_on_trigger: bool = False
    # The leading tests that take exactly one token and test its norm against a word
    # choice, as (choice, whether the norm must be in it): checked one token each before
    # the general search, which starts after them (``_head``).
    head: tuple[tuple[frozenset[str], bool], ...] = ()

    def ends(self, tokens: _Tokens, start: int) -> set[int] | tuple[int, ...]:
        """Every end of a match of this pattern that starts at token ``start`` (all of
        them, as spaCy's Matcher reports every match of a pattern, not the longest)."""
        norms = tokens.norms
        length = len(norms)
        fixed = self.fixed
        if fixed is not None:
            # One word or word choice per token: a match is the one run of them.
            end = start + len(fixed)
            if end > length:
                return ()
            for offset, choice in enumerate(fixed):
                if norms[start + offset] not in choice:
                    return ()
            return (end,)
        # The leading one-token word tests: a match takes each once, in turn.
        index = start
        for choice, wanted in self.head:
            if index >= length or (norms[index] in choice) is not wanted:
                return ()
            index += 1
        tests = self.tests
        count = len(tests)
        step = len(self.head)
        if step == count:
            return (index,)
        found: set[int] = set()
        stack = [(step, index)]
        seen: set[tuple[int, int]] = set()
        while stack:
            state = stack.pop()
            step, index = state
            if step == count:
                found.add(index)
                continue
            if state in seen:
                continue
            seen.add(state)
            test = tests[step]
            kind, argument, low, high = test
            taken = 0
            position = index
            while True:
                if taken >= low:
                    stack.append((step + 1, position))
                if taken >= high or position >= length:
                    break
                if kind == "in":
                    passed = norms[position] in argument
                elif kind == "eq":
                    passed = norms[position] == argument
                elif kind == "not_in":
                    passed = norms[position] not in argument
                else:
                    passed = _passes(test, tokens, position)
                if not passed:
                    break
                taken += 1
                position += 1
        return found


class _TokenMatcher:
    """All of one medspaCy component's Matcher patterns (see the module notes)."""

    def __init__(self, gated: Any, strings: Any) -> None:
        self.patterns: list[_Pattern] = []
        # trigger norm -> (the bit of the rarest other required choice of the patterns
        # (0: none), (their bits, patterns) ...): a bucket is read only when its bit is met
        self._by_norm: dict[
            str, tuple[tuple[int, tuple[tuple[int, tuple[_Pattern, ...]], ...]], ...]
        ] = {}
        by_norm: dict[str, dict[tuple[int, int], list[_Pattern]]] = {}
        self._always: list[_Pattern] = []
        # the patterns without a required word whose first token is not a regular
        # expression or a fuzzy word (those are tried only where a word passes it)
        self._always_plain: list[_Pattern] = []
        # patterns whose first token is a regular expression or a fuzzy word, and the
        # positions of those each norm passes
        self._special: dict[int, _Pattern] = {}
        self._memo: dict[str, tuple[int, ...]] = {}
        # those whose first token is a regular expression on the text (not the norm)
        self._text_special: list[_Pattern] = []
        self._text_memo: dict[str, tuple[int, ...]] = {}
        self._choices: list[frozenset[str]] = []
        self._choice_ids: dict[frozenset[str], int] = {}
        self._norm_masks: dict[str, int] = {}
        common = {strings[h] for h in _common_norms(gated.vocab)}
        entries: list[tuple[int, Any, list[dict[str, Any]]]] = gated.patterns
        required_of: list[list[tuple[int, frozenset[str]]]] = getattr(gated, "required", None) or [
            required_norms(pattern) for _key, _on_match, pattern in entries
        ]
        # How many patterns need each word: a word many phrases use ("feel", "leg") is
        # likely to be in a narrative too, so it is a poor gate.
        uses: dict[str, int] = {}
        for required in required_of:
            for _index, choice in required:
                for norm in choice:
                    uses[norm] = uses.get(norm, 0) + 1
        # A choice's measure as a gate (fewer everyday words, then fewer uses), once each.
        scores: dict[frozenset[str], tuple[int, int]] = {}

        def score(choice: frozenset[str]) -> tuple[int, int]:
            known = scores.get(choice)
            if known is None:
                known = scores[choice] = (
                    len(choice & common),
                    sum(uses.get(norm, 0) for norm in choice),
                )
            return known

        position = 0
        for (key, on_match, pattern), required in zip(entries, required_of, strict=True):
            if on_match is not None:
                raise RuntimeError("the fast reader does not call Matcher callbacks")
            position += 1
            tests = tuple(_test(token) for token in pattern)
            first = _first_norms(tests)
            if not required:
                compiled = _Pattern(
                    key,
                    tests,
                    position,
                    True,
                    frozenset(),
                    (),
                    _UNBOUNDED,
                    first,
                    _fixed(tests),
                    head=_head(tests),
                )
                self._always.append(compiled)
                self.patterns.append(compiled)
                self._add_special(compiled)
                if position not in self._special:
                    self._always_plain.append(compiled)
                continue
            index, trigger = min(required, key=lambda item: score(item[1]))
            compiled = _Pattern(
                key,
                tests,
                position,
                False,
                trigger,
                tuple(self._choice(choice) for i, choice in required if i != index),
                _max_tokens(pattern[:index]),
                first,
                _fixed(tests),
                first is not None and first <= trigger,
                _head(tests),
            )
            self.patterns.append(compiled)
            self._add_special(compiled)
            needed = 0
            for choice_id in compiled.others:
                needed |= 1 << choice_id
            # The bit of its rarest other required choice, by the trigger's measure.
            rarest = min(
                compiled.others,
                key=lambda choice_id: (*score(self._choices[choice_id]), choice_id),
                default=None,
            )
            bit = 0 if rarest is None else 1 << rarest
            for norm in trigger:
                by_norm.setdefault(norm, {}).setdefault((bit, needed), []).append(compiled)
        # Per trigger norm, its patterns grouped by the other choices they need (one test
        # of the piece's choices per group), and the groups by the rarest of those
        # choices (one test of that choice per bucket: most are not in a piece).
        self._by_norm = {}
        for norm, groups in by_norm.items():
            buckets: dict[int, list[tuple[int, tuple[_Pattern, ...]]]] = {}
            for (bit, needed), group in groups.items():
                buckets.setdefault(bit, []).append((needed, tuple(group)))
            self._by_norm[norm] = tuple((bit, tuple(bucket)) for bit, bucket in buckets.items())

    def _add_special(self, pattern: _Pattern) -> None:
        """Note a pattern whose first token (taken at least once) is a regular expression
        or a fuzzy word: its starts are found by ``_special_starts``, each word tested once
        per process."""
        head = pattern.tests[0]
        if pattern.first is None and head[2] >= 1 and head[0] in ("norm_re", "fuzzy", "text_re"):
            self._special[pattern.position] = pattern
            if head[0] == "text_re":
                self._text_special.append(pattern)

    def _choice(self, choice: frozenset[str]) -> int:
        """The id of a required word choice (equal choices share one id); each of its
        norms gets the choice's bit in ``_norm_masks``."""
        number = self._choice_ids.get(choice)
        if number is None:
            number = self._choice_ids[choice] = len(self._choices)
            self._choices.append(choice)
            for norm in choice:
                self._norm_masks[norm] = self._norm_masks.get(norm, 0) | (1 << number)
        return number

    def __call__(self, tokens: _Tokens) -> list[tuple[int, int, int]]:
        length = len(tokens.norms)
        where = tokens.where
        present = tokens.present
        # The required word choices present, as bits: one pass over the piece's norms.
        met = 0
        masks = self._norm_masks
        # (A dictionary's keys intersected with a set: the smaller side is walked in C.)
        for norm in masks.keys() & present:
            met |= masks[norm]
        by_norm = self._by_norm
        # The patterns whose trigger is present and whose other required choices are met
        # (a pattern under several trigger norms is kept once).
        picked: dict[int, _Pattern] = {}
        for norm in by_norm.keys() & present:
            for bit, groups in by_norm[norm]:
                if bit & met != bit:
                    continue
                for needed, patterns in groups:
                    if needed & met == needed:
                        for pattern in patterns:
                            picked[pattern.position] = pattern
        chosen = list(picked.values())
        chosen.extend(self._always_plain)
        found: list[tuple[int, int, int, int, int]] = []
        numbers: list[int] | None = None
        special: dict[int, list[int]] | None = None
        if self._special:
            # The patterns whose first token is a regular expression or a fuzzy word: those
            # without a required word are tried where a word passes it, and only there.
            special = self._special_starts(tokens)
            for position in special:
                pattern = self._special[position]
                if pattern.always:
                    chosen.append(pattern)
        specials = self._special
        for pattern in chosen:
            first = pattern.first
            starts: Any
            if first is not None:
                # A match starts on one of the words its first token can be.
                starts = [i for norm in first.intersection(present) for i in where[norm]]
            else:
                head = pattern.tests[0]
                if head[2] >= 1 and head[0] == "like_num":
                    if numbers is None:
                        numbers = [i for i, number in enumerate(tokens.like_num) if number]
                    starts = numbers
                elif pattern.position in specials:
                    if special is None:
                        special = self._special_starts(tokens)
                    starts = special.get(pattern.position, ())
                elif pattern.always:
                    starts = [i for i in range(length) if _passes(head, tokens, i)]
                else:
                    starts = set()
                    for norm in pattern.trigger.intersection(present):
                        for index in where[norm]:
                            starts.update(range(max(0, index - pattern.before), index + 1))
            if not starts:
                continue
            if not (pattern.always or pattern.starts_on_trigger or isinstance(starts, set)):
                # A match holds its rarest required word (``trigger``) at most ``before``
                # tokens after its start: a start with none in reach cannot match.
                before = pattern.before
                reach = sorted(
                    i for norm in pattern.trigger.intersection(present) for i in where[norm]
                )
                if len(reach) == 1:
                    only = reach[0]
                    starts = [s for s in starts if s <= only <= s + before]
                else:
                    # The first trigger at or after the start is within reach.
                    count = len(reach)
                    starts = [
                        s
                        for s in starts
                        if (k := bisect_left(reach, s)) < count and reach[k] <= s + before
                    ]
            group = 0 if pattern.always else 1
            position = pattern.position
            key = pattern.key
            ends = pattern.ends
            for start in starts:
                for end in ends(tokens, start):
                    found.append((end, group, position, start, key))
        # The gated matcher's order: by end token, then the patterns that read the whole
        # text, then the full matcher's order of patterns.
        found.sort()
        return [(key, start, end) for end, _group, _position, start, key in found]

    def _special_starts(self, tokens: _Tokens) -> dict[int, list[int]]:
        """Where the patterns whose first token is a regular expression or a fuzzy word
        can start: each norm (each text, for an expression on the text) is tested once
        per process (``_memo``, ``_text_memo``)."""
        out: dict[int, list[int]] = {}
        memo = self._memo
        where = tokens.where
        for norm in tokens.present:
            passing = memo.get(norm)
            if passing is None:
                one = _Tokens([norm], [norm], [False])
                passing = tuple(
                    pattern.position
                    for pattern in self._special.values()
                    if pattern.tests[0][0] != "text_re" and _passes(pattern.tests[0], one, 0)
                )
                if len(memo) < 100_000:
                    memo[norm] = passing
            for position in passing:
                out.setdefault(position, []).extend(where[norm])
        if self._text_special:
            text_memo = self._text_memo
            for index, text in enumerate(tokens.texts):
                passing = text_memo.get(text)
                if passing is None:
                    one = _Tokens([text], [text], [False])
                    passing = tuple(
                        pattern.position
                        for pattern in self._text_special
                        if _passes(pattern.tests[0], one, 0)
                    )
                    if len(text_memo) < 100_000:
                        text_memo[text] = passing
                for position in passing:
                    out.setdefault(position, []).append(index)
        return out


# --- the components ------------------------------------------------------------------


# One item of a literal phrase: whether it may be left out, its options (tuples of norms)
# by their first norm, and whether every option is one word.
_Item = tuple[bool, dict[str, tuple[tuple[str, ...], ...]], bool]


class _Literal:
    """One literal phrase of a lexicon entry, as its items (``_patterns.literal_items``):
    the word sequences it stands for are every choice of one option per item."""

    __slots__ = ("entry", "first", "items")

    def __init__(self, entry: int, items: list[list[tuple[str, ...]]]) -> None:
        self.entry = entry
        compiled: list[_Item] = []
        for options in items:
            by_first: dict[str, list[tuple[str, ...]]] = {}
            for option in dict.fromkeys(options):
                if option:
                    by_first.setdefault(option[0], []).append(option)
            compiled.append(
                (
                    () in options,
                    {n: tuple(o) for n, o in by_first.items()},
                    all(len(option) <= 1 for option in options),
                )
            )
        self.items = tuple(compiled)
        # The norms a match can start with: those of the leading optional items and of
        # the first item that must be there.
        first: set[str] = set()
        for optional, starting, _one_word in self.items:
            first.update(starting)
            if not optional:
                break
        self.first = frozenset(first)

    def ends(self, norms: list[str], start: int) -> set[int] | tuple[()]:
        """Every end of a match that starts at token ``start`` (each word sequence the
        phrase stands for that the text has there): the positions reached item by item."""
        length = len(norms)
        positions = {start}
        for optional, by_first, one_word in self.items:
            reached: set[int] = set(positions) if optional else set()
            for position in positions:
                if position >= length:
                    continue
                options = by_first.get(norms[position])
                if options is None:
                    continue
                if one_word:
                    reached.add(position + 1)
                    continue
                for option in options:
                    size = len(option)
                    if size == 1 or tuple(norms[position : position + size]) == option:
                        reached.add(position + size)
            if not reached:
                return ()
            positions = reached
        positions.discard(start)
        return positions


def _next_firsts(items: tuple[_Item, ...], index: int) -> tuple[set[str], bool]:
    """The norms a match can go on with from item ``index`` (those of the optional items
    from there and of the first item that must be there), and whether it can end there."""
    out: set[str] = set()
    for optional, by_first, _one_word in items[index:]:
        out.update(by_first)
        if not optional:
            return out, False
    return out, True


def _first_pairs(items: tuple[_Item, ...]) -> tuple[dict[str, set[str]], set[str]]:
    """The first two norms of every word sequence a phrase stands for, as first norm ->
    second norms, and the first norms of its one-word sequences."""
    pairs: dict[str, set[str]] = {}
    single: set[str] = set()
    for index, (optional, by_first, _one_word) in enumerate(items):
        for first, options in by_first.items():
            seconds = pairs.setdefault(first, set())
            for option in options:
                if len(option) > 1:
                    seconds.add(option[1])
                    continue
                following, can_end = _next_firsts(items, index + 1)
                seconds.update(following)
                if can_end:
                    single.add(first)
        if not optional:
            break
    return pairs, single


class _LiteralMatcher:
    """A component's literal phrases, matched by their items rather than by the ~1.6
    million English word sequences they stand for (``_pipeline.LiteralPhrases``), with
    exactly the matches and order of the spaCy PhraseMatcher that holds those sequences
    under the pipeline's rules: every (key, start, end) whose words are a sequence of the
    key's rule, by start, then end, then - where several entries' rules have the same
    words - in the order that PhraseMatcher reports them (``shared``).

    A phrase is tried at a token only when the token and the next are the first two
    words of one of its sequences (or the token is a one-word sequence of it), and only
    when a word of each item it cannot leave out is in the piece (each item's first words
    as one bit, as ``_TokenMatcher`` gates its patterns).
    """

    def __init__(self, literals: Any) -> None:
        self.entry_keys: dict[int, int] = dict(literals.entry_keys)
        self.shared: dict[tuple[str, ...], tuple[int, ...]] = dict(literals.shared)
        choice_ids: dict[frozenset[str], int] = {}
        self._norm_masks: dict[str, int] = {}
        pairs: dict[tuple[str, str], list[tuple[int, _Literal]]] = {}
        singles: dict[str, list[tuple[int, _Literal]]] = {}
        # The phrases of few word sequences are matched by spaCy's PhraseMatcher (in C),
        # under one key per entry; it has a vocabulary of its own (its keys' lexemes).
        self.phrase_matcher = PhraseMatcher(Vocab(strings=[]), attr="NORM")
        self._entry_of: dict[int, int] = {}
        small: dict[int, list[tuple[int, ...]]] = {}
        for entry, items, sequences in literals.phrases:
            count = 1
            for options in items:
                count *= len(options)
            if count <= _SMALL_PHRASE:
                small.setdefault(entry, []).extend(sequences)
                continue
            phrase = _Literal(entry, items)
            needed = 0
            for optional, by_first, _one_word in phrase.items:
                if optional:
                    continue
                choice = frozenset(by_first)
                number = choice_ids.get(choice)
                if number is None:
                    number = choice_ids[choice] = len(choice_ids)
                    for norm in choice:
                        self._norm_masks[norm] = self._norm_masks.get(norm, 0) | (1 << number)
                needed |= 1 << number
            gated = (needed, phrase)
            firsts, single = _first_pairs(phrase.items)
            for first, seconds in firsts.items():
                if first in single:
                    # Tried at every such token: its one-word and longer sequences.
                    singles.setdefault(first, []).append(gated)
                    continue
                for second in seconds:
                    pairs.setdefault((first, second), []).append(gated)
        for entry, sequences in small.items():
            if sequences:
                key = f"entry {entry}"
                self.phrase_matcher.add(key, cast(Any, sequences))
                self._entry_of[get_string_id(key)] = entry
        self._pairs = {pair: tuple(group) for pair, group in pairs.items()}
        self._singles = {norm: tuple(group) for norm, group in singles.items()}

    def __call__(self, doc: Any, tokens: _Tokens) -> list[tuple[int, int, int]]:
        entry_of = self._entry_of
        found: set[tuple[int, int, int]] = {
            (start, end, entry_of[key]) for key, start, end in self.phrase_matcher(doc)
        }
        norms = tokens.norms
        # The first two words of the phrases' sequences that the piece has (set
        # operations in C), then each phrase tried where they are.
        tried: list[tuple[int, tuple[tuple[int, _Literal], ...]]] = []
        if len(norms) > 1:
            hits = self._pairs.keys() & set(
                zip(norms, itertools.islice(norms, 1, None), strict=False)
            )
            if hits:
                where = tokens.where
                pairs = self._pairs
                for first, second in hits:
                    group = pairs[first, second]
                    for start in where[first]:
                        if start + 1 < len(norms) and norms[start + 1] == second:
                            tried.append((start, group))
        if self._singles:
            singles = self._singles
            for norm in singles.keys() & tokens.present:
                group = singles[norm]
                tried.extend((start, group) for start in tokens.where[norm])
        if tried:
            met = 0
            masks = self._norm_masks
            for word in masks.keys() & tokens.present:
                met |= masks[word]
            for start, group in tried:
                for needed, phrase in group:
                    if needed & met == needed:
                        for end in phrase.ends(norms, start):
                            found.add((start, end, phrase.entry))
        if not found:
            return []
        out: list[tuple[int, int, int]] = []
        done: set[tuple[int, int]] = set()
        shared = self.shared
        entry_keys = self.entry_keys
        for start, end, entry in sorted(found):
            keys = shared.get(tuple(norms[start:end])) if shared else None
            if keys is None:
                out.append((entry_keys[entry], start, end))
            elif (start, end) not in done:
                done.add((start, end))
                out.extend((key, start, end) for key in keys)
        return out


@dataclass
class _Component:
    """One medspaCy component's matchers: this module's literal-phrase and token
    matchers, and each match key's rule."""

    phrases: _LiteralMatcher
    tokens: _TokenMatcher | None
    rules: dict[int, Any]
    prune: bool

    def __call__(self, doc: Any, tokens: _Tokens) -> list[tuple[int, int, int]]:
        matches = self.tokens(tokens) if self.tokens is not None else []
        matches += self.phrases(doc, tokens)
        if self.prune:
            matches = _prune_overlapping(matches)
        return matches


def _match_order(match: tuple[int, int, int]) -> tuple[int, int]:
    return match[1], match[2]


def _prune_overlapping(matches: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """``medspacy.common.util.prune_overlapping_matches`` (strategy "longest"), step for
    step without its recursion and per-pair calls: the matches in (start, end) order; of
    two neighbours that overlap (one starts or ends inside the other, as medspaCy's
    ``overlaps`` tests) the longer is kept, the first on a tie, and the match after them is
    taken next without a test; repeated until a pass drops nothing."""
    while matches:
        count = len(matches)
        unpruned = sorted(matches, key=_match_order)
        pruned: list[tuple[int, int, int]] = []
        current = unpruned[0]
        index = 1
        while True:
            if index >= count:
                pruned.append(current)
                break
            following = unpruned[index]
            index += 1
            start, end = current[1], current[2]
            if start <= following[1] < end or start < following[2] <= end:
                if following[2] - following[1] > end - start:
                    pruned.append(following)
                else:
                    pruned.append(current)
                if index >= count:
                    break
                current = unpruned[index]
                index += 1
            else:
                pruned.append(current)
                current = following
        if len(pruned) == count:
            return pruned
        matches = pruned
    return matches


def _component(nlp: Language, name: str) -> _Component:
    component: Any = nlp.get_pipe(name)
    medspacy_matcher = getattr(component, "_TargetMatcher__matcher", None) or getattr(
        component, "_ConText__matcher", None
    )
    if medspacy_matcher is None:
        raise RuntimeError(f"medspaCy changed: no matcher found in {name}")
    # medspaCy (1.3) keeps its matchers private, as ``_pipeline._spacy_matchers`` notes.
    token_matcher = medspacy_matcher._MedspacyMatcher__matcher
    phrases = medspacy_matcher._MedspacyMatcher__phrase_matcher
    regex = medspacy_matcher._MedspacyMatcher__regex_matcher
    if regex._patterns:
        raise RuntimeError(f"{name}: the fast reader does not read regular-expression rules")
    strings = nlp.vocab.strings
    rules = {strings.add(rule_id): rule for rule_id, rule in medspacy_matcher.rule_map.items()}
    tokens = (
        _TokenMatcher(token_matcher, strings)
        if isinstance(token_matcher, _GatedTokenMatcher)
        else None
    )
    if not isinstance(phrases, _LazyPhraseMatcher):
        raise RuntimeError(f"{name}: the pipeline's phrases are not in a _LazyPhraseMatcher")
    literals = _LiteralMatcher(phrases.literals)
    return _Component(literals, tokens, rules, bool(medspacy_matcher._prune))


class FastReader:
    """Reads pieces of narrative into ``FastDoc`` objects (one per reader language)."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp
        self.strings = nlp.vocab.strings
        # The pipeline's component itself: the same norms as the reference reader.
        self.real_words: Any = nlp.get_pipe("backpath_real_words")
        sentencizer: Any = nlp.get_pipe("sentencizer")
        self.punct_chars = frozenset(sentencizer.punct_chars)
        self.targets = _component(nlp, "backpath_targets")
        self.measures = _component(nlp, "backpath_measures")
        self.context = _component(nlp, "backpath_context")
        self.danger = _component(nlp, "backpath_danger")
        self.blockers = _component(nlp, "backpath_blockers")
        context: Any = nlp.get_pipe("backpath_context")
        self.prune_on_target_overlap = bool(context.prune_on_target_overlap)
        # medspaCy's default span attributes (``is_negated`` ...) are not set: the reader
        # reads the modifiers themselves.
        if context.max_scope is not None:
            raise RuntimeError("the fast reader expects ConText without a global max_scope")
        for rule in self.context.rules.values():
            if (
                rule.allowed_types is not None
                or rule.excluded_types is not None
                or rule.max_targets is not None
                or rule.on_modifies is not None
                or rule.on_match is not None
            ):
                raise RuntimeError(f"the fast reader's ConText does not handle rule {rule!r}")
        self._norms: dict[int, str] = {}

    def __call__(self, text: str) -> FastDoc:
        doc = self.real_words(self.nlp.make_doc(text))
        columns = doc.to_array(_ATTRS).T.tolist() if len(doc) else [[] for _ in _ATTRS]
        norm_keys, lower_keys, starts, lengths, alpha, punct, space, numbers = columns
        known = self._norms
        if len(known) > 200_000:
            known.clear()  # a bound on the cache of hash -> text, not on what is read
        strings = self.strings
        for key in itertools.chain(norm_keys, lower_keys):
            if key not in known:
                known[key] = strings[key]
        norms = [known[key] for key in norm_keys]
        lowers = [known[key] for key in lower_keys]
        ends = [start + length for start, length in zip(starts, lengths, strict=True)]
        texts = [text[start:end] for start, end in zip(starts, ends, strict=True)]
        like_num = list(map(bool, numbers))
        tokens = list(
            map(
                FastToken,
                range(len(texts)),
                texts,
                norms,
                lowers,
                map(bool, alpha),
                map(bool, punct),
                map(bool, space),
            )
        )
        fast = FastDoc(text, tokens, starts, ends, self._sentence_starts(tokens))
        view = _Tokens(norms, texts, like_num)
        targets = self._spans(fast, self.targets, doc, view)
        fast.spans[TARGET_GROUP] = targets
        fast.spans[MEASURE_GROUP] = self._spans(fast, self.measures, doc, view)
        self._apply_context(fast, doc, view, targets)
        fast.spans[DANGER_GROUP] = self._spans(fast, self.danger, doc, view)
        targets.extend(self._spans(fast, self.blockers, doc, view))
        return fast

    def _sentence_starts(self, tokens: list[FastToken]) -> list[int]:
        """Sentence starts as spaCy's sentencizer (with the pipeline's punctuation) and
        the newline component set them."""
        if not tokens:
            return []
        flags = [False] * len(tokens)
        flags[0] = True
        start = 0
        seen_period = False
        punct_chars = self.punct_chars
        for token in tokens:
            in_punct_chars = token.text in punct_chars
            if seen_period and not token.is_punct and not in_punct_chars:
                flags[start] = True
                start = token.i
                seen_period = False
            elif in_punct_chars:
                seen_period = True
        if start < len(tokens):
            flags[start] = True
        for token in tokens[:-1]:
            if token.is_space and "\n" in token.text:
                flags[token.i + 1] = True
        return [index for index, flag in enumerate(flags) if flag]

    def _spans(
        self, fast: FastDoc, component: _Component, doc: Any, view: _Tokens
    ) -> list[FastSpan]:
        rules = component.rules
        return [
            FastSpan(fast, start, end, rules[key].category)
            for key, start, end in component(doc, view)
        ]

    def _apply_context(
        self, fast: FastDoc, doc: Any, view: _Tokens, targets: list[FastSpan]
    ) -> None:
        """ConText as ``medspacy.context.ConText.__call__`` runs it (see ``_Graph``)."""
        sentence_of = _sentence_bounds(fast)
        rules = self.context.rules
        modifiers = []
        for key, start, end in self.context(doc, view):
            rule = rules[key]
            scope = _scope(rule, start, end, sentence_of[start])
            modifiers.append(_Modifier(rule, start, end, scope[0], scope[1]))
        graph = _Graph(targets, modifiers, self.prune_on_target_overlap)
        for target, modifier in graph.edges:
            target._.modifiers += (modifier,)
        fast._.context_graph = graph


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """medspaCy's ``tuple_overlaps``, as it is: ``b`` starting or ending inside ``a`` (a
    ``b`` that strictly contains ``a`` does not count)."""
    return a[0] <= b[0] < a[1] or a[0] < b[1] <= a[1]


class _Modifier:
    """One ConText modifier: ``medspacy.context.ConTextModifier`` for rules without
    allowed or excluded types, target limits or callbacks (``FastReader`` checks)."""

    __slots__ = (
        "_end",
        "_scope_end",
        "_scope_start",
        "_start",
        "category",
        "direction",
        "rule",
        "terminated_by",
    )

    def __init__(self, rule: Any, start: int, end: int, scope_start: int, scope_end: int) -> None:
        self.rule = rule
        self.category: str = rule.category
        self.direction: str = rule.direction
        self.terminated_by: set[str] = rule.terminated_by
        self._start = start
        self._end = end
        self._scope_start = scope_start
        self._scope_end = scope_end

    @property
    def modifier_span(self) -> tuple[int, int]:
        return self._start, self._end

    @property
    def scope_span(self) -> tuple[int, int]:
        return self._scope_start, self._scope_end

    def limit_scope(self, other: _Modifier) -> bool:
        """``ConTextModifier.limit_scope``: a terminating modifier, or one of the same
        category, cuts this one's scope at its own words."""
        if not _overlaps(self.scope_span, other.scope_span):
            return False
        if self.direction == "TERMINATE":
            return False
        if (
            other.direction != "TERMINATE"
            and other.category.upper() not in self.terminated_by
            and other.category.upper() != self.category.upper()
        ):
            return False
        original = (self._scope_start, self._scope_end)
        if self.direction in ("FORWARD", "BIDIRECTIONAL") and other._start > self._start:
            self._scope_end = min(self._scope_end, other._start)
        if self.direction in ("BACKWARD", "BIDIRECTIONAL") and other._end < self._end:
            self._scope_start = max(self._scope_start, other._end)
        return original != (self._scope_start, self._scope_end)

    def modifies(self, target: Any) -> bool:
        """``ConTextModifier.modifies``: the target is in scope and not part of the
        modifier's own words."""
        span = (target.start, target.end)
        if _overlaps((self._start, self._end), span):
            return False
        if self.direction in ("TERMINATE", "PSEUDO"):
            return False
        return _overlaps((self._scope_start, self._scope_end), span)

    def __repr__(self) -> str:
        return f"<ConTextModifier> [{self._start}, {self._end}, {self.category}]"


class _Graph:
    """``medspacy.context.ConTextGraph`` after ``update_scopes`` and ``apply_modifiers``:
    ``modifiers`` (those overlapping a target pruned when ``prune``) and ``edges``."""

    def __init__(self, targets: list[FastSpan], modifiers: list[_Modifier], prune: bool) -> None:
        # ``limit_scope`` of each pair, in medspaCy's order, called only where the kinds of
        # the two let one cut the other (else it returns False, whatever the scopes).
        kinds = [
            (m.direction != "TERMINATE", m.direction == "TERMINATE", m.category.upper())
            for m in modifiers
        ]
        for i in range(len(modifiers) - 1):
            first = modifiers[i]
            can_cut, terminates, category = kinds[i]
            stops = first.terminated_by
            for j in range(i + 1, len(modifiers)):
                second = modifiers[j]
                other_can_cut, other_terminates, other_category = kinds[j]
                if can_cut and (
                    other_terminates or other_category in stops or other_category == category
                ):
                    first.limit_scope(second)
                if other_can_cut and (
                    terminates or category in second.terminated_by or category == other_category
                ):
                    second.limit_scope(first)
        if prune and targets and modifiers:
            # ``_overlaps(target, modifier)``: the modifier starts or ends inside a target,
            # that is its first or its last token is one a target covers.
            covered: set[int] = set()
            for target in targets:
                covered.update(range(target.start, target.end))
            modifiers[:] = [
                modifier
                for modifier in modifiers
                if modifier._start not in covered and modifier._end - 1 not in covered
            ]
        modified: list[list[FastSpan]] = [[] for _ in modifiers]
        # ``modifies`` of each pair, inlined: not on the modifier's own words, not a
        # TERMINATE or PSEUDO modifier, and in its scope.
        active = [
            (index, modifier._start, modifier._end, modifier._scope_start, modifier._scope_end)
            for index, modifier in enumerate(modifiers)
            if modifier.direction not in ("TERMINATE", "PSEUDO")
        ]
        for target in targets:
            target_start, target_end = target.start, target.end
            for index, start, end, scope_start, scope_end in active:
                if start <= target_start < end or start < target_end <= end:
                    continue
                if scope_start <= target_start < scope_end or scope_start < target_end <= scope_end:
                    modified[index].append(target)
        self.targets = targets
        self.modifiers = modifiers
        self.edges = [
            (target, modifier)
            for modifier, spans in zip(modifiers, modified, strict=True)
            for target in spans
        ]


def _sentence_bounds(fast: FastDoc) -> list[tuple[int, int]]:
    """The (start, end) of the sentence of each token."""
    out: list[tuple[int, int]] = []
    bounds = [*fast.sentence_starts, len(fast)]
    for start, end in itertools.pairwise(bounds):
        out.extend([(start, end)] * (end - start))
    return out


def _scope(rule: Any, start: int, end: int, sentence: tuple[int, int]) -> tuple[int, int]:
    """A modifier's scope as ``ConTextModifier.__set_scope`` sets it without a window."""
    first, last = sentence
    max_scope = rule.max_scope
    direction = rule.direction.lower()
    if direction == "forward":
        scope_start, scope_end = end, last
        if max_scope is not None and (scope_end - scope_start) > max_scope:
            scope_end = end + max_scope
    elif direction == "backward":
        scope_start, scope_end = first, start
        if max_scope is not None and (scope_end - scope_start) > max_scope:
            scope_start = start - max_scope
    else:
        scope_start, scope_end = first, last
        if max_scope is not None and (start - scope_start) > max_scope:
            scope_start = start - max_scope
        if max_scope is not None and (scope_end - end) > max_scope:
            scope_end = end + max_scope
    return scope_start, scope_end


@functools.cache
def get_fast_reader(language: str = "en") -> FastReader:
    """The fast reader of a reader language, built once per process from its pipeline,
    under the pipelines' build lock (threads asking at once get the same reader)."""
    with _BUILD_LOCK:
        return _build_fast_reader(language)


@functools.cache
def _build_fast_reader(language: str) -> FastReader:
    return FastReader(get_pipeline(language))
