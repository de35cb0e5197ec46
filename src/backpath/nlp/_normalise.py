"""Normalise a narrative before matching, with a map back to the original text (issue 11).

People paste text from phones, e-mails and web pages: no-break and zero-width spaces, soft
hyphens, curly quotes, ligatures, full-width letters, "sooo numb". The pipeline reads a
normalised copy; every evidence span still points into the text the person wrote.

Two passes, each recording where every output character came from:

1. **characters**: Unicode NFKC (per base character and its combining marks, so "é"
   written as e + accent is one letter), lower case, curly quotes and primes to ``'`` and
   ``"``, dashes to ``-``, no-break / narrow / figure / ideographic spaces to a space, the
   zero-width space to a space between two letters (a word break) and to nothing elsewhere,
   runs of spaces and tabs to one space, soft hyphens, zero-width joiners,
   word joiners, byte-order marks and direction marks removed, line and paragraph
   separators to a line break;
2. **words** (``Speller``): letters repeated three or more times are collapsed ("sooo" ->
   "so", "numbbb" -> "numb", "weeeeing" -> "weeing"), then a word the reader does not know
   is corrected when the spelling list or the fuzzy matcher knows it ("myslef" -> "myself").

Text with a NUL byte or a lone surrogate is refused (``check_text``): it cannot come from a
keyboard, and it breaks storage and output encoders further on.

``normalise_text`` is the character pass without the map (same length guaranteed only for
plain text); ``phrase_tokenizer`` uses it on lexicon words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from backpath.errors import NarrativeError

# Characters replaced before NFKC (NFKC leaves them alone or would keep them).
_REPLACE = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u02bc": "'", "\u00b4": "'",
    "`": "'", "\u2032": "'", "\u2035": "'", "\uff07": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u2036": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\ufe58": "-", "\ufe63": "-", "\uff0d": "-",
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u3000": " ", "\u205f": " ",
    "\u2028": "\n", "\u2029": "\n", "\u0085": "\n",
    "\u00ad": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u180e": "",
    "\u200e": "", "\u200f": "", "\u202a": "", "\u202b": "", "\u202c": "", "\u202d": "",
    "\u202e": "", "\u2066": "", "\u2067": "", "\u2068": "", "\u2069": "", "\u034f": "",
}  # fmt: skip
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ZWSP = "\u200b"
# Runs of spaces and tabs (after the character pass): one space, so that "pooed   myself"
# is still a phrase (spaCy makes a token of extra whitespace). Line breaks are kept.
_SPACES = re.compile(r"[ \t\f\v]{2,}|[\t\f\v]")
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_WORD = re.compile(r"[^\W\d_]+")
_REPEAT = re.compile(r"([^\W\d_])\1\1")


def check_text(text: str) -> None:
    """Refuse a NUL byte or a lone surrogate (``NarrativeError``, with where it is)."""
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        what = "a NUL byte" if bad.group() == "\x00" else "an invalid character (lone surrogate)"
        raise NarrativeError(
            f"the narrative contains {what} at character {bad.start()}; "
            "please retype or paste it as plain text"
        )


def _char(cluster: str) -> str:
    """The normalised form of one character (with its combining marks)."""
    first = cluster[0]
    if first in _REPLACE and len(cluster) == 1:
        return _REPLACE[first]
    folded = unicodedata.normalize("NFKC", cluster)
    out = []
    for char in folded:
        if char in _REPLACE:
            out.append(_REPLACE[char])
            continue
        lowered = char.lower()
        out.append(lowered if len(lowered) == 1 else char)
    return "".join(out)


def normalise_text(text: str) -> str:
    """The character pass of a text, without an offset map (used on lexicon words)."""
    return _characters(text)[0]


def _characters(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """The character pass: normalised text and, unless nothing moved, start/end maps."""
    if text.isascii():
        return text.lower().replace("`", "'"), None, None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for run in _NON_ASCII.finditer(text):
        if run.start() > position:
            out.append(text[position : run.start()].lower().replace("`", "'"))
            starts.extend(range(position, run.start()))
            ends.extend(range(position + 1, run.start() + 1))
        index, stop = run.start(), run.end()
        while index < stop:
            end = index + 1
            if text[index] == _ZWSP:
                # A zero-width space between two letters or digits marks a word break
                # ("wet\u200bmyself"); next to a space or a mark it is noise ("can\u200b't").
                word_break = (
                    0 < index < len(text) - 1
                    and text[index - 1].isalnum()
                    and text[index + 1].isalnum()
                )
                piece = " " if word_break else ""
                out.append(piece)
                starts.extend([index] * len(piece))
                ends.extend([end] * len(piece))
                index = end
                continue
            # A base character and its combining marks are normalised together.
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1
            piece = _char(text[index:end])
            out.append(piece)
            starts.extend([index] * len(piece))
            ends.extend([end] * len(piece))
            index = end
        position = max(stop, index)
    if position < len(text):
        out.append(text[position:].lower().replace("`", "'"))
        starts.extend(range(position, len(text)))
        ends.extend(range(position + 1, len(text) + 1))
    normalised = "".join(out)
    if normalised == text.lower() and len(starts) == len(text):
        return normalised, None, None
    return normalised, starts, ends


@dataclass(frozen=True)
class Normalised:
    """A normalised narrative and the way back to the original text."""

    text: str
    original: str
    starts: list[int] | None = None  # original start of each normalised character
    ends: list[int] | None = None  # original end of each normalised character
    corrections: tuple[tuple[str, str], ...] = ()  # (written, read as), for the record

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original (start, end) of the normalised characters ``start:end``."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            point = self.starts[start] if start < len(self.starts) else len(self.original)
            return point, point
        return self.starts[start], self.ends[end - 1]


Corrector = Callable[[str], "str | None"]


def normalise(text: str, correct: Corrector | None = None) -> Normalised:
    """Normalise ``text`` (characters, then words with ``correct``), keeping an offset map.

    ``correct(word)`` gets each lower-case word (letters only) and returns its replacement
    or None to keep it; it is called once per distinct word.
    """
    chars, starts, ends = _characters(text)
    replacements: list[tuple[int, int, str]] = [
        (match.start(), match.end(), " ") for match in _SPACES.finditer(chars)
    ]
    if correct is None and not replacements:
        return Normalised(chars, text, starts, ends)
    if correct is not None:
        cache: dict[str, str | None] = {}
        for match in _WORD.finditer(chars):
            word = match.group()
            if word in cache:
                new = cache[word]
            else:
                new = cache[word] = correct(word)
            if new is not None and new != word:
                replacements.append((match.start(), match.end(), new))
    if not replacements:
        return Normalised(chars, text, starts, ends)
    replacements.sort()
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    position = 0
    fixed: list[tuple[str, str]] = []
    for start, end, new in replacements:
        out.append(chars[position:start])
        if starts is None or ends is None:
            new_starts.extend(range(position, start))
            new_ends.extend(range(position + 1, start + 1))
            origin = (start, end)
        else:
            new_starts.extend(starts[position:start])
            new_ends.extend(ends[position:start])
            origin = (starts[start], ends[end - 1])
        out.append(new)
        new_starts.extend([origin[0]] * len(new))
        new_ends.extend([origin[1]] * len(new))
        if new.strip():
            fixed.append((text[origin[0] : origin[1]], new))
        position = end
    out.append(chars[position:])
    if starts is None or ends is None:
        new_starts.extend(range(position, len(chars)))
        new_ends.extend(range(position + 1, len(chars) + 1))
    else:
        new_starts.extend(starts[position:])
        new_ends.extend(ends[position:])
    return Normalised("".join(out), text, new_starts, new_ends, tuple(fixed))


def has_repeats(word: str) -> bool:
    """A letter written three or more times in a row ("sooo")."""
    return _REPEAT.search(word) is not None


def collapse_repeats(word: str, known: Callable[[str], bool]) -> str:
    """Collapse letters repeated 3+ times: to two when that makes a known word ("feeel" ->
    "feel"), else to one when that does ("sooo" -> "so"), else to two ("numbbb" -> "numbb",
    left for the speller)."""
    double = re.sub(r"([^\W\d_])\1{2,}", r"\1\1", word)
    if known(double):
        return double
    single = re.sub(r"([^\W\d_])\1{2,}", r"\1", word)
    if known(single):
        return single
    # Runs of two that were already there ("weeeeeing" -> "weeing") stay; try the runs
    # that were 3+ one at a time at one letter.
    return double
