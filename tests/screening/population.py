"""Seeded generated populations for the screening tests, and the assess() oracle.

Each person gets a profile - how many questions were not asked, answered "not sure", or
answered yes - so that a population reaches every urgency, complete and incomplete
interviews, and the "not sure" escalation. The oracle is ``backpath.triage.assess`` on an
``Intake`` built directly from the generated answers (no screening code involved).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.triage import assess
from backpath.vocabulary import FindingType

# (share not asked, share "not sure", share of yes among booleans, back pain of a few weeks
# in a younger adult - the only picture that can earn self-care)
PROFILES = (
    (0.0, 0.0, 0.0, True),
    (0.0, 0.0, 0.0, False),
    (0.0, 0.02, 0.0, True),
    (0.01, 0.0, 0.0, True),
    (0.0, 0.0, 0.01, False),
    (0.02, 0.0, 0.01, False),
    (0.0, 0.03, 0.005, False),
    (0.05, 0.05, 0.02, False),
    (0.3, 0.1, 0.1, False),
)
# Measured signs (blood pressure, oxygen level...) are given for about 1 person in 5.
MEASURED_MISSING = 0.8
TRUE_SPELLINGS = ("yes", "Yes", "TRUE", "1", "t", "y")
FALSE_SPELLINGS = ("no", "No", "false", "0", "F", "n")
UNSURE_SPELLINGS = ("unsure", "not sure", "?", "Not Sure")


@dataclass(frozen=True)
class Person:
    """One generated row: its id, its answers and the codes answered "not sure"."""

    row_id: str
    answers: dict[str, Any]
    unsure: tuple[str, ...]

    def expected(self, kb: KnowledgeBase) -> tuple[str, list[str], bool, set[str]]:
        """(urgency, fired rule ids in order, complete, concerns) from assess()."""
        result = assess(Intake(answers=self.answers, unsure=frozenset(self.unsure)), kb)
        return result.urgency.value, list(result.fired_ids), result.complete, set(result.concerns)


def population(kb: KnowledgeBase, n: int, seed: int) -> list[Person]:
    """``n`` seeded people over every scalar finding of the knowledge base."""
    rng = random.Random(seed)
    measured = kb.given_only_codes
    people = []
    for i in range(n):
        missing, unsure_share, yes_share, simple_back_pain = PROFILES[i % len(PROFILES)]
        answers: dict[str, Any] = {}
        unsure: list[str] = []
        for code, finding in kb.findings.items():
            if finding.type is FindingType.MULTI_CHOICE:
                continue
            draw = rng.random()
            if draw < missing:
                continue
            if code in measured and rng.random() < MEASURED_MISSING:
                continue  # a measured sign (never asked) is given for few people
            if draw < missing + unsure_share:
                unsure.append(code)
                continue
            if finding.type is FindingType.BOOLEAN:
                answers[code] = rng.random() < yes_share
            elif finding.type is FindingType.INTEGER:
                high = min(finding.max if finding.max is not None else 120, 120)
                answers[code] = rng.randint(finding.min or 0, high)
            else:
                answers[code] = rng.choice(finding.allowed_values)
        if simple_back_pain:
            for code, value in (
                ("back_pain", True),
                ("age", rng.randint(18, 64)),
                ("duration_days", rng.randint(1, 41)),
            ):
                if code in answers:
                    answers[code] = value
        people.append(Person(f"p{i:05d}", answers, tuple(unsure)))
    return people


def write_csv(
    kb: KnowledgeBase,
    people: Iterable[Person],
    path: Path,
    seed: int = 1,
    true_spellings: Sequence[str] = TRUE_SPELLINGS,
    false_spellings: Sequence[str] = FALSE_SPELLINGS,
    unsure_spellings: Sequence[str] = UNSURE_SPELLINGS,
    spoil: Callable[[list[str], list[str], random.Random], None] | None = None,
) -> None:
    """CSV with varied spellings: yes/No/1/t..., "not sure" cells (an empty
    ``unsure_spellings`` leaves them empty), empty = not asked. ``spoil(cells, codes, rng)``
    may change a row's cells before it is written (bad values on purpose)."""
    rng = random.Random(seed)
    codes = [c for c, f in kb.findings.items() if f.type is not FindingType.MULTI_CHOICE]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row_id", *codes])
        for person in people:
            cells = [person.row_id]
            for code in codes:
                if code in person.unsure:
                    cells.append(rng.choice(unsure_spellings) if unsure_spellings else "")
                elif code not in person.answers or person.answers[code] is None:
                    cells.append("")
                else:
                    value = person.answers[code]
                    if value is True:
                        cells.append(rng.choice(true_spellings))
                    elif value is False:
                        cells.append(rng.choice(false_spellings))
                    else:
                        cells.append(str(value))
            if spoil is not None:
                spoil(cells, codes, rng)
            writer.writerow(cells)


def write_jsonl(people: list[Person], path: Path) -> None:
    """Intake JSON per line: null for "not sure", absent for not asked."""
    with path.open("w", encoding="utf-8") as handle:
        for person in people:
            answers: dict[str, Any] = dict(person.answers)
            answers.update(dict.fromkeys(person.unsure))
            handle.write(json.dumps({"id": person.row_id, "answers": answers}) + "\n")


def write_parquet(kb: KnowledgeBase, people: list[Person], path: Path) -> None:
    """Typed Parquet (booleans, integers, text) with an ``unsure`` list column."""
    import duckdb

    jsonl = path.with_suffix(".rows.jsonl")
    types = {FindingType.BOOLEAN: "BOOLEAN", FindingType.INTEGER: "INTEGER"}
    columns = {"row_id": "VARCHAR", "unsure": "VARCHAR"}
    for code, finding in kb.findings.items():
        if finding.type is not FindingType.MULTI_CHOICE:
            columns[code] = types.get(finding.type, "VARCHAR")
    with jsonl.open("w", encoding="utf-8") as handle:
        for person in people:
            record = {"row_id": person.row_id, **person.answers}
            record["unsure"] = ",".join(person.unsure) or None
            handle.write(json.dumps(record) + "\n")
    spec = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in columns.items())
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_json('{jsonl}', format='newline_delimited', "
        f"columns={{{spec}}})) TO '{path}' (FORMAT parquet)"
    )
    con.close()
    jsonl.unlink()
