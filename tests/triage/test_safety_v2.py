"""Safety core v2 (issue #9): the whole patient, one onset per symptom, "not sure" never
ends as routine, and emergency results that start with the right instruction.

The reproductions come from the independent clinical review of November 2026; each
expectation is the reviewer's or the guideline's, never a copy of engine output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.triage import assess
from backpath.triage.emergency import EmergencyNumberError, emergency_number
from backpath.vocabulary import Urgency

RANK = {u.value: u.rank for u in Urgency}


def _all_red_flags_no(kb: KnowledgeBase, **answers: Any) -> dict[str, Any]:
    """Every red flag answered "no" (the form), then the given answers on top."""
    base: dict[str, Any] = dict.fromkeys(kb.red_flags, False)
    base.update(answers)
    return base


def _result(data: dict[str, Any]) -> dict[str, Any]:
    return assess(Intake.from_json(data)).to_json()


def test_new_saddle_numbness_on_top_of_old_bladder_symptom_is_an_emergency() -> None:
    """Hesitancy for 21 days, saddle numbness new today: the new symptom is new (GIRFT)."""
    result = _result(
        {
            "age": 50,
            "answers": {
                "back_pain": True,
                "urinary_retention": True,
                "saddle_numbness": True,
                "cauda_equina_symptoms_days": 21,
                "ces_symptom_recent": True,
            },
        }
    )
    assert result["urgency"] == "emergency"


def test_old_saddle_numbness_with_a_recent_change_unknown_is_not_settled_as_urgent(
    kb: KnowledgeBase,
) -> None:
    """Saddle numbness for 20 days: the emergency rule stays open until 'any new?' is asked."""
    answers = _all_red_flags_no(
        kb, back_pain=True, saddle_numbness=True, cauda_equina_symptoms_days=20
    )
    del answers["ces_symptom_recent"]
    result = assess(Intake.from_json({"age": 50, "answers": answers}), kb)
    assert result.urgency is Urgency.URGENT
    assert "ces_symptom_recent" in result.unasked
    assert not result.complete


def test_cannot_pass_urine_is_an_emergency_whatever_its_age() -> None:
    """Retention for 20 days is still the emergency route (CES-R is a late sign)."""
    result = _result(
        {
            "age": 55,
            "answers": {
                "back_pain": True,
                "urinary_retention": True,
                "cauda_equina_symptoms_days": 20,
            },
        }
    )
    assert result["urgency"] == "emergency"
    assert "ces_urinary_retention" in {r["id"] for r in result["fired_rules"]}


def test_blood_thinner_with_sudden_pain_and_worsening_weakness_is_an_emergency() -> None:
    """Spinal epidural haematoma on an anticoagulant (ASRA 2018)."""
    result = _result(
        {
            "age": 45,
            "answers": {
                "back_pain": True,
                "sudden_severe_pain": True,
                "leg_weakness": True,
                "weakness_worsening": True,
                "anticoagulant": True,
            },
        }
    )
    assert result["urgency"] == "emergency"
    assert result["first_instruction"]["id"] == "call_emergency_services"


def test_sudden_severe_pain_with_belly_pain_at_49_calls_first() -> None:
    """Under 50 is no protection when sudden severe pain comes with belly pain."""
    result = _result(
        {
            "age": 49,
            "answers": {"back_pain": True, "sudden_severe_pain": True, "abdominal_pain": True},
        }
    )
    assert result["urgency"] == "emergency"
    assert result["first_instruction"]["text"].startswith("Call ")
    assert "Do not drive yourself" in result["first_instruction"]["text"]


def test_fever_with_leg_numbness_is_an_emergency() -> None:
    """Sensory symptoms count as a new neurological symptom in suspected epidural abscess."""
    result = _result(
        {
            "age": 50,
            "answers": {"back_pain": True, "fever": True, "leg_numbness": True, "leg_pain": True},
        }
    )
    assert result["urgency"] == "emergency"


def test_age_90_with_every_red_flag_no_is_not_self_care(kb: KnowledgeBase) -> None:
    """New back pain at 90 always needs a clinician."""
    answers = _all_red_flags_no(
        kb, back_pain=True, leg_pain=False, leg_numbness=False, leg_weakness=False,
        foot_drop=False, bilateral_leg_symptoms=False, duration_days=5, onset_sudden=False,
        prior_episodes=True, sex="male",
    )
    result = _result({"age": 90, "answers": answers})
    assert result["urgency"] != "self_care"


def test_the_same_answers_at_40_can_be_self_care(kb: KnowledgeBase) -> None:
    """Control for the age tests: the answers above at 40 are self-care."""
    answers = _all_red_flags_no(
        kb, back_pain=True, leg_pain=False, leg_numbness=False, leg_weakness=False,
        foot_drop=False, bilateral_leg_symptoms=False, duration_days=5, onset_sudden=False,
        prior_episodes=True, sex="male",
    )
    assert _result({"age": 40, "answers": answers})["urgency"] == "self_care"


def test_a_four_year_old_with_back_pain_is_urgent(kb: KnowledgeBase) -> None:
    """Back pain in a young child needs same-day review."""
    answers = _all_red_flags_no(kb, back_pain=True, duration_days=3, sex="female")
    assert _result({"age": 4, "answers": answers})["urgency"] == "urgent"


def test_a_years_old_aneurysm_with_old_pain_is_not_a_999_call() -> None:
    """Known AAA for years with 3 years of unchanged back pain: not the ambulance route."""
    result = _result(
        {"age": 74, "answers": {"back_pain": True, "known_aaa": True, "duration_days": 1100}}
    )
    assert result["urgency"] != "emergency"
    assert "aaa_known_stable_pain" in {r["id"] for r in result["fired_rules"]}


def test_known_aneurysm_with_new_pain_is_a_999_call() -> None:
    """Known AAA with pain for 2 days: symptomatic AAA until proven otherwise."""
    result = _result(
        {"age": 74, "answers": {"back_pain": True, "known_aaa": True, "duration_days": 2}}
    )
    assert result["urgency"] == "emergency"
    assert result["first_instruction"]["id"] == "call_emergency_services"


def test_stenosis_with_severe_leg_pain_is_never_offered_an_injection() -> None:
    """NICE NG59: no epidural injection for neurogenic claudication from central stenosis."""
    result = _result(
        {
            "age": 74,
            "answers": {
                "leg_pain": True,
                "worse_standing_walking_better_sitting": True,
                "pain_leg_nrs": 8,
                "conservative_care_weeks": 52,
                "duration_days": 900,
            },
        }
    )
    assert "injection_option" not in {s["id"] for s in result["next_steps"]}


def test_a_fainting_22_year_old_is_urgent_not_an_ambulance(kb: KnowledgeBase) -> None:
    """A faint when the pain spiked at 22, no other danger sign: same-day, not 999."""
    answers = _all_red_flags_no(kb, back_pain=True, collapse=True, duration_days=2, sex="male")
    result = _result({"age": 22, "answers": answers})
    assert result["urgency"] == "urgent"


@pytest.mark.parametrize(
    ("code", "rule_id"),
    [
        ("new_confusion", "brain_new_confusion"),
        ("face_arm_weakness", "brain_stroke_signs"),
        ("slurred_speech", "brain_stroke_signs"),
        ("sudden_severe_headache", "brain_thunderclap_headache"),
        ("pulsatile_abdominal_mass", "aaa_pulsatile_mass"),
        ("pale_sweaty_faint", "vascular_shock_signs"),
        ("tearing_pain", "aortic_dissection_tearing_pain"),
        ("cold_pale_leg", "acute_limb_ischaemia"),
        ("breathless_now", "breathless_now"),
        ("coughing_blood", "coughing_blood"),
        ("vomiting_blood", "gi_bleeding"),
        ("black_stools", "gi_bleeding"),
    ],
)
def test_danger_signs_outside_the_back_are_emergencies(
    kb: KnowledgeBase, code: str, rule_id: str
) -> None:
    """Each danger sign alone, with every other red flag "no", is an emergency."""
    answers = _all_red_flags_no(kb, back_pain=True, duration_days=3, **{code: True})
    result = _result({"age": 40, "sex": "male", "answers": answers})
    assert result["urgency"] == "emergency"
    assert rule_id in {r["id"] for r in result["fired_rules"]}
    assert result["first_instruction"] is not None


def test_jaundice_with_pain_is_an_emergency_and_painless_jaundice_is_urgent(
    kb: KnowledgeBase,
) -> None:
    """Jaundice with pain or fever (cholangitis) is an emergency; painless jaundice is a
    same-day suspected-cancer assessment (NICE NG12 1.2.4), not an ambulance."""
    painful = _all_red_flags_no(
        kb, back_pain=True, duration_days=3, jaundice=True, abdominal_pain=True
    )
    painless = _all_red_flags_no(kb, back_pain=True, duration_days=3, jaundice=True)
    assert _result({"age": 60, "sex": "male", "answers": painful})["urgency"] == "emergency"
    assert _result({"age": 60, "sex": "male", "answers": painless})["urgency"] == "urgent"


def test_pregnancy_with_bleeding_goes_to_the_maternity_unit(kb: KnowledgeBase) -> None:
    """Back pain in pregnancy with vaginal bleeding: the obstetric emergency route."""
    answers = _all_red_flags_no(
        kb, back_pain=True, pregnant_or_postpartum=True, vaginal_bleeding=True
    )
    result = _result({"age": 29, "sex": "female", "answers": answers})
    assert result["urgency"] == "emergency"
    assert result["first_instruction"]["id"] == "call_maternity_unit"


def test_not_sure_about_saddle_numbness_never_ends_routine(kb: KnowledgeBase) -> None:
    """Asked, and not sure: with nothing left to ask, the result is at least urgent."""
    answers = _all_red_flags_no(
        kb, back_pain=True, leg_pain=True, saddle_numbness=None, duration_days=10,
        cauda_equina_symptoms_days=None, pain_side="left", sex="male",
    )
    result = assess(Intake.from_json({"age": 40, "answers": answers}), kb)
    assert result.complete
    assert RANK[result.urgency.value] >= RANK["urgent"]
    assert "unsure_serious_not_ruled_out" in result.fired_ids
    assert "saddle_numbness" in result.unsure
    because = next(f for f in result.to_json()["fired_rules"] if f["id"] == "unsure_serious_not_ruled_out")
    assert {"code": "saddle_numbness", "value": None, "source": "unsure"} in because["because"]


def test_not_asked_is_incomplete_and_not_escalated(kb: KnowledgeBase) -> None:
    """Only back pain answered: not complete, not self-care, and no "not sure" escalation."""
    result = assess(Intake.from_json({"age": 30, "answers": {"back_pain": True}}), kb)
    assert not result.complete
    assert result.urgency is not Urgency.SELF_CARE
    assert "unsure_serious_not_ruled_out" not in result.fired_ids
    assert result.to_json()["complete"] is False


def test_null_round_trips_as_not_sure() -> None:
    """An answer of null is kept as "not sure", not dropped (DESIGN.md v2)."""
    intake = Intake.from_json({"answers": {"saddle_numbness": None, "back_pain": True}})
    assert intake.unsure == frozenset({"saddle_numbness"})
    assert intake.to_json()["answers"]["saddle_numbness"] is None


def test_unreadable_narrative_never_ends_in_self_care(kb: KnowledgeBase) -> None:
    """A text the reader did not understand blocks self-care (free text outside the vocabulary)."""
    answers = _all_red_flags_no(
        kb, back_pain=True, leg_pain=False, leg_numbness=False, leg_weakness=False,
        foot_drop=False, bilateral_leg_symptoms=False, duration_days=5, onset_sudden=False,
        prior_episodes=True, sex="male",
    )

    class Unreadable:
        understood = False
        findings: tuple[object, ...] = ()
        problems = ("not_english",)

    result = assess(
        Intake.from_json({"age": 40, "answers": answers, "narrative": "ххх ууу"}),
        kb,
        read_narrative=lambda _text: Unreadable(),
    )
    assert result.urgency is Urgency.ROUTINE
    assert "narrative_not_resolved" in result.fired_ids


def test_emergency_number_follows_the_configured_region(kb: KnowledgeBase) -> None:
    """UK, US and EU presets, an explicit number, and a clear error for a bad one."""
    assert emergency_number(kb, {"BACKPATH_EMERGENCY_REGION": "us"}) == "911"
    assert emergency_number(kb, {"BACKPATH_EMERGENCY_REGION": "eu"}) == "112"
    assert emergency_number(kb, {"BACKPATH_EMERGENCY_NUMBER": "000"}) == "000"
    assert emergency_number(kb, {}) == kb.safety.emergency_numbers.presets[
        kb.safety.emergency_numbers.default
    ]
    with pytest.raises(EmergencyNumberError, match="BACKPATH_EMERGENCY_REGION"):
        emergency_number(kb, {"BACKPATH_EMERGENCY_REGION": "mars"})
    with pytest.raises(EmergencyNumberError, match="digits"):
        emergency_number(kb, {"BACKPATH_EMERGENCY_NUMBER": "nine-nine-nine"})
    # Without its own setting the number follows the handout's clinic configuration, so a
    # page and its printed handout never name different numbers.
    assert emergency_number(kb, {"BACKPATH_CLINIC_PRESET": "uk"}) == "999"
    assert emergency_number(kb, {"BACKPATH_CLINIC_PRESET": "us"}) == "911"


def test_every_emergency_rule_has_a_first_instruction_and_never_says_today(
    kb: KnowledgeBase,
) -> None:
    """The invariants `kb check` proves, checked once more on the loaded knowledge."""
    for rule in kb.rules:
        if rule.urgency is Urgency.EMERGENCY:
            assert rule.spec.first_instruction in kb.instructions, rule.id
            assert "today" not in rule.spec.patient.lower(), rule.id
            for lang in kb.languages:
                text = kb.text(f"rule.{rule.id}.patient", lang, rule.spec.patient)
                assert "hoy" not in text.lower().split(), rule.id


def test_kb_check_catches_an_emergency_rule_that_says_today(
    copy_kb: Callable[[str, str, str], list[str]],
) -> None:
    """Writing "today" into an emergency text fails the knowledge-base check."""
    problems = copy_kb(
        "rules/brain.yaml",
        "Call for an ambulance now. Note the time it started.",
        "See a doctor today. Note the time it started.",
    )
    assert any("must not say 'today'" in p for p in problems), problems


def test_kb_check_catches_self_care_that_ignores_a_danger_sign(
    copy_kb: Callable[[str, str, str], list[str]],
) -> None:
    """Dropping a danger sign from the self-care rule is caught by the proof."""
    problems = copy_kb("rules/pathway.yaml", "        - not: tearing_pain\n", "")
    assert any("tearing_pain" in p for p in problems), problems


def test_pulsing_lump_written_in_own_words_beats_every_form_no(kb: KnowledgeBase) -> None:
    """Issue #9 reproduction: a 70-year-old answers every question "no" but writes about a
    pulsing lump in the tummy. The words win (safety first) and the result is a 999 call."""
    answers = _all_red_flags_no(
        kb, back_pain=True, duration_days=10, leg_pain=False, prior_episodes=True
    )
    result = assess(
        Intake.from_json(
            {
                "age": 70,
                "sex": "male",
                "answers": answers,
                "narrative": "I can feel a pulsing lump in my tummy and my back aches",
            }
        ),
        kb,
    )
    assert result.urgency is Urgency.EMERGENCY
    assert "aaa_pulsatile_mass" in result.fired_ids
    assert result.first_instruction == "call_emergency_services"
    assert any(c.code == "pulsatile_abdominal_mass" for c in result.conflicts)
