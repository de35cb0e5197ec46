"""Safety v3: the red-team fixes to rules and questions (tests/redteam/README.md, B1-B12,
D1, D4).

Each test states the clinical situation and the published source behind its expectation;
expectations are the guideline's or the reviewer's, never a copy of engine output. Every new
emergency rule has a non-urgent control next to it, so that over-triage would fail too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.triage import assess
from backpath.triage.interview import next_step
from backpath.vocabulary import Urgency

ROOT = Path(__file__).resolve().parents[2]
HAZARD_LOG = (ROOT / "docs" / "clinical-safety.md").read_text(encoding="utf-8")
RANK = {u.value: u.rank for u in Urgency}
MALE_ONLY = {"testicle_pain"}
FEMALE_ONLY = {
    "pregnant_or_postpartum",
    "vaginal_bleeding",
    "waters_leaking",
    "regular_tightening",
    "pregnancy_headache_vision",
}


def _clean(kb: KnowledgeBase, age: int, sex: str, **answers: Any) -> dict[str, Any]:
    """An Intake JSON object: every red flag "no", back pain of 3 days that came on slowly,
    then the given answers on top."""
    base: dict[str, Any] = {
        code: False
        for code in kb.red_flags
        if not (sex == "male" and code in FEMALE_ONLY)
        and not (sex == "female" and code in MALE_ONLY)
    }
    base.update(
        back_pain=True, leg_pain=False, leg_numbness=False, duration_days=3,
        onset_sudden=False, prior_episodes=False,
    )
    base.update(answers)
    return {"age": age, "sex": sex, "answers": base}


def _assess(kb: KnowledgeBase, age: int, sex: str, **answers: Any) -> Any:
    return assess(Intake.from_json(_clean(kb, age, sex, **answers)), kb)


# ------------------------------------------------------------------ traceability


@pytest.mark.parametrize("code", ["walking_difficulty", "pregnancy_headache_vision"])
def test_new_red_flags_have_a_rule_a_case_and_a_hazard(kb: KnowledgeBase, code: str) -> None:
    """A new red flag is used by a rule, fires it in a v3 case, and is in the hazard log."""
    assert kb.findings[code].red_flag
    using = {rule.id for rule in kb.rules if code in set(rule.condition.codes())}
    assert using
    fired = False
    for path in sorted((ROOT / "tests" / "cases").glob("v3_*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        if case["intake"]["answers"].get(code) is True:
            fired |= bool(using & set(assess(Intake.from_json(case["intake"]), kb).fired_ids))
    assert fired
    assert f"`{code}`" in HAZARD_LOG


# ------------------------------------------------------------------ B1 clots


@pytest.mark.parametrize("sign", ["chest_pain", "thoracic_pain", "coughing_blood"])
def test_swollen_calf_with_chest_or_upper_back_pain_or_haemoptysis_is_an_emergency(
    kb: KnowledgeBase, sign: str
) -> None:
    """DVT signs with chest pain, pleuritic pain felt in the back, or haemoptysis: suspected
    pulmonary embolism (NICE NG158), an ambulance."""
    result = _assess(kb, 48, "male", calf_swelling=True, **{sign: True})
    assert result.urgency is Urgency.EMERGENCY
    assert "pe_calf_swelling_chest_pain" in result.fired_ids


def test_swollen_calf_alone_stays_same_day(kb: KnowledgeBase) -> None:
    """Control: suspected DVT without chest signs is urgent (ultrasound within 4 hours)."""
    assert _assess(kb, 48, "male", calf_swelling=True).urgency is Urgency.URGENT


def test_swollen_calf_in_pregnancy_or_after_birth_goes_to_maternity_now(
    kb: KnowledgeBase,
) -> None:
    """RCOG Green-top 37b: test and treat suspected VTE in pregnancy at once."""
    result = _assess(kb, 31, "female", calf_swelling=True, pregnant_or_postpartum=True)
    assert result.urgency is Urgency.EMERGENCY
    assert result.first_instruction == "call_maternity_unit"
    not_pregnant = _assess(kb, 31, "female", calf_swelling=True, pregnant_or_postpartum=False)
    assert not_pregnant.urgency is Urgency.URGENT


# ------------------------------------------------------------------ B2 dissection


@pytest.mark.parametrize("deficit", ["leg_numbness", "cold_pale_leg"])
def test_sudden_severe_pain_with_a_numb_or_cold_leg_is_an_emergency_under_50(
    kb: KnowledgeBase, deficit: str
) -> None:
    """Abrupt severe pain plus a focal deficit is high risk for aortic dissection at any age
    (ESC 2014 detection score; Hagan 2000)."""
    result = _assess(kb, 39, "male", sudden_severe_pain=True, onset_sudden=True,
                     duration_days=0, **{deficit: True})
    assert result.urgency is Urgency.EMERGENCY
    assert "sudden_pain_with_new_weakness" in result.fired_ids
    assert result.first_instruction == "call_emergency_services"


def test_gradual_sciatica_with_a_numb_foot_is_routine(kb: KnowledgeBase) -> None:
    """Control: numbness with sciatica that came on slowly is not the dissection rule."""
    result = _assess(kb, 39, "male", leg_pain=True, leg_numbness=True, duration_days=12)
    assert result.urgency is Urgency.ROUTINE


# ------------------------------------------------------------------ B3 sudden weakness


@pytest.mark.parametrize(
    ("age", "onset_sudden", "days", "expected"),
    [
        (77, True, 0, "emergency"),
        (50, True, 1, "emergency"),
        (49, True, 0, "routine"),  # under 50: ordinary sciatica with weakness
        (56, True, 2, "routine"),  # not within the last day
        (60, False, 1, "routine"),  # came on slowly
    ],
)
def test_sudden_leg_weakness_within_a_day_at_50_or_over_calls_an_ambulance(
    kb: KnowledgeBase, age: int, onset_sudden: bool, days: int, expected: str
) -> None:
    """NICE NG128: sudden neurological symptoms are a suspected stroke. The limits keep
    ordinary sciatica with weakness (days old, gradual, or under 50) off the ambulance route."""
    result = _assess(kb, age, "male", leg_pain=True, leg_weakness=True,
                     onset_sudden=onset_sudden, duration_days=days)
    assert result.urgency.value == expected
    assert ("sudden_leg_weakness_older" in result.fired_ids) is (expected == "emergency")


# ------------------------------------------------------------------ B5 fever at 75+


@pytest.mark.parametrize(
    ("age", "sign", "expected"),
    [(75, "shivers_rigors", "emergency"), (83, "vomiting", "emergency"),
     (74, "shivers_rigors", "urgent"), (80, None, "urgent")],
)
def test_fever_with_rigors_or_vomiting_at_75_or_over_is_an_emergency(
    kb: KnowledgeBase, age: int, sign: str | None, expected: str
) -> None:
    """NICE NG51 (over 75 is a sepsis risk factor) and NG111 (refer when sepsis is suspected
    or oral treatment cannot be taken); at 74, or without rigors or vomiting, same day."""
    extra = {sign: True} if sign else {}
    result = _assess(kb, age, "female", fever=True, **extra)
    assert result.urgency.value == expected


# ------------------------------------------------------------------ B6 abscess without fever


@pytest.mark.parametrize(
    "risk", ["iv_drug_use", "immunosuppressed", "recent_infection", "recent_spinal_procedure"]
)
@pytest.mark.parametrize(
    "deficit",
    [
        {"leg_weakness": True, "weakness_worsening": True},
        {"leg_weakness": True, "foot_drop": True},
        {"bilateral_leg_symptoms": True, "cauda_equina_symptoms_days": 30,
         "ces_symptom_recent": False},
    ],
    ids=["worsening", "foot_drop", "both_legs"],
)
def test_infection_risk_with_a_serious_deficit_is_an_emergency_without_fever(
    kb: KnowledgeBase, risk: str, deficit: dict[str, Any]
) -> None:
    """Fever is absent in up to half of epidural abscesses (Darouiche 2006; Davis 2004)."""
    result = _assess(kb, 40, "male", fever=False, leg_pain=True, duration_days=10,
                     **{risk: True}, **deficit)
    assert result.urgency is Urgency.EMERGENCY
    assert "infection_risk_with_neuro_deficit" in result.fired_ids
    assert "spinal_infection" in result.concerns


def test_infection_risk_with_stable_one_sided_weakness_is_not_an_emergency(
    kb: KnowledgeBase,
) -> None:
    """Control: weakness that is not getting worse, one leg, no foot drop: same day."""
    result = _assess(kb, 29, "male", iv_drug_use=True, leg_pain=True, leg_weakness=True,
                     duration_days=10)
    assert result.urgency is Urgency.URGENT


def test_an_old_stable_foot_drop_on_methotrexate_is_not_an_abscess(kb: KnowledgeBase) -> None:
    """Control: a foot drop for 3 years and pain that is not getting worse."""
    result = _assess(kb, 63, "female", immunosuppressed=True, leg_pain=True,
                     leg_weakness=True, foot_drop=True, duration_days=1100)
    assert "infection_risk_with_neuro_deficit" not in result.fired_ids
    assert result.urgency is not Urgency.EMERGENCY


# ------------------------------------------------------------------ B7 bleeding on a thinner


@pytest.mark.parametrize("pain", ["loin_pain", "abdominal_pain"])
def test_new_side_or_belly_pain_on_a_blood_thinner_is_an_emergency(
    kb: KnowledgeBase, pain: str
) -> None:
    """Spontaneous retroperitoneal haemorrhage presents as flank or belly pain on an
    anticoagulant (Sunga 2012). Nothing fired at all for this before."""
    result = _assess(kb, 60, "male", anticoagulant=True, onset_sudden=True, duration_days=1,
                     **{pain: True})
    assert result.urgency is Urgency.EMERGENCY
    assert "anticoagulant_new_flank_or_belly_pain" in result.fired_ids


def test_months_old_side_ache_on_warfarin_is_not_an_emergency(kb: KnowledgeBase) -> None:
    """Control: an unchanged ache of 3 months that came on slowly."""
    result = _assess(kb, 70, "male", anticoagulant=True, loin_pain=True, duration_days=90)
    assert result.urgency is Urgency.ROUTINE


# ------------------------------------------------------------------ B8 pregnancy


@pytest.mark.parametrize(
    "signs",
    [{"abdominal_pain": True}, {"pregnancy_headache_vision": True},
     {"loin_pain": True, "vomiting": True}],
    ids=["belly_pain", "headache_vision", "loin_pain_vomiting"],
)
def test_pregnancy_with_belly_pain_or_preeclampsia_signs_calls_the_maternity_unit(
    kb: KnowledgeBase, signs: dict[str, bool]
) -> None:
    """Ectopic pregnancy (NICE NG126), pre-eclampsia and HELLP (NICE NG133), pyelonephritis
    in pregnancy (NICE NG111): maternity assessment now."""
    result = _assess(kb, 30, "female", pregnant_or_postpartum=True, **signs)
    assert result.urgency is Urgency.EMERGENCY
    assert "pregnancy_belly_pain_or_preeclampsia_signs" in result.fired_ids
    assert result.first_instruction == "call_maternity_unit"


def test_fainting_in_pregnancy_calls_an_ambulance(kb: KnowledgeBase) -> None:
    """Collapse with a possible pregnancy: ruptured ectopic until proven otherwise (NG126)."""
    result = _assess(kb, 24, "female", pregnant_or_postpartum=True, collapse=True)
    assert result.urgency is Urgency.EMERGENCY
    assert result.first_instruction == "call_emergency_services"


def test_vomiting_alone_in_pregnancy_is_not_an_emergency(kb: KnowledgeBase) -> None:
    """Control: morning sickness with back ache. The suggestion to count vomiting alone was
    not adopted: it is common in early pregnancy and gestation is not asked."""
    result = _assess(kb, 28, "female", pregnant_or_postpartum=True, vomiting=True)
    assert result.urgency is Urgency.ROUTINE


def test_the_preeclampsia_question_is_a_pregnancy_follow_up(kb: KnowledgeBase) -> None:
    """Asked only after a "yes" to pregnancy, on the checklist of pregnancy signs."""
    step = kb.steps_by_id["pregnancy_signs"]
    assert "pregnancy_headache_vision" in step.codes
    assert step.ask_if is not None
    assert "pregnant_or_postpartum" in str(step.ask_if)


# ------------------------------------------------------------------ B9 colic


@pytest.mark.parametrize(
    ("age", "answers", "expected"),
    [
        (38, {"loin_pain": True, "pain_in_waves": True}, "urgent"),
        (62, {"loin_pain": True, "pain_in_waves": True}, "urgent"),
        (68, {"pain_in_waves": True}, "urgent"),
        (64, {"loin_pain": True, "onset_sudden": True}, "urgent"),
        (45, {"loin_pain": True}, "routine"),
        (66, {"loin_pain": True}, "routine"),
    ],
)
def test_colic_needs_no_visible_blood_and_is_same_day_at_60_or_over(
    kb: KnowledgeBase, age: int, answers: dict[str, bool], expected: str
) -> None:
    """NICE NG118 (CT within 24 hours) and NICE CKS (visible blood is often absent; exclude
    an aneurysm over 60). A slow, steady side ache is not colic."""
    assert _assess(kb, age, "male", **answers).urgency.value == expected


# ------------------------------------------------------------------ B10 thirst


def test_thirst_counts_from_the_age_it_is_asked(kb: KnowledgeBase) -> None:
    """The thirst question is asked from 50, so the hypercalcaemia rule starts at 50."""
    gate = next(
        q.ask_if for s in kb.sections for q in s.questions if q.code == "thirst_polyuria"
    )
    assert "age >= 50" in str(gate)
    assert _assess(kb, 50, "male", thirst_polyuria=True).urgency is Urgency.URGENT


def test_a_yes_to_thirst_under_50_still_blocks_self_care(kb: KnowledgeBase) -> None:
    """A "yes" sent anyway (form API or narrative) is never ignored for self-care."""
    result = _assess(kb, 49, "female", thirst_polyuria=True)
    assert RANK[result.urgency.value] > RANK["self_care"]


# ------------------------------------------------------------------ B11, D4 wording


def test_the_immunity_question_names_dialysis_and_chemo(kb: KnowledgeBase) -> None:
    """People on dialysis or chemotherapy recognise themselves in the question."""
    question = kb.findings["immunosuppressed"].question.lower()
    assert "dialysis" in question
    assert "chemo" in question
    spanish = kb.text("finding.immunosuppressed.question", "es", "").lower()
    assert "diálisis" in spanish
    assert "quimioterapia" in spanish


def test_the_blood_thinner_question_names_heparin_shots(kb: KnowledgeBase) -> None:
    """Enoxaparin after surgery is a blood thinner, said in the question itself."""
    question = kb.findings["anticoagulant"].question.lower()
    assert "heparin" in question
    assert "enoxaparin" in question
    spanish = kb.text("finding.anticoagulant.question", "es", "").lower()
    assert "heparina" in spanish
    assert "enoxaparina" in spanish


# ------------------------------------------------------------------ B12 walking


def test_cancer_with_new_difficulty_walking_is_an_emergency(kb: KnowledgeBase) -> None:
    """NICE NG234: difficulty walking is an MSCC symptom; gait change comes before weakness
    (Levack 2002)."""
    result = _assess(kb, 66, "female", cancer_history=True, walking_difficulty=True,
                     duration_days=18)
    assert result.urgency is Urgency.EMERGENCY
    assert "cancer_history_neuro_symptoms" in result.fired_ids
    control = _assess(kb, 66, "female", cancer_history=True, walking_difficulty=False,
                      duration_days=18)
    assert control.urgency is Urgency.URGENT


# ------------------------------------------------------------------ D1 testicle question


def _next_step_id(kb: KnowledgeBase, age: int) -> str | None:
    data = _clean(kb, age, "male")
    del data["answers"]["testicle_pain"]
    step = next_step(kb, Intake.from_json(data))
    return None if step is None else step.id


def test_a_teenager_with_back_pain_is_asked_about_his_testicles(kb: KnowledgeBase) -> None:
    """A 17-year-old with back and groin pain ended as self-care because the question was
    asked only after side or belly pain (Jefferies 2015: torsion presents as back, groin or
    belly pain)."""
    assert _next_step_id(kb, 17) == "testicle"
    result = _assess(kb, 17, "male", testicle_pain=True)
    assert result.urgency is Urgency.EMERGENCY


def test_an_older_man_without_side_or_belly_pain_is_not_asked(kb: KnowledgeBase) -> None:
    """Control: at 45 without side or belly pain the question is not asked and self-care
    can still be reached."""
    assert _next_step_id(kb, 45) != "testicle"
    data = _clean(kb, 45, "male")
    del data["answers"]["testicle_pain"]
    assert assess(Intake.from_json(data), kb).urgency is Urgency.SELF_CARE
