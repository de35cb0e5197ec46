"""Evaluate the narrative reader on the labelled corpus in tests/data/narratives/.

Usage::

    python benchmarks/nlp_eval.py                 # development split, table per code
    python benchmarks/nlp_eval.py --split heldout # the held-out narratives
    python benchmarks/nlp_eval.py --split all --json > nlp_eval.json
    python benchmarks/nlp_eval.py --misses        # list every miss, for docs/nlp.md

Scoring, per finding code, compares the reader's ``answers()`` (one value per code) with
the labels:

* a predicted value equal to the label is a true positive;
* a labelled value that is missing or different is a false negative;
* a predicted value that is not labelled, or different, is a false positive.

``recall`` counts every labelled value (yes, no and numbers); ``positive recall`` counts
only labels that are not ``false`` - the safety measure ("did we miss a red flag that is
there?"). Targets (issue 3): positive recall >= 0.98 on codes that can lead to emergency,
>= 0.95 on the other red flags, precision >= 0.90 over all predictions.

Triage agreement runs the real triage engine (``backpath.triage.assess``) on an intake that
holds only the narrative (and the age, when the corpus gives one) and compares the urgency
with the hand-derived label.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "tests" / "data" / "narratives"
FINDINGS_FILE = ROOT / "src" / "backpath" / "knowledge" / "findings.yaml"

# Codes that can make a rule reach `emergency` (issue 3 lists them).
EMERGENCY_CODES = (
    "saddle_numbness", "urinary_retention", "urinary_incontinence", "urinary_sensation_change",
    "bowel_incontinence", "sexual_dysfunction_new", "bilateral_leg_symptoms", "leg_weakness",
    "weakness_worsening", "cancer_history", "fever", "iv_drug_use", "immunosuppressed",
    "recent_infection", "recent_spinal_procedure", "trauma_major", "sudden_severe_pain",
    "collapse", "known_aaa", "chest_pain", "foot_drop",
)  # fmt: skip
EMERGENCY_RECALL = 0.98
RED_FLAG_RECALL = 0.95
OVERALL_PRECISION = 0.90

_NARRATIVE_KEYS = {"id", "text", "findings", "urgency", "age", "today", "understood", "note"}


@dataclass
class Narrative:
    """One labelled narrative of the corpus."""

    id: str
    text: str
    findings: dict[str, Any]
    urgency: str
    file: str
    age: int | None = None
    today: dt.date | None = None
    understood: bool = True


@dataclass
class CodeScore:
    """Counts and rates for one finding code."""

    code: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    positives: int = 0
    positives_found: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def positive_recall(self) -> float:
        return self.positives_found / self.positives if self.positives else 1.0


@dataclass
class Miss:
    """One disagreement between the reader and a label."""

    narrative: str
    code: str
    expected: Any
    predicted: Any
    kind: str  # missed | wrong | extra


@dataclass
class EvalReport:
    """The whole evaluation: per-code scores, misses, understanding and triage agreement."""

    split: str
    narratives: int
    scores: dict[str, CodeScore]
    misses: list[Miss] = field(default_factory=list)
    understood_correct: int = 0
    triage: dict[str, Any] | None = None

    @property
    def precision(self) -> float:
        tp = sum(s.tp for s in self.scores.values())
        fp = sum(s.fp for s in self.scores.values())
        return tp / (tp + fp) if tp + fp else 1.0

    @property
    def recall(self) -> float:
        tp = sum(s.tp for s in self.scores.values())
        fn = sum(s.fn for s in self.scores.values())
        return tp / (tp + fn) if tp + fn else 1.0

    def failures(self, red_flags: Iterable[str]) -> list[str]:
        """Which targets are not met, in words (empty when all are met)."""
        problems = []
        for code in EMERGENCY_CODES:
            score = self.scores.get(code)
            if score and score.positive_recall < EMERGENCY_RECALL:
                problems.append(
                    f"{code}: positive recall {score.positive_recall:.3f} < {EMERGENCY_RECALL}"
                )
        for code in red_flags:
            if code in EMERGENCY_CODES:
                continue
            score = self.scores.get(code)
            if score and score.positive_recall < RED_FLAG_RECALL:
                problems.append(
                    f"{code}: positive recall {score.positive_recall:.3f} < {RED_FLAG_RECALL}"
                )
        if self.precision < OVERALL_PRECISION:
            problems.append(f"overall precision {self.precision:.3f} < {OVERALL_PRECISION}")
        if self.understood_correct < self.narratives:
            problems.append(
                f"understood wrong on {self.narratives - self.understood_correct} narrative(s)"
            )
        return problems


def red_flag_codes() -> list[str]:
    """Finding codes marked ``red_flag: true`` in findings.yaml."""
    data = yaml.safe_load(FINDINGS_FILE.read_text(encoding="utf-8"))
    return [f["code"] for f in data["findings"] if f.get("red_flag")]


def load_corpus(split: str = "dev") -> list[Narrative]:
    """Narratives of one split: ``dev`` (dev_*.yaml), ``heldout``, ``heldout_b`` or ``all``."""
    if split == "dev":
        files = sorted(CORPUS_DIR.glob("dev_*.yaml"))
    elif split in ("heldout", "heldout_b"):
        files = [CORPUS_DIR / f"{split}.yaml"]
    elif split == "all":
        files = sorted(CORPUS_DIR.glob("*.yaml"))
    else:
        raise ValueError(f"unknown split {split!r}; use dev, heldout, heldout_b or all")
    narratives: list[Narrative] = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for raw in data["narratives"]:
            unknown = set(raw) - _NARRATIVE_KEYS
            if unknown:
                raise ValueError(f"{path.name}: {raw.get('id')}: unknown keys {sorted(unknown)}")
            today = raw.get("today")
            narratives.append(
                Narrative(
                    id=raw["id"],
                    text=raw["text"],
                    findings=dict(raw.get("findings") or {}),
                    urgency=raw["urgency"],
                    file=path.name,
                    age=raw.get("age"),
                    today=today if isinstance(today, dt.date) else None,
                    understood=raw.get("understood", True),
                )
            )
    return narratives


def _same(expected: Any, predicted: Any) -> bool:
    if isinstance(expected, bool) or isinstance(predicted, bool):
        return expected is predicted
    return bool(expected == predicted)


def score_narrative(
    narrative: Narrative,
    predicted: Mapping[str, Any],
    scores: dict[str, CodeScore],
    misses: list[Miss],
) -> None:
    """Add one narrative's agreement to the per-code scores."""
    for code in sorted(set(narrative.findings) | set(predicted)):
        score = scores.setdefault(code, CodeScore(code))
        expected = narrative.findings.get(code)
        got = predicted.get(code)
        if code in narrative.findings and expected is not False:
            score.positives += 1
            if code in predicted and _same(expected, got):
                score.positives_found += 1
        if code in narrative.findings and code in predicted:
            if _same(expected, got):
                score.tp += 1
            else:
                score.fn += 1
                score.fp += 1
                misses.append(Miss(narrative.id, code, expected, got, "wrong"))
        elif code in narrative.findings:
            score.fn += 1
            misses.append(Miss(narrative.id, code, expected, None, "missed"))
        else:
            score.fp += 1
            misses.append(Miss(narrative.id, code, None, got, "extra"))


def _triage_agreement(narratives: list[Narrative]) -> dict[str, Any] | None:
    """Urgency agreement with the labels when only the narrative (+ age) is known."""
    try:
        from backpath.intake import Intake
        from backpath.nlp import read_narrative
        from backpath.triage import assess
    except ImportError:
        return None
    agree = 0
    rows = []
    for narrative in narratives:
        data: dict[str, Any] = {"narrative": narrative.text}
        if narrative.age is not None:
            data["age"] = narrative.age
        today = narrative.today

        def reader(text: str, today: dt.date | None = today) -> Any:
            return read_narrative(text, today=today)

        result = assess(Intake.from_json(data), read_narrative=reader)
        urgency = str(result.urgency)
        agree += urgency == narrative.urgency
        if urgency != narrative.urgency:
            rows.append({"id": narrative.id, "expected": narrative.urgency, "got": urgency})
    return {"agreement": agree / len(narratives) if narratives else 1.0, "disagreements": rows}


def evaluate(split: str = "dev", with_triage: bool = True) -> EvalReport:
    """Run the reader over a split and score it."""
    from backpath.nlp import read_narrative

    narratives = load_corpus(split)
    scores: dict[str, CodeScore] = {}
    misses: list[Miss] = []
    understood = 0
    for narrative in narratives:
        reading = read_narrative(narrative.text, today=narrative.today)
        predicted = reading.answers()
        understood += reading.understood == narrative.understood
        if reading.understood != narrative.understood:
            misses.append(
                Miss(
                    narrative.id, "(understood)", narrative.understood, reading.understood, "wrong"
                )
            )
        score_narrative(narrative, predicted, scores, misses)
    triage = _triage_agreement(narratives) if with_triage else None
    return EvalReport(split, len(narratives), scores, misses, understood, triage)


def _table(report: EvalReport, red_flags: list[str]) -> str:
    lines = [
        f"split: {report.split}   narratives: {report.narratives}   "
        f"precision: {report.precision:.3f}   recall: {report.recall:.3f}   "
        f"understood correct: {report.understood_correct}/{report.narratives}",
        "",
        f"{'code':40} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'rec':>6} {'f1':>6} {'pos.rec':>8}  class",
    ]
    for code in sorted(report.scores):
        s = report.scores[code]
        kind = "EMERGENCY" if code in EMERGENCY_CODES else ("red flag" if code in red_flags else "")
        lines.append(
            f"{code:40} {s.tp:4d} {s.fp:4d} {s.fn:4d} {s.precision:6.3f} {s.recall:6.3f} "
            f"{s.f1:6.3f} {s.positive_recall:8.3f}  {kind}"
        )
    if report.triage is not None:
        lines += ["", f"triage agreement: {report.triage['agreement']:.3f}"]
        lines += [
            f"  {row['id']}: expected {row['expected']}, got {row['got']}"
            for row in report.triage["disagreements"]
        ]
    else:
        lines += ["", "triage agreement: not run"]
    failures = report.failures(red_flags)
    lines += ["", "targets: " + ("all met" if not failures else "NOT met")]
    lines += [f"  - {f}" for f in failures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="dev", choices=["dev", "heldout", "heldout_b", "all"])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--no-triage", action="store_true", help="skip triage agreement")
    args = parser.parse_args(argv)
    report = evaluate(args.split, with_triage=not args.no_triage)
    red_flags = red_flag_codes()
    if args.json:
        out = {
            "split": report.split,
            "narratives": report.narratives,
            "precision": report.precision,
            "recall": report.recall,
            "understood_correct": report.understood_correct,
            "codes": {
                code: {
                    **asdict(s),
                    "precision": s.precision,
                    "recall": s.recall,
                    "f1": s.f1,
                    "positive_recall": s.positive_recall,
                }
                for code, s in sorted(report.scores.items())
            },
            "misses": [asdict(m) for m in report.misses],
            "triage": report.triage,
            "targets_failed": report.failures(red_flags),
        }
        json.dump(out, sys.stdout, indent=2, default=str)
        print()
    else:
        print(_table(report, red_flags))
        if args.misses:
            print("\nmisses:")
            for miss in report.misses:
                print(
                    f"  {miss.narrative:10} {miss.kind:7} {miss.code:32} expected={miss.expected!r} got={miss.predicted!r}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
