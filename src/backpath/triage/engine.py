"""The triage engine and its result types."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
        return tuple(dict.fromkeys(f.rule.spec.concern.value for f in self.fired))

    @property
    def fired_ids(self) -> tuple[str, ...]:
        """Ids of the fired rules, most urgent first."""
        return tuple(f.rule.id for f in self.fired)

    @property
    def next_questions(self) -> tuple[str, ...]:
        """Questions that could still change the urgency, the most consequential first."""
        codes: list[str] = []
        for item in self.unresolved:
            if item.rule.urgency is not self.urgency:
                codes.extend(item.ask)
        return tuple(dict.fromkeys(codes))

    def citations(self) -> list[dict[str, Any]]:
        """Every source cited by the fired rules and the chosen texts, in order."""
        ids: list[str] = []
        for fired in self.fired:
            ids.extend(fired.rule.spec.sources)
        for block_id in (*self.advice, *self.next_steps, *self.safety_net):
            ids.extend(self.kb.advice[block_id].sources)
        out = []
        fragments = self.kb.fragments
        for source_id in dict.fromkeys(ids):
            key = ("source", source_id)
            citation = fragments.get(key)
            if citation is None:
                source = self.kb.sources[source_id]
                citation = fragments[key] = {
                    "id": source.id,
                    "title": source.title,
                    "publisher": source.publisher,
                    "year": source.year,
                    "url": source.url,
                    "doi": source.doi,
                }
            out.append(dict(citation))
        return out

    def _blocks(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        kb, lang = self.kb, self.language
        out = []
        for block_id in ids:
            key = ("block", block_id, lang)
            block = kb.fragments.get(key)
            if block is None:
                advice = kb.advice[block_id]
                block = kb.fragments[key] = {
                    "id": block_id,
                    "kind": advice.kind,
                    "title": kb.text(f"advice.{block_id}.title", lang, advice.title),
                    "text": kb.text(f"advice.{block_id}.body", lang, advice.body),
                }
            out.append(dict(block))
        return out

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
        """The public Result JSON (DESIGN.md)."""
        from backpath.triage.interview import next_step_json

        kb, lang = self.kb, self.language
        wording = kb.urgencies[self.urgency]
        return {
            "urgency": self.urgency.value,
            "complete": self.complete,
            # The step a front end would show next (None: nothing left changes the result).
            "next_step": next_step_json(self),
            "first_instruction": self.instruction_json(),
            "urgency_text": {
                "label": kb.text(f"urgency.{self.urgency.value}.label", lang, wording.label),
                "headline": kb.text(
                    f"urgency.{self.urgency.value}.headline", lang, wording.headline
                ),
                "action": kb.text(f"urgency.{self.urgency.value}.action", lang, wording.action),
                "clinician": wording.clinician,
            },
            "concerns": list(self.concerns),
            "fired_rules": [f.to_json(kb, lang) for f in self.fired],
            "unresolved": [u.to_json() for u in self.unresolved],
            "next_questions": list(self.next_questions),
            "advice": self._blocks(self.advice),
            "next_steps": self._blocks(self.next_steps),
            "safety_net": self._blocks(self.safety_net),
            "conflicts": [c.to_json() for c in self.conflicts],
            "unsure": list(self.unsure),
            "unasked": list(self.unasked),
            "narrative": {
                "status": self.narrative_status,
                "problems": list(self.narrative_problems),
                "findings": [
                    e.to_json() for e in self.evidence.values() if e.source == "narrative"
                ],
            },
            "citations": self.citations(),
            "language": lang,
            "knowledge_base": {"version": kb.version, "sha256": kb.sha256},
            **dict(self.extras),
        }


NarrativeReader = Callable[[str], Any]


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

    fired_rules: list[Rule] = []
    unresolved_rules: list[Rule] = []
    for rule in kb.rules:
        value = rule.test(answers)
        if value is True:
            fired_rules.append(rule)
        elif value is None:
            unresolved_rules.append(rule)

    if fired_rules:
        urgency = max((r.urgency for r in fired_rules), key=lambda u: u.rank)
    else:
        urgency = kb.manifest.baseline_urgency

    def by_urgency(rule: Rule) -> int:
        return -rule.urgency.rank

    unsure = frozenset(code for code in intake.unsure if code not in answers)
    fired_list = [
        FiredRule(
            rule,
            tuple(
                _evidence_for(code, answers, evidence, unsure)
                for code in rule.condition.evaluate(answers).decided_by
            ),
        )
        for rule in sorted(fired_rules, key=by_urgency)
    ]
    unresolved = tuple(
        UnresolvedRule(rule, rule.condition.evaluate(answers).unknown)
        for rule in sorted(unresolved_rules, key=by_urgency)
    )

    # Complete: no question that was never asked could still raise the urgency. A question
    # answered "not sure" was asked; a question whose ask_if is false is not asked at all.
    gates = kb.question_gates

    def never_asked(code: str) -> bool:
        if code in answers or code in unsure or code not in gates:
            return False
        gate = gates[code]
        return gate is None or gate(answers) is not False

    unasked = tuple(
        dict.fromkeys(
            code
            for item in unresolved
            if item.rule.urgency.rank > urgency.rank
            for code in item.ask
            if never_asked(code)
        )
    )
    complete = not unasked

    # "Not sure" never ends as routine: with nothing left to ask, a serious rule still open
    # because of "not sure" answers raises the result (safety.yaml).
    if complete and unsure:
        threshold = kb.safety.unsure_escalates_from.rank
        doubted = tuple(
            dict.fromkeys(
                code
                for item in unresolved
                if item.rule.urgency.rank >= threshold and item.rule.urgency.rank > urgency.rank
                for code in item.ask
                if code in unsure
            )
        )
        if doubted:
            meta = kb.unsure_rule
            fired_list.append(
                FiredRule(meta, tuple(Evidence(code, None, "unsure") for code in doubted))
            )
            urgency = max(urgency, meta.urgency, key=lambda u: u.rank)

    # Words we could not read, or danger words we could not place, never end as self-care.
    if urgency is Urgency.SELF_CARE and (
        status == "not_understood" or "danger_words" in problems
    ):
        meta = kb.narrative_rule
        fired_list.append(FiredRule(meta, ()))
        urgency = meta.urgency

    fired = tuple(sorted(fired_list, key=lambda f: by_urgency(f.rule)))
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
    if any(item.rule.urgency.rank > urgency.rank for item in unresolved):
        advice.append(kb.manifest.unresolved_advice)
    for item in fired:
        # "What to do now" comes only from the rules that set the urgency: an emergency
        # result must not also say "book a visit" because a lesser rule fired too.
        for block_id in item.rule.spec.advice:
            if item.rule.urgency is urgency or kb.advice[block_id].kind != "action":
                advice.append(block_id)
        next_steps.extend(item.rule.spec.next_steps)
    for plan_rule in kb.plan:
        if urgency in plan_rule.spec.for_urgency and plan_rule.test(answers) is True:
            advice.extend(plan_rule.spec.advice)
            next_steps.extend(plan_rule.spec.next_steps)
    for block_id in list(dict.fromkeys(advice)):
        if kb.advice[block_id].kind == "safety_net":
            safety_net.append(block_id)
    return Assessment(
        urgency=urgency,
        fired=fired,
        unresolved=unresolved,
        advice=tuple(b for b in dict.fromkeys(advice) if b not in safety_net),
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
        unsure=tuple(code for code in gates if code in unsure),
        unasked=unasked,
        first_instruction=first_instruction,
    )


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
