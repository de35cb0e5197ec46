"""Render a condition tree as plain English for catalogues and explanations."""

from __future__ import annotations

from collections.abc import Callable

from backpath.logic.conditions import (
    All,
    Always,
    AnyOf,
    AtLeast,
    Compare,
    Condition,
    Is,
    Missing,
    Not,
)

_OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "is", "!=": "is not"}


def to_text(condition: Condition, label: Callable[[str], str] = str, indent: int = 0) -> str:
    """A nested bullet list a clinician can read (``label`` maps a code to its label)."""
    pad = "  " * indent
    if isinstance(condition, Always):
        return f"{pad}- always"
    if isinstance(condition, Is):
        return f"{pad}- {label(condition.code)}"
    if isinstance(condition, Missing):
        return f"{pad}- {label(condition.code)} is not known"
    if isinstance(condition, Compare):
        return f"{pad}- {label(condition.code)} {_OPS[condition.op]} {condition.value}"
    if isinstance(condition, Not):
        inner = condition.child
        if isinstance(inner, Is):
            return f"{pad}- NOT {label(inner.code)} (answered no)"
        return f"{pad}- NOT:\n" + to_text(inner, label, indent + 1)
    if isinstance(condition, All):
        head = "ALL of"
    elif isinstance(condition, AnyOf):
        head = "ANY of"
    elif isinstance(condition, AtLeast):
        head = f"AT LEAST {condition.n} of"
    else:  # pragma: no cover - exhaustive above
        raise TypeError(type(condition).__name__)
    lines = [f"{pad}- {head}:"]
    lines.extend(to_text(child, label, indent + 1) for child in condition.children)
    return "\n".join(lines)
