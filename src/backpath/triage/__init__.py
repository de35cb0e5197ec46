"""Triage: ``assess(intake) -> Assessment``, pure and deterministic.

The urgency of a result is the highest urgency among fired rules; when none fires it is the
knowledge base's baseline (never self-care). Rules that could still fire are returned as
``unresolved`` with the questions that would decide them, ordered by the urgency they could
reach. Findings read from the narrative join the answers under the knowledge base's
narrative policy: a red flag found in the person's words counts even when a form answer
said "no", and the conflict is recorded.
"""

from backpath.triage.engine import (
    Assessment,
    Conflict,
    Evidence,
    FiredRule,
    UnresolvedRule,
    assess,
    assess_json,
)

__all__ = [
    "Assessment",
    "Conflict",
    "Evidence",
    "FiredRule",
    "UnresolvedRule",
    "assess",
    "assess_json",
]
