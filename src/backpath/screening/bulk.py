"""FHIR Bulk Data in: a folder of ``$export`` NDJSON files -> one Intake JSON per patient.

A Bulk Data export (https://hl7.org/fhir/uv/bulkdata/export.html) is a folder of NDJSON
files, one resource per line, usually one file per resource type (``Patient.ndjson``,
``Condition.000.ndjson``...). Every line is read and its type taken from its own
``resourceType``, so the file names do not matter. Backpath reads ``Patient``,
``Condition``, ``Observation``, ``MedicationStatement``, ``MedicationRequest`` and
``QuestionnaireResponse``; other types are counted and reported, never guessed at.

The chart is read with the very code the CDS Hooks service uses, so a patient gets the same
findings from an export as from a ``patient-view`` call on the same resources:

1. **SQL** (DuckDB) reads every line, names each bad one (``Condition.ndjson line 7: not
   valid JSON``), joins every coding of every Condition and Observation against the
   terminology maps (``interop.terminology``: the same entries, systems and code
   normalisation, as a lookup table) and keeps the medicines that could match the
   medicine map (an ATC coding, or an ingredient name in the text). Everything the maps
   cannot match - most of a real export - stops here. SQL also groups the rest by patient
   and picks each patient's latest backpath ``QuestionnaireResponse`` (by ``authored``),
   as the CDS service does.
2. **Python**, one patient at a time, on what is left: ``interop.ehr.read_chart`` (age from
   ``birthDate`` on the ``as_of`` date, sex, statuses, and the entries' time windows: a
   stale Condition or Observation is not used) and the CDS service's merge of chart and
   intake (a "yes" from the chart counts; the person's own answer to ``sex`` wins).

The result is one Intake JSON line per patient (``id`` = the Patient's id), screened by the
normal JSON Lines pipeline. A patient whose data cannot be read (an invalid
``QuestionnaireResponse``) gets an error row naming the element, as the CDS service
answers 400 for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backpath.errors import IntakeError
from backpath.interop.terminology import (
    ATC_SYSTEM,
    Terminology,
    entry_systems,
    load_terminology,
    normalise_code,
)
from backpath.kb import KnowledgeBase
from backpath.screening.staging import ScreeningInputError
from backpath.screening.workers import ordered_map

if TYPE_CHECKING:
    import duckdb

CHART_TYPES = ("Condition", "Observation", "MedicationStatement", "MedicationRequest")
"""Chart resources, in the order the CDS service reads its prefetch (``CHART_KEYS``)."""
READ_TYPES = ("Patient", *CHART_TYPES, "QuestionnaireResponse")
BULK_SUFFIXES = (".ndjson", ".ndjson.gz")
PROBLEM_SAMPLE = 200
"""Most bad lines kept to show; every one is counted."""
_BATCH = 256


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class BulkProblem:
    """A line of the export that could not be used, named by file and line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.message}"


@dataclass
class BulkReading:
    """What the export held: resources by type, types not read, bad lines, patients."""

    files: list[str] = field(default_factory=list)
    by_type: dict[str, int] = field(default_factory=dict)
    not_read: dict[str, int] = field(default_factory=dict)
    problems: list[BulkProblem] = field(default_factory=list)
    problem_count: int = 0
    patients: int = 0
    matched: int = 0
    """Chart resources the terminology maps could match (read in Python)."""
    patient_errors: int = 0

    def notes(self) -> list[str]:
        """Plain lines for the terminal: what was read and what was not."""
        read = ", ".join(f"{count:,} {kind}" for kind, count in self.by_type.items() if count)
        lines = [
            f"{len(self.files)} NDJSON files: {read or 'no resources backpath reads'}; "
            f"{self.patients:,} patients, {self.matched:,} chart resources matched the "
            "terminology maps"
        ]
        if self.not_read:
            kinds = ", ".join(f"{count:,} {kind}" for kind, count in self.not_read.items())
            lines.append(f"not read (backpath reads {', '.join(READ_TYPES)}): {kinds}")
        return lines


def bulk_files(folder: Path) -> list[Path]:
    """The export's NDJSON files (``*.ndjson``, ``*.ndjson.gz``), sorted by name."""
    if not folder.is_dir():
        raise ScreeningInputError("", f"{folder}: not a folder")
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(BULK_SUFFIXES)
    )
    if not files:
        raise ScreeningInputError(
            "", f"{folder}: no .ndjson files (a FHIR Bulk Data export has Patient.ndjson...)"
        )
    return files


def _code_map_rows(terminology: Terminology) -> list[tuple[str, str, str, bool]]:
    """(resource type, system, normalised code, prefix match) for every coded map entry:
    the same entries and systems ``Terminology.entries_for`` looks in."""
    rows: list[tuple[str, str, str, bool]] = []
    for resource, maps in (
        ("Condition", terminology.condition_maps),
        ("Observation", terminology.observation_maps),
    ):
        for _, code_map in maps:
            for entry in code_map.entries:
                for system in entry_systems(code_map, entry):
                    rows.append(
                        (resource, system, normalise_code(entry.code), entry.match == "prefix")
                    )
    return sorted(set(rows))


def _medicine_pattern(terminology: Terminology) -> str:
    """A regular expression any medicine the medicine map could match contains (a superset:
    ``ehr`` decides, with whole words and exclusions)."""
    names = sorted({n for e in terminology.medications.entries for n in e.names}, key=len)
    return "|".join(re.escape(name) for name in reversed(names)) or "$^"


def _lines_view(con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    """``bulk``: a view of every non-blank line with its file, line number and type. A view,
    not a table: the export is read again by each step, and only what a step keeps (the
    Patients, the resources the maps match, the intakes) is held - memory follows the
    population, not the size of the export."""
    parts = [
        f"SELECT {index} AS __file, row_number() OVER () AS __row, line FROM "
        f"read_csv({_literal(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, "
        "delim = '\x01', quote = '', escape = '', auto_detect = false, "
        "strict_mode = false, null_padding = true)"
        for index, path in enumerate(files)
    ]
    con.execute(
        "CREATE VIEW bulk AS SELECT __file, __row, line, __valid, __root, "
        "CASE WHEN __root = 'OBJECT' AND json_type(line, '$.resourceType') = 'VARCHAR' "
        "THEN json_extract_string(line, '$.resourceType') END AS rtype "
        "FROM (SELECT *, CASE WHEN __valid THEN json_type(line) END AS __root FROM ("
        "SELECT __file, __row, line, json_valid(line) AS __valid FROM ("
        + " UNION ALL ".join(parts)
        + ") WHERE line IS NOT NULL AND trim(line) <> ''))"
    )


def _subject_sql(line: str = "line") -> str:
    """The Patient id a resource's ``subject`` (or ``patient``) reference names, as
    ``cds_hooks._subject_id`` reads it (``Patient/p1`` or an absolute URL)."""
    ref = (
        f"COALESCE(json_extract_string({line}, '$.subject.reference'), "
        f"json_extract_string({line}, '$.patient.reference'))"
    )
    return (
        f"CASE WHEN position('Patient/' IN {ref}) > 0 THEN "
        f"NULLIF(split_part(string_split({ref}, 'Patient/')[-1], '/', 1), '') END"
    )


def read_bulk_export(
    con: duckdb.DuckDBPyConnection,
    kb: KnowledgeBase,
    folder: Path,
    as_of: date,
    out: Path,
    errors_out: Path,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> BulkReading:
    """Read the export in ``folder``; write one Intake JSON line per patient to ``out``
    (in Patient file order) and ``{"__line", "__error"}`` lines for patients that cannot be
    screened to ``errors_out``. Returns what was read and every bad line (sampled).
    ``workers`` processes assemble the patients; ``progress`` hears the patients done."""
    from backpath.interop.fhir import QUESTIONNAIRE_URL

    terminology = load_terminology()
    files = bulk_files(folder)
    reading = BulkReading(files=[p.name for p in files])
    _lines_view(con, files)
    con.execute("CREATE TABLE bulk_files (__file INTEGER, name VARCHAR)")
    con.executemany("INSERT INTO bulk_files VALUES (?, ?)", list(enumerate(reading.files)))
    con.execute(
        "CREATE TABLE bulk_code_map (resource VARCHAR, system VARCHAR, code VARCHAR, "
        "prefix BOOLEAN)"
    )
    con.executemany("INSERT INTO bulk_code_map VALUES (?, ?, ?, ?)", _code_map_rows(terminology))

    chart_list = ", ".join(_literal(t) for t in CHART_TYPES)
    # One pass keeps what every line is (no text): type, validity, the patient it is about.
    con.execute(
        "CREATE TABLE bulk_index AS SELECT __file, __row, __valid, __root, rtype, "
        f"CASE WHEN rtype IN ({chart_list}, 'QuestionnaireResponse') THEN {_subject_sql()} "
        "END AS pid FROM bulk"
    )
    counts = con.execute(
        "SELECT rtype, count(*) FROM bulk_index WHERE rtype IS NOT NULL GROUP BY rtype "
        "ORDER BY rtype"
    ).fetchall()
    found = {str(kind): int(n) for kind, n in counts}
    reading.by_type = {kind: found.get(kind, 0) for kind in READ_TYPES}
    reading.not_read = {k: n for k, n in found.items() if k not in READ_TYPES}

    # Patients: the first line of each id counts; a second one is a bad line.
    con.execute(
        "CREATE TABLE bulk_patient_lines AS SELECT __file, __row, line, "
        "CASE WHEN json_type(line, '$.id') = 'VARCHAR' THEN "
        "NULLIF(json_extract_string(line, '$.id'), '') END AS pid FROM bulk "
        "WHERE rtype = 'Patient'"
    )
    con.execute(
        "CREATE TABLE bulk_patients AS SELECT row_number() OVER (ORDER BY __file, __row) "
        "AS __line, pid, line FROM (SELECT *, row_number() OVER (PARTITION BY pid ORDER BY "
        "__file, __row) AS __n FROM bulk_patient_lines WHERE pid IS NOT NULL) WHERE __n = 1"
    )
    # Chart resources and intakes, each with the patient it is about.
    con.execute(
        "CREATE VIEW bulk_about AS SELECT __file, __row, rtype, pid FROM bulk_index "
        f"WHERE rtype IN ({chart_list}, 'QuestionnaireResponse')"
    )
    problems_sql = (
        "SELECT __file, __row, 'not valid JSON' AS message FROM bulk_index WHERE NOT __valid "
        "UNION ALL SELECT __file, __row, 'a FHIR resource must be a JSON object' "
        "FROM bulk_index WHERE __valid AND __root <> 'OBJECT' "
        "UNION ALL SELECT __file, __row, 'no resourceType (a string naming the resource)' "
        "FROM bulk_index WHERE __root = 'OBJECT' AND rtype IS NULL "
        "UNION ALL SELECT __file, __row, 'Patient without an id: nothing can be joined to it' "
        "FROM bulk_patient_lines WHERE pid IS NULL "
        "UNION ALL SELECT __file, __row, concat('Patient/', pid, ' appears again (first at ', "
        "(SELECT name FROM bulk_files f WHERE f.__file = first_file), ' line ', first_row, ')') "
        "FROM (SELECT *, first_value(__file) OVER w AS first_file, first_value(__row) OVER w "
        "AS first_row, row_number() OVER w AS __n FROM bulk_patient_lines WHERE pid IS NOT NULL "
        "WINDOW w AS (PARTITION BY pid ORDER BY __file, __row)) WHERE __n > 1 "
        "UNION ALL SELECT __file, __row, concat(rtype, ' names no patient: subject.reference "
        "must be Patient/<id>') FROM bulk_about WHERE pid IS NULL "
        "UNION ALL SELECT a.__file, a.__row, concat(rtype, ' is about Patient/', a.pid, "
        "', who is not in the export''s Patient files: not screened') FROM bulk_about a "
        "WHERE a.pid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM bulk_patients p "
        "WHERE p.pid = a.pid)"
    )
    con.execute(f"CREATE TABLE bulk_problems AS {problems_sql}")
    total = con.execute("SELECT count(*) FROM bulk_problems").fetchone()
    reading.problem_count = int(total[0]) if total else 0
    reading.problems = [
        BulkProblem(str(name), int(row), str(message))
        for name, row, message in con.execute(
            "SELECT f.name, p.__row, p.message FROM bulk_problems p "
            "JOIN bulk_files f USING (__file) ORDER BY p.__file, p.__row "
            f"LIMIT {PROBLEM_SAMPLE}"
        ).fetchall()
    ]

    # The code lookup: codings of Conditions and Observations against the maps.
    con.execute(
        "CREATE TABLE bulk_coded AS SELECT DISTINCT c.__file, c.__row FROM (SELECT __file, "
        "__row, rtype, json_extract_string(c, '$.system') AS system, "
        "upper(replace(replace(json_extract_string(c, '$.code'), '.', ''), ' ', '')) AS code "
        "FROM (SELECT __file, __row, rtype, unnest(json_extract(line, '$.code.coding[*]')) "
        "AS c FROM bulk WHERE rtype IN ('Condition', 'Observation'))) c "
        "JOIN bulk_code_map m ON m.resource = c.rtype AND m.system = c.system AND "
        "(c.code = m.code OR (m.prefix AND starts_with(c.code, m.code)))"
    )
    # The matched resources' text, for Python: coded ones, and medicines that may match.
    con.execute(
        "CREATE TABLE bulk_matched AS SELECT i.pid, b.__file, b.__row, b.line, "
        f"list_position([{chart_list}], b.rtype) AS kind FROM bulk b "
        "JOIN bulk_index i ON i.__file = b.__file AND i.__row = b.__row "
        "LEFT JOIN bulk_coded k ON k.__file = b.__file AND k.__row = b.__row "
        "WHERE i.pid IN (SELECT pid FROM bulk_patients) AND ("
        "(b.rtype IN ('Condition', 'Observation') AND k.__row IS NOT NULL) OR "
        "(b.rtype IN ('MedicationStatement', 'MedicationRequest') AND ("
        f"position({_literal(ATC_SYSTEM.removeprefix('http://'))} IN b.line) > 0 OR "
        f"regexp_matches(lower(b.line), {_literal(_medicine_pattern(terminology))}))))"
    )
    matched = con.execute("SELECT count(*) FROM bulk_matched").fetchone()
    reading.matched = int(matched[0]) if matched else 0
    # Each patient's latest backpath intake (by ``authored``; the first one on a tie).
    con.execute(
        "CREATE TABLE bulk_intakes AS SELECT pid, line, __file, __row FROM (SELECT *, "
        "row_number() OVER (PARTITION BY pid ORDER BY CASE WHEN json_type(line, '$.authored') "
        "= 'VARCHAR' THEN json_extract_string(line, '$.authored') ELSE '' END DESC, "
        f"__file, __row) AS __n FROM (SELECT *, {_subject_sql()} AS pid FROM bulk "
        "WHERE rtype = 'QuestionnaireResponse') "
        "WHERE pid IS NOT NULL AND (json_type(line, '$.questionnaire') IS DISTINCT FROM "
        f"'VARCHAR' OR split_part(json_extract_string(line, '$.questionnaire'), '|', 1) = "
        f"{_literal(QUESTIONNAIRE_URL)})) WHERE __n = 1"
    )
    patients = con.execute("SELECT count(*) FROM bulk_patients").fetchone()
    reading.patients = int(patients[0]) if patients else 0
    cursor = con.execute(
        "SELECT p.__line, p.pid, p.line, (SELECT list(m.line ORDER BY m.kind, m.__file, "
        "m.__row) FROM bulk_matched m WHERE m.pid = p.pid) AS chart, i.line AS intake, "
        "f.name AS intake_file, i.__row AS intake_row FROM bulk_patients p "
        "LEFT JOIN bulk_intakes i ON i.pid = p.pid LEFT JOIN bulk_files f "
        "ON f.__file = i.__file ORDER BY p.__line"
    )

    def patients_rows() -> Iterator[tuple[Any, ...]]:
        while True:
            chunk = cursor.fetchmany(_BATCH)
            if not chunk:
                return
            yield from chunk

    with (
        out.open("w", encoding="utf-8") as handle,
        errors_out.open("w", encoding="utf-8") as errors,
    ):
        assembled = ordered_map(
            _assemble_batch, patients_rows(), kb, workers, _BATCH, extra=as_of.isoformat()
        )
        for number, document, problem in assembled:
            handle.write(document + "\n")
            if problem is not None:
                reading.patient_errors += 1
                errors.write(json.dumps({"__line": number, "__error": problem}) + "\n")
            if progress is not None and number % 10_000 == 0:
                progress(number)
    return reading


def _assemble_batch(
    kb: KnowledgeBase, batch: list[tuple[Any, ...]], as_of: str
) -> list[tuple[int, str, str | None]]:
    """Patients' Intake JSON lines (and their problems) for a batch of SQL rows (``number,
    id, Patient, matched chart resources, latest intake, its file and line``); run in this
    process or in a worker (``workers.ordered_map``)."""
    terminology = load_terminology()
    day = date.fromisoformat(as_of)
    out: list[tuple[int, str, str | None]] = []
    for number, pid, patient, chart, intake, intake_file, intake_row in batch:
        document, problem = patient_intake(
            kb,
            terminology,
            str(pid),
            json.loads(patient),
            [json.loads(text) for text in chart or ()],
            json.loads(intake) if intake is not None else None,
            f"{intake_file} line {intake_row}",
            day,
        )
        out.append((int(number), json.dumps(document, ensure_ascii=False), problem))
    return out


def patient_intake(
    kb: KnowledgeBase,
    terminology: Terminology,
    patient_id: str,
    patient: dict[str, Any],
    chart: list[dict[str, Any]],
    intake: dict[str, Any] | None,
    intake_place: str,
    as_of: date,
) -> tuple[dict[str, Any], str | None]:
    """One patient's Intake JSON from their Patient, matched chart resources and latest
    intake, exactly as the CDS Hooks service builds it (``read_chart`` then its merge);
    or an empty intake and the error naming the element when the intake is invalid."""
    from backpath.interop.cds_hooks import _merge
    from backpath.interop.ehr import read_chart

    reading = read_chart(terminology, patient, chart, as_of)
    where = f"QuestionnaireResponse/{intake.get('id', '(no id)')}" if intake else ""
    try:
        merged = _merge(kb, intake, where, reading)
    except IntakeError as exc:
        return (
            {"id": patient_id, "answers": {}},
            f"field {exc.field!r}: {exc.message} ({intake_place})",
        )
    document = dict(merged.document)
    document["id"] = patient_id
    return document, None
