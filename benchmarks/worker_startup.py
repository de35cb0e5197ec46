"""How long screening workers take to start reading narratives, against a bare process pool.

``backpath screen --workers N`` reads narratives in N processes. Before this benchmark's
change each worker was spawned fresh and imported spaCy, medspaCy and the lexicons and
built its own reader (issue 14: ~12 s per worker); now they are forked from a fork server
that built the reader once (``backpath.screening.workers``). For each start method this
prints the wall time until N workers have each read one batch of narratives, beside the
ceiling from the same run: the same pool doing nothing (an echo), started the same way.

    python3 benchmarks/worker_startup.py --workers 2

Each measurement runs in its own interpreter (``--one``), so no fork server or built
reader carries over from one to the next.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

NARRATIVE = "pain down my left leg for a week and my bum feels numb when I wipe"


def _echo(value: int) -> int:
    return value


def _memory_kb() -> dict[str, int]:
    """This process's resident (Rss) and proportional (Pss: shared pages split between the
    processes sharing them) memory, in kB, from Linux's smaps_rollup."""
    out = {}
    with open("/proc/self/smaps_rollup", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                out[key.lower()] = int(rest.split()[0])
    return out


def _read_and_measure(kb: Any, batch: list[tuple[int, str]], extra: object) -> list[dict[str, int]]:
    """One batch of narratives read (as ``backpath screen`` reads them), then this worker's
    memory, once per row."""
    from backpath.screening.narrative import _prepare_batch

    rows = _prepare_batch(kb, batch, extra)
    return [{"pid": os.getpid(), **_memory_kb()} for _ in rows]


def _one(method: str, workers: int) -> dict[str, float]:
    """Seconds until every worker has answered (``method``: spawn, forkserver or echo), and
    the workers' memory once they have read (MB: resident, and proportional to sharing)."""
    from backpath.kb import load_knowledge
    from backpath.screening import workers as pool

    started = time.perf_counter()
    if method == "echo":
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as ex:
            list(ex.map(_echo, range(workers)))
        return {"seconds": time.perf_counter() - started}
    if method == "spawn":
        pool._context = lambda warm: multiprocessing.get_context("spawn")  # type: ignore[assignment]
    kb = load_knowledge()
    lines = [
        (i, json.dumps({"id": f"r{i}", "age": 40, "narrative": NARRATIVE}))
        for i in range(workers * 4)
    ]
    rows = list(pool.ordered_map(_read_and_measure, lines, kb, workers, 4, warm_reader=True))
    seconds = time.perf_counter() - started
    assert len(rows) == len(lines)
    last = {row["pid"]: row for row in rows}
    return {
        "seconds": seconds,
        "rss_mb": sum(r["rss"] for r in last.values()) / 1024,
        "pss_mb": sum(r["pss"] for r in last.values()) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--one", choices=["spawn", "forkserver", "echo"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args.one, args.workers)))
        return
    results: dict[str, dict[str, float]] = {}
    for method in ("echo", "spawn", "forkserver"):
        out = subprocess.run(
            [sys.executable, __file__, "--one", method, "--workers", str(args.workers)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[method] = found = json.loads(out.strip().splitlines()[-1])
        memory = (
            f"  workers' memory: resident {found['rss_mb']:,.0f} MB, "
            f"proportional {found['pss_mb']:,.0f} MB"
            if "pss_mb" in found
            else ""
        )
        print(f"{method:<11} {found['seconds']:7.2f} s  ({args.workers} workers){memory}")
    spawn, fork = results["spawn"], results["forkserver"]
    print(
        f"forkserver / spawn: time {fork['seconds'] / spawn['seconds']:.2f}, "
        f"proportional memory {fork['pss_mb'] / spawn['pss_mb']:.2f} "
        f"(ceiling, an echo pool: {results['echo']['seconds']:.2f} s)"
    )
    print(json.dumps({"workers": args.workers, **results}))


if __name__ == "__main__":
    main()
