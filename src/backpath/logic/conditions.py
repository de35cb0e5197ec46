"""Condition trees and their Kleene (three-valued) evaluation.

Written in the knowledge files as YAML:

- ``saddle_numbness`` - the finding is true
- ``age >= 50``, ``duration_days < 42``, ``pain_side == both`` - a comparison
- ``{not: C}``, ``{all: [C, ...]}``, ``{any: [C, ...]}``, ``{at_least: N, of: [C, ...]}``
- ``{missing: code}`` - the finding is unknown (never itself unknown)
- ``true`` - always true (for plan rules that always apply)

Unknown (``None``) follows SQL ``NULL`` semantics: ``all`` is false if any child is false,
``any`` is true if any child is true, ``not`` keeps unknown. Evaluation returns the value
*and* the findings that decided it, so every result explains itself in the same pass.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from backpath.errors import ConditionError
from backpath.vocabulary import FindingValue

Answers = Mapping[str, FindingValue]
Truth = bool | None

_COMPARISON = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*([A-Za-z0-9_.\-]+)\s*$")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Outcome:
    """The three-valued result of a condition and why.

    ``decided_by`` are the finding codes whose values made the result what it is (for a true
    ``all``: every child's; for a false ``all``: the first false child's). ``unknown`` are the
    codes that would have to be answered to settle an unknown result.
    """

    value: Truth
    decided_by: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


class Condition:
    """Base class of the condition tree."""

    kind: ClassVar[str] = ""

    def evaluate(self, answers: Answers) -> Outcome:
        """Evaluate with explanation (Kleene logic)."""
        raise NotImplementedError

    def compile(self) -> Callable[[Answers], Truth]:
        """A fast closure computing only the three-valued value (no explanation)."""
        raise NotImplementedError

    def codes(self) -> Iterator[str]:
        """Every finding code the condition mentions, in order of appearance."""
        raise NotImplementedError

    def to_data(self) -> Any:
        """The condition back in its YAML form (for docs and round trips)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Always(Condition):
    """Always true: a plan rule that applies to everyone."""

    kind: ClassVar[str] = "always"

    def evaluate(self, answers: Answers) -> Outcome:
        return Outcome(True)

    def compile(self) -> Callable[[Answers], Truth]:
        return lambda answers: True

    def codes(self) -> Iterator[str]:
        return iter(())

    def to_data(self) -> Any:
        return True


@dataclass(frozen=True)
class Is(Condition):
    """A boolean finding is true (unknown when not answered)."""

    kind: ClassVar[str] = "is"
    code: str

    def __post_init__(self) -> None:
        # Leaves are evaluated millions of times: their three outcomes are built once.
        object.__setattr__(self, "_true", Outcome(True, decided_by=(self.code,)))
        object.__setattr__(self, "_false", Outcome(False, decided_by=(self.code,)))
        object.__setattr__(self, "_unknown", Outcome(None, unknown=(self.code,)))

    def evaluate(self, answers: Answers) -> Outcome:
        value = answers.get(self.code)
        if value is None:
            return self._unknown  # type: ignore[attr-defined,no-any-return]
        return self._true if value is True else self._false  # type: ignore[attr-defined,no-any-return]

    def compile(self) -> Callable[[Answers], Truth]:
        code = self.code

        def is_true(answers: Answers) -> Truth:
            value = answers.get(code)
            return None if value is None else value is True

        return is_true

    def codes(self) -> Iterator[str]:
        yield self.code

    def to_data(self) -> Any:
        return self.code


@dataclass(frozen=True)
class Missing(Condition):
    """The finding is unknown. Used to make "not answered" count as the worse case."""

    kind: ClassVar[str] = "missing"
    code: str

    def evaluate(self, answers: Answers) -> Outcome:
        return Outcome(answers.get(self.code) is None, decided_by=(self.code,))

    def compile(self) -> Callable[[Answers], Truth]:
        code = self.code
        return lambda answers: answers.get(code) is None

    def codes(self) -> Iterator[str]:
        yield self.code

    def to_data(self) -> Any:
        return {"missing": self.code}


@dataclass(frozen=True)
class Compare(Condition):
    """A comparison of a finding with a constant; unknown when the finding is unknown."""

    kind: ClassVar[str] = "compare"
    code: str
    op: str
    value: int | str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_true", Outcome(True, decided_by=(self.code,)))
        object.__setattr__(self, "_false", Outcome(False, decided_by=(self.code,)))
        object.__setattr__(self, "_unknown", Outcome(None, unknown=(self.code,)))

    def evaluate(self, answers: Answers) -> Outcome:
        actual = answers.get(self.code)
        if actual is None:
            return self._unknown  # type: ignore[attr-defined,no-any-return]
        if _OPERATORS[self.op](actual, self.value):
            return self._true  # type: ignore[attr-defined,no-any-return]
        return self._false  # type: ignore[attr-defined,no-any-return]

    def compile(self) -> Callable[[Answers], Truth]:
        code, constant, op = self.code, self.value, _OPERATORS[self.op]

        def compare(answers: Answers) -> Truth:
            actual = answers.get(code)
            return None if actual is None else bool(op(actual, constant))

        return compare

    def codes(self) -> Iterator[str]:
        yield self.code

    def to_data(self) -> Any:
        return f"{self.code} {self.op} {self.value}"


@dataclass(frozen=True)
class Not(Condition):
    """Negation; unknown stays unknown."""

    kind: ClassVar[str] = "not"
    child: Condition

    def evaluate(self, answers: Answers) -> Outcome:
        inner = self.child.evaluate(answers)
        if inner.value is None:
            return inner
        return Outcome(not inner.value, inner.decided_by)

    def compile(self) -> Callable[[Answers], Truth]:
        child = self.child.compile()

        def negate(answers: Answers) -> Truth:
            value = child(answers)
            return None if value is None else not value

        return negate

    def codes(self) -> Iterator[str]:
        return self.child.codes()

    def to_data(self) -> Any:
        return {"not": self.child.to_data()}


@dataclass(frozen=True)
class All(Condition):
    """Conjunction: false if any child is false, true if all are true, else unknown."""

    kind: ClassVar[str] = "all"
    children: tuple[Condition, ...]

    def evaluate(self, answers: Answers) -> Outcome:
        decided: list[str] = []
        unknown: list[str] = []
        for child in self.children:
            inner = child.evaluate(answers)
            if inner.value is False:
                return Outcome(False, inner.decided_by)
            if inner.value is None:
                unknown.extend(inner.unknown)
            else:
                decided.extend(inner.decided_by)
        if unknown:
            return Outcome(None, _unique(decided), _unique(unknown))
        return Outcome(True, _unique(decided))

    def compile(self) -> Callable[[Answers], Truth]:
        children = tuple(child.compile() for child in self.children)

        def conjunction(answers: Answers) -> Truth:
            result: Truth = True
            for child in children:
                value = child(answers)
                if value is False:
                    return False
                if value is None:
                    result = None
            return result

        return conjunction

    def codes(self) -> Iterator[str]:
        for child in self.children:
            yield from child.codes()

    def to_data(self) -> Any:
        return {"all": [child.to_data() for child in self.children]}


@dataclass(frozen=True)
class AnyOf(Condition):
    """Disjunction: true if any child is true, false if all are false, else unknown."""

    kind: ClassVar[str] = "any"
    children: tuple[Condition, ...]

    def evaluate(self, answers: Answers) -> Outcome:
        decided: list[str] = []
        unknown: list[str] = []
        for child in self.children:
            inner = child.evaluate(answers)
            if inner.value is True:
                return Outcome(True, inner.decided_by)
            if inner.value is None:
                unknown.extend(inner.unknown)
            else:
                decided.extend(inner.decided_by)
        if unknown:
            return Outcome(None, _unique(decided), _unique(unknown))
        return Outcome(False, _unique(decided))

    def compile(self) -> Callable[[Answers], Truth]:
        children = tuple(child.compile() for child in self.children)

        def disjunction(answers: Answers) -> Truth:
            result: Truth = False
            for child in children:
                value = child(answers)
                if value is True:
                    return True
                if value is None:
                    result = None
            return result

        return disjunction

    def codes(self) -> Iterator[str]:
        for child in self.children:
            yield from child.codes()

    def to_data(self) -> Any:
        return {"any": [child.to_data() for child in self.children]}


@dataclass(frozen=True)
class AtLeast(Condition):
    """At least ``n`` children true. False once even the unknowns could not reach ``n``."""

    kind: ClassVar[str] = "at_least"
    n: int
    children: tuple[Condition, ...]

    def evaluate(self, answers: Answers) -> Outcome:
        true: list[str] = []
        false: list[str] = []
        unknown: list[str] = []
        count_true = count_unknown = 0
        for child in self.children:
            inner = child.evaluate(answers)
            if inner.value is True:
                count_true += 1
                true.extend(inner.decided_by)
            elif inner.value is None:
                count_unknown += 1
                unknown.extend(inner.unknown)
            else:
                false.extend(inner.decided_by)
        if count_true >= self.n:
            return Outcome(True, _unique(true))
        if count_true + count_unknown < self.n:
            return Outcome(False, _unique(false))
        return Outcome(None, _unique(true), _unique(unknown))

    def compile(self) -> Callable[[Answers], Truth]:
        children = tuple(child.compile() for child in self.children)
        n = self.n

        def at_least(answers: Answers) -> Truth:
            count_true = count_unknown = 0
            for child in children:
                value = child(answers)
                if value is True:
                    count_true += 1
                elif value is None:
                    count_unknown += 1
            if count_true >= n:
                return True
            if count_true + count_unknown < n:
                return False
            return None

        return at_least

    def codes(self) -> Iterator[str]:
        for child in self.children:
            yield from child.codes()

    def to_data(self) -> Any:
        return {"at_least": self.n, "of": [child.to_data() for child in self.children]}


def _unique(codes: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(codes))


def parse(data: Any, path: str = "when") -> Condition:
    """Parse the YAML form of a condition; ``ConditionError`` names the path of a bad node."""
    if data is True:
        return Always()
    if isinstance(data, str):
        if _CODE.match(data):
            return Is(data)
        match = _COMPARISON.match(data)
        if not match:
            raise ConditionError(
                f"cannot read {data!r}; expected a finding code or '<code> <op> <value>'"
                " with op one of >=, <=, >, <, ==, !=",
                path,
            )
        code, op, raw = match.groups()
        value: int | str = int(raw) if re.fullmatch(r"-?\d+", raw) else raw
        return Compare(code, op, value)
    if not isinstance(data, dict):
        raise ConditionError(f"expected a string or a mapping, got {type(data).__name__}", path)
    keys = set(data)
    if keys == {"not"}:
        return Not(parse(data["not"], f"{path}.not"))
    if keys == {"missing"}:
        code = data["missing"]
        if not isinstance(code, str) or not _CODE.match(code):
            raise ConditionError("missing: takes one finding code", f"{path}.missing")
        return Missing(code)
    if keys in ({"all"}, {"any"}):
        (kind,) = keys
        items = data[kind]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"{kind}: takes a non-empty list", f"{path}.{kind}")
        children = tuple(parse(item, f"{path}.{kind}[{i}]") for i, item in enumerate(items))
        return All(children) if kind == "all" else AnyOf(children)
    if keys == {"at_least", "of"}:
        n, items = data["at_least"], data["of"]
        if not isinstance(items, list) or not items:
            raise ConditionError("of: takes a non-empty list", f"{path}.of")
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(items):
            raise ConditionError(
                f"at_least: must be a whole number from 1 to {len(items)}", f"{path}.at_least"
            )
        children = tuple(parse(item, f"{path}.of[{i}]") for i, item in enumerate(items))
        return AtLeast(n, children)
    raise ConditionError(
        f"unknown operator {sorted(keys)}; valid: not, all, any, at_least+of, missing", path
    )


def walk(condition: Condition) -> Iterator[Condition]:
    """Every node of the tree, depth first."""
    yield condition
    if isinstance(condition, Not):
        yield from walk(condition.child)
    elif isinstance(condition, All | AnyOf | AtLeast):
        for child in condition.children:
            yield from walk(child)
