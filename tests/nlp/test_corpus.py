"""The labelled corpus meets the recall and precision targets of issue 3 (runs in CI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from backpath.kb import load_knowledge

ROOT = Path(__file__).resolve().parents[2]


def _load_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nlp_eval", ROOT / "benchmarks" / "nlp_eval.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["nlp_eval"] = module
    spec.loader.exec_module(module)
    return module


nlp_eval = _load_eval()


def test_corpus_is_large_and_well_formed() -> None:
    """At least 250 narratives, unique ids, known codes, valid urgencies."""
    narratives = nlp_eval.load_corpus("all")
    assert len(narratives) >= 250
    ids = [n.id for n in narratives]
    assert len(ids) == len(set(ids))
    kb = load_knowledge()
    for narrative in narratives:
        assert narrative.urgency in ("emergency", "urgent", "routine", "self_care"), narrative.id
        for code in narrative.findings:
            assert code in kb.findings, f"{narrative.id}: unknown code {code}"


def test_every_emergency_code_is_labelled_true_in_several_narratives() -> None:
    """Each code that can lead to emergency appears as a positive label at least 3 times."""
    narratives = nlp_eval.load_corpus("all")
    for code in nlp_eval.EMERGENCY_CODES:
        positives = sum(1 for n in narratives if n.findings.get(code) not in (None, False))
        assert positives >= 3, code


@pytest.mark.parametrize("split", ["dev", "heldout", "heldout_b"])
def test_recall_and_precision_targets_are_met(split: str) -> None:
    """Positive recall >= 0.98 on emergency codes, >= 0.95 on other red flags, precision >= 0.90."""
    report = nlp_eval.evaluate(split, with_triage=False)
    assert report.failures(nlp_eval.red_flag_codes()) == []


def test_triage_with_only_the_narrative_agrees_with_the_hand_labels() -> None:
    """The real triage engine on narrative (+ age) reaches the labelled urgency in >= 97%."""
    report = nlp_eval.evaluate("all", with_triage=True)
    assert report.triage is not None
    assert report.triage["agreement"] >= 0.97, report.triage["disagreements"]
    # A narrative that the reader under-triages would be a safety miss: none are allowed.
    rank = {"self_care": 0, "routine": 1, "urgent": 2, "emergency": 3}
    under = [
        r for r in report.triage["disagreements"] if rank.get(r["got"], 0) < rank[r["expected"]]
    ]
    assert under == []


def test_corpus_files_have_only_known_keys() -> None:
    """Every corpus file is a mapping with a 'narratives' list."""
    for path in sorted((ROOT / "tests" / "data" / "narratives").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(data) == {"narratives"}, path.name
