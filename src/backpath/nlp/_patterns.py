"""The phrase notation of the NLP lexicon, compiled to spaCy token patterns.

Lexicon and context files describe what people write in a small notation, so that a
clinician can read and review it without knowing spaCy:

``can't (pee|wee|pass water)``
    words are matched on their spaCy *norm*, so ``can't`` also matches "cant", "cannot",
    "can not" and "can't" with a curly apostrophe; ``(a|b c|)`` is a choice, and an empty
    choice (or a ``?`` right after the group, ``(the)?``) makes the group optional.
``$CANT``
    a macro from ``macros.yaml``, replaced before parsing.
``*3``
    a gap of up to 3 words that does not cross punctuation or "but".
``numbness~``
    one typing error allowed (``~~`` allows two); only for words of 6 letters or more.
``<num>``, ``<score>``, ``<re:REGEX>``
    a number ("3", "three"), a pain score token ("8/10"), or a token matching REGEX.

Compilation expands choices into several flat patterns; a choice whose options are all
single words becomes one ``IN`` test instead, which keeps the matcher small.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

TokenPattern = dict[str, Any]
Pattern = list[TokenPattern]

# A phrase may expand to at most this many flat patterns; more means the notation was
# misused (a combinatorial explosion slows every narrative down).
MAX_EXPANSIONS = 400
_MACRO = re.compile(r"\$([A-Z][A-Z0-9_]*)")
_GAP = re.compile(r"^\*([1-9])$")
# A gap never crosses punctuation, a contrast ("but") or a negation: "not had any trouble
# peeing" must not become one long "trouble peeing" phrase that swallows its "not".
_GAP_STOPS = [
    ".", "!", "?", ";", ",", "but", "however", "although", "though", "except",
    "not", "no", "never", "nothing", "none", "without", "nor", "neither",
    # Spanish (issue 11): contrasts and negations, as the Spanish reader folds them.
    "pero", "aunque", "sino", "excepto", "salvo", "sin", "nunca", "jamas", "ni", "nada",
    "tampoco", "ningun", "ninguna", "ninguno",
]  # fmt: skip
# A fully literal phrase may expand to this many word sequences for the phrase matcher
# (hash lookups, so many are cheap); beyond it, single-word choices become IN tests.
MAX_LITERALS = 20000
_SCORE_REGEX = r"^(10|[0-9])([.,]5)?/10$"
_MIN_FUZZY_LENGTH = 6

Tokenize = Callable[[str], list[str]]


class PhraseError(ValueError):
    """A lexicon phrase does not follow the notation; the message says what is wrong."""


def expand_macros(phrase: str, macros: Mapping[str, str], depth: int = 0) -> str:
    """Replace ``$NAME`` by its macro text (macros may use other macros, 4 levels deep)."""
    if depth > 4:
        raise PhraseError("macros nest more than 4 levels deep (a macro may refer to itself)")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise PhraseError(f"unknown macro ${name}")
        return macros[name]

    expanded = _MACRO.sub(replace, phrase)
    if _MACRO.search(expanded):
        return expand_macros(expanded, macros, depth + 1)
    return expanded


def _split_items(phrase: str) -> list[str | list[str]]:
    """Split a phrase into words and choice groups (a group is a list of its options)."""
    items: list[str | list[str]] = []
    i = 0
    word = ""
    while i < len(phrase):
        char = phrase[i]
        if not word and phrase.startswith("<re:", i):
            end = phrase.find(">", i)
            while end >= 0 and end + 1 < len(phrase) and not phrase[end + 1].isspace():
                end = phrase.find(">", end + 1)
            if end < 0:
                raise PhraseError(f"unclosed '<re:' in {phrase!r}")
            items.append(phrase[i : end + 1])
            i = end + 1
            continue
        if char == "(":
            if word:
                raise PhraseError(f"write a space before '(' in {phrase!r}")
            end = _closing(phrase, i)
            options = _group_options(phrase[i + 1 : end], phrase)
            i = end + 1
            if i < len(phrase) and phrase[i] == "?":
                options.append("")
                i += 1
            items.append(options)
            if i < len(phrase) and not phrase[i].isspace():
                raise PhraseError(f"write a space after ')' in {phrase!r}")
            continue
        if char == ")":
            raise PhraseError(f"unmatched ')' in {phrase!r}")
        if char.isspace():
            if word:
                items.append(word)
                word = ""
        else:
            word += char
        i += 1
    if word:
        items.append(word)
    return items


def _closing(phrase: str, start: int) -> int:
    """Index of the ')' that closes the '(' at ``start``."""
    depth = 0
    for index in range(start, len(phrase)):
        if phrase[index] == "(":
            depth += 1
        elif phrase[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise PhraseError(f"unclosed '(' in {phrase!r}")


def _group_options(inner: str, phrase: str) -> list[str]:
    """The options of a choice; an option that is itself a whole choice is flattened.

    ``(a|(b|c)|d)`` (what a macro inside a choice produces) is ``(a|b|c|d)``; a choice
    nested inside a longer option, as in ``(x (a|b))``, is not supported.
    """
    options: list[str] = []
    depth = 0
    current = ""
    for char in inner:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "|" and depth == 0:
            options.append(current.strip())
            current = ""
        else:
            current += char
    options.append(current.strip())
    flat: list[str] = []
    for option in options:
        if "(" not in option and ")" not in option:
            flat.append(option)
        elif option.startswith("(") and _closing(option, 0) == len(option) - 1:
            flat.extend(_group_options(option[1:-1], phrase))
        else:
            raise PhraseError(f"a choice inside a longer option is not supported in {phrase!r}")
    return flat


def _word_tokens(word: str, tokenize: Tokenize) -> list[TokenPattern]:
    """Token tests for one written word (which may be several spaCy tokens, as "can't")."""
    gap = _GAP.match(word)
    if gap:
        return [{"NORM": {"NOT_IN": _GAP_STOPS}, "OP": f"{{0,{gap.group(1)}}}"}]
    if word == "<num>":
        return [{"LIKE_NUM": True}]
    if word == "<score>":
        return [{"TEXT": {"REGEX": _SCORE_REGEX}}]
    if word.startswith("<re:") and word.endswith(">"):
        regex = word[4:-1]
        try:
            re.compile(regex)
        except re.error as error:
            raise PhraseError(f"bad regular expression {regex!r}: {error}") from error
        return [{"NORM": {"REGEX": regex}}]
    if word.startswith("<"):
        raise PhraseError(f"unknown token class {word!r}; use <num>, <score> or <re:...>")
    if word.endswith("~"):
        stem = word.rstrip("~")
        edits = len(word) - len(stem)
        if edits > 2 or len(stem) < _MIN_FUZZY_LENGTH or not stem.isalpha():
            raise PhraseError(
                f"fuzzy word {word!r}: use ~ or ~~ on a single word of "
                f"{_MIN_FUZZY_LENGTH} or more letters"
            )
        return [{"NORM": {f"FUZZY{edits}": stem.lower()}}]
    norms = tokenize(word)
    if not norms:
        raise PhraseError(f"{word!r} has no tokens")
    return [{"NORM": norm} for norm in norms]


def _option_tokens(option: str, tokenize: Tokenize) -> list[TokenPattern]:
    """Token tests for one option of a choice (several words are allowed)."""
    tokens: list[TokenPattern] = []
    for word in option.split():
        tokens.extend(_word_tokens(word, tokenize))
    return tokens


def _is_literal(token: TokenPattern) -> bool:
    return set(token) == {"NORM"} and isinstance(token["NORM"], str)


def compile_for_matching(
    phrase: str, macros: Mapping[str, str], tokenize: Tokenize
) -> tuple[list[list[str]], list[Pattern]]:
    """Compile a phrase for fast matching: literal word sequences where possible.

    A phrase made only of words and choices becomes norm sequences for spaCy's
    PhraseMatcher (hash lookups: matching cost does not grow with the lexicon; measured
    twice as fast as the equivalent IN-test patterns); a phrase with gaps, numbers, regular
    expressions or fuzzy words becomes Matcher patterns.
    """
    items = literal_items(phrase, macros, tokenize)
    if items is None:
        return [], compile_phrase(phrase, macros, tokenize)
    literals = [
        [norm for option in combination for norm in option]
        for combination in itertools.product(*items)
    ]
    return literals, []


def literal_items(
    phrase: str, macros: Mapping[str, str], tokenize: Tokenize
) -> list[list[tuple[str, ...]]] | None:
    """A literal phrase as its items, each a list of options (norm tuples; ``()`` = optional).

    The norm sequences the phrase matches are every combination of one option per item
    (what ``compile_for_matching`` lists). ``None`` when the phrase needs Matcher patterns:
    it has gaps, numbers, regular expressions or fuzzy words, or more than ``MAX_LITERALS``
    combinations. Raises ``PhraseError`` as ``compile_for_matching`` does.
    """
    text = expand_macros(phrase, macros).strip()
    items = _literal_items(text, phrase, tokenize)
    return None if items is None else [list(options) for options in items]


@functools.lru_cache(maxsize=4096)
def _literal_items(
    text: str, phrase: str, tokenize: Tokenize
) -> tuple[tuple[tuple[str, ...], ...], ...] | None:
    """``literal_items`` once macros are expanded, cached: the knowledge check and the
    pipeline build both compile every phrase (with the same shared tokenizer)."""
    items = _parsed_items(text, phrase, tokenize)
    if not all(_is_literal(token) for options in items for option in options for token in option):
        return None
    count = 1
    for options in items:
        count *= len(options)
    if count > MAX_LITERALS:
        return None
    if all(any(not option for option in options) for options in items):
        raise PhraseError(f"{phrase!r} can match nothing (every part is optional)")
    return tuple(
        tuple(tuple(str(token["NORM"]) for token in option) for option in options)
        for options in items
    )


def _parsed_items(text: str, phrase: str, tokenize: Tokenize) -> list[list[Pattern]]:
    """Each item of a phrase as its list of options (an empty option means optional)."""
    if not text:
        raise PhraseError("empty phrase")
    items: list[list[Pattern]] = []
    for item in _split_items(text):
        if isinstance(item, str):
            items.append([_word_tokens(item, tokenize)])
        else:
            options = [_option_tokens(option, tokenize) for option in item]
            if not any(options):
                raise PhraseError(f"empty choice in {phrase!r}")
            items.append(options)
    return items


def compile_phrase(phrase: str, macros: Mapping[str, str], tokenize: Tokenize) -> list[Pattern]:
    """Compile one phrase of the notation into one or more spaCy Matcher patterns.

    Raises ``PhraseError`` with a readable message for any misuse of the notation.
    """
    text = expand_macros(phrase, macros).strip()
    if not text:
        raise PhraseError("empty phrase")
    alternatives_per_item: list[list[Pattern]] = []
    for item in _split_items(text):
        if isinstance(item, str):
            alternatives_per_item.append([_word_tokens(item, tokenize)])
            continue
        options = [_option_tokens(option, tokenize) for option in item]
        optional = any(not option for option in options)
        filled = [option for option in options if option]
        if not filled:
            raise PhraseError(f"empty choice in {phrase!r}")
        singles = [o for o in filled if len(o) == 1 and _is_literal(o[0])]
        others = [o for o in filled if not (len(o) == 1 and _is_literal(o[0]))]
        if singles and not others:
            merged: TokenPattern = {"NORM": {"IN": sorted({str(o[0]["NORM"]) for o in singles})}}
            if optional:
                merged["OP"] = "?"
            alternatives_per_item.append([[merged]])
        else:
            # Single words of a mixed choice share one IN test; longer options stay apart.
            choices = list(others)
            if singles:
                choices.append([{"NORM": {"IN": sorted({str(o[0]["NORM"]) for o in singles})}}])
            if optional:
                choices.append([])
            alternatives_per_item.append(choices)
    count = 1
    for alternatives in alternatives_per_item:
        count *= len(alternatives)
    if count > MAX_EXPANSIONS:
        raise PhraseError(
            f"expands to {count} patterns (limit {MAX_EXPANSIONS}); use macros or split it"
        )
    patterns: list[Pattern] = []
    for combination in itertools.product(*alternatives_per_item):
        pattern = [dict(token) for part in combination for token in part]
        if not any("OP" not in token for token in pattern):
            raise PhraseError(f"{phrase!r} can match nothing (every part is optional)")
        patterns.append(pattern)
    return patterns


def phrase_words(phrases: Sequence[str], macros: Mapping[str, str]) -> set[str]:
    """The plain lower-case words a set of phrases uses (for the English-language check)."""
    words: set[str] = set()
    for phrase in phrases:
        try:
            text = expand_macros(phrase, macros)
        except PhraseError:
            continue
        for raw in re.split(r"[\s()|]+", text):
            if raw and raw.isalpha():
                words.add(raw.lower())
    return words
