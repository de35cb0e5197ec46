"""The clinician worklist over 100,000 stored assessments, on SQLite and PostgreSQL.

Run: ``python benchmarks/worklist_scale.py [--n 100000] [--rounds 15] [--engines sqlite,postgresql]``.

Issue 12 asks for a worklist with nothing hidden that stays fast however many rows wait:
first page under 200 ms with 100,000 assessments on both databases. For each engine this

1. opens a fresh database through ``store.open_store`` (the real migrations): a SQLite file
   in a temporary folder, and on PostgreSQL (``--postgres-url``, default the local test
   server) a schema of its own, ``bench_worklist_<random>``, dropped at the end;
2. fills it with ``--n`` assessments through the store's bulk path
   (``assessments.save_assessments``), in batches of 1,000 with a progress bar. The intakes
   are triaged by the real engine (a pool of a few hundred, reused), spread over the last
   365 days; the older ``--reviewed`` share is marked reviewed, as in a clinic that works
   its list (the open worklist then starts behind tens of thousands of reviewed rows);
3. times, each in a new session (as a request would), over ``--rounds`` rounds after one
   warm-up round, the wall-clock median and p95 and this process's CPU median (on a
   shared machine the wall clock includes waiting for a core) of:

   - the first worklist page (``worklist_page``: open, every urgency, most urgent first);
   - the emergency filter's first page;
   - a page deep in the keyset pagination (the cursor of the row 80% down the open list);
   - the per-urgency counts the worklist always shows (``urgency_counts``);
   - the concern filter's first page (``cauda_equina``);
   - the ceiling measured in the same run: a bare ``SELECT 1`` round trip and a bare
     ``SELECT * FROM assessments ORDER BY created_at LIMIT <page size>`` on the same table
     (one index range, raw rows, no ORM), and the ratio of each operation to that query;
   - for comparison, the path the worklist route took before keyset paging
     (``assessments.worklist`` loads every matching row and the route slices a page;
     ``--legacy-rounds``, default 1 without warm-up, since one round reads the whole table).

It checks what it timed (the pages are in worklist order, the filter returns only
emergencies, the deep page starts after its cursor, the counts add up to the open rows),
and with ``--explain`` prints each query's plan. Nothing here is a test: the numbers are
recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backpath.intake import Intake
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.store import Store, open_store
from backpath.store import assessments as store
from backpath.store.models import StoredAssessment
from backpath.triage.engine import assess
from backpath.vocabulary import FindingType, Urgency

DEFAULT_POSTGRES_URL = os.environ.get(
    "BACKPATH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PAGE_SIZE = 100  # the worklist route's page (web.routes_clinic.PAGE_SIZE)
TARGET_MS = 200.0  # issue 12: first page under 200 ms with 100,000 assessments
BATCH = 1000
# The share of each urgency among generated rows: a clinic sees few emergencies.
URGENCY_MIX = {
    Urgency.EMERGENCY: 0.02,
    Urgency.URGENT: 0.10,
    Urgency.ROUTINE: 0.58,
    Urgency.SELF_CARE: 0.30,
}


# ---------------------------------------------------------------- data


def _answers(rng: random.Random, kb: KnowledgeBase, red_flag_rate: float) -> dict[str, Any]:
    """A plausible intake's answers: most questions answered, red flags at ``red_flag_rate``."""
    answers: dict[str, Any] = {}
    for code, finding in kb.findings.items():
        if rng.random() < 0.2:
            continue
        if finding.type is FindingType.BOOLEAN:
            answers[code] = rng.random() < (red_flag_rate if finding.red_flag else 0.3)
        elif finding.type is FindingType.INTEGER:
            answers[code] = rng.randint(finding.min or 0, min(finding.max or 100, 100))
        elif finding.type is FindingType.CHOICE:
            answers[code] = rng.choice(finding.allowed_values)
        else:
            answers[code] = list(rng.sample(finding.allowed_values, k=rng.randint(0, 3)))
    return answers


def intake_pool(kb: KnowledgeBase, size: int, seed: int) -> dict[str, list[tuple[Any, Any]]]:
    """``size`` intakes triaged by the real engine, as (intake JSON, Result JSON) by urgency."""
    rng = random.Random(seed)
    pool: dict[str, list[tuple[Any, Any]]] = {u.value: [] for u in Urgency}
    rates = (0.0, 0.0, 0.002, 0.01, 0.04)
    tries = 0
    while sum(map(len, pool.values())) < size and tries < size * 20:
        tries += 1
        answers = _answers(rng, kb, rates[tries % len(rates)])
        if tries % 3 == 0:  # short intakes too (fewer questions answered)
            answers = {k: v for k, v in answers.items() if rng.random() < 0.3}
        try:
            intake = Intake.from_json({"answers": answers})
        except ValueError:
            continue
        result = assess(intake, kb).to_json()
        bucket = pool[result["urgency"]]
        if len(bucket) < size // 2:
            bucket.append((intake.to_json(), result))
    return {urgency: items for urgency, items in pool.items() if items}


def generated(
    pool: dict[str, list[tuple[Any, Any]]], n: int, reviewed_share: float, seed: int
) -> Iterator[store.NewAssessment]:
    """``n`` assessments over the last 365 days, oldest first; the oldest ``reviewed_share``
    are reviewed (3% of them left open: the forgotten ones a worklist must still show)."""
    rng = random.Random(seed)
    mix = {u.value: share for u, share in URGENCY_MIX.items() if u.value in pool}
    urgencies, weights = list(mix), list(mix.values())
    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    step = timedelta(days=365) / n
    for index in range(n):
        created = start + step * index + timedelta(microseconds=rng.randint(0, 999))
        intake, result = rng.choice(pool[rng.choices(urgencies, weights)[0]])
        reviewed = index < n * reviewed_share and rng.random() >= 0.03
        yield store.NewAssessment(
            intake=intake,
            result=result,
            channel=rng.choice(("web", "api")),
            narrative_read=False,
            created_at=created,
            reviewed_at=created + timedelta(hours=rng.randint(1, 48)) if reviewed else None,
            reviewed_by="dr.bench" if reviewed else None,
        )


def progress(done: int, total: int, started: float, label: str) -> None:
    """A progress bar on stderr: rewritten in place on a terminal, one line per tenth
    otherwise (a log file)."""
    terminal = sys.stderr.isatty()
    if not terminal and done < total and done % max(1, total // 10) >= BATCH:
        return
    width = 30
    filled = int(width * done / total) if total else width
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    bar = "#" * filled + "." * (width - filled)
    line = f"  {label:<10} [{bar}] {done:>7,}/{total:,}  {rate:,.0f} rows/s"
    if done >= total:
        line += f"  done in {elapsed:.1f} s"
    elif rate:
        line += f"  ~{(total - done) / rate:,.0f} s left"
    sys.stderr.write(("\r" + line.ljust(90)) if terminal else line + "\n")
    if terminal and done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def fill(target: Store, items: Iterator[store.NewAssessment], n: int, label: str) -> float:
    """Insert ``items`` in batches of ``BATCH`` (one transaction each); seconds taken."""
    started = time.perf_counter()
    done = 0
    batch: list[store.NewAssessment] = []
    for item in items:
        batch.append(item)
        if len(batch) == BATCH:
            with target.session() as db:
                store.save_assessments(db, batch)
            done += len(batch)
            batch = []
            if done < n:
                progress(done, n, started, label)
    if batch:
        with target.session() as db:
            store.save_assessments(db, batch)
        done += len(batch)
    progress(done, n, started, label)
    return time.perf_counter() - started


# ---------------------------------------------------------------- databases


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A SQLite file in a temporary folder (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="bench_worklist_") as folder:
        yield f"sqlite:///{Path(folder) / 'worklist.db'}"


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A schema of its own on the PostgreSQL at ``url`` (dropped afterwards)."""
    schema = f"bench_worklist_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, connect_args={"connect_timeout": 3})
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    try:
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


def postgres_problem(url: str) -> str | None:
    """Why the PostgreSQL at ``url`` cannot be used, or ``None``."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "skip this engine"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


# ---------------------------------------------------------------- timing


def timed(
    target: Store, work: Callable[[Session], Any], rounds: int, warm_up: bool = True
) -> tuple[list[float], list[float], Any]:
    """Wall-clock and this process's CPU milliseconds of ``work``, in a new session per
    round, after one warm-up round. On a shared machine the wall clock includes waiting
    for a core; the CPU time does not (nor, on PostgreSQL, the server's own work)."""
    value = None
    if warm_up:
        with target.session() as db:
            value = work(db)
    wall, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        with target.session() as db:
            value = work(db)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu, value


def p95(samples: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def decoded(rows: Sequence[Any]) -> list[Any]:
    """The intake and result documents of raw rows as Python objects (SQLite hands back
    JSON text; psycopg has already decoded PostgreSQL's JSONB)."""
    out = []
    for row in rows:
        mapping = row._mapping
        out.append(
            [
                json.loads(value) if isinstance(value, str) else value
                for value in (mapping["intake"], mapping["result"])
            ]
        )
    return out


def worklist_key(row: StoredAssessment) -> tuple[int, datetime, str]:
    """Worklist order: most urgent first, then oldest, then id."""
    return (-row.urgency_rank, row.created_at, row.id)


def deep_cursor(db: Session, fraction: float) -> tuple[store.WorklistCursor, int, int]:
    """The cursor of the open row ``fraction`` of the way down the worklist, its place and
    the number of open rows."""
    open_rows = db.scalar(
        select(text("count(*)"))
        .select_from(StoredAssessment)
        .where(StoredAssessment.reviewed_at.is_(None))
    )
    place = int(int(open_rows or 0) * fraction)
    rank, created, row_id = db.execute(
        select(StoredAssessment.urgency_rank, StoredAssessment.created_at, StoredAssessment.id)
        .where(StoredAssessment.reviewed_at.is_(None))
        .order_by(
            StoredAssessment.urgency_rank.desc(),
            StoredAssessment.created_at.asc(),
            StoredAssessment.id.asc(),
        )
        .offset(place)
        .limit(1)
    ).one()
    return store.WorklistCursor(int(rank), created, str(row_id)), place, int(open_rows or 0)


def explain(db: Session, statement: Any) -> str:
    """The query plan of ``statement`` on this engine."""
    dialect = db.get_bind().dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    rows = db.execute(text(prefix + str(compiled))).all()
    if dialect.name == "sqlite":
        return "\n".join(f"    {row[-1]}" for row in rows)
    return "\n".join(f"    {row[0]}" for row in rows)


def bench_engine(
    name: str, url: str, pool: dict[str, list[tuple[Any, Any]]], args: argparse.Namespace
) -> dict[str, Any]:
    """Fill one database and time the worklist operations on it."""
    target = open_store(url)
    try:
        items = generated(pool, args.n, args.reviewed, args.seed)
        fill_seconds = fill(target, items, args.n, name)
        if name == "postgresql":
            # What autovacuum does by itself shortly after a bulk load.
            with target.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE assessments"))
        rounds, size = args.rounds, args.page_size
        with target.session() as db:
            cursor, place, open_rows = deep_cursor(db, 0.8)
        operations: dict[str, Callable[[Session], Any]] = {
            "ceiling: SELECT 1": lambda db: db.execute(text("SELECT 1")).scalar(),
            f"ceiling: bare indexed SELECT * LIMIT {size}": lambda db: db.execute(
                text(f"SELECT * FROM assessments ORDER BY created_at LIMIT {size}")
            ).all(),
            f"ceiling: same + decode the JSON of {size} rows": lambda db: decoded(
                db.execute(
                    text(f"SELECT * FROM assessments ORDER BY created_at LIMIT {size}")
                ).all()
            ),
            "first page (open, all urgencies)": lambda db: store.worklist_page(db, limit=size),
            "emergency filter, first page": lambda db: store.worklist_page(
                db, urgencies=["emergency"], limit=size
            ),
            f"deep page (after row {place:,})": lambda db: store.worklist_page(
                db, after=cursor, limit=size
            ),
            "routine filter, first page": lambda db: store.worklist_page(
                db, urgencies=["routine"], limit=size
            ),
            "counts per urgency": store.urgency_counts,
            "concern filter (cauda_equina)": lambda db: store.worklist_page(
                db, concern="cauda_equina", limit=size
            ),
        }
        results: dict[str, Any] = {}
        cpu: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for label, work in operations.items():
            results[label], cpu[label], values[label] = timed(target, work, rounds)
        if args.legacy_rounds:
            legacy = "before: route path (full list, sliced)"
            results[legacy], cpu[legacy], values[legacy] = timed(
                target,
                lambda db: list(store.worklist(db, status="open"))[:size],
                args.legacy_rounds,
                warm_up=False,
            )
        check(values, cursor, size, open_rows)
        plans = {}
        if args.explain:
            with target.session() as db:
                plans = explain_all(db, cursor, size)
        return {"fill_seconds": fill_seconds, "samples": results, "cpu": cpu, "plans": plans}
    finally:
        target.dispose()


def explain_all(db: Session, cursor: store.WorklistCursor, size: int) -> dict[str, str]:
    """The plans of the queries ``worklist_page`` and ``urgency_counts`` send."""
    statements: dict[str, Any] = {}
    captured: list[Any] = []
    original = db.scalars

    def capture(statement: Any, *a: Any, **k: Any) -> Any:
        captured.append(statement)
        return original(statement, *a, **k)

    db.scalars = capture  # type: ignore[method-assign]
    try:
        store.worklist_page(db, limit=size)
        statements["first page"] = captured[0]
        captured.clear()
        store.worklist_page(db, after=cursor, limit=size)
        statements["deep page"] = captured[0]
        captured.clear()
        store.worklist_page(db, urgencies=["emergency"], limit=size)
        statements["emergency filter"] = captured[0]
    finally:
        db.scalars = original  # type: ignore[method-assign]
    from sqlalchemy import func

    statements["counts"] = (
        select(StoredAssessment.urgency_rank, func.count())
        .where(StoredAssessment.reviewed_at.is_(None))
        .group_by(StoredAssessment.urgency_rank)
    )
    return {label: explain(db, statement) for label, statement in statements.items()}


def check(values: dict[str, Any], cursor: store.WorklistCursor, size: int, open_rows: int) -> None:
    """Refuse to report numbers for queries that returned the wrong rows."""
    first = values["first page (open, all urgencies)"].rows
    assert len(first) == size, "the first page is not full"
    assert [worklist_key(r) for r in first] == sorted(worklist_key(r) for r in first)
    assert all(r.reviewed_at is None for r in first), "a reviewed row on the open worklist"
    emergencies = values["emergency filter, first page"].rows
    assert emergencies
    assert all(r.urgency == "emergency" for r in emergencies)
    deep = next(v for k, v in values.items() if k.startswith("deep page")).rows
    assert deep
    assert worklist_key(deep[0]) > (-cursor.urgency_rank, cursor.created_at, cursor.id)
    counts = values["counts per urgency"]
    assert counts["emergency"] > 0
    assert sum(counts.values()) == open_rows, "the counts do not add up to the open rows"
    legacy = values.get("before: route path (full list, sliced)")
    if legacy is not None:
        assert [r.id for r in legacy] == [r.id for r in first], "keyset page != old route page"


def report(name: str, outcome: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Print one engine's table; return its summary."""
    samples: dict[str, list[float]] = outcome["samples"]
    ceiling_label = next(k for k in samples if k.startswith("ceiling: bare"))
    ceiling = statistics.median(samples[ceiling_label])
    print(
        f"\n{name}: {args.n:,} assessments ({args.reviewed:.0%} oldest reviewed), filled in "
        f"{outcome['fill_seconds']:.1f} s; page size {args.page_size}; "
        f"{args.rounds} rounds after a warm-up"
    )
    print(f"  {'operation':<44} {'median ms':>10} {'p95 ms':>9} {'x ceiling':>10} {'cpu ms':>8}")
    summary: dict[str, Any] = {"fill_seconds": round(outcome["fill_seconds"], 1)}
    for label, values in samples.items():
        median = statistics.median(values)
        ratio = median / ceiling if ceiling else float("nan")
        cpu = statistics.median(outcome["cpu"][label])
        print(f"  {label:<44} {median:>10.2f} {p95(values):>9.2f} {ratio:>10.2f} {cpu:>8.2f}")
        summary[label] = {
            "median_ms": round(median, 3),
            "p95_ms": round(p95(values), 3),
            "ratio_to_ceiling": round(ratio, 2),
            "cpu_median_ms": round(cpu, 3),
            "rounds": len(values),
        }
    first = statistics.median(samples["first page (open, all urgencies)"])
    verdict = "meets" if first < TARGET_MS else "MISSES"
    print(f"  first page {first:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target (issue 12)")
    for label, plan in outcome["plans"].items():
        print(f"  plan, {label}:\n{plan}")
    summary["meets_target"] = first < TARGET_MS
    return summary


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on the chosen engines; exit 1 when a first page misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="assessments to store")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per operation")
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
    parser.add_argument(
        "--reviewed", type=float, default=0.5, help="share of (the oldest) rows already reviewed"
    )
    parser.add_argument(
        "--legacy-rounds",
        type=int,
        default=1,
        help="rounds of the old full-list path, no warm-up (0: skip it)",
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--pool", type=int, default=400, help="distinct triaged intakes")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    args = parser.parse_args(argv)

    kb = load_knowledge()
    started = time.perf_counter()
    pool = intake_pool(kb, args.pool, args.seed)
    sizes = ", ".join(f"{u} {len(items)}" for u, items in pool.items())
    print(
        f"backpath worklist benchmark - Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores"
    )
    print(f"intake pool: {sizes} (triaged in {time.perf_counter() - started:.1f} s)")
    summary: dict[str, Any] = {}
    for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if name == "sqlite":
            with sqlite_database() as url:
                summary[name] = report(name, bench_engine(name, url, pool, args), args)
        elif name == "postgresql":
            problem = postgres_problem(args.postgres_url)
            if problem:
                print(f"\npostgresql: skipped ({problem})")
                continue
            with postgres_database(args.postgres_url) as url:
                summary[name] = report(name, bench_engine(name, url, pool, args), args)
        else:
            parser.error(f"--engines: unknown engine {name!r} (sqlite, postgresql)")
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0 if all(s["meets_target"] for s in summary.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
