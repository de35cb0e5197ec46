"""Throughput of the narrative reader on one core.

Usage::

    python benchmarks/nlp_speed.py            # 5 passes over the corpus
    python benchmarks/nlp_speed.py --passes 20 --json

Reads every narrative of tests/data/narratives/ with ``backpath.nlp.read_narrative`` in
one process (spaCy's multi-process ``nlp.pipe`` cannot pickle medspaCy's TargetRule, and
one reading at a time is how the web and CLI adapters call it). Reports the one-off
pipeline build time, narratives and words per second, and the time for the longest
narrative the reader accepts (20,000 characters). Target (issue 3): >= 300 narratives/s.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "tests" / "data" / "narratives"
TARGET_PER_SECOND = 300


def corpus_texts() -> list[str]:
    """Every narrative text of the corpus."""
    texts: list[str] = []
    for path in sorted(CORPUS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts.extend(str(item["text"]) for item in data["narratives"])
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=5, help="passes over the corpus")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from backpath.nlp import MAX_NARRATIVE_CHARS, read_narrative
    from backpath.nlp._pipeline import get_pipeline

    get_pipeline()
    read_narrative("warm up: my back hurts")
    build_seconds = time.perf_counter() - started

    texts = corpus_texts()
    words = sum(len(text.split()) for text in texts)
    rates = []
    for _ in range(args.passes):
        start = time.perf_counter()
        for text in texts:
            read_narrative(text)
        elapsed = time.perf_counter() - start
        rates.append(len(texts) / elapsed)
    per_second = statistics.median(rates)

    long_text = ("My back hurts and my left leg is numb, no fever. " * 500)[:MAX_NARRATIVE_CHARS]
    start = time.perf_counter()
    read_narrative(long_text)
    longest_seconds = time.perf_counter() - start

    result = {
        "narratives": len(texts),
        "mean_words": round(words / len(texts), 1),
        "passes": args.passes,
        "narratives_per_second": round(per_second, 1),
        "words_per_second": round(per_second * words / len(texts)),
        "build_seconds": round(build_seconds, 2),
        "longest_narrative_chars": len(long_text),
        "longest_narrative_seconds": round(longest_seconds, 3),
        "target_per_second": TARGET_PER_SECOND,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        for key, value in result.items():
            print(f"{key:28} {value}")
        verdict = "meets" if per_second >= TARGET_PER_SECOND else "DOES NOT meet"
        print(f"\n{verdict} the target of {TARGET_PER_SECOND} narratives/s on one core")
    return 0 if per_second >= TARGET_PER_SECOND else 1


if __name__ == "__main__":
    raise SystemExit(main())
