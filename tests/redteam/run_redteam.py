"""Run the red-team cases of this folder through ``assess`` and report under-triage.

Usage::

    python3 tests/redteam/run_redteam.py            # table on stdout
    python3 tests/redteam/run_redteam.py --json out.json
    python3 tests/redteam/run_redteam.py --replay   # also the interview replay (steps, pages)
    python3 tests/redteam/run_redteam.py --cases tests/redteam/v2   # another folder of cases

Each case is a YAML file in the tests/cases format (``id``, ``intake``,
``expected.urgency``) plus a ``redteam`` block (``kind``: structured, narrative_en or
narrative_es; ``control``: a true non-urgent case kept to see over-triage). The cases are
not part of the tuned set: this script only measures, it asserts nothing, and its exit
code is 0 whatever it finds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from backpath.intake import Intake
from backpath.nlp import read_narrative
from backpath.triage import assess

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE.parent.parent / "benchmarks"
RANK = {"self_care": 0, "routine": 1, "urgent": 2, "emergency": 3}


def _replayer() -> Any:
    """The benchmark's ``replay`` function (benchmarks/ is not a package)."""
    import importlib

    sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module("interview_replay").replay


def run_case(data: dict[str, Any], replay: Any = None) -> dict[str, Any]:
    """Triage one case and return what a reviewer needs to judge it.

    With ``replay`` (the benchmark's function) the case also goes through the adaptive
    interview, step by step and page by page, with the benchmark's simulated patient.
    """
    intake = Intake.from_json(data["intake"])
    result = assess(intake, read_narrative=read_narrative)
    got = result.urgency.value
    expected = data["expected"]["urgency"]
    narrative = [
        f"{e.code}={e.value}({e.certainty}):{e.text!r}"
        for e in result.evidence.values()
        if e.source == "narrative"
    ]
    replayed: dict[str, str] = {}
    if replay is not None and not data.get("replay_skip"):
        replayed["replay_steps"] = replay(data["intake"]).urgency.value
        replayed["replay_pages"] = replay(data["intake"], pages=True).urgency.value
    return {
        **replayed,
        "id": data["id"],
        "kind": data.get("redteam", {}).get("kind", "?"),
        "control": bool(data.get("redteam", {}).get("control", False)),
        "expected": expected,
        "got": got,
        "delta": RANK[got] - RANK[expected],
        "fired": list(result.fired_ids),
        "narrative_findings": narrative,
        "narrative_status": result.narrative_status,
        "narrative_problems": list(result.narrative_problems),
        "complete": result.complete,
        "unsure": list(result.unsure),
        "probe": data.get("redteam", {}).get("probe", ""),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every case and print the summary and the under- and over-triaged cases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    parser.add_argument("--replay", action="store_true", help="also replay the interview")
    parser.add_argument(
        "--cases",
        type=Path,
        default=HERE,
        help="folder of case YAML files (default: this script's own folder)",
    )
    args = parser.parse_args(argv)
    replay = _replayer() if args.replay else None
    rows = []
    if not args.cases.is_dir():
        parser.error(f"--cases: {args.cases} is not a folder")
    for path in sorted(args.cases.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rows.append(run_case(data, replay))
    emergencies = [r for r in rows if r["expected"] == "emergency"]
    caught = sum(r["got"] == "emergency" for r in emergencies)
    under = [r for r in rows if r["delta"] < 0]
    over = [r for r in rows if r["delta"] > 0]
    print(f"cases: {len(rows)}")
    if emergencies:
        print(
            f"emergency sensitivity: {caught}/{len(emergencies)} = {caught / len(emergencies):.2f}"
        )
    for kind in ("structured", "narrative_en", "narrative_es"):
        subset = [r for r in rows if r["kind"] == kind]
        em = [r for r in subset if r["expected"] == "emergency"]
        got_em = sum(r["got"] == "emergency" for r in em)
        n_under = sum(r["delta"] < 0 for r in subset)
        print(f"  {kind}: n={len(subset)} emergency {got_em}/{len(em)} under-triaged {n_under}")
    print(f"under-triaged: {len(under)}   over-triaged: {len(over)}")
    if replay is not None:
        for mode in ("replay_steps", "replay_pages"):
            low = [r["id"] for r in rows if mode in r and RANK[r[mode]] < RANK[r["expected"]]]
            high = [r["id"] for r in rows if mode in r and RANK[r[mode]] > RANK[r["expected"]]]
            print(f"{mode}: under {len(low)} over {len(high)} over-triaged={high}")
    for title, group in (("UNDER", under), ("OVER", over)):
        print(f"\n{title}")
        for r in group:
            print(
                f"  {r['id']}: expected {r['expected']} got {r['got']} "
                f"replay={r.get('replay_steps', '-')}/{r.get('replay_pages', '-')} "
                f"fired={r['fired']} narrative={r['narrative_findings']} "
                f"status={r['narrative_status']} problems={r['narrative_problems']}"
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
