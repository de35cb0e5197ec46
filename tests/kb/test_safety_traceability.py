"""Every red flag is traceable: a rule uses it, a clinical case exercises it, the hazard log
names it, and every test the hazard log cites exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.triage import assess

ROOT = Path(__file__).resolve().parents[2]
HAZARD_LOG = (ROOT / "docs" / "clinical-safety.md").read_text(encoding="utf-8")
CASES = [
    yaml.safe_load(p.read_text(encoding="utf-8"))
    for p in sorted((ROOT / "tests" / "cases").glob("*.yaml"))
]


def _rules_using(kb: KnowledgeBase, code: str) -> set[str]:
    return {rule.id for rule in kb.rules if code in set(rule.condition.codes())}


@pytest.mark.parametrize(
    "code",
    [
        "saddle_numbness",
        "urinary_retention",
        "urinary_incontinence",
        "urinary_sensation_change",
        "bowel_incontinence",
        "sexual_dysfunction_new",
        "bilateral_leg_symptoms",
        "fever",
        "iv_drug_use",
        "immunosuppressed",
        "recent_infection",
        "recent_spinal_procedure",
        "cancer_history",
        "weight_loss_unexplained",
        "night_pain",
        "thoracic_pain",
        "trauma_major",
        "trauma_minor",
        "osteoporosis",
        "steroid_use_long_term",
        "sudden_severe_pain",
        "abdominal_pain",
        "collapse",
        "known_aaa",
        "chest_pain",
        "leg_weakness",
        "foot_drop",
        "weakness_worsening",
        "walking_difficulty",
        "pregnancy_headache_vision",
        "pain_progressive",
        "new_confusion",
        "face_arm_weakness",
        "slurred_speech",
        "sudden_vision_change",
        "fetal_movements_reduced",
        "sudden_severe_headache",
        "pulsatile_abdominal_mass",
        "pale_sweaty_faint",
        "tearing_pain",
        "cold_pale_leg",
        "breathless_now",
        "coughing_blood",
        "calf_swelling",
        "loin_pain",
        "shivers_rigors",
        "vomiting",
        "pain_in_waves",
        "blood_in_urine",
        "burning_urination",
        "thirst_polyuria",
        "vomiting_blood",
        "black_stools",
        "jaundice",
        "rigid_belly",
        "pregnant_or_postpartum",
        "vaginal_bleeding",
        "waters_leaking",
        "regular_tightening",
        "anticoagulant",
        "band_rash",
        "cannot_bear_weight",
        "ces_symptom_recent",
        "diabetes",
        "stiff_neck",
        "testicle_pain",
        "limb_tense_severe_pain",
        "rectal_bleeding",
        "muscle_breakdown_signs",
        "non_blanching_rash",
        "bowel_blocked",
        "groin_lump_painful",
        "whole_leg_swollen_blue",
        "pain_to_arm_or_jaw",
        "recent_procedure",
        "suicidal_thoughts",
        "medicine_overdose",
        "allergic_swelling",
        "head_injury",
        "gca_signs",
        "hot_swollen_joint",
        "heavy_bleeding",
        "cannot_keep_fluids_down",
        "shoulder_tip_pain",
    ],
)
def test_red_flag_has_rule_case_and_hazard(kb: KnowledgeBase, code: str) -> None:
    """The red flag is used by a rule, fires one in some case, and is in the hazard log."""
    assert kb.findings[code].red_flag
    using = _rules_using(kb, code)
    assert using, f"no rule uses {code}"
    exercised = False
    for case in CASES:
        if case["intake"].get("answers", {}).get(code) is True:
            result = assess(Intake.from_json(case["intake"]), kb)
            if using & set(result.fired_ids):
                exercised = True
                break
    assert exercised, f"no clinical case has {code} = yes firing a rule that uses it"
    assert f"`{code}`" in HAZARD_LOG


def test_every_red_flag_is_listed_above(kb: KnowledgeBase) -> None:
    """The parametrised list above is exactly the knowledge base's red flags."""
    listed = set(test_red_flag_has_rule_case_and_hazard.pytestmark[0].args[1])
    assert listed == set(kb.red_flags)


def test_cited_tests_exist() -> None:
    """Every test file and test function the hazard log cites exists."""
    for path, name in re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", HAZARD_LOG):
        file = ROOT / path
        assert file.exists(), path
        if name:
            assert f"def {name}(" in file.read_text(encoding="utf-8"), f"{path}::{name}"
    case_ids = {case["id"] for case in CASES}
    tests_paragraphs = re.findall(r"\*\*Tests:\*\*(.*?)(?:\n- \*\*|\n\n)", HAZARD_LOG, re.S)
    assert tests_paragraphs, "the hazard log names its tests"
    for paragraph in tests_paragraphs:
        for token in re.findall(r"`([a-z0-9_/]+)`", paragraph):
            if token.startswith("tests/"):
                continue
            for variant in _expand(token):
                assert variant in case_ids, f"hazard log cites case {variant!r} that doesn't exist"


def _expand(token: str) -> list[str]:
    """``fragility_sudden_onset_age_64/65/66`` names three cases."""
    if "/" not in token:
        return [token]
    head, *rest = token.split("/")
    stem = head.rsplit("_", 1)[0]
    return [head, *(f"{stem}_{r}" for r in rest)]
