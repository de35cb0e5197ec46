"""Clinical cases as data: one YAML persona per file in tests/cases/ (see its README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.triage import assess

CASES_DIR = Path(__file__).resolve().parents[1] / "cases"
CASE_KEYS = {"id", "description", "source", "reference", "intake", "expected", "replay_skip"}
EXPECTED_KEYS = {
    "urgency",
    "concerns",
    "fired_rules",
    "fired_includes",
    "unresolved_includes",
    "not_urgency",
    "complete",
}


def _load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(case) <= CASE_KEYS, f"{path.name}: unknown keys {set(case) - CASE_KEYS}"
        assert set(case["expected"]) <= EXPECTED_KEYS, f"{path.name}: unknown expected keys"
        assert case["id"] == path.stem, f"{path.name}: id must match the file name"
        cases.append(case)
    return cases


CASES = _load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any], kb: KnowledgeBase) -> None:
    """The persona gets the expected urgency, concerns and fired rules."""
    result = assess(Intake.from_json(case["intake"]), kb)
    expected = case["expected"]
    assert result.urgency.value == expected["urgency"], case["description"]
    if "concerns" in expected:
        assert set(result.concerns) == set(expected["concerns"])
    if "fired_rules" in expected:
        assert set(result.fired_ids) == set(expected["fired_rules"])
    for rule_id in expected.get("fired_includes", []):
        assert rule_id in result.fired_ids, f"{rule_id} should fire"
    if "complete" in expected:
        assert result.to_json()["complete"] is expected["complete"]
    unresolved = {u.rule.id for u in result.unresolved}
    for rule_id in expected.get("unresolved_includes", []):
        assert rule_id in unresolved, f"{rule_id} should still be open"
    if "not_urgency" in expected:
        assert result.urgency.value != expected["not_urgency"]


def test_there_are_at_least_80_cases() -> None:
    """The case library is large enough to cover the pathway."""
    assert len(CASES) >= 80


def test_every_rule_is_fired_by_some_case(kb: KnowledgeBase) -> None:
    """Each triage rule is exercised by at least one clinical case."""
    fired = {
        rule_id
        for case in CASES
        for key in ("fired_rules", "fired_includes")
        for rule_id in case["expected"].get(key, [])
    }
    assert sorted(set(kb.rules_by_id) - fired) == []


def test_every_urgency_is_covered() -> None:
    """The cases cover all four urgencies."""
    assert {c["expected"]["urgency"] for c in CASES} == {
        "emergency",
        "urgent",
        "routine",
        "self_care",
    }


def test_cases_cite_known_sources(kb: KnowledgeBase) -> None:
    """Each case names the source that justifies its expectation."""
    for case in CASES:
        assert case["source"] in kb.sources, case["id"]


def test_every_rule_fires_in_at_least_two_cases(kb: KnowledgeBase) -> None:
    """Each triage rule really fires (not only is listed) for at least two personas."""
    fired: dict[str, int] = dict.fromkeys(kb.rules_by_id, 0)
    for case in CASES:
        for rule_id in set(assess(Intake.from_json(case["intake"]), kb).fired_ids):
            if rule_id in fired:
                fired[rule_id] += 1
    assert {rule_id: n for rule_id, n in fired.items() if n < 2} == {}
