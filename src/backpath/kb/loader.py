"""Reading the knowledge files and checking them as a whole."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from pathlib import Path
from typing import IO, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from backpath.errors import ConditionError, KnowledgeError
from backpath.kb.schema import (
    AdviceDef,
    AdviceFile,
    FindingDef,
    FindingsFile,
    GroupDef,
    InstructionDef,
    Manifest,
    MetaRuleDef,
    PlanFile,
    PlanRuleDef,
    QuestionnaireFile,
    RuleDef,
    RulesFile,
    SafetyFile,
    SectionDef,
    SourceDef,
    SourcesFile,
    StepDef,
    UrgenciesFile,
    UrgencyDef,
)
from backpath.kb.validation import validation_problems
from backpath.logic.conditions import (
    All,
    Always,
    Answers,
    AnyOf,
    AtLeast,
    Compare,
    Condition,
    Is,
    Missing,
    Not,
    Truth,
    parse,
    walk,
)
from backpath.vocabulary import FindingType, FindingValue, Urgency

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

# libyaml's safe loader when PyYAML was built with it: it reads the knowledge files several
# times faster than the pure-Python parser (every command loads them) and builds the same
# documents (a test checks every YAML file of the repository); the pure-Python
# ``SafeLoader`` otherwise. Both construct plain data only, never Python objects.
SAFE_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load_yaml(stream: str | bytes | IO[str]) -> Any:
    """``yaml.safe_load`` through ``SAFE_YAML_LOADER`` (same result, faster when available).

    Raises ``yaml.YAMLError`` for text that is not YAML, as ``yaml.safe_load`` does.
    """
    return yaml.load(stream, Loader=SAFE_YAML_LOADER)


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Rule:
    """A triage rule with its parsed and compiled condition."""

    spec: RuleDef
    condition: Condition
    test: Callable[[Answers], Truth]
    file: str

    @property
    def id(self) -> str:
        """The stable rule id used in results, tests and the catalogue."""
        return self.spec.id

    @property
    def urgency(self) -> Urgency:
        """The urgency this rule sets when it fires."""
        return self.spec.urgency


@dataclass(frozen=True)
class PlanRule:
    """A care-plan rule with its parsed and compiled condition."""

    spec: PlanRuleDef
    condition: Condition
    test: Callable[[Answers], Truth]
    file: str


@dataclass(frozen=True)
class KnowledgeBase:
    """The loaded, validated knowledge base. Immutable; shared by every adapter."""

    root: Path
    manifest: Manifest
    groups: tuple[GroupDef, ...]
    findings: Mapping[str, FindingDef]
    sources: Mapping[str, SourceDef]
    rules: tuple[Rule, ...]
    plan: tuple[PlanRule, ...]
    advice: Mapping[str, AdviceDef]
    urgencies: Mapping[Urgency, UrgencyDef]
    sections: tuple[SectionDef, ...]
    translations: Mapping[str, Mapping[str, str]]
    ui_texts: Mapping[str, str]
    sha256: str
    files: tuple[str, ...]
    safety: SafetyFile
    instructions: Mapping[str, InstructionDef]
    # Meta-rules (safety.yaml) the engine applies to a whole result: "not sure" left a
    # serious rule undecided; a narrative could not be read.
    unsure_rule: Rule
    narrative_rule: Rule
    # Danger words in the narrative that no finding explains (safety.yaml).
    danger_words_rule: Rule
    rules_by_id: Mapping[str, Rule] = field(default_factory=dict)
    # The interview's steps (questionnaire.yaml ``steps``), in clinical order.
    steps: tuple[StepDef, ...] = ()

    @property
    def version(self) -> str:
        """The knowledge base's release version (manifest.yaml)."""
        return self.manifest.version

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with patient-facing text."""
        return self.manifest.languages

    @cached_property
    def fragments(self) -> dict[tuple[str, ...], Any]:
        """Memo of static Result-JSON fragments (a rule's words, a source's citation) by key.

        The knowledge base is immutable, so these never go stale; they keep serialising a
        result cheap (the web API's hot path).
        """
        return {}

    @cached_property
    def implications(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(code, implied codes) for every finding that implies others (hot path: cached)."""
        return tuple((f.code, f.implies) for f in self.findings.values() if f.implies)

    @cached_property
    def rules_by_urgency(self) -> tuple[Rule, ...]:
        """The triage rules, most urgent first; file order within one urgency (sorted once)."""
        return tuple(sorted(self.rules, key=lambda rule: -rule.urgency.rank))

    @cached_property
    def plan_by_urgency(self) -> Mapping[Urgency, tuple[PlanRule, ...]]:
        """The care-plan rules that apply to each urgency (``for_urgency``), in plan order."""
        return {
            urgency: tuple(rule for rule in self.plan if urgency in rule.spec.for_urgency)
            for urgency in Urgency
        }

    @cached_property
    def program(self) -> RuleSetProgram:
        """``rules_by_urgency`` compiled to decide and explain in one pass (see
        ``RuleSetProgram``); built when the knowledge base is loaded."""
        return compile_rule_set(self.rules_by_urgency)

    @cached_property
    def question_gates(self) -> Mapping[str, Callable[[Answers], Truth] | None]:
        """Every question of the interview and its compiled ``ask_if`` (None: always asked).

        A code that is not here is never asked by the interview (scores, the body map).
        """
        return question_gates(self.sections)

    @cached_property
    def given_only_codes(self) -> frozenset[str]:
        """Findings only ever given, never asked (measured signs): an unknown one leaves no
        rule open and no question to ask."""
        groups = {group.id for group in self.groups if group.given_only}
        return frozenset(code for code, f in self.findings.items() if f.group in groups)

    @cached_property
    def steps_by_id(self) -> Mapping[str, StepDef]:
        """Every interview step by id."""
        return {step.id: step for step in self.steps}

    @cached_property
    def step_position(self) -> Mapping[str, int]:
        """Each step's place in the questionnaire (the clinical order)."""
        return {step.id: index for index, step in enumerate(self.steps)}

    @cached_property
    def step_of_code(self) -> Mapping[str, StepDef]:
        """The step that asks each finding code (a code is asked by one step at most)."""
        return {code: step for step in self.steps for code in step.codes}

    @cached_property
    def step_id_of_code(self) -> Mapping[str, str]:
        """The id of the step that asks each finding code."""
        return {code: step.id for step in self.steps for code in step.codes}

    @cached_property
    def step_gates(self) -> Mapping[str, Condition | None]:
        """Every step's parsed ``ask_if`` by step id (None: always asked)."""
        return {step.id: None if step.ask_if is None else parse(step.ask_if) for step in self.steps}

    @cached_property
    def instruction_rank(self) -> Mapping[str, int]:
        """Priority of each emergency instruction (safety.yaml order: first wins)."""
        return {i.id: rank for rank, i in enumerate(self.safety.instructions)}

    @property
    def red_flags(self) -> tuple[str, ...]:
        """Codes of findings that can lead to an urgent or emergency result."""
        return tuple(code for code, f in self.findings.items() if f.red_flag)

    def text(self, key: str, language: str, default: str) -> str:
        """Patient text ``key`` in ``language``; English (``default``) when untranslated."""
        if language == "en":
            return default
        return self.translations.get(language, {}).get(key, default)

    def ui(self, key: str, language: str = "en") -> str:
        """Interface wording (``terminal.intro``, ``web.submit``...) in ``language``.

        Raises ``KeyError`` for an unknown key: a missing label is a bug, not a blank.
        """
        english = self.ui_texts[key]
        return self.text(key, language, english)

    @property
    def meta_rules(self) -> tuple[Rule, ...]:
        """The rules the engine applies to a whole result (safety.yaml)."""
        return (self.unsure_rule, self.narrative_rule, self.danger_words_rule)

    def patient_texts(self) -> dict[str, str]:
        """Every patient-facing English text by translation key (for completeness tests)."""
        texts: dict[str, str] = dict(self.ui_texts)
        for finding in self.findings.values():
            texts[f"finding.{finding.code}.question"] = finding.question
            if finding.help:
                texts[f"finding.{finding.code}.help"] = finding.help
            if finding.unsure_help:
                texts[f"finding.{finding.code}.unsure_help"] = finding.unsure_help
            for choice in finding.values:
                texts[f"finding.{finding.code}.value.{choice.value}"] = choice.label
        for rule in (*self.rules, *self.meta_rules):
            texts[f"rule.{rule.id}.title"] = rule.spec.title
            texts[f"rule.{rule.id}.patient"] = rule.spec.patient
        for instruction in self.instructions.values():
            texts[f"instruction.{instruction.id}"] = instruction.text
        for block in self.advice.values():
            texts[f"advice.{block.id}.title"] = block.title
            texts[f"advice.{block.id}.body"] = block.body
        for urgency in self.urgencies.values():
            for part in ("label", "headline", "action"):
                texts[f"urgency.{urgency.id.value}.{part}"] = getattr(urgency, part)
        for section in self.sections:
            texts[f"section.{section.id}.title"] = section.title
            if section.intro:
                texts[f"section.{section.id}.intro"] = section.intro
        for step in self.steps:
            if step.text:
                texts[f"step.{step.id}.text"] = step.text
            for index, answer_range in enumerate(step.ranges):
                texts[f"step.{step.id}.range.{index}"] = answer_range.label
        return texts


class _Problems:
    """Collects every problem so that one run of ``kb check`` shows them all."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, file: str, ident: str, message: str) -> None:
        self.items.append(f"{file}: {ident}: {message}")


def _read_yaml(path: Path, root: Path, problems: _Problems) -> Any:
    rel = str(path.relative_to(root))
    try:
        with path.open(encoding="utf-8") as handle:
            return safe_load_yaml(handle)
    except yaml.YAMLError as exc:
        problems.add(rel, "(file)", f"not valid YAML: {exc}")
    except OSError as exc:
        problems.add(rel, "(file)", f"cannot read: {exc}")
    return None


def _validate(model: type[M], data: Any, rel: str, problems: _Problems) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.items.extend(validation_problems(exc, data, rel, model))
    return None


# The self-care proofs (``_self_care_leaks``, ``_self_care_with_open_red_flags``) search
# answer sets and take about half of a load (~0.1 s). Their outcome depends only on the
# knowledge base's files and on this code, so it is kept on disk under a key made of both:
# the same content is never proved twice, and any change to a file or to the code proves it
# again. ``BACKPATH_CACHE_DIR`` chooses the folder (default ~/.cache/backpath); an empty
# value, or a folder that cannot be written, turns the memory off.
_PROOF_PACKAGES = ("kb", "logic")


@lru_cache(maxsize=1)
def _proof_code() -> str:
    """A hash of the code the proofs run (the ``backpath.kb`` and ``backpath.logic``
    packages and the vocabulary)."""
    base = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    paths = [p for pkg in _PROOF_PACKAGES for p in sorted((base / pkg).glob("*.py"))]
    for path in [*paths, base / "vocabulary.py"]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _proof_folder() -> Path | None:
    chosen = os.environ.get("BACKPATH_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) / "kb-proofs" if chosen else None
    return Path.home() / ".cache" / "backpath" / "kb-proofs"


def _proved(sha: str, name: str, prove: Callable[[], list[str]]) -> list[str]:
    """``prove()`` (the problems a proof finds), remembered for this content and code."""
    folder = _proof_folder()
    if folder is None:
        return prove()
    key = hashlib.sha256(f"{sha}\0{_proof_code()}\0{name}".encode()).hexdigest()
    path = folder / f"{key}.json"
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(found, list) and all(isinstance(m, str) for m in found):
            return found
    except (OSError, ValueError):
        pass
    result = prove()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{key}.{os.getpid()}.tmp"
        partial.write_text(json.dumps(result), encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass
    return result


def _hash_files(root: Path) -> tuple[str, tuple[str, ...]]:
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".yaml", ".yml"})
    rels = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        rels.append(rel)
        digest.update(rel.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest(), tuple(rels)


def _compile_condition(
    data: Any,
    file: str,
    ident: str,
    findings: Mapping[str, FindingDef],
    problems: _Problems,
    path: str = "when",
) -> Condition | None:
    try:
        condition = parse(data, path)
    except ConditionError as exc:
        problems.add(file, ident, str(exc))
        return None
    ok = True
    for node in walk(condition):
        if not isinstance(node, Is | Compare | Missing):
            continue
        finding = findings.get(node.code)
        if finding is None:
            problems.add(file, ident, f"{path}: unknown finding code {node.code!r}")
            ok = False
            continue
        if isinstance(node, Is) and finding.type is not FindingType.BOOLEAN:
            problems.add(
                file, ident, f"{path}: {node.code!r} is {finding.type.value}, compare it instead"
            )
            ok = False
        if isinstance(node, Compare):
            if finding.type is FindingType.INTEGER:
                if not isinstance(node.value, int):
                    problems.add(file, ident, f"{path}: {node.code!r} compares with a number")
                    ok = False
            elif finding.type is FindingType.CHOICE:
                if node.op not in ("==", "!=") or node.value not in finding.allowed_values:
                    problems.add(
                        file,
                        ident,
                        f"{path}: {node.code!r} takes == or != with one of "
                        f"{', '.join(finding.allowed_values)}",
                    )
                    ok = False
            else:
                problems.add(file, ident, f"{path}: cannot compare {finding.type.value} findings")
                ok = False
    return condition if ok else None


def _sample_values(
    condition: Condition, findings: Mapping[str, FindingDef]
) -> dict[str, list[Any]]:
    """Candidate values per code for the reachability search, boundaries included."""
    pools: dict[str, list[Any]] = {}
    for node in walk(condition):
        if isinstance(node, Is | Missing):
            pools.setdefault(node.code, [True, False, None])
        elif isinstance(node, Compare):
            pool = pools.setdefault(node.code, [None])
            if isinstance(node.value, int):
                pool.extend([node.value - 1, node.value, node.value + 1])
            else:
                pool.extend(findings[node.code].allowed_values)
    return pools


def _reachable(condition: Condition, findings: Mapping[str, FindingDef], seed: int) -> bool:
    """True when some assignment makes the condition true (bounded random search)."""
    test = condition.compile()
    pools = _sample_values(condition, findings)
    rng = random.Random(seed)
    codes = list(pools)
    if test({}) is True or any(test(a) is True for a in _satisfying(condition)):
        return True
    for _ in range(4000):
        answers = {code: rng.choice(pools[code]) for code in codes}
        answers = {k: v for k, v in answers.items() if v is not None}
        if test(answers) is True:
            return True
    # Last try: every boolean literal made to agree with its polarity.
    return False


def _load(root: Path) -> KnowledgeBase:
    problems = _Problems()
    sha, files = _hash_files(root)

    def load_file(rel: str, model: type[M]) -> M | None:
        data = _read_yaml(root / rel, root, problems)
        if data is None:
            if (root / rel).exists():
                problems.add(rel, "(file)", "empty file")
            else:
                problems.add(rel, "(file)", "missing")
            return None
        return _validate(model, data, rel, problems)

    manifest = load_file("manifest.yaml", Manifest)
    findings_file = load_file("findings.yaml", FindingsFile)
    sources_file = load_file("sources.yaml", SourcesFile)
    urgencies_file = load_file("urgencies.yaml", UrgenciesFile)
    plan_file = load_file("plan.yaml", PlanFile)
    safety_file = load_file("safety.yaml", SafetyFile)
    questionnaire_raw = _read_yaml(root / "questionnaire.yaml", root, problems)
    questionnaire = None
    if isinstance(questionnaire_raw, dict):
        for section in questionnaire_raw.get("sections") or []:
            if isinstance(section, dict):
                section["questions"] = [
                    {"code": q} if isinstance(q, str) else q for q in section.get("questions") or []
                ]
        questionnaire = _validate(
            QuestionnaireFile, questionnaire_raw, "questionnaire.yaml", problems
        )
    else:
        problems.add("questionnaire.yaml", "(file)", "missing or not a mapping")

    seen_ids: dict[str, str] = {}

    def claim(ident: str, rel: str) -> None:
        if ident in seen_ids:
            problems.add(rel, ident, f"duplicate id (also in {seen_ids[ident]})")
        else:
            seen_ids[ident] = rel

    findings: dict[str, FindingDef] = {}
    groups: tuple[GroupDef, ...] = ()
    if findings_file:
        groups = findings_file.groups
        group_ids = {g.id for g in groups}
        for finding in findings_file.findings:
            if finding.code in findings:
                problems.add("findings.yaml", finding.code, "duplicate finding code")
            findings[finding.code] = finding
            if finding.group not in group_ids:
                problems.add("findings.yaml", finding.code, f"unknown group {finding.group!r}")
            is_choice = finding.type in (FindingType.CHOICE, FindingType.MULTI_CHOICE)
            if is_choice and not finding.values:
                problems.add("findings.yaml", finding.code, "a choice finding needs values")
            if not is_choice and finding.values:
                problems.add("findings.yaml", finding.code, "only choice findings have values")
            if finding.red_flag and finding.type is not FindingType.BOOLEAN:
                problems.add("findings.yaml", finding.code, "a red flag must be a boolean")
        for finding in findings.values():
            for target in finding.implies:
                implied = findings.get(target)
                if finding.type is not FindingType.BOOLEAN:
                    problems.add("findings.yaml", finding.code, "only a boolean finding implies")
                elif implied is None or implied.type is not FindingType.BOOLEAN:
                    problems.add(
                        "findings.yaml", finding.code, f"implies {target!r}: not a boolean finding"
                    )

    sources: dict[str, SourceDef] = {}
    if sources_file:
        for source in sources_file.sources:
            claim(source.id, "sources.yaml")
            sources[source.id] = source
            if not (source.url or source.doi):
                problems.add("sources.yaml", source.id, "a source needs a url or a doi")

    advice: dict[str, AdviceDef] = {}
    for path in sorted((root / "advice" / "en").glob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        raw = _read_yaml(path, root, problems)
        advice_file = None if raw is None else _validate(AdviceFile, raw, rel, problems)
        if not advice_file:
            continue
        for block in advice_file.advice:
            claim(block.id, rel)
            advice[block.id] = block
            for source_id in block.sources:
                if source_id not in sources:
                    problems.add(rel, block.id, f"unknown source {source_id!r}")

    rules: list[Rule] = []
    for path in sorted((root / "rules").glob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        raw = _read_yaml(path, root, problems)
        rules_file = None if raw is None else _validate(RulesFile, raw, rel, problems)
        if not rules_file:
            continue
        for spec in rules_file.rules:
            claim(spec.id, rel)
            for source_id in spec.sources:
                if source_id not in sources:
                    problems.add(rel, spec.id, f"unknown source {source_id!r}")
            for block_id in (*spec.advice, *spec.next_steps):
                if block_id not in advice:
                    problems.add(rel, spec.id, f"refers to advice {block_id!r} that doesn't exist")
            condition = _compile_condition(spec.when, rel, spec.id, findings, problems)
            if condition is None:
                continue
            rules.append(Rule(spec, condition, condition.compile(), rel))

    plan: list[PlanRule] = []
    if plan_file:
        for plan_spec in plan_file.plan:
            claim(plan_spec.id, "plan.yaml")
            for source_id in plan_spec.sources:
                if source_id not in sources:
                    problems.add("plan.yaml", plan_spec.id, f"unknown source {source_id!r}")
            for block_id in (*plan_spec.advice, *plan_spec.next_steps):
                if block_id not in advice:
                    problems.add(
                        "plan.yaml",
                        plan_spec.id,
                        f"refers to advice {block_id!r} that doesn't exist",
                    )
            condition = _compile_condition(
                plan_spec.when, "plan.yaml", plan_spec.id, findings, problems
            )
            if condition is not None:
                plan.append(PlanRule(plan_spec, condition, condition.compile(), "plan.yaml"))

    instructions: dict[str, InstructionDef] = {}
    meta_rules: dict[str, Rule] = {}
    if safety_file:
        instructions = {i.id: i for i in safety_file.instructions}
        numbers = safety_file.emergency_numbers
        for field_name in ("unsure_risk_factors", "unsure_context_signs"):
            for code in getattr(safety_file, field_name):
                if code not in findings:
                    problems.add("safety.yaml", field_name, f"unknown finding {code!r}")
        if numbers.default not in numbers.presets:
            problems.add("safety.yaml", "emergency_numbers", "default is not a preset")
        for meta in (
            safety_file.unsure_not_ruled_out,
            safety_file.narrative_not_resolved,
            safety_file.danger_words_not_resolved,
        ):
            claim(meta.id, "safety.yaml")
            for source_id in meta.sources:
                if source_id not in sources:
                    problems.add("safety.yaml", meta.id, f"unknown source {source_id!r}")
            for block_id in (*meta.advice, *meta.next_steps):
                if block_id not in advice:
                    problems.add(
                        "safety.yaml", meta.id, f"refers to advice {block_id!r} that doesn't exist"
                    )
            meta_rules[meta.id] = _meta_rule(meta)
    for rule in rules:
        instruction_id = rule.spec.first_instruction
        if rule.urgency is Urgency.EMERGENCY and instruction_id is None:
            problems.add(rule.file, rule.id, "an emergency rule needs a first_instruction")
        if instruction_id is not None and instruction_id not in instructions:
            problems.add(rule.file, rule.id, f"unknown first_instruction {instruction_id!r}")
    for where, ident, text in _emergency_texts(rules, advice, instructions, urgencies_file):
        if _says_today(text):
            problems.add(where, ident, "an emergency text must not say 'today' (it means now)")

    red_flags = [code for code, f in findings.items() if f.red_flag]
    for index, rule in enumerate(rules):
        if not _reachable(rule.condition, findings, seed=index):
            problems.add(rule.file, rule.id, "unreachable: no answers make this rule fire")
    gates = question_gates(questionnaire.sections) if questionnaire else None
    given_only = frozenset(
        code for code, f in findings.items() if f.group in {g.id for g in groups if g.given_only}
    )
    for code in sorted(given_only & set(red_flags)):
        problems.add("findings.yaml", code, "a red flag cannot be in a group that is never asked")
    for rule in rules:
        if rule.urgency is Urgency.SELF_CARE:
            continue
        named = {n.code for n in walk(rule.condition) if isinstance(n, Is | Compare | Missing)}
        for code in sorted((named & given_only) - _necessary_codes(rule.condition)):
            problems.add(
                rule.file,
                rule.id,
                f"{code!r} is never asked, so it must be a condition the rule needs (at the top"
                " of its `all`): an unknown value then leaves the rule undecided, not open",
            )
    for rule in rules:
        if rule.urgency is Urgency.SELF_CARE:
            leaks = _proved(
                sha,
                f"leaks-{rule.id}",
                partial(_self_care_leaks, rule, rules, gates, given_only),
            )
            for message in leaks:
                problems.add(rule.file, rule.id, message)

    urgencies: dict[Urgency, UrgencyDef] = {}
    if urgencies_file:
        urgencies = {u.id: u for u in urgencies_file.urgencies}
        for level in Urgency:
            if level not in urgencies:
                problems.add("urgencies.yaml", level.value, "missing urgency wording")

    sections: tuple[SectionDef, ...] = ()
    if questionnaire:
        sections = questionnaire.sections
        asked: list[str] = []
        for section in sections:
            claim(f"section_{section.id}", "questionnaire.yaml")
            for question in section.questions:
                if question.code not in findings:
                    problems.add(
                        "questionnaire.yaml", section.id, f"unknown finding code {question.code!r}"
                    )
                if question.code in asked:
                    problems.add("questionnaire.yaml", section.id, f"{question.code!r} asked twice")
                asked.append(question.code)
                if question.ask_if is not None:
                    _compile_condition(
                        question.ask_if,
                        "questionnaire.yaml",
                        f"{section.id}.{question.code}",
                        findings,
                        problems,
                        path="ask_if",
                    )
        for code in red_flags:
            if code not in asked:
                problems.add("questionnaire.yaml", code, "red flag never asked")
        first_other = next(
            (i for i, s in enumerate(sections) if not s.safety_screen), len(sections)
        )
        if any(s.safety_screen for s in sections[first_other:]):
            problems.add("questionnaire.yaml", "sections", "safety-screen sections must come first")
        screened = {q.code for s in sections if s.safety_screen for q in s.questions}
        for code in red_flags:
            if code in asked and code not in screened:
                problems.add(
                    "questionnaire.yaml", code, "a red flag must be in a safety_screen section"
                )

    steps: tuple[StepDef, ...] = ()
    if questionnaire:
        steps = questionnaire.steps
        _check_steps(steps, sections, findings, red_flags, problems, claim)

    translations: dict[str, dict[str, str]] = {}
    for lang_dir in sorted((root / "locales").glob("*")) if (root / "locales").exists() else []:
        if not lang_dir.is_dir():
            continue
        catalog: dict[str, str] = {}
        for path in sorted(lang_dir.glob("*.yaml")):
            rel = path.relative_to(root).as_posix()
            data = _read_yaml(path, root, problems)
            if not isinstance(data, dict):
                problems.add(rel, "(file)", "a translation file maps keys to texts")
                continue
            for key, value in data.items():
                if not isinstance(value, str) or not value.strip():
                    problems.add(rel, str(key), "empty translation")
                elif key in catalog:
                    problems.add(rel, str(key), "translated twice")
                else:
                    catalog[str(key)] = value
        translations[lang_dir.name] = catalog

    ui_texts: dict[str, str] = {}
    for path in sorted((root / "ui").glob("*.yaml")) if (root / "ui").exists() else []:
        rel = path.relative_to(root).as_posix()
        data = _read_yaml(path, root, problems)
        if not isinstance(data, dict):
            problems.add(rel, "(file)", "an interface text file maps keys to texts")
            continue
        for key, value in data.items():
            if not isinstance(key, str):
                problems.add(rel, str(key), "keys must be text (quote yes/no/on/off in YAML)")
            elif not isinstance(value, str) or not value.strip():
                problems.add(rel, str(key), "empty or non-text value")
            else:
                ui_texts[f"{path.stem}.{key}"] = value

    if manifest:
        if manifest.unresolved_advice not in advice:
            problems.add(
                "manifest.yaml", "unresolved_advice", "refers to advice that doesn't exist"
            )
        for lang in manifest.languages:
            if lang != "en" and lang not in translations:
                problems.add("manifest.yaml", lang, f"no locales/{lang}/ catalog")

    if manifest:
        shown_in_emergencies = emergency_keys(rules, advice, instructions)
        for lang, catalog in translations.items():
            for key, text in catalog.items():
                if key in shown_in_emergencies and _says_today(text, lang):
                    problems.add(f"locales/{lang}", key, "an emergency text must not say 'today'")
    if questionnaire:
        _check_ranges(steps, rules, sections, findings, problems)
    for rule in rules:
        if rule.urgency is Urgency.SELF_CARE and questionnaire:
            open_flags = _proved(
                sha,
                f"open-{rule.id}",
                partial(_self_care_with_open_red_flags, rule, findings, sections),
            )
            for message in open_flags:
                problems.add(rule.file, rule.id, message)

    if problems.items:
        raise KnowledgeError(problems.items)
    assert manifest is not None
    assert safety_file is not None
    kb = KnowledgeBase(
        root=root,
        manifest=manifest,
        groups=groups,
        findings=findings,
        sources=sources,
        rules=tuple(rules),
        plan=tuple(plan),
        advice=advice,
        urgencies=urgencies,
        sections=sections,
        translations=translations,
        ui_texts=ui_texts,
        sha256=sha,
        files=files,
        safety=safety_file,
        instructions=instructions,
        unsure_rule=meta_rules[safety_file.unsure_not_ruled_out.id],
        narrative_rule=meta_rules[safety_file.narrative_not_resolved.id],
        danger_words_rule=meta_rules[safety_file.danger_words_not_resolved.id],
        rules_by_id={rule.id: rule for rule in rules},
        steps=steps,
    )
    kb.program  # noqa: B018 - compiled once, at load, not on the first triage
    return kb


# ------------------------------------------------------------------ one-pass rule evaluation

#: One rule's verdict with its reasons: ``(rule, codes)`` where ``codes`` decided a fired
#: rule (its evidence) or would decide an undecided one (what to ask).
Verdict = tuple[Rule, tuple[str, ...]]
Decide = Callable[[Answers], tuple[list[Verdict], list[Verdict]]]


@dataclass(frozen=True)
class RuleSetProgram:
    """Every triage rule compiled into one Python function that decides and explains.

    ``decide(answers)`` returns ``(fired, undecided)``, each a list of ``(rule, codes)`` in
    ``rules`` order (most urgent first). For a fired rule ``codes`` are the findings that made
    it true; for an undecided rule they are the findings that would settle it. Both are
    exactly ``rule.condition.evaluate(answers)``'s ``decided_by`` and ``unknown`` (Kleene
    logic, first deciding child, order of appearance without repeats), computed in the same
    single pass that computes the value: every finding is read once, and a sub-condition
    shared by several rules is evaluated once. ``source`` is the generated code, for review.
    """

    rules: tuple[Rule, ...]
    source: str
    decide: Decide


def compile_rule_set(rules: Iterable[Rule]) -> RuleSetProgram:
    """Compile ``rules`` (in the order given) into a ``RuleSetProgram``.

    The code is generated from validated condition trees only: finding codes are
    identifiers (``[a-z][a-z0-9_]*``) and constants are written with ``repr``.
    """
    ordered = tuple(rules)
    writer = _ProgramWriter()
    body: list[str] = []
    for index, rule in enumerate(ordered):
        node = writer.node(rule.condition)
        body.append(f"    if {node.value} is True:")
        body.append(f"        fired.append((RULE_{index}, {node.codes}))")
        body.append(f"    elif {node.value} is None:")
        body.append(f"        undecided.append((RULE_{index}, {node.codes}))")
    lines = [
        "def decide(answers):",
        "    get = answers.get",
        *writer.reads,
        *writer.lines,
        "    fired = []",
        "    undecided = []",
        *body,
        "    return fired, undecided",
    ]
    source = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = {"_unique": _unique_codes}
    namespace.update({f"RULE_{index}": rule for index, rule in enumerate(ordered)})
    # The source is built above from parsed, validated nodes only (never from raw text).
    exec(compile(source, "<backpath rule set>", "exec"), namespace)
    decide: Decide = namespace["decide"]
    return RuleSetProgram(ordered, source, decide)


_CODE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _unique_codes(codes: tuple[str, ...]) -> tuple[str, ...]:
    """``codes`` in order of first appearance, without repeats."""
    return tuple(dict.fromkeys(codes))


@dataclass(frozen=True)
class _Node:
    """A compiled node: the variable holding its value, the expression of its codes (a
    tuple), and every code it could ever report (to know when joining needs no de-dup)."""

    value: str
    codes: str
    universe: frozenset[str]
    constant: tuple[str, ...] | None = None  # the codes when they never vary


class _ProgramWriter:
    """Writes one statement block per distinct node; leaves read their finding once."""

    def __init__(self) -> None:
        self.reads: list[str] = []
        self.lines: list[str] = []
        self.raw: dict[str, str] = {}
        self.memo: dict[str, _Node] = {}
        self.count = 0

    def _read(self, code: str) -> str:
        if not _CODE_NAME.fullmatch(code):
            raise ConditionError(f"{code!r} is not a finding code", "when")
        name = self.raw.get(code)
        if name is None:
            name = self.raw[code] = f"x_{code}"
            self.reads.append(f"    {name} = get({code!r})")
        return name

    def _new(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def node(self, condition: Condition) -> _Node:
        key = repr(condition.to_data())
        found = self.memo.get(key)
        if found is not None:
            return found
        made = self._make(condition)
        self.memo[key] = made
        return made

    def _make(self, condition: Condition) -> _Node:
        out = self._new()
        emit = self.lines.append
        if isinstance(condition, Always):
            emit(f"    {out} = True")
            return _Node(out, "()", frozenset(), ())
        if isinstance(condition, Is | Compare | Missing):
            raw = self._read(condition.code)
            codes = (condition.code,)
            if isinstance(condition, Is):
                emit(f"    {out} = None if {raw} is None else {raw} is True")
            elif isinstance(condition, Missing):
                emit(f"    {out} = {raw} is None")
            else:
                emit(
                    f"    {out} = None if {raw} is None"
                    f" else {raw} {condition.op} {condition.value!r}"
                )
            return _Node(out, repr(codes), frozenset(codes), codes)
        if isinstance(condition, Not):
            child = self.node(condition.child)
            emit(f"    {out} = None if {child.value} is None else not {child.value}")
            return _Node(out, child.codes, child.universe, child.constant)
        if isinstance(condition, All | AnyOf | AtLeast):
            return self._combine(condition, out)
        raise ConditionError(f"cannot compile {type(condition).__name__}", "when")

    def _combine(self, condition: All | AnyOf | AtLeast, out: str) -> _Node:
        children = [self.node(child) for child in condition.children]
        universe = frozenset().union(*(c.universe for c in children))
        # Joining codes needs no de-dup when no code can come from two children.
        disjoint = sum(len(c.universe) for c in children) == len(universe)
        codes = f"c{out[1:]}"

        def join(picked: list[str]) -> str:
            if not picked:
                return "()"
            joined = " + ".join(picked) if len(picked) > 1 else picked[0]
            return f"({joined})" if disjoint or len(picked) == 1 else f"_unique({joined})"

        def where(test: str) -> str:
            return join([f"({c.codes} if {c.value} {test} else ())" for c in children])

        def every() -> str:
            if all(c.constant is not None for c in children):
                constant = tuple(dict.fromkeys(code for c in children for code in c.constant or ()))
                return repr(constant)
            return join([c.codes for c in children])

        emit = self.lines.append
        if isinstance(condition, AtLeast):
            true = " + ".join(f"({c.value} is True)" for c in children)
            unknown = " + ".join(f"({c.value} is None)" for c in children)
            emit(f"    n_true = {true}")
            emit(f"    n_unknown = {unknown}")
            emit(f"    if n_true >= {condition.n}:")
            emit(f"        {out} = True")
            emit(f"        {codes} = {where('is True')}")
            emit(f"    elif n_true + n_unknown < {condition.n}:")
            emit(f"        {out} = False")
            emit(f"        {codes} = {where('is False')}")
            emit("    else:")
            emit(f"        {out} = None")
            emit(f"        {codes} = {where('is None')}")
            return _Node(out, codes, universe)
        # all: the first false child decides; any: the first true child decides.
        deciding, other = ("False", "True") if isinstance(condition, All) else ("True", "False")
        keyword = "if"
        for child in children:
            emit(f"    {keyword} {child.value} is {deciding}:")
            emit(f"        {out} = {deciding}")
            emit(f"        {codes} = {child.codes}")
            keyword = "elif"
        emit(f"    elif {' or '.join(f'{c.value} is None' for c in children)}:")
        emit(f"        {out} = None")
        emit(f"        {codes} = {where('is None')}")
        emit("    else:")
        emit(f"        {out} = {other}")
        emit(f"        {codes} = {every()}")
        return _Node(out, codes, universe)


_STEP_TYPES = {
    "boolean": (FindingType.BOOLEAN,),
    "number": (FindingType.INTEGER,),
    "choice": (FindingType.CHOICE, FindingType.MULTI_CHOICE),
    "checklist": (FindingType.BOOLEAN,),
}


def _check_steps(
    steps: tuple[StepDef, ...],
    sections: tuple[SectionDef, ...],
    findings: Mapping[str, FindingDef],
    red_flags: Iterable[str],
    problems: _Problems,
    claim: Callable[[str, str], None],
) -> None:
    """Cross-check the interview's steps against the findings and the questionnaire.

    Every code is a finding asked in a section, asked by one step only, of the step's kind;
    a checklist has at least two items and its own text; an ``ask_if`` only names codes of
    earlier steps (a follow-up comes after what it follows); every red flag and every
    question of the sections is asked by some step.
    """
    where = "questionnaire.yaml"
    in_sections = {q.code for s in sections for q in s.questions}
    asked_by: dict[str, str] = {}
    for step in steps:
        claim(f"step_{step.id}", where)
        ident = f"steps.{step.id}"
        for code in step.codes:
            finding = findings.get(code)
            if finding is None:
                problems.add(where, ident, f"unknown finding code {code!r}")
                continue
            if code not in in_sections:
                problems.add(where, ident, f"{code!r} is in no section")
            if code in asked_by:
                problems.add(where, ident, f"{code!r} is also asked by step {asked_by[code]!r}")
            if finding.type not in _STEP_TYPES[step.kind]:
                problems.add(
                    where, ident, f"a {step.kind} step cannot ask {code!r} ({finding.type.value})"
                )
        if step.kind == "checklist":
            if len(step.codes) < 2:
                problems.add(where, ident, "a checklist has at least two items")
            if not step.text:
                problems.add(where, ident, "a checklist needs a text")
        elif len(step.codes) != 1:
            problems.add(where, ident, f"a {step.kind} step asks exactly one code")
        if step.ask_if is not None:
            condition = _compile_condition(
                step.ask_if, where, ident, findings, problems, path="ask_if"
            )
            if condition is not None:
                for code in dict.fromkeys(condition.codes()):
                    if code not in asked_by:
                        problems.add(
                            where, ident, f"ask_if: {code!r} is not asked by an earlier step"
                        )
        for code in step.codes:
            asked_by.setdefault(code, step.id)
    for code in red_flags:
        if code not in asked_by:
            problems.add(where, code, "red flag asked by no step")
    for code in sorted(in_sections - set(asked_by)):
        if code in findings and findings[code].red_flag:
            continue  # reported above
        problems.add(where, code, "question of a section asked by no step")


def _check_ranges(
    steps: tuple[StepDef, ...],
    rules: Sequence[Rule],
    sections: tuple[SectionDef, ...],
    findings: Mapping[str, FindingDef],
    problems: _Problems,
) -> None:
    """Ranges of a number step cover the finding's numbers in order, without gaps, each with
    its ``value`` inside it; and no triage rule or question condition compares the number
    with a threshold that falls inside a range - so answering a range instead of the exact
    number can never change a result (plan rules, which only choose advice, may)."""
    where = "questionnaire.yaml"
    conditions: list[Condition] = [rule.condition for rule in rules]
    conditions += [parse(s.ask_if) for s in steps if s.ask_if is not None]
    conditions += [
        parse(q.ask_if) for section in sections for q in section.questions if q.ask_if is not None
    ]
    for step in steps:
        if not step.ranges:
            continue
        ident = f"steps.{step.id}.ranges"
        if step.kind != "number":
            problems.add(where, ident, "only a number step can be answered by ranges")
            continue
        code = step.codes[0]
        finding = findings.get(code)
        if finding is None:
            continue
        low = finding.min if finding.min is not None else 0
        for index, answer_range in enumerate(step.ranges):
            if answer_range.min != low:
                problems.add(where, ident, f"range {index} must start at {low}")
            high = answer_range.max
            if high is not None and high < answer_range.min:
                problems.add(where, ident, f"range {index} ends before it starts")
            if not (
                answer_range.min <= answer_range.value
                and (high is None or answer_range.value <= high)
            ):
                problems.add(
                    where, ident, f"range {index}: value {answer_range.value} is outside it"
                )
            if high is None and index != len(step.ranges) - 1:
                problems.add(where, ident, f"range {index} is open-ended but not the last")
            low = (high if high is not None else low) + 1
        last = step.ranges[-1].max
        if last is not None and finding.max is not None and last != finding.max:
            problems.add(where, ident, f"the last range must end at {finding.max} or be open")
        top = finding.max if finding.max is not None else 10**9
        for condition in conditions:
            for node in _compares(condition, code):
                for index, answer_range in enumerate(step.ranges):
                    ends = (
                        answer_range.min,
                        answer_range.max if answer_range.max is not None else top,
                    )
                    if len({_holds(node, end) for end in ends}) > 1:
                        problems.add(
                            where,
                            ident,
                            f"range {index} ({answer_range.label!r}) straddles the threshold "
                            f"{code} {node.op} {node.value}",
                        )


def _compares(condition: Condition, code: str) -> Iterator[Compare]:
    """Every comparison of ``code`` with a number in a condition tree."""
    if isinstance(condition, Compare):
        if condition.code == code and not isinstance(condition.value, str):
            yield condition
        return
    for child in getattr(condition, "children", ()):
        yield from _compares(child, code)
    child = getattr(condition, "child", None)
    if child is not None:
        yield from _compares(child, code)


def _holds(node: Compare, number: int) -> bool:
    """Whether ``number`` satisfies the comparison ``node``."""
    outcome = node.evaluate({node.code: number})
    return outcome.value is True


def question_gates(
    sections: Iterable[SectionDef],
) -> dict[str, Callable[[Answers], Truth] | None]:
    """Each code the interview asks and its compiled ``ask_if`` (None: always asked)."""
    return {
        question.code: None if question.ask_if is None else parse(question.ask_if).compile()
        for section in sections
        for question in section.questions
    }


def _meta_rule(meta: MetaRuleDef) -> Rule:
    """A meta-rule as a ``Rule`` so that results list it like any fired rule."""
    spec = RuleDef(
        id=meta.id,
        title=meta.title,
        concern=meta.concern,
        urgency=meta.urgency,
        when=True,
        patient=meta.patient,
        clinician=meta.clinician,
        sources=meta.sources,
        advice=meta.advice,
        next_steps=meta.next_steps,
    )
    condition = Always()
    return Rule(spec, condition, condition.compile(), "safety.yaml")


# "Today" in an emergency text tells a person with a leaking aorta that the afternoon will
# do. Checked in every language the knowledge base speaks.
_TODAY = {"en": ("today",), "es": ("hoy",)}


def _says_today(text: str, language: str = "en") -> bool:
    import re

    words = set(re.findall(r"\w+", text.lower()))
    return any(word in words for word in _TODAY.get(language, ()))


def _emergency_texts(
    rules: Iterable[Rule],
    advice: Mapping[str, AdviceDef],
    instructions: Mapping[str, InstructionDef],
    urgencies_file: UrgenciesFile | None,
) -> Iterable[tuple[str, str, str]]:
    """(file, id, English text) of every text an emergency result can show as its own."""
    for rule in rules:
        if rule.urgency is Urgency.EMERGENCY:
            yield rule.file, rule.id, rule.spec.patient
            for block_id in rule.spec.advice:
                block = advice.get(block_id)
                if block is not None and block.kind == "action":
                    yield "advice", block_id, block.body
    for instruction in instructions.values():
        yield "safety.yaml", instruction.id, instruction.text
    if urgencies_file:
        for wording in urgencies_file.urgencies:
            if wording.id is Urgency.EMERGENCY:
                for part in (wording.headline, wording.action):
                    yield "urgencies.yaml", "emergency", part


def emergency_keys(
    rules: Iterable[Rule],
    advice: Mapping[str, AdviceDef],
    instructions: Mapping[str, InstructionDef],
) -> set[str]:
    """Translation keys of the texts an emergency result shows as its own."""
    keys = {"urgency.emergency.headline", "urgency.emergency.action"}
    for rule in rules:
        if rule.urgency is Urgency.EMERGENCY:
            keys.add(f"rule.{rule.id}.patient")
            for block_id in rule.spec.advice:
                block = advice.get(block_id)
                if block is not None and block.kind == "action":
                    keys.add(f"advice.{block_id}.body")
    keys.update(f"instruction.{i}" for i in instructions)
    return keys


def _self_care_with_open_red_flags(
    self_care: Rule, findings: Mapping[str, FindingDef], sections: Iterable[SectionDef]
) -> list[str]:
    """Prove that self-care never fires while a red-flag question is unanswered or unsure.

    For each minimal answer set that makes the self-care rule fire, each red flag that
    would be asked (its ``ask_if`` is not false) is made unknown in turn: self-care must
    then no longer fire. Unknown covers both "not asked" and "not sure".
    """
    gates = question_gates(sections)
    problems: set[str] = set()
    for base in _satisfying(self_care.condition):
        if self_care.test(base) is not True:
            continue
        for code, finding in findings.items():
            if not finding.red_flag:
                continue
            gate = gates.get(code)
            if gate is not None and gate(base) is False:
                continue
            answers = dict(base)
            answers.pop(code, None)
            if self_care.test(answers) is True:
                problems.add(code)
    return [
        f"can fire while red flag {code!r} is unanswered or 'not sure'" for code in sorted(problems)
    ]


def _satisfying(condition: Condition, limit: int = 64) -> list[dict[str, FindingValue]]:
    """Minimal answer sets that make ``condition`` true (everything else left unknown)."""
    if isinstance(condition, Is):
        return [{condition.code: True}]
    if isinstance(condition, Not) and isinstance(condition.child, Is):
        return [{condition.child.code: False}]
    if isinstance(condition, Compare | Not) and isinstance(
        condition.child if isinstance(condition, Not) else condition, Compare
    ):
        node = condition.child if isinstance(condition, Not) else condition
        assert isinstance(node, Compare)
        want = not isinstance(condition, Not)
        candidates: list[FindingValue] = (
            [node.value - 1, node.value, node.value + 1]
            if isinstance(node.value, int)
            else [node.value, f"not_{node.value}"]
        )
        test = node.compile()
        return [{node.code: v} for v in candidates if test({node.code: v}) is want][:1]
    if isinstance(condition, AnyOf):
        options: list[dict[str, FindingValue]] = []
        for child in condition.children:
            options.extend(_satisfying(child, limit))
        # An option that answers more than another (``{}`` for "not asked" beside
        # ``{x: False}``) is never the worse case: more answers decide more rules (three-
        # valued logic is monotonic), so only the smallest sets are kept, which keeps the
        # search inside ``limit`` as such alternatives multiply.
        minimal = [
            option
            for option in options
            if not any(
                other is not option
                and len(other) < len(option)
                and all(option.get(k, object()) == v for k, v in other.items())
                for other in options
            )
        ]
        return minimal[:limit]
    if isinstance(condition, All):
        combos: list[dict[str, FindingValue]] = [{}]
        for index, child in enumerate(condition.children):
            so_far = [c.compile() for c in condition.children[: index + 1]]
            merged = []
            for partial in combos:
                for option in _satisfying(child, limit):
                    clash = [k for k, v in option.items() if partial.get(k, v) != v]
                    if not clash:
                        merged.append({**partial, **option})
                        continue
                    # Two bounds on one number (age >= 18 and age <= 80): keep whichever
                    # value satisfies every child so far.
                    for candidate in ({**option, **partial}, {**partial, **option}):
                        if all(test(candidate) is True for test in so_far):
                            merged.append(candidate)
                            break
            combos = merged[:limit]
        return combos
    return [{}] if condition.compile()({}) is True else []


def _necessary_codes(condition: Condition) -> set[str]:
    """The codes a condition cannot be true without: a leaf's code, and those of each part
    of a conjunction (not those under ``any``, ``not`` or ``missing``)."""
    if isinstance(condition, Is | Compare):
        return {condition.code}
    if isinstance(condition, All):
        return set().union(*(_necessary_codes(child) for child in condition.children))
    return set()


def _self_care_leaks(
    self_care: Rule,
    rules: Iterable[Rule],
    gates: Mapping[str, Callable[[Answers], Truth] | None] | None = None,
    given_only: frozenset[str] = frozenset(),
) -> list[str]:
    """Prove that self-care can never be given while another rule could still fire.

    Builds the minimal answer sets that make the self-care rule fire, leaves every other
    finding unknown (the worst case), and reports any rule that is then *undecided*: an
    unasked question that could still raise the urgency. A question the interview does not
    ask for these answers (its ``ask_if`` is false, e.g. a follow-up of a "no") does not
    count: it can never be asked, so it cannot be left unasked. Nor does a ``given_only``
    finding (a measured sign): it is never asked, and it counts when it is given.
    """
    rules = list(rules)
    boundaries: dict[str, set[FindingValue]] = {}
    for rule in rules:
        for node in walk(rule.condition):
            if isinstance(node, Compare) and isinstance(node.value, int):
                boundaries.setdefault(node.code, set()).update(
                    {node.value - 1, node.value, node.value + 1}
                )
    candidates: list[dict[str, FindingValue]] = []
    for base in _satisfying(self_care.condition):
        candidates.append(base)
        # Numbers matter to other rules at their own boundaries (age 65 for fragility
        # fractures, say): try every such value the self-care rule still accepts.
        for code in [c for c, v in base.items() if isinstance(v, int) and not isinstance(v, bool)]:
            for value in sorted(boundaries.get(code, set()), key=str):
                candidates.append({**base, code: value})
    leaks: dict[str, set[str]] = {}
    others = [rule for rule in rules if rule.urgency is not Urgency.SELF_CARE]
    for answers in candidates:
        if self_care.test(answers) is not True:
            continue
        for rule in others:
            if rule.test(answers) is None:
                unknown = {
                    code
                    for code in rule.condition.evaluate(answers).unknown
                    if code not in given_only
                    and (
                        gates is None
                        or (gate := gates.get(code)) is None
                        or gate(answers) is not False
                    )
                }
                if unknown:
                    leaks.setdefault(rule.id, set()).update(unknown)
    return [
        f"can fire while rule {rule_id!r} is still undecided (unasked: {', '.join(sorted(c))})"
        for rule_id, c in sorted(leaks.items())
    ]


def _extension_problems() -> list[str]:
    """Problems reported by knowledge that other packages own (instruments, NLP lexicon,
    handouts, terminology maps, the FHIR Questionnaire's instrument codes)."""
    found: list[str] = []
    for module_name, function_name in (
        ("backpath.instruments", "validate_instruments"),
        ("backpath.nlp", "validate_nlp_knowledge"),
        ("backpath.education", "validate_handout_knowledge"),
        ("backpath.interop", "validate_terminology"),
        ("backpath.interop.fhir", "validate_questionnaire_instruments"),
    ):
        try:
            module = __import__(module_name, fromlist=[function_name])
        except ImportError:
            continue
        validate = getattr(module, function_name, None)
        if validate is not None:
            found.extend(validate())
    return found


@lru_cache(maxsize=4)
def load_knowledge(root: str | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base (cached; pass ``root`` to load another copy)."""
    return _load(Path(root) if root else KNOWLEDGE_DIR)


def check_knowledge(root: str | None = None) -> list[str]:
    """Every problem in the knowledge base, or an empty list (for ``backpath kb check``)."""
    try:
        _load(Path(root) if root else KNOWLEDGE_DIR)
    except KnowledgeError as exc:
        return [*exc.problems, *_extension_problems()]
    return _extension_problems()
