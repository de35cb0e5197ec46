"""Compose a patient handout from an Assessment: which sections, in which order, with which
words, in one language.

Nothing clinical is decided here. The triage engine chose the urgency, the reasons, the
actions, the advice, the next steps and the safety net; ``knowledge/handout.yaml`` says how
to lay them out and which extra handout blocks to add. The result, a :class:`Handout`, is
plain data: the HTML and the PDF are both rendered from it, so they always say the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from backpath.education.knowledge import HandoutKnowledge, Selection, handout_knowledge
from backpath.education.schema import SectionDef, TakeIds
from backpath.errors import BackpathError
from backpath.kb import KnowledgeBase
from backpath.triage import Assessment
from backpath.vocabulary import Urgency

#: Printed parts that make a section worth printing on their own (the clinic block, the
#: diary table); the emergency-number line and the next-visit line only go with text.
STANDALONE_WIDGETS = frozenset({"contact", "diary_table"})


class HandoutError(BackpathError):
    """A handout cannot be composed (unknown language, a required section left empty).

    ``section`` names the section when there is one.
    """

    def __init__(self, message: str, section: str | None = None) -> None:
        self.section = section
        self.message = message
        super().__init__(f"{section}: {message}" if section else message)


@dataclass(frozen=True)
class TextPart:
    """A paragraph, or a list of items, of a block's text."""

    kind: Literal["paragraph", "list"]
    lines: tuple[str, ...]


@dataclass(frozen=True)
class HandoutBlock:
    """One block of patient text: a title (optional) and paragraphs or list items.

    ``id`` is the advice id, ``rule:<rule id>`` for a reason, or ``urgency``.
    ``kind`` is the advice kind, ``reason`` or ``urgency``.
    """

    id: str
    kind: str
    title: str | None
    parts: tuple[TextPart, ...]
    sources: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The body as plain text: paragraphs and list items on their own lines."""
        return "\n".join(line for part in self.parts for line in part.lines)


@dataclass(frozen=True)
class GlossaryEntry:
    """A medical word that had to stay, and what it means."""

    block_id: str
    term: str
    meaning: str


@dataclass(frozen=True)
class HandoutSection:
    """A section of the handout, with its blocks and printed parts (``widgets``)."""

    id: str
    heading: str
    style: str
    blocks: tuple[HandoutBlock, ...] = ()
    glossary: tuple[GlossaryEntry, ...] = ()
    widgets: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiaryColumn:
    """A column of the two-week diary table."""

    id: str
    heading: str


@dataclass(frozen=True)
class Handout:
    """A composed handout: everything that is printed, in order, in one language.

    ``words`` holds the interface words the renderer needs (contact labels, footer...), by
    ``handout.*`` key without the prefix. ``omitted`` lists the actions (advice ids) and
    reasons (``rule:<id>``) of the Assessment left out because only a less urgent rule asked
    for them: an emergency handout does not also say "speak to a doctor today". The Result
    JSON still has them.
    """

    language: str
    urgency: Urgency
    title: str
    intro: str
    label: str
    headline: str
    action: str
    sections: tuple[HandoutSection, ...]
    diary_columns: tuple[DiaryColumn, ...]
    diary_days: int
    words: dict[str, str] = field(default_factory=dict)
    omitted: tuple[str, ...] = ()
    kb_version: str = ""
    kb_sha256: str = ""

    @property
    def section_ids(self) -> tuple[str, ...]:
        """The ids of the printed sections, in order."""
        return tuple(section.id for section in self.sections)

    def section(self, section_id: str) -> HandoutSection:
        """The section with ``section_id``; ``KeyError`` when it is not printed."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    @property
    def block_ids(self) -> tuple[str, ...]:
        """Every block id in the handout, in printed order."""
        return tuple(block.id for section in self.sections for block in section.blocks)

    def plain_text(self, emergency_number: str = "911") -> str:
        """Every word a patient reads, one unit (heading, sentence group, cell) a line.

        Used for readability checks. Clinic details (names, numbers, addresses) are not
        included except the emergency number, which is filled in.
        """
        lines = [self.title, self.intro]
        for section in self.sections:
            lines.append(section.heading)
            for block in section.blocks:
                if block.title:
                    lines.append(block.title)
                lines.extend(line for part in block.parts for line in part.lines)
            for entry in section.glossary:
                lines.append(f"{entry.term}: {entry.meaning}")
            for widget in section.widgets:
                if widget == "emergency_number":
                    lines.append(self.words["call_emergency"].format(number=emergency_number))
                elif widget == "diary_table":
                    lines.extend(column.heading for column in self.diary_columns)
                elif widget == "next_visit":
                    lines.append(self.words["next_visit"])
                elif widget == "contact":
                    lines.append(self.words["write_in_clinic"])
        return "\n".join(line for line in lines if line)


def parse_text(text: str) -> tuple[TextPart, ...]:
    """Split a block body into paragraphs and lists (lines that start with ``- ``)."""
    parts: list[TextPart] = []
    items: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("- "):
            items.append(line[2:].strip())
            continue
        if items:
            parts.append(TextPart("list", tuple(items)))
            items = []
        parts.append(TextPart("paragraph", (line,)))
    if items:
        parts.append(TextPart("list", tuple(items)))
    return tuple(parts)


class _Composer:
    """Fills the sections of one layout; each Assessment block is placed once."""

    def __init__(self, assessment: Assessment, language: str, knowledge: HandoutKnowledge) -> None:
        self.assessment = assessment
        self.kb: KnowledgeBase = assessment.kb
        self.language = language
        self.knowledge = knowledge
        self.placed: set[str] = set()
        self.selected = self._selected_blocks()
        self.now = self._asked_at_result_urgency()
        self.omitted: tuple[str, ...] = ()
        if knowledge.omit_lower_urgency:
            self.omitted = tuple(
                block_id
                for block_id in assessment.advice
                if self.kb.advice[block_id].kind == "action" and block_id not in self.now
            )
            self.placed.update(self.omitted)
            self.omitted += tuple(
                f"rule:{fired.rule.id}"
                for fired in assessment.fired
                if fired.rule.urgency is not assessment.urgency
            )
        self.claimed: dict[tuple[str, int], list[HandoutBlock]] = {}
        self.rule_actions_now = any(
            self.kb.advice[block_id].kind == "action"
            for fired in assessment.fired
            if fired.rule.urgency is assessment.urgency
            for block_id in fired.rule.spec.advice
        )

    # -- words ------------------------------------------------------------------------
    def ui(self, key: str) -> str:
        return self.kb.ui(key, self.language)

    def advice_block(self, block_id: str) -> HandoutBlock:
        spec = self.kb.advice[block_id]
        title = self.kb.text(f"advice.{block_id}.title", self.language, spec.title)
        body = self.kb.text(f"advice.{block_id}.body", self.language, spec.body)
        return HandoutBlock(block_id, spec.kind, title, parse_text(body), spec.sources)

    # -- selection --------------------------------------------------------------------
    def _triggered(self, selection: Selection) -> bool:
        triggers = selection.spec.selected_by
        if triggers.is_empty:
            return True
        assessment = self.assessment
        if any(c.value in assessment.concerns for c in triggers.concerns):
            return True
        if any(rule_id in assessment.fired_ids for rule_id in triggers.rules):
            return True
        if selection.findings_test is not None and selection.findings_test(assessment.answers):
            return True
        for code, values in triggers.answers_include.items():
            answer = assessment.answers.get(code)
            if isinstance(answer, tuple) and any(value in answer for value in values):
                return True
        return False

    def _selected_blocks(self) -> dict[str, list[str]]:
        by_section: dict[str, list[str]] = {}
        for selection in self.knowledge.selections:
            spec = selection.spec
            if self.assessment.urgency in spec.for_urgency and self._triggered(selection):
                by_section.setdefault(spec.section, []).append(spec.block)
        return by_section

    def _asked_at_result_urgency(self) -> set[str]:
        """Blocks asked for by a fired rule at the result's urgency, by a care-plan rule
        (those are chosen for the result's urgency) or by the "could not rule out" notice."""
        a = self.assessment
        now = {self.kb.manifest.unresolved_advice}
        for fired in a.fired:
            if fired.rule.urgency is a.urgency:
                now.update(fired.rule.spec.advice, fired.rule.spec.next_steps)
        for plan_rule in self.kb.plan:
            if a.urgency in plan_rule.spec.for_urgency and plan_rule.test(a.answers) is True:
                now.update(plan_rule.spec.advice, plan_rule.spec.next_steps)
        return now

    # -- assessment content -------------------------------------------------------------
    def _take_assessment(self, ids: Iterable[str]) -> list[HandoutBlock]:
        blocks = []
        for block_id in ids:
            if block_id in self.placed:
                continue
            self.placed.add(block_id)
            blocks.append(self.advice_block(block_id))
        return blocks

    def assessment_ids(self) -> tuple[str, ...]:
        """Every block id the triage chose: advice, next steps and safety net."""
        a = self.assessment
        return (*a.advice, *a.next_steps, *a.safety_net)

    def _reasons(self) -> list[HandoutBlock]:
        a = self.assessment
        blocks = []
        seen: set[str] = set()
        for fired in a.fired:
            spec = fired.rule.spec
            if f"rule:{spec.id}" in self.omitted:
                continue
            message = self.kb.text(f"rule.{spec.id}.patient", self.language, spec.patient)
            if message in seen:
                continue
            seen.add(message)
            blocks.append(
                HandoutBlock(f"rule:{spec.id}", "reason", None, parse_text(message), spec.sources)
            )
        if not blocks:
            why_none = parse_text(self.ui("handout.why_none"))
            blocks.append(HandoutBlock("why_none", "reason", None, why_none))
        if a.narrative_status == "not_understood":
            blocks.append(
                HandoutBlock(
                    "narrative_not_understood",
                    "reason",
                    None,
                    parse_text(self.ui("handout.not_understood")),
                )
            )
        return blocks

    def urgency_block(self) -> HandoutBlock:
        level = self.assessment.urgency
        wording = self.kb.urgencies[level]
        headline = self.kb.text(f"urgency.{level.value}.headline", self.language, wording.headline)
        action = self.kb.text(f"urgency.{level.value}.action", self.language, wording.action)
        return HandoutBlock("urgency", "urgency", headline, parse_text(action))

    def claim_named(self, section: SectionDef) -> None:
        """First pass: blocks a section names by id are claimed before any general take."""
        present = set(self.assessment_ids())
        for index, item in enumerate(section.take):
            if isinstance(item, TakeIds):
                self.claimed[(section.id, index)] = self._take_assessment(
                    i for i in item.ids if i in present
                )

    def fill(self, section: SectionDef) -> _Filled:
        """Second pass: the section's content, in the order of its ``take`` list."""
        a = self.assessment
        blocks: list[HandoutBlock] = []
        widgets: list[str] = []
        wants_glossary = False
        for index, item in enumerate(section.take):
            if isinstance(item, TakeIds):
                blocks += self.claimed.get((section.id, index), [])
            elif item == "urgency":
                # A rule at the result's urgency that gives its own action ("Go to the
                # emergency department now") says the same as the headline, in more detail.
                if "urgency" not in self.placed and not self.rule_actions_now:
                    self.placed.add("urgency")
                    blocks.append(self.urgency_block())
            elif item == "actions":
                # What the rules say to do comes first; "some questions were not answered"
                # follows it.
                unresolved = self.kb.manifest.unresolved_advice
                actions = [i for i in a.advice if self.kb.advice[i].kind == "action"]
                actions.sort(key=lambda block_id: block_id == unresolved)
                blocks += self._take_assessment(actions)
            elif item == "advice":
                blocks += self._take_assessment(
                    i for i in a.advice if self.kb.advice[i].kind != "action"
                )
            elif item == "next_steps_now":
                blocks += self._take_assessment(i for i in a.next_steps if i in self.now)
            elif item == "next_steps":
                blocks += self._take_assessment(a.next_steps)
            elif item == "safety_net":
                blocks += self._take_assessment(a.safety_net)
            elif item == "reasons":
                blocks += self._reasons()
            elif item == "selected":
                for block_id in self.selected.get(section.id, []):
                    if block_id not in self.placed:
                        self.placed.add(block_id)
                        blocks.append(self.advice_block(block_id))
            elif item == "glossary":
                wants_glossary = True
            else:
                widgets.append(item)
        return _Filled(section, tuple(blocks), tuple(widgets), wants_glossary)

    def glossary_for(self, text: str) -> tuple[GlossaryEntry, ...]:
        """The glossary entries whose terms occur in ``text``, sorted by term."""
        entries = []
        for term in self.knowledge.glossary:
            pattern = term.patterns.get(self.language)
            if pattern is not None and pattern.search(text):
                block = self.advice_block(term.spec.block)
                entries.append(GlossaryEntry(term.spec.block, block.title or "", block.text))
        return tuple(sorted(entries, key=lambda e: e.term.casefold()))


@dataclass(frozen=True)
class _Filled:
    """A section after its ``take`` list ran, before the glossary is known."""

    spec: SectionDef
    blocks: tuple[HandoutBlock, ...]
    widgets: tuple[str, ...]
    wants_glossary: bool


def compose_handout(assessment: Assessment, language: str | None = None) -> Handout:
    """Compose the handout for ``assessment`` in ``language`` (default: the Assessment's).

    Raises ``HandoutError`` for a language without patient text, when the layout has no
    place for something the triage chose, or when a required section (such as "when to get
    help at once") would be empty; ``KnowledgeError`` when ``knowledge/handout.yaml`` is
    invalid.
    """
    kb = assessment.kb
    language = language or assessment.language
    if language not in kb.languages:
        raise HandoutError(
            f"unsupported language {language!r}; expected one of {', '.join(kb.languages)}"
        )
    knowledge = handout_knowledge(kb)
    composer = _Composer(assessment, language, knowledge)
    layout = [
        knowledge.sections[section_id] for section_id in knowledge.layouts[assessment.urgency]
    ]
    for section_def in layout:
        composer.claim_named(section_def)
    filled = [composer.fill(section_def) for section_def in layout]
    left_out = set(composer.assessment_ids()) - composer.placed
    if left_out:
        raise HandoutError(
            f"the {assessment.urgency.value} layout has no place for " + ", ".join(sorted(left_out))
        )
    all_text = "\n".join(
        line for part in filled for block in part.blocks for line in (block.title or "", block.text)
    )
    sections: list[HandoutSection] = []
    for part in filled:
        glossary = composer.glossary_for(all_text) if part.wants_glossary else ()
        printed = bool(part.blocks or glossary or set(part.widgets) & STANDALONE_WIDGETS)
        if part.spec.required and not printed:
            raise HandoutError("a required section would be empty", section=part.spec.id)
        if printed:
            sections.append(
                HandoutSection(
                    id=part.spec.id,
                    heading=composer.ui(part.spec.heading),
                    style=part.spec.style,
                    blocks=part.blocks,
                    glossary=glossary,
                    widgets=part.widgets,
                )
            )

    level = assessment.urgency
    wording = kb.urgencies[level]
    has_leg = knowledge.diary_leg_column(assessment.answers) is True
    column_keys = [
        "diary_day",
        "diary_back_pain",
        *(["diary_leg_pain"] if has_leg else []),
        "diary_activity",
        "diary_medicine",
        "diary_better_worse",
    ]
    words = {
        key.removeprefix("handout."): kb.ui(key, language)
        for key in kb.ui_texts
        if key.startswith("handout.")
    }
    return Handout(
        language=language,
        urgency=level,
        title=words["document_title"],
        intro=words["made_for_you"],
        label=kb.text(f"urgency.{level.value}.label", language, wording.label),
        headline=kb.text(f"urgency.{level.value}.headline", language, wording.headline),
        action=kb.text(f"urgency.{level.value}.action", language, wording.action),
        sections=tuple(sections),
        diary_columns=tuple(
            DiaryColumn(key.removeprefix("diary_"), words[key]) for key in column_keys
        ),
        diary_days=knowledge.diary_days,
        words=words,
        omitted=composer.omitted,
        kb_version=kb.version,
        kb_sha256=kb.sha256,
    )


def iter_blocks(handout: Handout) -> Iterator[tuple[HandoutSection, HandoutBlock]]:
    """Every (section, block) pair in printed order."""
    for section in handout.sections:
        for block in section.blocks:
            yield section, block
