"""Evaluate the narrative reader on the labelled corpus in tests/data/narratives/.

Usage::

    python benchmarks/nlp_eval.py                 # development split, table per code
    python benchmarks/nlp_eval.py --split heldout # the held-out narratives
    python benchmarks/nlp_eval.py --split all --json > nlp_eval.json
    python benchmarks/nlp_eval.py --misses        # list every miss, for docs/nlp.md
    python benchmarks/nlp_eval.py --by-phenomenon # dev and held-out per phenomenon and language
    python benchmarks/nlp_eval.py --phenomenon hedges --split heldout --misses

Corpus files (``tests/data/narratives/*.yaml``) hold ``narratives`` and optionally a
``phenomenon`` (``typos_slang``, ``hedges``, ``pasted`` ...; the issue-3 files are
``general``) and a ``language`` (default ``en``; ``es_*.yaml`` files default to ``es``).
A narrative's split is ``dev`` unless its file is ``heldout.yaml`` / ``heldout_b.yaml`` /
``heldout_c.yaml`` (or ``es_`` ...) or it says ``split: heldout`` itself (issue 11: each
phenomenon file keeps a held-out part that is never used for tuning). ``*heldout_reserve.yaml``
is the ``reserve`` split: written blind and never scored yet; ``all`` and ``--by-phenomenon``
leave it out, so that only an explicit ``--split reserve`` spends it.

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
# Issue 11 targets, per phenomenon and language: every emergency-capable finding found on
# the dev split, >= 0.98 on the held-out split, precision >= 0.95.
PHENOMENON_DEV_RECALL = 1.0
PHENOMENON_HELDOUT_RECALL = 0.98
PHENOMENON_PRECISION = 0.95
SPLITS = ("dev", "heldout", "heldout_b", "heldout_c", "reserve")
# The reserve is a held-out slice that must not even be scored until a later session decides
# to spend it: ``all`` and ``--by-phenomenon`` leave it out; only ``--split reserve`` reads it.
RESERVE = "reserve"

_NARRATIVE_KEYS = {
    "id", "text", "findings", "urgency", "age", "today", "understood", "note", "split",
    "language",
}  # fmt: skip
_FILE_KEYS = {"narratives", "phenomenon", "language"}


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
    split: str = "dev"
    phenomenon: str = "general"
    language: str = "en"


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

    def failures(
        self,
        red_flags: Iterable[str],
        emergency_recall: float = EMERGENCY_RECALL,
        precision: float = OVERALL_PRECISION,
    ) -> list[str]:
        """Which targets are not met, in words (empty when all are met)."""
        problems = []
        for code in EMERGENCY_CODES:
            score = self.scores.get(code)
            if score and score.positive_recall < emergency_recall:
                problems.append(
                    f"{code}: positive recall {score.positive_recall:.3f} < {emergency_recall}"
                )
        for code in red_flags:
            if code in EMERGENCY_CODES:
                continue
            score = self.scores.get(code)
            if score and score.positive_recall < RED_FLAG_RECALL:
                problems.append(
                    f"{code}: positive recall {score.positive_recall:.3f} < {RED_FLAG_RECALL}"
                )
        if self.precision < precision:
            problems.append(f"overall precision {self.precision:.3f} < {precision}")
        if self.understood_correct < self.narratives:
            problems.append(
                f"understood wrong on {self.narratives - self.understood_correct} narrative(s)"
            )
        return problems


def red_flag_codes() -> list[str]:
    """Finding codes marked ``red_flag: true`` in findings.yaml."""
    data = yaml.safe_load(FINDINGS_FILE.read_text(encoding="utf-8"))
    return [f["code"] for f in data["findings"] if f.get("red_flag")]


def _file_defaults(path: Path, data: dict[str, Any]) -> tuple[str, str, str]:
    """(split, phenomenon, language) of a corpus file's narratives unless they say."""
    name = path.stem
    # heldout.yaml, heldout_b.yaml, heldout_c.yaml, heldout_reserve.yaml and a language's
    # es_heldout.yaml, es_heldout_b.yaml ...
    kinds = (("heldout_reserve", RESERVE), ("heldout_c", "heldout_c"), ("heldout_b", "heldout_b"))
    split = next((kind for suffix, kind in kinds if name.endswith(suffix)), None)
    if split is None:
        split = "heldout" if name.endswith("heldout") else "dev"
    general = name.startswith("dev_") or name in (
        "heldout",
        "heldout_b",
        "heldout_c",
        "heldout_reserve",
    )
    language = str(data.get("language") or ("es" if name.startswith("es_") else "en"))
    phenomenon = str(data.get("phenomenon") or ("general" if general else name))
    return split, phenomenon, language


def load_corpus(
    split: str = "dev",
    phenomenon: str | None = None,
    language: str | None = None,
    include_reserve: bool = False,
) -> list[Narrative]:
    """Narratives of one split (``dev``, ``heldout``, ``heldout_b``, ``heldout_c``,
    ``reserve`` or ``all``), optionally of one phenomenon and one language. ``all`` leaves
    the reserve out unless ``include_reserve`` (used to check the files, never to score)."""
    if split not in (*SPLITS, "all"):
        raise ValueError(f"unknown split {split!r}; use {', '.join(SPLITS)} or all")
    narratives: list[Narrative] = []
    for path in sorted(CORPUS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        unknown_keys = set(data) - _FILE_KEYS
        if unknown_keys:
            raise ValueError(f"{path.name}: unknown top-level keys {sorted(unknown_keys)}")
        file_split, file_phenomenon, file_language = _file_defaults(path, data)
        for raw in data["narratives"]:
            unknown = set(raw) - _NARRATIVE_KEYS
            if unknown:
                raise ValueError(f"{path.name}: {raw.get('id')}: unknown keys {sorted(unknown)}")
            own_split = str(raw.get("split", file_split))
            if own_split not in SPLITS:
                raise ValueError(f"{path.name}: {raw.get('id')}: unknown split {own_split!r}")
            own_language = str(raw.get("language", file_language))
            if split not in ("all", own_split):
                continue
            if split == "all" and own_split == RESERVE and not include_reserve:
                continue
            if phenomenon is not None and file_phenomenon != phenomenon:
                continue
            if language is not None and own_language != language:
                continue
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
                    split=own_split,
                    phenomenon=file_phenomenon,
                    language=own_language,
                )
            )
    return narratives


def phenomena() -> list[tuple[str, str]]:
    """Every (phenomenon, language) of the corpus, in file order."""
    seen: dict[tuple[str, str], None] = {}
    for narrative in load_corpus("all"):
        seen[(narrative.phenomenon, narrative.language)] = None
    return list(seen)


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


def evaluate(
    split: str = "dev",
    with_triage: bool = True,
    phenomenon: str | None = None,
    language: str | None = None,
) -> EvalReport:
    """Run the reader over a split (of one phenomenon and language, if given) and score it."""
    from backpath.nlp import read_narrative

    narratives = load_corpus(split, phenomenon, language)
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
    label = split if phenomenon is None else f"{phenomenon}/{split}"
    return EvalReport(label, len(narratives), scores, misses, understood, triage)


_RANK = {"self_care": 0, "routine": 1, "urgent": 2, "emergency": 3}


def under_triaged(report: EvalReport) -> list[dict[str, Any]]:
    """The triage disagreements where the reader gave a lower urgency than the label."""
    if report.triage is None:
        return []
    return [
        row
        for row in report.triage["disagreements"]
        if _RANK.get(row["got"], 0) < _RANK[row["expected"]]
    ]


def emergency_recall(report: EvalReport) -> tuple[int, int]:
    """(found, labelled) positives over every emergency-capable code."""
    found = sum(report.scores[c].positives_found for c in EMERGENCY_CODES if c in report.scores)
    total = sum(report.scores[c].positives for c in EMERGENCY_CODES if c in report.scores)
    return found, total


def phenomenon_failures(report: EvalReport, split: str, red_flags: Iterable[str]) -> list[str]:
    """Issue 11 targets for one phenomenon's split: emergency-capable positive recall 1.0
    (dev) or >= 0.98 (held-out) per code, precision >= 0.95, no under-triage."""
    recall = PHENOMENON_DEV_RECALL if split == "dev" else PHENOMENON_HELDOUT_RECALL
    problems = report.failures(red_flags, emergency_recall=recall, precision=PHENOMENON_PRECISION)
    problems += [
        f"{row['id']} under-triaged: expected {row['expected']}, got {row['got']}"
        for row in under_triaged(report)
    ]
    return problems


def by_phenomenon(with_triage: bool = True) -> list[dict[str, Any]]:
    """One row per phenomenon, language and split (dev, then held-out)."""
    red_flags = red_flag_codes()
    rows = []
    for phenomenon, language in phenomena():
        for split in SPLITS:
            if split == RESERVE or not load_corpus(split, phenomenon, language):
                continue
            report = evaluate(split, with_triage, phenomenon, language)
            found, total = emergency_recall(report)
            rows.append(
                {
                    "phenomenon": phenomenon,
                    "language": language,
                    "split": split,
                    "narratives": report.narratives,
                    "precision": report.precision,
                    "recall": report.recall,
                    "emergency_positives_found": found,
                    "emergency_positives": total,
                    "triage_agreement": report.triage["agreement"] if report.triage else None,
                    "under_triaged": len(under_triaged(report)),
                    "targets_failed": phenomenon_failures(report, split, red_flags),
                    "misses": [asdict(m) for m in report.misses],
                }
            )
    return rows


def _phenomenon_table(rows: list[dict[str, Any]], misses: bool) -> str:
    lines = [
        f"{'phenomenon':14} {'lang':4} {'split':9} {'n':>4} {'prec':>6} {'rec':>6} "
        f"{'emerg. pos. recall':>20} {'triage':>7} {'under':>5}  targets",
    ]
    for row in rows:
        found, total = row["emergency_positives_found"], row["emergency_positives"]
        ratio = found / total if total else 1.0
        triage = "-" if row["triage_agreement"] is None else f"{row['triage_agreement']:.3f}"
        lines.append(
            f"{row['phenomenon']:14} {row['language']:4} {row['split']:9} "
            f"{row['narratives']:4d} {row['precision']:6.3f} {row['recall']:6.3f} "
            f"{ratio:8.3f} ({found:3d}/{total:3d}) {triage:>7} {row['under_triaged']:5d}  "
            + ("met" if not row["targets_failed"] else "NOT met")
        )
        for failure in row["targets_failed"]:
            lines.append(f"    - {failure}")
        if misses:
            for miss in row["misses"]:
                lines.append(
                    f"    {miss['narrative']:10} {miss['kind']:7} {miss['code']:30} "
                    f"expected={miss['expected']!r} got={miss['predicted']!r}"
                )
    return "\n".join(lines)


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
    parser.add_argument("--split", default="dev", choices=[*SPLITS, "all"])
    parser.add_argument("--phenomenon", help="only this phenomenon (typos_slang, hedges ...)")
    parser.add_argument("--language", help="only narratives in this language (en, es)")
    parser.add_argument(
        "--by-phenomenon",
        action="store_true",
        help="a summary per phenomenon, language and split (issue 11 targets)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--no-triage", action="store_true", help="skip triage agreement")
    args = parser.parse_args(argv)
    if args.by_phenomenon:
        rows = by_phenomenon(with_triage=not args.no_triage)
        if args.json:
            json.dump(rows, sys.stdout, indent=2, default=str)
            print()
        else:
            print(_phenomenon_table(rows, args.misses))
        return 0
    report = evaluate(
        args.split,
        with_triage=not args.no_triage,
        phenomenon=args.phenomenon,
        language=args.language,
    )
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
