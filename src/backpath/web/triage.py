"""The one place the web adapters call the core: Intake JSON in, Assessment out.

The narrative is read by ``backpath.nlp`` when that package is installed; when it is not,
the free text is kept but not read (``narrative_findings=()``), and every page says so. No
exception from the core is caught here: an intake that cannot be assessed is an error, never
a quiet "no red flags".
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.triage import Assessment, assess


def narrative_reader_available() -> bool:
    """True when ``backpath.nlp`` (the narrative reader) is installed."""
    return importlib.util.find_spec("backpath.nlp") is not None


@dataclass(frozen=True)
class Triaged:
    """An intake, its assessment, and whether the narrative (if any) was actually read."""

    intake: Intake
    assessment: Assessment
    narrative_read: bool

    @property
    def narrative_unread(self) -> bool:
        """True when the person wrote free text that did not feed the result."""
        return self.intake.narrative is not None and not self.narrative_read


def triage(data: Any, kb: KnowledgeBase, max_narrative_chars: int) -> Triaged:
    """Validate Intake JSON (``IntakeError`` names the field) and assess it."""
    intake = Intake.from_json(data, max_narrative_chars=max_narrative_chars)
    if intake.narrative is not None and not narrative_reader_available():
        assessment = assess(intake, kb, narrative_findings=())
        return Triaged(intake, assessment, narrative_read=False)
    assessment = assess(intake, kb)
    read = intake.narrative is not None and assessment.narrative_status == "read"
    return Triaged(intake, assessment, narrative_read=read)
