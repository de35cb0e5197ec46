"""Typos and slang spellings of the red-flag words (issue 11).

A word is only ever changed when the reader does not know it: a correct word (in the
English vocabulary, the lexicon, spaCy's stop words and contractions, or ``not_typos``) is
never touched, so no fuzzy match can land inside or instead of a longer correct word. An
unknown word is then

1. looked up in ``spelling.yaml`` ``corrections`` (written by hand, any length:
   "cnat" -> "can't", "wen" -> "when", "bak" -> "back"), or read with its dropped g
   ("killin" -> "killing") when that is a known word, or with one letter of a doubled
   pair typed once when that makes exactly one known word ("chesst" -> "chest",
   "shivvers" -> "shivers", "legg" -> "leg");
2. otherwise, when it has 5 or more letters, matched with rapidfuzz against the words of
   the red-flag phrases (the lexicon entries whose codes are red flags), with guards:

   * 5-7 letters: one edit, 8 or more letters: two edits, where an edit is an omitted or
     extra letter, two swapped neighbours, or a substitution by a neighbouring key or by
     another vowel ("crossing" is not a typo of "crushing");
   * the first letter is the same (or the first two are swapped);
   * candidates have 5 or more letters too, and the length differs by at most the edits;
   * one best candidate only: two different words equally close are left alone (variants
     of one word, such as "numbness" and the lexicon's "numbnes", count as one).

3. otherwise, when it has 5 or more letters, split into the fewest known words (at most
   four), one of which is a red-flag word: words typed without spaces ("wheniwipe" ->
   "when i wipe", "bothlegs" -> "both legs", "nopuedoorinar" -> "no puedo orinar").
   Pieces are words of two or more letters, or the language's one-letter words ("i",
   "a"; Spanish "y", "a", "o", "e", "u"); a split that yields no red-flag word is not made,
   so a drug or a name the reader does not know is never cut into pieces.

Everything else is left as written: short words are matched exactly.

**Misspellings the lexicon lists.** A phrase sometimes lists a misspelling beside the word
it means, so that one phrase catches it: "(swollen|swolen|puffy)", "(vomit|vommit)". Such
a word is in the lexicon, so it is "known"; but it is not a word of the language (the
speller's ``dictionary``: English ``language.yaml`` words, spaCy's stop words and
contractions, ``not_typos``; Spanish: the everyday words, stop words and ``not_typos``),
and if it were left alone every *other* phrase that uses the correct word would miss it:
"my calf is swolen" must read as a swollen calf (a deep vein thrombosis sign), "feaver and
shivers" as a fever. A word known only from the lexicon is read as

1. its ``corrections`` entry, when it has one ("feaver" -> "fever", "numbnes" ->
   "numbness"); else
2. the one red-flag word it is a typo of, by the fuzzy rules above but with one slip
   only, not in the last two letters (or its dropped g: "tinglin" -> "tingling"); not when the
   two differ only by an ending ("stone" / "stones", "cried" / "cries", "sciatic" /
   "sciatica": word forms, not typos); when each is the other's nearest word, the one
   the phrases use more often is the word meant (as often: no direction);

and only when the correction **keeps the original reading**: every phrase that lists the
word lists it as an option of a choice that also has the corrected word in its place
("(swollen|swolen)"). A phrase that writes the misspelling on its own, or only beside
other words, would stop matching, so such a word is left as written - unless a hand
correction reads it as a word of the language ("bak" -> "back", "feal" -> "feel"): the
phrases written for that word read it ("(bak|bck) pain" is then read by the "back pain"
phrases; ``tests/nlp/test_spelling_v2.py`` checks such phrases read the same). Short real
words that a phrase happens to use ("sum", "bum", "wee", "poo"; Spanish "echo", "echa")
are never changed: the fuzzy match needs five letters, and real words that once had a
hand correction are in ``not_typos``. An unknown word whose correction is such a listed
misspelling is read on as the word it means ("feever" -> "feaver" -> "fever").

Spanish (``get_speller("es")``, ``knowledge/nlp/es/spelling.yaml``) works the same way on
words read without accents (``_spanish.fold_accents``: "orinár" is "orinar" before any
correction), against the Spanish vocabulary and red-flag phrases, with three Spanish slips
added: letters that sound alike may stand for each other in the fuzzy match, also as the
first letter (b/v, s/c/z, g/j, i/y, c/k/q: "vegiga", "bejiga", "adormesida"); a silent h
may be added or left out ("horinar" -> "orinar", "ormigueo" -> "hormigueo"; words of 4+
letters, towards a known word only); and text-message spellings are corrections ("q" ->
"que", "pueo" -> "puedo", "ise" -> "hice").

**Real-word errors** (``RealWordReader``, ``spelling.yaml`` ``real_word_errors``). A slip
that lands on another real word is not unknown, so the steps above never see it: "no
ciento las piernas" (``ciento``, a hundred, for ``siento``, I feel), "me e orinado encima"
(``e`` for ``he``), "no siento nada ay abajo" (``ay`` for ``ahí``). Such a word is read as
the word meant only where the words right next to it show which one it is: an entry gives
the words as written, the word read, and the words one of which must come just before
(``previous``) and/or just after it (``following``), and words that must not
(``not_previous``, ``not_following``). The context is what makes it safe: "ciento" after
"no" or before "las" is "siento", while "ciento veinte", "el ciento por ciento" and "un
cincuenta por ciento la fuerza" stay numbers; and a word next to a number (digits, or a
number word the tokenizer knows) is never read as another word. This runs on the tokens, after the word
pass above (so contexts are written in corrected words: "abajo", not "avajo") and
before any matching: it changes the token's ``norm`` (what every matcher reads), never
the text, so evidence spans still point at the words as written. Both readers run the
same step (``_pipeline``'s ``backpath_real_words`` component; the fast reader calls that
component on its ``Doc``). Words are compared as the reader tokenizes them (Spanish:
without accents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from backpath.nlp._knowledge import NlpKnowledge, RealWordEntry, all_phrases
from backpath.nlp._normalise import collapse_repeats, has_repeats
from backpath.nlp._patterns import PhraseError, _split_items, expand_macros

MIN_FUZZY_LETTERS = 5
TWO_EDIT_LETTERS = 8
MIN_SEGMENT_LETTERS = 5
MAX_SEGMENT_PIECES = 4
MAX_PIECE_LETTERS = 20
ENGLISH_ONE_LETTER_WORDS = frozenset("ia")
SPANISH_ONE_LETTER_WORDS = frozenset("yaoeu")
_VOWELS = frozenset("aeiouy")
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, frozenset[str]]:
    """Keys next to each letter on a QWERTY keyboard (same row and the rows around)."""
    position = {key: (row, col) for row, keys in enumerate(_ROWS) for col, key in enumerate(keys)}
    out: dict[str, frozenset[str]] = {}
    for key, (row, col) in position.items():
        out[key] = frozenset(
            other
            for other, (r, c) in position.items()
            if other != key and abs(r - row) <= 1 and abs((c + 0.5 * r) - (col + 0.5 * row)) <= 1
        )
    return out


_NEAR = _neighbours()
# Spanish letters that sound alike (seseo, b/v, g/j before e and i, y/i, c/k/q before a, o, u).
SPANISH_SOUND_ALIKE = frozenset(
    frozenset(pair) for pair in ("bv", "sz", "sc", "cz", "gj", "iy", "ck", "kq", "cq")
)


def plausible_edits(
    word: str, candidate: str, sound_alike: frozenset[frozenset[str]] = frozenset()
) -> bool:
    """Every substitution between ``word`` and ``candidate`` is a typing slip: a
    neighbouring key, a vowel for another vowel, letters that sound alike in the language
    (``sound_alike`` pairs), or half of two swapped neighbours. Omitted and extra letters
    are always plausible ("numbess", "numbbness")."""
    for op in Levenshtein.editops(word, candidate):
        if op.tag != "replace":
            continue
        i, j = op.src_pos, op.dest_pos
        typed, meant = word[i], candidate[j]
        if typed in _VOWELS and meant in _VOWELS:
            continue
        if typed in _NEAR.get(meant, frozenset()):
            continue
        if frozenset((typed, meant)) in sound_alike:
            continue
        swapped = (
            i + 1 < len(word)
            and j + 1 < len(candidate)
            and word[i] == candidate[j + 1]
            and word[i + 1] == candidate[j]
        ) or (i > 0 and j > 0 and word[i] == candidate[j - 1] and word[i - 1] == candidate[j])
        if not swapped:
            return False
    return True


class Speller:
    """Corrects the unknown words of a narrative towards the red-flag vocabulary."""

    def __init__(
        self,
        known: Iterable[str],
        targets: Iterable[str],
        corrections: Mapping[str, str],
        fold: Callable[[str], str] | None = None,
        sound_alike: frozenset[frozenset[str]] = frozenset(),
        silent_h: bool = False,
        one_letter_words: frozenset[str] = ENGLISH_ONE_LETTER_WORDS,
        dictionary: Iterable[str] | None = None,
        phrases: Iterable[str] = (),
    ) -> None:
        """``known``, ``targets`` and ``corrections`` are written as ``fold`` reads words
        (Spanish: without accents); ``sound_alike``, ``silent_h`` and ``one_letter_words``
        are the language's extra slips and words (see the module notes).

        ``dictionary``: the words of the language (a subset of ``known``); a known word
        outside it is known only from the lexicon and may be a misspelling a phrase lists.
        None: every known word is left alone. ``phrases``: every phrase the reader matches
        (lexicon, context rules, measures, danger words; macros expanded, as ``fold``
        reads words), to check that a correction keeps each phrase's reading."""
        self.known = frozenset(known)
        self._targets = frozenset(targets)
        self._one_letter = one_letter_words
        self.corrections = dict(corrections)
        self._fold = fold
        self._sound_alike = sound_alike
        self._silent_h = silent_h
        by_letter: dict[str, list[str]] = {}
        for word in sorted(set(targets)):
            if len(word) >= MIN_FUZZY_LETTERS and word.isalpha():
                by_letter.setdefault(word[0], []).append(word)
        self._by_letter = by_letter
        self._cache: dict[str, str | None] = {}
        self._folded: dict[str, str] = {}
        self._dictionary = None if dictionary is None else frozenset(dictionary)
        self._listed: dict[str, list[_Listing | None]] = {}
        if self._dictionary is not None:
            suspects = {word for word in self.known - self._dictionary if word.isalpha()}
            self._listed = _listings(phrases, suspects)

    def is_known(self, word: str) -> bool:
        return word in self.known

    def lexicon_only(self, word: str) -> bool:
        """``word`` is known from the lexicon but is not a word of the language."""
        return (
            self._dictionary is not None
            and word in self.known
            and word not in self._dictionary
            and word.isalpha()
        )

    def __call__(self, word: str) -> str | None:
        """The replacement of one lower-case word, or None to keep it as written."""
        if self._fold is not None:
            # Folding (Spanish: no accents) costs more than the look-up: remember each
            # word as written.
            folded = self._folded.get(word)
            if folded is None:
                folded = self._fold(word)
                if len(self._folded) < 20_000:
                    self._folded[word] = folded
            word = folded
        if word in self.known and not self.lexicon_only(word):
            return None
        cached = self._cache.get(word, "")
        if cached != "":
            return cached
        if word in self.known:
            result = self._listed_typo(word)
        else:
            result = self._correct(word)
            if result is not None and self.lexicon_only(result):
                # A slip towards a misspelling the lexicon lists ("feever" -> "feaver"):
                # read as the word that one means ("fever").
                result = self._listed_typo(result) or result
        if len(self._cache) < 20_000:
            self._cache[word] = result
        return result

    def _listed_typo(self, word: str) -> str | None:
        """The reading of a word known only from the lexicon (see the module notes): its
        correction or the red-flag word it is a typo of, when that keeps every phrase's
        reading; else None (left as written)."""
        meant = self.corrections.get(word)
        if meant is not None and meant != word:
            # A hand-written correction to one word of the language ("feal" -> "feel",
            # "bak" -> "back"): the phrases written for the correct word read it.
            if self.keeps_reading(word, meant) or (
                self._dictionary is not None and meant in self._dictionary
            ):
                return meant
            return None
        meant = self._typo_of(word)
        if meant is None or not self.keeps_reading(word, meant):
            return None
        return meant

    def _typo_of(self, word: str) -> str | None:
        """The red-flag word a lexicon-only ``word`` is a typing slip of, if it is one."""
        if not self._silent_h and word.endswith("in") and word + "g" in self.known:
            return word + "g"  # "tinglin" -> "tingling"
        meant = self.fuzzy(word)
        if meant is None or _word_forms(word, meant):
            return None
        if OSA.distance(word, meant) != 1 or word[-2:] != meant[-2:]:
            # One slip, and not in the last two letters, where word forms differ ("cried" /
            # "cries", "crisis" / "crises", "hijas" / "hijos", "tosido" / "tosio"): a word
            # the lexicon lists on purpose is only read as another on plain evidence of a
            # typo (misspellings with a slip at the end are ``corrections``: "fevre").
            return None
        # Each the other's nearest word ("swolen" / "swollen", "jelley" / "jelly"): a word
        # of the language, else the one the phrases use more, is the word meant; as often:
        # no direction.
        if (
            self.fuzzy(meant) == word
            and not (self._dictionary is not None and meant in self._dictionary)
            and len(self._listed.get(meant, ())) <= len(self._listed.get(word, ()))
        ):
            return None
        return meant

    def keeps_reading(self, word: str, meant: str) -> bool:
        """Every phrase that lists ``word`` lists it in a choice that also has ``meant``
        (one or more words) in its place, so reading ``word`` as ``meant`` loses none."""
        replacement = tuple(meant.split())
        for listing in self._listed.get(word, ()):
            if listing is None:
                return False
            option, index, options = listing
            if option[:index] + replacement + option[index + 1 :] not in options:
                return False
        return True

    def _correct(self, word: str) -> str | None:
        written = word
        if has_repeats(word):
            word = collapse_repeats(word, self.is_known)
            if word in self.known:
                return word
        if word in self.corrections:
            return self.corrections[word]
        if self._silent_h and len(word) >= 4:
            if word[0] == "h" and word[1:] in self.known:
                return word[1:]  # "horinar" -> "orinar"
            if word[0] != "h" and "h" + word in self.known:
                return "h" + word  # "ormigueo" -> "hormigueo"
        elif word.endswith("in") and word + "g" in self.known:
            return word + "g"  # a dropped g: "peein", "tinglin", "killin"
        single = self._undoubled(word)
        if single is not None:
            return single
        fuzzy = self.fuzzy(word)
        if fuzzy is not None:
            return fuzzy
        split = self.segment(word)
        if split is not None:
            return split
        return word if word != written else None

    def _undoubled(self, word: str) -> str | None:
        """``word`` with one letter of a doubled pair typed once, when that makes exactly
        one known word ("chesst" -> "chest", "shivvers" -> "shivers", "legg" -> "leg")."""
        found = {
            word[:index] + word[index + 1 :]
            for index in range(1, len(word))
            if word[index] == word[index - 1] and word[index].isalpha()
        }
        known = [single for single in found if len(single) >= 3 and single in self.known]
        return known[0] if len(known) == 1 else None

    def segment(self, word: str) -> str | None:
        """``word`` read as words typed without spaces: the split into the fewest known
        words (longer words first among equals) that contains a red-flag word, or None."""
        if len(word) < MIN_SEGMENT_LETTERS or not word.isalpha():
            return None
        size = len(word)
        # best[i]: the best split of word[:i] as (pieces, -sum of squared lengths, words).
        best: list[tuple[int, int, tuple[str, ...]] | None] = [None] * (size + 1)
        best[0] = (0, 0, ())
        for start in range(size):
            here = best[start]
            if here is None or here[0] >= MAX_SEGMENT_PIECES:
                continue
            for stop in range(start + 1, min(size, start + MAX_PIECE_LETTERS) + 1):
                piece = word[start:stop]
                if len(piece) == 1:
                    if piece not in self._one_letter:
                        continue
                elif piece not in self.known:
                    continue
                option = (here[0] + 1, here[1] - len(piece) ** 2, (*here[2], piece))
                current = best[stop]
                if current is None or option[:2] < current[:2]:
                    best[stop] = option
        found = best[size]
        if found is None or found[0] < 2:
            return None
        if not any(piece in self._targets for piece in found[2]):
            return None
        return " ".join(found[2])

    def fuzzy(self, word: str) -> str | None:
        """The one red-flag word within the allowed edits of ``word``, if there is one."""
        if len(word) < MIN_FUZZY_LETTERS or not word.isalpha():
            return None
        edits = 2 if len(word) >= TWO_EDIT_LETTERS else 1
        choices = list(self._by_letter.get(word[0], ()))
        if word[1] != word[0]:
            choices += [c for c in self._by_letter.get(word[1], ()) if c[1] == word[0]]
        for pair in self._sound_alike:
            if word[0] in pair:
                (other,) = pair - {word[0]}
                choices += self._by_letter.get(other, ())
        choices = [c for c in choices if abs(len(c) - len(word)) <= edits and c != word]
        if not choices:
            return None
        found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=edits, limit=None)
        if not found:
            return None
        best = min(distance for _, distance, _ in found)
        winners = sorted(
            {
                choice
                for choice, distance, _ in found
                if distance == best and plausible_edits(word, choice, self._sound_alike)
            }
        )
        if len(winners) > 1 and all(
            OSA.distance(one, other) <= 1 for one in winners for other in winners
        ):
            # Variants of one word (the lexicon also lists common misspellings such as
            # "numbnes"): the longest is the word itself (a misspelling the lexicon
            # lists is then read as the word it means: see ``__call__``).
            winners = [max(winners, key=lambda word: (len(word), word))]
        if len(winners) != 1:
            return None
        return winners[0]


# Endings that make another form of the same word ("stone" / "stones", "shiver" /
# "shivery"): two lexicon words that differ only by one of these are not a typo pair.
_FORM_ENDINGS = frozenset(
    ("s", "es", "y", "ey", "d", "ed", "r", "er", "ly", "a", "e", "al", "ing", "n", "ness", "o")
)

# One place a word is written in a phrase: the option (its words) it is part of, its
# position there, and every option of that choice; None: written outside any choice.
_Listing = tuple[tuple[str, ...], int, frozenset[tuple[str, ...]]]


def _word_forms(one: str, other: str) -> bool:
    """``one`` and ``other`` differ only by an ending (word forms, not a typo)."""
    short, long = sorted((one, other), key=len)
    return long.startswith(short) and long[len(short) :] in _FORM_ENDINGS


def _listings(phrases: Iterable[str], words: set[str]) -> dict[str, list[_Listing | None]]:
    """Where each of ``words`` is written in ``phrases`` (see ``Speller.keeps_reading``)."""
    out: dict[str, list[_Listing | None]] = {}
    for phrase in phrases:
        try:
            items = _split_items(phrase)
        except PhraseError:
            continue
        for item in items:
            if isinstance(item, str):
                for raw in item.lower().split():
                    if raw in words:
                        out.setdefault(raw, []).append(None)
                continue
            options = [tuple(option.lower().split()) for option in item]
            group = frozenset(options)
            for option in options:
                for index, raw in enumerate(option):
                    if raw in words:
                        out.setdefault(raw, []).append((option, index, group))
    return out


def reader_phrases(knowledge: NlpKnowledge, fold: Callable[[str], str] = str.lower) -> list[str]:
    """Every phrase a reader matches (lexicon, context rules, measures, its language's
    danger words and their exceptions, macros), macros expanded and written as ``fold``
    reads words: the speller checks that reading a misspelling the lexicon lists as the
    word meant keeps each phrase's reading (``Speller.keeps_reading``)."""
    own = [entry for entry in knowledge.danger_words if entry.language == knowledge.language]
    phrases = all_phrases(knowledge.targets) + all_phrases(knowledge.context)
    phrases += all_phrases(knowledge.measures) + all_phrases(own)
    phrases += [phrase for entry in own for phrase in entry.ignore_in]
    phrases += list(knowledge.macros.values())
    out: list[str] = []
    for phrase in phrases:
        try:
            out.append(fold(expand_macros(phrase, knowledge.macros)))
        except PhraseError:
            continue
    return out


def stop_words(language: str) -> frozenset[str]:
    """spaCy's stop words of ``language`` (words of the language, for the dictionary)."""
    from backpath.nlp._language import _stop_words

    return _stop_words(language)


@dataclass(frozen=True)
class _RealWordRule:
    """One ``real_word_errors`` entry for one written word, in the tokens' form."""

    read_as: str
    previous: frozenset[str]
    following: frozenset[str]
    not_previous: frozenset[str]
    not_following: frozenset[str]


class RealWordReader:
    """Reads real words typed for another real word by the words next to them (see the
    module notes): ``read`` gives, for a sequence of tokens, which to read as what."""

    def __init__(
        self, entries: Iterable[RealWordEntry], word: Callable[[str], str] = str.lower
    ) -> None:
        """``entries`` from ``spelling.yaml``; ``word`` turns a word of the file into the
        form the tokens are compared in (the reader's token norm: Spanish without accents).
        Entries are tried in file order; the first whose context holds wins."""
        rules: dict[str, list[_RealWordRule]] = {}
        for entry in entries:
            rule = _RealWordRule(
                word(entry.read_as),
                frozenset(word(item) for item in entry.previous),
                frozenset(word(item) for item in entry.following),
                frozenset(word(item) for item in entry.not_previous),
                frozenset(word(item) for item in entry.not_following),
            )
            for written in entry.written:
                rules.setdefault(word(written), []).append(rule)
        self._rules = rules
        self.written = frozenset(rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def read(self, words: Sequence[str], numbers: Sequence[bool]) -> list[tuple[int, str]]:
        """(index, word read) for each of ``words`` (the tokens of a text, as compared,
        punctuation and line breaks included so that they break a context) read as another
        word. ``numbers[i]``: token ``i`` is like a number; a word next to one is kept.
        Contexts are the words as written (one reading does not make another's context)."""
        out: list[tuple[int, str]] = []
        last = len(words) - 1
        for index, written in enumerate(words):
            rules = self._rules.get(written)
            if rules is None:
                continue
            if (index > 0 and numbers[index - 1]) or (index < last and numbers[index + 1]):
                continue
            before = words[index - 1] if index > 0 else None
            after = words[index + 1] if index < last else None
            for rule in rules:
                if rule.previous and before not in rule.previous:
                    continue
                if rule.following and after not in rule.following:
                    continue
                if before in rule.not_previous or after in rule.not_following:
                    continue
                out.append((index, rule.read_as))
                break
        return out
