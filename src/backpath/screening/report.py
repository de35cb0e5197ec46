"""The population report: one self-contained HTML page (no network, no scripts).

Three plots drawn here as inline SVG - the urgency distribution, red flags (urgent or
emergency results) by age band, and rules by how often they fired - and the list of
emergency rows, then urgent rows, in input order, each with the rules that fired and their
titles. Every plot is also a table, so the numbers can be read without the picture.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from backpath.kb import KnowledgeBase
from backpath.vocabulary import Urgency

if TYPE_CHECKING:
    from backpath.screening.pipeline import Screening, ScreenRun

MAX_LISTED_ROWS = 2000
"""Most emergency and urgent rows listed in the page (the output file has them all)."""

_COLOURS = {
    "emergency": "#b3261e",
    "urgent": "#c65f00",
    "routine": "#1f5fae",
    "self_care": "#2e7d32",
}


def bar_chart(
    title: str, bars: Sequence[tuple[str, int]], colours: Sequence[str] | None = None
) -> str:
    """A horizontal bar chart as inline SVG, with a text label and the count on each bar."""
    row, label_width, bar_width = 22, 260, 360
    height = row * max(len(bars), 1) + 30
    peak = max((count for _, count in bars), default=0) or 1
    parts = [
        f'<svg role="img" aria-label="{html.escape(title)}" width="{label_width + bar_width + 90}"'
        f' height="{height}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif"'
        ' font-size="13">',
        f"<title>{html.escape(title)}</title>",
    ]
    for index, (label, count) in enumerate(bars):
        y = 10 + index * row
        width = round(bar_width * count / peak)
        colour = colours[index] if colours else "#1f5fae"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{width}" height="{row - 6}" fill="{colour}">'
            f"<title>{html.escape(label)}: {count}</title></rect>"
            f'<text x="{label_width + width + 6}" y="{y + 14}">{count:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_report(screening: Screening, run: ScreenRun, kb: KnowledgeBase, title: str) -> str:
    """The report page as a string."""
    summary = run.summary
    data = summary.to_json()
    titles = {rule.id: rule.spec.title for rule in (*kb.rules, kb.unsure_rule, kb.narrative_rule)}
    urgencies = list(data["by_urgency"].items())
    red_flags = list(summary.red_flags_by_age_band().items())
    rules = list(data["by_rule"].items())
    sections = [
        f"<h1>Population screening: {html.escape(title)}</h1>",
        f"<p>{summary.rows:,} rows screened, {summary.errors:,} rows with input errors, "
        f"{summary.incomplete:,} rows with questions still to ask. Knowledge base "
        f"{html.escape(kb.version)} (sha256 {html.escape(kb.sha256[:12])}).</p>",
        "<h2>Urgency</h2>",
        bar_chart("Rows by urgency", urgencies, [_COLOURS[u] for u, _ in urgencies]),
        _table(["urgency", "rows"], urgencies),
        "<h2>Red flags by age band</h2>",
        "<p>Rows whose result is urgent or an emergency, by age.</p>",
        bar_chart("Urgent or emergency rows by age band", red_flags),
        _table(
            ["age band", *data["by_urgency"]],
            [
                [band, *(counts[u] for u in data["by_urgency"])]
                for band, counts in data["by_age_band"].items()
            ],
        ),
        "<h2>Concerns</h2>",
        _table(["concern", "rows"], list(data["by_concern"].items())),
        "<h2>Rules by firing count</h2>",
        bar_chart("Rules by firing count", rules),
        _table(["rule", "title", "rows"], [(r, titles.get(r, ""), n) for r, n in rules]),
    ]
    for urgency in (Urgency.EMERGENCY, Urgency.URGENT):
        rows = screening.rows(f"urgency = '{urgency.value}'", limit=MAX_LISTED_ROWS)
        total = summary.by_urgency.get(urgency.value, 0)
        shown = f" (first {len(rows):,} of {total:,})" if total > len(rows) else ""
        sections.append(f'<h2 id="{urgency.value}">{urgency.value} rows{shown}</h2>')
        sections.append(
            _table(
                ["line", "row id", "age", "fired rules", "concerns"],
                [
                    (
                        r["__line"],
                        r["row_id"],
                        "" if r["age"] is None else r["age"],
                        "; ".join(
                            f"{rule} ({titles.get(rule, '')})"
                            for rule in str(r["fired_rules"]).split()
                        ),
                        r["concerns"],
                    )
                    for r in rows
                ],
            )
        )
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#111}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Screening report: {html.escape(title)}</title><style>{style}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )


def write_report(
    screening: Screening, run: ScreenRun, path: Path, kb: KnowledgeBase, title: str
) -> None:
    """Write the report page to ``path``."""
    path.write_text(render_report(screening, run, kb, title), encoding="utf-8")
