"""Compile a condition tree to a SQL boolean expression with identical semantics.

Finding codes become column names; an unknown finding is SQL ``NULL``. SQL's ``AND``, ``OR``
and ``NOT`` already follow Kleene logic, so ``all``/``any``/``not`` translate directly.
``at_least`` counts true and unknown children with ``CASE``. The output is portable across
SQLite, DuckDB, PostgreSQL and Spark SQL (no dialect-specific functions).
"""

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

_SQL_OPERATORS = {">=": ">=", "<=": "<=", ">": ">", "<": "<", "==": "=", "!=": "<>"}


def to_sql(condition: Condition, column: str | Callable[[str], str] = "{code}") -> str:
    """Return a SQL expression; ``column`` turns a code into a column (or an expression):
    a template such as ``"t.{code}"``, or a function of the code."""

    def col(code: str) -> str:
        return column(code) if callable(column) else column.format(code=code)

    def emit(node: Condition) -> str:
        if isinstance(node, Always):
            return "(1 = 1)"
        if isinstance(node, Is):
            return f"({col(node.code)} = TRUE)"
        if isinstance(node, Missing):
            return f"({col(node.code)} IS NULL)"
        if isinstance(node, Compare):
            if isinstance(node.value, str):
                literal = "'" + node.value.replace("'", "''") + "'"
            else:
                literal = str(node.value)
            return f"({col(node.code)} {_SQL_OPERATORS[node.op]} {literal})"
        if isinstance(node, Not):
            return f"(NOT {emit(node.child)})"
        if isinstance(node, All):
            return "(" + " AND ".join(emit(child) for child in node.children) + ")"
        if isinstance(node, AnyOf):
            return "(" + " OR ".join(emit(child) for child in node.children) + ")"
        if isinstance(node, AtLeast):
            trues = " + ".join(f"(CASE WHEN {emit(c)} THEN 1 ELSE 0 END)" for c in node.children)
            unknowns = " + ".join(
                f"(CASE WHEN {emit(c)} IS NULL THEN 1 ELSE 0 END)" for c in node.children
            )
            return (
                f"(CASE WHEN ({trues}) >= {node.n} THEN TRUE"
                f" WHEN ({trues}) + ({unknowns}) < {node.n} THEN FALSE ELSE NULL END)"
            )
        raise TypeError(f"cannot compile {type(node).__name__} to SQL")

    return emit(condition)
