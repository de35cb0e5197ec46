"""How long a fresh process takes to build the narrative readers (issue 11, first reading).

Usage::

    python benchmarks/nlp_build.py               # English and Spanish, 3 fresh processes each
    python benchmarks/nlp_build.py --runs 5 --json

Each run is a new Python process (nothing built, nothing cached) that imports
``backpath.nlp`` and then times, for one reader language: loading its knowledge files, building
its spaCy + medspaCy pipeline (``_pipeline.get_pipeline``), building its fast reader
(``_fast.get_fast_reader``) and the rest of the first ``read_narrative`` (lingua's language
models, the other language's knowledge for the language check, the speller). Both wall-clock
and CPU seconds are reported (median of the runs): the machine this runs on is often shared,
and the CPU time is the figure to compare between runs. The target is a first reading under
~5 s per language.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {"en": "My back hurts and my leg is numb.", "es": "Me duele la espalda y la pierna."}

_CHILD = """
import json, sys, time
language, text = sys.argv[1], sys.argv[2]
clocks = (time.perf_counter, time.process_time)
marks = [tuple(clock() for clock in clocks)]
def mark():
    marks.append(tuple(clock() for clock in clocks))
from backpath.nlp import load_nlp_knowledge, read_narrative
from backpath.nlp._fast import get_fast_reader
from backpath.nlp._pipeline import get_pipeline
mark()
load_nlp_knowledge(language)
mark()
get_pipeline(language)
mark()
get_fast_reader(language)
mark()
read_narrative(text, language=language)
mark()
names = ["import", "knowledge", "pipeline", "fast_reader", "first_read_rest"]
out = {}
for index, name in enumerate(names):
    out[name + "_wall"] = marks[index + 1][0] - marks[index][0]
    out[name + "_cpu"] = marks[index + 1][1] - marks[index][1]
out["first_read_wall"] = marks[-1][0] - marks[1][0]
out["first_read_cpu"] = marks[-1][1] - marks[1][1]
print(json.dumps(out))
"""


def one_run(language: str) -> dict[str, float]:
    """The timings of one fresh process building and using the reader of ``language``."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, language, SAMPLES[language]],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per language")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--language", action="append", choices=sorted(SAMPLES))
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"runs": args.runs}
    for language in args.language or sorted(SAMPLES):
        runs = [one_run(language) for _ in range(args.runs)]
        for key in runs[0]:
            result[f"{language}_{key}"] = round(statistics.median(run[key] for run in runs), 2)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
