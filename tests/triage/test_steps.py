"""The step interview (issue #10): steps as data, checklists, and the one planner.

Expected orders come from ``questionnaire.yaml`` (``kb.steps``) and from the rules'
meaning, never from a run of the code under test.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from backpath.education.readability import check_texts
from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.kb.schema import StepDef
from backpath.triage import assess
from backpath.triage.interview import (
    checklist_answers,
    next_step,
    optional_steps,
    step_json,
)
from backpath.vocabulary import FindingType, FindingValue, Urgency

Mutate = Callable[[str, str, str], list[str]]

# The call-999 signs: life-threatening, asked together in the first checklist.
LIFE_THREATENING = {
    "chest_pain",
    "breathless_now",
    "collapse",
    "pale_sweaty_faint",
    "sudden_severe_pain",
    "tearing_pain",
    "pulsatile_abdominal_mass",
    "new_confusion",
    "face_arm_weakness",
    "slurred_speech",
    "sudden_vision_change",
    "sudden_severe_headache",
    "cold_pale_leg",
    "coughing_blood",
    "vomiting_blood",
    "black_stools",
    # Danger from outside the spine (knowledge 2026.12.7): a swelling airway, an overdose,
    # thoughts of suicide.
    "allergic_swelling",
    "medicine_overdose",
    "suicidal_thoughts",
}
CAUDA_EQUINA = {
    "saddle_numbness",
    "urinary_retention",
    "urinary_incontinence",
    "urinary_sensation_change",
    "bowel_incontinence",
    "sexual_dysfunction_new",
}


def _step_with(kb: KnowledgeBase, code: str) -> StepDef:
    return next(step for step in kb.steps if code in step.codes)


def _interview(
    kb: KnowledgeBase,
    answer: Callable[[StepDef, dict[str, FindingValue]], dict[str, FindingValue]],
    answers: dict[str, FindingValue] | None = None,
) -> tuple[list[str], dict[str, FindingValue]]:
    """Run the planner to the end; ``answer`` replies to each step (None = not sure)."""
    answers = dict(answers or {})
    asked: list[str] = []
    while (step := next_step(kb, answers, asked)) is not None:
        assert step.id not in asked, f"{step.id} asked twice"
        asked.append(step.id)
        answers.update(answer(step, answers))
        assert len(asked) <= len(kb.steps)
    return asked, answers


def _all_no(step: StepDef, answers: dict[str, FindingValue]) -> dict[str, FindingValue]:
    """A person with nothing more than ``answers`` says: each checklist item already
    ``true`` ticked and the others not; every other yes/no "no"; numbers and choices
    skipped."""
    if step.kind == "checklist":
        return dict(checklist_answers(step, [c for c in step.codes if answers.get(c) is True]))
    if step.kind == "boolean":
        return {step.codes[0]: answers.get(step.codes[0]) is True}
    return {}


# --- steps as data --------------------------------------------------------------------


def test_every_red_flag_and_every_question_is_asked_by_exactly_one_step(
    kb: KnowledgeBase,
) -> None:
    """Red flags and the sections' questions each belong to one step (kb check enforces it)."""
    codes = [code for step in kb.steps for code in step.codes]
    assert len(codes) == len(set(codes))
    assert set(kb.red_flags) <= set(codes)
    assert {q.code for s in kb.sections for q in s.questions} == set(codes)


def test_cauda_equina_items_stay_individually_visible(kb: KnowledgeBase) -> None:
    """The bladder, bowel, saddle and sex signs are items of a checklist, each with its own
    question - never one bundled question."""
    step = _step_with(kb, "saddle_numbness")
    assert step.kind == "checklist"
    assert set(step.codes) >= CAUDA_EQUINA
    shown = step_json(kb, step)
    assert [item["code"] for item in shown["items"]] == list(step.codes)
    for item in shown["items"]:
        assert item["text"] == kb.findings[item["code"]].question


def test_step_kinds_match_their_findings(kb: KnowledgeBase) -> None:
    """A checklist asks several yes/no findings; the other kinds ask one finding of theirs."""
    kinds = {
        "boolean": {FindingType.BOOLEAN},
        "number": {FindingType.INTEGER},
        "choice": {FindingType.CHOICE, FindingType.MULTI_CHOICE},
        "checklist": {FindingType.BOOLEAN},
    }
    for step in kb.steps:
        assert {kb.findings[c].type for c in step.codes} <= kinds[step.kind], step.id
        assert (len(step.codes) >= 2) if step.kind == "checklist" else len(step.codes) == 1


def test_step_texts_are_plain_and_translated(kb: KnowledgeBase) -> None:
    """Every step text reads at grade 6 or below, and is in every language's catalog."""
    texts = {f"step.{s.id}.text": s.text for s in kb.steps if s.text}
    assert texts
    problems = {c.key: c.problems for c in check_texts(kb, texts) if c.problems}
    assert problems == {}
    assert set(texts) <= set(kb.patient_texts())
    for language in kb.languages:
        if language != "en":
            assert set(texts) <= set(kb.translations[language])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "codes: [leg_pain, leg_numbness, leg_weakness, foot_drop, walking_difficulty]",
            "codes: [leg_pain, leg_numbness, leg_weakness, foot_drop, walking_difficulty, not_a_code]",
            "unknown finding code 'not_a_code'",
        ),
        (
            "      - suicidal_thoughts\n\n  # Each cauda",
            "\n  # Each cauda",
            "suicidal_thoughts: red flag asked by no step",
        ),
        (
            "codes: [known_aaa, abdominal_pain, trauma_major, trauma_minor, head_injury]",
            "codes: [known_aaa, abdominal_pain, trauma_major, trauma_minor, head_injury, leg_pain]",
            "'leg_pain' is also asked by step 'legs'",
        ),
        (
            "  - id: age\n    kind: number",
            "  - id: age\n    kind: boolean",
            "a boolean step cannot ask 'age'",
        ),
        (
            "    kind: checklist\n    text: Now your legs. Tick each one where your answer is yes.\n",
            "    kind: checklist\n",
            "a checklist needs a text",
        ),
        (
            "  - id: legs\n    kind: checklist\n",
            "  - id: legs\n    kind: checklist\n    ask_if: fever\n",
            "ask_if: 'fever' is not asked by an earlier step",
        ),
        (
            "  - id: age\n    kind: number\n",
            "  - id: age\n    kind: number\n    colour: red\n",
            "colour",
        ),
        (
            "  - id: sex\n    kind: choice\n    codes: [sex]\n",
            "  - id: sex\n    kind: choice\n    codes: [sex]\n  - id: sex\n    kind: choice\n"
            "    codes: [pain_side]\n",
            "duplicate id",
        ),
    ],
    ids=["unknown-code", "red-flag-missing", "asked-twice", "kind", "text", "look-back",
         "closed", "duplicate"],
)
def test_kb_check_rejects_bad_steps(copy_kb: Mutate, old: str, new: str, message: str) -> None:
    """A wrong step fails the knowledge check with the file and the step."""
    problems = copy_kb("questionnaire.yaml", old, new)
    assert any(message in p and "questionnaire.yaml" in p for p in problems), problems


# --- checklist semantics --------------------------------------------------------------


def test_checklist_none_of_these_answers_every_item_no(kb: KnowledgeBase) -> None:
    step = kb.steps_by_id["danger_signs"]
    assert checklist_answers(step, []) == dict.fromkeys(step.codes, False)


def test_checklist_not_sure_answers_every_item_null(kb: KnowledgeBase) -> None:
    step = kb.steps_by_id["bladder_bowel_saddle"]
    answers = checklist_answers(step, None)
    assert answers == dict.fromkeys(step.codes, None)
    intake = Intake.from_json({"answers": answers})
    assert intake.unsure == set(step.codes)  # asked: "not sure", never "no"
    assert not set(step.codes) & set(intake.answers)


def test_checklist_ticked_items_yes_and_the_others_no(kb: KnowledgeBase) -> None:
    step = kb.steps_by_id["danger_signs"]
    answers = checklist_answers(step, ["chest_pain", "black_stools"])
    assert {c for c, v in answers.items() if v is True} == {"chest_pain", "black_stools"}
    assert {c for c, v in answers.items() if v is False} == set(step.codes) - {
        "chest_pain",
        "black_stools",
    }
    with pytest.raises(ValueError, match="saddle_numbness"):
        checklist_answers(step, ["saddle_numbness"])


# --- the planner ----------------------------------------------------------------------


def test_life_threatening_signs_come_first_then_cauda_equina(kb: KnowledgeBase) -> None:
    """Age, then the call-999 signs, then the cauda equina checklist, then the legs."""
    assert next_step(kb, {}) is kb.steps_by_id["age"]
    order, _ = _interview(kb, _all_no, {"age": 40, "sex": "male"})
    first = kb.steps_by_id[order[0]]
    assert set(first.codes) == LIFE_THREATENING
    assert order[1] == _step_with(kb, "saddle_numbness").id
    assert order[2] == _step_with(kb, "leg_weakness").id


def test_a_routine_interview_is_short(kb: KnowledgeBase) -> None:
    """A 40-year-old man with sciatica and no red flags: a handful of steps, all checklists
    of red flags, nothing after the result is settled."""
    order, answers = _interview(
        kb,
        lambda step, _: (
            checklist_answers(step, ["leg_pain"] if "leg_pain" in step.codes else [])
            if step.kind == "checklist"
            else _all_no(step, _)
        ),
        {"age": 40, "sex": "male"},
    )
    assert len(order) <= 8
    result = assess(Intake.from_json({"answers": answers}), kb)
    assert result.urgency is Urgency.ROUTINE
    assert result.complete
    assert set(kb.red_flags) - {"weakness_worsening"} <= {
        c for step_id in order for c in kb.steps_by_id[step_id].codes
    } | _gated_off(kb, answers)


def _gated_off(kb: KnowledgeBase, answers: dict[str, FindingValue]) -> set[str]:
    """Codes of steps whose ``ask_if`` is false for these answers."""
    return {
        code
        for step in kb.steps
        if (gate := kb.step_gates[step.id]) is not None and gate.compile()(answers) is False
        for code in step.codes
    }


def test_stops_at_once_on_an_emergency(kb: KnowledgeBase) -> None:
    """Nothing can raise an emergency: no next step, in the planner and the Result JSON."""
    answers: dict[str, FindingValue] = {"age": 40, "chest_pain": True}
    assert next_step(kb, answers) is None
    result = assess(Intake.from_json({"answers": answers}), kb)
    assert result.urgency is Urgency.EMERGENCY
    assert result.to_json()["next_step"] is None


def test_stops_when_nothing_left_can_raise_an_urgent_result(kb: KnowledgeBase) -> None:
    """After an urgent finding only the steps that could still reach an emergency are
    asked; a step that could only add another urgent reason is not."""
    order, answers = _interview(kb, _all_no, {"age": 40, "sex": "male", "trauma_minor": True})
    result = assess(Intake.from_json({"answers": answers}), kb)
    assert result.urgency is Urgency.URGENT
    # Hip pain that stops standing after a fall is an emergency (2026.12.3): still asked.
    assert "cannot_bear_weight" in order
    # The walking pattern of stenosis (worse standing, eased sitting) can only change a
    # routine reason: never asked once the result is urgent.
    assert "worse_standing_walking" not in order
    assert next_step(kb, answers, order) is None


def test_not_sure_counts_as_answered(kb: KnowledgeBase) -> None:
    """A checklist answered "not sure" is not asked again, even without ``asked_steps``."""
    step = kb.steps_by_id["danger_signs"]
    answers: dict[str, FindingValue] = {"age": 40, **checklist_answers(step, None)}
    following = next_step(kb, answers)
    assert following is not None
    assert following.id != step.id


def test_a_follow_up_comes_only_after_a_yes(kb: KnowledgeBase) -> None:
    """"Getting worse?" follows a weak leg; with no weak leg it is never asked."""
    legs = _step_with(kb, "leg_weakness")
    worse = _step_with(kb, "weakness_worsening")
    base: dict[str, FindingValue] = {
        "age": 40,
        "sex": "male",
        **checklist_answers(kb.steps_by_id["danger_signs"], []),
        **checklist_answers(_step_with(kb, "saddle_numbness"), []),
    }
    asked = ["danger_signs", _step_with(kb, "saddle_numbness").id]
    assert next_step(kb, base, asked) is legs
    weak, _ = _interview(kb, _all_no, {**base, "leg_weakness": True})
    assert weak.index(legs.id) < weak.index(worse.id)
    order, _ = _interview(kb, _all_no, base)
    assert legs.id in order
    assert worse.id not in order


def test_a_follow_up_brings_the_question_it_depends_on(kb: KnowledgeBase) -> None:
    """Pregnancy warning signs can be an emergency: with the sex unknown, the sex question
    comes before the pregnancy question; a man is never asked about pregnancy."""
    unknown, _ = _interview(kb, _all_no, {"age": 30})
    assert "sex" in unknown
    assert unknown.index("sex") < unknown.index("pregnancy")
    man, _ = _interview(kb, _all_no, {"age": 30, "sex": "male"})
    assert "pregnancy" not in man
    assert "sex" not in man


def test_a_result_set_only_by_an_unasked_question_asks_it(kb: KnowledgeBase) -> None:
    """Immunosuppression without fever is urgent while the pain's duration is unknown (new
    pain is the worse case); the duration can lower it, so it is asked."""
    answers: dict[str, FindingValue] = {"age": 40, "sex": "male", "back_pain": True}
    order, final = _interview(
        kb,
        lambda step, a: (
            checklist_answers(step, ["immunosuppressed"] if "immunosuppressed" in step.codes else [])
            if step.kind == "checklist"
            else ({"duration_days": 400} if step.codes == ("duration_days",) else _all_no(step, a))
        ),
        answers,
    )
    assert _step_with(kb, "duration_days").id in order
    assert assess(Intake.from_json({"answers": final}), kb).urgency is Urgency.ROUTINE


def test_self_care_is_earned_by_asking(kb: KnowledgeBase) -> None:
    """Back pain only, every red flag no: the planner asks what self-care needs (duration)."""
    order, answers = _interview(
        kb,
        lambda step, a: {"duration_days": 5} if step.codes == ("duration_days",) else (
            {"back_pain": True} if step.codes == ("back_pain",) else _all_no(step, a)
        ),
        {"age": 30, "sex": "male"},
    )
    assert "duration" in order
    assert assess(Intake.from_json({"answers": answers}), kb).urgency is Urgency.SELF_CARE


def _random_reply(
    rng: random.Random, kb: KnowledgeBase, step: StepDef, p_yes: float
) -> dict[str, FindingValue]:
    if step.kind == "checklist":
        roll = rng.random()
        if roll < 0.1:
            return dict(checklist_answers(step, None))
        return dict(checklist_answers(step, [c for c in step.codes if rng.random() < p_yes]))
    finding = kb.findings[step.codes[0]]
    if rng.random() < 0.1:
        return {finding.code: None}
    if rng.random() < 0.05:
        return {}  # skipped
    if finding.type is FindingType.BOOLEAN:
        return {finding.code: rng.random() < p_yes}
    if finding.type is FindingType.INTEGER:
        return {finding.code: rng.randint(finding.min or 0, min(finding.max or 100, 100))}
    if finding.type is FindingType.CHOICE:
        return {finding.code: rng.choice(finding.allowed_values)}
    return {finding.code: (rng.choice(finding.allowed_values),)}


@pytest.mark.parametrize("seed", range(60))
def test_never_asks_a_step_twice_and_ends_complete(kb: KnowledgeBase, seed: int) -> None:
    """Random answers: each step at most once; when the planner is done, either the result
    is an emergency or no question that was skipped over could change it (``complete``
    unless a number was skipped)."""
    rng = random.Random(seed)
    p_yes = rng.choice([0.02, 0.05, 0.15])
    skipped: list[str] = []

    def reply(step: StepDef, _: dict[str, FindingValue]) -> dict[str, FindingValue]:
        out = _random_reply(rng, kb, step, p_yes)
        if not out:
            skipped.append(step.id)
        return out

    order, answers = _interview(kb, reply, {"age": rng.randint(16, 90)})
    assert len(order) == len(set(order))
    result = assess(Intake.from_json({"answers": answers}), kb)
    if result.urgency is not Urgency.EMERGENCY and not skipped:
        assert result.complete, result.unasked
    assert next_step(kb, answers, order) is None


def test_life_threatening_before_intimate_whatever_the_age(kb: KnowledgeBase) -> None:
    """The call-999 checklist comes before the cauda equina checklist for every age."""
    for age in (16, 30, 50, 65, 90):
        order, _ = _interview(kb, _all_no, {"age": age})
        assert order.index("danger_signs") < order.index("bladder_bowel_saddle")


# --- the Result JSON ------------------------------------------------------------------


def test_result_json_carries_the_next_step_in_the_intake_language(kb: KnowledgeBase) -> None:
    """``next_step`` is {id, kind, codes, text} (+ items for a checklist), in Spanish for
    a Spanish intake."""
    english = assess(Intake.from_json({"age": 40}), kb).to_json()["next_step"]
    spanish = assess(Intake.from_json({"age": 40, "language": "es"}), kb).to_json()["next_step"]
    step = kb.steps_by_id["danger_signs"]
    assert english["id"] == spanish["id"] == step.id
    assert english["kind"] == "checklist"
    assert english["codes"] == list(step.codes)
    assert english["text"] == step.text
    assert spanish["text"] == kb.translations["es"]["step.danger_signs.text"]
    assert spanish["items"][0]["text"] == kb.translations["es"]["finding.chest_pain.question"]


def test_a_single_question_step_shows_its_finding_question(kb: KnowledgeBase) -> None:
    shown = step_json(kb, kb.steps_by_id["age"])
    assert shown == {
        "id": "age",
        "kind": "number",
        "codes": ["age"],
        "text": kb.findings["age"].question,
        "min": kb.findings["age"].min,
        "max": kb.findings["age"].max,
    }
    sex = step_json(kb, kb.steps_by_id["sex"])
    assert [o["value"] for o in sex["options"]] == list(kb.findings["sex"].allowed_values)


def test_optional_steps_come_after_the_result(kb: KnowledgeBase) -> None:
    """When nothing can change the urgency, what is left (pain scores, daily life, care
    so far) is offered; a step whose follow-up condition is false is not."""
    order, answers = _interview(kb, _all_no, {"age": 40, "sex": "male", "leg_pain": True})
    left = [step.id for step in optional_steps(kb, answers, order)]
    assert "activity_limits" in left
    assert "care_tried" in left
    assert not set(left) & set(order)
    assert "pregnancy" not in left  # a man


def test_interview_replay_counts_steps(kb: KnowledgeBase) -> None:
    """The benchmark's replay reports the steps it asked (a checklist is one step)."""
    from tests.triage.test_interview_replay import replay

    result = replay({"age": 40, "sex": "male", "answers": {"back_pain": True}}, kb)
    assert result.steps[0] == "danger_signs"
    assert len(result.asked) == sum(len(kb.steps_by_id[s].codes) for s in result.steps)
    assert len(result.steps) <= 8


def _unused(*_: Any) -> None:  # keeps the Any import honest for mypy in strict mode
    return None


def test_a_checklist_can_be_sure_of_some_items_and_not_of_the_others(kb: KnowledgeBase) -> None:
    """Ticked items with "I'm not sure": the others are null, never false."""
    step = kb.steps_by_id["bladder_bowel_saddle"]
    answers = checklist_answers(step, ["saddle_numbness"], rest_unsure=True)
    assert answers["saddle_numbness"] is True
    assert all(answers[code] is None for code in step.codes if code != "saddle_numbness")
    assert checklist_answers(step, [], rest_unsure=True) == dict.fromkeys(step.codes, False)
