"""Triage engine behaviour: acceptance examples, narrative merge, explanations."""

from __future__ import annotations

import pytest

from backpath.errors import IntakeError
from backpath.intake import Intake, NarrativeFinding
from backpath.kb import KnowledgeBase
from backpath.triage import assess, assess_json
from backpath.vocabulary import Urgency


def test_saddle_numbness_is_emergency_with_evidence_and_sources() -> None:
    """Acceptance: leg pain with saddle numbness -> emergency, cauda_equina, because + sources."""
    result = assess_json({"age": 45, "answers": {"leg_pain": True, "saddle_numbness": True}})
    assert result["urgency"] == "emergency"
    assert "cauda_equina" in result["concerns"]
    ces = next(r for r in result["fired_rules"] if r["concern"] == "cauda_equina")
    because = {b["code"]: b for b in ces["because"]}
    assert because["saddle_numbness"] == {
        "code": "saddle_numbness",
        "value": True,
        "source": "answer",
    }
    assert because["cauda_equina_symptoms_days"]["source"] == "unknown"
    assert "girft_ces_2023" in ces["sources"]
    assert {c["id"] for c in result["citations"]} >= set(ces["sources"])


def test_unanswered_red_flags_are_not_self_care() -> None:
    """Acceptance: back pain only, leg pain no -> not self-care; red flags listed unresolved."""
    result = assess_json({"age": 30, "answers": {"back_pain": True, "leg_pain": False}})
    assert result["urgency"] != "self_care"
    open_ids = {u["id"] for u in result["unresolved"]}
    assert {"ces_new_bladder_bowel_saddle_sexual", "self_care_back_pain_only"} <= open_ids
    assert "saddle_numbness" in result["next_questions"]
    assert result["advice"][0]["id"] == "could_not_rule_out"
    urgencies = [Urgency(u["urgency"]).rank for u in result["unresolved"]]
    assert urgencies == sorted(urgencies, reverse=True), "most urgent open rules first"


def test_narrative_red_flag_overrides_a_no(kb: KnowledgeBase) -> None:
    """A red flag in the person's words counts even when the form said no; conflict recorded."""
    words = "I can't feel the toilet paper when I wipe"
    finding = NarrativeFinding(
        "saddle_numbness", True, "affirmed", "can't feel the toilet paper", (2, 29)
    )
    result = assess(
        Intake(answers={"age": 50, "saddle_numbness": False}, narrative=words), kb, [finding]
    )
    assert result.urgency is Urgency.EMERGENCY
    data = result.to_json()
    assert data["conflicts"][0]["code"] == "saddle_numbness"
    because = data["fired_rules"][0]["because"][0]
    assert because["source"] == "narrative"
    assert because["span"] == [2, 29]
    assert because["evidence"] == "can't feel the toilet paper"


def test_narrative_negation_does_not_answer_a_red_flag(kb: KnowledgeBase) -> None:
    """'no fever' in words does not count as the red-flag question answered no."""
    finding = NarrativeFinding("fever", False, "negated", "no fever", (0, 8))
    result = assess(Intake(answers={}, narrative="no fever"), kb, [finding])
    assert "fever" not in result.answers


def test_narrative_negation_fills_a_non_red_flag(kb: KnowledgeBase) -> None:
    """'no pain in my leg' can answer the leg-pain question (not a red flag)."""
    finding = NarrativeFinding("leg_pain", False, "negated", "no pain in my leg", (0, 17))
    result = assess(Intake(answers={}, narrative="no pain in my leg"), kb, [finding])
    assert result.answers["leg_pain"] is False


def test_family_history_is_ignored(kb: KnowledgeBase) -> None:
    """'my dad had cancer' is not the person's own cancer history."""
    finding = NarrativeFinding("cancer_history", True, "family", "dad had cancer", (3, 17))
    result = assess(
        Intake(answers={"back_pain": True}, narrative="my dad had cancer"), kb, [finding]
    )
    assert "cancer_history" not in result.answers


def test_not_understood_narrative_is_reported_not_treated_as_no(kb: KnowledgeBase) -> None:
    """A narrative the reader can't understand contributes nothing and says so."""

    class Reading:
        understood = False
        findings: tuple[NarrativeFinding, ...] = ()
        problems = ("the text does not look like English",)

    result = assess(
        Intake(answers={"back_pain": True}, narrative="me duele la espalda"),
        kb,
        read_narrative=lambda text: Reading(),
    )
    data = result.to_json()
    assert data["narrative"]["status"] == "not_understood"
    assert result.urgency is not Urgency.SELF_CARE


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"answers": {"age": "fifty"}}, "answers.age"),
        ({"answers": {"age": 130}}, "answers.age"),
        ({"answers": {"fever": "yes"}}, "answers.fever"),
        ({"answers": {"feverish": True}}, "answers.feverish"),
        ({"answers": {"pain_side": "middle"}}, "answers.pain_side"),
        ({"answers": {"activity_limits": ["flying"]}}, "answers.activity_limits"),
        ({"answers": [1, 2]}, "answers"),
        ({"age": -1}, "age"),
        ({"narrative": 5}, "narrative"),
        ({"language": "xx"}, "language"),
        ({"agee": 40}, "agee"),
        ([], "(root)"),
    ],
)
def test_invalid_intake_names_the_field(data: object, field: str) -> None:
    """Invalid input raises IntakeError naming the offending field."""
    with pytest.raises(IntakeError) as caught:
        Intake.from_json(data)
    assert caught.value.field == field


def test_self_care_needs_every_red_flag_answered_no(kb: KnowledgeBase) -> None:
    """Back pain only with every red flag 'no' is self-care, with safety-net advice."""
    answers = dict.fromkeys(kb.red_flags, False)
    answers.update(
        {
            "back_pain": True,
            "leg_pain": False,
            "leg_pain_below_knee": False,
            "leg_numbness": False,
            "age": 35,
            "duration_days": 5,
        }
    )
    result = assess(Intake(answers=answers), kb)
    assert result.urgency is Urgency.SELF_CARE
    data = result.to_json()
    assert [b["id"] for b in data["safety_net"]] == ["get_help_at_once", "contact_doctor_if"]
    assert "stay_active" in [a["id"] for a in data["advice"]]
    assert not data["next_questions"]


def test_implied_yes_fills_and_overrides_with_conflict(kb: KnowledgeBase) -> None:
    """Pain below the knee is leg pain: it fills an unknown and beats a 'no', with a conflict."""
    filled = assess(Intake(answers={"leg_pain_below_knee": True}), kb)
    assert filled.answers["leg_pain"] is True
    assert "seed_leg_symptoms" in filled.fired_ids
    because = filled.to_json()["fired_rules"][-1]["because"][0]
    assert because["source"] == "implied"
    overridden = assess(Intake(answers={"leg_pain_below_knee": True, "leg_pain": False}), kb)
    assert overridden.answers["leg_pain"] is True
    assert [c.code for c in overridden.conflicts] == ["leg_pain"]


def test_instrument_scores_join_the_result_and_match_care(kb: KnowledgeBase) -> None:
    """STarT Back high risk adds psychologically informed physiotherapy; scores are reported."""
    intake = Intake.from_json(
        {"age": 40, "answers": {"back_pain": True, "leg_pain": True},
         "instruments": {"startback": [1, 1, 0, 0, 1, 1, 1, 1, 1], "odi": [2] * 10}}
    )
    data = assess(intake, kb).to_json()
    scores = {s["instrument"]: s for s in data["scores"]}
    assert (scores["startback"]["value"], scores["startback"]["stratum"]) == (7, "high")
    assert (scores["odi"]["value"], scores["odi"]["band"]) == (40, "moderate")
    assert scores["odi"]["wording"] == "paraphrase"
    steps = [s["id"] for s in data["next_steps"]]
    assert "psychologically_informed_physiotherapy" in steps


def test_startback_low_replaces_routine_physiotherapy(kb: KnowledgeBase) -> None:
    """Low risk gets advice and self-management instead of a physiotherapy referral."""
    intake = Intake.from_json(
        {"age": 40, "answers": {"back_pain": True, "leg_pain": True},
         "instruments": {"startback": [1, 0, 0, 0, 0, 0, 0, 0, 0]}}
    )
    steps = [s["id"] for s in assess(intake, kb).to_json()["next_steps"]]
    assert "advice_and_self_management" in steps
    assert "physiotherapy_and_home_exercise" not in steps


def test_bad_instrument_answer_names_instrument_and_item() -> None:
    """An out-of-range ODI answer is an IntakeError naming instruments.odi.<item>."""
    with pytest.raises(IntakeError) as caught:
        Intake.from_json({"instruments": {"odi": [2, 2, 9, 2, 2, 2, 2, 2, 2, 2]}})
    assert caught.value.field.startswith("instruments.odi.")


def test_every_stratum_next_step_is_an_advice_block(kb: KnowledgeBase) -> None:
    """Each instrument stratum's matched care points at a next step that exists."""
    from backpath.instruments import load_instruments

    for instrument in load_instruments().values():
        strata = instrument.stratification.strata if instrument.stratification else ()
        for stratum in strata:
            if stratum.next_step:
                assert stratum.next_step in kb.advice, (instrument.id, stratum.next_step)


def test_actions_come_only_from_rules_at_the_result_urgency(kb: KnowledgeBase) -> None:
    """An emergency result does not also tell the person to speak to a doctor 'today'."""
    result = assess(Intake(answers={"saddle_numbness": True, "fever": True, "age": 40}), kb)
    assert result.urgency is Urgency.EMERGENCY
    assert "seed_fever" in result.fired_ids
    actions = [a for a in result.advice if kb.advice[a].kind == "action"]
    assert "go_to_emergency_department_now" in actions
    assert "speak_to_doctor_today" not in actions


def test_red_flag_in_a_text_not_understood_still_counts(kb: KnowledgeBase) -> None:
    """A mixed-language text is not understood, but an English red flag in it counts."""
    finding = NarrativeFinding("urinary_retention", True, "affirmed", "can't pee", (20, 29))
    denial = NarrativeFinding("fever", False, "negated", "no fever", (31, 39))

    class Reading:
        understood = False
        findings = (finding, denial)
        problems = ("the text does not look like English",)

    result = assess(
        Intake(answers={}, narrative="no puedo orinar, can't pee, no fever"), kb,
        read_narrative=lambda text: Reading(),
    )
    assert result.narrative_status == "not_understood"
    assert result.answers["urinary_retention"] is True
    assert "fever" not in result.answers
    assert result.urgency is Urgency.EMERGENCY


def test_narrative_yes_wins_over_its_own_earlier_no(kb: KnowledgeBase) -> None:
    """'No leg pain at first, now my leg hurts' gives leg pain yes and no conflict."""
    no = NarrativeFinding("leg_pain", False, "negated", "no leg pain", (0, 11))
    yes = NarrativeFinding("leg_pain", True, "affirmed", "my leg hurts", (25, 37))
    result = assess(Intake(answers={}, narrative="x"), kb, [no, yes])
    assert result.answers["leg_pain"] is True
    assert result.conflicts == ()
