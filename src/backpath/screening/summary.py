"""What a population manager reads first: counts by urgency, concern, age band and rule.

The counts are one SQL aggregate over the screened rows (``summary_sql``), grouped by age
band, so the same query summarises a DuckDB result file or a Spark table. Age bands are a
reporting choice (they decide nothing clinical); ``unknown`` collects rows without an age.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backpath.kb import KnowledgeBase
from backpath.vocabulary import Concern, Urgency

AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-17", 0, 17),
    ("18-39", 18, 39),
    ("40-49", 40, 49),
    ("50-64", 50, 64),
    ("65-79", 65, 79),
    ("80+", 80, None),
)
UNKNOWN_AGE = "unknown"
URGENCY_ORDER = tuple(u.value for u in sorted(Urgency, key=lambda u: -u.rank))
RED_FLAG_URGENCIES = (Urgency.EMERGENCY.value, Urgency.URGENT.value)
"""A "red flag" row in the report: one whose result is urgent or an emergency."""


def all_rule_ids(kb: KnowledgeBase) -> list[str]:
    """Every rule id a result can list, the safety meta-rules last."""
    return [rule.id for rule in kb.rules] + [kb.unsure_rule.id, kb.narrative_rule.id]


def _band_case(age: str) -> str:
    parts = ["CASE"]
    for label, low, high in AGE_BANDS:
        upper = f" AND {age} <= {high}" if high is not None else ""
        parts.append(f"WHEN {age} >= {low}{upper} THEN '{label}'")
    parts.append(f"ELSE '{UNKNOWN_AGE}' END")
    return " ".join(parts)


def _contains(column: str, word: str) -> str:
    return f"position(' {word} ' IN concat(' ', {column}, ' ')) > 0"


def summary_names(kb: KnowledgeBase) -> list[str]:
    """The summary's count names, in column order: all rows, incomplete rows, then one per
    urgency (``u:``), concern (``c:``) and rule (``r:``)."""
    return [
        "rows",
        "incomplete",
        *(f"u:{urgency}" for urgency in URGENCY_ORDER),
        *(f"c:{concern.value}" for concern in Concern),
        *(f"r:{rule_id}" for rule_id in all_rule_ids(kb)),
    ]


def summary_sql(kb: KnowledgeBase, table: str) -> tuple[str, list[str]]:
    """One aggregate query over screened rows (``age``, ``urgency``, ``concerns``,
    ``fired_rules``, ``complete``, ``__error``) and the names of its count columns
    (``summary_names``). ``summary_groups`` counts the same more cheaply; this query is the
    plain reference it is tested against and runs unchanged on other engines."""
    sums = ["count(*)", "SUM(CASE WHEN NOT complete THEN 1 ELSE 0 END)"]
    for urgency in URGENCY_ORDER:
        sums.append(f"SUM(CASE WHEN urgency = '{urgency}' THEN 1 ELSE 0 END)")
    for concern in Concern:
        sums.append(f"SUM(CASE WHEN {_contains('concerns', concern.value)} THEN 1 ELSE 0 END)")
    for rule_id in all_rule_ids(kb):
        sums.append(f"SUM(CASE WHEN {_contains('fired_rules', rule_id)} THEN 1 ELSE 0 END)")
    select = ", ".join(f"{expr} AS s{i}" for i, expr in enumerate(sums))
    sql = (
        f"SELECT band, {select} FROM (SELECT *, {_band_case('age')} AS band FROM {table} "
        "WHERE __error IS NULL) AS screened GROUP BY band"
    )
    return sql, summary_names(kb)


def summary_groups(con: Any, kb: KnowledgeBase, table: str) -> tuple[list[list[Any]], list[str]]:
    """The rows ``summary_sql`` returns, counted in one cheaper DuckDB scan.

    ``summary_sql`` tests every rule id against every row (a text search each); here each
    row's own words are unnested and counted, so the work follows the few rules a row
    fired. A word counts a row once (``list_distinct``), as the text search does; words
    that name no urgency, concern or rule are not counted."""
    names = summary_names(kb)
    wanted = set(names)

    def words(column: str, prefix: str) -> str:
        return (
            f"list_transform(list_distinct(COALESCE(string_split({column}, ' '), [])), "
            f"lambda w: concat('{prefix}:', w))"
        )

    # Rows first grouped by what is counted (few distinct combinations), then each
    # group's words unnested and its row count added to each.
    grouped = (
        f"SELECT {_band_case('age')} AS band, complete, urgency, concerns, fired_rules, "
        f"count(*) AS n FROM {table} WHERE __error IS NULL "
        "GROUP BY band, complete, urgency, concerns, fired_rules"
    )
    sql = (
        "SELECT band, word, sum(n) FROM (SELECT band, n, unnest(list_concat(['rows'], "
        "CASE WHEN NOT complete THEN ['incomplete'] ELSE [] END, "
        "CASE WHEN urgency IS NOT NULL THEN [concat('u:', urgency)] ELSE [] END, "
        f"{words('concerns', 'c')}, {words('fired_rules', 'r')})) AS word "
        f"FROM ({grouped}) AS grouped) AS counted GROUP BY band, word"
    )
    bands: dict[str, dict[str, int]] = {}
    for band, word, count in con.execute(sql).fetchall():
        counts = bands.setdefault(str(band), {})
        if word in wanted:
            counts[str(word)] = int(count)
    return [
        [band, *(counts.get(name, 0) for name in names)] for band, counts in bands.items()
    ], names


@dataclass
class ScreeningSummary:
    """Counts over a screened population (rows with an input error are not counted)."""

    rows: int = 0
    incomplete: int = 0
    errors: int = 0
    by_urgency: Counter[str] = field(default_factory=Counter)
    by_concern: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    # age band -> urgency -> rows; and age band -> concern -> rows
    by_age_band: dict[str, Counter[str]] = field(default_factory=dict)
    concern_by_age_band: dict[str, Counter[str]] = field(default_factory=dict)

    @classmethod
    def from_groups(
        cls, groups: Sequence[Sequence[Any]], names: Sequence[str], errors: int = 0
    ) -> ScreeningSummary:
        """Build from the rows of ``summary_sql`` (band first, then the named counts)."""
        summary = cls(errors=errors)
        for group in groups:
            band, counts = str(group[0]), dict(zip(names, group[1:], strict=True))
            urgencies: Counter[str] = Counter()
            concerns: Counter[str] = Counter()
            for name, value in counts.items():
                count = int(value or 0)
                kind, _, label = name.partition(":")
                if name == "rows":
                    summary.rows += count
                elif name == "incomplete":
                    summary.incomplete += count
                elif kind == "u":
                    urgencies[label] += count
                elif kind == "c":
                    concerns[label] += count
                elif kind == "r" and count:
                    summary.by_rule[label] += count
            summary.by_urgency.update(urgencies)
            summary.by_concern.update(+concerns)
            summary.by_age_band[band] = urgencies
            summary.concern_by_age_band[band] = +concerns
        return summary

    @property
    def bands(self) -> list[str]:
        """Age bands in order, ``unknown`` last, only those with rows."""
        order = [label for label, _, _ in AGE_BANDS] + [UNKNOWN_AGE]
        return [band for band in order if band in self.by_age_band]

    def red_flags_by_age_band(self) -> dict[str, int]:
        """Rows with an urgent or emergency result in each age band."""
        return {
            band: sum(self.by_age_band[band][u] for u in RED_FLAG_URGENCIES) for band in self.bands
        }

    def to_json(self) -> dict[str, Any]:
        """Serialise; urgencies from most to least urgent, rules by firing count."""
        return {
            "rows": self.rows,
            "errors": self.errors,
            "incomplete": self.incomplete,
            "by_urgency": {u: self.by_urgency.get(u, 0) for u in URGENCY_ORDER},
            "by_concern": dict(self.by_concern.most_common()),
            "by_age_band": {
                band: {u: self.by_age_band[band].get(u, 0) for u in URGENCY_ORDER}
                for band in self.bands
            },
            "red_flags_by_age_band": self.red_flags_by_age_band(),
            "by_rule": dict(self.by_rule.most_common()),
        }
