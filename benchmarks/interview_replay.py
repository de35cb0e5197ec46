"""Replay the clinical cases through the adaptive interview with a simulated patient.

Usage::

    python benchmarks/interview_replay.py                  # tests/cases, table
    python benchmarks/interview_replay.py --review --json  # also the shared review file
    python benchmarks/interview_replay.py --fail-under-sensitivity 1.0   # a gate for CI
    python benchmarks/interview_replay.py --ask-all        # age and sex asked as steps too
    python benchmarks/interview_replay.py --pages          # page by page, as the web does

Each case (an intake and the urgency expected for it) is replayed through the same planner
as the terminal interview, the JSON interview endpoint and the Result JSON's ``next_step``
(``backpath.triage.interview.next_step``): one *step* at a time - a yes/no question, a
number, a choice, or a checklist that answers several findings at once - until no step left
can change the urgency. The replay stops asking as soon as the result is an emergency (the
terminal shows its emergency screen at that point).

With ``--pages`` the interview goes page by page (``backpath.triage.interview.next_page``):
the pages the web intake, ``backpath assess`` and the ``page`` of ``POST /api/v1/interview``
show. Every step of a page is answered, in order, unless an answer makes it an emergency
(the web's emergency screen comes at once); then the next page is planned. The figures
then also give the pages shown.

The simulated patient knows the case's intake. Age and sex (when the case gives them), the
narrative and any instrument answers are given up front, before the first step, and are
not counted (with ``--ask-all`` age and sex are asked as steps like the rest). Asked a yes/no, number or choice step, the patient gives the case's value when
the case has the code - ``null`` ("not sure") is passed on as ``null`` in the Intake JSON -
and otherwise answers "no" to a yes/no question and skips (leaves unknown) a number or
choice. Asked a checklist, the patient ticks the items the case has as ``true`` (and "I'm
not sure" too when another item is ``null``, which leaves the items not ticked unknown; the others
become "no"); when the case has none ``true`` but some ``null`` it answers "I'm not sure"
(every item ``null``); otherwise "None of these". So a case that leaves a red flag
unanswered on purpose is answered "no" here: the figures measure the interview with a
patient who answers every step.

Reported per set of cases: exact agreement (final urgency == expected), emergency
sensitivity (of the cases expected emergency, the fraction ending emergency), under- and
over-triage rates (final urgency below / above expected), steps asked and questions shown
(a checklist is one step and as many questions as it has items; median, mean, 90th
percentile by nearest rank, max) and every under-triaged case, with the urgency the
rules give the whole case intake without an interview ("rules alone"): when that is also
below expected, the rules disagree with the case; otherwise the interview lost something.

The exit code is 0 (this is a benchmark), unless ``--fail-under-sensitivity X`` is given and
the emergency sensitivity over all replayed cases is below X or cannot be measured (no case
expected emergency); then it is 1.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from backpath.errors import IntakeError
from backpath.intake import Intake
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.kb.schema import FindingDef, StepDef
from backpath.triage import assess
from backpath.triage.interview import checklist_answers, next_page, next_step
from backpath.vocabulary import FindingType, Urgency

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = ROOT / "tests" / "cases"
REVIEW_FILE = ROOT.parent / "shared" / "review" / "clinical-review-2026-11.jsonl"
PROGRESS_ABOVE = 50  # show a progress bar on stderr when replaying more cases than this
UP_FRONT = ("age", "sex")  # given before the first question, like the narrative


class Skip(Enum):
    """The simulated patient's reply to a question it leaves unanswered (presses Enter)."""

    SKIPPED = "skipped"


SKIPPED = Skip.SKIPPED


@dataclass(frozen=True)
class Case:
    """One case to replay: an Intake JSON object and the urgency expected for it."""

    id: str
    expected: Urgency
    intake: Mapping[str, Any]


@dataclass(frozen=True)
class Replay:
    """What happened when one intake was replayed through the interview."""

    urgency: Urgency
    asked: tuple[str, ...]  # every question asked, in order (age/sex given up front excluded)
    stopped_for_emergency: bool
    intake_json: dict[str, Any]  # the last Intake JSON triaged (null = "not sure")
    steps: tuple[str, ...] = ()  # the ids of the steps asked, in order
    pages: tuple[tuple[str, ...], ...] = ()  # page by page (``--pages``): the steps shown


@dataclass(frozen=True)
class CaseResult:
    """One replayed case with its expectation."""

    case: Case
    replay: Replay

    @property
    def got(self) -> Urgency:
        """The urgency at the end of the interview."""
        return self.replay.urgency

    @property
    def under(self) -> bool:
        """The interview ended less urgent than expected."""
        return self.got.rank < self.case.expected.rank

    @property
    def over(self) -> bool:
        """The interview ended more urgent than expected."""
        return self.got.rank > self.case.expected.rank


class SimulatedPatient:
    """Answers the interview's questions from a case's intake.

    The patient knows the case's answers (with top-level ``age`` and ``sex`` merged in as
    ``Intake.from_json`` does). A known code is answered with its value, ``None`` included
    ("not sure"); an unknown yes/no question is answered ``False``; an unknown number or
    choice question is skipped.
    """

    def __init__(self, intake: Mapping[str, Any]) -> None:
        answers = intake.get("answers") or {}
        self.known: dict[str, Any] = dict(answers)
        for key in ("age", "sex"):
            if intake.get(key) is not None and self.known.get(key) is None:
                self.known[key] = intake[key]

    def answer(self, finding: FindingDef) -> Any:
        """The reply to the question for ``finding``: a JSON value, ``None`` or ``SKIPPED``."""
        if finding.code in self.known:
            return self.known[finding.code]
        if finding.type is FindingType.BOOLEAN:
            return False
        return SKIPPED

    def tick(self, step: StepDef) -> list[str] | None:
        """The reply to a checklist: the items ticked (``[]``: "None of these") or ``None``
        ("I'm not sure": nothing is ``true`` in the case and something is ``null``)."""
        ticked = [code for code in step.codes if self.known.get(code) is True]
        if not ticked and any(
            code in self.known and self.known[code] is None for code in step.codes
        ):
            return None
        return ticked

    def rest_unsure(self, step: StepDef) -> bool:
        """Whether the patient also ticks "I'm not sure" beside ticked items: some item is
        ``true`` in the case and another ``null`` (the items not ticked are then unknown)."""
        return any(self.known.get(code) is True for code in step.codes) and any(
            code in self.known and self.known[code] is None for code in step.codes
        )

    def answer_step(self, kb: KnowledgeBase, step: StepDef) -> dict[str, Any]:
        """The answers one step gives (a skipped number or choice gives none)."""
        if step.kind == "checklist":
            return dict(checklist_answers(step, self.tick(step), self.rest_unsure(step)))
        reply = self.answer(kb.findings[step.codes[0]])
        return {} if reply is SKIPPED else {step.codes[0]: reply}


@lru_cache(maxsize=256)
def _read_narrative(text: str) -> Any:
    """``backpath.nlp.read_narrative`` read once per text: the replay triages after every
    answer and the reading of a narrative does not change between answers."""
    from backpath.nlp import read_narrative

    return read_narrative(text)


def replay(
    intake: Mapping[str, Any],
    kb: KnowledgeBase | None = None,
    up_front: Sequence[str] = UP_FRONT,
    pages: bool = False,
) -> Replay:
    """Replay one Intake JSON object through the adaptive interview.

    After every step the Intake JSON built so far goes through ``Intake.from_json`` and
    ``assess``, exactly as an intake sent by a client; the next step comes from
    ``next_step`` with the steps already asked. ``up_front`` are the codes the patient gives
    before the first step (default: age and sex; ``()`` asks them as steps too). With
    ``pages`` the interview goes page by page (see the module docstring). Raises
    ``IntakeError`` when the case's intake is not valid.
    """
    kb = kb or load_knowledge()
    if pages:
        return _replay_pages(intake, kb, up_front)
    Intake.from_json(dict(intake))  # an invalid case is reported, not half replayed
    patient = SimulatedPatient(intake)
    # Measured signs (never asked: a monitor's or the record's numbers) come with the
    # intake, like the narrative.
    given: dict[str, Any] = {
        code: patient.known[code]
        for code in (*up_front, *sorted(kb.given_only_codes))
        if code in patient.known
    }
    extra: dict[str, Any] = {
        key: intake[key] for key in ("narrative", "instruments", "language") if key in intake
    }
    # The steps whose every code was given up front (age, sex) count as asked.
    given_steps = frozenset(
        step.id for step in kb.steps if all(code in given for code in step.codes)
    )
    asked: list[str] = []
    steps: list[str] = []
    while True:
        data: dict[str, Any] = {"answers": dict(given), **extra}
        current = Intake.from_json(data)
        assessment = assess(current, kb, read_narrative=_read_narrative)
        if assessment.urgency is Urgency.EMERGENCY:
            return Replay(assessment.urgency, tuple(asked), True, data, tuple(steps))
        step = next_step(kb, current, given_steps | set(steps), assessment)
        if step is None:
            return Replay(assessment.urgency, tuple(asked), False, data, tuple(steps))
        if step.id in steps or len(steps) >= len(kb.steps):  # a planner bug: never loop
            raise RuntimeError(f"the planner asked step {step.id!r} again after {steps}")
        steps.append(step.id)
        asked.extend(step.codes)
        given.update(patient.answer_step(kb, step))


def _replay_pages(intake: Mapping[str, Any], kb: KnowledgeBase, up_front: Sequence[str]) -> Replay:
    """``replay`` page by page: every step of a page is answered in order unless an answer
    makes it an emergency, which ends the interview at once."""
    Intake.from_json(dict(intake))
    patient = SimulatedPatient(intake)
    # Measured signs (never asked: a monitor's or the record's numbers) come with the
    # intake, like the narrative.
    given: dict[str, Any] = {
        code: patient.known[code]
        for code in (*up_front, *sorted(kb.given_only_codes))
        if code in patient.known
    }
    extra: dict[str, Any] = {
        key: intake[key] for key in ("narrative", "instruments", "language") if key in intake
    }
    before = frozenset(step.id for step in kb.steps if all(code in given for code in step.codes))
    asked: list[str] = []
    steps: list[str] = []
    shown: list[tuple[str, ...]] = []

    def current() -> tuple[Intake, Any]:
        data: dict[str, Any] = {"answers": dict(given), **extra}
        now = Intake.from_json(data)
        return now, assess(now, kb, read_narrative=_read_narrative)

    while True:
        now, assessment = current()
        if assessment.urgency is Urgency.EMERGENCY:
            break
        page = next_page(kb, now, before | set(steps), assessment)
        if not page:
            break
        if len(shown) > len(kb.steps):  # a planner bug: never loop
            raise RuntimeError(f"the page planner never ended after {shown}")
        shown.append(tuple(step.id for step in page))
        for step in page:
            steps.append(step.id)
            asked.extend(step.codes)
            given.update(patient.answer_step(kb, step))
            if current()[1].urgency is Urgency.EMERGENCY:
                break
    data = {"answers": dict(given), **extra}
    urgency = current()[1].urgency
    stopped = urgency is Urgency.EMERGENCY
    return Replay(urgency, tuple(asked), stopped, data, tuple(steps), tuple(shown))


def load_cases(directory: Path) -> tuple[list[Case], list[str]]:
    """The YAML cases of ``directory`` (``id``, ``intake``, ``expected.urgency``) and the
    problems of the files that could not be read."""
    cases: list[Case] = []
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if data.get("replay_skip"):
                # A case about answers no interview can produce (a form conflict, a red
                # flag left unanswered on purpose): it says why in `replay_skip`.
                problems.append(f"{path.name}: not replayed ({data['replay_skip']})")
                continue
            cases.append(
                Case(
                    str(data.get("id", path.stem)),
                    Urgency(data["expected"]["urgency"]),
                    data["intake"],
                )
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{path.name}: cannot read the case ({exc!r})")
    return cases, problems


def load_review(path: Path) -> tuple[list[Case], list[str]]:
    """The review file's cases (one JSON object a line: ``id``, ``expected_urgency``,
    ``intake``) and the problems of the lines that could not be read."""
    cases: list[Case] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            cases.append(
                Case(
                    str(data.get("id", f"line {number}")),
                    Urgency(data["expected_urgency"]),
                    data["intake"],
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{path.name}:{number}: cannot read the case ({exc!r})")
    return cases, problems


def percentile(values: Sequence[int], fraction: float) -> int:
    """The nearest-rank percentile (``fraction`` in (0, 1]) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def summarise(
    name: str, results: Sequence[CaseResult], kb: KnowledgeBase, problems: Sequence[str] = ()
) -> dict[str, Any]:
    """The figures of one set of replayed cases (see the module docstring)."""
    n = len(results)
    emergencies = [r for r in results if r.case.expected is Urgency.EMERGENCY]
    counts = [len(r.replay.asked) for r in results]
    step_counts = [len(r.replay.steps) for r in results]
    under = [r for r in results if r.under]

    def rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return {
        "set": name,
        "cases": n,
        "invalid": list(problems),
        "exact_agreement": rate(sum(r.got is r.case.expected for r in results), n),
        "agreed": sum(r.got is r.case.expected for r in results),
        "emergency_cases": len(emergencies),
        "emergency_found": sum(r.got is Urgency.EMERGENCY for r in emergencies),
        "emergency_sensitivity": rate(
            sum(r.got is Urgency.EMERGENCY for r in emergencies), len(emergencies)
        ),
        "under_triaged": len(under),
        "under_triage_rate": rate(len(under), n),
        "over_triaged": sum(r.over for r in results),
        "over_triage_rate": rate(sum(r.over for r in results), n),
        "stopped_for_emergency": sum(r.replay.stopped_for_emergency for r in results),
        "steps": _spread(step_counts),
        "questions": _spread(counts),
        "pages": _spread([len(r.replay.pages) for r in results])
        if any(r.replay.pages for r in results)
        else None,
        "pages_to_a_routine_or_self_care_result": _spread(
            [
                len(r.replay.pages)
                for r in results
                if r.replay.pages and r.got in (Urgency.ROUTINE, Urgency.SELF_CARE)
            ]
        )
        if any(r.replay.pages for r in results)
        else None,
        "under_triaged_cases": [
            {
                "id": r.case.id,
                "expected": r.case.expected.value,
                "got": r.got.value,
                "rules_alone": _rules_alone(r.case, kb).value,
                "questions": len(r.replay.asked),
                "steps": len(r.replay.steps),
            }
            for r in under
        ],
    }


def _spread(counts: Sequence[int]) -> dict[str, Any]:
    """Median, mean, 90th percentile (nearest rank) and maximum of some counts."""
    return {
        "median": statistics.median(counts) if counts else None,
        "mean": round(statistics.fmean(counts), 2) if counts else None,
        "p90": percentile(counts, 0.9) if counts else None,
        "max": max(counts) if counts else None,
    }


def _rules_alone(case: Case, kb: KnowledgeBase) -> Urgency:
    """The urgency of the whole case intake, triaged without an interview."""
    return assess(Intake.from_json(dict(case.intake)), kb, read_narrative=_read_narrative).urgency


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str, int], Callable[[], None]]]:
    """A progress bar on stderr when more than ``PROGRESS_ABOVE`` cases are replayed.

    Yields ``start(label, n)``, which returns the function to call after each case.
    """
    if total <= PROGRESS_ABOVE:
        yield lambda label, n: lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:

        def start(label: str, n: int) -> Callable[[], None]:
            task = progress.add_task(label, total=n)
            return lambda: progress.advance(task)

        yield start


def run_set(
    cases: Iterable[Case],
    kb: KnowledgeBase,
    advance: Callable[[], None] = lambda: None,
    up_front: Sequence[str] = UP_FRONT,
    pages: bool = False,
) -> tuple[list[CaseResult], list[str]]:
    """Replay every case; cases whose intake is not valid are reported, not replayed."""
    results: list[CaseResult] = []
    problems: list[str] = []
    for case in cases:
        try:
            results.append(CaseResult(case, replay(case.intake, kb, up_front, pages)))
        except IntakeError as exc:
            problems.append(f"{case.id}: invalid intake ({exc})")
        advance()
    return results, problems


def _shown(path: Path) -> str:
    """``path`` relative to the repository root's parent when it is under it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT.parent) if resolved.is_relative_to(ROOT.parent) else path)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:5.1f}%"


def _table(summary: dict[str, Any]) -> str:
    q = summary["questions"]
    st = summary["steps"]
    lines = [
        f"interview replay: {summary['set']} ({summary['cases']} cases)",
        f"  exact agreement         {_percent(summary['exact_agreement'])}"
        f"  ({summary['agreed']}/{summary['cases']})",
        f"  emergency sensitivity   {_percent(summary['emergency_sensitivity'])}"
        f"  ({summary['emergency_found']}/{summary['emergency_cases']})",
        f"  under-triage            {_percent(summary['under_triage_rate'])}"
        f"  ({summary['under_triaged']}/{summary['cases']})",
        f"  over-triage             {_percent(summary['over_triage_rate'])}"
        f"  ({summary['over_triaged']}/{summary['cases']})",
        f"  steps asked             median {st['median']}, mean {st['mean']}, "
        f"p90 {st['p90']}, max {st['max']}",
        f"  questions shown         median {q['median']}, mean {q['mean']}, "
        f"p90 {q['p90']}, max {q['max']}",
        f"  stopped for emergency   {summary['stopped_for_emergency']}",
    ]
    if summary.get("pages"):
        pg = summary["pages"]
        rt = summary["pages_to_a_routine_or_self_care_result"]
        lines.insert(
            -1,
            f"  pages shown             median {pg['median']}, mean {pg['mean']}, "
            f"p90 {pg['p90']}, max {pg['max']}",
        )
        lines.insert(
            -1,
            f"  pages, routine results  median {rt['median']}, p90 {rt['p90']}, max {rt['max']}",
        )
    lines += [f"  not replayed: {problem}" for problem in summary["invalid"]]
    rows = summary["under_triaged_cases"]
    if rows:
        width = max(len(row["id"]) for row in rows)
        lines += [
            "",
            "  under-triaged:",
            f"  {'case':{width}}  {'expected':9}  {'got':9}  {'rules alone':11}  steps",
        ]
        lines += [
            f"  {row['id']:{width}}  {row['expected']:9}  {row['got']:9}  "
            f"{row['rules_alone']:11}  {row['steps']:5d}"
            for row in rows
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the replay and print the figures; the exit code is described in the docstring."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=CASES_DIR, help="directory of YAML cases")
    parser.add_argument("--review", action="store_true", help="also replay the review file")
    parser.add_argument("--review-file", type=Path, default=REVIEW_FILE, help="JSONL review cases")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--ask-all",
        action="store_true",
        help="give nothing up front: age and sex are asked as steps too",
    )
    parser.add_argument(
        "--pages",
        action="store_true",
        help="page by page, as the web intake and the terminal ask (also reports pages)",
    )
    parser.add_argument(
        "--fail-under-sensitivity",
        type=float,
        metavar="X",
        help="exit 1 when the emergency sensitivity over all cases is below X (0-1)",
    )
    args = parser.parse_args(argv)
    kb = load_knowledge()
    notes: list[str] = []
    sets: list[tuple[str, list[Case], list[str]]] = [(_shown(args.cases), *load_cases(args.cases))]
    if args.review:
        if args.review_file.is_file():
            sets.append((_shown(args.review_file), *load_review(args.review_file)))
        else:
            notes.append(f"review file {args.review_file} not found: skipped")
    for note in notes:
        print(note, file=sys.stderr)
    summaries: list[dict[str, Any]] = []
    everything: list[CaseResult] = []
    with _progress(sum(len(cases) for _, cases, _ in sets)) as start:
        for name, cases, problems in sets:
            results, invalid = run_set(
                cases,
                kb,
                start(Path(name).name, len(cases)),
                () if args.ask_all else UP_FRONT,
                args.pages,
            )
            everything += results
            summaries.append(summarise(name, results, kb, [*problems, *invalid]))
    overall = (
        summarise("all", everything, kb, [p for s in summaries for p in s["invalid"]])
        if len(summaries) > 1
        else summaries[0]
    )
    if args.json:
        out = {
            "knowledge_base": {"version": kb.version, "sha256": kb.sha256},
            "sets": summaries,
            "all": overall,
            "notes": notes,
        }
        json.dump(out, sys.stdout, indent=2)
        print()
    else:
        print(
            "\n\n".join(_table(s) for s in (*summaries, *([overall] if len(summaries) > 1 else [])))
        )
    threshold = args.fail_under_sensitivity
    if threshold is not None:
        sensitivity = overall["emergency_sensitivity"]
        if sensitivity is None or sensitivity < threshold:
            shown = (
                "not measurable (no case expected emergency)"
                if sensitivity is None
                else f"{sensitivity:.3f}"
            )
            print(f"emergency sensitivity {shown} is below {threshold}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
