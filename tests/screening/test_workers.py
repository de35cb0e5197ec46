"""Narrative rows read in several processes give exactly what one process gives."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from backpath.cli import app
from backpath.kb import KnowledgeBase
from backpath.screening import Screening

NARRATIVES = (
    "My lower back has ached for a week since I lifted a sofa.",
    "I cannot feel anything when I wipe my bottom and my back is agony.",
    "Pain shoots down my left leg to the foot, worse when I sit.",
    "I have had cancer before and now my back hurts at night.",
    "Back pain and I feel hot and shivery, I had a fever yesterday.",
    "Sore back after gardening, getting better every day.",
    "I wet myself this morning and did not notice, my back is bad.",
    "Both legs feel weak and are getting weaker, I keep tripping.",
    "My back went into spasm on Monday and I can barely bend.",
    "asdf qwerty zzz",
)


def _write(path: Path, n: int = 50) -> Path:
    """``n`` Intake JSON lines with narratives, some structured answers and a bad row."""
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row: dict[str, object] = {
                "id": f"n{i:03d}",
                "answers": {"back_pain": True, "age": 20 + i},
                "narrative": NARRATIVES[i % len(NARRATIVES)],
            }
            if i % 7 == 3:
                row["answers"] = {"back_pain": True, "age": 500}  # invalid: kept as an error
            handle.write(json.dumps(row) + "\n")
    return path


def test_two_workers_give_the_same_output_as_one(kb: KnowledgeBase, tmp_path: Path) -> None:
    """`--workers 2` writes byte for byte what one process writes, in input order, errors
    and summary included, and says how many workers read the narratives."""
    source = _write(tmp_path / "narratives.jsonl")
    one = tmp_path / "one.jsonl"
    with Screening(kb, workers=1) as screening:
        run = screening.run(source)
        screening.write(one)
    assert run.python_rows == 43  # 50 rows, 7 of them invalid
    two = tmp_path / "two.jsonl"
    result = CliRunner().invoke(app, ["screen", str(source), "--workers", "2", "-o", str(two)])
    assert result.exit_code == 2, result.output  # the invalid ages
    assert two.read_text(encoding="utf-8") == one.read_text(encoding="utf-8")
    assert "43 rows with a narrative or instruments read in Python (2 workers)" in result.output
    assert "line 4: field 'answers.age': must be at most 120" in result.output
    written = [json.loads(line) for line in one.read_text(encoding="utf-8").splitlines()]
    assert [r["row_id"] for r in written] == [f"n{i:03d}" for i in range(50) if i % 7 != 3]
    assert "emergency" in {r["urgency"] for r in written}  # the narratives decide something


def test_workers_must_be_at_least_one(tmp_path: Path) -> None:
    """`--workers 0` is refused before anything is read."""
    source = _write(tmp_path / "narratives.jsonl", n=2)
    refused = CliRunner().invoke(app, ["screen", str(source), "--workers", "0"])
    assert refused.exit_code == 2
    assert "--workers" in refused.output
