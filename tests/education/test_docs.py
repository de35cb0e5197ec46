"""docs/handout.md stays true to the knowledge: its layout table is generated from handout.yaml."""

from __future__ import annotations

from pathlib import Path

from backpath.education.knowledge import layout_table
from backpath.kb import KnowledgeBase

DOC = Path(__file__).resolve().parents[2] / "docs" / "handout.md"


def test_layout_table_is_up_to_date(kb: KnowledgeBase) -> None:
    """The section-order table in docs/handout.md matches knowledge/handout.yaml."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- layouts:start -->\n") + len("<!-- layouts:start -->\n")
    end = text.index("<!-- layouts:end -->")
    assert text[start:end] == layout_table(kb), (
        "regenerate with backpath.education.knowledge.layout_table"
    )


def test_docs_name_the_cli_and_the_api() -> None:
    """The docs show the command and the three public functions."""
    text = DOC.read_text(encoding="utf-8")
    for name in (
        "backpath handout",
        "compose_handout",
        "render_handout_html",
        "render_handout_pdf",
    ):
        assert name in text
