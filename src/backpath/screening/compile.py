"""Compile the knowledge base into the one SQL query that decides every row of a population.

The query reproduces ``backpath.triage.assess`` for urgency and fired rules, with SQL
``NULL`` as *unknown*, in five common-table stages:

1. ``answered`` - the findings' ``implies`` (a "yes" fills in the implied "yes"), applied
   in the order ``assess`` applies them;
2. ``evaluated`` - every rule's value and the value of each inner node of its condition
   (needed to know *which* unknowns keep a rule open), plus each question's ``ask_if`` and
   whether a code was answered "not sure";
3. ``based`` - the highest urgency among fired rules, or the knowledge base's baseline;
4. ``checked`` - whether the interview is complete (no question that was never asked could
   still raise the urgency) and whether a serious rule is open only because of "not sure";
5. ``decided`` - the safety meta-rules of ``safety.yaml`` ("not sure" never ends as routine;
   words that could not be read never end as self-care), the final urgency, the fired rules
   in ``assess`` order and the concerns.

Input table: ``key`` (the row id), one column per scalar finding code (``NULL`` = unknown),
``unsure_codes`` (the codes answered "not sure", separated by spaces, or ``NULL``) and
``narrative_unclear`` (TRUE when a narrative was not understood or holds danger words the
reader could not place; ``NULL`` for rows without one). The query uses only ``CASE``,
``AND/OR/NOT``, ``IS NULL``, ``COALESCE``, ``concat``, ``concat_ws`` and
``position(... IN ...)``, so it runs unchanged on DuckDB and Spark SQL (and Trino,
PostgreSQL). Tests prove it equals ``assess`` row by row on generated populations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from backpath.kb import KnowledgeBase, Rule
from backpath.logic import to_sql
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
    parse,
)
from backpath.vocabulary import Concern, FindingType, Urgency

SQL_TYPES = {
    FindingType.BOOLEAN: "BOOLEAN",
    FindingType.INTEGER: "BIGINT",
    FindingType.CHOICE: "VARCHAR",
}
"""The SQL type of each scalar finding type (a multi-choice finding is validated, never
used by a triage rule, and not carried into the query)."""

UNSURE_COLUMN = "unsure_codes"
NARRATIVE_COLUMN = "narrative_unclear"
DANGER_COLUMN = "danger_words"
RESULT_COLUMNS = ("urgency", "concerns", "fired_rules", "complete")
"""What the query adds to each row: the urgency, the concerns and fired rule ids (each
separated by one space, most urgent rule first) and whether the interview is complete."""


def screening_columns(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """The (code, SQL type) columns a screening table has: every scalar finding."""
    return [(code, SQL_TYPES[f.type]) for code, f in kb.findings.items() if f.type in SQL_TYPES]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Node:
    """An inner node of a rule's condition with the column that holds its value."""

    node: Condition
    column: str


def _inner_nodes(rule: Rule) -> Iterator[tuple[Condition, str]]:
    """Every ``all``/``any``/``at_least`` node of a rule with a column name for its value."""
    counter = 0

    def visit(node: Condition) -> Iterator[tuple[Condition, str]]:
        nonlocal counter
        if isinstance(node, All | AnyOf | AtLeast):
            yield node, f"__n_{rule.id}_{counter}"
            counter += 1
            for child in node.children:
                yield from visit(child)
        elif isinstance(node, Not):
            yield from visit(node.child)

    yield from visit(rule.condition)


def _open_because(node: Condition, columns: dict[int, str], predicate: dict[str, str]) -> str:
    """SQL: the node is unknown and one of the codes that keep it unknown satisfies
    ``predicate[code]`` (codes without a predicate never do).

    Mirrors ``Outcome.unknown``: a leaf is unknown when its finding is; ``not`` passes its
    child's unknowns through; ``all``/``any``/``at_least`` that are unknown collect the
    unknowns of their unknown children.
    """
    if isinstance(node, Is | Compare):
        test = predicate.get(node.code)
        return "FALSE" if test is None else f"({node.code} IS NULL AND {test})"
    if isinstance(node, Missing | Always):
        return "FALSE"
    if isinstance(node, Not):
        return _open_because(node.child, columns, predicate)
    if isinstance(node, All | AnyOf | AtLeast):
        parts = [_open_because(child, columns, predicate) for child in node.children]
        parts = [part for part in parts if part != "FALSE"]
        if not parts:
            return "FALSE"
        return f"({columns[id(node)]} IS NULL AND ({' OR '.join(parts)}))"
    raise TypeError(f"cannot compile {type(node).__name__}")


def _measured_given(kb: KnowledgeBase, rule: Rule) -> list[str]:
    """SQL tests that each measured sign ``rule`` needs was given: a rule that needs a number
    nobody gave is not open (the engine leaves it out of ``unresolved``)."""
    if rule.urgency is Urgency.SELF_CARE:
        return []  # it names them only to accept them unknown
    return [
        f"{code} IS NOT NULL"
        for code in dict.fromkeys(rule.condition.codes())
        if code in kb.given_only_codes
    ]


def triage_sql(
    kb: KnowledgeBase | None = None,
    table: str = "intakes",
    key: str = "row_id",
    *,
    passthrough: Sequence[str] = (),
    unsure_column: str | None = UNSURE_COLUMN,
    narrative_column: str | None = NARRATIVE_COLUMN,
    danger_column: str | None = DANGER_COLUMN,
    order_by_key: bool = True,
) -> str:
    """One SQL query: per row of ``table``, ``key``, the ``passthrough`` columns and
    ``urgency``, ``concerns``, ``fired_rules``, ``complete`` (see the module docstring).

    ``unsure_column``/``narrative_column`` may be ``None`` for a table without "not sure"
    answers or narratives. ``order_by_key`` sorts the result by ``key``; a pipeline that
    keeps its input order leaves it off (a sort holds every row).
    """
    if kb is None:
        from backpath.kb import load_knowledge

        kb = load_knowledge()
    columns = [code for code, _ in screening_columns(kb)]
    # Stage 1: implications, applied one after the other exactly as ``assess`` does.
    expression = {code: code for code in columns}
    for source, targets in kb.implications:
        for target in targets:
            if target in expression and source in expression:
                expression[target] = (
                    f"CASE WHEN ({expression[source]}) = TRUE THEN TRUE"
                    f" ELSE ({expression[target]}) END"
                )
    unsure = f"concat(' ', {unsure_column}, ' ')" if unsure_column else "CAST(NULL AS STRING)"
    narrative = f"COALESCE({narrative_column}, FALSE)" if narrative_column else "FALSE"
    danger = f"COALESCE({danger_column}, FALSE)" if danger_column else "FALSE"
    carried = [key, *passthrough]
    answered = ", ".join(
        [*carried]
        + [
            code if expression[code] == code else f"{expression[code]} AS {code}"
            for code in columns
        ]
        + [
            f"{unsure} AS __unsure",
            f"{narrative} AS __narrative_unclear",
            f"{danger} AS __danger_words",
        ]
    )

    # Stage 2: rules, inner nodes, question gates and "not sure" flags.
    used = list(dict.fromkeys(code for rule in kb.rules for code in rule.condition.codes()))
    gates = {
        question.code: question.ask_if for section in kb.sections for question in section.questions
    }
    node_columns: dict[int, str] = {}
    evaluated: list[str] = []
    for rule in kb.rules:
        evaluated.append(f"{to_sql(rule.condition)} AS __r_{rule.id}")
        for node, column in _inner_nodes(rule):
            node_columns[id(node)] = column
            evaluated.append(f"{to_sql(node)} AS {column}")
    for code in used:
        evaluated.append(
            f"COALESCE(position({_literal(' ' + code + ' ')} IN __unsure) > 0, FALSE) AS __s_{code}"
        )
        if code in gates and gates[code] is not None:
            evaluated.append(f"COALESCE({to_sql(parse(gates[code]))}, TRUE) AS __g_{code}")

    # Stage 3: the urgency of the fired rules (or the baseline).
    by_rank = sorted(Urgency, key=lambda u: -u.rank)
    base_case = ["CASE"]
    for level in by_rank:
        fired = [f"__r_{rule.id} = TRUE" for rule in kb.rules if rule.urgency is level]
        if fired:
            base_case.append(f"WHEN {' OR '.join(fired)} THEN {level.rank}")
    base_case.append(f"ELSE {kb.manifest.baseline_urgency.rank} END AS __base_rank")

    # Stage 4: open only because of "not sure"? And the rule such answers complete: the
    # first (most urgent, in rule order) of at least ``unsure_completes_from`` that is true
    # with every "not sure" yes/no answer taken as "yes" and names a red-flag sign answered
    # "yes" (``engine._unsure_escalation``).
    never_asked = {
        code: f"(NOT __s_{code} AND " + (f"__g_{code})" if gates[code] is not None else "TRUE)")
        for code in used
        if code in gates
    }
    # A measured sign (never asked) "not sure" is a number nobody gave: it opens nothing
    # (``engine._Memo.unresolved_rules``).
    was_unsure = {
        code: "FALSE" if code in kb.given_only_codes else f"__s_{code}" for code in used
    }
    boolean = {code for code in used if kb.findings[code].type is FindingType.BOOLEAN}

    def as_yes(code: str) -> str:
        if code in boolean:
            return f"(CASE WHEN {code} IS NULL AND __s_{code} THEN TRUE ELSE {code} END)"
        return code

    doubted = []
    completing: list[tuple[Rule, str]] = []
    threshold = kb.safety.unsure_escalates_from.rank
    completes_from = kb.safety.unsure_completes_from.rank
    risks = set(kb.safety.unsure_risk_factors)
    for rule in kb.rules_by_urgency:
        rank = rule.urgency.rank
        if rank < threshold:
            continue
        unsure_open = _open_because(rule.condition, node_columns, was_unsure)
        if unsure_open == "FALSE":
            continue
        tests = [f"__base_rank < {rank}", f"__r_{rule.id} IS NULL", unsure_open]
        opened = f"({' AND '.join([*tests, *_measured_given(kb, rule)])})"
        doubted.append(opened)
        signs = [
            code
            for code in dict.fromkeys(rule.condition.codes())
            if kb.findings[code].red_flag and code not in risks and code in boolean
        ]
        signs += [code for code in kb.safety.unsure_context_signs if code not in signs]
        if rank >= completes_from and signs:
            supported = " OR ".join(f"{code} = TRUE" for code in signs)
            completing.append(
                (
                    rule,
                    f"({opened} AND ({to_sql(rule.condition, as_yes)}) = TRUE AND ({supported}))",
                )
            )
    doubt = " OR ".join(doubted) if doubted else "FALSE"
    completed = (
        "CASE "
        + " ".join(f"WHEN {test} THEN {_literal(rule.id)}" for rule, test in completing)
        + " END"
        if completing
        else "CAST(NULL AS STRING)"
    )
    completed_rank = (
        "CASE __completed "
        + " ".join(f"WHEN {_literal(rule.id)} THEN {rule.urgency.rank}" for rule, _ in completing)
        + " ELSE -1 END"
    )

    # Stage 5: meta-rules, final urgency, complete, fired rules in assess order, concerns.
    unsure_rule, narrative_rule = kb.unsure_rule, kb.narrative_rule
    danger_rule = kb.danger_words_rule
    meta_rank = unsure_rule.urgency.rank
    rank_0 = (
        f"CASE WHEN ({completed_rank}) > __base_rank THEN ({completed_rank}) ELSE __base_rank END"
    )
    rank_1 = (
        f"CASE WHEN __unsure_fires AND {meta_rank} > ({rank_0}) THEN {meta_rank}"
        f" ELSE ({rank_0}) END"
    )
    self_care = Urgency.SELF_CARE.rank
    danger_fires = f"__danger_words AND ({rank_1}) < {danger_rule.urgency.rank}"
    narrative_fires = f"NOT ({danger_fires}) AND ({rank_1}) = {self_care} AND __narrative_unclear"
    final_rank = (
        f"CASE WHEN __danger_fires THEN {danger_rule.urgency.rank}"
        f" WHEN __narrative_fires THEN {narrative_rule.urgency.rank} ELSE {rank_1} END"
    )
    pending = []
    for rule in kb.rules:
        waits = _open_because(rule.condition, node_columns, never_asked)
        if waits != "FALSE":
            waits = " AND ".join([waits, *_measured_given(kb, rule)])
            pending.append(
                f"(__final_rank < {rule.urgency.rank} AND __r_{rule.id} IS NULL AND {waits})"
            )
    complete = f"NOT ({' OR '.join(pending)})" if pending else "TRUE"
    urgency_case = (
        "CASE __final_rank "
        + " ".join(f"WHEN {u.rank} THEN {_literal(u.value)}" for u in by_rank)
        + " END"
    )
    fired_parts: list[str] = []
    for level in by_rank:
        for rule in kb.rules:
            if rule.urgency is level:
                fired_parts.append(f"CASE WHEN __r_{rule.id} = TRUE THEN {_literal(rule.id)} END")
        for rule, _ in completing:
            if rule.urgency is level:
                fired_parts.append(
                    f"CASE WHEN __completed = {_literal(rule.id)} THEN {_literal(rule.id)} END"
                )
        if unsure_rule.urgency is level:
            fired_parts.append(f"CASE WHEN __unsure_fires THEN {_literal(unsure_rule.id)} END")
        if danger_rule.urgency is level:
            fired_parts.append(f"CASE WHEN __danger_fires THEN {_literal(danger_rule.id)} END")
        if narrative_rule.urgency is level:
            fired_parts.append(
                f"CASE WHEN __narrative_fires THEN {_literal(narrative_rule.id)} END"
            )
    concern_parts: list[str] = []
    for concern in Concern:
        tests = [f"__r_{rule.id} = TRUE" for rule in kb.rules if rule.spec.concern is concern]
        tests += [
            f"__completed = {_literal(rule.id)}"
            for rule, _ in completing
            if rule.spec.concern is concern
        ]
        if unsure_rule.spec.concern is concern:
            tests.append("__unsure_fires")
        if danger_rule.spec.concern is concern:
            tests.append("__danger_fires")
        if narrative_rule.spec.concern is concern:
            tests.append("__narrative_fires")
        if tests:
            concern_parts.append(
                f"CASE WHEN {' OR '.join(tests)} THEN {_literal(concern.value)} END"
            )

    out = ", ".join(carried)
    return (
        f"WITH answered AS (SELECT {answered} FROM {table}),\n"
        f"evaluated AS (SELECT *, {', '.join(evaluated)} FROM answered),\n"
        f"based AS (SELECT *, {' '.join(base_case)} FROM evaluated),\n"
        f"checked AS (SELECT *, ({doubt}) AS __unsure_fires, {completed} AS __completed"
        f" FROM based),\n"
        f"narrated AS (SELECT *, ({danger_fires}) AS __danger_fires,"
        f" ({narrative_fires}) AS __narrative_fires FROM checked),\n"
        f"ranked AS (SELECT *, {final_rank} AS __final_rank FROM narrated),\n"
        f"decided AS (SELECT *, {complete} AS __complete FROM ranked)\n"
        f"SELECT {out}, {urgency_case} AS urgency,\n"
        f"concat_ws(' ', {', '.join(concern_parts)}) AS concerns,\n"
        f"concat_ws(' ', {', '.join(fired_parts)}) AS fired_rules,\n"
        f"__complete AS complete\n"
        f"FROM decided" + (f" ORDER BY {key}" if order_by_key else "")
    )
