"""The NLP knowledge files are validated like the rest of the knowledge base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backpath.nlp import _knowledge, validate_nlp_knowledge


def test_shipped_nlp_knowledge_has_no_problems() -> None:
    """The lexicon, measures, context rules and code policies in the repo are valid."""
    assert validate_nlp_knowledge() == []


@pytest.fixture
def knowledge_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of knowledge/nlp that the validator reads instead of the real one."""
    target = tmp_path / "nlp"
    shutil.copytree(_knowledge.NLP_DIR, target)
    monkeypatch.setattr(_knowledge, "NLP_DIR", target)
    return target


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_unknown_finding_code_is_reported_with_file_and_id(knowledge_copy: Path) -> None:
    """A lexicon entry naming a code that findings.yaml lacks is a problem."""
    _append(
        knowledge_copy / "lexicon" / "pain.yaml",
        '\n  - id: test.bad_code\n    codes: [not_a_finding]\n    phrases: ["zzz"]\n',
    )
    problems = validate_nlp_knowledge()
    assert any("lexicon/pain.yaml: test.bad_code: unknown finding code" in p for p in problems)


def test_unknown_key_is_reported_with_the_valid_keys(knowledge_copy: Path) -> None:
    """A misspelt key fails and names the keys that are allowed."""
    _append(
        knowledge_copy / "lexicon" / "pain.yaml",
        '\n  - id: test.bad_key\n    codes: [back_pain]\n    phrases: ["zzz"]\n    phrasez: ["x"]\n',
    )
    problems = validate_nlp_knowledge()
    assert any("test.bad_key: unknown key(s) phrasez; valid keys are" in p for p in problems)


def test_duplicate_ids_across_files_are_reported(knowledge_copy: Path) -> None:
    """An id used twice, even in two files, is a problem naming the other file."""
    _append(
        knowledge_copy / "lexicon" / "history.yaml",
        '\n  - id: back_pain.back_hurts\n    codes: [back_pain]\n    phrases: ["zzz"]\n',
    )
    problems = validate_nlp_knowledge()
    assert any("back_pain.back_hurts: duplicate id (also in" in p for p in problems)


def test_phrase_that_does_not_compile_is_reported(knowledge_copy: Path) -> None:
    """A phrase with an unknown macro is reported with the phrase."""
    _append(
        knowledge_copy / "lexicon" / "pain.yaml",
        '\n  - id: test.bad_phrase\n    codes: [back_pain]\n    phrases: ["$NO_SUCH_MACRO pain"]\n',
    )
    problems = validate_nlp_knowledge()
    assert any(
        "test.bad_phrase: phrase" in p and "unknown macro $NO_SUCH_MACRO" in p for p in problems
    )


def test_unknown_context_category_is_reported(knowledge_copy: Path) -> None:
    """A context rule with a category ConText does not know is a problem."""
    _append(
        knowledge_copy / "context.yaml",
        '\n  - id: test.bad_category\n    category: MAYBE\n    direction: FORWARD\n    phrases: ["zzz"]\n',
    )
    problems = validate_nlp_knowledge()
    assert any("test.bad_category: 'category' must be one of" in p for p in problems)


def test_choice_value_must_be_allowed_by_findings_yaml(knowledge_copy: Path) -> None:
    """A side entry with a value that pain_side does not allow is a problem."""
    _append(
        knowledge_copy / "lexicon" / "sides.yaml",
        '\n  - id: test.bad_side\n    codes: [pain_side]\n    value: middle\n    phrases: ["zzz"]\n',
    )
    problems = validate_nlp_knowledge()
    assert any("test.bad_side: 'value' for pain_side must be one of" in p for p in problems)
