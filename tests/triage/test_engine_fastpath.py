"""The one-pass triage core (issue 14) decides and explains exactly as the reference does.

``assess`` runs every rule through one generated function (``kb.program``) that returns
each rule's value with the findings that decided it, shares immutable result pieces between
results, and writes the Result JSON straight to bytes for the API. These tests hold it to
independent evaluations: the condition trees' own ``evaluate`` (node by node, in Python),
the rules compiled to SQL and run by DuckDB, and a separately generated inline function.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
import yaml

from backpath.intake import Intake, NarrativeFinding
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.kb.loader import KNOWLEDGE_DIR, SAFE_YAML_LOADER, compile_rule_set, safe_load_yaml
from backpath.logic import to_sql
from backpath.triage import Assessment, UnresolvedRule, assess, engine
from backpath.triage.engine import prepare_answers
from backpath.vocabulary import Concern, FindingType, Urgency

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = ROOT / "tests" / "cases"


def _throughput_benchmark() -> Any:
    """``benchmarks/triage_throughput.py`` as a module (its generator and inline ceiling)."""
    spec = importlib.util.spec_from_file_location(
        "triage_throughput", ROOT / "benchmarks" / "triage_throughput.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("triage_throughput", module)
    spec.loader.exec_module(module)
    return module


BENCH = _throughput_benchmark()


def _intakes(kb: KnowledgeBase, n: int, seed: int) -> list[Intake]:
    """Generated intakes: the benchmark's plausible answers, a third with many left out."""
    rng = random.Random(seed)
    out = []
    for index in range(n):
        answers = BENCH.random_answers(rng, kb)
        if index % 3 == 0:
            answers = {code: value for code, value in answers.items() if rng.random() < 0.5}
        out.append(Intake(answers=answers))
    return out


def _variants(kb: KnowledgeBase, n: int, seed: int) -> list[tuple[Intake, Any]]:
    """Intakes with "not sure" answers, Spanish, and findings read from a narrative."""
    rng = random.Random(seed)
    booleans = [c for c, f in kb.findings.items() if f.type is FindingType.BOOLEAN]
    out = []
    for _ in range(n):
        answers = {
            code: value
            for code, value in BENCH.random_answers(rng, kb).items()
            if rng.random() < 0.6
        }
        unsure = frozenset(c for c in kb.findings if c not in answers and rng.random() < 0.2)
        findings = None
        if rng.random() < 0.3:
            findings = [
                NarrativeFinding(
                    code=code,
                    value=rng.random() < 0.5,
                    certainty=rng.choice(["affirmed", "negated", "uncertain", "historical"]),
                    text="in my own words",
                    span=(0, 15),
                )
                for code in rng.sample(booleans, 3)
            ]
        language = rng.choice(["en", "es"])
        out.append((Intake(answers=answers, unsure=unsure, language=language), findings))
    return out


def _cases() -> list[Intake]:
    return [
        Intake.from_json(yaml.safe_load(path.read_text(encoding="utf-8"))["intake"])
        for path in sorted(CASES_DIR.glob("*.yaml"))
    ]


# ---------------------------------------------------------------- the program


def test_program_decides_and_explains_like_evaluate_on_generated_intakes(
    kb: KnowledgeBase,
) -> None:
    """For every rule: the same value, and the same codes (decided_by when true or false,
    unknown when undecided), as ``Condition.evaluate`` - on 4,000 generated intakes."""
    checked = {True: 0, False: 0, None: 0}
    for intake in _intakes(kb, 4000, seed=1411):
        answers = prepare_answers(intake, kb).answers
        fired, undecided = kb.program.decide(answers)
        expected_fired, expected_undecided = [], []
        for rule in kb.rules_by_urgency:
            outcome = rule.condition.evaluate(answers)
            checked[outcome.value] += 1
            if outcome.value is True:
                expected_fired.append((rule.id, outcome.decided_by))
            elif outcome.value is None:
                expected_undecided.append((rule.id, outcome.unknown))
        assert [(r.id, codes) for r, codes in fired] == expected_fired
        assert [(r.id, codes) for r, codes in undecided] == expected_undecided
    assert min(checked.values()) > 1000, checked


def test_program_handles_every_operator_and_repeated_codes() -> None:
    """Hand-made trees with ``not``, ``at_least``, ``missing``, shared sub-conditions and a
    code repeated across children agree with ``evaluate`` on every answer combination."""
    from backpath.kb.loader import Rule
    from backpath.kb.schema import RuleDef
    from backpath.logic.conditions import parse

    trees: list[Any] = [
        {"all": ["a", {"any": ["b", "a"]}, {"not": "c"}]},
        {"any": [{"all": ["a", "b"]}, {"all": ["b", "c"]}, {"missing": "a"}]},
        {"at_least": 2, "of": ["a", {"not": "b"}, "n >= 3", {"any": ["c", "a"]}]},
        {"not": {"at_least": 1, "of": [{"all": ["a", "n < 2"]}, "c"]}},
        {"any": ["a", "a", {"not": {"not": "b"}}]},
        True,
    ]
    rules = []
    for index, tree in enumerate(trees):
        condition = parse(tree)
        spec = RuleDef(
            id=f"t{index}",
            title="test",
            concern=Concern.RADICULOPATHY,
            urgency=Urgency.ROUTINE,
            when=tree,
            patient="p",
            clinician="c",
            sources=("x",),
        )
        rules.append(Rule(spec, condition, condition.compile(), "test"))
    program = compile_rule_set(rules)
    values: list[Any] = [None, True, False]
    for a in values:
        for b in values:
            for c in values:
                for n in (None, 1, 2, 3, 4):
                    answers = {
                        k: v for k, v in {"a": a, "b": b, "c": c, "n": n}.items() if v is not None
                    }
                    fired, undecided = program.decide(answers)
                    got: dict[str, tuple[bool | None, tuple[str, ...]]] = {
                        r.id: (True, codes) for r, codes in fired
                    }
                    got.update({r.id: (None, codes) for r, codes in undecided})
                    for rule in rules:
                        outcome = rule.condition.evaluate(answers)
                        if outcome.value is True:
                            assert got[rule.id] == (True, outcome.decided_by), (rule.id, answers)
                        elif outcome.value is None:
                            assert got[rule.id] == (None, outcome.unknown), (rule.id, answers)
                        else:
                            assert rule.id not in got, (rule.id, answers)


def test_rules_by_urgency_are_sorted_once_and_keep_file_order(kb: KnowledgeBase) -> None:
    """Most urgent first; within one urgency, the order of the rule files; computed once."""
    ordered = kb.rules_by_urgency
    assert sorted(ordered, key=lambda r: r.id) == sorted(kb.rules, key=lambda r: r.id)
    ranks = [rule.urgency.rank for rule in ordered]
    assert ranks == sorted(ranks, reverse=True)
    for urgency in Urgency:
        assert [r for r in ordered if r.urgency is urgency] == [
            r for r in kb.rules if r.urgency is urgency
        ]
    assert kb.rules_by_urgency is ordered
    assert kb.program.rules == ordered


# ---------------------------------------------------------------- independent evaluations


def _sql_verdicts(kb: KnowledgeBase, rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Every rule's value per row, from the rules compiled to SQL and run in DuckDB."""
    types = {FindingType.BOOLEAN: "BOOLEAN", FindingType.INTEGER: "INTEGER"}
    codes = sorted({code for rule in kb.rules for code in rule.condition.codes()})
    columns = [(code, types.get(kb.findings[code].type, "VARCHAR")) for code in codes]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE intakes (rowid_ INTEGER, "
        + ", ".join(f"{code} {sql_type}" for code, sql_type in columns)
        + ")"
    )
    con.executemany(
        f"INSERT INTO intakes VALUES ({', '.join('?' * (len(columns) + 1))})",
        [[index, *(row.get(code) for code in codes)] for index, row in enumerate(rows)],
    )
    selects = ", ".join(f"{to_sql(rule.condition)} AS r{i}" for i, rule in enumerate(kb.rules))
    result = con.execute(f"SELECT {selects} FROM intakes ORDER BY rowid_").fetchall()
    return [[None if v is None else bool(v) for v in row] for row in result]


def _measured_codes(kb: KnowledgeBase, rule: Any) -> set[str]:
    """The measured signs (never asked) that ``rule`` names."""
    measured = {g.id for g in kb.groups if g.given_only}
    return {
        code
        for code in rule.condition.codes()
        if code in kb.findings and kb.findings[code].group in measured
    }


def test_assess_agrees_with_sql_in_duckdb_and_the_inline_function(kb: KnowledgeBase) -> None:
    """On 3,000 generated intakes, ``assess`` fires exactly the rules that the SQL
    compilation (run by DuckDB) finds true, in urgency order, and its urgency is the one
    both DuckDB and the benchmark's separately generated inline function give."""
    intakes = _intakes(kb, 3000, seed=2026)
    rows = [prepare_answers(intake, kb).answers for intake in intakes]
    verdicts = _sql_verdicts(kb, rows)
    inline = BENCH.inline_urgency(kb)
    rank = {rule.id: rule.urgency.rank for rule in kb.rules}
    urgencies = set()
    for intake, answers, row in zip(intakes, rows, verdicts, strict=True):
        result = assess(intake, kb)
        fired_in_sql = [rule.id for rule, value in zip(kb.rules, row, strict=True) if value]
        assert sorted(result.fired_ids) == sorted(fired_in_sql)
        assert list(result.fired_ids) == sorted(result.fired_ids, key=lambda i: -rank[i])
        sql_urgency = (
            max(
                (r for r in kb.rules if r.id in fired_in_sql), key=lambda r: r.urgency.rank
            ).urgency.value
            if fired_in_sql
            else kb.manifest.baseline_urgency.value
        )
        assert result.urgency.value == sql_urgency == inline(answers)
        # A rule that needs a measured sign nobody gave (blood pressure, oxygen level) is
        # not open: no question asks it (findings group `measured`, given_only).
        waiting_for_a_number = {
            rule.id
            for rule in kb.rules
            if rule.urgency is not Urgency.SELF_CARE  # names them only to say "or not given"
            and any(code not in answers for code in _measured_codes(kb, rule))
        }
        undecided_in_sql = {
            rule.id for rule, value in zip(kb.rules, row, strict=True) if value is None
        }
        assert {u.rule.id for u in result.unresolved} == undecided_in_sql - waiting_for_a_number
        urgencies.add(result.urgency)
    assert len(urgencies) >= 3, "the generated intakes must reach several urgencies"


# ---------------------------------------------------------------- the Result JSON


def test_encode_writes_the_same_bytes_as_to_json(kb: KnowledgeBase) -> None:
    """``encode`` (the API's path, without copies) gives byte for byte what encoding
    ``to_json()`` gives, with orjson and with the standard library, on every case and on
    generated intakes with "not sure", Spanish and narrative findings."""
    results = [assess(intake, kb) for intake in _cases()]
    results += [assess(i, kb, narrative_findings=f) for i, f in _variants(kb, 600, seed=7)]
    for result in results:
        assert result.encode(orjson.dumps) == orjson.dumps(result.to_json())
        assert (
            result.encode(lambda d: json.dumps(d).encode()) == json.dumps(result.to_json()).encode()
        )


def test_to_json_gives_each_caller_its_own_document(kb: KnowledgeBase) -> None:
    """Shared wording stays shared inside the engine only: changing one result's document
    (a rule title, an advice text, a citation, an ``ask`` list) changes no other result."""
    intake = Intake(answers={"back_pain": True, "leg_pain": True, "age": 40})
    first = assess(intake, kb).to_json()
    pristine = json.dumps(assess(intake, kb).to_json())
    for entry in first["fired_rules"] + first["unresolved"] + first["advice"]:
        entry["title"] = "changed"
    for entry in first["unresolved"]:
        entry["ask"].append("changed")
    for entry in first["fired_rules"]:
        entry["sources"].append("changed")
    for citation in first["citations"]:
        citation["title"] = "changed"
    first["urgency_text"]["label"] = "changed"
    assert json.dumps(assess(intake, kb).to_json()) == pristine
    # The API's path is not disturbed either.
    assert orjson.loads(assess(intake, kb).encode(orjson.dumps)) == json.loads(pristine)


def test_shared_pieces_stay_right_when_the_memo_starts_again(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a memo of a few entries (started again all the time), every result is still
    the same as with the full memo."""
    intakes = _intakes(kb, 300, seed=99)
    expected = [json.dumps(assess(i, kb).to_json()) for i in intakes]
    monkeypatch.setattr(engine, "_MEMO_LIMIT", 3)
    assert [json.dumps(assess(i, kb).to_json()) for i in intakes] == expected


def test_an_unhashable_value_from_a_python_caller_is_still_explained(
    kb: KnowledgeBase,
) -> None:
    """A multi-choice answer given as a list (not a tuple) by Python code is explained as
    given (it cannot be shared, so it is built for this result)."""
    code = next(c for c, f in kb.findings.items() if f.type is FindingType.MULTI_CHOICE)
    answers: dict[str, Any] = {"back_pain": True, code: ["x"]}
    (evidence,) = engine._because((code,), answers, {}, frozenset(), {})
    assert evidence.value == answers[code]
    assert evidence.source == "answer"
    result = assess(Intake(answers=answers), kb)
    assert result.to_json()["urgency"] == result.urgency.value


def test_shared_evidence_keeps_true_and_one_apart() -> None:
    """``1`` and ``True`` are equal dict keys in Python: the shared evidence of an answer
    keeps its type, so each result shows the value it was given."""
    cache: dict[tuple[Any, ...], Any] = {}
    for value in (True, 1, True, 1.0):
        answers: dict[str, Any] = {"age": value}
        (evidence,) = engine._because(("age",), answers, {}, frozenset(), cache)
        assert evidence.value == value
        assert type(evidence.value) is type(value)
        assert evidence.source == "answer"
    (unsure,) = engine._because(("age",), {}, {}, frozenset({"age"}), cache)
    (unknown,) = engine._because(("age",), {}, {}, frozenset(), cache)
    assert (unsure.source, unknown.source) == ("unsure", "unknown")


def test_an_assessment_is_built_with_every_field(kb: KnowledgeBase) -> None:
    """The fast constructor refuses a missing or unknown field, and what it builds equals
    (and is as frozen as) an ``Assessment`` built the ordinary way."""
    result = assess(Intake(answers={"back_pain": True}), kb)
    values = {name: getattr(result, name) for name in engine._ASSESSMENT_FIELDS}
    assert engine._new_assessment(**values) == Assessment(**values)
    with pytest.raises(TypeError, match="first_instruction"):
        engine._new_assessment(**{k: v for k, v in values.items() if k != "first_instruction"})
    with pytest.raises(TypeError, match="surprise"):
        engine._new_assessment(**values, surprise=1)
    with pytest.raises(AttributeError):
        result.urgency = Urgency.EMERGENCY  # type: ignore[misc]


def test_assess_gives_every_field_and_nothing_else(kb: KnowledgeBase) -> None:
    """``assess`` builds its result without the checking constructor: it still sets every
    field (plus the shared facts its cached properties would find), and nothing else."""
    facts = {"_open_facts", "_fired_facts", "_cited_key"}
    for intake, findings in _variants(kb, 20, seed=5):
        result = assess(intake, kb, narrative_findings=findings)
        assert set(vars(result)) == set(engine._ASSESSMENT_FIELDS) | facts
        values = {name: getattr(result, name) for name in engine._ASSESSMENT_FIELDS}
        assert Assessment(**values) == result


def test_unresolved_rules_are_shared_and_unchanged(kb: KnowledgeBase) -> None:
    """Two results with the same open rule and the same questions share one
    ``UnresolvedRule``, equal to one built directly."""
    intake = Intake(answers={"back_pain": True})
    first, second = assess(intake, kb), assess(intake, kb)
    assert first.unresolved
    assert all(a is b for a, b in zip(first.unresolved, second.unresolved, strict=True))
    item = first.unresolved[0]
    assert item == UnresolvedRule(item.rule, item.ask)


def test_a_result_built_by_hand_writes_the_same_json_as_one_from_assess(
    kb: KnowledgeBase,
) -> None:
    """``assess`` hands each result the facts it shares with others (open rules, fired
    rules, cited sources); a result built field by field, which finds them on first use,
    writes the same Result JSON, and the JSON of either stays fresh: changing one document
    changes neither the next document nor the other result's."""
    for intake, findings in _variants(kb, 60, seed=11):
        made = assess(intake, kb, narrative_findings=findings)
        values = {name: getattr(made, name) for name in engine._ASSESSMENT_FIELDS}
        by_hand = Assessment(**values)
        assert "_open_facts" not in vars(by_hand)
        expected = json.dumps(made.to_json(), sort_keys=True)
        document = by_hand.to_json()
        assert json.dumps(document, sort_keys=True) == expected
        for entry in document["unresolved"]:
            entry["ask"].append("scribbled")
        for entry in document["citations"] + document["advice"]:
            entry["title"] = "scribbled"
        assert json.dumps(made.to_json(), sort_keys=True) == expected
        assert json.dumps(by_hand.to_json(), sort_keys=True) == expected
        assert by_hand.next_questions == made.next_questions
        assert by_hand.concerns == made.concerns


# ---------------------------------------------------------------- YAML through libyaml


def _every_yaml_file() -> list[Path]:
    return sorted(
        p for p in ROOT.rglob("*.y*ml") if ".git" not in p.parts and "node_modules" not in p.parts
    )


def test_libyaml_reads_every_yaml_file_as_the_python_parser_does() -> None:
    """The faster loader builds exactly the documents ``yaml.safe_load`` builds, for every
    YAML file in the repository (knowledge, cases, CI)."""
    files = _every_yaml_file()
    assert len(files) > 100
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            expected = yaml.safe_load(text)
        except yaml.YAMLError:
            with pytest.raises(yaml.YAMLError):
                safe_load_yaml(text)
            continue
        assert repr(safe_load_yaml(text)) == repr(expected), path


def test_the_knowledge_loader_uses_libyaml_when_pyyaml_has_it() -> None:
    """On a PyYAML built with libyaml the loader is libyaml's safe loader."""
    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML has no libyaml (the pure-Python loader is used)")
    assert SAFE_YAML_LOADER.__name__ == "CSafeLoader"
    assert KNOWLEDGE_DIR.exists()


def test_bad_yaml_is_still_a_yaml_error() -> None:
    """Text that is not YAML raises ``yaml.YAMLError`` (callers report it per file)."""
    with pytest.raises(yaml.YAMLError):
        safe_load_yaml("key: [unclosed")


def test_an_unsafe_tag_is_refused() -> None:
    """The fast loader is a *safe* loader: a Python object tag is refused."""
    with pytest.raises(yaml.YAMLError):
        safe_load_yaml("!!python/object/apply:os.system ['true']")


def test_load_compiles_the_program_once(kb: KnowledgeBase) -> None:
    """The program is built when the knowledge base loads and reused by every triage."""
    assert "program" in vars(kb)
    program = kb.program
    for intake in _intakes(kb, 5, seed=3):
        assess(intake, kb)
    assert kb.program is program
    assert load_knowledge().program is load_knowledge().program
