"""The typed intake: what a person told us, before any clinical reasoning.

An intake holds structured answers keyed by finding code (a missing code means *unknown*),
an optional free-text narrative, optional instrument answers and the language to answer in.
``Intake.from_json`` validates a JSON object against the findings vocabulary and raises an
``IntakeError`` naming the field; it never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backpath.errors import IntakeError
from backpath.vocabulary import FindingType, FindingValue

# A NUL byte or a lone surrogate (issue 11): never valid in a narrative.
_FORBIDDEN_CHARS = re.compile("[\x00\ud800-\udfff]")

_TOP_LEVEL_KEYS = frozenset(
    {"age", "sex", "answers", "narrative", "instruments", "language", "id", "patient_ref"}
)


@dataclass(frozen=True)
class NarrativeFinding:
    """One finding read from the person's own words, with the words it rests on.

    ``certainty`` is one of ``affirmed``, ``negated``, ``uncertain``, ``historical``,
    ``hypothetical`` or ``family``; ``value`` is already resolved for the code (for example
    ``True`` for ``cancer_history`` read from "I had cancer 10 years ago").
    ``span`` is the ``[start, end)`` character offsets of ``text`` in the narrative.
    """

    code: str
    value: FindingValue
    certainty: str
    text: str
    span: tuple[int, int]


@dataclass(frozen=True)
class Intake:
    """A validated intake.

    ``answers`` never contains ``None`` values. The two kinds of unknown are kept apart
    (DESIGN.md, v2): a code that is absent from both ``answers`` and ``unsure`` was *not
    asked yet*; a code in ``unsure`` was asked and the person said "not sure" (``null`` in
    the Intake JSON). Both count as unknown in the rules - never as "no" - but only the
    first means the interview is incomplete, and only the second can escalate a result
    (see ``manifest.yaml`` ``uncertainty``).
    """

    answers: Mapping[str, FindingValue]
    narrative: str | None = None
    instruments: Mapping[str, Any] = field(default_factory=dict)
    language: str = "en"
    intake_id: str | None = None
    unsure: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, data: Any, max_narrative_chars: int = 20_000) -> Intake:
        """Validate a decoded JSON object against the findings vocabulary.

        ``age`` and ``sex`` may be given at the top level or in ``answers``; a top-level
        value is used when ``answers`` has none, and one that disagrees with ``answers`` is
        an ``IntakeError`` on the top-level field. Raises ``IntakeError(field)``.
        """
        from backpath.kb import load_knowledge

        kb = load_knowledge()
        if not isinstance(data, dict):
            raise IntakeError("(root)", "an intake must be a JSON object")
        unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
        if unknown:
            raise IntakeError(
                unknown[0],
                f"unknown field; expected one of {', '.join(sorted(_TOP_LEVEL_KEYS))}",
            )
        raw_answers = data.get("answers", {})
        if raw_answers is None:
            raw_answers = {}
        if not isinstance(raw_answers, dict):
            raise IntakeError("answers", "must be an object mapping finding codes to values")
        merged: dict[str, Any] = dict(raw_answers)
        for key in ("age", "sex"):
            if key not in data or data[key] is None:
                continue
            if merged.get(key) is None:
                merged[key] = data[key]
            elif merged[key] != data[key] or type(merged[key]) is not type(data[key]):
                # Two different answers to one question: never pick one silently.
                raise IntakeError(
                    key,
                    f"{data[key]!r} disagrees with answers.{key} ({merged[key]!r}); give it once",
                )
        answers: dict[str, FindingValue] = {}
        unsure: set[str] = set()
        findings = kb.findings
        boolean = FindingType.BOOLEAN
        for code, value in merged.items():
            finding = findings.get(code)
            if finding is not None and value.__class__ is bool and finding.type is boolean:
                answers[code] = value  # the common case: a yes/no answer to a yes/no question
                continue
            where = f"answers.{code}" if code in raw_answers else code
            if finding is None:
                raise IntakeError(where, "unknown finding code")
            if value is None:
                unsure.add(code)
                continue
            answers[code] = _coerce(where, finding.type, value, finding)
        narrative = data.get("narrative")
        if narrative is not None:
            if not isinstance(narrative, str):
                raise IntakeError("narrative", "must be a string")
            if len(narrative) > max_narrative_chars:
                raise IntakeError(
                    "narrative",
                    f"is {len(narrative)} characters; the limit is {max_narrative_chars}",
                )
            bad = _FORBIDDEN_CHARS.search(narrative)
            if bad is not None:
                # A NUL byte or a lone surrogate cannot come from a keyboard and breaks
                # storage and output encoders: refuse it here, never a server error later.
                what = "a NUL byte" if bad.group() == "\x00" else "an invalid character"
                raise IntakeError(
                    "narrative",
                    f"contains {what} at character {bad.start()}; retype it or paste it as "
                    "plain text",
                )
            narrative = narrative if narrative.strip() else None
        instruments = data.get("instruments") or {}
        if not isinstance(instruments, dict):
            raise IntakeError("instruments", "must be an object keyed by instrument id")
        _check_instruments(instruments)
        language = data.get("language", "en") or "en"
        if not isinstance(language, str) or language not in kb.languages:
            raise IntakeError(
                "language", f"unsupported language; expected one of {', '.join(kb.languages)}"
            )
        intake_id = data.get("id")
        if intake_id is not None and (
            isinstance(intake_id, bool) or not isinstance(intake_id, str | int)
        ):
            raise IntakeError("id", "must be a string or a number")
        patient_ref = data.get("patient_ref")
        if patient_ref is not None and not isinstance(patient_ref, str):
            raise IntakeError(
                "patient_ref", "must be a string (a FHIR reference such as Patient/123)"
            )
        return cls(
            answers=answers,
            narrative=narrative,
            instruments=instruments,
            language=language,
            intake_id=None if intake_id is None else str(intake_id),
            unsure=frozenset(unsure),
        )

    def to_json(self) -> dict[str, Any]:
        """The intake in the public Intake JSON shape (round-trips through ``from_json``)."""
        answers = {
            code: list(value) if isinstance(value, tuple) else value
            for code, value in self.answers.items()
        }
        for code in sorted(self.unsure):
            answers.setdefault(code, None)
        out: dict[str, Any] = {"answers": answers, "language": self.language}
        if self.narrative is not None:
            out["narrative"] = self.narrative
        if self.instruments:
            out["instruments"] = dict(self.instruments)
        if self.intake_id is not None:
            out["id"] = self.intake_id
        return out


def _check_instruments(instruments: Mapping[str, Any]) -> None:
    """Score each administration once so that a bad answer is reported at validation."""
    if not instruments:
        return
    from backpath.errors import ScoringError
    from backpath.instruments import score

    for instrument_id, answers in instruments.items():
        try:
            score(instrument_id, answers)
        except ScoringError as exc:
            where = f"instruments.{instrument_id}" + (f".{exc.item}" if exc.item else "")
            raise IntakeError(where, exc.message) from exc


def _coerce(where: str, ftype: FindingType, value: Any, finding: Any) -> FindingValue:
    """Check one answer against its finding definition and return the typed value."""
    if ftype is FindingType.BOOLEAN:
        if isinstance(value, bool):
            return value
        raise IntakeError(where, f"must be true, false or null, not {value!r}")
    if ftype is FindingType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise IntakeError(where, f"must be a whole number, not {value!r}")
        if isinstance(value, float):
            if not value.is_integer():
                raise IntakeError(where, f"must be a whole number, not {value!r}")
            value = int(value)
        if finding.min is not None and value < finding.min:
            raise IntakeError(where, f"must be at least {finding.min}, not {value}")
        if finding.max is not None and value > finding.max:
            raise IntakeError(where, f"must be at most {finding.max}, not {value}")
        return int(value)
    allowed = finding.allowed_values
    if ftype is FindingType.CHOICE:
        if not isinstance(value, str) or value not in allowed:
            raise IntakeError(where, f"must be one of {', '.join(allowed)}, not {value!r}")
        return value
    if not isinstance(value, list | tuple):
        raise IntakeError(where, "must be a list")
    for item in value:
        if not isinstance(item, str) or item not in allowed:
            raise IntakeError(where, f"{item!r} is not one of {', '.join(allowed)}")
    return tuple(dict.fromkeys(value))
