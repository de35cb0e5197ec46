"""The Python part of screening: rows with a narrative or instruments.

Only these rows need Python - the NLP reader (``backpath.nlp``) for the person's own
words, the instrument scorer for questionnaires. Each is read with the single-intake reader
(``Intake.from_json``), prepared with the very step ``assess`` uses
(``triage.engine.prepare_answers``: narrative merge under the knowledge base's policy,
implications, scores), and returned as a screening-table row, so the compiled SQL decides
it exactly like every structured row. A row that fails validation comes back with its
error instead; nothing is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from backpath import jsonio
from backpath.errors import IntakeError
from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.screening.compile import screening_columns
from backpath.screening.staging import ERROR_COLUMN, KEY_COLUMN, LINE_COLUMN
from backpath.screening.workers import ordered_map
from backpath.triage.engine import NarrativeReader, prepare_answers

DANGER_WORDS = "danger_words"
"""The reading problem of danger words no finding explains (``nlp.DANGER_WORDS_PROBLEM``):
``assess`` has a clinician read the text the same day (``danger_words_not_resolved``)."""


def prepared_rows(
    lines: Iterable[tuple[int, str]],
    kb: KnowledgeBase,
    read_narrative: NarrativeReader | None = None,
) -> Iterator[dict[str, Any]]:
    """Screening-table rows for ``(line number, Intake JSON text)`` pairs.

    ``read_narrative`` defaults to ``backpath.nlp.read_narrative`` in the intake's
    language, as in ``assess``.
    """
    codes = [code for code, _ in screening_columns(kb)]
    for number, text in lines:
        row: dict[str, Any] = {LINE_COLUMN: number, KEY_COLUMN: str(number)}
        try:
            intake = Intake.from_json(jsonio.loads(text))
        except IntakeError as exc:
            row[ERROR_COLUMN] = f"field {exc.field!r}: {exc.message}"
            yield row
            continue
        prepared = prepare_answers(intake, kb, read_narrative=read_narrative)
        if intake.intake_id is not None:
            row[KEY_COLUMN] = intake.intake_id
        for code in codes:
            row[code] = prepared.answers.get(code)
        row["unsure_codes"] = " ".join(sorted(intake.unsure)) or None
        row["narrative_unclear"] = prepared.narrative_status == "not_understood"
        row["danger_words"] = DANGER_WORDS in prepared.narrative_problems
        row[ERROR_COLUMN] = None
        yield row


WORKER_BATCH = 64
"""Rows sent to a worker at a time: large enough to amortise the hand-over, small enough
to keep every worker busy on a few hundred narratives."""


def _prepare_batch(
    kb: KnowledgeBase, batch: list[tuple[int, str]], _extra: object
) -> list[dict[str, Any]]:
    """Prepare one batch (in a worker process)."""
    return list(prepared_rows(batch, kb))


def prepared_rows_parallel(
    lines: Iterable[tuple[int, str]],
    kb: KnowledgeBase,
    workers: int = 1,
    batch: int = WORKER_BATCH,
) -> Iterator[dict[str, Any]]:
    """``prepared_rows`` over ``workers`` processes (1: in this process), in input order;
    each worker builds the reader once (``workers.ordered_map``)."""
    if workers <= 1:
        yield from prepared_rows(lines, kb)
        return
    yield from ordered_map(_prepare_batch, lines, kb, workers, batch, warm_reader=True)


def write_prepared(rows: Iterable[dict[str, Any]], path: str) -> int:
    """Write prepared rows as JSON Lines for the engine to read back; returns the count."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
