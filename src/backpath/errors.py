"""The error hierarchy of backpath.

Every error names *where* the problem is (a knowledge file and id, an intake field, an
instrument item) so that a clinician, an integrator or a patient-facing adapter can say
exactly what to fix. Nothing in a decision path swallows these: "no alert" must never mean
"crashed".
"""

from __future__ import annotations


class BackpathError(Exception):
    """Base class for every error backpath raises on purpose."""


class KnowledgeError(BackpathError):
    """The clinical knowledge base is invalid; it must not be used to triage anyone.

    ``problems`` lists every problem found (the loader collects them all before failing),
    each already formatted as ``file: id: message``.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s) in the knowledge base"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class RuleError(KnowledgeError):
    """One rule is invalid (unknown finding, bad operator, missing source...)."""

    def __init__(self, rule_id: str, file: str, field: str, message: str) -> None:
        self.rule_id = rule_id
        self.file = file
        self.field = field
        super().__init__([f"{file}: {rule_id}: {field}: {message}"])


class ConditionError(BackpathError):
    """A condition tree does not follow the condition language."""

    def __init__(self, message: str, path: str = "when") -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class IntakeError(BackpathError):
    """An intake is invalid. ``field`` names the offending field (e.g. ``answers.age``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ScoringError(BackpathError):
    """An instrument cannot be scored. Names the instrument and, where relevant, the item."""

    def __init__(self, instrument: str, item: str | None, message: str) -> None:
        self.instrument = instrument
        self.item = item
        self.message = message
        where = f"{instrument}.{item}" if item else instrument
        super().__init__(f"{where}: {message}")


class NarrativeError(BackpathError):
    """A narrative cannot be read safely (too long, not understood)."""
