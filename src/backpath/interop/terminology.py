"""Terminology maps: EHR codes (ICD-10, SNOMED CT, LOINC, ATC) -> backpath findings.

The maps are data, ``backpath/knowledge/terminology/*.yaml``; this module gives them a closed
schema and checks them (``validate_terminology``, called by ``backpath kb check`` through the
knowledge base's extension hook):

* every entry names an existing finding, with a value of the finding's type;
* every entry says which way the meaning goes (``direction``), why (``note``), whether a
  clinician has reviewed it (``reviewed``) and whether the code itself was checked;
* ``broader`` and ``proxy`` entries must be time-limited (``window_days``): a code that
  only *may* mean the finding must not fire a rule about something new for ever;
* codes are well formed: ICD-10 shape, the SNOMED CT Verhoeff check digit, the LOINC check
  digit, the ATC shape; no (system, code, finding) twice;
* an Observation entry either tests a threshold (``when``: a temperature is a fever) or
  carries its number into a measured sign (``value_from``: a blood pressure). A measured
  entry names a number finding of a ``given_only`` group (findings.yaml ``measured``), UCUM
  units the reader knows and that measure what the finding measures, a time window, and
  which way is worse; a panel's component code passes the LOINC check digit.

``load_terminology()`` returns the validated maps (cached) or raises ``KnowledgeError``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backpath.errors import KnowledgeError

TERMINOLOGY_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "terminology"

Direction = Literal["equivalent", "narrower", "broader", "proxy"]
CodeStatus = Literal["verified", "corroborated", "unverified"]
_FINDING = r"^[a-z][a-z0-9_]*$"


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Closed):
    """An Observation counts when its quantity is at least ``at_least`` ``unit`` (UCUM)."""

    at_least: float
    unit: Literal["Cel"]


# The UCUM codes a measured entry may accept, and the findings.yaml units each can express.
# Compared exactly as written: "mmHg" is not "mm[Hg]" and nothing is converted. A braced
# annotation ("{beats}/min") is a comment in UCUM and leaves the unit unchanged.
UCUM_UNITS: Mapping[str, frozenset[str]] = {
    "mm[Hg]": frozenset({"mmHg"}),
    "%": frozenset({"percent"}),
    "/min": frozenset({"beats_per_minute", "breaths_per_minute"}),
    "{beats}/min": frozenset({"beats_per_minute"}),
    "{breaths}/min": frozenset({"breaths_per_minute"}),
}


class Measure(_Closed):
    """A measured sign read as a number (a blood pressure, an oxygen level, a pulse).

    The number is the Observation's ``valueQuantity`` or, with ``component``, the
    ``valueQuantity`` of the component coded with that LOINC code (the systolic part of a
    blood pressure panel). It counts only in one of ``units`` (UCUM codes, never converted)
    and within the finding's plausible range. ``worse`` says which way the sign is more
    dangerous: a fraction is rounded that way (90.4 mmHg counts as 90), and of two readings
    taken at the same time the worse one counts.
    """

    component: str | None = None
    units: tuple[str, ...] = Field(min_length=1)
    worse: Literal["lower", "higher"]


class CodeEntry(_Closed):
    """One coded concept (a Condition or Observation code) -> one finding value."""

    code: str = Field(min_length=1)
    match: Literal["exact", "prefix"] = "exact"
    display: str = Field(min_length=1)
    finding: str = Field(pattern=_FINDING)
    value: bool | str | int = True
    direction: Direction
    note: str = Field(min_length=10)
    window_days: int | None = Field(default=None, ge=0)
    counts_when_resolved: bool = False
    context: bool = False
    when: Threshold | None = None
    value_from: Measure | None = None
    systems: tuple[str, ...] | None = None
    reviewed: bool
    code_status: CodeStatus


class CodeMapFile(_Closed):
    """A file of coded entries for one resource type."""

    name: str
    resource: Literal["Condition", "Observation"]
    systems: dict[str, str] = Field(min_length=1)
    entries: tuple[CodeEntry, ...] = Field(min_length=1)


class MedicationEntry(_Closed):
    """A group of medicines (ATC prefixes and ingredient names) -> one finding value."""

    id: str = Field(pattern=_FINDING)
    finding: str = Field(pattern=_FINDING)
    value: bool = True
    direction: Direction
    atc: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_duration_days: int | None = Field(default=None, ge=1)
    note: str = Field(min_length=10)
    window_days: int | None = Field(default=None, ge=0)
    reviewed: bool
    code_status: CodeStatus


class MedicationFile(_Closed):
    """medications.yaml."""

    name: str
    resource: Literal["MedicationStatement"]
    systems: dict[str, str] = Field(min_length=1)
    entries: tuple[MedicationEntry, ...] = Field(min_length=1)


class LoincCode(_Closed):
    """A LOINC code with its display."""

    code: str
    display: str


class StratumCode(LoincCode):
    """A LOINC risk-level code and the LOINC answer code of each backpath stratum."""

    answers: dict[str, LoincCode]


class InstrumentCodes(_Closed):
    """The LOINC codes of one instrument's results (output only)."""

    instrument: str = Field(pattern=_FINDING)
    panel: LoincCode | None = None
    score: LoincCode
    subscales: dict[str, LoincCode] = Field(default_factory=dict)
    stratum: StratumCode | None = None
    body_site: str | None = None
    note: str
    code_status: CodeStatus


class InstrumentFile(_Closed):
    """instruments.yaml."""

    name: str
    instruments: tuple[InstrumentCodes, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Terminology:
    """The validated maps, indexed for lookup."""

    condition_maps: tuple[tuple[str, CodeMapFile], ...]
    observation_maps: tuple[tuple[str, CodeMapFile], ...]
    medications: MedicationFile
    instruments: Mapping[str, InstrumentCodes]
    # The plausible range and unit (findings.yaml ``min``, ``max``, ``unit``) of each finding a
    # ``value_from`` entry fills; a reading outside it is shown, not used.
    ranges: Mapping[str, tuple[int, int, str]] = field(default_factory=dict)

    def entries_for(self, resource: str, system: str, code: str) -> list[tuple[str, CodeEntry]]:
        """Every (file, entry) that matches ``system|code`` on a resource of this type."""
        maps = self.condition_maps if resource == "Condition" else self.observation_maps
        wanted = normalise_code(code)
        found: list[tuple[str, CodeEntry]] = []
        for file_name, code_map in maps:
            for entry in code_map.entries:
                if system not in entry_systems(code_map, entry):
                    continue
                mine = normalise_code(entry.code)
                if wanted == mine or (entry.match == "prefix" and wanted.startswith(mine)):
                    found.append((file_name, entry))
        return found

    @functools.cached_property
    def disorders(self) -> frozenset[str]:
        """SNOMED CT concept ids the maps know to be disorders (never yes/no Observations)."""
        return frozenset(
            entry.code
            for _, code_map in self.condition_maps
            if SNOMED_SYSTEM in code_map.systems.values()
            for entry in code_map.entries
            if entry.display.endswith("(disorder)")
        )

    @functools.cached_property
    def loinc_codes(self) -> tuple[str, ...]:
        """Every LOINC code the Observation maps read (for the prefetch template)."""
        return tuple(dict.fromkeys(e.code for _, m in self.observation_maps for e in m.entries))


SNOMED_SYSTEM = "http://snomed.info/sct"
LOINC_SYSTEM = "http://loinc.org"
ATC_SYSTEM = "http://www.whocc.no/atc"


def normalise_code(code: str) -> str:
    """A code for comparison: no dots, no spaces, upper case (ICD-10 "m5416" = "M54.16")."""
    return code.replace(".", "").replace(" ", "").upper()


def entry_systems(code_map: CodeMapFile, entry: CodeEntry) -> tuple[str, ...]:
    """The code-system URIs an entry matches in (its own ``systems`` or the file's)."""
    if entry.systems is None:
        return tuple(code_map.systems.values())
    return tuple(code_map.systems[name] for name in entry.systems if name in code_map.systems)


# ----------------------------------------------------------------------- check digits

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def snomed_id_ok(code: str) -> bool:
    """True for a well-formed SNOMED CT concept id: 6-18 digits, a concept partition
    (``00`` core, ``10`` extension) and a correct Verhoeff check digit."""
    if not re.fullmatch(r"[1-9]\d{5,17}", code) or code[-3:-1] not in ("00", "10"):
        return False
    check = 0
    for index, digit in enumerate(reversed(code)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[index % 8][int(digit)]]
    return check == 0


def loinc_code_ok(code: str) -> bool:
    """True for a LOINC code with a correct mod-10 check digit (``8310-5``)."""
    match = re.fullmatch(r"(\d{1,7})-(\d)", code)
    if not match:
        return False
    total = 0
    for index, char in enumerate(reversed(match.group(1))):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10 == int(match.group(2))


_ICD10 = re.compile(r"^[A-Z](\d[0-9A-Z]?(\.[0-9A-Z]{1,4})?)?$")
_ATC = re.compile(r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$")
_LOINC_ANSWER = re.compile(r"^LA\d{1,6}-\d$")


def _code_problems(system: str, entry: CodeEntry) -> list[str]:
    code = entry.code
    if system == SNOMED_SYSTEM:
        if entry.match != "exact":
            return ["SNOMED CT concepts match exactly (no prefix: ids are not hierarchical)"]
        if not snomed_id_ok(code):
            return [f"{code} is not a valid SNOMED CT concept id (check digit or partition)"]
        if not re.search(
            r"\((disorder|finding|situation|procedure|observable entity)\)$", entry.display
        ):
            return ["display must end with the concept's semantic tag, e.g. (disorder)"]
    elif system == LOINC_SYSTEM:
        if entry.match != "exact":
            return ["LOINC codes match exactly"]
        if not loinc_code_ok(code):
            return [f"{code} is not a valid LOINC code (check digit)"]
    elif "icd-10" in system and not _ICD10.match(code):
        return [f"{code} is not an ICD-10 code shape (letter, digits, optional .subcode)"]
    return []


# ------------------------------------------------------------------------ loading


def _read(path: Path, problems: list[str]) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"terminology/{path.name}: cannot read: {exc}")
        return None


def _schema_problems(file_name: str, exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        out.append(f"terminology/{file_name}: {where}: {error['msg']}")
    return out


def _kb() -> Any | None:
    """The knowledge base, or None when it does not load (its own problems are reported by
    the knowledge-base check)."""
    from backpath.kb import load_knowledge

    try:
        return load_knowledge()
    except KnowledgeError:
        return None


def _measure_problems(
    entry: CodeEntry,
    measure: Measure,
    findings: Mapping[str, Any] | None,
    given_only: frozenset[str],
) -> list[str]:
    """What is wrong with a ``value_from`` entry (a measured sign read from an Observation)."""
    out: list[str] = []
    if "value" in entry.model_fields_set:
        out.append("a measured entry takes its value from the Observation: remove `value`")
    if entry.window_days is None:
        out.append(
            "a measured sign describes the moment it was taken: `value_from` needs window_days"
        )
    if measure.component is not None and not loinc_code_ok(measure.component):
        out.append(f"component {measure.component} is not a valid LOINC code (check digit)")
    out.extend(
        f"unit {unit!r} is not a UCUM unit the reader knows ({', '.join(UCUM_UNITS)})"
        for unit in measure.units
        if unit not in UCUM_UNITS
    )
    finding = findings.get(entry.finding) if findings is not None else None
    if finding is None:
        return out  # an unknown finding is reported by the common check
    kind = str(getattr(finding.type, "value", finding.type))
    if kind != "integer":
        out.append(f"{entry.finding} is a {kind} finding: `value_from` fills number findings")
        return out
    if entry.finding not in given_only:
        out.append(
            f"{entry.finding} is not in a given_only group (findings.yaml `measured`): a "
            "number from the chart fills measured signs only"
        )
    if finding.min is None or finding.max is None or finding.unit is None:
        out.append(f"{entry.finding} needs min, max and unit in findings.yaml (its range)")
        return out
    out.extend(
        f"unit {unit!r} does not measure {finding.unit} ({entry.finding})"
        for unit in measure.units
        if unit in UCUM_UNITS and finding.unit not in UCUM_UNITS[unit]
    )
    return out


def _instrument_ids() -> Mapping[str, Any] | None:
    try:
        from backpath.instruments import load_instruments

        return load_instruments()
    except (ImportError, KnowledgeError):
        return None


def _value_problem(finding: Any, value: Any) -> str | None:
    kind = str(getattr(finding.type, "value", finding.type))
    if kind == "boolean":
        return None if value is True else "a chart entry only ever says yes: value must be true"
    if kind == "choice":
        allowed = [v.value for v in finding.values]
        return None if value in allowed else f"value must be one of {', '.join(allowed)}"
    return f"{finding.code} is a {kind} finding: terminology maps set boolean or choice findings"


def _check_entry_common(
    where: str,
    finding_code: str,
    value: Any,
    direction: str,
    window_days: int | None,
    findings: Mapping[str, Any] | None,
    problems: list[str],
    check_value: bool = True,
) -> None:
    if findings is not None:
        finding = findings.get(finding_code)
        if finding is None:
            problems.append(f"{where}: unknown finding {finding_code!r} (findings.yaml)")
        elif check_value:
            message = _value_problem(finding, value)
            if message:
                problems.append(f"{where}: {message}")
    if direction in ("broader", "proxy") and window_days is None:
        problems.append(
            f"{where}: a {direction} entry must be time-limited (window_days): a code that only"
            " may mean the finding must not fire rules about something new for ever"
        )


def _load_all(root: Path) -> tuple[Terminology | None, list[str]]:
    problems: list[str] = []
    kb = _kb()
    findings: Mapping[str, Any] | None = kb.findings if kb is not None else None
    given_only: frozenset[str] = kb.given_only_codes if kb is not None else frozenset()
    worse: dict[str, tuple[str, str]] = {}
    condition_maps: list[tuple[str, CodeMapFile]] = []
    observation_maps: list[tuple[str, CodeMapFile]] = []
    medications: MedicationFile | None = None
    instruments: InstrumentFile | None = None
    if not root.is_dir():
        return None, [f"terminology: folder {root} is missing"]
    for path in sorted(root.glob("*.yaml")):
        data = _read(path, problems)
        if data is None:
            continue
        try:
            if path.name == "medications.yaml":
                medications = MedicationFile.model_validate(data)
            elif path.name == "instruments.yaml":
                instruments = InstrumentFile.model_validate(data)
            else:
                code_map = CodeMapFile.model_validate(data)
                target = condition_maps if code_map.resource == "Condition" else observation_maps
                target.append((path.name, code_map))
        except ValidationError as exc:
            problems.extend(_schema_problems(path.name, exc))

    seen: dict[tuple[str, str, str], str] = {}
    for file_name, code_map in [*condition_maps, *observation_maps]:
        for index, entry in enumerate(code_map.entries):
            where = f"terminology/{file_name}: {entry.code} (entry {index + 1})"
            for name in entry.systems or ():
                if name not in code_map.systems:
                    problems.append(f"{where}: unknown system name {name!r}")
            for system in entry_systems(code_map, entry):
                problems.extend(f"{where}: {p}" for p in _code_problems(system, entry))
                key = (system, normalise_code(entry.code), entry.finding)
                if key in seen:
                    problems.append(f"{where}: {entry.finding} is mapped twice (also {seen[key]})")
                seen[key] = where
            if code_map.resource == "Observation" and (entry.when is None) == (
                entry.value_from is None
            ):
                problems.append(
                    f"{where}: an Observation entry needs either `when` (its threshold) or "
                    "`value_from` (the number it carries), not both"
                )
            if code_map.resource == "Condition" and (
                entry.when is not None or entry.value_from is not None
            ):
                problems.append(f"{where}: `when` and `value_from` apply to Observations only")
            if entry.value_from is not None:
                problems.extend(
                    f"{where}: {p}"
                    for p in _measure_problems(entry, entry.value_from, findings, given_only)
                )
                earlier = worse.setdefault(entry.finding, (entry.value_from.worse, where))
                if earlier[0] != entry.value_from.worse:
                    problems.append(
                        f"{where}: {entry.finding} is worse {entry.value_from.worse} here but "
                        f"{earlier[0]} in {earlier[1]}: one finding, one direction"
                    )
            _check_entry_common(
                where,
                entry.finding,
                entry.value,
                entry.direction,
                entry.window_days,
                findings,
                problems,
                check_value=entry.value_from is None,
            )

    if medications is None:
        problems.append("terminology/medications.yaml: missing")
    else:
        ids: set[str] = set()
        for med in medications.entries:
            where = f"terminology/medications.yaml: {med.id}"
            if med.id in ids:
                problems.append(f"{where}: duplicate id")
            ids.add(med.id)
            if not med.atc and not med.names:
                problems.append(f"{where}: needs ATC codes or ingredient names")
            problems.extend(
                f"{where}: {code} is not an ATC code shape"
                for code in med.atc
                if not _ATC.match(code)
            )
            problems.extend(
                f"{where}: ingredient name {name!r} must be lower-case words"
                for name in med.names
                if not re.fullmatch(r"[a-z][a-z -]*[a-z]", name)
            )
            _check_entry_common(
                where,
                med.finding,
                med.value,
                med.direction,
                med.window_days,
                findings,
                problems,
            )

    instrument_map: dict[str, InstrumentCodes] = {}
    if instruments is None:
        problems.append("terminology/instruments.yaml: missing")
    else:
        known = _instrument_ids()
        for codes in instruments.instruments:
            where = f"terminology/instruments.yaml: {codes.instrument}"
            if codes.instrument in instrument_map:
                problems.append(f"{where}: duplicate instrument")
            instrument_map[codes.instrument] = codes
            loincs = [codes.score, *codes.subscales.values()]
            loincs += [c for c in (codes.panel, codes.stratum) if c is not None]
            problems.extend(
                f"{where}: {c.code} is not a valid LOINC code (check digit)"
                for c in loincs
                if not loinc_code_ok(c.code)
            )
            if codes.stratum is not None:
                problems.extend(
                    f"{where}: {a.code} is not a LOINC answer code (LAnnnn-n)"
                    for a in codes.stratum.answers.values()
                    if not _LOINC_ANSWER.match(a.code)
                )
            if known is None:
                continue
            instrument = known.get(codes.instrument)
            if instrument is None:
                problems.append(f"{where}: unknown instrument (knowledge/instruments)")
                continue
            subscales = {s.id for s in getattr(instrument.scoring, "subscales", ()) or ()}
            problems.extend(
                f"{where}: unknown subscale {name!r}"
                for name in codes.subscales
                if name not in subscales
            )
            if codes.stratum is not None:
                strata = instrument.stratification
                stratum_ids = {s.id for s in strata.strata} if strata is not None else set()
                problems.extend(
                    f"{where}: unknown stratum {name!r}"
                    for name in codes.stratum.answers
                    if name not in stratum_ids
                )
                problems.extend(
                    f"{where}: stratum {name!r} has no LOINC answer"
                    for name in sorted(stratum_ids - set(codes.stratum.answers))
                )

    if problems or medications is None or instruments is None:
        return None, problems
    ranges: dict[str, tuple[int, int, str]] = {}
    for code in worse:
        finding = findings.get(code) if findings is not None else None
        if finding is not None and finding.min is not None and finding.max is not None:
            ranges[code] = (finding.min, finding.max, finding.unit or "")
    return (
        Terminology(
            condition_maps=tuple(condition_maps),
            observation_maps=tuple(observation_maps),
            medications=medications,
            instruments=instrument_map,
            ranges=ranges,
        ),
        [],
    )


def validate_terminology(root: str | Path | None = None) -> list[str]:
    """Every problem in the terminology maps (empty when valid); for ``backpath kb check``."""
    _, problems = _load_all(Path(root) if root else TERMINOLOGY_DIR)
    return problems


@functools.lru_cache(maxsize=4)
def load_terminology(root: str | None = None) -> Terminology:
    """The validated terminology maps (cached). Raises ``KnowledgeError`` listing problems."""
    terminology, problems = _load_all(Path(root) if root else TERMINOLOGY_DIR)
    if terminology is None:
        raise KnowledgeError(problems)
    return terminology


def iter_entries(terminology: Terminology) -> Iterable[tuple[str, CodeEntry]]:
    """Every coded entry with its file name (Conditions, then Observations)."""
    for file_name, code_map in (*terminology.condition_maps, *terminology.observation_maps):
        for entry in code_map.entries:
            yield file_name, entry
