"""Input validation as SQL: raw rows in, typed finding columns and an error per row out.

Every check the single-intake reader makes is made here over the whole file at once, by
the engine that reads it: the type and range of each value (from ``findings.yaml``), the
allowed values of a choice, and for JSON Lines the shape of the Intake JSON (unknown
fields, unknown codes, duplicate keys, ``age``/``sex`` given twice). A row that fails gets
``__error`` - every failing field of the row, each as ``field 'code': message`` - and its
values are not used; every other row is screened. File-level problems (an empty file, an
unknown or duplicated column) are found from the header before any row is read
(``check_header``).

The SQL is portable between DuckDB and Spark SQL except for regular expressions, which
each ``Dialect`` spells its own way. JSON Lines staging uses DuckDB's JSON functions.

Text cells (CSV, or a Parquet column of the wrong type) read as follows: empty means *not
asked*; ``unsure``, ``not sure`` or ``?`` means *asked, not sure* (``null`` in the Intake
JSON); booleans are ``yes/no``, ``true/false``, ``y/n``, ``t/f``, ``1/0`` in any case; numbers
are whole numbers inside the finding's range. An optional ``unsure`` column lists codes
answered "not sure" (separated by spaces, commas or semicolons).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backpath.errors import BackpathError
from backpath.kb import KnowledgeBase
from backpath.vocabulary import FindingType

KEY_COLUMN = "row_id"
UNSURE_LIST_COLUMN = "unsure"
LINE_COLUMN = "__line"
ERROR_COLUMN = "__error"
TRUE_WORDS = ("1", "true", "yes", "y", "t")
FALSE_WORDS = ("0", "false", "no", "n", "f")
UNSURE_WORDS = ("unsure", "not sure", "?")


@dataclass(frozen=True)
class Dialect:
    """How one SQL engine spells the few things that are not portable."""

    name: str

    def full_match(self, expression: str, pattern: str) -> str:
        """SQL that is TRUE when the whole of ``expression`` matches ``pattern`` (no
        backslashes in ``pattern``: Spark and DuckDB read them differently)."""
        if "\\" in pattern:
            raise ValueError("patterns must not contain backslashes")
        if self.name == "spark":
            return f"({expression} RLIKE '^(?:{pattern})$')"
        return f"regexp_full_match({expression}, '{pattern}')"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")


class ScreeningInputError(BackpathError):
    """The file as a whole cannot be screened (empty, unknown or duplicated column)."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"column {column!r}: {message}" if column else message)
        self.column = column
        self.message = message


def check_header(kb: KnowledgeBase, names: Sequence[str]) -> None:
    """Raise ``ScreeningInputError`` for the first unknown or duplicated column name."""
    if not names:
        raise ScreeningInputError("", "the file is empty (no header, no rows)")
    seen: set[str] = set()
    allowed = {KEY_COLUMN, UNSURE_LIST_COLUMN, *kb.findings}
    for name in names:
        if name in seen:
            raise ScreeningInputError(name, "appears twice in the header; give each column once")
        seen.add(name)
        if name not in allowed:
            raise ScreeningInputError(
                name,
                "unknown column; expected row_id, unsure, or a finding code "
                "(`backpath kb check` lists them in docs/knowledge.md)",
            )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(expression: str, words: Iterable[str]) -> str:
    return f"{expression} IN ({', '.join(_literal(w) for w in words)})"


def _message(field: str, text: str, shown: str | None = None) -> str:
    """SQL for ``field 'code': text`` (``shown``: a SQL expression quoted after it)."""
    head = _literal(f"field '{field}': {text}")
    if shown is None:
        return head
    return f"concat({head}, ' ', {shown})"


def _shown(expression: str) -> str:
    """A raw cell as it appears in a message: quoted, at most 40 characters."""
    return f"concat('not ''', substr({expression}, 1, 40), '''')"


@dataclass(frozen=True)
class _Column:
    """One finding column of the staged table: its value, its error and its unsure test."""

    value: str
    error: str | None
    unsure: str | None


def _text_column(kb: KnowledgeBase, code: str, raw: str, dialect: Dialect) -> _Column:
    """Validate a text cell for ``code`` (see the module docstring for what it accepts)."""
    finding = kb.findings[code]
    cell = f"lower(trim({raw}))"
    empty = f"({raw} IS NULL OR trim({raw}) = '')"
    unsure = _in(cell, UNSURE_WORDS)
    # Fast paths first: most cells hold the canonical spelling, and CASE stops there.
    if finding.type is FindingType.BOOLEAN:
        value = (
            f"CASE WHEN {raw} = 'true' THEN TRUE WHEN {raw} = 'false' THEN FALSE "
            f"WHEN {_in(cell, TRUE_WORDS)} THEN TRUE WHEN {_in(cell, FALSE_WORDS)} THEN FALSE END"
        )
        valid = f"{_in(cell, (*TRUE_WORDS, *FALSE_WORDS, *UNSURE_WORDS))}"
        error = (
            f"CASE WHEN {raw} IS NULL OR {raw} IN ('true', 'false') THEN NULL "
            f"WHEN NOT ({empty} OR {valid}) THEN "
            f"{_message(code, 'must be yes, no, unsure or empty,', _shown(raw))} END"
        )
        fast_unsure = (
            f"CASE WHEN {raw} IS NULL OR {raw} IN ('true', 'false') THEN FALSE ELSE {unsure} END"
        )
        return _Column(value, error, fast_unsure)
    if finding.type is FindingType.INTEGER:
        # TRY_CAST rounds "5.5" in DuckDB: only text without a point takes the fast path.
        fast = f"CASE WHEN position('.' IN {raw}) = 0 THEN TRY_CAST({raw} AS BIGINT) END"
        whole = dialect.full_match(cell, "[+-]?[0-9]{1,15}([.]0+)?")
        number = f"COALESCE({fast}, CAST(CAST({cell} AS DOUBLE) AS BIGINT))"
        value = f"CASE WHEN {fast} IS NOT NULL THEN {fast} WHEN {whole} THEN {number} END"
        ok = f"({fast} IS NOT NULL OR {whole})"
        checks = [
            f"WHEN {raw} IS NULL THEN NULL",
            f"WHEN NOT ({ok} OR {empty} OR {unsure}) THEN "
            f"{_message(code, 'must be a whole number,', _shown(raw))}",
        ]
        if finding.min is not None:
            checks.append(
                f"WHEN {ok} AND {number} < {finding.min} THEN "
                f"{_message(code, f'must be at least {finding.min},', _shown(raw))}"
            )
        if finding.max is not None:
            checks.append(
                f"WHEN {ok} AND {number} > {finding.max} THEN "
                f"{_message(code, f'must be at most {finding.max},', _shown(raw))}"
            )
        fast_unsure = f"CASE WHEN {raw} IS NULL OR {fast} IS NOT NULL THEN FALSE ELSE {unsure} END"
        return _Column(value, f"CASE {' '.join(checks)} END", fast_unsure)
    allowed = finding.allowed_values
    if finding.type is FindingType.CHOICE:
        value = f"CASE WHEN {_in(cell, allowed)} THEN {cell} END"
        error = (
            f"CASE WHEN NOT ({empty} OR {unsure} OR {_in(cell, allowed)}) THEN "
            f"{_message(code, 'must be one of ' + ', '.join(allowed) + ',', _shown(raw))} END"
        )
        return _Column(value, error, unsure)
    # Multi choice: items separated by spaces, commas or semicolons; never used by a rule.
    item = "(" + "|".join(allowed) + ")"
    listed = dialect.full_match(cell, f"{item}([ ,;]+{item})*")
    error = (
        f"CASE WHEN NOT ({empty} OR {unsure} OR {listed}) THEN "
        f"{_message(code, 'must list items of ' + ', '.join(allowed) + ',', _shown(raw))} END"
    )
    return _Column("NULL", error, unsure)


def _typed_column(kb: KnowledgeBase, code: str, raw: str) -> _Column:
    """A column already of the finding's SQL type (Parquet): only the range is checked."""
    finding = kb.findings[code]
    if finding.type is FindingType.INTEGER:
        checks = []
        if finding.min is not None:
            checks.append(
                f"WHEN {raw} < {finding.min} THEN "
                f"{_message(code, f'must be at least {finding.min}, not', f'CAST({raw} AS STRING)')}"
            )
        if finding.max is not None:
            checks.append(
                f"WHEN {raw} > {finding.max} THEN "
                f"{_message(code, f'must be at most {finding.max}, not', f'CAST({raw} AS STRING)')}"
            )
        error = f"CASE {' '.join(checks)} END" if checks else None
        return _Column(f"CAST({raw} AS BIGINT)", error, None)
    return _Column(raw, None, None)


def staging_sql(
    kb: KnowledgeBase,
    columns: Sequence[tuple[str, bool]],
    dialect: Dialect = DUCKDB,
    table: str = "source_rows",
) -> str:
    """SQL turning ``table`` (``__line`` plus the file's columns) into the screening table.

    ``columns`` are the file's column names (already checked by ``check_header``), each
    with ``True`` when the engine read it with the finding's own SQL type and ``False``
    when it is text. The result has ``__line``, ``row_id`` (the file's, or the line
    number), one column per scalar finding, ``unsure_codes``, ``narrative_unclear``, ``danger_words`` and
    ``__error`` (``NULL`` for a valid row).
    """
    from backpath.screening.compile import screening_columns

    present = dict(columns)
    select = [LINE_COLUMN]
    if KEY_COLUMN in present:
        row_id = f"CAST({KEY_COLUMN} AS STRING)"
        select.append(
            f"CASE WHEN {row_id} IS NULL OR trim({row_id}) = '' "
            f"THEN CAST({LINE_COLUMN} AS STRING) ELSE {row_id} END AS {KEY_COLUMN}"
        )
    else:
        select.append(f"CAST({LINE_COLUMN} AS STRING) AS {KEY_COLUMN}")
    errors: list[str] = []
    unsure_parts: list[str] = []
    for code, sql_type in screening_columns(kb):
        spark_type = "STRING" if sql_type == "VARCHAR" else sql_type
        if code not in present:
            select.append(f"CAST(NULL AS {spark_type}) AS {code}")
            continue
        column = (
            _typed_column(kb, code, code)
            if present[code]
            else _text_column(kb, code, code, dialect)
        )
        select.append(f"{column.value} AS {code}")
        if column.error:
            errors.append(column.error)
        if column.unsure:
            unsure_parts.append(f"CASE WHEN {column.unsure} THEN {_literal(code)} END")
    for code, finding in kb.findings.items():
        if finding.type is FindingType.MULTI_CHOICE and code in present and not present[code]:
            column = _text_column(kb, code, code, dialect)
            if column.error:
                errors.append(column.error)
    if UNSURE_LIST_COLUMN in present:
        listed = f"lower(trim(CAST({UNSURE_LIST_COLUMN} AS STRING)))"
        code_pattern = "(" + "|".join(sorted(kb.findings, key=len, reverse=True)) + ")"
        valid = dialect.full_match(listed, f"{code_pattern}([ ,;]+{code_pattern})*")
        errors.append(
            f"CASE WHEN NOT ({UNSURE_LIST_COLUMN} IS NULL OR {listed} = '' OR {valid}) THEN "
            f"{_message(UNSURE_LIST_COLUMN, 'must list finding codes,', _shown(listed))} END"
        )
        unsure_parts.insert(0, f"translate({listed}, ',;', '  ')")
    unsure = f"NULLIF(concat_ws(' ', {', '.join(unsure_parts)}), '')" if unsure_parts else "NULL"
    select.append(f"CAST({unsure} AS STRING) AS unsure_codes")
    select.append("CAST(NULL AS BOOLEAN) AS narrative_unclear")
    select.append("CAST(NULL AS BOOLEAN) AS danger_words")
    error = f"NULLIF(concat_ws('; ', {', '.join(errors)}), '')" if errors else "NULL"
    select.append(f"CAST({error} AS STRING) AS {ERROR_COLUMN}")
    return f"SELECT {', '.join(select)} FROM {table}"


# --- JSON Lines (Intake JSON per line), DuckDB ------------------------------------------

_TOP_LEVEL = ("age", "sex", "answers", "narrative", "instruments", "language", "id", "patient_ref")


def jsonl_staging_sql(kb: KnowledgeBase, table: str = "source_lines") -> str:
    """SQL turning ``table`` (``__line``, ``line``: one Intake JSON text per line) into the
    screening table plus ``__python`` - TRUE for rows with a narrative or instruments,
    which the NLP reader and the instrument scorer (Python) must prepare first.

    Mirrors ``Intake.from_json``: the same fields, the same value rules, a null answer as
    "not sure", ``age``/``sex`` at the top level used when ``answers`` has none.
    """
    from backpath.screening.compile import screening_columns

    scalar = [code for code, _ in screening_columns(kb)]
    multi = [c for c, f in kb.findings.items() if f.type is FindingType.MULTI_CHOICE]
    paths = [f"$.answers.{code}" for code in (*scalar, *multi)] + ["$.age", "$.sex"]
    index = {path: i + 1 for i, path in enumerate(paths)}
    codes_list = ", ".join(_literal(code) for code in kb.findings)
    top_list = ", ".join(_literal(key) for key in _TOP_LEVEL)
    parsed = (
        f"SELECT {LINE_COLUMN}, line, json_valid(line) AS __valid FROM {table} "
        "WHERE line IS NOT NULL AND trim(line) <> ''"
    )
    shaped = (
        "SELECT *, CASE WHEN __valid THEN json_type(line) END AS __root, "
        f"CASE WHEN __valid THEN json_extract(line, [{', '.join(_literal(p) for p in paths)}]) "
        "END AS __v, "
        "CASE WHEN __valid THEN json_keys(line) END AS __keys, "
        "CASE WHEN __valid THEN json_type(line, '$.answers') END AS __answers_type, "
        "CASE WHEN __valid THEN json_keys(line, '$.answers') END AS __codes, "
        "CASE WHEN __valid THEN json_extract(line, '$.narrative') END AS __narrative, "
        "CASE WHEN __valid THEN json_extract(line, '$.instruments') END AS __instruments, "
        "CASE WHEN __valid THEN json_extract(line, '$.language') END AS __language, "
        "CASE WHEN __valid THEN json_extract(line, '$.id') END AS __id "
        "FROM parsed"
    )
    select = [LINE_COLUMN]
    errors = [
        "CASE WHEN NOT __valid THEN 'field ''(root)'': not valid JSON' END",
        "CASE WHEN __valid AND __root <> 'OBJECT' THEN "
        "'field ''(root)'': an intake must be a JSON object' END",
        f"CASE WHEN len(list_filter(__keys, lambda k: k NOT IN ({top_list}))) > 0 THEN "
        f"concat('field ''', list_filter(__keys, lambda k: k NOT IN ({top_list}))[1], "
        "''': unknown field') END",
        "CASE WHEN len(__keys) <> len(list_distinct(__keys)) THEN "
        "'field ''(root)'': a key appears twice' END",
        "CASE WHEN __answers_type IS NOT NULL AND __answers_type NOT IN ('OBJECT', 'NULL') "
        "THEN 'field ''answers'': must be an object mapping finding codes to values' END",
        f"CASE WHEN len(list_filter(__codes, lambda k: k NOT IN ({codes_list}))) > 0 THEN "
        f"concat('field ''answers.', list_filter(__codes, lambda k: k NOT IN ({codes_list}))[1],"
        " ''': unknown finding code') END",
        "CASE WHEN len(__codes) <> len(list_distinct(__codes)) THEN "
        "'field ''answers'': a finding code appears twice' END",
        "CASE WHEN __narrative IS NOT NULL AND json_type(__narrative) NOT IN ('VARCHAR', 'NULL') "
        "THEN 'field ''narrative'': must be a string' END",
    ]
    languages = ", ".join(_literal(lang) for lang in kb.languages)
    errors.append(
        "CASE WHEN __language IS NOT NULL AND json_type(__language) <> 'NULL' AND "
        "(json_type(__language) <> 'VARCHAR' OR (json_extract_string(__language, '$') <> '' "
        f"AND json_extract_string(__language, '$') NOT IN ({languages}))) THEN "
        f"'field ''language'': unsupported language; expected one of {', '.join(kb.languages)}'"
        " END"
    )
    id_type = "json_type(__id)"
    errors.append(
        f"CASE WHEN __id IS NOT NULL AND {id_type} NOT IN "
        "('NULL', 'VARCHAR', 'BIGINT', 'UBIGINT', 'BOOLEAN') THEN "
        "'field ''id'': must be a string or a number' END"
    )
    select.append(
        f"CASE WHEN __id IS NULL OR {id_type} = 'NULL' THEN CAST({LINE_COLUMN} AS STRING) "
        f"WHEN {id_type} = 'BOOLEAN' THEN CASE WHEN json_extract_string(__id, '$') = 'true' "
        "THEN 'True' ELSE 'False' END "
        f"ELSE json_extract_string(__id, '$') END AS {KEY_COLUMN}"
    )
    unsure_parts: list[str] = []

    def item(path: str) -> str:
        return f"__v[{index[path]}]"

    for code in (*scalar, *multi):
        finding = kb.findings[code]
        raw = item(f"$.answers.{code}")
        field = f"'answers.{code}'"
        if code in ("age", "sex"):
            top = item(f"$.{code}")
            # A top-level value fills a missing or null answer; two different values are an
            # error on the top-level field (never pick one silently).
            errors.append(
                f"CASE WHEN {raw} IS NOT NULL AND json_type({raw}) <> 'NULL' AND {top} IS NOT NULL"
                f" AND json_type({top}) <> 'NULL' AND CAST({raw} AS STRING) <> CAST({top} AS STRING)"
                f" THEN concat('field ''{code}'': ', CAST({top} AS STRING), ' disagrees with answers."
                f"{code} (', CAST({raw} AS STRING), '); give it once') END"
            )
            field = f"CASE WHEN {raw} IS NOT NULL THEN 'answers.{code}' ELSE '{code}' END"
            raw = (
                f"CASE WHEN ({raw} IS NULL OR json_type({raw}) = 'NULL') AND {top} IS NOT NULL AND"
                f" json_type({top}) <> 'NULL' THEN {top} ELSE {raw} END"
            )
        kind = f"json_type({raw})"
        text = f"json_extract_string({raw}, '$')"
        shown = f"CAST({raw} AS STRING)"

        def fail(message: str, field: str = field, shown: str = shown) -> str:
            return f"concat('field ''', {field}, ''': {message}, not ', {shown})"

        unsure_parts.append(f"CASE WHEN {kind} = 'NULL' THEN {_literal(code)} END")
        if finding.type is FindingType.BOOLEAN:
            select.append(f"CASE WHEN {kind} = 'BOOLEAN' THEN {text} = 'true' END AS {code}")
            errors.append(
                f"CASE WHEN {kind} NOT IN ('NULL', 'BOOLEAN') THEN "
                f"{fail('must be true, false or null')} END"
            )
        elif finding.type is FindingType.INTEGER:
            number = f"CAST({text} AS DOUBLE)"
            whole = (
                f"({kind} IN ('BIGINT', 'UBIGINT') OR ({kind} = 'DOUBLE' AND "
                f"isfinite({number}) AND {number} = floor({number})))"
            )
            select.append(
                f"CASE WHEN {whole} AND abs({number}) < 1e15 THEN CAST({number} AS BIGINT) END"
                f" AS {code}"
            )
            checks = [
                f"WHEN {kind} <> 'NULL' AND NOT {whole} THEN {fail('must be a whole number')}"
            ]
            if finding.min is not None:
                checks.append(
                    f"WHEN {whole} AND {number} < {finding.min} THEN "
                    f"{fail(f'must be at least {finding.min}')}"
                )
            if finding.max is not None:
                checks.append(
                    f"WHEN {whole} AND {number} > {finding.max} THEN "
                    f"{fail(f'must be at most {finding.max}')}"
                )
            errors.append(f"CASE {' '.join(checks)} END")
        else:
            allowed = ", ".join(_literal(v) for v in finding.allowed_values)
            words = ", ".join(finding.allowed_values)
            if finding.type is FindingType.CHOICE:
                select.append(
                    f"CASE WHEN {kind} = 'VARCHAR' AND {text} IN ({allowed}) THEN {text} END"
                    f" AS {code}"
                )
                errors.append(
                    f"CASE WHEN {kind} <> 'NULL' AND NOT ({kind} = 'VARCHAR' AND {text} IN "
                    f"({allowed})) THEN {fail('must be one of ' + words)} END"
                )
            else:
                items = f"json_extract_string({raw}, '$[*]')"
                bad = (
                    f"len(list_filter({items}, lambda x: x IS NULL OR x NOT IN ({allowed}))) > 0"
                    f" OR len(list_filter(json_extract({raw}, '$[*]'), lambda x: "
                    "json_type(x) <> 'VARCHAR')) > 0"
                )
                errors.append(
                    f"CASE WHEN {kind} = 'ARRAY' AND ({bad}) THEN "
                    f"{fail('must list items of ' + words)} "
                    f"WHEN {kind} NOT IN ('NULL', 'ARRAY') THEN {fail('must be a list')} END"
                )
    select.append(
        f"CAST(NULLIF(concat_ws(' ', {', '.join(unsure_parts)}), '') AS STRING) AS unsure_codes"
    )
    select.append("CAST(NULL AS BOOLEAN) AS narrative_unclear")
    select.append("CAST(NULL AS BOOLEAN) AS danger_words")
    select.append(
        "((__narrative IS NOT NULL AND json_type(__narrative) = 'VARCHAR' AND "
        "trim(json_extract_string(__narrative, '$')) <> '') OR (__instruments IS NOT NULL "
        "AND CAST(__instruments AS STRING) NOT IN ('null', '{}'))) AS __python"
    )
    select.append("line")
    select.append(
        f"CAST(NULLIF(concat_ws('; ', {', '.join(errors)}), '') AS STRING) AS {ERROR_COLUMN}"
    )
    return f"WITH parsed AS ({parsed}), shaped AS ({shaped}) SELECT {', '.join(select)} FROM shaped"
