"""Turning a stored Result JSON into what a page shows. Formatting only, no decisions.

A stored result keeps the words it was given in (the intake's language). When a page is
shown in another language and the knowledge base is still the one that produced the result
(same sha256), the same texts are looked up in that language by their ids; otherwise the
stored words are shown as they were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backpath.kb import KnowledgeBase
from backpath.kb.schema import FindingDef
from backpath.vocabulary import FindingType, Urgency
from backpath.web.i18n import Words


@dataclass(frozen=True)
class TextBlock:
    """A titled block of patient text (an action, advice, a next step, the safety net)."""

    id: str
    kind: str
    title: str
    text: str


@dataclass(frozen=True)
class Reason:
    """Why: a fired rule's patient message and the person's own words it rests on."""

    message: str
    quotes: tuple[str, ...]


@dataclass(frozen=True)
class PatientResult:
    """Everything the result page, the print view and the emergency screen show."""

    urgency: str
    label: str
    headline: str
    action: str
    reasons: tuple[Reason, ...]
    actions: tuple[TextBlock, ...]
    advice: tuple[TextBlock, ...]
    safety_net: tuple[TextBlock, ...]
    next_steps: tuple[TextBlock, ...]
    narrative_not_understood: bool
    # An emergency result's first instruction ("Call 999 now. Do not drive yourself.") and
    # the number for a tel: link; None for other results.
    first_instruction: str | None = None
    emergency_number: str | None = None


class _Retext:
    """Looks up a stored text in another language when the knowledge base is unchanged."""

    def __init__(self, kb: KnowledgeBase, result: Mapping[str, Any], language: str) -> None:
        self.kb = kb
        self.language = language
        same_kb = result.get("knowledge_base", {}).get("sha256") == kb.sha256
        self.active = same_kb and result.get("language", "en") != language

    def __call__(self, key: str, stored: str, english: str | None) -> str:
        if not self.active or english is None:
            return stored
        return self.kb.text(key, self.language, english)


def _blocks(
    items: Sequence[Mapping[str, Any]], kb: KnowledgeBase, retext: _Retext
) -> tuple[TextBlock, ...]:
    out = []
    for item in items:
        block = kb.advice.get(item["id"])
        out.append(
            TextBlock(
                id=item["id"],
                kind=item["kind"],
                title=retext(
                    f"advice.{item['id']}.title", item["title"], block.title if block else None
                ),
                text=retext(
                    f"advice.{item['id']}.body", item["text"], block.body if block else None
                ),
            )
        )
    return tuple(out)


def patient_result(
    result: Mapping[str, Any], kb: KnowledgeBase, language: str, only_urgency: str | None = None
) -> PatientResult:
    """The patient's view of a Result JSON in ``language``.

    "Why" lists the rules that set the result's urgency (``only_urgency``, default: the
    result's own urgency): a lower-urgency message such as "book a visit" must not sit next
    to "go to the emergency department now". Clinicians see every fired rule.
    """
    retext = _Retext(kb, result, language)
    urgency = result["urgency"]
    only_urgency = only_urgency or urgency
    wording = kb.urgencies[Urgency(urgency)]
    stored = result["urgency_text"]
    reasons: list[Reason] = []
    seen: set[str] = set()
    for fired in result.get("fired_rules", []):
        if fired["urgency"] != only_urgency:
            continue
        rule = kb.rules_by_id.get(fired["id"])
        message = retext(
            f"rule.{fired['id']}.patient",
            fired["patient_message"],
            rule.spec.patient if rule else None,
        )
        quotes = tuple(
            dict.fromkeys(
                str(item["evidence"])
                for item in fired.get("because", [])
                if item.get("source") == "narrative" and item.get("evidence")
            )
        )
        if message in seen and not quotes:
            continue
        seen.add(message)
        reasons.append(Reason(message, quotes))
    advice = result.get("advice", [])
    first_instruction, number = _first_instruction(kb, result, language)
    if number is None and urgency == Urgency.EMERGENCY.value:
        # Every emergency rule has a first instruction (kb check); the call button is shown
        # for any emergency all the same.
        from backpath.triage.emergency import emergency_number

        number = emergency_number(kb)
    return PatientResult(
        urgency=urgency,
        label=retext(f"urgency.{urgency}.label", stored["label"], wording.label),
        headline=retext(f"urgency.{urgency}.headline", stored["headline"], wording.headline),
        action=retext(f"urgency.{urgency}.action", stored["action"], wording.action),
        reasons=tuple(reasons),
        actions=_blocks([a for a in advice if a["kind"] == "action"], kb, retext),
        advice=_blocks([a for a in advice if a["kind"] != "action"], kb, retext),
        safety_net=_blocks(result.get("safety_net", []), kb, retext),
        next_steps=_blocks(result.get("next_steps", []), kb, retext),
        narrative_not_understood=result.get("narrative", {}).get("status") == "not_understood",
        first_instruction=first_instruction,
        emergency_number=number,
    )


def _first_instruction(
    kb: KnowledgeBase, result: Mapping[str, Any], language: str
) -> tuple[str | None, str | None]:
    """The emergency instruction in ``language`` with the clinic's number filled in."""
    stored = result.get("first_instruction")
    if not stored:
        return None, None
    from backpath.triage.emergency import emergency_number

    number = emergency_number(kb)
    instruction = kb.instructions.get(stored["id"])
    if instruction is None:  # stored by an older knowledge base: show it as it was
        return str(stored["text"]), str(stored.get("emergency_number") or number)
    text = kb.text(f"instruction.{instruction.id}", language, instruction.text)
    return text.format(emergency_number=number), number


# ---------------------------------------------------------------- clinician views


@dataclass(frozen=True)
class AnswerRow:
    """One answered question for the clinician: label and value in words."""

    code: str
    label: str
    value: str


@dataclass(frozen=True)
class AnswerGroup:
    """Answers of one findings group (About you, Cauda equina...)."""

    label: str
    rows: tuple[AnswerRow, ...]


def format_value(finding: FindingDef | None, value: Any, words: Words) -> str:
    """An answer in words: yes/no, a choice label, a number with its unit, or 'not known'."""
    if value is None:
        return words("answer_unknown")
    if finding is None:
        return str(value)
    if finding.type is FindingType.BOOLEAN:
        return words("answer_yes") if value else words("answer_no")
    if finding.type is FindingType.INTEGER:
        unit = f" {words('unit_' + finding.unit)}" if finding.unit else ""
        return f"{value}{unit}"
    if isinstance(value, list | tuple):
        return ", ".join(words.choice(finding, str(v)) for v in value) or "-"
    return words.choice(finding, str(value))


def answer_groups(
    answers: Mapping[str, Any], kb: KnowledgeBase, words: Words
) -> tuple[AnswerGroup, ...]:
    """The intake's answers grouped as in ``findings.yaml``, in vocabulary order."""
    groups = []
    for group in kb.groups:
        rows = tuple(
            AnswerRow(code, finding.label, format_value(finding, answers[code], words))
            for code, finding in kb.findings.items()
            if finding.group == group.id and code in answers
        )
        if rows:
            groups.append(AnswerGroup(group.label, rows))
    return tuple(groups)


@dataclass(frozen=True)
class Segment:
    """A piece of the narrative; ``marks`` are the findings read from it (empty: plain)."""

    text: str
    marks: tuple[str, ...] = ()


def highlight(narrative: str, findings: Sequence[Mapping[str, Any]]) -> tuple[Segment, ...]:
    """Split the narrative at the evidence spans so that each span can be highlighted.

    Overlapping spans are merged into one highlighted piece that names every finding.
    """
    spans: list[tuple[int, int, str]] = []
    for item in findings:
        span = item.get("span")
        if not span or len(span) != 2:
            continue
        start, end = int(span[0]), int(span[1])
        if 0 <= start < end <= len(narrative):
            spans.append((start, end, f"{item['code']} ({item.get('certainty') or '?'})"))
    spans.sort()
    merged: list[tuple[int, int, list[str]]] = []
    for start, end, mark in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), [*last[2], mark])
        else:
            merged.append((start, end, [mark]))
    segments: list[Segment] = []
    cursor = 0
    for start, end, marks in merged:
        if start > cursor:
            segments.append(Segment(narrative[cursor:start]))
        segments.append(Segment(narrative[start:end], tuple(dict.fromkeys(marks))))
        cursor = end
    if cursor < len(narrative):
        segments.append(Segment(narrative[cursor:]))
    return tuple(segments)


@dataclass(frozen=True)
class TrendPoint:
    """One assessment of an episode on the pain-score chart."""

    when: datetime
    back: int | None
    leg: int | None
    current: bool
    scores: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Trend:
    """Pain scores over an episode, with SVG polyline coordinates ready to draw."""

    points: tuple[TrendPoint, ...]
    width: int = 320
    height: int = 120
    back_line: str = ""
    leg_line: str = ""
    dots: tuple[tuple[float, float, str, int], ...] = field(default=())
    instruments: tuple[str, ...] = ()


def trend(points: Sequence[TrendPoint], width: int = 320, height: int = 120) -> Trend:
    """Place 0-10 scores on a ``width`` x ``height`` chart, evenly spaced in time order."""
    pad = 16
    count = len(points)
    step = (width - 2 * pad) / max(count - 1, 1)

    def y(score: int) -> float:
        return round(height - pad - score * (height - 2 * pad) / 10, 1)

    lines: dict[str, list[str]] = {"back": [], "leg": []}
    dots: list[tuple[float, float, str, int]] = []
    for index, point in enumerate(points):
        x = round(pad + index * step, 1)
        for name, score in (("back", point.back), ("leg", point.leg)):
            if score is not None:
                lines[name].append(f"{x},{y(score)}")
                dots.append((x, y(score), name, score))
    instruments = tuple(dict.fromkeys(name for point in points for name in point.scores))
    return Trend(
        tuple(points),
        width,
        height,
        " ".join(lines["back"]),
        " ".join(lines["leg"]),
        tuple(dots),
        instruments,
    )
