"""Throughput and latency of ``assess()`` on random intakes, in one process (one core).

Run: ``python benchmarks/triage_throughput.py [--n 100000] [--json]``. Intakes are built
before timing (validation is measured separately); each ``assess`` call is timed with
``perf_counter_ns``. Target (issue 2): at least 20,000 assessments per second.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from typing import Any

from backpath.intake import Intake
from backpath.kb import load_knowledge
from backpath.triage import assess
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args()
    kb = load_knowledge()
    rng = random.Random(args.seed)
    intakes = [Intake(answers=random_answers(rng, kb)) for _ in range(args.n)]
    for intake in intakes[:1000]:  # warm-up
        assess(intake, kb)
    latencies = []
    start = time.perf_counter()
    clock = time.perf_counter_ns
    for intake in intakes:
        t0 = clock()
        assess(intake, kb)
        latencies.append(clock() - t0)
    elapsed = time.perf_counter() - start
    latencies.sort()
    t0 = time.perf_counter()
    for intake in intakes[:10_000]:
        assess(intake, kb).to_json()
    json_rate = 10_000 / (time.perf_counter() - t0)
    result = {
        "n": args.n,
        "assessments_per_second": round(args.n / elapsed),
        "p50_us": round(latencies[len(latencies) // 2] / 1000, 1),
        "p99_us": round(latencies[int(len(latencies) * 0.99)] / 1000, 1),
        "mean_us": round(statistics.fmean(latencies) / 1000, 1),
        "with_result_json_per_second": round(json_rate),
        "python": platform.python_version(),
        "rules": len(kb.rules),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
