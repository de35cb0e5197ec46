"""Throughput of the narrative reader on one core.

Usage::

    python benchmarks/nlp_speed.py            # 5 passes over the corpus
    python benchmarks/nlp_speed.py --passes 20 --json
    taskset -c 0 python benchmarks/nlp_speed.py --passes 10   # one core
    taskset -c 0 python benchmarks/nlp_speed.py --cpu --no-reference   # CPU time of one core

Reads every narrative of tests/data/narratives/ with ``backpath.nlp.read_narrative`` in
one process (spaCy's multi-process ``nlp.pipe`` cannot pickle medspaCy's TargetRule, and
one reading at a time is how the web and CLI adapters call it). Reports the one-off
pipeline build time, narratives and words per second, the rate at realistic lengths (50,
150 and 400 words: English corpus narratives joined in a fixed order and cut at a word
boundary, ``LENGTH_SAMPLES`` of each), and the time for the longest narrative the reader
accepts (20,000 characters). Targets: >= 300 corpus narratives/s (issue 3); issue 11 asks
for >= 1,000 narratives/s/core at 50 words (reported, not enforced).

``read_narrative`` matches with the fast reader (``backpath.nlp._fast``); at each length the
reference path (``_reader._read_reference``: the spaCy + medspaCy pipeline, the reader
before issue 11's speed work) is measured in the same passes too
(``..._reference_per_second`` and ``..._speedup``; ``--no-reference`` skips it).

The machine this runs on is often shared, so every rate is printed beside a ceiling taken
in the same run, interleaved pass by pass on the same texts: spaCy's blank tokenizer of the
language alone (``tokenizer_per_second``). ``share_of_tokenizer`` (reader rate / tokenizer
rate) is the figure to compare between runs; the issue measured 2-4 % before issue 11's
speed work. Spanish is measured the same way on Spanish dev narratives (``es_*``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "tests" / "data" / "narratives"
TARGET_PER_SECOND = 300
LENGTHS = (50, 150, 400)
LENGTH_SAMPLES = 60
TARGET_50_WORDS_PER_SECOND = 1000
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _development_items(path: Path) -> list[dict[str, Any]]:
    """The narratives of a corpus file that are not held out: held-out files
    (``*heldout*``) and items marked ``split: heldout`` are the independent measure of
    the reader's recall and are not read here (their texts never enter a benchmark)."""
    if "heldout" in path.stem:
        return []
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    return [item for item in data["narratives"] if item.get("split") != "heldout"]


def corpus_texts() -> list[str]:
    """Every development narrative text of the corpus (English and Spanish)."""
    texts: list[str] = []
    for path in sorted(CORPUS_DIR.glob("*.yaml")):
        texts.extend(str(item["text"]) for item in _development_items(path))
    return texts


def english_texts(language: str = "en") -> list[str]:
    """The corpus narratives written in ``language`` (a file's language is ``es`` for
    ``es_*.yaml``, else ``en``, unless it or the narrative says otherwise). Held-out files
    and held-out items are left out: they are for measuring recall, not speed."""
    texts: list[str] = []
    for path in sorted(CORPUS_DIR.glob("*.yaml")):
        items = _development_items(path)
        if not items:
            continue
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        file_language = data.get("language") or ("es" if path.stem.startswith("es_") else "en")
        for item in items:
            if item.get("language", file_language) == language and item.get("understood", True):
                texts.append(str(item["text"]))
    return texts


def narratives_of_length(
    words: int, count: int = LENGTH_SAMPLES, language: str = "en"
) -> list[str]:
    """``count`` narratives of exactly ``words`` words, made of whole corpus narratives
    (each ending with a full stop) taken in turn, the last one cut at a word boundary."""
    texts = english_texts(language)
    out: list[str] = []
    index = 0
    for _ in range(count):
        parts: list[str] = []
        total = 0
        while total < words:
            text = texts[index % len(texts)].strip()
            index += 7  # a fixed stride mixes the files
            if text[-1:] not in ".!?":
                text += "."
            parts.extend(text.split())
            total = len(parts)
        out.append(" ".join(parts[:words]))
    return out


# The clock of every rate: wall time, or the process's CPU time with ``--cpu`` (what one
# core does, whatever else the shared machine runs).
_CLOCK = {"now": time.perf_counter}


def _rate(read: Any, texts: list[str], passes: int) -> float:
    rates = []
    for _ in range(passes):
        clock = _CLOCK["now"]
        start = clock()
        for text in texts:
            read(text)
        rates.append(len(texts) / (clock() - start))
    return statistics.median(rates)


def _rate_and_ceiling(
    read: Any, tokenize: Any, texts: list[str], passes: int, reference: Any = None
) -> tuple[float, float, float | None]:
    """Median reader rate, median tokenizer rate and (when ``reference`` is given) median
    rate of the reference reader, one pass of each in turn."""
    reads, ceilings, references = [], [], []
    for _ in range(passes):
        reads.append(_rate(read, texts, 1))
        ceilings.append(_rate(tokenize, texts, 1))
        if reference is not None:
            references.append(_rate(reference, texts, 1))
    return (
        statistics.median(reads),
        statistics.median(ceilings),
        statistics.median(references) if references else None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=5, help="passes over the corpus")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the reference (spaCy + medspaCy pipeline) reader",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="rates per second of this process's CPU time, not of wall time",
    )
    args = parser.parse_args(argv)
    if args.cpu:
        _CLOCK["now"] = time.process_time

    started = time.perf_counter()
    from backpath.nlp import MAX_NARRATIVE_CHARS, read_narrative, warm_up
    from backpath.nlp._pipeline import get_pipeline
    from backpath.nlp._reader import _read_reference

    warm_up()
    build_seconds = time.perf_counter() - started

    texts = corpus_texts()
    words = sum(len(text.split()) for text in texts)
    per_second = _rate(read_narrative, texts, args.passes)
    by_length: dict[str, Any] = {}
    for language in ("en", "es"):
        prefix = "" if language == "en" else "es_"
        tokenizer = get_pipeline(language).tokenizer

        def read(text: str, language: str = language) -> Any:
            return read_narrative(text, language=language)

        def reference(text: str, language: str = language) -> Any:
            return _read_reference(text, language=language)

        for length in LENGTHS:
            samples = narratives_of_length(length, language=language)
            rate, ceiling, before = _rate_and_ceiling(
                read,
                tokenizer,
                samples,
                max(3, args.passes),
                None if args.no_reference else reference,
            )
            by_length[f"{prefix}{length}_words_per_second"] = round(rate, 1)
            by_length[f"{prefix}{length}_words_tokenizer_per_second"] = round(ceiling, 1)
            by_length[f"{prefix}{length}_words_share_of_tokenizer"] = round(rate / ceiling, 4)
            if before is not None:
                # The spaCy + medspaCy pipeline path, interleaved in the same passes.
                by_length[f"{prefix}{length}_words_reference_per_second"] = round(before, 1)
                by_length[f"{prefix}{length}_words_speedup"] = round(rate / before, 2)

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
        **by_length,
        "target_50_words_per_second": TARGET_50_WORDS_PER_SECOND,
        "build_seconds": round(build_seconds, 2),
        "clock": "cpu" if args.cpu else "wall",
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
        fifty = by_length["50_words_per_second"]
        verdict = "meets" if fifty >= TARGET_50_WORDS_PER_SECOND else "does not meet"
        print(
            f"{verdict} the issue 11 target of {TARGET_50_WORDS_PER_SECOND} narratives/s at "
            "50 words (reported only)"
        )
    return 0 if per_second >= TARGET_PER_SECOND else 1


if __name__ == "__main__":
    raise SystemExit(main())
