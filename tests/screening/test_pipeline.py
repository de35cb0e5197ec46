"""The SQL pipeline equals assess() row by row, validates in SQL, and writes every format."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from backpath.cli import app
from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.screening import Screening, ScreeningInputError
from backpath.triage import assess
from tests.screening.population import (
    Person,
    population,
    write_csv,
    write_jsonl,
    write_parquet,
)

SIZE = 3000


@pytest.fixture(scope="module")
def people(kb: KnowledgeBase) -> list[Person]:
    """A seeded population of 3,000 people over every profile."""
    return population(kb, SIZE, seed=2024)


@pytest.fixture(scope="module")
def expected(kb: KnowledgeBase, people: list[Person]) -> dict[str, Any]:
    """assess() for every person, by row id."""
    return {person.row_id: person.expected(kb) for person in people}


def _screen(kb: KnowledgeBase, path: Path) -> tuple[list[dict[str, Any]], Any]:
    with Screening(kb) as screening:
        run = screening.run(path)
        return screening.rows(), run


def _assert_agrees(
    rows: list[dict[str, Any]], people: list[Person], expected: dict[str, Any]
) -> None:
    assert [r["row_id"] for r in rows] == [p.row_id for p in people]
    for row in rows:
        urgency, fired, complete, concerns = expected[row["row_id"]]
        got = (
            row["urgency"],
            row["fired_rules"].split(),
            row["complete"],
            set(row["concerns"].split()),
        )
        assert got == (urgency, fired, complete, concerns), row["row_id"]


def test_generated_population_covers_what_must_be_proven(
    expected: dict[str, Any], kb: KnowledgeBase
) -> None:
    """The population reaches every urgency, incomplete results and the "not sure" rule."""
    urgencies = Counter(e[0] for e in expected.values())
    assert set(urgencies) == {"emergency", "urgent", "routine", "self_care"}
    assert any(not e[2] for e in expected.values())
    assert sum(kb.unsure_rule.id in e[1] for e in expected.values()) >= 20


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_sql_pipeline_equals_assess_row_by_row(
    kb: KnowledgeBase, people: list[Person], expected: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    """Urgency, fired rules (in order), complete and concerns match assess() on every row,
    with "not sure" and not-asked values, from CSV, Parquet and JSON Lines."""
    path = tmp_path / f"population.{fmt}"
    if fmt == "csv":
        write_csv(kb, people, path)
    elif fmt == "parquet":
        write_parquet(kb, people, path)
    else:
        write_jsonl(people, path)
    rows, run = _screen(kb, path)
    assert run.summary.errors == 0
    assert run.python_rows == 0
    _assert_agrees(rows, people, expected)
    assert run.summary.rows == SIZE
    assert dict(run.summary.by_urgency) == dict(Counter(e[0] for e in expected.values()))


def test_narrative_rows_go_through_python_and_join_back(kb: KnowledgeBase, tmp_path: Path) -> None:
    """Rows with a narrative are read by the NLP reader and decided like assess() does,
    including a narrative that cannot be read (never self-care)."""
    intakes = [
        {
            "id": "n1",
            "age": 50,
            "answers": {"back_pain": True},
            "narrative": "I can't pee since yesterday and my bum is numb",
        },
        {"id": "s1", "answers": {"fever": True, "age": 40}},
        {
            "id": "n2",
            "age": 35,
            "narrative": "Mal au dos depuis trois semaines, je ne sais pas quoi faire.",
        },
        {
            "id": "n3",
            "answers": {"leg_pain": False},
            "narrative": "no fever, pain goes below my knee",
        },
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in intakes) + "\n", encoding="utf-8")
    rows, run = _screen(kb, path)
    assert run.python_rows == 3
    assert [r["row_id"] for r in rows] == ["n1", "s1", "n2", "n3"]
    for row, data in zip(rows, intakes, strict=True):
        result = assess(Intake.from_json(data), kb)
        assert row["urgency"] == result.urgency.value, row["row_id"]
        assert row["fired_rules"].split() == list(result.fired_ids), row["row_id"]


def test_csv_errors_are_reported_by_line_and_field_and_the_rest_is_screened(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Bad values name the line and field; valid rows are still screened."""
    path = tmp_path / "bad.csv"
    path.write_text(
        "row_id,age,fever,pain_side,saddle_numbness\n"
        "a,40,yes,left,no\n"
        "b,140,maybe,up,\n"
        "c,x,no,,yes\n"
        "d,-1,,,\n"
        "e,5.5,,,\n",
        encoding="utf-8",
    )
    with Screening(kb) as screening:
        run = screening.run(path)
        rows = screening.rows()
    assert [r["row_id"] for r in rows] == ["a"]
    assert run.summary.errors == 4
    messages = dict(run.errors)
    assert "field 'age': must be at most 120" in messages[3]
    assert "field 'fever': must be yes, no, unsure or empty, not 'maybe'" in messages[3]
    assert "field 'pain_side': must be one of left, right, both" in messages[3]
    assert "field 'age': must be a whole number, not 'x'" in messages[4]
    assert "field 'age': must be at least 0" in messages[5]
    assert "field 'age': must be a whole number, not '5.5'" in messages[6]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("row_id,age,fever,fever\nr,1,yes,no\n", "column 'fever': appears twice"),
        ("row_id,age,fevr\nr,1,yes\n", "column 'fevr': unknown column"),
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
    ],
)
def test_file_problems_stop_before_screening(
    kb: KnowledgeBase, tmp_path: Path, text: str, problem: str
) -> None:
    """Duplicate or unknown columns and empty files are refused, naming the column."""
    path = tmp_path / "problem.csv"
    path.write_text(text, encoding="utf-8")
    with Screening(kb) as screening, pytest.raises(ScreeningInputError, match=problem):
        screening.run(path)


def test_byte_order_mark_is_not_part_of_the_first_column(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A CSV saved by a spreadsheet with a UTF-8 BOM still has a row_id column."""
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffrow_id,age,saddle_numbness\nr1,40,yes\n".encode())
    rows, run = _screen(kb, path)
    assert run.summary.errors == 0
    assert rows[0]["row_id"] == "r1"
    assert rows[0]["urgency"] == "emergency"


def test_jsonl_shape_errors_name_line_and_field(kb: KnowledgeBase, tmp_path: Path) -> None:
    """Unknown fields and codes, duplicate keys, wrong types and bad JSON are row errors."""
    lines = [
        '{"id": "ok", "answers": {"fever": false}}',
        '{"id": "x", "colour": "red"}',
        '{"answers": {"fevr": true}}',
        '{"answers": {"fever": true, "fever": false}}',
        '{"answers": {"age": 40.5}}',
        "not json",
        '{"age": 30, "answers": {"age": 31}}',
        "",
        '{"answers": {"pain_side": "up"}}',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Screening(kb) as screening:
        run = screening.run(path)
        rows = screening.rows()
    assert [r["row_id"] for r in rows] == ["ok"]
    messages = dict(run.errors)
    assert messages[2].startswith("field 'colour': unknown field")
    assert messages[3].startswith("field 'answers.fevr': unknown finding code")
    assert "appears twice" in messages[4]
    assert messages[5].startswith("field 'answers.age': must be a whole number")
    assert messages[6] == "field '(root)': not valid JSON"
    assert messages[7].startswith("field 'age': 30 disagrees with answers.age (31)")
    assert messages[9].startswith("field 'answers.pain_side': must be one of left, right, both")
    assert run.summary.errors == 7


def test_parquet_range_errors_and_unsure_list(kb: KnowledgeBase, tmp_path: Path) -> None:
    """Typed Parquet columns are range-checked; unknown codes in ``unsure`` are errors."""
    path = tmp_path / "typed.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('a', 200, NULL), ('b', 30, 'saddle_numbness;fever'),"
        f" ('c', 30, 'nonsense')) AS t(row_id, age, unsure)) TO '{path}' (FORMAT parquet)"
    )
    con.close()
    with Screening(kb) as screening:
        run = screening.run(path)
        rows = screening.rows()
    assert [r["row_id"] for r in rows] == ["b"]
    messages = dict(run.errors)
    assert messages[1] == "field 'age': must be at most 120, not 200"
    assert messages[3].startswith("field 'unsure': must list finding codes")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_every_output_format_holds_the_same_rows(
    kb: KnowledgeBase, people: list[Person], expected: dict[str, Any], tmp_path: Path, suffix: str
) -> None:
    """CSV, JSON Lines and Parquet output carry urgency, fired rules, concerns, complete."""
    source = tmp_path / "population.jsonl"
    write_jsonl(people[:300], source)
    out = tmp_path / f"out{suffix}"
    with Screening(kb) as screening:
        screening.run(source)
        screening.write(out)
    con = duckdb.connect()
    reader = {".csv": "read_csv", ".jsonl": "read_json", ".parquet": "read_parquet"}[suffix]
    written = con.execute(f"SELECT * FROM {reader}('{out}')").fetchall()
    con.close()
    assert len(written) == 300
    for row_id, urgency, fired, concerns, complete in written:
        # An empty cell of a CSV reads back as NULL.
        fired_list = list(fired) if isinstance(fired, list) else (fired or "").split()
        concern_set = set(concerns) if isinstance(concerns, list) else set((concerns or "").split())
        assert (str(urgency), fired_list, bool(complete), concern_set) == expected[str(row_id)]


def test_cli_summary_report_and_exit_code(
    kb: KnowledgeBase, people: list[Person], tmp_path: Path
) -> None:
    """The CLI prints the summary by urgency, concern and age band and writes an HTML
    report with three SVG plots and emergency rows listed before urgent rows."""
    source = tmp_path / "population.csv"
    write_csv(kb, people[:600], source)
    report = tmp_path / "report.html"
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(
        app, ["screen", str(source), "-o", str(out), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "600 rows screened" in result.stderr
    assert "rows by concern" in result.stderr
    assert "rows by age band and urgency" in result.stderr
    page = report.read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert page.index('id="emergency"') < page.index('id="urgent"')
    emergency_ids = [p.row_id for p in people[:600] if p.expected(kb)[0] == "emergency"]
    assert emergency_ids[0] in page[page.index('id="emergency"') : page.index('id="urgent"')]


def test_cli_refuses_a_file_with_an_unknown_column(tmp_path: Path) -> None:
    """Exit 2 naming the column; nothing is written."""
    source = tmp_path / "bad.csv"
    source.write_text("row_id,saddle_numbnes\nr1,yes\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["screen", str(source), "-o", str(out)])
    assert result.exit_code == 2
    assert "column 'saddle_numbnes': unknown column" in result.stderr
    assert not out.exists()
