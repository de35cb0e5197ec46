"""Read one narrative: the person's own words -> findings with certainty and evidence.

The steps, each small and in order:

1. refuse text longer than ``MAX_NARRATIVE_CHARS`` (bounded time) or holding a NUL byte or
   a lone surrogate, report empty text;
2. normalise (``_normalise``: NFKC, odd spaces, quotes, "sooo", typos and slang spellings
   through ``_spelling``) keeping a map back to the original offsets, and run the pipeline
   (``_pipeline``) on the normalised copy;
3. check the language; a text that is not English is *not understood* (its findings are
   still returned, but the absence of a red flag means nothing);
4. turn each matched phrase into one mention per finding code, with a certainty from its
   ConText modifiers, and resolve the value for the code's time policy
   ("I had cancer years ago" is cancer history; "I had numbness years ago" says nothing
   about numbness now; "my dad had cancer" says nothing about the patient);
5. keep anchors ("my bladder") only when denied ("my bladder is fine"), and side words only
   next to a leg symptom; add implied findings (foot drop is leg weakness); left + right is
   both legs;
6. read the numbers: durations go to the symptom they are written next to (bladder, bowel,
   saddle, sexual or both-leg symptoms date ``cauda_equina_symptoms_days``), pain scores to
   the nearest back or leg mention, ages unless they belong to someone else; such a
   symptom dated 14 days or less ("since yesterday", "last night") is also
   ``ces_symptom_recent``;
7. find the danger words (``danger_words.yaml``) that no finding in their sentence explains
   and that are not themselves denied ("no blood"): ``unresolved_danger_words``, and the
   problem ``"danger_words"``; in a text that is not understood every danger word found
   is left unresolved (the context rules are English).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from backpath.errors import NarrativeError
from backpath.intake import NarrativeFinding
from backpath.nlp._fast import get_fast_reader
from backpath.nlp._knowledge import (
    VITAL_KINDS,
    DangerEntry,
    NlpKnowledge,
    TargetEntry,
    all_phrases,
    load_nlp_knowledge,
)
from backpath.nlp._language import (
    NOT_READ_PROBLEM,
    READER_LANGUAGES,
    check_coverage,
    identify_language,
    measure_text,
    mixed_with,
    not_read_note,
    reader_vocabulary,
    text_normaliser,
)
from backpath.nlp._normalise import check_text, normalise
from backpath.nlp._patterns import phrase_words
from backpath.nlp._pipeline import (
    DANGER_GROUP,
    IGNORE_SUFFIX,
    MEASURE_GROUP,
    TARGET_GROUP,
    get_pipeline,
)
from backpath.nlp._spelling import (
    SPANISH_ONE_LETTER_WORDS,
    SPANISH_SOUND_ALIKE,
    Speller,
    reader_phrases,
    stop_words,
)
from backpath.nlp._values import parse_age, parse_duration, parse_measured, parse_pain_score
from backpath.vocabulary import FindingValue

MAX_NARRATIVE_CHARS = 20_000
# The problem a reading reports when danger words are left unexplained (the triage engine
# looks for exactly this string); the words are in ``unresolved_danger_words``.
DANGER_WORDS_PROBLEM = "danger_words"
# A bladder, bowel, saddle, sexual or both-leg symptom dated this many days or fewer is
# ``ces_symptom_recent`` ("began or got worse in the last 14 days").
CES_RECENT_DAYS = 14
CES_RECENT_CODE = "ces_symptom_recent"
CERTAINTIES = ("affirmed", "negated", "uncertain", "historical", "hypothetical", "family")

# ConText categories, strongest first: a mention about someone else says nothing about the
# patient whatever else modifies it; a denial beats "was checked for" ("the doctor checked
# for foot drop and found none"); a hypothetical beats the remaining ones.
_PRECEDENCE = (
    ("FAMILY", "family"),
    # "I'm not sure if I can't feel it", "I wouldn't say I don't have numbness": a doubt
    # about a denial is not a denial.
    ("DOUBT", "doubt"),
    ("NEGATED_EXISTENCE", "negated"),
    ("HYPOTHETICAL", "hypothetical"),
    ("HISTORICAL", "historical"),
    ("POSSIBLE_EXISTENCE", "uncertain"),
    ("RECENT_PAST", "recent"),
)
_LEG_SIDE_CODES = ("pain_side",)
_UNIT_AFTER_AGE = frozenset(
    {"kg", "kilos", "stone", "st", "lbs", "lb", "pounds", "foot", "ft", "feet", "cm", "inches",
     "%", "percent", "weeks", "week", "days", "day", "months", "month", "hours", "minutes",
     "mins", "times", "out", "/", "miles", "metres", "meters", "yards", "steps", "mg", "degrees",
     "pm", "am", "o'clock"}
)  # fmt: skip


@dataclass(frozen=True)
class NarrativeReading:
    """What the reader understood from one narrative.

    ``findings`` lists every mention in text order, each with its evidence span; a finding
    whose ``value`` is None was mentioned but says nothing about the patient now (family
    history, a hypothetical, a long-past symptom). ``understood`` is False when the text is
    empty or not English: then a missing red flag must be treated as *not ruled out*.
    ``problems`` says, in plain words, what could not be read.
    ``unresolved_danger_words``: words that can signal a serious problem ("blood",
    "collapsed", "sangre") which no finding in their sentence explains and which are not
    denied (in a text that is not understood: every one found), in text order,
    lower-cased; when there are any, ``problems`` holds ``"danger_words"`` (and a
    plain-words note naming them).
    """

    findings: list[NarrativeFinding]
    understood: bool
    language: str
    problems: list[str] = field(default_factory=list)
    unresolved_danger_words: tuple[str, ...] = ()

    def answers(self) -> dict[str, FindingValue]:
        """One value per code, resolved conservatively (safety first).

        A red flag affirmed anywhere wins over a denial elsewhere; pain scores take the
        highest; ``cauda_equina_symptoms_days`` takes the lowest (the more urgent reading)
        and ``duration_days`` the highest; left and right together make ``both``.
        """
        by_code: dict[str, list[FindingValue]] = {}
        for finding in self.findings:
            if finding.value is not None:
                by_code.setdefault(finding.code, []).append(finding.value)
        out: dict[str, FindingValue] = {}
        for code, values in by_code.items():
            out[code] = _resolve(code, values)
        return out


def _resolve(code: str, values: list[FindingValue]) -> FindingValue:
    """Combine several mentions of one code into one value (see ``answers``)."""
    if all(isinstance(v, bool) for v in values):
        return any(values)
    if code == "pain_side":
        sides = set(values)
        if "both" in sides or {"left", "right"} <= sides:
            return "both"
        return next(v for v in values if isinstance(v, str))
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if numbers:
        if code == "cauda_equina_symptoms_days":
            return min(numbers)
        if code in ("duration_days", "pain_back_nrs", "pain_leg_nrs"):
            return max(numbers)
        return numbers[0]
    return values[0]


@dataclass
class _Mention:
    """One finding code read from one phrase, before it becomes a ``NarrativeFinding``."""

    code: str
    value: FindingValue
    certainty: str
    start: int  # token index
    end: int
    sentence: int  # ordinal of the sentence in the narrative
    entry: TargetEntry | None = None
    kind: str = "target"  # target | duration | pain_score | age | derived | blocker
    remote: bool = False  # modified by a remote-past trigger ("years ago")
    recent_days: int | None = None  # days its recent-past trigger names ("yesterday": 1)


def _sentence_index(doc: Any) -> list[int]:
    """The ordinal of the sentence each token belongs to (the fast reader's documents
    keep it once made)."""
    made = getattr(doc, "sentence_index", None)
    if made is not None:
        return list(made())
    index: list[int] = []
    for ordinal, sentence in enumerate(doc.sents):
        index.extend([ordinal] * len(sentence))
    return index


# Categories about someone else that describe the patient when the narrative is written
# for them (a carer writing "my wife is confused"); otherwise they are someone else, as
# FAMILY is. FAMILY itself ("runs in the family", "died of") is never the patient.
_OTHER_PERSON = frozenset({"OTHER_PERSON", "OTHER_NOW"})
_SOMEONE_ELSE = _OTHER_PERSON | {"FAMILY"}
# Tokens either side of a symptom in which a first-person word makes it the writer's own
# (``_written_for_someone``): about a clause.
_OWN_WORD_WINDOW = 6


def _certainty(categories: Iterable[str], written_for: bool = False) -> str:
    """The strongest certainty among ConText categories. ``written_for``: the narrative is
    written for the person it talks about, so OTHER_PERSON / OTHER_NOW mean the patient."""
    found = set(categories)
    if found & _OTHER_PERSON:
        found -= _OTHER_PERSON
        if not written_for:
            found.add("FAMILY")
    for category, name in _PRECEDENCE:
        if category in found:
            return name
    return "affirmed"


def _boolean_value(certainty: str, time: str) -> tuple[FindingValue, str]:
    """Value and public certainty of a yes/no finding, given the code's time policy."""
    if certainty in ("family", "hypothetical"):
        return None, certainty
    if certainty == "negated":
        return False, "negated"
    if certainty == "doubt":
        return True, "uncertain"
    if certainty == "historical":
        return (True, "historical") if time == "history" else (None, "historical")
    if certainty == "recent":
        return (True, "affirmed") if time == "symptom" else (True, "historical")
    return True, certainty


def _recent_days(doc: Any, span: Any, today: dt.date | None, language: str = "en") -> int | None:
    """The fewest days a recent-past trigger of ``span`` names ("yesterday" 1, "last week"
    7), or None when it names none that can be counted ("recently")."""
    days: list[int] = []
    for modifier in span._.modifiers:
        if modifier.category != "RECENT_PAST":
            continue
        start, end = modifier.modifier_span
        duration = parse_duration(measure_text(language, doc[start:end].text), today)
        if duration is not None and duration.days is not None:
            days.append(duration.low if duration.low is not None else duration.days)
    return min(days) if days else None


def _is_anchor(entry: TargetEntry | None) -> bool:
    """An entry that is not a finding by itself: an anchor or a blocker."""
    return entry is not None and (entry.only_when_negated or entry.blocker)


def _target_mentions(
    doc: Any,
    knowledge: NlpKnowledge,
    entries: dict[str, TargetEntry],
    today: dt.date | None = None,
    written_for: bool = False,
) -> list[_Mention]:
    raw: list[_Mention] = []
    sentences = _sentence_index(doc)
    for span in doc.spans[TARGET_GROUP]:
        entry = entries[span.label_]
        categories = [modifier.category for modifier in span._.modifiers]
        # (Most phrases have no modifier: affirmed, as ``_certainty`` of nothing.)
        certainty = _certainty(categories, written_for) if categories else "affirmed"
        sentence = sentences[span.start]
        remote = "HISTORICAL" in categories
        # A recent time dates the mention whatever else modifies it: "I think I wet the bed
        # last night" is hedged (uncertain) and still recent (``_apply_recent_ces``).
        recent = (
            _recent_days(doc, span, today, knowledge.language)
            if "RECENT_PAST" in categories
            else None
        )
        for code in entry.codes:
            raw.append(
                _Mention(
                    code,
                    None,
                    certainty,
                    span.start,
                    span.end,
                    sentence,
                    entry,
                    remote=remote,
                    recent_days=recent,
                )
            )
    # The longest phrase wins among overlapping phrases for the same code ("can't empty my
    # bladder" beats the anchor "bladder"); a real phrase beats an anchor of equal length.
    raw.sort(key=lambda m: (-(m.end - m.start), _is_anchor(m.entry), m.start))
    kept: list[_Mention] = []
    kept_by_code: dict[str, list[_Mention]] = {}
    for mention in raw:
        same_code = kept_by_code.setdefault(mention.code, [])
        if any(other.start < mention.end and mention.start < other.end for other in same_code):
            continue
        kept.append(mention)
        same_code.append(mention)
    resolved: list[_Mention] = []
    for mention in kept:
        if mention.entry is None:
            continue
        entry = mention.entry
        if entry.blocker:
            # Never a finding; kept (without a value) only so that a duration written inside
            # it ("a baby 3 years ago") dates it and not the back pain.
            mention.value, mention.kind = None, "blocker"
            resolved.append(mention)
            continue
        if entry.only_when_negated and mention.certainty != "negated":
            continue
        if entry.only_when_negated and any(
            other.entry is not None
            and not _is_anchor(other.entry)
            and other.code not in entry.codes
            and other.start <= mention.start
            and mention.end <= other.end
            and (other.end - other.start) > (mention.end - mention.start)
            for other in kept
        ):
            # An anchor inside a longer phrase about another finding: "no blood in my pee"
            # denies blood in the urine, not every bladder symptom.
            continue
        if entry.yields_to and any(
            other.code in entry.yields_to
            and other.start <= mention.start
            and mention.end <= other.end
            and other.code != mention.code
            and (
                (other.end - other.start) > (mention.end - mention.start)
                # An equally long phrase wins only if it does not yield back (two codes
                # named by one anchor phrase must not cancel each other out).
                or (
                    (other.end - other.start) == (mention.end - mention.start)
                    and mention.code not in (other.entry.yields_to if other.entry else ())
                )
            )
            for other in kept
        ):
            continue
        ftype = knowledge.finding_types.get(mention.code)
        if entry.denies and entry.value is None:
            # The phrase itself is a denial ("I can feel the toilet paper fine"): it says
            # no when affirmed, and nothing when negated, hedged or about someone else;
            # doubted ("I'm not sure if I can feel the toilet paper") it is a possible
            # symptom, never a "no".
            if mention.certainty == "doubt":
                mention.value, mention.certainty = True, "uncertain"
                resolved.append(mention)
            elif mention.certainty in ("affirmed", "recent", "uncertain"):
                mention.value, mention.certainty = False, "negated"
                resolved.append(mention)
            continue
        if entry.value is not None:
            # A side or other choice phrase ("both legs", "left leg"): its yes/no codes
            # follow the choice, so "no weakness in my legs" denies nothing about sides.
            public = {"recent": "affirmed", "doubt": "uncertain"}.get(
                mention.certainty, mention.certainty
            )
            if public in ("affirmed", "uncertain"):
                mention.value = entry.value if ftype != "boolean" else True
            else:
                mention.value = None
            mention.certainty = public
        else:
            mention.value, mention.certainty = _boolean_value(
                mention.certainty, knowledge.policy(mention.code).time
            )
            if entry.suggests and mention.value is True and mention.certainty == "affirmed":
                # "My period is 2 weeks late": a possible pregnancy, still a yes.
                mention.certainty = "uncertain"
        resolved.append(mention)
    return resolved


# "I haven't wet myself... but I did once": a concession after a denial, with the verb
# left out, takes the denial back (issue 11).
_CONCESSIVE = frozenset(
    {"but", "though", "although", "however", "well", "actually", "yet",
     # Spanish: "No he tenido escapes. Bueno, una vez sí"
     "pero", "aunque", "bueno"}
)  # fmt: skip
_CONCESSIVE_SUBJECTS = frozenset({"i", "it", "that", "this", "there", "they"})
_CONCESSIVE_VERBS = frozenset({"did", "do", "does", "have", "has", "had", "was", "is", "am"})
_CLAUSE_ENDS = frozenset(
    {"once", "twice", "actually", "recently", "yesterday", "today", "sometimes", "lately",
     "occasionally", "earlier", "before", "then", "too", "though", "a", "last", "this",
     "now", "again", "just", "the", "on", "when", "after", "at", "maybe", "slightly"}
)  # fmt: skip


_ELLIPTIC_HAVE = frozenset({"have", "had", "get", "got", "do"})
_ELLIPTIC_OBJECTS = frozenset({"one", "it", "some", "them", "that", "once", "twice"})
# "... but I did have an accident": the words between the verb and its own object.
_OBJECT_DETERMINERS = frozenset(
    {"a", "an", "one", "some", "the", "little", "bit", "of", "small", "tiny", "minor", "slight",
     "couple", "few", "another"}
)  # fmt: skip
# "I'm not short of breath... well, maybe a bit": a hedge standing for the denied clause.
_ELLIPTIC_HEDGES = frozenset({"maybe", "perhaps", "possibly", "probably"})
_HEDGE_DEGREES = frozenset(
    {"a", "bit", "little", "tad", "slightly", "sometimes", "once", "occasionally", "just",
     "now", "and", "then"}
)  # fmt: skip
# What may follow the elliptic hedge: the clause ends or says when ("... when I lie flat").
_AFTER_HEDGE = frozenset(
    {"when", "while", "whenever", "at", "in", "on", "after", "if", "sometimes", "lately",
     "recently", "today", "yesterday", "though", "too", "again", "now"}
)  # fmt: skip
# Spanish: "bueno, una vez sí", "pero alguna vez sí", "aunque a veces sí" (a yes), and
# "bueno, un poco", "bueno, a lo mejor algo" (a hedge standing for the denied clause).
_SPANISH_HOW_OFTEN = (
    ("una", "vez"), ("alguna", "vez"), ("algunas", "veces"), ("a", "veces"),
    ("un", "par", "de", "veces"), ("de", "vez", "en", "cuando"), ("un", "poco"),
    ("un", "poquito"), ("algo",), ("quizas",), ("quiza",), ("a", "lo", "mejor"),
    ("tal", "vez"), ("puede", "que"), ("igual",), ("creo", "que"), ("ahora", "que", "lo",
    "pienso"), ("la", "verdad"), ("en", "realidad"),
)  # fmt: skip
_SPANISH_YES = frozenset({"sí", "si"})
_SPANISH_HEDGED_ANSWERS = (
    ("un", "poco"), ("un", "poquito"), ("algo",), ("un", "poco", "quizas"),
    ("quizas", "un", "poco"), ("a", "lo", "mejor", "un", "poco"), ("a", "lo", "mejor", "algo"),
    ("puede", "que", "un", "poco"), ("tal", "vez", "un", "poco"), ("quizas",), ("a", "lo", "mejor"),
    ("tal", "vez"), ("puede", "ser"), ("igual", "un", "poco"),
)  # fmt: skip


def _skip_punct(doc: Any, index: int) -> int:
    """The first token at or after ``index`` that is not punctuation or space."""
    while index < len(doc) and (doc[index].is_punct or doc[index].is_space):
        index += 1
    return index


def _clause_ends_at(doc: Any, index: int) -> bool:
    """Whether the clause ends at token ``index`` (end of text, punctuation or space)."""
    return index >= len(doc) or doc[index].is_punct or doc[index].is_space


def _words_at(doc: Any, index: int, words: tuple[str, ...]) -> bool:
    """Whether the tokens from ``index`` are ``words`` (by norm)."""
    return index + len(words) <= len(doc) and all(
        doc[index + offset].norm_ == word for offset, word in enumerate(words)
    )


def _concession_at(doc: Any, index: int) -> tuple[str, int] | None:
    """What the concession starting after the concessive word at ``index`` says, and where
    its own object starts: ``("yes", -1)`` for an elliptic yes ("but I did", "bueno, una
    vez sí"), ``("hedge", -1)`` for an elliptic hedge ("well, maybe a bit", "bueno, un
    poco"), ``("object", i)`` for a yes with an object of its own starting at token ``i``
    ("actually I did have an accident"), or None."""
    subject = _skip_punct(doc, index + 1)
    if subject >= len(doc):
        return None
    # Spanish elliptic answers.
    for answer in _SPANISH_HEDGED_ANSWERS:
        if _words_at(doc, subject, answer) and _clause_ends_at(doc, subject + len(answer)):
            return "hedge", -1
    position = subject
    for words in _SPANISH_HOW_OFTEN:
        if _words_at(doc, position, words):
            position = _skip_punct(doc, position + len(words))
            break
    if (
        position < len(doc)
        and doc[position].norm_ in _SPANISH_YES
        and _clause_ends_at(doc, position + 1)
    ):
        return "yes", -1
    # English elliptic hedge.
    if doc[subject].norm_ in _ELLIPTIC_HEDGES:
        beyond = subject + 1
        while beyond < len(doc) and doc[beyond].norm_ in _HEDGE_DEGREES:
            beyond += 1
        if _clause_ends_at(doc, beyond) or doc[beyond].norm_ in _AFTER_HEDGE:
            return "hedge", -1
        return None
    verb = subject + 1
    if (
        verb >= len(doc)
        or doc[subject].norm_ not in _CONCESSIVE_SUBJECTS
        or doc[verb].norm_ not in _CONCESSIVE_VERBS
    ):
        return None
    after_index = verb + 1
    if after_index < len(doc) and doc[after_index].norm_ in _ELLIPTIC_HAVE:
        if after_index + 1 < len(doc) and doc[after_index + 1].norm_ in _ELLIPTIC_OBJECTS:
            after_index += 2  # "well, I did have one", "but I have had it"
        else:
            # "actually I did have an accident": the object may name what was denied.
            obj = after_index + 1
            while obj < len(doc) and doc[obj].norm_ in _OBJECT_DETERMINERS:
                obj += 1
            return ("object", obj) if obj < len(doc) else None
    after = doc[after_index] if after_index < len(doc) else None
    if after is not None and not (
        after.is_punct or after.is_space or after.norm_ in _CLAUSE_ENDS
    ):
        return None
    return "yes", -1


def _apply_concessive(
    doc: Any, mentions: list[_Mention], entries: dict[str, TargetEntry] | None = None
) -> list[_Mention]:
    """A denial taken back by a concession is a yes: "I don't think I've wet myself, but I
    did" / "no leaks - well, I did once" / "No he tenido escapes. Bueno, una vez sí"; a
    hedge standing for the denied clause makes it an uncertain yes ("I'm not short of
    breath... well, maybe a bit"). The denial must be in the same sentence or the one
    before. The concession's verb must stand alone ("but I did leak a bit" is read as a
    finding of its own), unless its object is an anchor of the denied code, a word that
    names the topic only ("Bowels are fine. Actually I did have an accident": an accident
    is a bowel or bladder word), which takes back the denials of that code."""
    if not any(m.value is False for m in mentions):
        return mentions
    sentences = _sentence_index(doc)
    for index, token in enumerate(doc):
        if token.norm_ not in _CONCESSIVE:
            continue
        concession = _concession_at(doc, index)
        if concession is None:
            continue
        kind, obj = concession
        sentence = sentences[index]
        denied = [
            m
            for m in mentions
            if m.value is False
            and m.kind == "target"
            and m.end <= index
            and sentence - 1 <= m.sentence <= sentence
        ]
        if not denied:
            continue
        if kind == "object":
            named = {
                code
                for span in doc.spans[TARGET_GROUP]
                if span.start == obj
                and entries is not None
                and span.label_ in entries
                # A real phrase is read as a finding of its own ("but I do have a bit of
                # tingling in my bum" is the saddle, not the denied leg numbness).
                and entries[span.label_].only_when_negated
                for code in entries[span.label_].codes
            }
            for mention in denied:
                if mention.code in named:
                    mention.value, mention.certainty = True, "affirmed"
            continue
        last = max(denied, key=lambda m: m.end)
        for mention in denied:
            if (mention.start, mention.end) == (last.start, last.end):
                mention.value = True
                mention.certainty = "uncertain" if kind == "hedge" else "affirmed"
    return mentions


# "It's not that I can't feel the paper, it just feels duller": a litotes denies only a
# total loss, and the clause after it, with the body part left out, says the feeling is
# changed.
_LITOTES = (("not", "that"), ("not", "like"), ("not", "as", "if"))
_LITOTES_REACH = 3  # words between the litotes and the denied phrase ("not that I can't")
_CHANGE_SUBJECTS = frozenset({"it", "that", "this", "they", "things", "everything"})
_CHANGE_OPENERS = frozenset({",", "but", ";", "-"})
_CHANGE_FILLERS = frozenset(
    {"just", "only", "still", "really", "kind", "sort", "of", "a", "bit", "little", "lot",
     "definitely", "does", "do", "'s", "is", "are", "was", "feels", "feel", "felt", "seems",
     "seem", "seemed", "gets", "got", "has", "have", "gone", "become", "much", "more", "far"}
)  # fmt: skip
_CHANGED_FEELING = frozenset(
    {"duller", "dull", "numb", "numbish", "numbed", "muffled", "different", "weird",
     "strange", "odd", "funny", "fainter", "faint", "less", "deadened", "tingly", "fuzzy",
     "reduced", "weaker", "weak", "slower", "slow", "dead"}
)  # fmt: skip


def _apply_litotes_change(doc: Any, mentions: list[_Mention]) -> list[_Mention]:
    """A phrase denied by a litotes ("it's not that I can't feel the paper") is an
    uncertain yes when the next clause of its sentence, with a pronoun for the body part,
    says the feeling is changed ("..., it just feels duller than it used to")."""
    if not any(m.value is False for m in mentions):
        return mentions
    sentences = _sentence_index(doc)
    for mention in mentions:
        if mention.value is not False or mention.kind != "target":
            continue
        opened = any(
            _words_at(doc, start, words)
            and sentences[start] == mention.sentence
            and 0 <= mention.start - (start + len(words)) <= _LITOTES_REACH
            for words in _LITOTES
            for start in range(max(0, mention.start - _LITOTES_REACH - 3), mention.start)
        )
        if not opened:
            continue
        for subject in range(mention.end + 1, min(len(doc), mention.end + 4)):
            if sentences[subject] != mention.sentence:
                break
            if (
                doc[subject].norm_ not in _CHANGE_SUBJECTS
                or doc[subject - 1].norm_ not in _CHANGE_OPENERS
            ):
                continue
            word = subject + 1
            while word < len(doc) and doc[word].norm_ in _CHANGE_FILLERS:
                word += 1
            if word < len(doc) and doc[word].norm_ in _CHANGED_FEELING:
                mention.value, mention.certainty = True, "uncertain"
            break
    return mentions


# "Numbness down there? Not that I've noticed.": a short denial answering the person's own
# question takes back what the question named (issue 11).
_REPLY_DENIALS = (
    ("not", "that"), ("not", "really"), ("not", "as", "far"), ("nope",), ("nah",), ("no",),
    ("none",), ("never",),
)  # fmt: skip


def _apply_replies(doc: Any, mentions: list[_Mention]) -> list[_Mention]:
    """A hedged mention in a question ("Numbness down there?") is denied by the next
    sentence when that sentence is a short "no" ("No.", "Nope", "Not really", "Not that I've
    noticed"). A "no" that starts a statement ("No fever though") is not a reply."""
    sentences = list(doc.sents)
    for ordinal, (question, answer) in enumerate(itertools.pairwise(sentences)):
        words = [token for token in question if not token.is_space]
        if not words or words[-1].text != "?":
            continue
        reply = [token for token in answer if not token.is_space]
        norms = tuple(token.norm_ for token in reply)
        denial = next((d for d in _REPLY_DENIALS if norms[: len(d)] == d), None)
        if denial is None:
            continue
        if len(denial) == 1 and len(reply) > 1 and not reply[1].is_punct:
            continue  # "No fever though": a statement, not an answer
        for mention in mentions:
            if (
                mention.sentence == ordinal
                and mention.value is True
                and mention.certainty == "uncertain"
                and mention.kind == "target"
            ):
                mention.value, mention.certainty = False, "negated"
    return mentions


def _apply_nearby(mentions: list[_Mention]) -> list[_Mention]:
    """Drop mentions whose entry needs a code that is not mentioned close by.

    Close by is the same sentence or the one just before or after ("I have sciatica.
    Only the left side."). A denied nearby mention does not meet the need of a finding
    that is there: purple spots spreading beside "no fever" are not the rash of sepsis,
    and "never happened before" beside "no bladder trouble" dates nothing. It still
    meets a need that only asks for the topic (the entry reads the needed code itself:
    "... ni las nalgas" after "no siento nada"; "lo siento como con un guante" about the
    saddle area), and the need of a mention that is itself denied.
    """
    out = []
    for mention in mentions:
        needs = mention.entry.needs_nearby if mention.entry else ()
        if needs and not any(
            other.code in needs
            and abs(other.sentence - mention.sentence) <= 1
            and _meets_need(other, mention)
            for other in mentions
            if other is not mention and other.kind != "blocker"
        ):
            continue
        out.append(mention)
    return out


def _meets_need(nearby: _Mention, mention: _Mention) -> bool:
    """Whether ``nearby`` (of a needed code) meets the ``needs_nearby`` of ``mention``."""
    if nearby.value is not False:
        return True
    own = mention.entry.codes if mention.entry else ()
    return mention.value is False or nearby.code in own


def _apply_implications(mentions: list[_Mention], knowledge: NlpKnowledge) -> list[_Mention]:
    """Add the codes a true finding implies (foot drop -> leg weakness), same evidence."""
    added = []
    for mention in mentions:
        if mention.value is True:
            for implied in knowledge.policy(mention.code).implies:
                added.append(
                    _Mention(
                        implied,
                        True,
                        mention.certainty,
                        mention.start,
                        mention.end,
                        mention.sentence,
                        None,
                        "derived",
                    )
                )
    return mentions + added


def _apply_recent_ces(mentions: list[_Mention], knowledge: NlpKnowledge) -> list[_Mention]:
    """A bladder, bowel, saddle, sexual or both-leg symptom said with a recent-past time of
    14 days or less ("I wet myself last night") is also ``ces_symptom_recent``."""
    added = []
    for mention in mentions:
        if (
            mention.value is True
            and mention.recent_days is not None
            and mention.recent_days <= CES_RECENT_DAYS
            and knowledge.policy(mention.code).duration == "cauda_equina"
        ):
            added.append(
                _Mention(
                    CES_RECENT_CODE,
                    True,
                    mention.certainty,
                    mention.start,
                    mention.end,
                    mention.sentence,
                    None,
                    "derived",
                )
            )
    return mentions + added


def _apply_sides(mentions: list[_Mention]) -> list[_Mention]:
    """A left-leg and a right-leg mention together are symptoms in both legs."""
    sides = [m for m in mentions if m.code in _LEG_SIDE_CODES and m.value in ("left", "right")]
    if {m.value for m in sides} != {"left", "right"}:
        return mentions
    later = max(sides, key=lambda m: m.start)
    derived = [
        _Mention(
            "pain_side",
            "both",
            later.certainty,
            later.start,
            later.end,
            later.sentence,
            None,
            "derived",
        ),
        _Mention(
            "bilateral_leg_symptoms",
            True,
            later.certainty,
            later.start,
            later.end,
            later.sentence,
            None,
            "derived",
        ),
    ]
    return mentions + derived


def _measure_certainty(doc: Any, span: Any, written_for: bool = False) -> str:
    graph = doc._.context_graph
    categories = [m.category for m in (graph.modifiers if graph else []) if m.modifies(span)]
    return _certainty(categories, written_for)


def _own_certainty(doc: Any, span: Any, written_for: bool = False) -> str:
    """The certainty ConText gives a span that is not one of its targets, ignoring triggers
    inside the span itself: the "n't" of "legs won't move" does not deny it. (medspaCy's
    own overlap test misses a trigger lying strictly inside the span.)"""
    graph = doc._.context_graph
    categories = [
        m.category
        for m in (graph.modifiers if graph else [])
        if not (m.modifier_span[0] < span.end and span.start < m.modifier_span[1])
        and m.modifies(span)
    ]
    return _certainty(categories, written_for)


def _distance(start: int, end: int, mention: _Mention) -> tuple[int, int]:
    """Token distance between a measure and a mention; ties prefer the mention before it."""
    if mention.end <= start:
        return start - mention.end, 0
    if mention.start >= end:
        return mention.start - end, 1
    return 0, 0


def _nearest(start: int, end: int, candidates: list[_Mention]) -> list[_Mention]:
    """The closest mentions, plus any that overlap them ("both of my feet have gone numb")."""
    if not candidates:
        return []
    best = min(_distance(start, end, m) for m in candidates)
    nearest = [m for m in candidates if _distance(start, end, m) == best]
    linked = [
        m
        for m in candidates
        if m not in nearest and any(m.start < n.end and n.start < m.end for n in nearest)
    ]
    return nearest + linked


def _measure_mentions(
    doc: Any,
    evidence_of: Callable[[int, int], str],
    knowledge: NlpKnowledge,
    mentions: list[_Mention],
    today: dt.date | None,
    problems: list[str],
    written_for: bool = False,
) -> list[_Mention]:
    kinds = {entry.id: entry.kind for entry in knowledge.measures}
    spans = sorted(doc.spans[MEASURE_GROUP], key=lambda s: (s.start, -(s.end - s.start)))
    # Longest match wins among overlapping measure phrases of the same kind.
    chosen: list[Any] = []
    for span in sorted(spans, key=lambda s: -(s.end - s.start)):
        kind = kinds[span.label_]
        if any(
            kinds[o.label_] == kind and o.start < span.end and span.start < o.end for o in chosen
        ):
            continue
        chosen.append(span)
    positive = [
        m for m in mentions if m.value not in (None, False) and m.kind in ("target", "derived")
    ]
    # Any mention can anchor a duration: "pneumonia ten years ago" dates the pneumonia
    # (and so nothing), even though the pneumonia itself says nothing about now.
    anchors = [
        m for m in mentions if m.value is not False and m.kind in ("target", "derived", "blocker")
    ]
    sentences = _sentence_index(doc)
    out: list[_Mention] = []
    for span in sorted(chosen, key=lambda s: s.start):
        kind = kinds[span.label_]
        certainty = _measure_certainty(doc, span, written_for)
        if kind == "duration" and certainty == "family":
            # "three weeks ago I was helping my son move" still dates the patient's pain.
            certainty = "affirmed"
        if certainty in ("family", "hypothetical", "negated"):
            continue
        public = (
            "affirmed"
            if certainty in ("recent", "affirmed", "historical")
            else {"doubt": "uncertain"}.get(certainty, certainty)
        )
        sentence = sentences[span.start]
        evidence = evidence_of(span.start_char, span.end_char)
        if kind == "duration":
            duration = parse_duration(measure_text(knowledge.language, span.text), today)
            if duration is None:
                continue
            if duration.days is None:
                problems.append(
                    f"{evidence!r} needs today's date to count the days; it was not counted"
                )
                continue
            in_sentence = [m for m in anchors if m.sentence == sentence]
            nearest = _nearest(span.start, span.end, in_sentence)
            if nearest and all(m.remote for m in nearest):
                # "I've had this before, about five years ago": dates a past episode.
                continue
            roles = {knowledge.policy(m.code).duration for m in nearest} or {"episode"}
            if "cauda_equina" in roles:
                days = duration.low if duration.low is not None else duration.days
                out.append(
                    _Mention(
                        "cauda_equina_symptoms_days",
                        days,
                        public,
                        span.start,
                        span.end,
                        sentence,
                        None,
                        kind,
                    )
                )
                if days <= CES_RECENT_DAYS and any(
                    m.value is True and knowledge.policy(m.code).duration == "cauda_equina"
                    for m in nearest
                ):
                    out.append(
                        _Mention(
                            CES_RECENT_CODE,
                            True,
                            public,
                            span.start,
                            span.end,
                            sentence,
                            None,
                            "derived",
                        )
                    )
            if "episode" in roles:
                days = duration.high if duration.high is not None else duration.days
                out.append(
                    _Mention(
                        "duration_days", days, public, span.start, span.end, sentence, None, kind
                    )
                )
        elif kind == "pain_score":
            score = parse_pain_score(measure_text(knowledge.language, span.text))
            if score is None:
                continue
            sited = [m for m in positive if knowledge.policy(m.code).site is not None]
            nearest = _nearest(span.start, span.end, [m for m in sited if m.sentence == sentence])
            if not nearest:
                before = [m for m in sited if m.end <= span.start]
                nearest = [max(before, key=lambda m: m.end)] if before else []
            if not nearest:
                continue
            site = knowledge.policy(nearest[0].code).site
            code = "pain_back_nrs" if site == "back" else "pain_leg_nrs"
            out.append(_Mention(code, score, public, span.start, span.end, sentence, None, kind))
        elif kind == "age":
            following = doc[span.end].norm_ if span.end < len(doc) else ""
            age = parse_age(measure_text(knowledge.language, span.text))
            if age is None or following in _UNIT_AFTER_AGE:
                continue
            out.append(_Mention("age", age, public, span.start, span.end, sentence, None, kind))
        elif kind in VITAL_KINDS:
            # A measured sign counts only as it is now: "my BP was 80/50 years ago" or a
            # relative's reading (skipped above) says nothing about today.
            if certainty == "historical" or kind not in knowledge.finding_ranges:
                continue
            if span.start > 0 and doc[span.start - 1].text[:1].isdigit():
                continue  # "3 hr 20 min": the sign's short name was a unit after a number
            low, high = knowledge.finding_ranges[kind]
            value = parse_measured(kind, measure_text(knowledge.language, span.text), low, high)
            if value is None:
                continue
            out.append(_Mention(kind, value, public, span.start, span.end, sentence, None, kind))
    return out


@functools.lru_cache(maxsize=1)
def _english_vocabulary() -> frozenset[str]:
    knowledge = load_nlp_knowledge()
    words = phrase_words(all_phrases(knowledge.targets), knowledge.macros)
    words |= phrase_words(all_phrases(knowledge.context), knowledge.macros)
    words |= phrase_words(all_phrases(knowledge.measures), knowledge.macros)
    english_danger = [entry for entry in knowledge.danger_words if entry.language == "en"]
    words |= phrase_words(all_phrases(english_danger), knowledge.macros)
    words |= phrase_words(
        [phrase for entry in english_danger for phrase in entry.ignore_in], knowledge.macros
    )
    for macro in knowledge.macros.values():
        words |= phrase_words([macro], {})
    return frozenset(words) | knowledge.english_words


# Codes whose phrases' words the speller corrects towards: the red flags, and leg numbness
# (numb legs on both sides are a red flag).
_SPELLED_CODES = frozenset({"leg_numbness"})


@functools.cache
def get_speller(language: str = "en") -> Speller:
    """The speller of a reader language (built once): see ``_spelling``."""
    if language != "en":
        return _spanish_speller(language)
    from spacy.lang.en.stop_words import STOP_WORDS

    knowledge = load_nlp_knowledge()
    tokenizer: Any = get_pipeline().tokenizer
    # "dont", "cant", "wouldnt" ...: spaCy's contractions written without the apostrophe.
    contractions = {key.lower() for key in tokenizer.rules if key.isalpha()}
    known = _english_vocabulary() | STOP_WORDS | contractions | knowledge.not_typos
    spelled = knowledge.red_flag_codes | _SPELLED_CODES
    red_flag_entries = [
        entry
        for entry in knowledge.targets
        if set(entry.codes) & spelled and not entry.blocker and not entry.only_when_negated
    ]
    targets = phrase_words(all_phrases(red_flag_entries), knowledge.macros)
    # The words of the language: a word known only from the lexicon may be a misspelling
    # a phrase lists ("swolen"), read as the word meant where that keeps every reading.
    dictionary = knowledge.english_words | STOP_WORDS | contractions | knowledge.not_typos
    return Speller(
        known,
        targets,
        knowledge.corrections,
        dictionary=dictionary,
        phrases=reader_phrases(knowledge),
    )


def _spanish_speller(language: str) -> Speller:
    """The Spanish speller: words read without accents, the Spanish vocabulary, red-flag
    phrases and ``es/spelling.yaml``, and the Spanish slips (sound-alike letters, silent h)."""
    knowledge = load_nlp_knowledge(language)
    fold = text_normaliser(language)
    known = reader_vocabulary(language) | {fold(word) for word in knowledge.not_typos}
    spelled = knowledge.red_flag_codes | _SPELLED_CODES
    red_flag_entries = [
        entry
        for entry in knowledge.targets
        if set(entry.codes) & spelled and not entry.blocker and not entry.only_when_negated
    ]
    targets = {fold(word) for word in phrase_words(all_phrases(red_flag_entries), knowledge.macros)}
    corrections = {fold(written): fold(meant) for written, meant in knowledge.corrections.items()}
    # The words of the language (see ``get_speller``): everyday words, stop words, not_typos.
    dictionary = {fold(word.lower()) for word in knowledge.everyday_words | knowledge.not_typos}
    dictionary |= {fold(word) for word in stop_words(language)}
    return Speller(
        known,
        targets,
        corrections,
        fold=fold,
        sound_alike=SPANISH_SOUND_ALIKE,
        silent_h=True,
        one_letter_words=SPANISH_ONE_LETTER_WORDS,
        dictionary=dictionary,
        phrases=reader_phrases(knowledge, fold),
    )


# ConText compares every modifier with every target, so its cost grows with the square of
# a document's length; long narratives are read in chunks of whole sentences instead, which
# keeps the time linear (a 20,000-character narrative takes well under a second).
CHUNK_CHARS = 1500
_HARD_CHUNK_CHARS = 3000
_BOUNDARY = re.compile(r"[.!?;\n]+\s+|\n")


def _chunks(text: str) -> list[tuple[int, int]]:
    """Split ``text`` into (start, end) pieces of about CHUNK_CHARS, at sentence ends."""
    if len(text) <= CHUNK_CHARS:
        return [(0, len(text))]
    pieces: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        if len(text) - start <= CHUNK_CHARS:
            pieces.append((start, len(text)))
            break
        end = None
        for match in _BOUNDARY.finditer(text, start + CHUNK_CHARS // 2, start + _HARD_CHUNK_CHARS):
            end = match.end()
            if end - start >= CHUNK_CHARS:
                break
        if end is None:
            # A run-on text with no sentence end: cut at the last space before the limit.
            space = text.rfind(" ", start + CHUNK_CHARS // 2, start + _HARD_CHUNK_CHARS)
            end = space + 1 if space > start else start + _HARD_CHUNK_CHARS
        pieces.append((start, end))
        start = end
    return pieces


def _written_for_someone(
    docs: list[Any], knowledge: NlpKnowledge, entries: dict[str, TargetEntry]
) -> bool:
    """Whether the narrative is written by someone else *about the patient* (a carer, a
    relative), so that what it says about "my wife", "he" or "mi madre" is the patient's.

    It is, when the writer says so ("typing for my wife", "escribo por mi madre": a PROXY
    trigger), or when a relative is the subject of a current symptom - an OTHER_NOW trigger
    ("my wife is", "he says he", "mi madre está") or a relative named in the sentence of a
    symptom of the present (time policy ``symptom``: "my dad can't pee", "mi madre toma
    Sintrom y no puede orinar") or of an event not told as history (time policy ``event``:
    "my dad fell last night") - and the writer states no symptom of their own ("my
    daughter has a fever and I have back pain", "mi papá tiene incontinencia, yo solo vengo
    por mi ciática": a positive finding about nobody else in a sentence with a first-person
    word). A past illness of a relative ("my mum had cancer", "mi padre tuvo ...") never
    makes a narrative written for someone: cancer, osteoporosis and the other history codes
    are not symptoms of the present. A relative who *has* such an illness now ("my dad has
    prostate cancer") does, when a current symptom in the text is nobody's own words ("and
    now his back hurts at night"): the carer writes about that relative (H71).
    """
    evidence = False
    own_symptom = False
    # A relative who *has* an illness now ("my dad has prostate cancer", OTHER_NOW on a
    # history code) and a current symptom in nobody's words ("and now his back hurts at
    # night"): the text is about that relative too (knowledge 2026.12.9, H71).
    relative_has_illness = False
    unowned_symptom = False
    for doc in docs:
        graph = doc._.context_graph
        modifiers = list(graph.modifiers) if graph else []
        if any(m.category == "PROXY" for m in modifiers):
            return True
        others = [
            m.modifier_span
            for m in modifiers
            if m.category in _SOMEONE_ELSE or m.category == "PROXY"
        ]
        sentences = list(doc.sents)
        # Whether each sentence (by its first token) has a first-person word of the writer.
        first_person_in: dict[tuple[int, int], bool] = {}
        for span in doc.spans[TARGET_GROUP]:
            entry = entries.get(span.label_)
            if entry is None or entry.blocker:
                continue
            categories = {m.category for m in span._.modifiers}
            about_other = categories & _SOMEONE_ELSE
            if about_other:
                # A current symptom, or a recent event ("my dad fell last night", "mi mamá
                # se cayó en la bañera"): a carer tells what just happened to the patient.
                current = any(
                    knowledge.policy(code).time == "symptom"
                    or (knowledge.policy(code).time == "event" and "HISTORICAL" not in categories)
                    for code in entry.codes
                )
                # A relative as the subject of a current symptom anywhere in its sentence
                # ("mi madre toma Sintrom y no puede orinar", "a mi hijo de 13 le duele un
                # testículo"): the text is about them. Reading it so can only add findings
                # (the writer's own sentences are the patient's either way), never lose one.
                if current and any(m.category in _OTHER_PERSON for m in span._.modifiers):
                    evidence = True
                elif not current and "OTHER_NOW" in categories and "FAMILY" not in categories:
                    relative_has_illness = True
                continue
            if (
                entry.only_when_negated
                or entry.denies
                or categories & {"NEGATED_EXISTENCE", "HYPOTHETICAL", "HISTORICAL"}
            ):
                continue
            current_symptom = any(
                knowledge.policy(code).time == "symptom" for code in entry.codes
            )
            if own_symptom or (unowned_symptom and not current_symptom):
                continue  # already known: only more evidence can change the answer
            sentence = next(s for s in sentences if s.start <= span.start < s.end)
            # The writer's own word must be in the finding's clause: near it, within its
            # sentence. A text typed without stops is one long sentence, where a "me" far
            # away ("me habla de mi tata ... dice que le duele la espalda") says nothing
            # about who has the symptom.
            low = max(sentence.start, span.start - _OWN_WORD_WINDOW)
            high = min(sentence.end, span.end + _OWN_WORD_WINDOW)
            speaks = first_person_in.get((low, high))
            if speaks is None:
                speaks = first_person_in[(low, high)] = any(
                    doc[i].norm_ in knowledge.first_person
                    and not any(a <= i < b for a, b in others)
                    for i in range(low, high)
                )
            if speaks:
                own_symptom = True
            elif current_symptom:
                unowned_symptom = True
    return (evidence or (relative_has_illness and unowned_symptom)) and not own_symptom


def _read_doc(
    doc: Any,
    evidence_of: Callable[[int, int], str],
    knowledge: NlpKnowledge,
    entries: dict[str, TargetEntry],
    today: dt.date | None,
    problems: list[str],
    written_for: bool = False,
) -> list[_Mention]:
    """Every mention in one processed piece of the narrative (token offsets of ``doc``).
    ``written_for``: the narrative is written for the person it talks about."""
    mentions = _target_mentions(doc, knowledge, entries, today, written_for)
    mentions = _apply_concessive(doc, mentions, entries)
    mentions = _apply_litotes_change(doc, mentions)
    mentions = _apply_replies(doc, mentions)
    mentions = _apply_nearby(mentions)
    mentions = _apply_implications(mentions, knowledge)
    mentions = _apply_recent_ces(mentions, knowledge)
    mentions = _apply_sides(mentions)
    mentions += _measure_mentions(
        doc, evidence_of, knowledge, mentions, today, problems, written_for
    )
    return mentions


def _danger_words(
    doc: Any,
    mentions: list[_Mention],
    dangers: dict[str, DangerEntry],
    written_for: bool = False,
) -> tuple[list[str], list[str]]:
    """The danger words of one processed piece, lower-cased: (all found, unresolved).

    A danger word is resolved when it is itself denied ("no blood", "I'm not suicidal"), or
    when a finding named in its entry's ``explained_by`` has a value (yes or no) in the same
    sentence. A mention about someone else, a hypothetical or a remote past has no value,
    so it leaves the word unresolved: better a person reads the text.
    """
    spans = list(doc.spans[DANGER_GROUP])
    if not spans:
        return [], []
    ignored = [s for s in spans if s.label_.endswith(IGNORE_SUFFIX)]
    # The longest of overlapping danger phrases speaks for them ("me quiero morir", not
    # also "quiero morir"), once the phrases in which a word signals nothing are dropped.
    found: list[Any] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if span.label_ not in dangers or any(
            other.label_ == span.label_ + IGNORE_SUFFIX
            and other.start < span.end
            and span.start < other.end
            for other in ignored
        ):
            continue
        if not any(other.start < span.end and span.start < other.end for other in found):
            found.append(span)
    sentences = _sentence_index(doc)
    every: list[str] = []
    words: list[str] = []
    for span in sorted(found, key=lambda s: s.start):
        entry = dangers[span.label_]
        word = " ".join(span.text.split())
        every.append(word)
        if _own_certainty(doc, span, written_for) == "negated":
            continue
        sentence = sentences[span.start]
        if any(
            m.sentence == sentence
            and m.code in entry.explained_by
            and m.value is not None
            and m.kind != "blocker"
            for m in mentions
        ):
            continue
        words.append(word)
    return every, words


def read_narrative(
    text: str, today: dt.date | None = None, language: str | None = None
) -> NarrativeReading:
    """Read a narrative and return every finding it mentions, with evidence spans.

    The narrative is matched by the fast reader (``_fast``); ``_read_reference`` reads it
    with the spaCy + medspaCy pipeline instead, and the two must agree on every corpus
    narrative (``tests/nlp/test_fast_equivalence.py``). The rest of this docstring holds
    for both.

    ``today`` is needed only for calendar durations ("since Monday"); without it such a
    phrase is reported in ``problems`` and not guessed. ``language`` is the language given
    with the narrative (the intake's): it decides only when the text itself does not
    (``_language.identify_language``); the text is read by the English or the Spanish
    reader, and a text in another language is *not read*. Raises ``NarrativeError`` for text
    that is not a string or is longer than ``MAX_NARRATIVE_CHARS`` characters.
    """
    return _read(text, today, language, reference=False)


def _read_reference(
    text: str, today: dt.date | None = None, language: str | None = None
) -> NarrativeReading:
    """``read_narrative`` through the spaCy + medspaCy pipeline (``_pipeline``): the
    reference the fast reader is checked against. Same arguments, same result."""
    return _read(text, today, language, reference=True)


@functools.cache
def _entries_by_id(language: str) -> tuple[dict[str, TargetEntry], dict[str, DangerEntry]]:
    """The target and danger-word entries of a reader language by id (made once)."""
    knowledge = load_nlp_knowledge() if language == "en" else load_nlp_knowledge(language)
    return (
        {entry.id: entry for entry in knowledge.targets},
        {entry.id: entry for entry in knowledge.danger_words},
    )


def _read(
    text: str, today: dt.date | None, language: str | None, reference: bool
) -> NarrativeReading:
    """``read_narrative``; ``reference``: match with the spaCy + medspaCy pipeline."""
    if not isinstance(text, str):
        raise NarrativeError(f"a narrative must be text, not {type(text).__name__}")
    check_text(text)
    if len(text) > MAX_NARRATIVE_CHARS:
        raise NarrativeError(
            f"the narrative is {len(text):,} characters long; the limit is "
            f"{MAX_NARRATIVE_CHARS:,}. Please shorten it to the symptoms that matter."
        )
    if not text.strip():
        return NarrativeReading([], False, "und", ["the narrative is empty"])
    guess = identify_language(text, language)
    # A text in a language with no reader is still searched by the English reader: an
    # English red flag in it still counts ("no puedo orinar, can't pee").
    reader = guess.reader or "en"
    findings, problems, words, danger_found, danger_words = _read_as(text, today, reader, reference)
    # Code-switching ("tengo numbness en la pompis y no puedo hacer pee"): the other
    # reader reads the text too, and what it finds present is added. Only its "yes" and
    # its values count: a reader reading the other language's grammar can mistake a
    # clause for a denial ("no puedo hacer pee" read by the English reader), and unknown
    # is not "no". A "yes" from either reader stands (``answers``).
    other = mixed_with(words, reader) if guess.reader is not None else None
    if other is not None:
        more, _problems, _words, _found, more_unresolved = _read_as(text, today, other, reference)
        known = {(f.code, f.span, f.value) for f in findings}
        present = [
            f
            for f in more
            if f.value is not False
            and f.value is not None
            and (f.code, f.span, f.value) not in known
        ]
        findings.extend(present)
        # A danger word is placed when the other reader's finding covers it ("fiebre" in
        # "tengo fiebre" read by the Spanish reader); one neither reader placed is still
        # shown to a clinician.
        covered = " ".join(f.text.lower() for f in present)
        danger_words = [
            *(word for word in danger_words if word.lower() not in covered),
            *more_unresolved,
        ]
    coverage = check_coverage(words, reader)
    understood = guess.reader is not None and coverage.understood
    if not understood:
        problems[:0] = [NOT_READ_PROBLEM, not_read_note(guess, coverage)]
    # The context rules are the reader's: in a text it did not understand a "no" may not be
    # a denial ("nie mogę oddychać, no blood"), so every danger word found is left.
    unresolved = tuple(dict.fromkeys(danger_words if understood else danger_found))
    if unresolved:
        problems.append(DANGER_WORDS_PROBLEM)
        problems.append(
            "words that can signal a serious problem were not explained by any finding: "
            + ", ".join(repr(word) for word in unresolved)
            + "; a person should read the text"
        )
    detected = guess.language if guess.reader is None or coverage.share > 0 else "und"
    return NarrativeReading(findings, understood, detected, problems, unresolved)


def _read_as(
    text: str, today: dt.date | None, reader: str, reference: bool
) -> tuple[list[NarrativeFinding], list[str], list[str], list[str], list[str]]:
    """Read ``text`` with the reader of one language: its findings, problems, the words as
    that reader tokenized them, the danger words found, and those no finding explains."""
    knowledge = load_nlp_knowledge() if reader == "en" else load_nlp_knowledge(reader)
    nlp = get_pipeline() if reader == "en" else get_pipeline(reader)
    entries, dangers = _entries_by_id(reader)
    danger_found: list[str] = []
    danger_words: list[str] = []
    if reader == "en":
        normalised = normalise(text, get_speller())
    else:
        # Spanish is read without accents (same length, same map); the speller folds each
        # word the same way before it looks it up.
        normalised = normalise(text, get_speller(reader))
        normalised = replace(normalised, text=text_normaliser(reader)(normalised.text))
    pieces = _chunks(normalised.text)
    problems: list[str] = []
    words: list[str] = []
    findings: list[NarrativeFinding] = []
    seen: set[tuple[str, int, int, Any]] = set()
    docs: list[Any]
    if reference:
        docs = list(nlp.pipe(normalised.text[a:b] for a, b in pieces))
    else:
        fast = get_fast_reader(reader)
        docs = [fast(normalised.text[a:b]) for a, b in pieces]
    written_for = _written_for_someone(docs, knowledge, entries)
    for (offset, _end), doc in zip(pieces, docs, strict=True):

        def evidence_of(start: int, end: int, offset: int = offset) -> str:
            first, last = normalised.span(offset + start, offset + end)
            return text[first:last]

        words.extend(t.lower_ for t in doc if t.is_alpha)
        mentions = _read_doc(doc, evidence_of, knowledge, entries, today, problems, written_for)
        found, unresolved_here = _danger_words(doc, mentions, dangers, written_for)
        danger_found.extend(found)
        danger_words.extend(unresolved_here)
        for mention in sorted(mentions, key=lambda m: (m.start, m.end, m.code)):
            if mention.kind == "blocker":
                continue
            span_obj = doc[mention.start : mention.end]
            start, stop = normalised.span(offset + span_obj.start_char, offset + span_obj.end_char)
            key = (mention.code, start, stop, mention.value)
            if key in seen:
                continue
            seen.add(key)
            findings.append(
                NarrativeFinding(
                    code=mention.code,
                    value=mention.value,
                    certainty=mention.certainty,
                    text=text[start:stop],
                    span=(start, stop),
                )
            )
    return findings, problems, words, danger_found, danger_words


def warm_up(languages: Iterable[str] | None = None) -> dict[str, float]:
    """Build everything the reader needs before the first narrative arrives.

    For each reader language (default: all, ``READER_LANGUAGES``): its knowledge, its
    pipeline (built once under a lock, shared by every thread), and one reading, which also
    loads the English speller and lingua's language models. Safe to call from a background
    thread at start-up and more than once (later calls return almost at once). Returns the
    seconds each language took, for the start-up log.
    """
    seconds: dict[str, float] = {}
    samples = {"en": "My back hurts and my leg is numb.", "es": "Me duele la espalda y la pierna."}
    for language in languages if languages is not None else READER_LANGUAGES:
        if language not in READER_LANGUAGES:
            raise ValueError(
                f"no reader for language {language!r}; readers: {', '.join(READER_LANGUAGES)}"
            )
        started = time.perf_counter()
        get_pipeline(language)
        get_fast_reader(language)
        read_narrative(samples.get(language, "."), language=language)
        seconds[language] = time.perf_counter() - started
    return seconds
