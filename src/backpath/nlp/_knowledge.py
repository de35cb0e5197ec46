"""Load and validate the NLP knowledge: lexicon, measures, context rules, code policies.

The NLP knowledge is data in ``backpath/knowledge/nlp/`` (see ``docs/nlp.md``):

``lexicon/*.yaml``   ``targets``: phrases that mention a finding (``codes``), in the phrase
                     notation of ``_patterns``.
``measures.yaml``    ``measures``: phrases that carry a number (duration, pain score, age).
``context.yaml``     ``rules``: ConText modifiers (negation, uncertainty, past, family,
                     someone else / written for someone, hypothetical, terminations and
                     pseudo-triggers); ``first_person``: the words by which the writer
                     speaks of themselves.
``codes.yaml``       ``codes``: how time and implication work for each finding code.
``macros.yaml``      ``macros``: shared choices such as ``$CANT``.
``language.yaml``    ``english_words``: everyday English words for the language check.
``danger_words.yaml`` ``danger_words``: words that can signal a serious problem the
                     vocabulary may not capture ("blood", "collapsed", "sangre"); the reader
                     reports those that no finding explains.
``spelling.yaml``    ``corrections``: misspellings and slang spellings read as another word
                     ("cnat" -> "can't"); ``not_typos``: real words the fuzzy matcher must
                     never correct ("leaning" is not "leaking"); ``real_word_errors``
                     (optional): real words typed for another real word, read as that word
                     only next to the words that show it ("no ciento" -> "no siento").

``es/``               the Spanish reader (issue 11): its own ``macros.yaml``, ``lexicon/``,
                     ``measures.yaml``, ``context.yaml``, ``danger_words.yaml`` and
                     ``language.yaml`` (``words``: everyday Spanish words); ``codes.yaml``
                     is shared. ``load_nlp_knowledge("es")`` loads it.

Every file has a closed set of keys. Validation collects every problem as
``file: id: message`` (unknown finding codes, unknown keys, duplicate ids, phrases that do
not compile) so that ``backpath kb check`` can show them all at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from backpath.errors import KnowledgeError
from backpath.nlp._patterns import PhraseError, compile_phrase, literal_items, phrase_words

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
NLP_DIR = KNOWLEDGE_DIR / "nlp"
FINDINGS_FILE = KNOWLEDGE_DIR / "findings.yaml"

TimeKind = Literal["symptom", "event", "history"]
DurationRole = Literal["episode", "cauda_equina", "none"]
PainSite = Literal["back", "leg"]
MeasureKind = Literal[
    "duration",
    "pain_score",
    "age",
    "systolic_bp",
    "oxygen_saturation",
    "heart_rate",
    "respiratory_rate",
]

CONTEXT_CATEGORIES = frozenset(
    {
        "NEGATED_EXISTENCE",
        "POSSIBLE_EXISTENCE",
        "HISTORICAL",
        "RECENT_PAST",
        "HYPOTHETICAL",
        "FAMILY",
        # Someone else, unless the narrative is written for that person (a carer writing
        # about the patient): see ``_reader._written_for_someone``.
        "OTHER_PERSON",
        "OTHER_NOW",
        "PROXY",
        "TERMINATE",
        "PSEUDO",
        "COMMA",
        "DOUBT",
        "AFFIRM",
    }
)
CONTEXT_DIRECTIONS = frozenset({"FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"})

_TARGET_KEYS = frozenset(
    {
        "id",
        "codes",
        "phrases",
        "only_when",
        "needs_nearby",
        "value",
        "denies",
        "yields_to",
        "blocker",
        "suggests",
        "note",
    }
)
_DANGER_KEYS = frozenset({"id", "language", "phrases", "explained_by", "ignore_in", "note"})
# Languages a danger word may be written in: English and the languages the language check
# knows (their words are never counted as English).
DANGER_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl", "pl")
_MEASURE_KEYS = frozenset({"id", "kind", "phrases", "note"})
_CONTEXT_KEYS = frozenset(
    {"id", "category", "direction", "phrases", "max_scope", "terminated_by", "note"}
)
_CODE_KEYS = frozenset({"time", "implies", "duration", "site", "note"})
_REAL_WORD_KEYS = frozenset(
    {"id", "written", "read_as", "previous", "following", "not_previous", "not_following", "note"}
)
_REAL_WORD_CONTEXTS = ("previous", "following", "not_previous", "not_following")
_TIME_KINDS = ("symptom", "event", "history")
_DURATION_ROLES = ("episode", "cauda_equina", "none")
_SITES = ("back", "leg")
# A measured sign's kind is the finding it fills (findings group `measured`).
VITAL_KINDS = ("systolic_bp", "oxygen_saturation", "heart_rate", "respiratory_rate")
_MEASURE_KINDS = ("duration", "pain_score", "age", *VITAL_KINDS)


@dataclass(frozen=True)
class TargetEntry:
    """Phrases that mention one or more findings.

    ``only_when_negated`` marks an *anchor*: a word that names a body function rather than
    a problem ("my bladder"), which says something only when denied ("my bladder is fine").
    ``needs_nearby`` lists codes one of which must be mentioned in the same sentence
    (a side word such as "left" only counts next to a leg symptom). ``value`` is the value
    for choice codes (``pain_side: left``); boolean codes take their value from context.
    ``denies``: the phrase itself says no ("I can feel the toilet paper fine").
    ``yields_to``: codes whose longer phrase, when it covers this one, takes precedence
    ("numbness" alone is leg numbness, but not inside "numbness down there").
    ``blocker``: a longer phrase that only stops the shorter phrases of the same codes it
    covers ("sick of this pain" stops "sick"); it is never a finding, not even when denied.
    ``suggests``: the phrase only suggests its finding ("my period is 2 weeks late" suggests
    a pregnancy, "me siento mareada" a near-faint): a yes is read as uncertain (which still
    counts as present), never as affirmed.
    """

    id: str
    codes: tuple[str, ...]
    phrases: tuple[str, ...]
    file: str
    only_when_negated: bool = False
    needs_nearby: tuple[str, ...] = ()
    value: str | None = None
    denies: bool = False
    yields_to: tuple[str, ...] = ()
    blocker: bool = False
    suggests: bool = False


@dataclass(frozen=True)
class DangerEntry:
    """Words that can signal a serious problem the vocabulary may not capture.

    ``explained_by``: finding codes that account for the word when one of them has a value
    (yes or no) in the same sentence ("blood" is explained by ``blood_in_urine`` in "no blood
    in my pee"). ``ignore_in``: longer phrases in which the word signals nothing ("blood
    test", "not an emergency"). ``language``: the language the words are written in; only
    English words count towards the English-language check.
    """

    id: str
    phrases: tuple[str, ...]
    file: str
    language: str = "en"
    explained_by: tuple[str, ...] = ()
    ignore_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeasureEntry:
    """Phrases that carry a number: a duration, a 0-10 pain score, the person's age, or a
    measured sign (blood pressure, oxygen level, pulse, breathing rate)."""

    id: str
    kind: MeasureKind
    phrases: tuple[str, ...]
    file: str


@dataclass(frozen=True)
class ContextEntry:
    """One ConText modifier: its category, direction, phrases and optional scope limit."""

    id: str
    category: str
    direction: str
    phrases: tuple[str, ...]
    file: str
    max_scope: int | None = None
    terminated_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class RealWordEntry:
    """A real word typed for another real word (a *real-word error*), read as the word meant
    only where the words next to it show which one it is.

    A speller only changes words it does not know, so a slip that lands on another word is
    left alone, and a danger sign with it: "no ciento las piernas" (``ciento``, a hundred,
    for ``siento``, I feel) is numb legs. ``written``: the words as typed (each is read as
    ``read_as``); ``previous``: words one of which must come right before it; ``following``:
    words one of which must come right after it (at least one of the two is given; when
    both are, both must hold); ``not_previous`` / ``not_following``: words that must not
    come right before / after it ("por ciento" is a percentage). Words are kept as written
    in the file (the reader folds them as it folds the text: Spanish without accents).
    """

    id: str
    file: str
    written: tuple[str, ...]
    read_as: str
    previous: frozenset[str] = frozenset()
    following: frozenset[str] = frozenset()
    not_previous: frozenset[str] = frozenset()
    not_following: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CodePolicy:
    """How the reader treats mentions of one finding code.

    ``time``: ``symptom`` (present state: a remote-past mention says nothing about now),
    ``event`` (something that happened: a recent-past mention counts, a remote one does
    not, e.g. a fall or an infection) or ``history`` (any past mention counts, e.g. cancer).
    ``implies``: codes that are also true when this one is (foot drop is leg weakness).
    ``duration``: which duration a "for 3 weeks" next to this code dates.
    ``site``: for pain scores, whether a mention of this code names the back or the leg.
    """

    code: str
    time: TimeKind = "symptom"
    implies: tuple[str, ...] = ()
    duration: DurationRole = "episode"
    site: PainSite | None = None


@dataclass(frozen=True)
class NlpKnowledge:
    """Everything the narrative reader knows, validated."""

    targets: tuple[TargetEntry, ...]
    measures: tuple[MeasureEntry, ...]
    context: tuple[ContextEntry, ...]
    policies: Mapping[str, CodePolicy]
    macros: Mapping[str, str]
    english_words: frozenset[str]
    finding_types: Mapping[str, str] = field(default_factory=dict)
    # The plausible range (``min``, ``max`` of findings.yaml) of each number finding.
    finding_ranges: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    danger_words: tuple[DangerEntry, ...] = ()
    corrections: Mapping[str, str] = field(default_factory=dict)
    not_typos: frozenset[str] = frozenset()
    # ``spelling.yaml`` ``real_word_errors``: real words read as another next to some words.
    real_word_errors: tuple[RealWordEntry, ...] = ()
    red_flag_codes: frozenset[str] = frozenset()
    # The reader language this knowledge is for, and (for languages other than English)
    # its everyday words (``<language>/language.yaml``) for the language check.
    language: str = "en"
    everyday_words: frozenset[str] = frozenset()
    # Words by which the writer speaks of themselves ("i", "my", "yo", "tengo"):
    # ``context.yaml`` ``first_person``.
    first_person: frozenset[str] = frozenset()

    def policy(self, code: str) -> CodePolicy:
        """The policy of ``code`` (the default symptom policy when none is written)."""
        return self.policies.get(code) or CodePolicy(code=code)


# libyaml's loader when PyYAML was built with it: the same data, read several times faster.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, problems: list[str]) -> Any:
    """Parse one YAML file, recording a problem (not raising) when it cannot be read."""
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as error:
        problems.append(f"{_rel(path)}: (file): cannot be read: {error}")
        return None


def _rel(path: Path) -> str:
    """A path relative to the knowledge folder, as the problem messages show it."""
    try:
        return str(path.relative_to(KNOWLEDGE_DIR))
    except ValueError:
        return str(path)


def _nlp_rel(path: Path) -> str:
    """A path inside the NLP knowledge folder as problem messages show it ("nlp/es/...")."""
    try:
        return "nlp/" + path.relative_to(NLP_DIR).as_posix()
    except ValueError:
        return _rel(path)


def _finding_types(problems: list[str]) -> dict[str, dict[str, Any]]:
    """Finding code -> its definition, read from ``findings.yaml``."""
    data = _read_yaml(FINDINGS_FILE, problems)
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        problems.append(f"{_rel(FINDINGS_FILE)}: (file): has no 'findings' list")
        return {}
    return {
        str(item["code"]): item
        for item in data["findings"]
        if isinstance(item, dict) and "code" in item
    }


def _strings(value: Any) -> tuple[str, ...] | None:
    """``value`` as a tuple of strings, or None when it is not a list of strings."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


class _Checker:
    """Collects problems while the files are read; one instance per validation run."""

    def __init__(
        self, findings: Mapping[str, Mapping[str, Any]], tokenize: Callable[[str], list[str]]
    ):
        self.findings = findings
        self.tokenize = tokenize
        self.problems: list[str] = []
        self.seen_ids: dict[str, str] = {}
        self.macros: dict[str, str] = {}

    def problem(self, file: str, item_id: str, message: str) -> None:
        self.problems.append(f"{file}: {item_id}: {message}")

    def entry(
        self, file: str, raw: Any, keys: frozenset[str], index: int
    ) -> tuple[str, dict[str, Any]] | None:
        """Common checks of one list item: a mapping, a unique id, only known keys."""
        if not isinstance(raw, dict):
            self.problem(file, f"#{index}", "must be a mapping")
            return None
        item_id = raw.get("id")
        if not isinstance(item_id, str) or not item_id:
            self.problem(file, f"#{index}", "needs an 'id' (text)")
            return None
        if item_id in self.seen_ids:
            self.problem(file, item_id, f"duplicate id (also in {self.seen_ids[item_id]})")
        else:
            self.seen_ids[item_id] = file
        unknown = sorted(set(raw) - keys)
        if unknown:
            self.problem(
                file,
                item_id,
                f"unknown key(s) {', '.join(unknown)}; valid keys are {', '.join(sorted(keys))}",
            )
        return item_id, raw

    def codes(self, file: str, item_id: str, key: str, value: Any) -> tuple[str, ...]:
        """Check a list of finding codes against findings.yaml."""
        codes = _strings(value)
        if codes is None:
            self.problem(file, item_id, f"'{key}' must be a finding code or a list of them")
            return ()
        for code in codes:
            if code not in self.findings:
                self.problem(file, item_id, f"unknown finding code {code!r} in '{key}'")
        return tuple(code for code in codes if code in self.findings)

    def phrases(self, file: str, item_id: str, value: Any) -> tuple[str, ...]:
        """Check that every phrase compiles in the phrase notation."""
        phrases = _strings(value)
        if not phrases:
            self.problem(file, item_id, "'phrases' must be a non-empty list of text")
            return ()
        for phrase in phrases:
            try:
                # What compile_for_matching checks, without listing every word sequence.
                if literal_items(phrase, self.macros, self.tokenize) is None:
                    compile_phrase(phrase, self.macros, self.tokenize)
            except PhraseError as error:
                self.problem(file, item_id, f"phrase {phrase!r}: {error}")
        return phrases


def _list_section(
    data: Any, key: str, file: str, checker: _Checker, optional: frozenset[str] = frozenset()
) -> list[Any]:
    """The list under ``key`` of a knowledge file (a problem when it is missing); the file
    may also hold the top-level keys in ``optional``."""
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        checker.problem(file, "(file)", f"must be a mapping with a '{key}' list")
        return []
    extra = sorted(set(data) - {key} - optional)
    if extra:
        checker.problem(file, "(file)", f"unknown top-level key(s) {', '.join(extra)}")
    return cast(list[Any], data[key])


def _load_macros(checker: _Checker, read: Callable[[Path], Any], base: Path | None = None) -> None:
    base = base or NLP_DIR
    file = _nlp_rel(base / "macros.yaml")
    data = read(base / "macros.yaml")
    if not isinstance(data, dict) or not isinstance(data.get("macros"), dict):
        checker.problem(file, "(file)", "must be a mapping with a 'macros' mapping")
        return
    for name, text in data["macros"].items():
        if not isinstance(name, str) or not name.isupper() or not isinstance(text, str):
            checker.problem(file, str(name), "macro names are UPPER_CASE and their values text")
            continue
        checker.macros[name] = text


def _load_policies(checker: _Checker, read: Callable[[Path], Any]) -> dict[str, CodePolicy]:
    file = "nlp/codes.yaml"
    data = read(NLP_DIR / "codes.yaml")
    if not isinstance(data, dict) or not isinstance(data.get("codes"), dict):
        checker.problem(file, "(file)", "must be a mapping with a 'codes' mapping")
        return {}
    policies: dict[str, CodePolicy] = {}
    for key, value in data["codes"].items():
        code = str(key)
        if code not in checker.findings:
            checker.problem(file, code, "unknown finding code")
            continue
        raw = value or {}
        if not isinstance(raw, dict):
            checker.problem(file, code, "must be a mapping")
            continue
        unknown = sorted(set(raw) - _CODE_KEYS)
        if unknown:
            checker.problem(
                file,
                code,
                f"unknown key(s) {', '.join(unknown)}; valid keys are {', '.join(sorted(_CODE_KEYS))}",
            )
        time = raw.get("time", "symptom")
        if time not in _TIME_KINDS:
            checker.problem(file, code, f"'time' must be one of {', '.join(_TIME_KINDS)}")
            time = "symptom"
        duration = raw.get("duration", "episode")
        if duration not in _DURATION_ROLES:
            checker.problem(file, code, f"'duration' must be one of {', '.join(_DURATION_ROLES)}")
            duration = "episode"
        site = raw.get("site")
        if site is not None and site not in _SITES:
            checker.problem(file, code, f"'site' must be one of {', '.join(_SITES)}")
            site = None
        implies = checker.codes(file, code, "implies", raw.get("implies", []))
        for implied in implies:
            if checker.findings[implied].get("type") != "boolean":
                checker.problem(
                    file, code, f"'implies' may only name boolean codes, not {implied!r}"
                )
        policies[code] = CodePolicy(
            code=code,
            time=cast(TimeKind, time),
            implies=implies,
            duration=cast(DurationRole, duration),
            site=cast("PainSite | None", site),
        )
    return policies


def _load_targets(
    checker: _Checker, read: Callable[[Path], Any], base: Path | None = None
) -> list[TargetEntry]:
    base = base or NLP_DIR
    targets: list[TargetEntry] = []
    files = sorted((base / "lexicon").glob("*.yaml"))
    if not files:
        checker.problem(_nlp_rel(base / "lexicon"), "(folder)", "has no lexicon files")
    for path in files:
        file = _rel(path)
        for index, item in enumerate(_list_section(read(path), "targets", file, checker)):
            checked = checker.entry(file, item, _TARGET_KEYS, index)
            if checked is None:
                continue
            item_id, raw = checked
            codes = checker.codes(file, item_id, "codes", raw.get("codes"))
            phrases = checker.phrases(file, item_id, raw.get("phrases"))
            only_when = raw.get("only_when")
            if only_when not in (None, "negated"):
                checker.problem(file, item_id, "'only_when' can only be 'negated'")
            nearby = checker.codes(file, item_id, "needs_nearby", raw.get("needs_nearby", []))
            yields_to = checker.codes(file, item_id, "yields_to", raw.get("yields_to", []))
            denies = raw.get("denies", False)
            if not isinstance(denies, bool):
                checker.problem(file, item_id, "'denies' must be true or false")
                denies = False
            blocker = raw.get("blocker", False)
            if not isinstance(blocker, bool):
                checker.problem(file, item_id, "'blocker' must be true or false")
                blocker = False
            suggests = raw.get("suggests", False)
            if not isinstance(suggests, bool):
                checker.problem(file, item_id, "'suggests' must be true or false")
                suggests = False
            if blocker and (only_when is not None or denies or raw.get("value") is not None):
                checker.problem(
                    file,
                    item_id,
                    "a 'blocker' is never a finding: it takes no 'only_when', 'denies' or 'value'",
                )
            value = raw.get("value")
            for code in codes:
                definition = checker.findings[code]
                ftype = definition.get("type")
                if ftype == "choice":
                    allowed = [v.get("value") for v in definition.get("values", [])]
                    if value not in allowed:
                        checker.problem(
                            file,
                            item_id,
                            f"'value' for {code} must be one of {', '.join(map(str, allowed))}",
                        )
                elif ftype != "boolean":
                    checker.problem(
                        file,
                        item_id,
                        f"{code} is a {ftype} finding; numbers belong in measures.yaml",
                    )
            if value is not None and not isinstance(value, str):
                checker.problem(file, item_id, "'value' must be text")
            if codes and phrases:
                targets.append(
                    TargetEntry(
                        id=item_id,
                        codes=codes,
                        phrases=phrases,
                        file=file,
                        only_when_negated=only_when == "negated",
                        needs_nearby=nearby,
                        value=value if isinstance(value, str) else None,
                        denies=denies,
                        yields_to=yields_to,
                        blocker=blocker,
                        suggests=suggests,
                    )
                )
    return targets


def _load_danger_words(
    checker: _Checker, read: Callable[[Path], Any], base: Path | None = None, default: str = "en"
) -> list[DangerEntry]:
    base = base or NLP_DIR
    file = _nlp_rel(base / "danger_words.yaml")
    entries: list[DangerEntry] = []
    for index, item in enumerate(
        _list_section(read(base / "danger_words.yaml"), "danger_words", file, checker)
    ):
        checked = checker.entry(file, item, _DANGER_KEYS, index)
        if checked is None:
            continue
        item_id, raw = checked
        language = raw.get("language", default)
        if language not in DANGER_LANGUAGES:
            checker.problem(
                file, item_id, f"'language' must be one of {', '.join(DANGER_LANGUAGES)}"
            )
            language = "en"
        phrases = checker.phrases(file, item_id, raw.get("phrases"))
        explained_by = checker.codes(file, item_id, "explained_by", raw.get("explained_by", []))
        ignore_in: tuple[str, ...] = ()
        if "ignore_in" in raw:
            ignore_in = checker.phrases(file, item_id, raw.get("ignore_in"))
        if phrases:
            entries.append(
                DangerEntry(item_id, phrases, file, str(language), explained_by, ignore_in)
            )
    return entries


def _load_measures(
    checker: _Checker, read: Callable[[Path], Any], base: Path | None = None
) -> list[MeasureEntry]:
    base = base or NLP_DIR
    file = _nlp_rel(base / "measures.yaml")
    measures: list[MeasureEntry] = []
    for index, item in enumerate(
        _list_section(read(base / "measures.yaml"), "measures", file, checker)
    ):
        checked = checker.entry(file, item, _MEASURE_KEYS, index)
        if checked is None:
            continue
        item_id, raw = checked
        kind = raw.get("kind")
        if kind not in _MEASURE_KINDS:
            checker.problem(file, item_id, f"'kind' must be one of {', '.join(_MEASURE_KINDS)}")
            continue
        phrases = checker.phrases(file, item_id, raw.get("phrases"))
        if phrases:
            measures.append(MeasureEntry(item_id, cast(MeasureKind, kind), phrases, file))
    return measures


def _load_context(
    checker: _Checker, read: Callable[[Path], Any], base: Path | None = None
) -> tuple[list[ContextEntry], frozenset[str]]:
    """The ConText rules of ``context.yaml`` and its ``first_person`` words."""
    base = base or NLP_DIR
    file = _nlp_rel(base / "context.yaml")
    rules: list[ContextEntry] = []
    data = read(base / "context.yaml")
    first_person: frozenset[str] = frozenset()
    if isinstance(data, dict) and "first_person" in data:
        raw_words = data["first_person"]
        words = tuple(raw_words.split()) if isinstance(raw_words, str) else _strings(raw_words)
        if words is None:
            checker.problem(file, "first_person", "must be words separated by spaces")
        else:
            first_person = frozenset(word.lower() for word in words)
    for index, item in enumerate(
        _list_section(data, "rules", file, checker, frozenset({"first_person"}))
    ):
        checked = checker.entry(file, item, _CONTEXT_KEYS, index)
        if checked is None:
            continue
        item_id, raw = checked
        category = raw.get("category")
        direction = raw.get("direction")
        if category not in CONTEXT_CATEGORIES:
            checker.problem(
                file, item_id, f"'category' must be one of {', '.join(sorted(CONTEXT_CATEGORIES))}"
            )
            continue
        if direction not in CONTEXT_DIRECTIONS:
            checker.problem(
                file, item_id, f"'direction' must be one of {', '.join(sorted(CONTEXT_DIRECTIONS))}"
            )
            continue
        if category in ("TERMINATE", "PSEUDO") and direction != category:
            checker.problem(
                file,
                item_id,
                "TERMINATE and PSEUDO rules use the same word as category and direction",
            )
        if category == "COMMA" and direction != "PSEUDO":
            checker.problem(file, item_id, "COMMA rules only mark a place: use direction PSEUDO")
        terminated_by = _strings(raw.get("terminated_by", [])) or ()
        for other in terminated_by:
            if other not in CONTEXT_CATEGORIES:
                checker.problem(file, item_id, f"'terminated_by' names unknown category {other!r}")
        max_scope = raw.get("max_scope")
        if max_scope is not None and (
            not isinstance(max_scope, int) or isinstance(max_scope, bool) or max_scope < 1
        ):
            checker.problem(
                file, item_id, "'max_scope' must be a whole number of words, at least 1"
            )
            max_scope = None
        phrases = checker.phrases(file, item_id, raw.get("phrases"))
        if phrases:
            rules.append(
                ContextEntry(
                    item_id, str(category), str(direction), phrases, file, max_scope, terminated_by
                )
            )
    return rules, first_person


def _load_words(checker: _Checker, read: Callable[[Path], Any]) -> frozenset[str]:
    file = "nlp/language.yaml"
    data = read(NLP_DIR / "language.yaml")
    raw = data.get("english_words") if isinstance(data, dict) else None
    words = tuple(raw.split()) if isinstance(raw, str) else _strings(raw)
    if words is None:
        checker.problem(
            file, "(file)", "must be a mapping with 'english_words' (words separated by spaces)"
        )
        return frozenset()
    return frozenset(word.lower() for word in words)


def _load_everyday_words(
    checker: _Checker, read: Callable[[Path], Any], base: Path
) -> frozenset[str]:
    """Everyday words of a language other than English (``<language>/language.yaml``,
    ``words``), for the check that a reader knows enough of a text's words."""
    path = base / "language.yaml"
    if not path.exists():
        return frozenset()
    data = read(path)
    raw = data.get("words") if isinstance(data, dict) else None
    words = tuple(raw.split()) if isinstance(raw, str) else _strings(raw)
    if words is None:
        checker.problem(
            _nlp_rel(path), "(file)", "must be a mapping with 'words' (words separated by spaces)"
        )
        return frozenset()
    return frozenset(word.lower() for word in words)


@dataclass(frozen=True)
class _Spelling:
    """What ``spelling.yaml`` holds (see ``_load_spelling``)."""

    corrections: dict[str, str] = field(default_factory=dict)
    not_typos: frozenset[str] = frozenset()
    real_word_errors: tuple[RealWordEntry, ...] = ()


_SPELLING_KEYS = ("corrections", "not_typos", "real_word_errors")


def _load_spelling(
    checker: _Checker, read: Callable[[Path], Any], base: Path = NLP_DIR
) -> _Spelling:
    path = base / "spelling.yaml"
    file = _nlp_rel(path)
    if not path.exists():
        return _Spelling()
    data = read(path)
    if not isinstance(data, dict):
        checker.problem(file, "(file)", "must be a mapping with 'corrections' and 'not_typos'")
        return _Spelling()
    extra = sorted(set(data) - set(_SPELLING_KEYS))
    if extra:
        checker.problem(file, "(file)", f"unknown top-level key(s) {', '.join(extra)}")
    corrections: dict[str, str] = {}
    raw = data.get("corrections") or {}
    if not isinstance(raw, dict):
        checker.problem(file, "corrections", "must be a mapping of written word -> read as")
        raw = {}
    for written, meant in raw.items():
        if not isinstance(written, str) or not written.isalpha() or written != written.lower():
            checker.problem(file, str(written), "a correction is one lower-case word (letters)")
            continue
        if not isinstance(meant, str) or not meant.strip():
            checker.problem(file, written, "must be read as some text")
            continue
        corrections[written] = meant.strip()
    words = data.get("not_typos") or ""
    listed = tuple(words.split()) if isinstance(words, str) else _strings(words)
    if listed is None:
        checker.problem(file, "not_typos", "must be words separated by spaces")
        listed = ()
    for word in listed:
        if word in corrections:
            checker.problem(file, word, "is both a correction and in 'not_typos'")
    real_words = _load_real_word_errors(checker, data.get("real_word_errors"), file, corrections)
    return _Spelling(corrections, frozenset(word.lower() for word in listed), real_words)


def _words(value: Any) -> tuple[str, ...] | None:
    """Words written as one text separated by spaces, or as a list (None: neither)."""
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(word for v in value for word in v.split())
    return None


def _load_real_word_errors(
    checker: _Checker, raw: Any, file: str, corrections: Mapping[str, str]
) -> tuple[RealWordEntry, ...]:
    """``real_word_errors`` of a spelling file (absent or empty: none). Each word is one
    lower-case word of letters that the reader tokenizes as one token; the word read is
    another than the words written; a context is given (``previous`` or ``following``);
    a written word is not a ``corrections`` entry (that would replace it everywhere
    first). ``_check_real_words`` then checks the words against the reader's vocabulary."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        checker.problem(file, "real_word_errors", "must be a list of entries")
        return ()
    entries: list[RealWordEntry] = []
    for index, item in enumerate(raw):
        checked = checker.entry(file, item, _REAL_WORD_KEYS, index)
        if checked is None:
            continue
        item_id, data = checked
        fields: dict[str, tuple[str, ...]] = {}
        valid = True
        for key in ("written", "read_as", *_REAL_WORD_CONTEXTS):
            words = _words(data.get(key, []))
            if words is None:
                checker.problem(file, item_id, f"'{key}' must be words separated by spaces")
                valid = False
                continue
            for word in words:
                norms = checker.tokenize(word)
                if word != word.lower() or len(norms) != 1 or not norms[0].isalpha():
                    checker.problem(
                        file, item_id, f"{word!r} in '{key}' is not one lower-case word"
                    )
                    valid = False
            fields[key] = words
        if not valid:
            continue
        written, read_as = fields["written"], fields["read_as"]
        previous, following = fields["previous"], fields["following"]
        if not written:
            checker.problem(file, item_id, "'written' must give the word(s) as typed")
            continue
        if len(read_as) != 1:
            checker.problem(file, item_id, "'read_as' must be exactly one word")
            continue
        if not previous and not following:
            checker.problem(
                file,
                item_id,
                "needs a context: 'previous' or 'following' words (a word read as another "
                "everywhere is a 'corrections' entry)",
            )
            continue
        for word in written:
            if checker.tokenize(word) == checker.tokenize(read_as[0]):
                checker.problem(file, item_id, f"{word!r} is read as itself")
                valid = False
            if word in corrections:
                checker.problem(
                    file, item_id, f"{word!r} is a correction: it is replaced before any context"
                )
                valid = False
        if valid:
            entries.append(
                RealWordEntry(
                    item_id,
                    file,
                    written,
                    read_as[0],
                    *(frozenset(fields[key]) for key in _REAL_WORD_CONTEXTS),
                )
            )
    return tuple(entries)


def phrase_vocabulary(knowledge: NlpKnowledge) -> frozenset[str]:
    """The words a reader's own data is written in: its lexicon, context rules, measures,
    the danger words of its language (with their exceptions) and its macros, as written.
    The reader's vocabulary (``_language.reader_vocabulary``) and the check of the
    real-word entries both start from it."""
    own = [entry for entry in knowledge.danger_words if entry.language == knowledge.language]
    words = phrase_words(all_phrases(knowledge.targets), knowledge.macros)
    words |= phrase_words(all_phrases(knowledge.context), knowledge.macros)
    words |= phrase_words(all_phrases(knowledge.measures), knowledge.macros)
    words |= phrase_words(all_phrases(own), knowledge.macros)
    words |= phrase_words([phrase for entry in own for phrase in entry.ignore_in], knowledge.macros)
    for macro in knowledge.macros.values():
        words |= phrase_words([macro], {})
    return frozenset(words)


def _check_real_words(
    checker: _Checker,
    knowledge: NlpKnowledge,
    stop_words: frozenset[str],
    fold: Callable[[str], str],
) -> None:
    """The word read and the context words of every real-word entry are words the reader
    knows (its lexicon, context rules, measures, danger words, macros, everyday or English
    words and stop words, as ``_language.reader_vocabulary`` lists them): a word read as a
    word the lexicon never uses changes nothing, and a context word the speller could
    change first would never be seen. (The words as written may be unknown short words the
    speller has no correction for, such as "aya"; ``tests/nlp/test_spelling_in_context.py``
    checks that the speller leaves each of them alone.)"""
    if not knowledge.real_word_errors:
        return
    words = set(phrase_vocabulary(knowledge))
    words |= knowledge.english_words | knowledge.everyday_words | stop_words | knowledge.not_typos
    known = {fold(word.lower()) for word in words}
    for entry in knowledge.real_word_errors:
        listed: dict[str, frozenset[str]] = {"read_as": frozenset({entry.read_as})}
        listed.update((key, getattr(entry, key)) for key in _REAL_WORD_CONTEXTS)
        for key, entry_words in listed.items():
            for word in sorted(entry_words):
                if fold(word) not in known:
                    checker.problem(
                        entry.file,
                        entry.id,
                        f"{word!r} in '{key}' is not a word the reader knows",
                    )


def _tokenizer(language: str = "en") -> Callable[[str], list[str]]:
    """The norm of each token of a phrase word, using spaCy's blank tokenizer of the
    language (English, or the language of a reader in ``knowledge/nlp/<language>/``)."""
    from backpath.nlp._pipeline import phrase_tokenizer

    return phrase_tokenizer() if language == "en" else phrase_tokenizer(language)


# Readers of other languages than English: each has ``knowledge/nlp/<language>/`` with its
# own macros, lexicon, measures, context rules and danger words (``codes.yaml`` is shared).
OTHER_READER_LANGUAGES = ("es",)


def _load(
    tokenize: Callable[[str], list[str]], language: str = "en"
) -> tuple[NlpKnowledge, list[str]]:
    problems: list[str] = []
    findings = _finding_types(problems)
    checker = _Checker(findings, tokenize)
    checker.problems.extend(problems)

    def read(path: Path) -> Any:
        return _read_yaml(path, checker.problems)

    base = NLP_DIR if language == "en" else NLP_DIR / language
    _load_macros(checker, read, base)
    policies = _load_policies(checker, read)
    targets = _load_targets(checker, read, base)
    measures = _load_measures(checker, read, base)
    context, first_person = _load_context(checker, read, base)
    if language == "en":
        words, everyday = _load_words(checker, read), frozenset[str]()
        spelling = _load_spelling(checker, read)
    else:
        words, everyday = frozenset(), _load_everyday_words(checker, read, base)
        spelling = _load_spelling(checker, read, base)
    danger_words = _load_danger_words(checker, read, base, language)
    for measure in measures:
        item = findings.get(measure.kind)
        if measure.kind in VITAL_KINDS and (
            item is None or not isinstance(item.get("min"), int) or not isinstance(item.get("max"), int)
        ):
            checker.problem(
                measure.file, measure.id, f"{measure.kind} must be a number finding with min and max"
            )
    knowledge = NlpKnowledge(
        targets=tuple(targets),
        measures=tuple(measures),
        context=tuple(context),
        policies=policies,
        macros=dict(checker.macros),
        english_words=words,
        finding_types={code: str(item.get("type")) for code, item in findings.items()},
        finding_ranges={
            code: (int(item["min"]), int(item["max"]))
            for code, item in findings.items()
            if isinstance(item.get("min"), int) and isinstance(item.get("max"), int)
        },
        danger_words=tuple(danger_words),
        corrections=spelling.corrections,
        not_typos=spelling.not_typos,
        real_word_errors=spelling.real_word_errors,
        red_flag_codes=frozenset(
            code for code, item in findings.items() if item.get("red_flag") is True
        ),
        language=language,
        everyday_words=everyday,
        first_person=first_person,
    )
    if knowledge.real_word_errors:
        from backpath.nlp._language import _stop_words, fold

        _check_real_words(
            checker, knowledge, _stop_words(language), lambda word: fold(language, word)
        )
    return knowledge, checker.problems


def validate_nlp_knowledge() -> list[str]:
    """Every problem in the NLP knowledge files, as ``file: id: message`` (empty when valid).

    Checks closed key sets, finding codes against ``findings.yaml``, duplicate ids across
    files, and that every phrase compiles. Used by ``backpath kb check``.
    """
    _, problems = _load(_tokenizer())
    for language in OTHER_READER_LANGUAGES:
        if (NLP_DIR / language).is_dir():
            problems += _load(_tokenizer(language), language)[1]
    # The shared files (findings.yaml, codes.yaml) are read once per language.
    return list(dict.fromkeys(problems))


@functools.cache
def load_nlp_knowledge(language: str = "en") -> NlpKnowledge:
    """The validated NLP knowledge of a reader language (read once per language).

    Raises ``KnowledgeError`` listing every problem.
    """
    return _load_language(language)


@functools.cache
def _load_language(language: str) -> NlpKnowledge:
    if language != "en" and language not in OTHER_READER_LANGUAGES:
        raise KnowledgeError([f"nlp: (language): no reader for language {language!r}"])
    knowledge, problems = _load(_tokenizer(language), language)
    if problems:
        raise KnowledgeError(problems)
    return knowledge


def all_phrases(
    entries: Iterable[TargetEntry | MeasureEntry | ContextEntry | DangerEntry],
) -> list[str]:
    """Every phrase of some entries (used to build the English word list)."""
    return [phrase for entry in entries for phrase in entry.phrases]
