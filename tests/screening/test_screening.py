"""Population screening: the compiled SQL gives exactly the results of assess()."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from backpath.cli import app
from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.screening import screen_rows, triage_sql
from backpath.triage import assess
from backpath.vocabulary import FindingType


def _random_rows(kb: KnowledgeBase, n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row: dict[str, Any] = {"row_id": f"{i:05d}"}
        for code, finding in kb.findings.items():
            if rng.random() < 0.3 or finding.type is FindingType.MULTI_CHOICE:
                continue
            if code in kb.given_only_codes and rng.random() < 0.8:
                continue  # a measured sign (never asked) is given for few people
            if finding.type is FindingType.BOOLEAN:
                row[code] = rng.random() < 0.15
            elif finding.type is FindingType.INTEGER:
                row[code] = rng.randint(finding.min or 0, min(finding.max or 120, 120))
            else:
                row[code] = rng.choice(finding.allowed_values)
        rows.append(row)
    return rows


def test_sql_screening_agrees_with_assess_on_2000_random_intakes(kb: KnowledgeBase) -> None:
    """Urgency and the exact set of fired rules match assess() for every row."""
    rows = _random_rows(kb, 2000, seed=11)
    results, summary = screen_rows(rows, kb)
    assert summary.rows == 2000
    assert len({urgency for _, urgency, _ in results}) >= 3
    for (row_id, urgency, fired), row in zip(results, rows, strict=True):
        answers = {k: v for k, v in row.items() if k != "row_id"}
        expected = assess(Intake(answers=answers), kb)
        assert row_id == row["row_id"]
        assert urgency == expected.urgency.value, row_id
        assert set(fired) == set(expected.fired_ids), row_id


def test_implications_apply_in_sql(kb: KnowledgeBase) -> None:
    """Pain below the knee counts as leg pain in SQL too."""
    results, _ = screen_rows([{"row_id": "a", "leg_pain_below_knee": True, "leg_pain": False}], kb)
    assert "seed_leg_symptoms" in results[0][2]


def test_generated_sql_uses_only_portable_constructs(kb: KnowledgeBase) -> None:
    """The query avoids dialect-specific functions (runs on Spark SQL, Trino, PostgreSQL)."""
    sql = triage_sql(kb).upper()
    for construct in ("LIST_", "STRUCT_PACK", "::", "IIF(", "GROUP_CONCAT"):
        assert construct not in sql


def test_cli_screens_jsonl_reports_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    """`backpath screen` writes one row per valid intake and exits 2 naming a bad line."""
    lines = [
        {"id": "p1", "age": 45, "answers": {"saddle_numbness": True}},
        {"id": "p2", "age": 30, "answers": {"fever": "yes"}},
        {"id": "p3", "age": 70, "answers": {"sudden_severe_pain": True}},
    ]
    source = tmp_path / "intakes.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["screen", str(source), "-o", str(out)])
    assert result.exit_code == 2
    assert "line 2: field 'answers.fever'" in result.stderr
    rows = out.read_text().splitlines()
    assert rows[0] == "row_id,urgency,fired_rules,concerns,complete"
    assert rows[1].startswith("p1,emergency,ces_new_bladder_bowel_saddle_sexual")
    assert rows[2].startswith("p3,emergency,aaa_sudden_severe_pain_older")


def test_cli_screens_csv(tmp_path: Path) -> None:
    """A CSV with finding codes as columns is screened; empty cells are unknown."""
    source = tmp_path / "population.csv"
    source.write_text(
        "row_id,age,back_pain,trauma_minor,osteoporosis\nr1,80,yes,yes,yes\nr2,40,yes,,\n"
    )
    result = CliRunner().invoke(app, ["screen", str(source)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].startswith("r1,urgent,")
    assert lines[2].startswith("r2,routine,")
