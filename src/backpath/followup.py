"""Follow-up: change in scores over time, and re-triage with what is new.

At follow-up a person answers some questions again and repeats their questionnaires.
``follow_up`` carries the baseline answers forward (what was not asked again is assumed
unchanged), lets the new answers win, re-runs triage, and reports what became worse: a new
red flag, new numbness, weakness getting worse. The urgency can only be raised by what the
follow-up says, never lowered by forgetting the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backpath.instruments import Change, Score, compare, score_many
from backpath.intake import Intake
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.triage import Assessment, assess


@dataclass(frozen=True)
class FollowUp:
    """The outcome of a follow-up: both assessments, what is new, and score changes."""

    baseline: Assessment
    current: Assessment
    new_findings: tuple[str, ...]
    new_red_flags: tuple[str, ...]
    changes: dict[str, Change]

    @property
    def urgency_raised(self) -> bool:
        """Whether the follow-up is more urgent than the baseline."""
        return self.current.urgency.rank > self.baseline.urgency.rank

    def to_json(self) -> dict[str, Any]:
        """Serialise: urgency before and after, what is new, changes, the new result."""
        return {
            "urgency_before": self.baseline.urgency.value,
            "urgency_now": self.current.urgency.value,
            "urgency_raised": self.urgency_raised,
            "new_findings": list(self.new_findings),
            "new_red_flags": list(self.new_red_flags),
            "changes": {k: v.to_json() for k, v in self.changes.items()},
            "result": self.current.to_json(),
        }


def follow_up(baseline: Intake, current: Intake, kb: KnowledgeBase | None = None) -> FollowUp:
    """Compare a follow-up intake with its baseline and re-triage."""
    kb = kb or load_knowledge()
    merged = Intake(
        answers={**baseline.answers, **current.answers},
        narrative=current.narrative,
        instruments=current.instruments,
        language=current.language,
        intake_id=current.intake_id,
    )
    before = assess(baseline, kb)
    now = assess(merged, kb)
    new_findings = tuple(
        code
        for code, value in now.answers.items()
        if value is True and before.answers.get(code) is not True
    )
    new_red_flags = tuple(code for code in new_findings if kb.findings[code].red_flag)
    changes: dict[str, Change] = {}
    if baseline.instruments and current.instruments:
        old: dict[str, Score] = score_many(baseline.instruments)
        new: dict[str, Score] = score_many(current.instruments)
        for instrument_id in old.keys() & new.keys():
            changes[instrument_id] = compare(instrument_id, old[instrument_id], new[instrument_id])
    return FollowUp(before, now, new_findings, new_red_flags, dict(sorted(changes.items())))
