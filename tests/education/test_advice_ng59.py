"""Patient advice follows NICE NG59 and the CES symptom cards, and every question reads at grade 6.

- Epidural injections: only for acute (12 weeks or less) and severe sciatica, never for the
  stenosis pattern (NICE NG59, epidurals).
- Heat and cold: never on numb skin. Anti-inflammatories: lowest dose, shortest time, with
  the cautions (pregnancy, kidneys, stomach, heart, blood thinners, over 65).
- Safety net: the published cauda equina symptom cards, each sign "new or getting worse";
  nothing an emergency result prints says "today".
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from backpath.education.readability import grade
from backpath.intake import Intake
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.triage import assess
from backpath.vocabulary import Urgency

KB = load_knowledge()
MAX_GRADE = 6.0
INJECTION = "injection_option"
INJECTION_PLAN = "injection_for_acute_severe_sciatica"


def _intake(**answers: Any) -> Intake:
    """A 40-year-old man with back and leg pain: every red flag "no", then ``answers``."""
    base: dict[str, Any] = dict.fromkeys(KB.red_flags, False)
    base.update(back_pain=True, leg_pain=True)
    base.update(answers)
    return Intake.from_json({"age": 40, "sex": "male", "answers": base})


def _plan_rule(rule_id: str) -> Any:
    return next(p for p in KB.plan if p.spec.id == rule_id)


def _body(block_id: str) -> str:
    return KB.advice[block_id].body


# ------------------------------------------------------------------ (a) readability


def test_every_finding_question_is_at_grade_6_or_below() -> None:
    """Every patient question (and its help line) reads at US grade 6 or below."""
    too_hard = {}
    for finding in KB.findings.values():
        for part in ("question", "help"):
            text = getattr(finding, part)
            if text and grade(text) > MAX_GRADE:
                too_hard[f"{finding.code}.{part}"] = f"{grade(text):.1f}: {text}"
    assert too_hard == {}, "questions above grade 6:\n" + "\n".join(
        f"  {k} {v}" for k, v in too_hard.items()
    )


# ------------------------------------------------------------------ (b) emergency means now


def _emergency_blocks(kb: KnowledgeBase) -> set[str]:
    """Action and safety-net blocks an emergency result can print."""
    ids = set()
    for rule in kb.rules:
        if rule.urgency is Urgency.EMERGENCY:
            ids.update(rule.spec.advice)
    for plan_rule in kb.plan:
        if Urgency.EMERGENCY in plan_rule.spec.for_urgency:
            ids.update(plan_rule.spec.advice)
    return {i for i in ids if kb.advice[i].kind in ("action", "safety_net")}


def test_no_emergency_action_or_safety_net_says_today(kb: KnowledgeBase) -> None:
    """Emergency means now: no action or safety-net block used by an emergency result says "today"."""
    blocks = _emergency_blocks(kb)
    assert {"get_help_at_once", "go_to_emergency_department_now"} <= blocks
    saying_today = sorted(
        block_id
        for block_id in blocks
        if re.search(r"\btoday\b", f"{kb.advice[block_id].title} {_body(block_id)}", re.I)
    )
    assert saying_today == []


# ------------------------------------------------------------------ (c) injections


STENOSIS_GRID = [
    {"pain_leg_nrs": nrs, "duration_days": days, "conservative_care_weeks": weeks}
    for nrs in (7, 10)
    for days in (10, 56, 84)
    for weeks in (0, 6, 12)
]


@pytest.mark.parametrize(
    "answers",
    STENOSIS_GRID,
    ids=[
        f"nrs{a['pain_leg_nrs']}-d{a['duration_days']}-w{a['conservative_care_weeks']}"
        for a in STENOSIS_GRID
    ],
)
def test_no_injection_for_the_stenosis_pattern(answers: dict[str, Any]) -> None:
    """Legs worse standing or walking and better sitting: no epidural, however bad the pain."""
    result = assess(_intake(worse_standing_walking_better_sitting=True, **answers), KB)
    assert result.urgency is Urgency.ROUTINE
    assert INJECTION not in result.next_steps


def test_the_injection_plan_rule_is_false_for_the_stenosis_pattern() -> None:
    """The plan rule itself is false, not unknown, when the stenosis question is answered yes."""
    answers = {
        "leg_pain": True,
        "pain_leg_nrs": 9,
        "duration_days": 20,
        "age": 40,
        "worse_standing_walking_better_sitting": True,
    }
    assert _plan_rule(INJECTION_PLAN).test(answers) is False


@pytest.mark.parametrize("days", [0, 21, 56, 84])
@pytest.mark.parametrize("nrs", [7, 8, 10])
def test_injection_offered_for_acute_severe_sciatica(days: int, nrs: int) -> None:
    """Leg pain 7/10 or worse for 12 weeks or less, not the stenosis pattern: the injection is offered."""
    result = assess(
        _intake(pain_leg_nrs=nrs, duration_days=days, worse_standing_walking_better_sitting=False),
        KB,
    )
    assert result.urgency is Urgency.ROUTINE
    assert INJECTION in result.next_steps


@pytest.mark.parametrize(
    "answers",
    [
        {"pain_leg_nrs": 6, "duration_days": 20},  # not severe
        {"pain_leg_nrs": 8, "duration_days": 85},  # no longer acute
        {"pain_leg_nrs": 8, "duration_days": 200, "conservative_care_weeks": 10},  # chronic
        {"pain_leg_nrs": 8},  # how long is unknown
    ],
    ids=["nrs_6", "day_85", "chronic_after_care", "duration_unknown"],
)
def test_no_injection_when_not_acute_and_severe(answers: dict[str, Any]) -> None:
    """Moderate pain, more than 12 weeks, or an unknown duration: no injection is suggested."""
    result = assess(_intake(worse_standing_walking_better_sitting=False, **answers), KB)
    assert INJECTION not in result.next_steps


def test_no_injection_when_the_stenosis_question_is_unanswered() -> None:
    """Without an answer to the stenosis question, the injection is not suggested."""
    result = assess(_intake(pain_leg_nrs=9, duration_days=20), KB)
    assert INJECTION not in result.next_steps


def test_injection_text_is_for_sciatica_not_stenosis() -> None:
    """The injection text says it is for severe sciatica and not for spinal stenosis."""
    body = _body(INJECTION).lower()
    assert "sciatica" in body
    assert "not used for spinal stenosis" in body


# ------------------------------------------------------------------ (d) heat


HEAT = re.compile(r"\b(heat|warm|hot)\b[^.]*\b(pack|packs|pad|pads|patch|patches|bottle)\b", re.I)


def test_heat_advice_warns_about_numb_skin() -> None:
    """Every block that advises a heat or cold pack warns not to use it on numb skin."""
    heat_blocks = [b for b in KB.advice.values() if HEAT.search(b.body)]
    assert "heat_or_cold" in {b.id for b in heat_blocks}
    for block in heat_blocks:
        assert re.search(r"skin that is numb|numb skin", block.body, re.I), block.id
        assert "towel" in block.body.lower(), block.id
        assert "minutes" in block.body.lower(), block.id


# ------------------------------------------------------------------ (e) anti-inflammatories


def test_nsaid_text_gives_the_cautions() -> None:
    """The pharmacy medicine text: lowest dose, shortest time, and the main cautions."""
    body = _body("otc_pain_relief").lower()
    assert "ibuprofen" in body
    assert "lowest dose" in body
    assert "shortest time" in body
    for caution in ("pregnan", "20 weeks", "kidney", "stomach", "heart", "blood thinner", "65"):
        assert caution in body, caution


def test_medicine_text_follows_ng59() -> None:
    """No nerve-pain or seizure pills for sciatica, no opioids for long-lasting pain, no paracetamol alone."""
    body = _body("medicines_if_needed").lower()
    assert "nerve pain or seizures do not help" in body
    assert "opioids are not advised" in body
    every_body = " ".join(b.body.lower() for b in KB.advice.values() if b.kind != "action")
    assert "paracetamol alone" not in every_body
    assert "acetaminophen alone" not in every_body


# ------------------------------------------------------------------ scans, pacing, safety net


@pytest.mark.parametrize("block_id", ["imaging_when_it_helps", "nerve_tests_when_unclear"])
def test_scans_and_nerve_tests_only_when_they_change_care(block_id: str) -> None:
    """MRI and EMG/NCS are offered only when the result would change care (NICE NG59 1.1.4/1.1.6)."""
    assert re.search(r"(could|would) change your care", _body(block_id))


def test_one_keep_moving_message() -> None:
    """The seed's "avoid what makes it worse" is pacing: do a bit less, then build up; never bed rest."""
    pacing = _body("avoid_what_worsens").lower()
    assert "a bit less" in pacing
    assert "build it up" in pacing
    for block in KB.advice.values():
        assert not re.search(r"\b(stay|rest) in bed\b(?! (for days )?does not)", block.body, re.I)


CES_CARD = {
    "saddle numbness or pins and needles": [
        "between your legs",
        "around your bottom",
        "private parts",
        "pins and needles",
    ],
    "not knowing when the bladder is full or empty": ["bladder is full or empty"],
    "hard to start peeing or a weak stream": ["hard to start peeing", "flow is weak"],
    "no feeling when passing urine or stool": ["can't feel the pee or poo"],
    "leaking urine or stool": ["leak pee or poo"],
    "sexual problems": ["during sex", "can't get hard"],
    "symptoms in both legs": ["both legs"],
}


@pytest.mark.parametrize("item", list(CES_CARD))
def test_safety_net_covers_each_ces_card_item(item: str) -> None:
    """The safety net names every sign on the published cauda equina symptom cards."""
    body = _body("get_help_at_once")
    for words in CES_CARD[item]:
        assert words in body, words


def test_safety_net_says_new_or_getting_worse() -> None:
    """Old, stable signs are urgent, not an emergency: the safety net speaks of new or worse signs."""
    body = _body("get_help_at_once")
    assert body.startswith(
        "Go to an emergency department at once if any of these signs are new or getting worse."
    )
