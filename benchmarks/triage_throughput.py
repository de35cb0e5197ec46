"""Throughput of ``assess()`` with its Result JSON against the ceiling of the same rules.

Run: ``python benchmarks/triage_throughput.py [--n 20000] [--json]``. Intakes are built
before timing (validation is measured separately by the HTTP benchmark). In the same run
it measures:

- ``assess()`` alone, each call timed with ``perf_counter_ns`` (p50/p99 latency);
- ``assess().to_json()``: the whole Result JSON, what an adapter returns;
- ``assess().encode(orjson.dumps)``: the Result JSON as bytes, the API's path;
- the ceiling: one Python function generated here from the same condition trees, rule by
  rule, with every finding read once and Kleene logic written inline, that computes only
  the urgency (no explanation, no advice, no JSON). No triage of these rules in Python can
  be faster than straight-line code that does nothing else.

It prints the ratio ``assess().to_json()`` / ceiling (target, issue 14: at least 0.25) and
checks that the ceiling and ``assess()`` give the same urgency for every intake: a ceiling
that disagreed would measure nothing (``--no-check`` skips it).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from backpath.intake import Intake
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.logic.conditions import (
    All,
    Always,
    AnyOf,
    AtLeast,
    Compare,
    Condition,
    Is,
    Missing,
    Not,
)
from backpath.triage import Assessment, assess
from backpath.triage.engine import prepare_answers
from backpath.vocabulary import FindingType


def random_answers(rng: random.Random, kb: Any) -> dict[str, Any]:
    """A plausible intake: most questions answered, red flags rare, some unknowns."""
    answers: dict[str, Any] = {}
    for code, finding in kb.findings.items():
        if rng.random() < 0.2:
            continue
        if finding.type is FindingType.BOOLEAN:
            answers[code] = rng.random() < (0.03 if finding.red_flag else 0.4)
        elif finding.type is FindingType.INTEGER:
            answers[code] = rng.randint(finding.min or 0, min(finding.max or 100, 100))
        elif finding.type is FindingType.CHOICE:
            answers[code] = rng.choice(finding.allowed_values)
        else:
            answers[code] = tuple(rng.sample(finding.allowed_values, k=rng.randint(0, 3)))
    return answers


# ---------------------------------------------------------------- the ceiling


class _InlineWriter:
    """Writes one Kleene expression per node into straight-line code (values only)."""

    def __init__(self) -> None:
        self.reads: dict[str, str] = {}
        self.lines: list[str] = []
        self.count = 0

    def read(self, code: str) -> str:
        if code not in self.reads:
            self.reads[code] = f"a{len(self.reads)}"
        return self.reads[code]

    def node(self, condition: Condition) -> str:
        self.count += 1
        out = f"t{self.count}"
        if isinstance(condition, Always):
            self.lines.append(f"{out} = True")
        elif isinstance(condition, Is):
            raw = self.read(condition.code)
            self.lines.append(f"{out} = None if {raw} is None else {raw} is True")
        elif isinstance(condition, Missing):
            self.lines.append(f"{out} = {self.read(condition.code)} is None")
        elif isinstance(condition, Compare):
            raw = self.read(condition.code)
            self.lines.append(
                f"{out} = None if {raw} is None else {raw} {condition.op} {condition.value!r}"
            )
        elif isinstance(condition, Not):
            child = self.node(condition.child)
            self.lines.append(f"{out} = None if {child} is None else not {child}")
        elif isinstance(condition, All | AnyOf):
            kids = [self.node(child) for child in condition.children]
            stop, keep = ("False", "True") if isinstance(condition, All) else ("True", "False")
            self.lines.append(
                f"{out} = {stop} if ({' or '.join(f'{k} is {stop}' for k in kids)}) else "
                f"(None if ({' or '.join(f'{k} is None' for k in kids)}) else {keep})"
            )
        elif isinstance(condition, AtLeast):
            kids = [self.node(child) for child in condition.children]
            true = " + ".join(f"({k} is True)" for k in kids)
            unknown = " + ".join(f"({k} is None)" for k in kids)
            self.lines.append(f"n = {true}")
            self.lines.append(
                f"{out} = True if n >= {condition.n} else "
                f"(False if n + {unknown} < {condition.n} else None)"
            )
        else:
            raise TypeError(f"cannot inline {type(condition).__name__}")
        return out


def inline_urgency(kb: KnowledgeBase) -> Callable[[Mapping[str, Any]], str]:
    """The ceiling: one generated function from answers (after ``implies``) to urgency."""
    writer = _InlineWriter()
    checks = []
    for rule in kb.rules:
        value = writer.node(rule.condition)
        checks.append((rule.urgency.rank, value, rule.urgency.value))
    body = [f"{name} = get({code!r})" for code, name in writer.reads.items()]
    body += writer.lines
    body.append("rank = -1")
    body.append("urgency = BASELINE")
    for rank, value, urgency in checks:
        body.append(f"if {value} is True and rank < {rank}:")
        body.append(f"    rank = {rank}")
        body.append(f"    urgency = {urgency!r}")
    body.append("return urgency")
    source = "def urgency_of(answers):\n    get = answers.get\n"
    source += "".join(f"    {line}\n" for line in body)
    namespace: dict[str, Any] = {"BASELINE": kb.manifest.baseline_urgency.value}
    exec(compile(source, "<inline ceiling>", "exec"), namespace)
    function: Callable[[Mapping[str, Any]], str] = namespace["urgency_of"]
    return function


# ---------------------------------------------------------------- the run


def _rate(function: Callable[[Any], Any], items: list[Any], rounds: int) -> float:
    """Best calls per CPU second over ``rounds`` passes: process time, so that other
    processes on a shared machine slow the wall clock but not the measure."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for item in items:
            function(item)
        best = min(best, time.process_time() - started)
    return len(items) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes; the best counts")
    parser.add_argument("--no-check", action="store_true", help="skip the urgency cross-check")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args()
    kb = load_knowledge()
    rng = random.Random(args.seed)
    intakes = [Intake(answers=random_answers(rng, kb)) for _ in range(args.n)]
    # The ceiling reads answers after ``implies`` (as the rules do); preparing them is
    # part of ``assess`` and not of the ceiling, which makes the ceiling higher, not lower.
    prepared = [prepare_answers(intake, kb).answers for intake in intakes]
    ceiling = inline_urgency(kb)
    if not args.no_check:
        for intake, answers in zip(intakes, prepared, strict=True):
            expected = assess(intake, kb).urgency.value
            if ceiling(answers) != expected:
                raise SystemExit(f"the ceiling disagrees with assess() on {intake}")

    for intake in intakes[:1000]:  # warm-up
        assess(intake, kb).to_json()
    latencies = []
    clock = time.perf_counter_ns
    for intake in intakes:
        t0 = clock()
        assess(intake, kb)
        latencies.append(clock() - t0)
    latencies.sort()
    # Interleaved, so that what load from other processes remains hits all alike.
    rates: dict[str, list[float]] = {"assess": [], "json": [], "bytes": [], "ceiling": []}
    for _ in range(args.rounds):
        rates["ceiling"].append(_rate(ceiling, prepared, 1))
        rates["assess"].append(_rate(lambda i: assess(i, kb), intakes, 1))
        rates["json"].append(_rate(lambda i: assess(i, kb).to_json(), intakes, 1))
        if hasattr(Assessment, "encode"):
            rates["bytes"].append(_rate(lambda i: assess(i, kb).encode(orjson.dumps), intakes, 1))
        else:  # an engine before issue 14: the API encoded ``to_json()``
            rates["bytes"].append(_rate(lambda i: orjson.dumps(assess(i, kb).to_json()), intakes, 1))
    best = {name: max(values) for name, values in rates.items()}
    result = {
        "n": args.n,
        "rules": len(kb.rules),
        "assess_per_second": round(best["assess"]),
        "assess_with_result_json_per_second": round(best["json"]),
        "ceiling_inline_per_second": round(best["ceiling"]),
        "assess_with_json_bytes_per_second": round(best["bytes"]),
        "ratio_result_json_to_ceiling": round(best["json"] / best["ceiling"], 3),
        "ratio_json_bytes_to_ceiling": round(best["bytes"] / best["ceiling"], 3),
        "ratio_assess_to_ceiling": round(best["assess"] / best["ceiling"], 3),
        "p50_us": round(latencies[len(latencies) // 2] / 1000, 1),
        "p99_us": round(latencies[int(len(latencies) * 0.99)] / 1000, 1),
        "mean_us": round(statistics.fmean(latencies) / 1000, 1),
        "urgencies_agree": not args.no_check,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>36}: {value}")
        print("\ntarget (issue 14): ratio_result_json_to_ceiling >= 0.25")


if __name__ == "__main__":
    main()
