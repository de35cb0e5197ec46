"""Compile the knowledge base to one SQL query and run it over many intakes (DuckDB)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backpath.kb import KnowledgeBase, load_knowledge
from backpath.logic import to_sql
from backpath.vocabulary import FindingType, FindingValue, Urgency

_SQL_TYPES = {
    FindingType.BOOLEAN: "BOOLEAN",
    FindingType.INTEGER: "INTEGER",
    FindingType.CHOICE: "VARCHAR",
}


def screening_columns(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """The (code, SQL type) columns a screening table has: every scalar finding."""
    return [(code, _SQL_TYPES[f.type]) for code, f in kb.findings.items() if f.type in _SQL_TYPES]


def triage_sql(kb: KnowledgeBase | None = None, table: str = "intakes", key: str = "row_id") -> str:
    """One SQL query: per row of ``table``, ``urgency`` and ``fired_rules`` (comma list).

    Stage 1 applies the findings' ``implies`` (a yes fills in the implied yes); stage 2
    evaluates every rule; stage 3 takes the highest urgency among fired rules, or the
    knowledge base's baseline when none fired - exactly as ``assess`` does.
    """
    kb = kb or load_knowledge()
    columns = [code for code, _ in screening_columns(kb)]
    implied: dict[str, list[str]] = {}
    for source, targets in kb.implications:
        for target in targets:
            implied.setdefault(target, []).append(source)
    select_1 = []
    for code in columns:
        if code in implied:
            triggers = " OR ".join(f"({src} = TRUE)" for src in implied[code])
            select_1.append(f"CASE WHEN {triggers} THEN TRUE ELSE {code} END AS {code}")
        else:
            select_1.append(code)
    rule_columns = [f"{to_sql(rule.condition)} AS r_{rule.id}" for rule in kb.rules]
    levels = sorted(Urgency, key=lambda u: -u.rank)
    urgency_case = ["CASE"]
    for level in levels:
        fired = [f"r_{rule.id} = TRUE" for rule in kb.rules if rule.urgency is level]
        if fired:
            urgency_case.append(f"WHEN {' OR '.join(fired)} THEN '{level.value}'")
    urgency_case.append(f"ELSE '{kb.manifest.baseline_urgency.value}' END")
    fired_list = ", ".join(
        f"CASE WHEN r_{rule.id} = TRUE THEN '{rule.id}' END"
        for rule in sorted(kb.rules, key=lambda r: -r.urgency.rank)
    )
    return (
        f"WITH answered AS (SELECT {key}, {', '.join(select_1)} FROM {table}),\n"
        f"evaluated AS (SELECT {key}, {', '.join(rule_columns)} FROM answered)\n"
        f"SELECT {key}, {' '.join(urgency_case)} AS urgency,\n"
        f"concat_ws(',', {fired_list}) AS fired_rules\n"
        f"FROM evaluated ORDER BY {key}"
    )


@dataclass
class ScreeningSummary:
    """Counts by urgency and by fired rule over a screened population."""

    rows: int = 0
    by_urgency: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        """Serialise, urgencies from most to least urgent."""
        order = [u.value for u in sorted(Urgency, key=lambda u: -u.rank)]
        return {
            "rows": self.rows,
            "by_urgency": {u: self.by_urgency.get(u, 0) for u in order},
            "by_rule": dict(self.by_rule.most_common()),
        }


def screen_rows(
    rows: Iterable[Mapping[str, FindingValue]],
    kb: KnowledgeBase | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = 50_000,
) -> tuple[list[tuple[Any, str, list[str]]], ScreeningSummary]:
    """Screen answer rows (``row_id`` plus finding codes) with DuckDB.

    Returns ``(row_id, urgency, fired rule ids)`` per row in ``row_id`` order and a
    summary. ``progress`` is called with the number of rows loaded so far.
    """
    import json
    import tempfile

    import duckdb

    kb = kb or load_knowledge()
    columns = screening_columns(kb)
    loaded = 0
    with tempfile.TemporaryDirectory(prefix="backpath-screen-") as folder:
        # DuckDB's JSON reader loads a typed table far faster than row inserts.
        path = f"{folder}/intakes.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for row in rows:
                record: dict[str, Any] = {"row_id": str(row["row_id"])}
                record.update({code: row.get(code) for code, _ in columns})
                handle.write(json.dumps(record) + "\n")
                loaded += 1
                if progress and loaded % chunk == 0:
                    progress(loaded)
        if progress:
            progress(loaded)
        con = duckdb.connect()
        spec = ", ".join(
            [repr("row_id") + ": 'VARCHAR'"] + [f"{code!r}: '{t}'" for code, t in columns]
        )
        con.execute(
            f"CREATE TABLE intakes AS SELECT * FROM read_json('{path}', format='newline_delimited', "
            f"columns={{{spec}}})"
        )
        fetched = con.execute(triage_sql(kb)).fetchall()
        con.close()
    summary = ScreeningSummary(rows=loaded)
    results: list[tuple[Any, str, list[str]]] = []
    for row_id, urgency, fired in fetched:
        rule_ids = fired.split(",") if fired else []
        results.append((row_id, urgency, rule_ids))
        summary.by_urgency[urgency] += 1
        summary.by_rule.update(rule_ids)
    return results, summary
