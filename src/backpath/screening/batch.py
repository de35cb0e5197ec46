"""Screen rows already in memory (an API for notebooks and tests).

``screen_rows`` writes the rows as Intake JSON Lines to a private folder and runs the file
pipeline on them, so in-memory rows get exactly the validation and the SQL a file gets.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from backpath.kb import KnowledgeBase, load_knowledge
from backpath.screening.pipeline import Screening
from backpath.screening.summary import ScreeningSummary
from backpath.vocabulary import FindingValue


def screen_rows(
    rows: Iterable[Mapping[str, FindingValue]],
    kb: KnowledgeBase | None = None,
) -> tuple[list[tuple[str, str, list[str]]], ScreeningSummary]:
    """Screen answer rows: ``row_id`` plus finding codes (an absent code was not asked; a
    ``None`` value was answered "not sure"; a ``narrative`` key is read by the NLP reader).

    Returns ``(row_id, urgency, fired rule ids)`` per valid row in input order, and the
    summary. Invalid rows are counted in ``summary.errors`` and left out.
    """
    kb = kb or load_knowledge()
    with tempfile.TemporaryDirectory(prefix="backpath-rows-") as folder:
        path = Path(folder) / "rows.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                record: dict[str, Any] = {"id": str(row["row_id"])}
                answers = {k: v for k, v in row.items() if k not in ("row_id", "narrative")}
                record["answers"] = {
                    k: list(v) if isinstance(v, tuple) else v for k, v in answers.items()
                }
                if row.get("narrative"):
                    record["narrative"] = row["narrative"]
                handle.write(json.dumps(record) + "\n")
        with Screening(kb) as screening:
            run = screening.run(path)
            results = [
                (str(r["row_id"]), str(r["urgency"]), str(r["fired_rules"]).split())
                for r in screening.rows()
            ]
    return results, run.summary
