"""The SQL compilation agrees with Python evaluation, in SQLite and DuckDB, for every rule."""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backpath.kb import KnowledgeBase, load_knowledge
from backpath.logic import to_sql
from backpath.vocabulary import FindingType

KB = load_knowledge()
SCALAR = [f for f in KB.findings.values() if f.type is not FindingType.MULTI_CHOICE]


def _random_value(rng: random.Random, finding: Any) -> Any:
    if rng.random() < 0.35:
        return None
    if finding.type is FindingType.BOOLEAN:
        return rng.random() < 0.3
    if finding.type is FindingType.INTEGER:
        lo, hi = finding.min or 0, min(finding.max or 200, 200)
        return rng.randint(lo, hi)
    return rng.choice(finding.allowed_values)


def _intakes(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        row = {f.code: _random_value(rng, f) for f in SCALAR}
        out.append({k: v for k, v in row.items() if v is not None})
    return out


def _python_truth(kb: KnowledgeBase, intakes: list[dict[str, Any]]) -> list[list[Any]]:
    return [[rule.test(answers) for rule in kb.rules] for answers in intakes]


def _sql(kb: KnowledgeBase) -> str:
    parts = [f"{to_sql(rule.condition)} AS r{i}" for i, rule in enumerate(kb.rules)]
    return "SELECT " + ", ".join(parts) + " FROM intakes ORDER BY rowid_"


def _columns() -> list[tuple[str, str]]:
    types = {
        FindingType.BOOLEAN: "BOOLEAN",
        FindingType.INTEGER: "INTEGER",
        FindingType.CHOICE: "VARCHAR",
    }
    return [(f.code, types[f.type]) for f in SCALAR]


def _normalise(value: Any) -> Any:
    return None if value is None else bool(value)


def _run_sqlite(intakes: list[dict[str, Any]]) -> list[list[Any]]:
    con = sqlite3.connect(":memory:")
    cols = _columns()
    con.execute(
        "CREATE TABLE intakes (rowid_ INTEGER, " + ", ".join(f"{c} {t}" for c, t in cols) + ")"
    )
    con.executemany(
        f"INSERT INTO intakes VALUES ({', '.join('?' * (len(cols) + 1))})",
        [[i, *(row.get(c) for c, _ in cols)] for i, row in enumerate(intakes)],
    )
    return [[_normalise(v) for v in row] for row in con.execute(_sql(KB)).fetchall()]


def _run_duckdb(intakes: list[dict[str, Any]]) -> list[list[Any]]:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    cols = _columns()
    con.execute(
        "CREATE TABLE intakes (rowid_ INTEGER, " + ", ".join(f"{c} {t}" for c, t in cols) + ")"
    )
    con.executemany(
        f"INSERT INTO intakes VALUES ({', '.join('?' * (len(cols) + 1))})",
        [[i, *(row.get(c) for c, _ in cols)] for i, row in enumerate(intakes)],
    )
    return [[_normalise(v) for v in row] for row in con.execute(_sql(KB)).fetchall()]


def test_sqlite_and_duckdb_agree_with_python_on_3000_random_intakes() -> None:
    """Every rule gives the same true/false/unknown in Python, SQLite and DuckDB."""
    intakes = _intakes(3000, seed=20261125)
    expected = _python_truth(KB, intakes)
    assert _run_sqlite(intakes) == expected
    assert _run_duckdb(intakes) == expected
    fired = sum(v is True for row in expected for v in row)
    unknown = sum(v is None for row in expected for v in row)
    assert fired > 0, "the random intakes must make rules fire"
    assert unknown > 0, "the random intakes must leave rules unresolved"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_sqlite_agrees_with_python_for_any_seed(seed: int) -> None:
    """Hypothesis explores seeds; 50 intakes each, every rule, SQLite vs Python."""
    intakes = _intakes(50, seed)
    assert _run_sqlite(intakes) == _python_truth(KB, intakes)
