"""The CSV fast path (yes/no cells parsed by the reader) gives exactly the text path's rows.

``Screening.run`` first reads a CSV with its boolean columns typed (DuckDB's own parser,
strict); any cell that parser refuses sends the whole file through the text rules instead.
These tests pin the two facts that make that safe: every spelling the reader takes is taken
by the text rules with the same value and no error or "not sure", and a run that takes the
fast path returns the same rows, errors and summary as one forced through the text path.
The faster summary (``summary_groups``) is checked against ``summary_sql`` too.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from backpath.kb import KnowledgeBase
from backpath.screening import Screening
from backpath.screening.staging import staging_sql
from backpath.screening.summary import ScreeningSummary, summary_groups, summary_sql
from backpath.vocabulary import FindingType
from tests.screening.population import population, write_csv

CANDIDATES = [
    "true", "false", "TRUE", "False", "tRuE", "t", "T", "f", "F", "1", "0", "yes", "no",
    "YES", "No", "y", "Y", "n", "N", "on", "off", " true", "true ", " 1", "1 ", '""',
    '"true"', '"no"', '" true"', "  ", "unsure", "not sure", "?", "01", "00", "2", "-1",
    "+1", "1.0", "0.0", "tru", "truee", "x", "'t'", "\ttrue", "null", "NULL", "none",
    "yes!", "nO", "oN", "ja", "0x1", "1e0",
]  # fmt: skip
"""Cells a CSV might hold in a yes/no column, the odd ones included."""

SAFE_TRUE = ["true", "TRUE", "True", "t", "T", "1", "yes", "YES", "y", "Y"]
SAFE_FALSE = ["false", "FALSE", "False", "f", "F", "0", "no", "NO", "n", "N"]
_READ = "header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false"


def test_every_cell_the_reader_takes_means_the_same_in_the_text_rules(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    code = next(c for c, f in kb.findings.items() if f.type is FindingType.BOOLEAN)
    con = duckdb.connect()
    taken = 0
    for cell in CANDIDATES:
        path = tmp_path / "one.csv"
        path.write_text(f"row_id,{code}\nr1,{cell}\n", encoding="utf-8")
        try:
            typed = con.execute(
                f"SELECT {code} FROM read_csv('{path}', {_READ}, "
                f"columns = {{'row_id': 'VARCHAR', '{code}': 'BOOLEAN'}})"
            ).fetchall()
        except duckdb.Error:
            continue  # refused: the whole file goes through the text rules
        taken += 1
        con.execute(
            "CREATE OR REPLACE VIEW source_rows AS SELECT 2 AS __line, * FROM "
            f"read_csv('{path}', {_READ}, columns = {{'row_id': 'VARCHAR', '{code}': 'VARCHAR'}})"
        )
        text = con.execute(
            f"SELECT {code}, __error, unsure_codes FROM "
            f"({staging_sql(kb, [('row_id', False), (code, False)])})"
        ).fetchall()
        assert text == [(typed[0][0], None, None)], cell
    assert taken >= len(SAFE_TRUE) + len(SAFE_FALSE)


def _spoil_text_columns(cells: list[str], codes: list[str], rng: random.Random) -> None:
    """Errors in text columns the fast path still checks."""
    if rng.random() < 0.03:
        cells[codes.index("age") + 1] = rng.choice(["200", "-3", "4.5", "old"])
    if rng.random() < 0.03 and "sex" in codes:
        cells[codes.index("sex") + 1] = "alien"


def _write_plain_csv(kb: KnowledgeBase, path: Path, size: int, seed: int) -> None:
    """Rows the fast path takes: reader-safe yes/no spellings, some bad numbers/choices."""
    write_csv(
        kb,
        population(kb, size, seed=seed),
        path,
        seed,
        true_spellings=SAFE_TRUE,
        false_spellings=SAFE_FALSE,
        unsure_spellings=(),
        spoil=_spoil_text_columns,
    )


def _screen(kb: KnowledgeBase, path: Path) -> tuple[list[dict[str, Any]], Any, bool]:
    """Rows, run and whether the text read ran (it alone keeps a reject table)."""
    with Screening(kb) as screening:
        run = screening.run(path)
        try:
            screening.con.execute("SELECT count(*) FROM reject_errors").fetchall()
            text_read = True
        except duckdb.CatalogException:
            text_read = False
        return screening.rows(), run, text_read


@pytest.mark.parametrize("unsure_cell", [False, True])
def test_fast_path_equals_text_path(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unsure_cell: bool
) -> None:
    path = tmp_path / "rows.csv"
    _write_plain_csv(kb, path, 1500, seed=7)
    if unsure_cell:  # one "unsure" near the end: the fast read fails, the text read decides
        lines = path.read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        column = next(
            i for i, name in enumerate(header)
            if name in kb.findings and kb.findings[name].type is FindingType.BOOLEAN
        )  # fmt: skip
        cells = lines[-3].split(",")
        cells[column] = "unsure"
        lines[-3] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast_rows, fast_run, text_read = _screen(kb, path)
    assert text_read is unsure_cell
    monkeypatch.setattr(Screening, "_is_boolean", lambda self, name: False)
    text_rows, text_run, forced_text = _screen(kb, path)
    assert forced_text
    assert fast_rows == text_rows
    assert fast_run.errors == text_run.errors
    assert fast_run.summary == text_run.summary
    assert fast_run.summary.errors > 0
    assert fast_run.summary.rows > 1000


def test_summary_groups_equal_summary_sql(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    _write_plain_csv(kb, path, 1500, seed=11)
    with Screening(kb) as screening:
        screening.run(path)
        sql, names = summary_sql(kb, "results")
        reference = screening.con.execute(sql).fetchall()
        groups, fast_names = summary_groups(screening.con, kb, "results")
    assert fast_names == names
    assert sorted(map(tuple, groups)) == sorted(map(tuple, reference))
    assert ScreeningSummary.from_groups(groups, names) == ScreeningSummary.from_groups(
        reference, names
    )
