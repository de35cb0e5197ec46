"""``backpath extract`` prints findings with evidence, or JSON with --json."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from backpath.cli import app

RUNNER = CliRunner()
ACCEPTANCE = "my left leg is numb and I can't pee properly since yesterday, no fever"


def test_extract_json_lists_findings_with_spans() -> None:
    """--json prints [{code, value, certainty, text, span}] for the acceptance sentence."""
    result = RUNNER.invoke(app, ["extract", "--json", ACCEPTANCE])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout.strip().splitlines()[0])
    by_code = {f["code"]: f for f in findings}
    assert by_code["leg_numbness"]["value"] is True
    assert by_code["pain_side"]["value"] == "left"
    assert by_code["urinary_retention"]["value"] is True
    assert by_code["fever"] == {
        "code": "fever",
        "value": False,
        "certainty": "negated",
        "text": "fever",
        "span": [65, 70],
    }
    for finding in findings:
        assert set(finding) == {"code", "value", "certainty", "text", "span"}
        start, end = finding["span"]
        assert ACCEPTANCE[start:end] == finding["text"]


def test_extract_table_shows_codes_and_evidence() -> None:
    """Without --json the narrative and a findings table are printed."""
    result = RUNNER.invoke(app, ["extract", ACCEPTANCE])
    assert result.exit_code == 0, result.output
    assert "urinary_retention" in result.output
    assert "can't pee properly" in result.output


def test_extract_uses_today_for_weekdays() -> None:
    """--today makes 'since Monday' a number of days."""
    result = RUNNER.invoke(
        app, ["extract", "--json", "--today", "2024-05-15", "back pain since Monday"]
    )
    findings = json.loads(result.stdout.strip().splitlines()[0])
    assert {"code": "duration_days", "value": 2} in [
        {k: f[k] for k in ("code", "value")} for f in findings
    ]


def test_extract_refuses_text_over_the_limit_with_exit_2() -> None:
    """A narrative over 20,000 characters exits 2 with a message, not a traceback."""
    result = RUNNER.invoke(app, ["extract", "x" * 20_001])
    assert result.exit_code == 2
    assert "20,000" in result.output


def test_extract_reports_text_that_is_not_understood() -> None:
    """Text in a language with no reader (German) is flagged as not understood, never as
    'no findings' alone (Spanish is read since issue 11)."""
    result = RUNNER.invoke(
        app, ["extract", "Ich habe seit gestern Rückenschmerzen und kann nicht mehr pinkeln"]
    )
    assert result.exit_code == 0
    assert "Not understood" in result.output
