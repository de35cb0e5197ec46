"""``backpath score INSTRUMENT [FILE|-]`` as a user runs it: typed or JSON answers in, a
summary or JSON out, exit code 2 with a message naming instrument and item on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backpath.cli import app

runner = CliRunner()


def _json(*args: str, answers: str) -> dict[str, object]:
    result = runner.invoke(app, ["score", *args, "--json"], input=answers)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_startback_acceptance_summary() -> None:
    """Acceptance: `echo 1 1 0 0 1 1 1 1 1 | backpath score startback` shows 7, 5 and high."""
    result = runner.invoke(app, ["score", "startback"], input="1 1 0 0 1 1 1 1 1\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["Total", "7"] for line in lines)
    assert any(line.split()[:3] == ["Psychosocial", "subscale", "5"] for line in lines)
    assert any(line.split()[:2] == ["Stratum", "high"] for line in lines)
    assert "psychologically_informed_physiotherapy" in result.stdout
    assert "paraphrase" in result.stdout


def test_startback_acceptance_json() -> None:
    """The same answers with --json give total 7, psychosocial 5, stratum high."""
    data = _json("startback", answers="1 1 0 0 1 1 1 1 1")
    assert (data["value"], data["subscales"], data["stratum"]) == (7, {"psychosocial": 5}, "high")
    assert data["wording"] == "paraphrase"


def test_odi_ten_twos_is_forty_percent_moderate() -> None:
    """Acceptance: ten sections all scored 2 give 40 %, moderate."""
    result = runner.invoke(app, ["score", "odi"], input="2 2 2 2 2 2 2 2 2 2")
    assert result.exit_code == 0, result.output
    assert "40 %" in result.stdout
    assert "moderate" in result.stdout


@pytest.mark.parametrize("blanks", ["x null", "- x", "null -", "X NULL"])
def test_odi_two_unanswered_still_scores(blanks: str) -> None:
    """Acceptance: two sections marked -, null or x are unanswered and the ODI still scores."""
    data = _json("odi", answers=f"2,2,2,2,2,2,2,2,{blanks.replace(' ', ',')}")
    assert (data["value"], data["answered"], data["band"]) == (40, 8, "moderate")


def test_odi_too_many_unanswered_exits_2_and_says_why() -> None:
    """Acceptance: three unanswered ODI sections exit 2 with the reason, no traceback."""
    result = runner.invoke(app, ["score", "odi"], input="2 2 2 2 2 2 2 x x x")
    assert result.exit_code == 2
    assert "odi: 3 of 10 items unanswered (sex_life, social_life, travelling)" in result.stderr
    assert "at most 2" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("instrument", "answers", "message"),
    [
        ("odi", "2 2 2 9 2 2 2 2 2 2", "odi.walking: 9 is not a valid answer to item 4"),
        ("startback", "1 1 0 0 1 1 1 1", "startback.bothersomeness: expected 9 answers"),
        ("startback", "1 1 0 0 1 1 1 1 1 1", "startback: expected 9 answers"),
        ("odi", "2 2 two 2 2 2 2 2 2 2", "odi.lifting: answer 3 is 'two'"),
        ("peg", "[5, 5.5, 5]", "peg.enjoyment: answer to item 2 must be a whole number"),
        ("sbi", '{"leg_pain": 3, "back_pain": 2}', "sbi.back_pain: unknown item"),
        ("sbi", "[3, 2", "sbi: answers are not valid JSON"),
        ("sbi", "   ", "sbi: no answers given"),
        ("oswestry", "2", "oswestry: unknown instrument"),
    ],
)
def test_invalid_input_exits_2_naming_instrument_and_item(
    instrument: str, answers: str, message: str
) -> None:
    """Invalid answers exit 2 with a one-line message naming the instrument and item."""
    result = runner.invoke(app, ["score", instrument], input=answers)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_json_list_and_object_inputs() -> None:
    """A JSON list in item order and a JSON object keyed by item id are both accepted."""
    assert _json("peg", answers="[7, 5, 6]")["value"] == 6
    answers = json.dumps(
        {"leg_pain": 6, "numbness_tingling": 6, "weakness": 6, "pain_when_sitting": 6}
    )
    assert _json("sbi", answers=answers)["value"] == 24


def test_answers_from_a_file(tmp_path: Path) -> None:
    """Answers can be read from a file given as the second argument."""
    path = tmp_path / "odi.txt"
    path.write_text("2 2 2 2 2 2\n1 1 - 2\n", encoding="utf-8")
    result = runner.invoke(app, ["score", "odi", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["value"] == 35.6


def test_missing_file_exits_2(tmp_path: Path) -> None:
    """A file that does not exist exits 2 with its name."""
    result = runner.invoke(app, ["score", "odi", str(tmp_path / "none.txt")])
    assert result.exit_code == 2
    assert "none.txt: no such file" in result.stderr


def test_baseline_option_reports_an_important_odi_improvement(tmp_path: Path) -> None:
    """--baseline compares: ODI 42 -> 30 is a clinically important improvement."""
    baseline = tmp_path / "baseline.txt"
    baseline.write_text("3 2 2 2 2 2 2 2 2 2", encoding="utf-8")
    result = runner.invoke(
        app,
        ["score", "odi", "-", "--baseline", str(baseline), "--json"],
        input="2 2 2 2 2 1 1 1 1 1",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["baseline"]["value"] == 42
    assert data["follow_up"]["value"] == 30
    assert data["change"]["direction"] == "improved"
    assert data["change"]["clinically_important"] is True


def test_baseline_option_summary_for_leg_pain_8_to_7(tmp_path: Path) -> None:
    """--baseline summary: leg pain 8 -> 7 is improved but not clinically important."""
    baseline = tmp_path / "baseline.txt"
    baseline.write_text("8", encoding="utf-8")
    result = runner.invoke(app, ["score", "nprs_leg", "--baseline", str(baseline)], input="7")
    assert result.exit_code == 0, result.output
    assert "improved, not clinically important" in " ".join(result.stdout.split())


def test_baseline_and_answers_cannot_both_come_from_stdin() -> None:
    """Reading both administrations from standard input is refused with exit 2."""
    result = runner.invoke(app, ["score", "odi", "--baseline", "-"], input="2")
    assert result.exit_code == 2
    assert "not both from stdin" in result.stderr


def test_texts_option_switches_to_official_wording(official_texts: Path) -> None:
    """--texts FILE gives wording official and the same score."""
    data = _json("odi", "--texts", str(official_texts), answers="2 2 2 2 2 2 2 2 2 2")
    assert (data["value"], data["wording"]) == (40, "official")
    result = runner.invoke(app, ["score", "odi", "--texts", str(official_texts)], input="2 " * 10)
    assert "official (licensed text supplied by the clinic)" in " ".join(result.stdout.split())


def test_broken_texts_file_exits_2(tmp_path: Path) -> None:
    """An incomplete licensed-texts file exits 2 and names the problem."""
    path = tmp_path / "texts.yaml"
    path.write_text("instruments:\n  peg:\n    items: {}\n", encoding="utf-8")
    result = runner.invoke(app, ["score", "peg", "--texts", str(path)], input="1 1 1")
    assert result.exit_code == 2
    assert "peg: items.pain: missing" in result.stderr
