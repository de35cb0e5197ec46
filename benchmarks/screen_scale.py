"""Population screening at scale: backpath against its own ceiling, from the same run.

Generates structured rows (``--rows``, 1,000,000 by default; seeded, reproducible) as
Parquet and CSV, then for each file measures, each in its own process (wall time and peak
resident memory from ``wait4``):

- **ceiling** - DuckDB running the generated triage SQL alone over the file (typed read,
  no validation, no summary), writing Parquet;
- **backpath** - ``backpath screen FILE -o out.parquet`` (validation in SQL, triage,
  summary, output);
- **spark** - ``backpath screen --engine spark --master local[2]`` (``--spark-rows``,
  1,000,000 by default, 0 to skip; needs pyspark and Java).

It prints rows/s, the ratio backpath/ceiling (target >= 0.5) and peak memory, and checks
that every engine's output is identical row by row (urgency and fired rules).

    python3 benchmarks/screen_scale.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backpath.kb import KnowledgeBase, load_knowledge
from backpath.screening import screening_columns, triage_sql
from backpath.vocabulary import FindingType


def _generator_sql(kb: KnowledgeBase, rows: int) -> str:
    """Seeded rows from a hash of (row, column): ~12 % not asked, a few % yes."""
    select = ["concat('r', CAST(i AS VARCHAR)) AS row_id"]
    for k, (code, _) in enumerate(screening_columns(kb)):
        finding = kb.findings[code]
        h = f"(hash(i * 1000 + {k}) % 1000)"
        if finding.type is FindingType.BOOLEAN:
            expr = f"CASE WHEN {h} < 120 THEN NULL WHEN {h} < 150 THEN TRUE ELSE FALSE END"
        elif finding.type is FindingType.INTEGER:
            low = finding.min or 0
            high = min(finding.max if finding.max is not None else 120, 120)
            expr = (
                f"CASE WHEN {h} < 120 THEN NULL ELSE "
                f"CAST({low} + (hash(i * 7919 + {k}) % {high - low + 1}) AS INTEGER) END"
            )
        else:
            values = list(finding.allowed_values)
            expr = (
                f"CASE WHEN {h} < 120 THEN NULL ELSE "
                f"{values!r}[1 + CAST(hash(i * 31 + {k}) % {len(values)} AS INTEGER)] END"
            )
        select.append(f"{expr} AS {code}")
    return f"SELECT {', '.join(select)} FROM range({rows}) AS t(i)"


def generate(kb: KnowledgeBase, rows: int, folder: Path) -> dict[str, Path]:
    """Write the same generated rows as Parquet and CSV."""
    import duckdb

    con = duckdb.connect()
    paths = {"parquet": folder / "rows.parquet", "csv": folder / "rows.csv"}
    con.execute(f"COPY ({_generator_sql(kb, rows)}) TO '{paths['parquet']}' (FORMAT parquet)")
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{paths['parquet']}')) TO '{paths['csv']}' "
        "(FORMAT csv, HEADER true)"
    )
    con.close()
    return paths


def _ceiling(source: Path, fmt: str, out: Path) -> None:
    """The generated SQL alone over the file, typed read, written as Parquet."""
    import duckdb

    kb = load_knowledge()
    columns = {"row_id": "VARCHAR", **dict(screening_columns(kb))}
    if fmt == "csv":
        spec = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        read = f"read_csv('{source}', header = true, auto_detect = false, columns = {{{spec}}})"
    else:
        read = f"read_parquet('{source}')"
    table = (
        f"(SELECT *, CAST(NULL AS VARCHAR) AS unsure_codes, "
        f"CAST(NULL AS BOOLEAN) AS narrative_unclear, CAST(NULL AS BOOLEAN) AS danger_words "
        f"FROM {read})"
    )
    sql = triage_sql(kb, table=table, order_by_key=False)
    duckdb.connect().execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")


# A small launcher: a process forked from this (large) one would inherit its peak memory,
# so each measured command is started by a fresh interpreter that reports its child's peak.
_LAUNCH = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print('PEAK_KB=%d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
    "file=sys.stderr); sys.exit(code)"
)


def _measure(command: list[str]) -> tuple[float, float, int]:
    """Run ``command``; (seconds, peak resident MB of it and its children, exit code)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCH, *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    peaks = [line for line in done.stderr.splitlines() if line.startswith("PEAK_KB=")]
    peak = int(peaks[-1].split("=")[1]) / 1024 if peaks else float("nan")
    return seconds, peak, done.returncode


def _same(a: Path, b: Path) -> int:
    """Rows whose urgency or fired rules differ between two outputs (0: identical)."""
    import duckdb

    def norm(path: Path) -> str:
        return (
            "SELECT row_id, urgency, CASE WHEN typeof(fired_rules) = 'VARCHAR[]' "
            "THEN array_to_string(fired_rules, ' ') ELSE CAST(fired_rules AS VARCHAR) END "
            f"AS fired FROM read_parquet('{path}')"
        )

    con = duckdb.connect()
    row = con.execute(
        f"SELECT count(*) FROM ({norm(a)}) AS x FULL OUTER JOIN ({norm(b)}) AS y USING (row_id) "
        "WHERE x.urgency IS DISTINCT FROM y.urgency OR x.fired IS DISTINCT FROM y.fired"
    ).fetchone()
    return int(row[0]) if row else -1


def main() -> None:
    """Generate, measure, compare, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--spark-rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument(
        "--child", nargs=3, metavar=("FMT", "SOURCE", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        fmt, source, out = args.child
        _ceiling(Path(source), fmt, Path(out))
        return
    kb = load_knowledge()
    me = [sys.executable, str(Path(__file__).resolve())]
    cli = [sys.executable, "-m", "backpath"]
    results: dict[str, object] = {"rows": args.rows, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="screen-scale-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        files = generate(kb, args.rows, folder)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
        print(f"{'file':8} {'engine':9} {'seconds':>8} {'rows/s':>12} {'peak MB':>8}  identical")
        for fmt in args.formats.split(","):
            source = files[fmt]
            ceiling_out = folder / f"ceiling_{fmt}.parquet"
            ours_out = folder / f"backpath_{fmt}.parquet"
            runs = {
                "ceiling": _measure([*me, "--child", fmt, str(source), str(ceiling_out)]),
                "backpath": _measure([*cli, "screen", str(source), "-o", str(ours_out)]),
            }
            same = {"ceiling": 0, "backpath": _same(ceiling_out, ours_out)}
            if args.spark_rows and args.spark_rows >= args.rows:
                spark_out = folder / f"spark_{fmt}.parquet"
                runs["spark"] = _measure(
                    [*cli, "screen", str(source), "--engine", "spark", "-o", str(spark_out)]
                )
                same["spark"] = _same(ceiling_out, spark_out) if spark_out.exists() else -1
            for engine, (seconds, peak, code) in runs.items():
                rate = args.rows / seconds
                flag = (
                    "yes"
                    if same[engine] == 0 and code == 0
                    else f"NO ({same[engine]}, exit {code})"
                )
                print(f"{fmt:8} {engine:9} {seconds:8.2f} {rate:12,.0f} {peak:8.0f}  {flag}")
                results[f"{fmt}.{engine}"] = {
                    "seconds": round(seconds, 2),
                    "rows_per_s": round(rate),
                    "peak_mb": round(peak),
                    "identical": same[engine] == 0,
                }
            ratio = runs["ceiling"][0] / runs["backpath"][0]
            results[f"{fmt}.ratio"] = round(ratio, 3)
            print(f"{fmt:8} backpath/ceiling ratio {ratio:.2f} (target >= 0.5)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
