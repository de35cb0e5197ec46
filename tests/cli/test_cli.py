"""The command line: triage, kb and the terminal interview, as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from backpath.cli import app

runner = CliRunner()


def test_triage_acceptance_emergency() -> None:
    """`backpath triage` on saddle numbness prints emergency JSON with because and sources."""
    result = runner.invoke(
        app, ["triage"], input='{"age":45,"answers":{"leg_pain":true,"saddle_numbness":true}}'
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["urgency"] == "emergency"
    assert "cauda_equina" in data["concerns"]
    rule = data["fired_rules"][0]
    assert rule["because"]
    assert rule["sources"]


def test_triage_json_lines_in_json_lines_out() -> None:
    """JSON Lines in gives one result line per input line, in order."""
    lines = (
        '{"age":45,"answers":{"chest_pain":true}}\n\n{"age":30,"answers":{"trauma_minor":true}}\n'
    )
    result = runner.invoke(app, ["triage", "-"], input=lines)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["urgency"] for o in out] == ["emergency", "urgent"]


def test_triage_bad_line_exits_2_naming_line_and_field_and_keeps_the_rest() -> None:
    """A bad line gives exit 2 and a message with line and field; good lines still come out."""
    lines = (
        '{"age":45,"answers":{"chest_pain":true}}\n{"age":30,"answers":{"fever":"yes"}}\nnot json\n'
    )
    result = runner.invoke(app, ["triage"], input=lines)
    assert result.exit_code == 2
    assert "line 2: field 'answers.fever'" in result.stderr
    assert "line 3" in result.stderr
    assert "Traceback" not in result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["urgency"] == "emergency"
    assert out[1]["error"]["field"] == "answers.fever"


def test_triage_single_invalid_object_exits_2() -> None:
    """A single invalid intake exits 2 and names the field."""
    result = runner.invoke(app, ["triage"], input='{"age": "old"}')
    assert result.exit_code == 2
    assert "field 'age'" in result.stderr


def test_triage_missing_file_exits_2() -> None:
    """A missing input file is a clear error, not a traceback."""
    result = runner.invoke(app, ["triage", "/nonexistent/intake.json"])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_triage_explain_is_readable() -> None:
    """--explain prints the headline, the reason and the rule id."""
    result = runner.invoke(
        app, ["triage", "--explain"], input='{"age":60,"answers":{"sudden_severe_pain":true}}'
    )
    assert result.exit_code == 0, result.output
    assert "GET HELP NOW" in result.stdout
    assert "aaa_sudden_severe_pain_older" in result.stdout


def test_kb_check_passes_and_reports_counts() -> None:
    """`backpath kb check` exits 0 on the shipped knowledge base."""
    result = runner.invoke(app, ["kb", "check"])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.stdout


def test_kb_explain_rule_and_unknown_rule() -> None:
    """`kb explain` shows a rule; an unknown id exits 2 with a suggestion."""
    result = runner.invoke(app, ["kb", "explain", "motor_foot_drop"])
    assert result.exit_code == 0
    assert "foot_drop" in result.stdout
    assert "nhs_lothian_red_flags" in result.stdout
    result = runner.invoke(app, ["kb", "explain", "motor_foot_dropp"])
    assert result.exit_code == 2
    assert "did you mean motor_foot_drop" in result.stderr


def test_assess_interview_emergency_path() -> None:
    """Ticking saddle numbness in the bladder/bowel checklist shows the emergency screen at
    once and ends the interview."""
    keys = "45\n0\n1\n"  # age, none of the call-999 signs, saddle numbness (item 1)
    result = runner.invoke(app, ["assess"], input=keys)
    assert result.exit_code == 0, result.output
    assert "Stop and get help now" in result.stdout
    assert "GET HELP NOW" in result.stdout
    assert "Does pain go from your back into your leg?" not in result.stdout  # stopped


def test_assess_shows_a_checklist_as_a_numbered_list(kb) -> None:
    """Every item of a checklist is shown by name, with 0 (none) and ? (not sure)."""
    result = runner.invoke(app, ["assess"], input="45\n", env={"COLUMNS": "4000"})
    step = kb.steps_by_id["danger_signs"]
    for number, code in enumerate(step.codes, start=1):
        assert f"{number}. {kb.findings[code].question}" in result.stdout
    assert "0. None of these" in result.stdout
    assert "?. I'm not sure" in result.stdout


def _script(kb, replies: dict[str, tuple[object, str]]) -> tuple[list[str], list[str]]:
    """The steps the planner asks, page by page as the terminal does, a person who answers
    ``replies`` (code: (value, typed)) and "no" / "none of these" to everything else, and
    what that person types."""
    from backpath.triage.interview import next_page

    order: list[str] = []
    script: list[str] = []
    answers: dict[str, object] = {}
    while page := next_page(kb, answers, order):  # type: ignore[arg-type]
        for step in page:
            order.append(step.id)
            if step.kind == "checklist":
                script.append("0")
                answers.update(dict.fromkeys(step.codes, False))
            else:
                value, typed = replies.get(step.codes[0], (False, "n"))
                script.append(typed)
                answers[step.codes[0]] = value
    return order, script


def test_assess_interview_asks_only_what_matters_then_self_care(kb) -> None:
    """A 35-year-old with back pain only: "none of these" to each checklist, then the few
    questions self-care needs - and no pain score."""
    order, script = _script(
        kb,
        {
            "age": (35, "35"),
            "sex": ("male", "2"),
            "back_pain": (True, "y"),
            "duration_days": (5, "5"),
        },
    )
    # 34 steps exist; a young man is also asked about testicle pain (torsion, H33).
    assert len(order) <= 12
    script.append("n")  # decline the "help your care team" questions
    script.append("n")  # decline STarT Back
    result = runner.invoke(app, ["assess"], input="\n".join(script) + "\n")
    assert result.exit_code == 0, result.output
    assert "YOU CAN LOOK AFTER THIS AT HOME" in result.stdout
    assert "How bad is your back pain" not in result.stdout


def test_assess_ctrl_d_quits_cleanly() -> None:
    """End of input stops the interview with a message and no traceback."""
    result = runner.invoke(app, ["assess"], input="45\n")
    assert result.exit_code == 130
    assert "Nothing was saved" in result.stdout


def test_assess_rejects_bad_answers_and_asks_again() -> None:
    """An invalid answer is explained and the question asked again."""
    result = runner.invoke(app, ["assess"], input="abc\n45\n")
    assert "whole number" in result.stdout


@pytest.mark.skipif(shutil.which("backpath") is None, reason="console script not installed")
def test_console_script_runs() -> None:
    """The installed `backpath` entry point works end to end."""
    proc = subprocess.run(
        ["backpath", "triage"],
        input='{"age":30,"answers":{"back_pain":true,"leg_pain":false}}',
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["urgency"] == "routine"


def test_assess_offers_startback_and_saves_it(kb, tmp_path) -> None:
    """After the interview, STarT Back is offered; its answers are scored and saved."""
    # A 52-year-old woman with back pain only, "none of these" to every checklist, "no" to
    # every yes/no question, 10 days of pain.
    _, script = _script(
        kb,
        {
            "age": (52, "52"),
            "sex": ("female", "1"),
            "back_pain": (True, "y"),
            "duration_days": (10, "10"),
        },
    )
    # Accept STarT Back and answer 9 items: items 1-8 option 2 = agree (score 1) for
    # 1,2,5,6,7,8; option 1 = disagree for 3,4; item 9 option 4 = "very much" (score 1)
    script.append("n")  # decline the "help your care team" questions
    script += ["y", "2", "2", "1", "1", "2", "2", "2", "2", "4"]
    saved = tmp_path / "intake.json"
    result = runner.invoke(app, ["assess", "--save", str(saved)], input="\n".join(script) + "\n")
    assert result.exit_code == 0, result.output
    intake = json.loads(saved.read_text())
    assert intake["instruments"]["startback"] == [1, 1, 0, 0, 1, 1, 1, 1, 1]
    assert "startback: 7/9 High risk" in result.stdout


def test_followup_reports_important_change_and_raises_urgency(tmp_path) -> None:
    """`backpath followup`: ODI 42 -> 30 is important; new saddle numbness raises urgency."""
    baseline = {"age": 50, "answers": {"back_pain": True, "leg_pain": True},
                "instruments": {"odi": [4, 4, 4, 4, 4, 1, 0, 0, 0, 0], "nprs_leg": [8]}}
    later = {"age": 50, "answers": {"saddle_numbness": True},
             "instruments": {"odi": [3, 3, 3, 3, 3, 0, 0, 0, 0, 0], "nprs_leg": [7]}}
    (tmp_path / "b.json").write_text(json.dumps(baseline))
    (tmp_path / "f.json").write_text(json.dumps(later))
    result = runner.invoke(app, ["followup", str(tmp_path / "b.json"), str(tmp_path / "f.json"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["urgency_before"] == "routine"
    assert data["urgency_now"] == "emergency"
    assert data["urgency_raised"] is True
    assert data["new_red_flags"] == ["saddle_numbness"]
    assert data["changes"]["odi"]["clinically_important"] is True
    assert data["changes"]["odi"]["direction"] == "improved"
    assert data["changes"]["nprs_leg"]["clinically_important"] is False



class _ScriptedConsole:
    """A console that answers from a script and records what was printed."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.printed: list[str] = []

    def input(self, prompt: str = "") -> str:
        self.printed.append(prompt)
        return self.replies.pop(0)

    def print(self, *objects: object, **_: object) -> None:
        self.printed.append(" ".join(str(o) for o in objects))


def test_assess_asks_a_skipped_saddle_question_again_in_plainer_words(kb) -> None:
    """Enter on "numb between your legs?" shows the plainer wording once; a second Enter is
    kept as "not sure" (null) in the intake, never as "no"."""
    from backpath.cli.assess import Interview

    console = _ScriptedConsole(["", ""])
    interview = Interview(console, kb, "en")  # type: ignore[arg-type]
    interview.ask(kb.findings["saddle_numbness"])
    plain = kb.findings["saddle_numbness"].unsure_help
    assert plain
    assert any(plain in line for line in console.printed)
    assert console.replies == []
    intake = interview.intake()
    assert "saddle_numbness" not in intake.answers
    assert intake.unsure == frozenset({"saddle_numbness"})
    assert intake.to_json()["answers"]["saddle_numbness"] is None


def test_assess_skipped_question_without_plainer_words_is_asked_once(kb) -> None:
    """Enter on a question without `unsure_help` moves on at once, kept as "not sure"."""
    from backpath.cli.assess import Interview

    console = _ScriptedConsole([""])
    interview = Interview(console, kb, "en")  # type: ignore[arg-type]
    interview.ask(kb.findings["chest_pain"])
    assert interview.intake().unsure == frozenset({"chest_pain"})


def test_assess_checklist_replies(kb) -> None:
    """Numbers tick items (the others are no), 0 is none of these, a bad reply is asked again."""
    from backpath.cli.assess import Interview

    step = kb.steps_by_id["danger_signs"]
    last = len(step.codes)
    console = _ScriptedConsole([f"1, {last}", "abc", "0"])
    interview = Interview(console, kb, "en")  # type: ignore[arg-type]
    interview.ask_step(step)
    ticked = (step.codes[0], step.codes[-1])
    assert interview.answers == {code: code in ticked for code in step.codes}
    interview.ask_step(kb.steps_by_id["legs"])
    assert any("Please type numbers from the list" in line for line in console.printed)
    assert all(interview.answers[code] is False for code in kb.steps_by_id["legs"].codes)
    assert interview.asked_steps == ["danger_signs", "legs"]


def test_assess_checklist_not_sure_is_asked_again_in_plainer_words(kb) -> None:
    """"?" on the bladder and bowel checklist shows the plainer words once; a second "?"
    keeps every item "not sure" (null), never "no"."""
    from backpath.cli.assess import Interview

    step = kb.steps_by_id["bladder_bowel_saddle"]
    console = _ScriptedConsole(["?", "?"])
    interview = Interview(console, kb, "en")  # type: ignore[arg-type]
    interview.ask_step(step)
    plain = kb.findings["saddle_numbness"].unsure_help
    assert any(plain in line for line in console.printed)
    assert console.replies == []
    intake = interview.intake()
    assert intake.unsure == frozenset(step.codes)
    assert all(intake.to_json()["answers"][code] is None for code in step.codes)


def test_assess_checklist_reply_sure_of_some_not_sure_of_the_others(kb) -> None:
    """"1 3 ?" at the terminal: items 1 and 3 yes, the others not sure (never no)."""
    from backpath.cli.assess import Interview

    step = kb.steps_by_id["danger_signs"]
    assert Interview._parse_checklist(step, "1 3 ?") == ([step.codes[0], step.codes[2]], True)
    assert Interview._parse_checklist(step, "?") == (None, True)
    assert Interview._parse_checklist(step, "0") == ([], False)
    assert Interview._parse_checklist(step, "2") == ([step.codes[1]], False)
