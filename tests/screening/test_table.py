"""`backpath screen --table`: rows from a SQLite or PostgreSQL table equal assess() row by row.

SQLite always; PostgreSQL when ``BACKPATH_TEST_POSTGRES_URL`` is set (as .ci/run sets it),
in a schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    text,
)
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from backpath.cli import app
from backpath.kb import KnowledgeBase
from backpath.screening import Screening, ScreeningInputError
from backpath.vocabulary import FindingType
from tests.conftest import need
from tests.screening.population import Person, population

POSTGRES_URL = os.environ.get("BACKPATH_TEST_POSTGRES_URL")
SIZE = 600


def _create(kb: KnowledgeBase, url: str, people: list[Person], schema: str | None = None) -> None:
    """A typed table ``population`` (booleans, integers, text, an ``unsure`` list) and a
    view over it that leaves out ``row_id``."""
    types = {FindingType.BOOLEAN: Boolean, FindingType.INTEGER: Integer}
    codes = [c for c, f in kb.findings.items() if f.type is not FindingType.MULTI_CHOICE]
    metadata = MetaData(schema=schema)
    table = Table(
        "population",
        metadata,
        Column("row_id", String, primary_key=True),
        Column("unsure", String),
        *(Column(code, types.get(kb.findings[code].type, String)) for code in codes),
    )
    engine = create_engine(url)
    metadata.create_all(engine)
    rows: list[dict[str, Any]] = []
    for person in people:
        row: dict[str, Any] = dict.fromkeys(codes)
        row.update(person.answers)
        row["row_id"] = person.row_id
        row["unsure"] = " ".join(person.unsure) or None
        rows.append(row)
    prefix = f'"{schema}".' if schema else ""
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
        connection.execute(
            text(
                f"CREATE VIEW {prefix}adults AS SELECT age, back_pain, saddle_numbness "
                f"FROM {prefix}population ORDER BY row_id"
            )
        )
    engine.dispose()


def _check(kb: KnowledgeBase, url: str, name: str, people: list[Person]) -> None:
    with Screening(kb) as screening:
        run = screening.run_table(url, name)
        rows = screening.rows()
    assert run.summary.errors == 0
    assert run.summary.rows == len(people)
    assert [r["row_id"] for r in rows] == [p.row_id for p in people]
    for row, person in zip(rows, people, strict=True):
        urgency, fired, complete, concerns = person.expected(kb)
        got = (row["urgency"], row["fired_rules"].split(), row["complete"])
        assert got == (urgency, fired, complete), person.row_id
        assert set(row["concerns"].split()) == concerns, person.row_id


@pytest.fixture(scope="module")
def people(kb: KnowledgeBase) -> list[Person]:
    """600 seeded people over every profile."""
    return sorted(population(kb, SIZE, seed=77), key=lambda p: p.row_id)


def test_sqlite_table_equals_assess_row_by_row(
    kb: KnowledgeBase, people: list[Person], tmp_path: Path
) -> None:
    """Every row of a typed SQLite table gets assess()'s urgency, rules and completeness."""
    url = f"sqlite:///{tmp_path / 'rows.db'}"
    _create(kb, url, people)
    _check(kb, url, "population", people)


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema (dropped afterwards), when the suite's URL is set."""
    if not POSTGRES_URL:
        pytest.skip("BACKPATH_TEST_POSTGRES_URL is not set")
    try:
        admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with admin.begin() as connection:
            schema = f"backpath_screen_{uuid.uuid4().hex[:10]}"
            connection.execute(text(f'create schema "{schema}"'))
    except (OperationalError, ImportError) as exc:
        need("PostgreSQL", False, str(exc))
        raise
    try:
        yield POSTGRES_URL, schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_table_equals_assess_row_by_row(
    kb: KnowledgeBase, people: list[Person], postgres_schema: tuple[str, str]
) -> None:
    """The same on PostgreSQL, read through a server-side cursor, by SCHEMA.NAME."""
    url, schema = postgres_schema
    _create(kb, url, people, schema=schema)
    _check(kb, url, f"{schema}.population", people)
    with Screening(kb) as screening:
        run = screening.run_table(url, f"{schema}.adults")
    assert run.summary.rows == len(people)


def test_view_without_row_id_errors_by_row_and_cli(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A view without row_id numbers its rows; a bad value is reported as `row N`, exit 2."""
    url = f"sqlite:///{tmp_path / 'rows.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE raw (age INTEGER, saddle_numbness TEXT)"))
        connection.execute(
            text("INSERT INTO raw VALUES (40, 'no'), (200, 'yes'), (NULL, 'maybe'), (61, 'yes')")
        )
        connection.execute(text("CREATE VIEW intakes AS SELECT * FROM raw"))
    engine.dispose()
    with Screening(kb) as screening:
        run = screening.run_table(url, "intakes")
        rows = screening.rows()
    assert [r["row_id"] for r in rows] == ["1", "4"]
    assert rows[1]["urgency"] == "emergency"
    assert run.where == "row"
    assert [line for line, _ in run.errors] == [2, 3]
    assert "field 'age': must be at most 120" in run.errors[0][1]
    assert "field 'saddle_numbness'" in run.errors[1][1]
    result = CliRunner().invoke(app, ["screen", "--table", "intakes", "--database-url", url])
    assert result.exit_code == 2
    assert "row 2: field 'age'" in result.output
    assert "row_id,urgency" in result.output


def test_unknown_table_and_columns_are_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A missing table, a bad name and an unknown column stop the run with a clear message."""
    url = f"sqlite:///{tmp_path / 'rows.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE odd (row_id TEXT, shoe_size INTEGER)"))
    engine.dispose()
    with Screening(kb) as screening:
        with pytest.raises(ScreeningInputError, match="no table or view 'missing'"):
            screening.run_table(url, "missing")
        with pytest.raises(ScreeningInputError, match=r"must be NAME or SCHEMA\.NAME"):
            screening.run_table(url, "a.b.c")
        with pytest.raises(ScreeningInputError, match="'shoe_size': unknown column"):
            screening.run_table(url, "odd")
    result = CliRunner().invoke(app, ["screen", "x.csv", "--table", "odd"])
    assert result.exit_code == 2
    assert "not both" in result.output
