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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from backpath.intake import Intake, NarrativeFinding
from backpath.kb import KnowledgeBase, Rule, load_knowledge
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
        return tuple(dict.fromkeys(f.rule.spec.concern._value_ for f in self.fired))

    @property
    def fired_ids(self) -> tuple[str, ...]:
        """Ids of the fired rules, most urgent first."""
        return tuple(f.rule.id for f in self.fired)

    @property
    def next_questions(self) -> tuple[str, ...]:
        """Questions that could still change the urgency, the most consequential first."""
        urgency = self.urgency
        codes: list[str] = []
        for item in self.unresolved:
            if item.rule.spec.urgency is not urgency:
                codes.extend(item.ask)
        return tuple(dict.fromkeys(codes))

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
        from backpath.triage.emergency import emergency_number

        number = number or emergency_number(self.kb)
        instruction = self.kb.instructions[self.first_instruction]
        key = f"instruction.{instruction.id}"
        text = self.kb.text(key, self.language, instruction.text)
        return {
            "id": instruction.id,
            "text": text.format(emergency_number=number),
            "clinician": instruction.clinician,
            "emergency_number": number,
        }

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
        fired_static = words.fired
        unresolved_static = words.unresolved
        evidence_json = Evidence.to_json
        block = words.block
        cited = words.citations(
            tuple(f.rule.spec.id for f in self.fired), self.advice, self.next_steps, self.safety_net
        )
        if fresh:
            copy: Callable[[Any], Any] = dict
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
            "concerns": listed(self.concerns),
            "fired_rules": [
                {
                    **(static := fired_static(f.rule)),
                    "because": [evidence_json(e) for e in f.because],
                    "sources": listed(static["sources"]),
                }
                for f in self.fired
            ],
            "unresolved": (
                [{**unresolved_static(u.rule), "ask": list(u.ask)} for u in self.unresolved]
                if fresh
                else [u._entry for u in self.unresolved]
            ),
            "next_questions": listed(self.next_questions),
            "advice": [copy(block(block_id)) for block_id in self.advice],
            "next_steps": [copy(block(block_id)) for block_id in self.next_steps],
            "safety_net": [copy(block(block_id)) for block_id in self.safety_net],
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
            "citations": [copy(citation) for citation in cited],
            "language": lang,
            "knowledge_base": {"version": kb.version, "sha256": kb.sha256},
            **self.extras,
        }


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
        self._unresolved: dict[str, dict[str, Any]] = {}
        self._blocks: dict[str, dict[str, Any]] = {}
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

    def unresolved(self, rule: Rule) -> dict[str, Any]:
        """An unresolved rule's entry without its ``ask`` (clinician words: English)."""
        found = self._unresolved.get(rule.spec.id)
        if found is None:
            spec = rule.spec
            found = self._unresolved[spec.id] = {
                "id": spec.id,
                "title": spec.title,
                "urgency": spec.urgency._value_,
                "concern": spec.concern._value_,
            }
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
        key = (rule_ids, advice, next_steps, safety_net)
        found = self._cited.get(key)
        if found is None:
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

    unsure = frozenset(code for code in intake.unsure if code not in answers)
    memo = _memo(kb)
    fired_list = [
        FiredRule(rule, _because(codes, answers, evidence, unsure, memo.evidence))
        for rule, codes in decided
    ]
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
    rank = _RANK[urgency]
    raising: list[str] = []
    for open_rule in unresolved:
        if _RANK[open_rule.rule.spec.urgency] <= rank:
            break
        raising.extend(open_rule.ask)
    gates = kb.question_gates
    unasked_codes = []
    for code in dict.fromkeys(raising):
        if code in answers or code in unsure or code not in gates:
            continue
        gate = gates[code]
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
    first_instruction = None
    if urgency is Urgency.EMERGENCY:
        ranks = kb.instruction_rank
        chosen = [
            f.rule.spec.first_instruction
            for f in fired
            if f.rule.urgency is urgency and f.rule.spec.first_instruction
        ]
        first_instruction = min(chosen, key=lambda i: ranks[i]) if chosen else None

    advice: list[str] = []
    next_steps: list[str] = []
    safety_net: list[str] = []
    if unresolved and _RANK[unresolved[0].rule.spec.urgency] > _RANK[urgency]:
        advice.append(kb.manifest.unresolved_advice)
    for item in fired:
        # "What to do now" comes only from the rules that set the urgency: an emergency
        # result must not also say "book a visit" because a lesser rule fired too.
        for block_id in item.rule.spec.advice:
            if item.rule.urgency is urgency or kb.advice[block_id].kind != "action":
                advice.append(block_id)
        next_steps.extend(item.rule.spec.next_steps)
    for plan_rule in kb.plan_by_urgency[urgency]:
        if plan_rule.test(answers) is True:
            advice.extend(plan_rule.spec.advice)
            next_steps.extend(plan_rule.spec.next_steps)
    advice_blocks = kb.advice
    for block_id in dict.fromkeys(advice):
        if advice_blocks[block_id].kind == "safety_net":
            safety_net.append(block_id)
    return _new_assessment(
        urgency=urgency,
        fired=fired,
        unresolved=unresolved,
        advice=(
            tuple(b for b in dict.fromkeys(advice) if b not in safety_net)
            if safety_net
            else tuple(dict.fromkeys(advice))
        ),
        next_steps=tuple(dict.fromkeys(next_steps)),
        safety_net=tuple(safety_net),
        answers=answers,
        evidence=evidence,
        conflicts=tuple(conflicts),
        language=intake.language,
        narrative_status=status,
        narrative_problems=problems,
        kb=kb,
        extras={"scores": [s.to_json() for s in scores.values()]} if scores else {},
        complete=complete,
        unsure=tuple(code for code in gates if code in unsure) if unsure else (),
        unasked=unasked,
        first_instruction=first_instruction,
    )


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


# Memo entries kept per knowledge base before the memo starts again (bounds its memory).
_MEMO_LIMIT = 65_536
_MEMO_KEY = ("triage", "memo")


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

    def unresolved_rules(
        self, undecided: Sequence[tuple[Rule, tuple[str, ...]]]
    ) -> tuple[UnresolvedRule, ...]:
        """``UnresolvedRule`` for each undecided ``(rule, codes to ask)``, in order."""
        cache = self.unresolved
        out = []
        for rule, ask in undecided:
            key = (rule.spec.id, ask)
            item = cache.get(key)
            if item is None:
                if len(cache) >= _MEMO_LIMIT:
                    cache.clear()
                item = cache[key] = UnresolvedRule(rule, ask)
            out.append(item)
        return tuple(out)


def _memo(kb: KnowledgeBase) -> _Memo:
    """The memo of ``kb`` (kept with its other memoised fragments)."""
    memo = kb.fragments.get(_MEMO_KEY)
    if memo is None:
        memo = kb.fragments[_MEMO_KEY] = _Memo()
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
