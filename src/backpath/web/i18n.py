"""Choosing the language of a page and looking up its words in the knowledge base.

The language comes from ``?lang=`` (remembered in the session), then the session, then the
browser's ``Accept-Language``, then English. Every word on a page comes from
``knowledge/ui/web.yaml`` (``web.<key>``) or from the knowledge base itself (questions,
answers, rule messages, advice), with English where a translation is missing.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from backpath.kb import KnowledgeBase
from backpath.kb.schema import FindingDef, SectionDef


def parse_accept_language(header: str) -> list[str]:
    """Primary language tags of an ``Accept-Language`` header, best first."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag.split("-")[0]))
    return [tag for _, _, tag in sorted(weighted)]


def choose_language(request: Request, kb: KnowledgeBase) -> str:
    """The page language for this request (and remember an explicit ``?lang=``)."""
    supported = kb.languages
    asked = request.query_params.get("lang")
    if asked in supported:
        request.session["lang"] = asked
        return asked
    remembered = request.session.get("lang")
    if isinstance(remembered, str) and remembered in supported:
        return remembered
    for tag in parse_accept_language(request.headers.get("accept-language", "")):
        if tag in supported:
            return tag
    return "en"


class Words:
    """The words of one page in one language, for templates: ``t('next')``, ``q(finding)``."""

    def __init__(self, kb: KnowledgeBase, language: str) -> None:
        self.kb = kb
        self.language = language

    def __call__(self, key: str, **values: Any) -> str:
        """Interface word ``web.<key>``, with ``{name}`` places filled from ``values``."""
        text = self.kb.ui(f"web.{key}", self.language)
        return text.format(**values) if values else text

    def question(self, finding: FindingDef) -> str:
        """The patient question of a finding."""
        return self.kb.text(f"finding.{finding.code}.question", self.language, finding.question)

    def help(self, finding: FindingDef) -> str | None:
        """The help text of a finding, if it has one."""
        if not finding.help:
            return None
        return self.kb.text(f"finding.{finding.code}.help", self.language, finding.help)

    def unsure_help(self, finding: FindingDef) -> str | None:
        """The question again in plainer words, for a person who said "not sure"."""
        if not finding.unsure_help:
            return None
        return self.kb.text(
            f"finding.{finding.code}.unsure_help", self.language, finding.unsure_help
        )

    def choice(self, finding: FindingDef, value: str) -> str:
        """The patient label of one value of a choice finding."""
        default = next((c.label for c in finding.values if c.value == value), value)
        return self.kb.text(f"finding.{finding.code}.value.{value}", self.language, default)

    def range_label(self, finding: FindingDef, index: int) -> str:
        """The label of one answer range of the number step asking ``finding``."""
        step = self.kb.step_of_code[finding.code]
        default = step.ranges[index].label
        return self.kb.text(f"step.{step.id}.range.{index}", self.language, default)

    def section_title(self, section: SectionDef) -> str:
        """The title of a questionnaire section."""
        return self.kb.text(f"section.{section.id}.title", self.language, section.title)

    def section_intro(self, section: SectionDef) -> str | None:
        """The introduction of a questionnaire section, if it has one."""
        if not section.intro:
            return None
        return self.kb.text(f"section.{section.id}.intro", self.language, section.intro)

    def language_name(self, code: str) -> str:
        """A language's name in that language (its code when not yet translated)."""
        english = self.kb.ui("web.language_name", "en")
        if code == "en":
            return english
        name = self.kb.text("web.language_name", code, "")
        return name or code.upper()

    def urgency_label(self, urgency: str) -> str:
        """The patient label of an urgency level (Emergency, Urgent...)."""
        from backpath.vocabulary import Urgency

        level = Urgency(urgency)
        return self.kb.text(
            f"urgency.{urgency}.label", self.language, self.kb.urgencies[level].label
        )
