"""Hostile JSON on the command line: exit 2 with a message naming the field, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backpath.cli import app

runner = CliRunner()

# (input, the field the message must name)
HOSTILE: list[tuple[str, str]] = [
    (
        '{"age":45,"answers":{"leg_pain":true,"saddle_numbness":true,"saddle_numbness":false}}',
        "answers.saddle_numbness",
    ),
    ('{"answers":{"age":' + "9" * 4301 + "}}", "answers.age"),
    ('{"narrative":' + "[" * 956 + "]" * 956 + "}", "narrative"),
    ('{"narrative":"back \\ud800 pain"}', "narrative"),
    ('{"narrative":"back \\u0000 pain"}', "narrative"),
    ('{"age":45,"answers":{"age":46}}', "age"),
    ('{"sex":"male","answers":{"sex":"female"}}', "sex"),
    ('{"answers":{"age":NaN}}', "answers.age"),
]


def _said(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("text", "field"), HOSTILE, ids=[f for _, f in HOSTILE])
def test_triage_refuses_hostile_json_with_exit_2(text: str, field: str) -> None:
    """`backpath triage` exits 2 naming the field; no result is printed."""
    result = runner.invoke(app, ["triage"], input=text)
    assert result.exit_code == 2, result.output
    assert f"field '{field}" in _said(result.stderr)
    assert "Traceback" not in result.output
    assert '"urgency"' not in result.stdout


def test_triage_jsonl_reports_the_hostile_line_and_keeps_the_rest() -> None:
    """In JSON Lines, the hostile line is named; the good lines are still triaged."""
    lines = "\n".join(
        [
            '{"age":45,"answers":{"back_pain":true}}',
            '{"age":45,"answers":{"saddle_numbness":true,"saddle_numbness":false}}',
            '{"age":50,"answers":{"back_pain":true}}',
        ]
    )
    result = runner.invoke(app, ["triage"], input=lines)
    assert result.exit_code == 2
    said = _said(result.stderr)
    assert "line 2" in said
    assert "answers.saddle_numbness" in said
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outputs) == 3
    assert outputs[1]["error"]["field"] == "answers.saddle_numbness"
    assert "urgency" in outputs[0]
    assert "urgency" in outputs[2]


def test_triage_deep_nesting_beyond_the_decoder_is_exit_2() -> None:
    """Nesting deep enough to exhaust the decoder's recursion is exit 2, not a crash."""
    result = runner.invoke(app, ["triage"], input="[" * 200_000 + "]" * 200_000)
    assert result.exit_code == 2
    assert "nested too deeply" in _said(result.stderr)


def test_triage_not_json_is_still_reported() -> None:
    """Text that is not JSON is reported as before."""
    result = runner.invoke(app, ["triage"], input="{nope")
    assert result.exit_code == 2
    assert "not valid JSON" in _said(result.stderr)


def test_followup_refuses_duplicate_keys(tmp_path: Path) -> None:
    """`backpath followup` reads its intakes with the same reader."""
    good = tmp_path / "baseline.json"
    good.write_text('{"age":45,"answers":{"back_pain":true}}', encoding="utf-8")
    bad = tmp_path / "current.json"
    bad.write_text('{"age":45,"answers":{"leg_weakness":true,"leg_weakness":false}}', "utf-8")
    result = runner.invoke(app, ["followup", str(good), str(bad)])
    assert result.exit_code == 2, result.output
    assert "answers.leg_weakness" in _said(result.stderr)


def test_score_refuses_duplicate_item_keys() -> None:
    """`backpath score` with a JSON object naming one item twice exits 2 naming it."""
    result = runner.invoke(app, ["score", "sbi"], input='{"leg_pain": 3, "leg_pain": 2}')
    assert result.exit_code == 2
    assert "sbi.leg_pain" in _said(result.stderr)
    assert "more than once" in _said(result.stderr)
