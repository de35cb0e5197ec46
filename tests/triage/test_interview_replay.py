"""The interview replay benchmark (steps) and the older question-by-question planner
(``next_question``, kept for compatibility), on hand-made cases.

Expected values come from the questionnaire (``kb.sections``, ``kb.steps``) and from the
simulated patient's rules, never from a run of the code under test.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.triage.interview import forward_references, next_question, screen_questions
from backpath.vocabulary import FindingType, FindingValue, Urgency

ROOT = Path(__file__).resolve().parents[2]


def _load_replay() -> ModuleType:
    path = ROOT / "benchmarks" / "interview_replay.py"
    spec = importlib.util.spec_from_file_location("interview_replay", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["interview_replay"] = module
    spec.loader.exec_module(module)
    return module


interview_replay = _load_replay()
replay = interview_replay.replay

# Nothing but back pain: every red flag is left to the simulated patient's default "no".
PLAIN: dict[str, Any] = {"age": 40, "sex": "male", "answers": {"back_pain": True}}


def _screen_codes(kb: KnowledgeBase) -> list[str]:
    return [question.code for question in screen_questions(kb)]


def test_saddle_numbness_ends_emergency_with_the_cauda_equina_checklist(
    kb: KnowledgeBase,
) -> None:
    """A yes to saddle numbness stops the interview right after the checklist that asks it."""
    case: dict[str, Any] = {
        "age": 45,
        "sex": "female",
        "answers": {"back_pain": True, "saddle_numbness": True, "cauda_equina_symptoms_days": 2},
    }
    result = replay(case, kb)
    assert result.urgency is Urgency.EMERGENCY
    assert result.stopped_for_emergency
    checklist = next(step for step in kb.steps if "saddle_numbness" in step.codes)
    assert result.steps[-1] == checklist.id
    assert "saddle_numbness" in result.asked
    # ...so it asked fewer steps than the same person without saddle numbness.
    twin = replay({**case, "answers": {**case["answers"], "saddle_numbness": False}}, kb)
    assert twin.urgency is not Urgency.EMERGENCY
    assert len(result.steps) < len(twin.steps)
    assert twin.steps[: len(result.steps)] == result.steps


def test_unmentioned_yes_no_questions_are_answered_no(kb: KnowledgeBase) -> None:
    """Booleans the case does not mention reach the intake as false; other types are skipped."""
    case: dict[str, Any] = {
        "sex": "male",
        "answers": {"back_pain": True},
    }  # no age: it is asked, then skipped
    result = replay(case, kb)
    answers = result.intake_json["answers"]
    assert "age" in result.asked
    assert "age" not in answers
    booleans = [c for c in result.asked if kb.findings[c].type is FindingType.BOOLEAN]
    assert "chest_pain" in booleans
    for code in result.asked:
        if code in case["answers"]:
            assert answers[code] == case["answers"][code]
        elif kb.findings[code].type is FindingType.BOOLEAN:
            assert answers[code] is False, code
        else:
            assert code not in answers, code


def test_simulated_patient_answers() -> None:
    """Known values (null included) as given, unknown yes/no = no, other unknowns skipped."""
    from backpath.kb import load_knowledge

    kb = load_knowledge()
    patient = interview_replay.SimulatedPatient(
        {"age": 50, "answers": {"fever": None, "leg_pain": True, "duration_days": 12}}
    )
    assert patient.answer(kb.findings["age"]) == 50
    assert patient.answer(kb.findings["fever"]) is None
    assert patient.answer(kb.findings["leg_pain"]) is True
    assert patient.answer(kb.findings["duration_days"]) == 12
    assert patient.answer(kb.findings["chest_pain"]) is False
    assert patient.answer(kb.findings["sex"]) is interview_replay.SKIPPED


def test_not_sure_reaches_the_intake_as_null(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A null answer is sent as null through ``Intake.from_json``, asked once, never a "no"."""
    seen: list[dict[str, Any]] = []
    original = Intake.from_json.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Intake], data: Any, *args: Any, **kwargs: Any) -> Intake:
        seen.append(data)
        intake: Intake = original(cls, data, *args, **kwargs)
        return intake

    monkeypatch.setattr(Intake, "from_json", classmethod(spy))
    case = {**PLAIN, "answers": {"back_pain": True, "fever": None}}
    result = replay(case, kb)
    assert result.asked.count("fever") == 1
    assert "fever" in seen[-1]["answers"]
    assert seen[-1]["answers"]["fever"] is None
    intake = original(Intake, seen[-1])
    assert "fever" not in intake.answers
    assert intake.to_json()["answers"]["fever"] is None  # kept as "not sure"


def _random_value(rng: random.Random, kb: KnowledgeBase, code: str) -> FindingValue:
    finding = kb.findings[code]
    if rng.random() < 0.2:
        return None
    if finding.type is FindingType.BOOLEAN:
        return rng.random() < 0.15
    if finding.type is FindingType.INTEGER:
        return rng.randint(finding.min or 0, min(finding.max or 100, 100))
    if finding.type is FindingType.CHOICE:
        return rng.choice(finding.allowed_values)
    return tuple(rng.sample(finding.allowed_values, k=1))


@pytest.mark.parametrize("seed", range(40))
def test_planner_never_asks_twice_and_screens_first(kb: KnowledgeBase, seed: int) -> None:
    """Random answers: each code once, and every screen question before any other question."""
    rng = random.Random(seed)
    answers: dict[str, FindingValue] = {}
    asked: list[str] = []
    screen = set(_screen_codes(kb))
    while (code := next_question(kb, answers, set(asked))) is not None:
        assert code not in asked
        asked.append(code)
        answers[code] = _random_value(rng, kb, code)
    after_screen = [i for i, code in enumerate(asked) if code not in screen]
    if after_screen:
        assert all(code in screen for code in asked[: after_screen[0]])
        assert not screen & set(asked[after_screen[0] :])


def test_planner_starts_with_the_first_screen_question(kb: KnowledgeBase) -> None:
    """With nothing asked, the first question of the first screen section comes first."""
    assert next_question(kb, {}, set()) == kb.sections[0].questions[0].code
    first, second = _screen_codes(kb)[:2]
    assert next_question(kb, {}, {first}) == second


def test_screen_conditions_only_look_back(kb: KnowledgeBase) -> None:
    """Every screen ``ask_if`` names questions asked before it, so the screen is one pass."""
    assert forward_references(kb) == []


def test_replay_asks_the_danger_signs_first_and_no_step_twice(kb: KnowledgeBase) -> None:
    """In a replay, the call-999 checklist comes first and no step is asked twice."""
    result = replay({**PLAIN, "answers": {"back_pain": True, "leg_pain": True}}, kb)
    assert result.steps[0] == "danger_signs"
    assert len(set(result.steps)) == len(result.steps)
    assert list(result.asked) == [c for s in result.steps for c in kb.steps_by_id[s].codes]


def test_simulated_patient_ticks_a_checklist(kb: KnowledgeBase) -> None:
    """True items ticked; none true but one null: "not sure"; otherwise "None of these"."""
    step = kb.steps_by_id["danger_signs"]
    ticks = interview_replay.SimulatedPatient({"answers": {"chest_pain": True, "collapse": None}})
    assert ticks.tick(step) == ["chest_pain"]
    unsure = interview_replay.SimulatedPatient({"answers": {"collapse": None}})
    assert unsure.tick(step) is None
    assert unsure.answer_step(kb, step) == dict.fromkeys(step.codes, None)
    none = interview_replay.SimulatedPatient({"answers": {"collapse": False}})
    assert none.tick(step) == []
    assert none.answer_step(kb, step) == dict.fromkeys(step.codes, False)


def test_benchmark_figures_on_a_small_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line counts agreement and under-triage from hand-made cases."""
    cases = {
        "stop": (
            {"age": 45, "answers": {"saddle_numbness": True, "cauda_equina_symptoms_days": 2}},
            "emergency",
        ),
        "missed": ({"age": 45, "answers": {"back_pain": True}}, "emergency"),
    }
    for name, (intake, urgency) in cases.items():
        (tmp_path / f"{name}.yaml").write_text(
            json.dumps({"id": name, "intake": intake, "expected": {"urgency": urgency}})
        )
    assert interview_replay.main(["--cases", str(tmp_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["all"]
    assert figures["cases"] == 2
    assert figures["emergency_cases"] == 2
    assert figures["emergency_found"] == 1
    assert figures["emergency_sensitivity"] == 0.5
    assert figures["under_triaged"] == 1
    assert [row["id"] for row in figures["under_triaged_cases"]] == ["missed"]
    assert figures["questions"]["max"] == max(
        len(replay(intake).asked) for intake, _ in cases.values()
    )
    assert figures["steps"]["max"] == max(len(replay(intake).steps) for intake, _ in cases.values())
    assert interview_replay.main(["--cases", str(tmp_path), "--fail-under-sensitivity", "1"]) == 1
    assert "under-triaged" in capsys.readouterr().out
    assert interview_replay.main(["--cases", str(tmp_path), "--fail-under-sensitivity", "0.5"]) == 0


@pytest.mark.parametrize("pages", [False, True], ids=["step_by_step", "page_by_page"])
def test_no_clinical_case_is_under_triaged_by_the_interview(kb: KnowledgeBase, pages: bool) -> None:
    """Every clinical case in tests/cases, replayed through the adaptive interview with a
    patient who answers only what is asked, ends at least as urgent as the case expects: a
    red flag asked only behind a gate (a follow-up) must never hide an emergency the person
    would have ticked (hazard H54)."""
    cases, _ = interview_replay.load_cases(ROOT / "tests" / "cases")
    assert len(cases) > 300
    under = [
        (case.id, case.expected.value, result.urgency.value)
        for case in cases
        for result in [replay(case.intake, kb, pages=pages)]
        if result.urgency.rank < case.expected.rank
    ]
    assert under == []
