""" "Not sure" is never a reason to wait (red-team review, hazard H23; safety.yaml).

1. A serious rule left open by "not sure" raises the result to urgent whether or not the
   interview is finished (an abandoned form is still a "not sure").
2. A rule that "not sure" answers alone keep from firing, with a red-flag sign answered
   "yes" in it (or very bad sudden pain), takes its own urgency: "leg getting weaker, not
   sure about a fever" in a person who injects drugs is an emergency (spinal epidural
   abscess: Darouiche, N Engl J Med 2006). A risk factor alone does not: "injects drugs, not
   sure about a fever" is urgent.
3. Danger words in the person's own words that no finding explains ("bleeding") are read
   by a clinician the same day: urgent, not routine.
"""

from __future__ import annotations

from typing import Any

from backpath.intake import Intake, NarrativeFinding
from backpath.kb import KnowledgeBase
from backpath.triage import assess
from backpath.vocabulary import Urgency


def _no_red_flags(kb: KnowledgeBase, **answers: Any) -> dict[str, Any]:
    out: dict[str, Any] = {code: False for code, f in kb.findings.items() if f.red_flag}
    out.update(answers)
    return out


def test_an_abandoned_form_with_a_not_sure_chest_pain_is_urgent(kb: KnowledgeBase) -> None:
    """A 62-year-old answers "not sure" to chest pain and closes the page: not complete,
    and still at least urgent (it used to end as routine)."""
    result = assess(Intake.from_json({"age": 62, "answers": {"chest_pain": None}}), kb)
    assert not result.complete
    assert result.urgency is Urgency.URGENT
    assert "unsure_serious_not_ruled_out" in result.fired_ids


def test_a_weak_leg_and_not_sure_about_fever_is_an_emergency(kb: KnowledgeBase) -> None:
    """A weak leg and "not sure" about fever: fever with a new nerve deficit (an epidural
    abscess) is not ruled out, so that emergency rule fires with the doubt as its
    evidence, and its first instruction is given."""
    answers = _no_red_flags(
        kb, back_pain=True, leg_pain=True, leg_weakness=True, fever=None, duration_days=6
    )
    result = assess(Intake.from_json({"age": 36, "sex": "male", "answers": answers}), kb)
    assert result.urgency is Urgency.EMERGENCY
    assert result.first_instruction is not None
    doubted = [
        f
        for f in result.fired
        if any(e.code == "fever" and e.source == "unsure" for e in f.because)
    ]
    assert any(f.rule.urgency is Urgency.EMERGENCY for f in doubted)


def test_a_risk_factor_alone_does_not_turn_not_sure_into_an_emergency(
    kb: KnowledgeBase,
) -> None:
    """Injecting drugs and "not sure" about fever, no nerve signs: urgent, not emergency."""
    answers = _no_red_flags(kb, back_pain=True, iv_drug_use=True, fever=None, duration_days=5)
    result = assess(Intake.from_json({"age": 33, "sex": "male", "answers": answers}), kb)
    assert result.urgency is Urgency.URGENT
    assert "unsure_serious_not_ruled_out" in result.fired_ids


def test_sudden_severe_pain_and_not_sure_about_the_worst_headache(kb: KnowledgeBase) -> None:
    """Very bad pain that came on all at once, "not sure" about a thunderclap headache:
    a spinal or brain bleed is not ruled out (emergency)."""
    answers = _no_red_flags(
        kb, back_pain=True, sudden_severe_pain=True, sudden_severe_headache=None
    )
    result = assess(Intake.from_json({"age": 44, "sex": "female", "answers": answers}), kb)
    assert result.urgency is Urgency.EMERGENCY


def test_not_sure_alone_on_a_single_sign_stays_urgent(kb: KnowledgeBase) -> None:
    """Only "not sure" about numbness between the legs, nothing else positive: urgent (a
    same-day check), not an ambulance."""
    answers = _no_red_flags(kb, back_pain=True, leg_pain=True, saddle_numbness=None)
    result = assess(Intake.from_json({"age": 40, "sex": "male", "answers": answers}), kb)
    assert result.urgency is Urgency.URGENT


def test_unplaced_danger_words_are_urgent(kb: KnowledgeBase) -> None:
    """A narrative with a danger word no finding explains: read by a clinician the same
    day (urgent), whatever the structured answers say."""
    answers = _no_red_flags(
        kb, back_pain=True, duration_days=5, onset_sudden=False, prior_episodes=True
    )

    class Reading:
        understood = True
        findings: tuple[NarrativeFinding, ...] = ()
        problems = ("danger_words",)
        unresolved_danger_words = ("bleeding",)

    result = assess(
        Intake.from_json(
            {"age": 40, "sex": "male", "answers": answers, "narrative": "there is some bleeding"}
        ),
        kb,
        read_narrative=lambda _text: Reading(),
    )
    assert result.urgency is Urgency.URGENT
    assert "danger_words_not_resolved" in result.fired_ids
