"""One interview for every front end: the web pages, ``backpath assess`` and
``POST /api/v1/interview`` show the same pages of steps in the same order for the same answers.

Cases from ``tests/cases`` are replayed with the benchmark's simulated patient, who gives
nothing up front (age and sex are asked like everything else). The reference is the page
planner (``next_page``) replayed by the benchmark (``replay(..., pages=True)``): the pages
shown and the steps answered. Then the same patient goes through the terminal (CliRunner
with the replies typed in, read back from what the terminal printed and from the saved
intake), the JSON endpoint (TestClient, reading ``page`` and sending ``asked_steps`` back)
and the web intake (TestClient, no JavaScript: each page is filled in and sent with Next).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backpath.cli import app as cli
from backpath.intake import Intake
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.kb.schema import StepDef
from backpath.triage import assess
from backpath.vocabulary import FindingType, Urgency
from tests.triage.test_interview_replay import interview_replay
from tests.web._support import Patient, make_app

CASES = Path(__file__).resolve().parents[1] / "cases"
# Every urgency, a checklist answered "not sure", follow-ups, the sex question, a fall.
CASE_IDS = [
    "ces_saddle_numbness_new",
    "fracture_minor_fall_age_65",
    "infection_fever_without_risk_factor",
    "infection_kidney_transplant_no_fever",
    "v2_unsure_night_pain_only_35m",
    "v2_infection_methotrexate_chronic_5y_60f",
    "self_care_acute_low_back_pain",
    "v2_control_self_care_not_pregnant_31f",
    "sciatica_office_worker_38_ten_days",
    "v2_hip_fall_cannot_stand_thigh_pain_84f",
    "v2_brain_facial_droop_aphasia_55m",
    "v2_preg_postpartum_fever_after_epidural_31f",
]


def _cases() -> list[tuple[str, dict[str, Any]]]:
    """The chosen cases, replayable ones only."""
    found = []
    for path in sorted(CASES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data.get("id", path.stem) in CASE_IDS and not data.get("replay_skip"):
            found.append((str(data.get("id", path.stem)), data["intake"]))
    return found


SELECTED = _cases()


def test_every_chosen_case_is_replayed() -> None:
    assert sorted(case_id for case_id, _ in SELECTED) == sorted(CASE_IDS)


def _patient(intake: dict[str, Any]) -> Any:
    return interview_replay.SimulatedPatient(intake)


def _reference(kb: KnowledgeBase, intake: dict[str, Any]) -> Any:
    """The page planner with the simulated patient, nothing given up front."""
    return interview_replay.replay(intake, kb, (), pages=True)


def _typed(kb: KnowledgeBase, step: StepDef, reply: dict[str, Any]) -> list[str]:
    """What the person types at the terminal for the simulated patient's reply."""
    if step.kind == "checklist":
        values = [reply[code] for code in step.codes]
        # A checklist whose "not sure" items have plainer words is asked once more.
        again = any(
            kb.findings[code].unsure_help and reply[code] is None for code in step.codes
        )
        if all(value is None for value in values):
            return ["?", "?"] if again else ["?"]
        ticked = [str(i) for i, code in enumerate(step.codes, start=1) if reply[code] is True]
        if any(value is None for value in values):  # sure of some, not sure of the others
            line = " ".join([*ticked, "?"])
            return [line, line] if again else [line]
        return [" ".join(ticked) or "0"]
    finding = kb.findings[step.codes[0]]
    value = reply.get(finding.code)
    if value is None:
        return ["", ""] if finding.unsure_help else [""]
    if finding.type is FindingType.BOOLEAN:
        return ["y" if value else "n"]
    if finding.type is FindingType.INTEGER:
        return [str(value)]
    if finding.type is FindingType.CHOICE:
        return [str(finding.allowed_values.index(value) + 1)]
    return [" ".join(str(finding.allowed_values.index(v) + 1) for v in value)]


def _signature(kb: KnowledgeBase, step: StepDef) -> str:
    """Words only this step prints: its first question (a checklist's first item)."""
    return kb.findings[step.codes[0]].question


def _terminal(
    kb: KnowledgeBase, intake: dict[str, Any], steps: list[str], tmp_path: Path
) -> tuple[list[str], int, dict[str, Any], dict[str, Any]]:
    """Type the patient's replies to ``steps`` into ``backpath assess``; return the steps it
    showed (in the order it printed them), how many pages it announced, the answers it saved
    and the answers typed. After the result it is told no to the optional questions and to
    STarT Back.

    A number or choice the patient skips is typed as Enter, which the terminal keeps as
    "not sure" (null).
    """
    patient = _patient(intake)
    script: list[str] = []
    answers: dict[str, Any] = {}
    for step_id in steps:
        step = kb.steps_by_id[step_id]
        reply = dict.fromkeys(step.codes) | patient.answer_step(kb, step)
        answers.update(reply)
        script += _typed(kb, step, reply)
    final = assess(Intake.from_json({"answers": answers}), kb)
    if final.urgency is not Urgency.EMERGENCY:
        script += ["n", "n"]  # no optional questions, no STarT Back
    saved = tmp_path / "intake.json"
    result = CliRunner().invoke(
        cli,
        ["assess", "--save", str(saved)],
        input="\n".join(script) + "\n",
        env={"COLUMNS": "4000"},
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    shown = sorted(
        (out.index(_signature(kb, step)), step.id)
        for step in kb.steps
        if _signature(kb, step) in out
    )
    assert kb.urgencies[final.urgency].headline.upper() in out
    pages = len(re.findall(r"─ Page \d+ ─", out))
    return [step_id for _, step_id in shown], pages, json.loads(saved.read_text())["answers"], answers


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app, store = make_app(tmp_path_factory.mktemp("interview"))
    with TestClient(app) as client:
        yield client
    store.dispose()


def _endpoint(
    kb: KnowledgeBase, client: TestClient, intake: dict[str, Any]
) -> tuple[list[list[str]], list[str], dict[str, Any], dict[str, Any]]:
    """The interview over ``POST /api/v1/interview``, page by page: the pages it gave, the
    steps answered (stopping at an emergency, as the other front ends do), the answers and
    the last result."""
    patient = _patient(intake)
    answers: dict[str, Any] = {}
    asked: list[str] = []
    pages: list[list[str]] = []
    while True:
        response = client.post("/api/v1/interview", json={"answers": answers, "asked_steps": asked})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["result"]["next_step"] == body["next_step"]
        if body["next_step"] is None:
            assert body["page"] == []
            return pages, asked, answers, body["result"]
        assert body["page"][0] == body["next_step"]
        pages.append([step["id"] for step in body["page"]])
        for shown in body["page"]:
            step = kb.steps_by_id[shown["id"]]
            assert shown["codes"] == list(step.codes)
            asked.append(step.id)
            answers.update(patient.answer_step(kb, step))
            if assess(Intake.from_json({"answers": answers}), kb).urgency is Urgency.EMERGENCY:
                break
        assert len(pages) <= len(kb.steps)


def _form_values(kb: KnowledgeBase, step: StepDef, reply: dict[str, Any], patient: Any) -> Any:
    """What a browser sends for one step as the simulated patient answers it."""
    if step.kind == "checklist":
        ticked = patient.tick(step)
        if ticked is None:
            return "_unsure"
        if patient.rest_unsure(step):
            return [*ticked, "_unsure"]
        return ticked or "_none"
    finding = kb.findings[step.codes[0]]
    if finding.code not in reply:
        return ""  # skipped
    value = reply[finding.code]
    if value is None:
        return "not_sure"
    if finding.type is FindingType.BOOLEAN:
        return "yes" if value else "no"
    if isinstance(value, list):
        return value
    return str(value)


def _web(
    kb: KnowledgeBase, client: TestClient, intake: dict[str, Any]
) -> tuple[list[list[str]], str]:
    """The web intake without JavaScript: the pages shown (step ids) and the urgency of the
    stored result. After an emergency screen the patient asks for the result."""
    patient = _patient(intake)
    client.cookies.clear()
    person = Patient(client)
    person.start("steps")
    pages: list[list[str]] = []
    for _ in range(40):
        url = str(person.page.url)
        if person.on_emergency_screen():
            person.emergency("finish")
            continue
        if "/r/" in url:
            urgency = re.search(r'data-urgency="([^"]+)"', person.page.text)
            assert urgency, person.page.text[:500]
            return pages, urgency.group(1)
        assert url.endswith("/intake/step") or "/intake/step?" in url, url
        assert person.page.status_code == 200, person.page.text[:800]
        shown = person.shown()
        ids = [
            code.removeprefix("list-") if code.startswith("list-") else kb.step_id_of_code[code]
            for code in shown
        ]
        if "more=1" not in url:
            pages.append(ids)
        data: dict[str, Any] = {}
        for code, step_id in zip(shown, ids, strict=True):
            step = kb.steps_by_id[step_id]
            data[code] = _form_values(kb, step, patient.answer_step(kb, step), patient)
        person.submit(data)
    raise AssertionError("the web intake did not end")


@pytest.mark.parametrize(("case_id", "intake"), SELECTED, ids=[c for c, _ in SELECTED])
def test_web_terminal_and_api_show_the_same_pages(
    case_id: str, intake: dict[str, Any], client: TestClient, tmp_path: Path
) -> None:
    """Same pages, same steps in the same order, same answers and the same urgency."""
    kb = load_knowledge()
    reference = _reference(kb, intake)
    steps = list(reference.steps)
    pages = [list(page) for page in reference.pages]
    assert steps, case_id

    terminal_steps, terminal_pages, saved, typed = _terminal(kb, intake, steps, tmp_path)
    assert terminal_steps == steps
    assert terminal_pages == len(pages)
    assert saved == json.loads(json.dumps(typed))

    api_pages, api_steps, api_answers, result = _endpoint(kb, client, intake)
    assert api_pages == pages
    assert api_steps == steps
    expected = assess(Intake.from_json({"answers": api_answers}), kb).urgency
    assert result["urgency"] == expected.value == reference.urgency.value

    web_pages, web_urgency = _web(kb, client, intake)
    assert web_pages == pages
    assert web_urgency == reference.urgency.value
