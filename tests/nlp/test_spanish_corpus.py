"""The Spanish corpus meets the issue 11 targets (runs in CI).

``tests/data/narratives/es_*.yaml`` (and the Spanish narratives of the issue 3 files, which
say ``language: es``): the dev split, held-out A (scored once, then fixed: spent) and
held-out B (scored once, then fixed: spent). First-run scores are in docs/nlp-spanish.md.
"""

from __future__ import annotations

import pytest

from backpath.kb import load_knowledge
from tests.nlp._eval import load_eval

nlp_eval = load_eval()


def test_the_spanish_corpus_is_large_varied_and_well_formed() -> None:
    """At least 200 Spanish narratives with a held-out part, known codes, every
    emergency-capable code labelled positive at least twice."""
    narratives = nlp_eval.load_corpus("all", "general", "es")
    assert len(narratives) >= 200
    assert len(nlp_eval.load_corpus("heldout", "general", "es")) >= 50
    kb = load_knowledge()
    for narrative in narratives:
        assert narrative.urgency in ("emergency", "urgent", "routine", "self_care")
        for code in narrative.findings:
            assert code in kb.findings, f"{narrative.id}: unknown code {code}"
    for code in nlp_eval.EMERGENCY_CODES:
        positives = sum(1 for n in narratives if n.findings.get(code) not in (None, False))
        assert positives >= 2, code


@pytest.mark.parametrize("split", ["dev", "heldout", "heldout_b"])
def test_spanish_targets_are_met(split: str) -> None:
    """Every emergency-capable finding found on dev (>= 0.98 on held-out), precision >=
    0.95, every narrative read, and triage never below the hand-derived urgency."""
    report = nlp_eval.evaluate(split, with_triage=True, phenomenon="general", language="es")
    assert report.narratives > 0
    assert nlp_eval.phenomenon_failures(report, split, nlp_eval.red_flag_codes()) == []
