"""The condition language: declarative trees over finding codes, three-valued.

A condition is parsed once (``parse``) into an immutable tree of ``Condition`` nodes. The same
tree is evaluated in Python (``evaluate`` -> value plus the findings that decided it) and
compiled to a SQL boolean expression (``to_sql``) with identical semantics: SQL ``NULL`` is
*unknown*, exactly as a missing answer is here.
"""

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
    Outcome,
    parse,
)
from backpath.logic.sql import to_sql

__all__ = [
    "All",
    "Always",
    "AnyOf",
    "AtLeast",
    "Compare",
    "Condition",
    "Is",
    "Missing",
    "Not",
    "Outcome",
    "parse",
    "to_sql",
]
