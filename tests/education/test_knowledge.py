"""knowledge/handout.yaml is validated: a typo or a broken reference fails loudly, naming it."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from backpath.education.knowledge import (
    HANDOUT_ADVICE_FILE,
    HANDOUT_FILE,
    check_handout_knowledge,
    handout_knowledge,
)
from backpath.errors import KnowledgeError
from backpath.kb import KnowledgeBase
from backpath.vocabulary import Urgency

Edit = Callable[[str], str]


@pytest.fixture
def broken(kb: KnowledgeBase, tmp_path: Path) -> Callable[[Edit], list[str]]:
    """Problems reported for a copy of handout.yaml changed by ``edit``."""

    def problems(edit: Edit) -> list[str]:
        root = tmp_path / "knowledge"
        (root / "advice" / "en").mkdir(parents=True, exist_ok=True)
        shutil.copy(kb.root / HANDOUT_ADVICE_FILE, root / HANDOUT_ADVICE_FILE)
        original = (kb.root / HANDOUT_FILE).read_text(encoding="utf-8")
        changed = edit(original)
        assert changed != original, "the edit did not apply"
        (root / HANDOUT_FILE).write_text(changed, encoding="utf-8")
        copy = dataclasses.replace(kb, root=root, sha256=f"test-{hash(changed)}")
        return check_handout_knowledge(copy)

    return problems


def test_the_real_handout_knowledge_is_valid(kb: KnowledgeBase) -> None:
    """The shipped handout.yaml has no problems and a layout for every urgency."""
    assert check_handout_knowledge(kb) == []
    knowledge = handout_knowledge(kb)
    assert set(knowledge.layouts) == set(Urgency)
    for layout in knowledge.layouts.values():
        assert "when_to_get_help" in layout
        assert "contact" in layout


def test_unknown_key_names_the_valid_keys(broken: Callable[[Edit], list[str]]) -> None:
    """A misspelt key fails and lists the keys a block selection may have."""
    found = broken(
        lambda t: t.replace(
            "section: what_may_be_going_on\n    for_urgency: [urgent, routine]\n    selected_by:\n      concerns: [radiculopathy]",
            "section: what_may_be_going_on\n    for_urgency: [urgent, routine]\n    selectd_by:\n      concerns: [radiculopathy]",
            1,
        )
    )
    assert any(
        "about_nerve_root" in p
        and "unknown key; valid keys: block, for_urgency, section, selected_by" in p
        for p in found
    ), found


def test_unknown_block_is_named(broken: Callable[[Edit], list[str]]) -> None:
    """A selection of an advice block that doesn't exist fails with its id."""
    found = broken(lambda t: t.replace("  - block: tips_sleeping", "  - block: tips_snoozing", 1))
    assert "handout.yaml: tips_snoozing: no such advice block" in found
    assert any("tips_sleeping" in p and "never selected" in p for p in found)


def test_unknown_finding_code_is_named(broken: Callable[[Edit], list[str]]) -> None:
    """A trigger on a finding code that doesn't exist fails, naming the block and the code."""
    found = broken(
        lambda t: t.replace(
            "findings: worse_standing_walking_better_sitting", "findings: worse_standing", 1
        )
    )
    assert "handout.yaml: about_stenosis: unknown finding code 'worse_standing'" in found


def test_answers_include_needs_a_multi_choice_value(broken: Callable[[Edit], list[str]]) -> None:
    """answers_include checks that the finding is multi-choice and the value exists."""
    found = broken(
        lambda t: t.replace("activity_limits: [sleeping]", "activity_limits: [snoring]", 1)
    )
    assert "handout.yaml: tips_sleeping: 'activity_limits' has no value 'snoring'" in found


def test_every_layout_keeps_when_to_get_help(broken: Callable[[Edit], list[str]]) -> None:
    """Leaving "when to get help at once" out of a layout fails: it must always print."""
    found = broken(
        lambda t: t.replace(
            "self_care: [at_home, when_to_see_a_doctor, when_to_get_help,",
            "self_care: [at_home, when_to_see_a_doctor,",
            1,
        )
    )
    assert (
        "handout.yaml: layouts.self_care: leaves out required section 'when_to_get_help'" in found
    )


def test_a_block_whose_section_is_not_in_its_layout_is_reported(
    broken: Callable[[Edit], list[str]],
) -> None:
    """A block that could never print (its section is not in that urgency's layout) fails."""
    found = broken(
        lambda t: t.replace(
            "  - block: follow_up_emergency\n    section: follow_up",
            "  - block: follow_up_emergency\n    section: diary",
            1,
        )
    )
    assert any(
        "follow_up_emergency: section 'diary' is not in the emergency layout" in p for p in found
    ), found


def test_glossary_needs_terms_for_every_language(broken: Callable[[Edit], list[str]]) -> None:
    """A glossary entry without Spanish terms fails: the Spanish handout could not explain it."""
    found = broken(
        lambda t: t.replace("terms: {en: [sciatica], es: [ciática]}", "terms: {en: [sciatica]}", 1)
    )
    assert "handout.yaml: glossary_sciatica: no glossary terms for language 'es'" in found


def test_invalid_handout_knowledge_refuses_to_compose(kb: KnowledgeBase, tmp_path: Path) -> None:
    """handout_knowledge raises KnowledgeError (never an empty handout) when the file is broken."""
    root = tmp_path / "knowledge"
    (root / "advice" / "en").mkdir(parents=True)
    shutil.copy(kb.root / HANDOUT_ADVICE_FILE, root / HANDOUT_ADVICE_FILE)
    (root / HANDOUT_FILE).write_text("sections: []\n", encoding="utf-8")
    with pytest.raises(KnowledgeError):
        handout_knowledge(dataclasses.replace(kb, root=root, sha256="broken"))


def test_validate_hook_for_kb_check() -> None:
    """validate_handout_knowledge() (the `kb check` extension hook) reports no problems for the real file."""
    from backpath.education import validate_handout_knowledge

    assert validate_handout_knowledge() == []
