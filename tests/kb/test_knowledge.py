"""The knowledge base loads, and every kind of mistake in it fails loudly with file and id."""

from __future__ import annotations

from pathlib import Path

import pytest

from backpath.kb import KnowledgeBase, check_knowledge
from backpath.kb.catalogue import render_catalogue
from backpath.vocabulary import Urgency

ROOT = Path(__file__).resolve().parents[2]


def test_real_knowledge_base_is_valid(kb: KnowledgeBase) -> None:
    """The shipped knowledge base passes every check and has a version and hash."""
    assert check_knowledge() == []
    assert kb.version
    assert len(kb.sha256) == 64
    assert kb.manifest.baseline_urgency is not Urgency.SELF_CARE


def test_design_contract_codes_exist(kb: KnowledgeBase) -> None:
    """Every finding code named in DESIGN.md's public contract exists."""
    contract = [
        "age",
        "sex",
        "back_pain",
        "leg_pain",
        "leg_pain_below_knee",
        "leg_numbness",
        "leg_weakness",
        "foot_drop",
        "weakness_worsening",
        "bilateral_leg_symptoms",
        "pain_side",
        "pain_regions",
        "duration_days",
        "onset_sudden",
        "pain_back_nrs",
        "pain_leg_nrs",
        "worse_standing_walking_better_sitting",
        "worse_cough_sneeze",
        "urinary_retention",
        "urinary_incontinence",
        "urinary_sensation_change",
        "bowel_incontinence",
        "saddle_numbness",
        "sexual_dysfunction_new",
        "cauda_equina_symptoms_days",
        "trauma_major",
        "trauma_minor",
        "osteoporosis",
        "steroid_use_long_term",
        "cancer_history",
        "weight_loss_unexplained",
        "night_pain",
        "fever",
        "iv_drug_use",
        "immunosuppressed",
        "recent_infection",
        "recent_spinal_procedure",
        "abdominal_pain",
        "sudden_severe_pain",
        "collapse",
        "known_aaa",
        "chest_pain",
        "thoracic_pain",
        "morning_stiffness_over_30min",
        "improves_with_movement",
        "previous_spine_surgery",
        "prior_episodes",
        "conservative_care_weeks",
        "tried_otc_analgesics",
        "tried_physiotherapy",
        "tried_prescription_medication",
        "had_epidural_injection",
        "had_imaging",
        "activity_limits",
    ]
    assert [c for c in contract if c not in kb.findings] == []
    limits = set(kb.findings["activity_limits"].allowed_values)
    assert limits == {
        "lifting",
        "running_sports",
        "sitting_long",
        "standing_long",
        "walking",
        "bending",
        "sleeping",
        "dressing",
        "work",
    }


def test_every_rule_cites_a_known_source(kb: KnowledgeBase) -> None:
    """Every triage rule has at least one source and each source has a link."""
    for rule in kb.rules:
        assert rule.spec.sources
        for source_id in rule.spec.sources:
            source = kb.sources[source_id]
            assert source.url or source.doi


def test_catalogue_is_up_to_date(kb: KnowledgeBase) -> None:
    """docs/knowledge.md is regenerated from the knowledge base (run `backpath kb docs`)."""
    committed = (ROOT / "docs" / "knowledge.md").read_text(encoding="utf-8")
    assert committed == render_catalogue(kb), "docs/knowledge.md is stale: run `backpath kb docs`"


def _one_matching(problems: list[str], *fragments: str) -> str:
    hits = [p for p in problems if all(f in p for f in fragments)]
    assert hits, f"no problem mentions {fragments}: {problems}"
    return hits[0]


def test_unknown_key_is_named_with_valid_keys(copy_kb) -> None:
    """A typo in a rule key fails with the file, the rule id and the valid keys."""
    problems = copy_kb(
        "rules/fracture.yaml",
        "    concern: fracture\n    urgency: emergency",
        "    concern: fracture\n    urgncy: emergency",
    )
    message = _one_matching(problems, "rules/fracture.yaml", "fracture_major_trauma", "unknown key")
    assert "urgency" in message


def test_unknown_finding_code(copy_kb) -> None:
    """A rule that mentions a code not in findings.yaml fails."""
    problems = copy_kb("rules/vascular.yaml", "when: chest_pain", "when: chest_pian")
    _one_matching(
        problems, "rules/vascular.yaml", "chest_pain", "unknown finding code 'chest_pian'"
    )


def test_missing_source(copy_kb) -> None:
    """A rule citing a source that doesn't exist fails."""
    problems = copy_kb(
        "rules/vascular.yaml",
        "sources: [acep_aaa_review, nice_cg95_chest_pain, nice_ng59]",
        "sources: [acep_aaa_review, nice_ng999]",
    )
    _one_matching(problems, "chest_pain", "unknown source 'nice_ng999'")


def test_rule_without_sources(copy_kb) -> None:
    """A rule with an empty source list fails."""
    problems = copy_kb(
        "rules/vascular.yaml",
        "sources: [acep_aaa_review, nice_cg95_chest_pain, nice_ng59]",
        "sources: []",
    )
    _one_matching(problems, "chest_pain", "sources")


def test_duplicate_id(copy_kb) -> None:
    """Two rules with the same id fail, naming both files."""
    problems = copy_kb("rules/vascular.yaml", "- id: chest_pain", "- id: fracture_major_trauma")
    _one_matching(problems, "fracture_major_trauma", "duplicate id")


def test_unreachable_rule(copy_kb) -> None:
    """A rule that no answers can fire is reported as unreachable."""
    problems = copy_kb(
        "rules/vascular.yaml", "when: chest_pain", "when: {all: [chest_pain, {not: chest_pain}]}"
    )
    _one_matching(problems, "chest_pain", "unreachable")


def test_missing_advice_reference(copy_kb) -> None:
    """A rule pointing at advice that doesn't exist fails."""
    problems = copy_kb(
        "rules/vascular.yaml",
        "advice: [call_emergency_services]\n    next_steps: [emergency_vascular_assessment]\n"
        "    first_instruction: call_emergency_services\n\n  - id: sudden_severe_pain_any",
        "advice: [call_ambulance]\n    next_steps: [emergency_vascular_assessment]\n"
        "    first_instruction: call_emergency_services\n\n  - id: sudden_severe_pain_any",
    )
    _one_matching(problems, "refers to advice 'call_ambulance'")


def test_self_care_with_an_unanswered_red_flag_is_caught(copy_kb) -> None:
    """Removing 'not: fever' from the self-care rule is caught: fever rules stay undecided."""
    problems = copy_kb("rules/pathway.yaml", "        - not: fever\n", "")
    message = _one_matching(problems, "self_care_back_pain_only", "undecided")
    assert "fever" in message


def test_self_care_age_guard_is_needed(copy_kb) -> None:
    """Without the onset guard, an older person with unknown onset could get self-care."""
    problems = copy_kb("rules/pathway.yaml", "        - any: [age < 65, not: onset_sudden]\n", "")
    _one_matching(problems, "self_care_back_pain_only", "fracture_fragility")


def test_baseline_can_never_be_self_care(copy_kb) -> None:
    """The manifest refuses self_care as the baseline urgency."""
    problems = copy_kb("manifest.yaml", "baseline_urgency: routine", "baseline_urgency: self_care")
    _one_matching(problems, "manifest.yaml", "never be self_care")


def test_red_flag_must_be_asked_in_the_safety_screen(copy_kb) -> None:
    """A red flag dropped from the questionnaire is reported."""
    problems = copy_kb("questionnaire.yaml", "      - chest_pain\n", "")
    _one_matching(problems, "questionnaire.yaml", "chest_pain", "never asked")


def test_invalid_yaml_names_the_file(copy_kb) -> None:
    """A YAML syntax error names the file."""
    problems = copy_kb("plan.yaml", "plan:\n", "plan: [\n")
    _one_matching(problems, "plan.yaml", "not valid YAML")


def test_a_range_that_straddles_a_rule_threshold_is_refused(copy_kb) -> None:
    """Answering "4 to 8 weeks" could not tell 41 days (acute) from 42 (persistent): the
    loader refuses ranges that a rule's threshold cuts in two."""
    problems = copy_kb(
        "questionnaire.yaml",
        '{label: "4 to 6 weeks", min: 28, max: 41, value: 35}\n'
        '      - {label: "6 weeks to 3 months", min: 42, max: 90, value: 60}',
        '{label: "4 weeks to 3 months", min: 28, max: 90, value: 35}',
    )
    assert any("straddles the threshold duration_days" in p for p in problems), problems


def test_ranges_must_cover_every_number_in_order(copy_kb) -> None:
    problems = copy_kb(
        "questionnaire.yaml",
        '{label: "1 to 2 weeks", min: 8, max: 14, value: 10}',
        '{label: "1 to 2 weeks", min: 9, max: 14, value: 10}',
    )
    assert any("range 2 must start at 8" in p for p in problems), problems



@pytest.mark.parametrize(
    ("file", "old", "new", "ident"),
    [
        # Under ``any`` an unknown measured sign would leave its rule open for ever, or
        # hide the other branch.
        (
            "rules/measured.yaml",
            "when: systolic_bp <= 90",
            "when: {any: [systolic_bp <= 90, collapse]}",
            "low_blood_pressure",
        ),
        # Red flags must be asked; a finding in a `given_only` group never is.
        (
            "findings.yaml",
            "    unit: mmHg\n    group: measured\n",
            "    unit: mmHg\n    red_flag: true\n    group: measured\n",
            "systolic_bp",
        ),
    ],
    ids=["needed_by_its_rule", "not_a_red_flag"],
)
def test_a_measured_sign_is_never_asked(copy_kb, file: str, old: str, new: str, ident: str) -> None:
    """Measured signs (findings group `measured`, never asked) only count when given: the
    loader refuses what would make an unknown one matter."""
    problems = copy_kb(file, old, new)
    assert any(ident in p and "never asked" in p for p in problems), problems
