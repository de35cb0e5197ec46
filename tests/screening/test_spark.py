"""Spark runs the same compiled SQL: DuckDB, Spark and assess() agree row by row.

Skipped where pyspark or Java is missing, unless BACKPATH_REQUIRE_SERVICES=1 (CI), which
turns the skip into a failure. One Spark session serves the whole module (start-up is slow).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backpath.kb import KnowledgeBase
from backpath.screening import Screening
from tests.conftest import need
from tests.screening.population import Person, population, write_csv, write_parquet

SIZE = 2000
MASTER = "local[2]"


@pytest.fixture(scope="module")
def spark(kb: KnowledgeBase) -> Any:
    """A local Spark session (the same one the engine uses)."""
    from backpath.screening.spark import spark_available

    problem = spark_available()
    need("Spark (pyspark + Java 17)", problem is None, problem or "")
    from backpath.screening.spark import spark_session

    return spark_session(MASTER)


@pytest.fixture(scope="module")
def people(kb: KnowledgeBase) -> list[Person]:
    """A seeded population of 2,000 people."""
    return population(kb, SIZE, seed=77)


def _rows(kb: KnowledgeBase, path: Path, engine: str) -> tuple[list[dict[str, Any]], Any]:
    with Screening(kb, engine=engine, master=MASTER) as screening:
        run = screening.run(path)
        return screening.rows(), run


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duckdb_spark_and_assess_agree_row_by_row(
    spark: Any, kb: KnowledgeBase, people: list[Person], tmp_path: Path, fmt: str
) -> None:
    """Every row: same urgency, fired rules in order, complete and concerns in all three."""
    path = tmp_path / f"population.{fmt}"
    if fmt == "csv":
        write_csv(kb, people, path)
    else:
        write_parquet(kb, people, path)
    duck_rows, duck_run = _rows(kb, path, "duckdb")
    spark_rows, spark_run = _rows(kb, path, "spark")
    assert spark_run.summary.errors == duck_run.summary.errors == 0
    assert spark_rows == duck_rows
    assert len(spark_rows) == SIZE
    for person, row in zip(people, spark_rows, strict=True):
        urgency, fired, complete, concerns = person.expected(kb)
        assert row["row_id"] == person.row_id
        assert (row["urgency"], row["fired_rules"].split(), row["complete"]) == (
            urgency,
            fired,
            complete,
        )
        assert set(row["concerns"].split()) == concerns
    assert spark_run.summary.to_json() == duck_run.summary.to_json()


def test_spark_reports_the_same_error_lines_as_duckdb(
    spark: Any, kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Validation SQL in the Spark dialect finds the same bad rows and fields."""
    path = tmp_path / "bad.csv"
    path.write_text(
        "row_id,age,fever,pain_side\na,40,yes,left\nb,140,maybe,up\nc,x,no,\nd,30,,both\n",
        encoding="utf-8",
    )
    duck_rows, duck_run = _rows(kb, path, "duckdb")
    spark_rows, spark_run = _rows(kb, path, "spark")
    assert [r["row_id"] for r in spark_rows] == ["a", "d"]
    assert spark_rows == duck_rows
    assert spark_run.errors == duck_run.errors
    assert [line for line, _ in spark_run.errors] == [3, 4]
