"""Loading ``knowledge/handout.yaml`` and checking it against the knowledge base.

``handout_knowledge(kb)`` returns the validated, compiled handout knowledge (cached per
knowledge-base copy). Every problem is collected and raised as one ``KnowledgeError`` whose
lines read ``handout.yaml: <id>: <message>``, like the core loader's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from backpath.education.schema import (
    BlockSelection,
    GlossaryDef,
    HandoutFile,
    ReadabilityDef,
    SectionDef,
    TakeIds,
)
from backpath.errors import ConditionError, KnowledgeError
from backpath.kb import KnowledgeBase
from backpath.kb.loader import safe_load_yaml
from backpath.kb.validation import validation_problems
from backpath.logic.conditions import Compare, Is, Missing, parse, walk
from backpath.vocabulary import FindingType, FindingValue, Urgency

HANDOUT_FILE = "handout.yaml"
HANDOUT_ADVICE_FILE = "advice/en/handout.yaml"

Test = Callable[[Mapping[str, FindingValue]], bool | None]


@dataclass(frozen=True)
class Selection:
    """A block selection with its ``findings`` condition compiled (``None``: no condition)."""

    spec: BlockSelection
    findings_test: Test | None


@dataclass(frozen=True)
class GlossaryTerm:
    """A glossary entry with one compiled whole-word pattern per language."""

    spec: GlossaryDef
    patterns: Mapping[str, re.Pattern[str]]


@dataclass(frozen=True)
class HandoutKnowledge:
    """The validated handout knowledge: sections, layouts, selections, glossary, limits."""

    sections: Mapping[str, SectionDef]
    layouts: Mapping[Urgency, tuple[str, ...]]
    selections: tuple[Selection, ...]
    glossary: tuple[GlossaryTerm, ...]
    readability: ReadabilityDef
    handout_block_ids: tuple[str, ...]
    omit_lower_urgency: bool
    diary_days: int
    diary_leg_column: Test


def term_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """A case-insensitive pattern matching any of ``terms`` as whole words."""
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _format_validation(exc: ValidationError, data: Any, rel: str) -> list[str]:
    return validation_problems(exc, data, rel, HandoutFile, id_keys=("id", "block"))


def _check_condition(
    data: Any,
    kb: KnowledgeBase,
    ident: str,
    problems: list[str],
    path: str = "selected_by.findings",
) -> Test | None:
    try:
        condition = parse(data, path)
    except ConditionError as exc:
        problems.append(f"{HANDOUT_FILE}: {ident}: {exc}")
        return None
    ok = True
    for node in walk(condition):
        if isinstance(node, Is | Compare | Missing):
            finding = kb.findings.get(node.code)
            if finding is None:
                problems.append(f"{HANDOUT_FILE}: {ident}: unknown finding code {node.code!r}")
                ok = False
            elif isinstance(node, Is) and finding.type is not FindingType.BOOLEAN:
                problems.append(
                    f"{HANDOUT_FILE}: {ident}: {node.code!r} is {finding.type.value}, "
                    "compare it instead"
                )
                ok = False
    return condition.compile() if ok else None


def _check(
    spec: HandoutFile, kb: KnowledgeBase
) -> tuple[list[str], tuple[Selection, ...], Test | None]:
    """Every cross-check of the handout file against the knowledge base."""
    problems: list[str] = []

    def problem(ident: str, message: str) -> None:
        problems.append(f"{HANDOUT_FILE}: {ident}: {message}")

    sections: dict[str, SectionDef] = {}
    for section in spec.sections:
        if section.id in sections:
            problem(section.id, "duplicate section id")
        sections[section.id] = section
        if section.heading not in kb.ui_texts:
            problem(section.id, f"heading {section.heading!r} is not an interface text (ui/*.yaml)")
        for item in section.take:
            if isinstance(item, TakeIds):
                for block_id in item.ids:
                    if block_id not in kb.advice:
                        problem(section.id, f"takes advice {block_id!r} that doesn't exist")

    for urgency in Urgency:
        layout = spec.layouts.get(urgency)
        if layout is None:
            problem("layouts", f"no layout for urgency {urgency.value!r}")
            continue
        if len(set(layout)) != len(layout):
            problem(f"layouts.{urgency.value}", "a section is listed twice")
        for section_id in layout:
            if section_id not in sections:
                problem(f"layouts.{urgency.value}", f"unknown section {section_id!r}")
        for section in spec.sections:
            if section.required and section.id not in layout:
                problem(f"layouts.{urgency.value}", f"leaves out required section {section.id!r}")

    selections: list[Selection] = []
    for selection in spec.blocks:
        ident = selection.block
        if selection.block not in kb.advice:
            problem(ident, "no such advice block")
        if selection.section not in sections:
            problem(ident, f"unknown section {selection.section!r}")
        elif "selected" not in sections[selection.section].take:
            problem(ident, f"section {selection.section!r} does not take selected blocks")
        for urgency in selection.for_urgency:
            if selection.section not in spec.layouts.get(urgency, ()):
                problem(
                    ident,
                    f"section {selection.section!r} is not in the {urgency.value} layout, "
                    "so the block could never print",
                )
        triggers = selection.selected_by
        for rule_id in triggers.rules:
            if rule_id not in kb.rules_by_id:
                problem(ident, f"unknown rule {rule_id!r}")
        for code, values in triggers.answers_include.items():
            finding = kb.findings.get(code)
            if finding is None:
                problem(ident, f"unknown finding code {code!r}")
            elif finding.type is not FindingType.MULTI_CHOICE:
                problem(ident, f"answers_include needs a multi-choice finding; {code!r} is not")
            else:
                for value in values:
                    if value not in finding.allowed_values:
                        problem(ident, f"{code!r} has no value {value!r}")
        test = None
        if triggers.findings is not None:
            test = _check_condition(triggers.findings, kb, ident, problems)
        selections.append(Selection(selection, test))

    for entry in spec.glossary:
        if entry.block not in kb.advice:
            problem(entry.block, "no such advice block")
        for language in kb.languages:
            if language not in entry.terms:
                problem(entry.block, f"no glossary terms for language {language!r}")
        for language in entry.terms:
            if language not in kb.languages:
                problem(entry.block, f"terms for unknown language {language!r}")

    used = {s.block for s in spec.blocks} | {g.block for g in spec.glossary}
    for block_id in _handout_advice_ids(kb):
        if block_id not in used:
            problem(block_id, f"block in {HANDOUT_ADVICE_FILE} is never selected")
    leg_column = _check_condition(
        spec.diary.leg_pain_column_when, kb, "diary", problems, "leg_pain_column_when"
    )
    return problems, tuple(selections), leg_column


def _handout_advice_ids(kb: KnowledgeBase) -> tuple[str, ...]:
    path = kb.root / HANDOUT_ADVICE_FILE
    if not path.exists():
        return ()
    data = safe_load_yaml(path.read_text(encoding="utf-8")) or {}
    return tuple(str(block["id"]) for block in data.get("advice", []) if isinstance(block, dict))


def check_handout_knowledge(kb: KnowledgeBase) -> list[str]:
    """Every problem in ``knowledge/handout.yaml``, or an empty list."""
    try:
        _build(kb)
    except KnowledgeError as exc:
        return list(exc.problems)
    return []


def validate_handout_knowledge(root: str | None = None) -> list[str]:
    """Problems in ``knowledge/handout.yaml`` for ``backpath kb check`` (no arguments needed).

    The core loader's extension hook calls this with no arguments; a broken core knowledge
    base is reported by the core loader itself, so this returns no problems then.
    """
    from backpath.kb import load_knowledge

    try:
        kb = load_knowledge(root)
    except KnowledgeError:
        return []
    return check_handout_knowledge(kb)


def _build(kb: KnowledgeBase) -> HandoutKnowledge:
    path: Path = kb.root / HANDOUT_FILE
    try:
        data = safe_load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KnowledgeError([f"{HANDOUT_FILE}: (file): cannot read: {exc}"]) from None
    except yaml.YAMLError as exc:
        raise KnowledgeError([f"{HANDOUT_FILE}: (file): not valid YAML: {exc}"]) from None
    try:
        spec = HandoutFile.model_validate(data)
    except ValidationError as exc:
        raise KnowledgeError(_format_validation(exc, data, HANDOUT_FILE)) from None
    problems, selections, leg_column = _check(spec, kb)
    if problems or leg_column is None:
        raise KnowledgeError(problems)
    return HandoutKnowledge(
        sections={s.id: s for s in spec.sections},
        layouts=dict(spec.layouts),
        selections=selections,
        glossary=tuple(
            GlossaryTerm(g, {lang: term_pattern(terms) for lang, terms in g.terms.items()})
            for g in spec.glossary
        ),
        readability=spec.readability,
        handout_block_ids=_handout_advice_ids(kb),
        omit_lower_urgency=spec.omit_lower_urgency,
        diary_days=spec.diary.days,
        diary_leg_column=leg_column,
    )


_CACHE: dict[tuple[str, str], HandoutKnowledge] = {}


def handout_knowledge(kb: KnowledgeBase) -> HandoutKnowledge:
    """The validated handout knowledge for ``kb`` (cached per knowledge-base root and hash).

    Raises ``KnowledgeError`` listing every problem: a broken handout file must never print.
    """
    key = (str(kb.root), kb.sha256)
    cached = _CACHE.get(key)
    if cached is None:
        cached = _CACHE[key] = _build(kb)
    return cached


def layout_table(kb: KnowledgeBase, language: str = "en") -> str:
    """The section order of every urgency as a Markdown table (for docs/handout.md)."""
    knowledge = handout_knowledge(kb)
    rows = ["| urgency | sections, in order |", "|---|---|"]
    for urgency in Urgency:
        headings = [
            kb.ui(knowledge.sections[section_id].heading, language)
            for section_id in knowledge.layouts[urgency]
        ]
        rows.append(f"| `{urgency.value}` | {' → '.join(headings)} |")
    return "\n".join(rows) + "\n"
