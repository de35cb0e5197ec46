"""The triage engine and its result types.

``assess`` joins what is known about a person (``prepare_answers``), then runs every rule
in one pass: ``kb.program`` (compiled once, when the knowledge base loads) returns each
rule's value together with the findings that decided it (a fired rule's evidence) or would
decide it (what to ask for an undecided one), most urgent rule first. Nothing is evaluated
a second time to explain. Result pieces that many results repeat (an answer's evidence, an
undecided rule with its questions, a rule's wording, a citation) are immutable and built
once per knowledge base; ``Assessment.to_json`` copies them into each new document, and
``Assessment.encode`` writes the same document straight to bytes without the copies.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from backpath.intake import Intake, NarrativeFinding
from backpath.kb import KnowledgeBase, Rule, load_knowledge
from backpath.triage.emergency import emergency_number
from backpath.vocabulary import FindingType, FindingValue, Urgency


@dataclass(frozen=True)
class Evidence:
    """Why a finding has its value: a form answer, or words in the narrative."""

    code: str
    value: FindingValue
    # "answer" | "narrative" | "implied" (from another yes, see findings.yaml `implies`)
    # | "unknown" (not asked, counted as the worse case) | "unsure" (asked: "not sure")
    source: str
    text: str | None = None
    span: tuple[int, int] | None = None
    certainty: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``because`` entry of the Result JSON."""
        out: dict[str, Any] = {
            "code": self.code,
            "value": list(self.value) if isinstance(self.value, tuple) else self.value,
            "source": self.source,
        }
        if self.source in ("implied", "score"):
            out["evidence"] = self.text
        if self.source == "narrative":
            out["evidence"] = self.text
            out["span"] = list(self.span) if self.span else None
            out["certainty"] = self.certainty
        return out

    @cached_property
    def _entry(self) -> dict[str, Any] | None:
        """``to_json()`` made once, when a shallow copy of it is a new document (no list
        in it), else None. Evidence is shared between results (see ``_Memo``)."""
        out = self.to_json()
        return None if any(isinstance(v, list) for v in out.values()) else out


@dataclass(frozen=True)
class Conflict:
    """A form answer and the narrative disagree. Shown to the clinician; safety wins."""

    code: str
    answer: FindingValue
    narrative: FindingValue
    used: FindingValue
    evidence: str
    span: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        """Serialise for the Result JSON."""
        return {
            "code": self.code,
            "answer": self.answer,
            "narrative": self.narrative,
            "used": self.used,
            "evidence": self.evidence,
            "span": list(self.span),
        }


@dataclass(frozen=True)
class FiredRule:
    """A rule whose condition is true, with the findings that made it fire."""

    rule: Rule
    because: tuple[Evidence, ...]

    def to_json(self, kb: KnowledgeBase, language: str) -> dict[str, Any]:
        """Serialise with patient words in ``language`` and clinician words in English."""
        spec = self.rule.spec
        key = ("fired", spec.id, language)
        static = kb.fragments.get(key)
        if static is None:
            static = kb.fragments[key] = {
                "id": spec.id,
                "title": kb.text(f"rule.{spec.id}.title", language, spec.title),
                "urgency": spec.urgency.value,
                "concern": spec.concern.value,
                "patient_message": kb.text(f"rule.{spec.id}.patient", language, spec.patient),
                "clinician_message": spec.clinician,
                "sources": spec.sources,
            }
        return {
            **static,
            "because": [e.to_json() for e in self.because],
            "sources": list(static["sources"]),
        }


@dataclass(frozen=True)
class UnresolvedRule:
    """A rule that could still fire: it is unknown until ``ask`` is answered."""

    rule: Rule
    ask: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Serialise for the Result JSON."""
        spec = self.rule.spec
        return {
            "id": spec.id,
            "title": spec.title,
            "urgency": spec.urgency._value_,
            "concern": spec.concern._value_,
            "ask": list(self.ask),
        }

    @cached_property
    def _entry(self) -> dict[str, Any]:
        """``to_json()`` made once per object, for ``Assessment.encode`` (which shares it;
        the objects are shared between results, see ``_Memo``)."""
        return self.to_json()


@dataclass(frozen=True)
class Assessment:
    """The result of triage: urgency, reasons, what is still open, advice and next steps."""

    urgency: Urgency
    fired: tuple[FiredRule, ...]
    unresolved: tuple[UnresolvedRule, ...]
    advice: tuple[str, ...]
    next_steps: tuple[str, ...]
    safety_net: tuple[str, ...]
    answers: Mapping[str, FindingValue]
    evidence: Mapping[str, Evidence]
    conflicts: tuple[Conflict, ...]
    language: str
    narrative_status: str  # "none" | "read" | "not_understood"
    narrative_problems: tuple[str, ...]
    kb: KnowledgeBase = field(repr=False)
    extras: Mapping[str, Any] = field(default_factory=dict)
    # True when no question left unasked could change the urgency (DESIGN.md v2).
    complete: bool = False
    # Questions the person answered "not sure", in questionnaire order.
    unsure: tuple[str, ...] = ()
    # Questions that could still change the urgency and were never asked.
    unasked: tuple[str, ...] = ()
    # Id of the first instruction of an emergency result (safety.yaml), else None.
    first_instruction: str | None = None

    @property
    def concerns(self) -> tuple[str, ...]:
        """Concerns of the fired rules, most urgent first, without repeats."""
        return self._fired_facts.concerns

    @cached_property
    def _fired_facts(self) -> _FiredFacts:
        """What follows from the fired rules at this urgency (``assess`` fills it in)."""
        return _memo(self.kb).fired_facts(tuple(f.rule for f in self.fired), self.urgency)

    @property
    def fired_ids(self) -> tuple[str, ...]:
        """Ids of the fired rules, most urgent first."""
        return tuple(f.rule.id for f in self.fired)

    @property
    def next_questions(self) -> tuple[str, ...]:
        """Questions that could still change the urgency, the most consequential first."""
        return self._open_facts.next_questions

    @cached_property
    def _open_facts(self) -> _OpenFacts:
        """What follows from the open rules at this urgency (``assess`` fills it in; an
        assessment built otherwise finds or makes it on first use)."""
        return _memo(self.kb).open_facts(self.unresolved, self.urgency)

    @cached_property
    def _cited_key(self) -> tuple[tuple[str, ...], ...]:
        """What names the cited sources: the fired rules' ids and the chosen texts."""
        return (self._fired_facts.rule_ids, self.advice, self.next_steps, self.safety_net)

    def citations(self) -> list[dict[str, Any]]:
        """Every source cited by the fired rules and the chosen texts, in order."""
        cited = _wording(self.kb, self.language).citations(
            tuple(f.rule.spec.id for f in self.fired), self.advice, self.next_steps, self.safety_net
        )
        return [dict(citation) for citation in cited]

    def instruction_json(self, number: str | None = None) -> dict[str, Any] | None:
        """The first instruction of an emergency result, with the emergency number filled in."""
        if self.first_instruction is None:
            return None
        number = number or emergency_number(self.kb)
        key = ("instruction", self.first_instruction, self.language, number)
        made = self.kb.fragments.get(key)
        if made is None:
            instruction = self.kb.instructions[self.first_instruction]
            text = self.kb.text(f"instruction.{instruction.id}", self.language, instruction.text)
            made = self.kb.fragments[key] = {
                "id": instruction.id,
                "text": text.format(emergency_number=number),
                "clinician": instruction.clinician,
                "emergency_number": number,
            }
        return dict(made)

    def to_json(self) -> dict[str, Any]:
        """The public Result JSON (DESIGN.md): a new document the caller may change."""
        return self._document(fresh=True)

    def encode(self, dumps: Callable[[Any], bytes]) -> bytes:
        """The Result JSON written by ``dumps`` (``orjson.dumps``, say) in one step.

        The same document as ``to_json`` and the same bytes as ``dumps(self.to_json())``,
        but the parts every result shares (rule and advice wording, citations) go to
        ``dumps`` as they are, without the copies ``to_json`` makes for a caller that keeps
        the document: this one never leaves the call. Lists may be passed as tuples (a JSON
        encoder writes both as arrays).
        """
        return dumps(self._document(fresh=False))

    def _document(self, fresh: bool) -> dict[str, Any]:
        """The Result JSON; ``fresh``: every list and object in it is new (see ``encode``)."""
        kb, lang = self.kb, self.language
        words = _wording(kb, lang)
        open_facts = self._open_facts
        evidence_json = Evidence.to_json
        blocks = words.blocks
        fired_facts = self._fired_facts
        cited = words.cited(self._cited_key)
        if fresh:
            copy: Callable[[Any], Any] = dict.copy
            listed: Callable[[Any], Any] = list
        else:
            copy = listed = _same
        return {
            "urgency": self.urgency._value_,
            "complete": self.complete,
            # The step a front end would show next (None: nothing left changes the result).
            "next_step": _next_step_json()(self),
            "first_instruction": self.instruction_json(),
            "urgency_text": copy(words.urgency_text[self.urgency]),
            "concerns": listed(fired_facts.concerns),
            "fired_rules": [
                {
                    **static,
                    "because": [
                        evidence_json(e) if (entry := e._entry) is None else {**entry}
                        for e in f.because
                    ],
                    "sources": listed(static["sources"]),
                }
                for static, f in zip(fired_facts.entries(words), self.fired, strict=True)
            ],
            "unresolved": list(
                map(_copy_unresolved, open_facts.entries) if fresh else open_facts.entries
            ),
            "next_questions": listed(open_facts.next_questions),
            "advice": list(map(copy, blocks(self.advice))),
            "next_steps": list(map(copy, blocks(self.next_steps))),
            "safety_net": list(map(copy, blocks(self.safety_net))),
            "conflicts": [c.to_json() for c in self.conflicts],
            "unsure": listed(self.unsure),
            "unasked": listed(self.unasked),
            "narrative": {
                "status": self.narrative_status,
                "problems": list(self.narrative_problems),
                "findings": [
                    e.to_json() for e in self.evidence.values() if e.source == "narrative"
                ],
            },
            "citations": list(map(copy, cited)),
            "language": lang,
            "knowledge_base": {"version": kb.version, "sha256": kb.sha256},
            **self.extras,
        }


def _copy_unresolved(entry: dict[str, Any]) -> dict[str, Any]:
    """A new copy of a shared ``unresolved`` entry (its ``ask`` list too)."""
    out = entry.copy()
    out["ask"] = out["ask"][:]
    return out


def _same(value: Any) -> Any:
    """``value`` itself (``encode`` shares what ``to_json`` copies)."""
    return value


@functools.cache
def _next_step_json() -> Callable[[Assessment], dict[str, Any] | None]:
    """``interview.next_step_json`` (imported on first use: the interview imports us)."""
    from backpath.triage.interview import next_step_json

    return next_step_json


class _Wording:
    """The unchanging parts of a Result JSON for one knowledge base and language.

    A rule's title and messages, an advice block, a citation and the urgency wording are
    the same in every result: each is built once here and copied into each result (so a
    caller that edits its result never changes another's).
    """

    def __init__(self, kb: KnowledgeBase, language: str) -> None:
        self.kb = kb
        self.language = language
        self.urgency_text: dict[Urgency, dict[str, Any]] = {}
        for urgency, wording in kb.urgencies.items():
            value = urgency.value
            self.urgency_text[urgency] = {
                "label": kb.text(f"urgency.{value}.label", language, wording.label),
                "headline": kb.text(f"urgency.{value}.headline", language, wording.headline),
                "action": kb.text(f"urgency.{value}.action", language, wording.action),
                "clinician": wording.clinician,
            }
        self._meta_rules = {rule.id: rule for rule in kb.meta_rules}
        self._cited: dict[tuple[tuple[str, ...], ...], tuple[dict[str, Any], ...]] = {}
        self._fired: dict[str, dict[str, Any]] = {}
        self._blocks: dict[str, dict[str, Any]] = {}
        self._block_lists: dict[tuple[str, ...], tuple[dict[str, Any], ...]] = {}
        self._citations: dict[str, dict[str, Any]] = {}

    def fired(self, rule: Rule) -> dict[str, Any]:
        """A fired rule's entry without its ``because`` (patient words in the language)."""
        found = self._fired.get(rule.spec.id)
        if found is None:
            spec, kb, language = rule.spec, self.kb, self.language
            found = self._fired[spec.id] = {
                "id": spec.id,
                "title": kb.text(f"rule.{spec.id}.title", language, spec.title),
                "urgency": spec.urgency.value,
                "concern": spec.concern.value,
                "patient_message": kb.text(f"rule.{spec.id}.patient", language, spec.patient),
                "clinician_message": spec.clinician,
                "sources": spec.sources,
            }
        return found

    def blocks(self, block_ids: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
        """``block`` of each id (the same few lists recur, so each is looked up once)."""
        found = self._block_lists.get(block_ids)
        if found is None:
            if len(self._block_lists) >= _MEMO_LIMIT:
                self._block_lists.clear()
            found = self._block_lists[block_ids] = tuple(map(self.block, block_ids))
        return found

    def block(self, block_id: str) -> dict[str, Any]:
        """An advice block in the language."""
        found = self._blocks.get(block_id)
        if found is None:
            kb, language = self.kb, self.language
            advice = kb.advice[block_id]
            found = self._blocks[block_id] = {
                "id": block_id,
                "kind": advice.kind,
                "title": kb.text(f"advice.{block_id}.title", language, advice.title),
                "text": kb.text(f"advice.{block_id}.body", language, advice.body),
            }
        return found

    def citations(
        self,
        rule_ids: tuple[str, ...],
        advice: tuple[str, ...],
        next_steps: tuple[str, ...],
        safety_net: tuple[str, ...],
    ) -> tuple[dict[str, Any], ...]:
        """The sources cited by these fired rules and texts, in order, without repeats (the
        same few combinations recur, so each list is built once)."""
        return self.cited((rule_ids, advice, next_steps, safety_net))

    def cited(self, key: tuple[tuple[str, ...], ...]) -> tuple[dict[str, Any], ...]:
        """``citations(*key)``."""
        found = self._cited.get(key)
        if found is None:
            rule_ids, advice, next_steps, safety_net = key
            ids: dict[str, None] = {}
            rules = self.kb.rules_by_id
            for rule_id in rule_ids:
                rule = rules.get(rule_id) or self._meta_rules[rule_id]
                ids.update(dict.fromkeys(rule.spec.sources))
            for blocks in (advice, next_steps, safety_net):
                for block_id in blocks:
                    ids.update(dict.fromkeys(self.kb.advice[block_id].sources))
            if len(self._cited) >= _MEMO_LIMIT:
                self._cited.clear()
            found = self._cited[key] = tuple(self.citation(source_id) for source_id in ids)
        return found

    def citation(self, source_id: str) -> dict[str, Any]:
        """A source as cited in a result."""
        found = self._citations.get(source_id)
        if found is None:
            source = self.kb.sources[source_id]
            found = self._citations[source_id] = {
                "id": source.id,
                "title": source.title,
                "publisher": source.publisher,
                "year": source.year,
                "url": source.url,
                "doi": source.doi,
            }
        return found


def _wording(kb: KnowledgeBase, language: str) -> _Wording:
    """The ``_Wording`` of ``kb`` in ``language`` (built on first use, then kept)."""
    key = ("triage", "wording", language)
    words = kb.fragments.get(key)
    if words is None:
        words = kb.fragments[key] = _Wording(kb, language)
    return words


NarrativeReader = Callable[[str], Any]

_ASSESSMENT_FIELDS = frozenset(f.name for f in fields(Assessment))

# Urgency ranks by urgency (``Urgency.rank`` without the property call, on the hot path).
_RANK = {urgency: urgency.rank for urgency in Urgency}


def _merge_narrative(
    kb: KnowledgeBase,
    answers: dict[str, FindingValue],
    evidence: dict[str, Evidence],
    findings: Sequence[NarrativeFinding],
) -> list[Conflict]:
    """Join narrative findings to the answers under the knowledge base's narrative policy."""
    policy = kb.manifest.narrative
    conflicts: list[Conflict] = []
    # Mentions of one finding can disagree ("no pain in my leg... now my leg hurts"): a
    # present mention is taken before any negation, so the narrative never conflicts
    # with itself and the "yes" wins.
    def present_first(found: NarrativeFinding) -> int:
        return 0 if found.value is True and found.certainty in policy.counts_as_present else 1

    seen: set[str] = set()
    ordered = []
    for found in sorted(findings, key=present_first):
        if found.value is None or found.code in seen:
            continue
        seen.add(found.code)
        ordered.append(found)
    for found in ordered:
        definition = kb.findings.get(found.code)
        if definition is None or found.value is None:
            continue
        given = answers.get(found.code)
        narrative_evidence = Evidence(
            found.code, found.value, "narrative", found.text, found.span, found.certainty
        )
        if definition.type is FindingType.BOOLEAN:
            present = found.value is True and found.certainty in policy.counts_as_present
            absent = found.value is False and found.certainty == "negated"
            if present:
                if given is None:
                    answers[found.code] = True
                    evidence[found.code] = narrative_evidence
                elif given is False:
                    # Safety first: a red flag in the person's own words counts.
                    answers[found.code] = True
                    evidence[found.code] = narrative_evidence
                    conflicts.append(
                        Conflict(found.code, False, True, True, found.text, found.span)
                    )
            elif absent:
                if given is None and (not definition.red_flag or policy.negation_fills_red_flags):
                    answers[found.code] = False
                    evidence[found.code] = narrative_evidence
                elif given is True:
                    conflicts.append(
                        Conflict(found.code, True, False, True, found.text, found.span)
                    )
        elif found.certainty in ("affirmed", "uncertain", "historical"):
            if given is None:
                answers[found.code] = found.value
                evidence[found.code] = narrative_evidence
            elif given != found.value:
                conflicts.append(
                    Conflict(found.code, given, found.value, given, found.text, found.span)
                )
    return conflicts


def _apply_implications(
    kb: KnowledgeBase, answers: dict[str, FindingValue], evidence: dict[str, Evidence]
) -> list[Conflict]:
    """A "yes" that implies another "yes" (pain below the knee is leg pain) fills it in.

    When the implied question was answered "no", the "yes" wins (safety first) and the
    conflict is recorded for the clinician.
    """
    conflicts: list[Conflict] = []
    for code, implied in kb.implications:
        if answers.get(code) is not True:
            continue
        reason = f"implied by {code} = yes"
        for target in implied:
            given = answers.get(target)
            if given is True:
                continue
            answers[target] = True
            evidence[target] = Evidence(target, True, "implied", reason)
            if given is False:
                conflicts.append(Conflict(target, False, True, True, reason, (0, 0)))
    return conflicts


@dataclass
class PreparedAnswers:
    """The answers rules run on: form answers joined with the narrative, implications and
    scores, plus where each value came from and what disagreed."""

    answers: dict[str, FindingValue]
    evidence: dict[str, Evidence]
    conflicts: list[Conflict]
    narrative_status: str
    narrative_problems: tuple[str, ...]
    scores: dict[str, Any]


def prepare_answers(
    intake: Intake,
    kb: KnowledgeBase,
    narrative_findings: Sequence[NarrativeFinding] | None = None,
    read_narrative: NarrativeReader | None = None,
) -> PreparedAnswers:
    """Join everything known about the person into one set of answers (no rules run yet).

    Shared by ``assess`` and population screening, so both see the same facts.
    """
    answers: dict[str, FindingValue] = dict(intake.answers)
    # Evidence is kept for narrative findings; a form answer's evidence is the answer itself
    # and is built only for the findings that decide a rule (see ``_evidence_for``).
    evidence: dict[str, Evidence] = {}
    if not intake.narrative and narrative_findings is None and not intake.instruments:
        # Form answers alone (the common case): only the implications apply.
        implied = _apply_implications(kb, answers, evidence)
        return PreparedAnswers(answers, evidence, implied, "none", (), {})
    conflicts: list[Conflict] = []
    status, problems = "none", ()
    if intake.narrative and narrative_findings is None:
        reader = read_narrative or _default_reader(intake.language)
        reading = reader(intake.narrative)
        if reading.understood:
            narrative_findings = list(reading.findings)
            status = "read"
        else:
            status = "not_understood"
            if kb.manifest.narrative.not_understood_keeps_present:
                # A text we can't read as a whole may still say "can't pee" in English:
                # a red flag found in it still counts; nothing in it counts as a "no".
                narrative_findings = [
                    f
                    for f in reading.findings
                    if f.value is True
                    and f.certainty in kb.manifest.narrative.counts_as_present
                    and f.code in kb.findings
                    and kb.findings[f.code].red_flag
                ]
        problems = tuple(reading.problems)
    elif narrative_findings is not None:
        status = "read"
    if narrative_findings:
        conflicts = _merge_narrative(kb, answers, evidence, narrative_findings)
    conflicts.extend(_apply_implications(kb, answers, evidence))
    scores = _score_instruments(kb, intake, answers, evidence)
    return PreparedAnswers(answers, evidence, conflicts, status, problems, scores)


def assess(
    intake: Intake,
    kb: KnowledgeBase | None = None,
    narrative_findings: Sequence[NarrativeFinding] | None = None,
    read_narrative: NarrativeReader | None = None,
) -> Assessment:
    """Triage one intake.

    ``narrative_findings`` may be given by a caller that already read the narrative;
    otherwise, when the intake has a narrative, ``read_narrative`` (default:
    ``backpath.nlp.read_narrative``) reads it. A narrative that is not understood is
    reported and contributes nothing - it is never taken to mean "no red flags".
    """
    kb = kb or load_knowledge()
    status: str
    problems: tuple[str, ...]
    scores: dict[str, Any]
    if not intake.narrative and narrative_findings is None and not intake.instruments:
        # Form answers alone: ``prepare_answers`` would only apply the implications.
        answers: dict[str, FindingValue] = dict(intake.answers)
        evidence: dict[str, Evidence] = {}
        conflicts = _apply_implications(kb, answers, evidence)
        status, problems, scores = "none", (), {}
    else:
        prepared = prepare_answers(intake, kb, narrative_findings, read_narrative)
        answers, evidence, conflicts = prepared.answers, prepared.evidence, prepared.conflicts
        status, problems, scores = (
            prepared.narrative_status,
            prepared.narrative_problems,
            prepared.scores,
        )

    # One pass over the rules, most urgent first: each rule's value together with the
    # findings that decided it (fired: the evidence) or would decide it (undecided: what
    # to ask). Nothing is evaluated twice.
    decided, undecided = kb.program.decide(answers)
    urgency = decided[0][0].urgency if decided else kb.manifest.baseline_urgency

    unsure = (
        frozenset(code for code in intake.unsure if code not in answers)
        if intake.unsure
        else _NONE
    )
    memo = _memo(kb)
    fired_list = _fired_rules(decided, answers, evidence, unsure, memo.evidence)
    unresolved = memo.unresolved_rules(undecided)

    # "Not sure" never ends as routine (safety.yaml): a serious rule still open because of
    # "not sure" answers raises the result, finished interview or not; and a rule that
    # "not sure" answers alone keep from firing, with a red flag answered "yes" in it,
    # fires: the worse case is not ruled out.
    if unsure:
        urgency, completed = _unsure_escalation(kb, unresolved, answers, unsure, urgency)
        for rule, doubted in completed:
            fired_list.append(
                FiredRule(
                    rule,
                    tuple(
                        Evidence(code, None, "unsure")
                        if code in unsure
                        else _evidence_for(code, answers, evidence, unsure)
                        for code in doubted
                    ),
                )
            )

    # Words we could not read never end as self-care; danger words we could not place are
    # read by a clinician the same day.
    if "danger_words" in problems and urgency.rank < kb.danger_words_rule.urgency.rank:
        meta = kb.danger_words_rule
        fired_list.append(FiredRule(meta, ()))
        urgency = meta.urgency
    elif urgency is Urgency.SELF_CARE and status == "not_understood":
        meta = kb.narrative_rule
        fired_list.append(FiredRule(meta, ()))
        urgency = meta.urgency

    # Complete: no question that was never asked could still raise the urgency (the final
    # one, "not sure" and the narrative taken into account). A question answered "not sure"
    # was asked; a question whose ask_if is false is not asked at all.
    # ``unresolved`` is most urgent first, so the rules above the urgency are a prefix.
    open_facts = memo.open_facts(unresolved, urgency)
    gates = kb.question_gates
    unasked_codes = []
    for code, gate in open_facts.raising_gates:
        if code in answers or code in unsure:
            continue
        if gate is None or gate(answers) is not False:
            unasked_codes.append(code)
    unasked = tuple(unasked_codes)
    complete = not unasked

    # The rules came most urgent first; a meta-rule added above takes its place by urgency.
    fired = (
        tuple(fired_list)
        if len(fired_list) == len(decided)
        else tuple(sorted(fired_list, key=lambda f: -f.rule.urgency.rank))
    )
    fired_facts = memo.fired_facts(
        tuple(map(_FIRST, decided))
        if len(fired) == len(decided)
        else tuple([f.rule for f in fired]),
        urgency,
    )
    first_instruction = fired_facts.first_instruction

    # "Serious causes could not be ruled out" when a rule above the result is still open
    # through a question that was not asked and would be, a "not sure" answer, or a code
    # no question asks - not through a follow-up whose ask_if is false (the person was
    # rightly never asked about a blocked bowel without belly pain or vomiting).
    doubt = open_facts.raises and (
        not complete
        or open_facts.raises_unasked
        or any(code in unsure for code, _gate in open_facts.raising_gates)
    )
    advice: list[str] = [kb.manifest.unresolved_advice] if doubt else []
    advice.extend(fired_facts.advice)
    next_steps = list(fired_facts.next_steps)
    for plan_rule in kb.plan_by_urgency[urgency]:
        if plan_rule.test(answers) is True:
            advice.extend(plan_rule.spec.advice)
            next_steps.extend(plan_rule.spec.next_steps)
    texts = memo.texts(fired_facts, tuple(advice), tuple(next_steps))
    # Every field, and the cached properties known already (the constructor of
    # ``_new_assessment`` without its check: the tests check the fields of results).
    assessment = object.__new__(Assessment)
    assessment.__dict__.update(
        {
            "urgency": urgency,
            "fired": fired,
            "unresolved": unresolved,
            "advice": texts.advice,
            "next_steps": texts.next_steps,
            "safety_net": texts.safety_net,
            "answers": answers,
            "evidence": evidence,
            "conflicts": tuple(conflicts),
            "language": intake.language,
            "narrative_status": status,
            "narrative_problems": problems,
            "kb": kb,
            "extras": {"scores": [s.to_json() for s in scores.values()]} if scores else {},
            "complete": complete,
            "unsure": tuple(code for code in gates if code in unsure) if unsure else (),
            "unasked": unasked,
            "first_instruction": first_instruction,
            "_open_facts": open_facts,
            "_fired_facts": fired_facts,
            "_cited_key": texts.cited_key,
        }
    )
    return assessment


_NONE: frozenset[str] = frozenset()


def _new_assessment(**values: Any) -> Assessment:
    """An ``Assessment`` with every field given, built without the frozen dataclass's
    ``__init__`` (one ``object.__setattr__`` per field: a tenth of a triage). The object is
    the same: frozen, equal and printed as one built by ``Assessment(...)``. Every field
    must be given, and nothing else."""
    if values.keys() != _ASSESSMENT_FIELDS:
        raise TypeError(f"Assessment fields: {sorted(_ASSESSMENT_FIELDS ^ values.keys())}")
    assessment = object.__new__(Assessment)
    assessment.__dict__.update(values)
    return assessment


def _score_instruments(
    kb: KnowledgeBase,
    intake: Intake,
    answers: dict[str, FindingValue],
    evidence: dict[str, Evidence],
) -> dict[str, Any]:
    """Score the intake's instruments and fill the findings that come from scores.

    A STarT Back stratum becomes the finding ``startback_stratum`` so that plan rules (data)
    can match care to risk; the triage engine itself knows no instrument.
    """
    if not intake.instruments:
        return {}
    from backpath.instruments import score_many

    scores = score_many(intake.instruments)
    for code, finding in kb.findings.items():
        if finding.from_score is None or code in answers:
            continue
        instrument_id, part = finding.from_score.split(".")
        result = scores.get(instrument_id)
        if result is None:
            continue
        value = getattr(result, part)
        if value is None:
            continue
        if finding.type is FindingType.INTEGER:
            value = round(value)
        answers[code] = value
        evidence[code] = Evidence(code, value, "score", f"{instrument_id} {part}")
    return scores


def _evidence_for(
    code: str,
    answers: Mapping[str, FindingValue],
    narrative: Mapping[str, Evidence],
    unsure: frozenset[str] = frozenset(),
) -> Evidence:
    """Where the value of ``code`` came from: the narrative, a form answer, "not sure", or
    nowhere (not asked)."""
    if code in narrative:
        return narrative[code]
    if code in answers:
        return Evidence(code, answers[code], "answer")
    return Evidence(code, None, "unsure" if code in unsure else "unknown")


_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)

# Memo entries kept per knowledge base before the memo starts again (bounds its memory).
_MEMO_LIMIT = 65_536
_MEMO_KEY = ("triage", "memo")


class _OpenFacts:
    """What follows from one tuple of open rules (``UnresolvedRule``, most urgent first) at
    one urgency; shared by every result with the same open rules and urgency.

    ``raising_gates``: the codes of the open rules above the urgency (they could raise it)
    that the interview asks, in order, without repeats, each with its ``ask_if``.
    ``next_questions``: the codes of the open rules of any other urgency, likewise
    (``Assessment.next_questions``). ``raises``: whether an open rule is above the urgency;
    ``raises_unasked``: whether such a rule asks a code that no question of the interview asks.
    ``entries``: each rule's ``unresolved`` entry of the Result JSON (shared; ``to_json``
    copies them). ``emergency_steps``: the steps asking a code of an open emergency rule,
    with those codes, in questionnaire order (``interview.plan_step``'s first choice).
    """

    __slots__ = (
        "emergency_steps",
        "entries",
        "next_questions",
        "raises",
        "raises_unasked",
        "raising_gates",
        "unresolved",
    )

    def __init__(
        self, kb: KnowledgeBase, unresolved: tuple[UnresolvedRule, ...], urgency: Urgency
    ) -> None:
        rank = _RANK[urgency]
        raising: dict[str, None] = {}
        others: dict[str, None] = {}
        # The interview steps asking a code of an open emergency rule, each with those
        # codes, in questionnaire order (the interview planner's first choice).
        emergency: dict[str, dict[str, None]] = {}
        step_id_of_code = kb.step_id_of_code
        for item in unresolved:
            rule_rank = _RANK[item.rule.spec.urgency]
            if rule_rank > rank:
                raising.update(dict.fromkeys(item.ask))
            if rule_rank != rank:
                others.update(dict.fromkeys(item.ask))
            if item.rule.spec.urgency is Urgency.EMERGENCY:
                for code in item.ask:
                    step_id = step_id_of_code.get(code)
                    if step_id is not None:
                        emergency.setdefault(step_id, {})[code] = None
        position = kb.step_position
        self.emergency_steps = tuple(
            (step_id, tuple(emergency[step_id]))
            for step_id in sorted(emergency, key=position.__getitem__)
        )
        # Kept so that the ids in the memo key name live objects (see ``open_facts``).
        self.unresolved = unresolved
        # The codes that could raise it that the interview asks (a code without a question is never "unasked"), each
        # with its compiled ``ask_if`` (None: always asked).
        gates = kb.question_gates
        self.raising_gates = tuple((code, gates[code]) for code in raising if code in gates)
        # A code that could raise the result and that no question asks.
        self.raises_unasked = any(code not in gates for code in raising)
        self.next_questions = tuple(others)
        self.raises = bool(unresolved) and _RANK[unresolved[0].rule.spec.urgency] > rank
        self.entries = tuple(item._entry for item in unresolved)


class _FiredFacts:
    """What follows from one tuple of fired rules (most urgent first) at one urgency;
    shared by every result with the same fired rules and urgency.

    ``rule_ids`` and ``concerns`` (without repeats) in order; ``first_instruction``: the
    highest-priority first instruction of the rules that set an emergency (else None);
    ``advice`` and ``next_steps``: the texts the fired rules bring, in order, with repeats
    ("what to do now" only from the rules that set the urgency).
    """

    __slots__ = (
        "advice",
        "by_language",
        "concerns",
        "first_instruction",
        "next_steps",
        "rule_ids",
        "rules",
    )

    def __init__(self, kb: KnowledgeBase, rules: tuple[Rule, ...], urgency: Urgency) -> None:
        # Kept so that the ids in the memo key name live objects (see ``fired_facts``).
        self.rules = rules
        self.rule_ids = tuple(rule.spec.id for rule in rules)
        self.concerns = tuple(dict.fromkeys(rule.spec.concern._value_ for rule in rules))
        self.first_instruction: str | None = None
        if urgency is Urgency.EMERGENCY:
            ranks = kb.instruction_rank
            chosen = [
                rule.spec.first_instruction
                for rule in rules
                if rule.urgency is urgency and rule.spec.first_instruction
            ]
            self.first_instruction = min(chosen, key=lambda i: ranks[i]) if chosen else None
        advice: list[str] = []
        next_steps: list[str] = []
        for rule in rules:
            # "What to do now" comes only from the rules that set the urgency: an emergency
            # result must not also say "book a visit" because a lesser rule fired too.
            for block_id in rule.spec.advice:
                if rule.urgency is urgency or kb.advice[block_id].kind != "action":
                    advice.append(block_id)
            next_steps.extend(rule.spec.next_steps)
        self.advice = tuple(advice)
        self.next_steps = tuple(next_steps)
        self.by_language: dict[str, tuple[dict[str, Any], ...]] = {}

    def entries(self, words: _Wording) -> tuple[dict[str, Any], ...]:
        """Each fired rule's shared entry without its ``because`` (``_Wording.fired``) in
        the wording's language."""
        found = self.by_language.get(words.language)
        if found is None:
            found = self.by_language[words.language] = tuple(map(words.fired, self.rules))
        return found


class _Texts:
    """The advice, next steps and safety net of a result, from the texts its fired and
    care-plan rules bring (in order, with repeats): each once, in order of first mention,
    the safety-net blocks set apart from the advice. ``cited_key`` names the sources they
    and the fired rules cite (``_Wording.cited``)."""

    __slots__ = ("advice", "cited_key", "next_steps", "safety_net")

    def __init__(
        self,
        kb: KnowledgeBase,
        fired: _FiredFacts,
        advice: tuple[str, ...],
        next_steps: tuple[str, ...],
    ) -> None:
        unique = tuple(dict.fromkeys(advice))
        self.safety_net = tuple(b for b in unique if kb.advice[b].kind == "safety_net")
        self.advice = tuple(b for b in unique if b not in self.safety_net)
        self.next_steps = tuple(dict.fromkeys(next_steps))
        self.cited_key = (fired.rule_ids, self.advice, self.next_steps, self.safety_net)


class _Memo:
    """Result pieces shared by the assessments of one knowledge base.

    ``Evidence`` and ``UnresolvedRule`` are immutable and most results repeat the same few
    (``leg_pain`` answered yes; a rule open until ``saddle_numbness`` is answered), so each
    is built once and shared instead of rebuilt for every result. The memo is bounded: it
    starts again when it holds ``_MEMO_LIMIT`` entries.
    """

    def __init__(self) -> None:
        self.evidence: dict[tuple[Any, ...], Evidence] = {}
        self.unresolved: dict[tuple[str, tuple[str, ...]], UnresolvedRule] = {}
        self.unresolved_sets: dict[tuple[Any, ...], tuple[UnresolvedRule, ...]] = {}
        self.open: dict[tuple[Any, ...], _OpenFacts] = {}
        self.fired: dict[tuple[Any, ...], _FiredFacts] = {}
        self.kb: KnowledgeBase | None = None
        self.texts_by_key: dict[tuple[Any, ...], _Texts] = {}

    def texts(
        self, fired: _FiredFacts, advice: tuple[str, ...], next_steps: tuple[str, ...]
    ) -> _Texts:
        """The ``_Texts`` of these fired rules and mentioned texts (the key holds ``fired``
        itself, compared by identity: the memo entry keeps it alive)."""
        key = (fired, advice, next_steps)
        found = self.texts_by_key.get(key)
        if found is None:
            if len(self.texts_by_key) >= _MEMO_LIMIT:
                self.texts_by_key.clear()
            assert self.kb is not None
            found = self.texts_by_key[key] = _Texts(self.kb, fired, advice, next_steps)
        return found

    def fired_facts(self, rules: tuple[Rule, ...], urgency: Urgency) -> _FiredFacts:
        """The ``_FiredFacts`` of ``rules`` at ``urgency`` (keyed by ids, as ``open_facts``)."""
        key = (urgency, *map(id, rules))
        found = self.fired.get(key)
        if found is None:
            if len(self.fired) >= _MEMO_LIMIT:
                self.fired.clear()
            assert self.kb is not None
            found = self.fired[key] = _FiredFacts(self.kb, rules, urgency)
        return found

    def open_facts(
        self, unresolved: tuple[UnresolvedRule, ...], urgency: Urgency
    ) -> _OpenFacts:
        """The ``_OpenFacts`` of ``unresolved`` at ``urgency``. Keyed by the tuple's id
        (``unresolved_rules`` gives the same tuple for the same open rules): an entry keeps
        its tuple alive, so no id in its key can name another object."""
        key = (urgency, id(unresolved))
        found = self.open.get(key)
        if found is None:
            if len(self.open) >= _MEMO_LIMIT:
                self.open.clear()
            assert self.kb is not None
            found = self.open[key] = _OpenFacts(self.kb, unresolved, urgency)
        return found

    def unresolved_rules(
        self, undecided: Sequence[tuple[Rule, tuple[str, ...]]]
    ) -> tuple[UnresolvedRule, ...]:
        """``UnresolvedRule`` for each undecided ``(rule, codes to ask)``, in order; the same
        tuple for the same undecided rules (keyed by the rules' ids: they live as long as
        the knowledge base, which holds this memo)."""
        whole = (tuple(map(id, map(_FIRST, undecided))), tuple(map(_SECOND, undecided)))
        found = self.unresolved_sets.get(whole)
        if found is not None:
            return found
        cache = self.unresolved
        given_only = self.kb.given_only_codes if self.kb is not None else frozenset()
        out = []
        for rule, ask in undecided:
            if given_only and not given_only.isdisjoint(ask):
                # A measured sign nobody gave is not a question left open: the rule needs
                # the number (the loader proves a measured sign is a necessary condition of
                # every rule that names it), so it counts only once the number is given.
                continue
            key = (rule.spec.id, ask)
            item = cache.get(key)
            if item is None:
                if len(cache) >= _MEMO_LIMIT:
                    cache.clear()
                item = cache[key] = UnresolvedRule(rule, ask)
            out.append(item)
        if len(self.unresolved_sets) >= _MEMO_LIMIT:
            self.unresolved_sets.clear()
        found = self.unresolved_sets[whole] = tuple(out)
        return found


def _memo(kb: KnowledgeBase) -> _Memo:
    """The memo of ``kb`` (kept with its other memoised fragments)."""
    memo = kb.fragments.get(_MEMO_KEY)
    if memo is None:
        memo = kb.fragments[_MEMO_KEY] = _Memo()
        memo.kb = kb
    return memo


def _unsure_escalation(
    kb: KnowledgeBase,
    unresolved: Sequence[Any],
    answers: Mapping[str, FindingValue],
    unsure: frozenset[str],
    urgency: Urgency,
) -> tuple[Urgency, list[tuple[Rule, tuple[str, ...]]]]:
    """The urgency once "not sure" answers are taken into account, and the rules they
    complete (each with the codes that decide it).

    ``unresolved`` is most urgent first. A rule of at least ``unsure_escalates_from``, above
    the current urgency, still open and asking a "not sure" code, raises the result to the
    ``unsure_not_ruled_out`` meta-rule's urgency (the meta-rule fires with the doubted codes
    as evidence). A rule of at least ``unsure_completes_from`` that is true when every "not
    sure" yes/no answer is taken as "yes", and that names a red-flag sign answered "yes"
    (``_completing_signs``: not a risk factor alone), fires with its own urgency: "not
    sure" about the last piece of an emergency is not a reason to wait.
    """
    safety = kb.safety
    doubted: dict[str, None] = {}
    completed: list[tuple[Rule, tuple[str, ...]]] = []
    as_yes: dict[str, FindingValue] | None = None
    raised = urgency
    for item in unresolved:
        rule = item.rule
        rank = rule.urgency.rank
        if rank <= urgency.rank:
            break
        if rank < safety.unsure_escalates_from.rank:
            continue
        asked_unsure = [code for code in item.ask if code in unsure]
        if not asked_unsure:
            continue
        doubted.update(dict.fromkeys(asked_unsure))
        if rank < safety.unsure_completes_from.rank or rank <= raised.rank:
            continue
        if as_yes is None:
            as_yes = dict(answers)
            for code in unsure:
                if kb.findings[code].type is FindingType.BOOLEAN:
                    as_yes[code] = True
        outcome = rule.condition.evaluate(as_yes)
        if outcome.value is not True:
            continue
        if any(answers.get(code) is True for code in _completing_signs(kb, rule)):
            completed.append((rule, tuple(dict.fromkeys(outcome.decided_by))))
            raised = rule.urgency
    if doubted:
        meta = kb.unsure_rule
        completed.append((meta, tuple(doubted)))
        if meta.urgency.rank > raised.rank:
            raised = meta.urgency
    return raised, completed


_SIGNS: dict[tuple[str, str], frozenset[str]] = {}


def _completing_signs(kb: KnowledgeBase, rule: Rule) -> frozenset[str]:
    """The red-flag signs a rule names (its risk factors excluded, safety.yaml
    ``unsure_risk_factors``) and the ``unsure_context_signs``: a "yes" to one lets "not
    sure" answers complete the rule. Kept per knowledge-base content (its sha256) and rule."""
    key = (kb.sha256, rule.id)
    known = _SIGNS.get(key)
    if known is not None:
        return known
    risks = set(kb.safety.unsure_risk_factors)
    known = _SIGNS[key] = frozenset(
        code
        for code in rule.condition.codes()
        if kb.findings[code].red_flag
        and code not in risks
        and kb.findings[code].type is FindingType.BOOLEAN
    ) | frozenset(kb.safety.unsure_context_signs)
    return known


def _because(
    codes: tuple[str, ...],
    answers: Mapping[str, FindingValue],
    evidence: Mapping[str, Evidence],
    unsure: frozenset[str],
    cache: dict[tuple[Any, ...], Evidence],
) -> tuple[Evidence, ...]:
    """The evidence of a fired rule: ``_evidence_for`` each code, shared through ``cache``."""
    out = []
    for code in codes:
        found = evidence.get(code)
        if found is None:
            if code in answers:
                value = answers[code]
                # The type is part of the key: ``1`` and ``True`` are equal dict keys.
                key: tuple[Any, ...] = (code, value.__class__, value)
            else:
                key = (code, "unsure" if code in unsure else "unknown")
            try:
                found = cache.get(key)
            except TypeError:  # an unhashable value (a list given by a Python caller)
                found = _evidence_for(code, answers, evidence, unsure)
            if found is None:
                if len(cache) >= _MEMO_LIMIT:
                    cache.clear()
                found = cache[key] = _evidence_for(code, answers, evidence, unsure)
        out.append(found)
    return tuple(out)


def _fired_rules(
    decided: Sequence[tuple[Rule, tuple[str, ...]]],
    answers: Mapping[str, FindingValue],
    evidence: Mapping[str, Evidence],
    unsure: frozenset[str],
    cache: dict[tuple[Any, ...], Evidence],
) -> list[FiredRule]:
    """A ``FiredRule`` for each fired ``(rule, codes)``, its evidence as ``_because`` gives
    it. The common case (evidence already in ``cache`` for a form answer) is looked up
    here; anything else goes through ``_because``."""
    out = []
    new = object.__new__
    for rule, codes in decided:
        because = []
        for code in codes:
            found = evidence.get(code)
            if found is None and code in answers:
                value = answers[code]
                try:
                    found = cache.get((code, value.__class__, value))
                except TypeError:
                    found = None
            if found is None:
                (found,) = _because((code,), answers, evidence, unsure, cache)
            because.append(found)
        fired = new(FiredRule)
        fields_of = fired.__dict__
        fields_of["rule"] = rule
        fields_of["because"] = tuple(because)
        out.append(fired)
    return out


def _default_reader(language: str = "en") -> NarrativeReader:
    """``backpath.nlp.read_narrative`` given the intake's language: it chooses the reader
    when the text itself does not say (issue 11: "es" reads a short Spanish text)."""
    import functools
    import importlib

    read: Any = importlib.import_module("backpath.nlp").read_narrative
    reader: NarrativeReader = functools.partial(read, language=language)
    return reader


def assess_json(data: Any) -> dict[str, Any]:
    """Validate a decoded Intake JSON object, triage it, and return the Result JSON."""
    return assess(Intake.from_json(data)).to_json()
