"""EHR data in: a patient's chart (FHIR R4 resources) -> backpath findings with evidence.

``read_chart`` turns the Patient (age from ``birthDate``, sex from ``gender``), Conditions,
Observations, MedicationStatements and MedicationRequests into ``ChartFact``s through the
terminology maps (``knowledge/terminology``). Every fact keeps its source resource, its code,
its date and the map entry's direction of meaning, so the card can show where it came from.

A chart entry only ever says "yes". A fact that is too old for its finding (the entry's
``window_days``), resolved, refuted or of unknown date is kept with ``used = False`` and a
reason: it is shown to the clinician but sets nothing, so it cannot fire a rule about
something new, and the question stays open (unknown is never "no"). Nothing here is
clinical judgement: the meanings and windows are data.

Measured signs (an entry with ``value_from``: blood pressure, oxygen saturation, pulse,
breathing rate) carry the Observation's number, or a panel component's, into the finding.
A reading in another unit than the entry's UCUM units (never converted), outside the
finding's plausible range (findings.yaml), given only as a bound (``< 70``) or older than
the window is shown, not used. Of several readings of one sign, the latest counts, as a
clinician reads the latest vital sign; readings whose order cannot be told (the same time,
or a reading with a date only on the same day) give the worse one (the entry's ``worse``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from backpath.interop.terminology import (
    ATC_SYSTEM,
    CodeEntry,
    Measure,
    MedicationEntry,
    Terminology,
)

_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")
_ADMIN_GENDER_TO_SEX = {"female": "female", "male": "male", "other": "other"}
_CONDITION_CURRENT = {"active", "recurrence", "relapse"}
_CONDITION_IGNORED = {"entered-in-error", "refuted"}
_OBSERVATION_IGNORED = {"cancelled", "entered-in-error"}
_MEDICATION_CURRENT = {"active", "on-hold"}
_MEDICATION_ENDED = {"completed", "stopped"}
_MEDICATION_IGNORED = {"entered-in-error", "not-taken"}
_UCUM_SYSTEM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class ChartFact:
    """One finding read from one chart resource.

    ``used`` is False when the fact is shown but does not count (``reason`` says why:
    older than the entry's window, resolved, date unknown...). A measured sign also keeps
    the moment it was taken (``at``, when the chart gives a time of day) and which way it is
    worse (``worse``: ``lower`` or ``higher``), to choose among several readings.
    """

    code: str
    value: Any
    resource: str
    source: str
    when: date | None
    used: bool
    reason: str = ""
    direction: str = "equivalent"
    reviewed: bool = True
    note: str = ""
    context: bool = False
    at: datetime | None = None
    worse: str | None = None

    def evidence(self) -> str:
        """How the card names it: resource, code, date (and time of a measured sign), and
        the map entry's standing."""
        text = f"{self.resource}: {self.source}"
        if self.at is not None:
            text += f", {self.at.isoformat(sep=' ', timespec='minutes')}"
        elif self.when is not None:
            text += f", {self.when.isoformat()}"
        extras = []
        if self.direction in ("broader", "proxy"):
            extras.append(f"{self.direction} code - it may mean something else")
        if not self.reviewed:
            extras.append("map entry not yet reviewed")
        if extras:
            text += f" ({'; '.join(extras)})"
        return text

    def to_json(self) -> dict[str, Any]:
        """The fact as JSON (for logs and tests)."""
        return {
            "code": self.code,
            "value": self.value,
            "resource": self.resource,
            "source": self.source,
            "date": self.when.isoformat() if self.when else None,
            "time": self.at.isoformat() if self.at else None,
            "used": self.used,
            "reason": self.reason,
            "direction": self.direction,
            "reviewed": self.reviewed,
        }


@dataclass
class ChartReading:
    """Everything read from the chart: facts (used or not) and the person's age and sex."""

    facts: list[ChartFact] = field(default_factory=list)
    age: int | None = None
    sex: str | None = None

    def answers(self) -> dict[str, Any]:
        """One value per finding from the facts that count (a chart only ever says yes)."""
        out: dict[str, Any] = {}
        for fact in self.facts:
            if fact.used:
                out.setdefault(fact.code, fact.value)
        return out

    def used(self) -> list[ChartFact]:
        """The facts that count."""
        return [fact for fact in self.facts if fact.used]

    def not_used(self) -> list[ChartFact]:
        """The facts shown but not counted."""
        return [fact for fact in self.facts if not fact.used]

    def has_context(self) -> bool:
        """True when a counted fact puts the person on the back-and-leg-pain pathway."""
        return any(fact.used and fact.context for fact in self.facts)


# --------------------------------------------------------------------------- dates


def fhir_date(value: Any) -> date | None:
    """The calendar date of a FHIR date, dateTime or instant; None when absent or partial."""
    if not isinstance(value, str) or not value:
        return None
    if _PARTIAL_DATE.match(value):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def fhir_instant(value: Any) -> datetime | None:
    """The moment of a FHIR dateTime or instant that has a time of day (a time without a
    zone, which FHIR does not allow, is taken as UTC); None for a date only."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _latest(*values: Any) -> date | None:
    dates = [d for d in (fhir_date(v) for v in values) if d is not None]
    return max(dates) if dates else None


def age_on(birth_date: Any, on: date) -> int | None:
    """Whole years from ``birth_date`` to ``on``; None for a partial or invalid date."""
    born = fhir_date(birth_date) if isinstance(birth_date, str) and len(birth_date) == 10 else None
    if born is None:
        return None
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return years if years >= 0 else None


def _reference(resource: Mapping[str, Any]) -> str:
    kind = resource.get("resourceType", "Resource")
    rid = resource.get("id")
    return f"{kind}/{rid}" if isinstance(rid, str) and rid else f"{kind} (no id)"


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _status_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        code = coding.get("code")
        if isinstance(code, str):
            return code
    return None


def _windowed(entry_window: int | None, when: date | None, today: date) -> tuple[bool, str]:
    """Whether a fact of this date is recent enough for an entry with this window."""
    if entry_window is None:
        return True, ""
    if when is None:
        return False, "date unknown, so not known to be recent"
    age = (today - when).days
    if age > entry_window:
        return False, f"{age} days old; counts for {entry_window} days"
    return True, ""


# ---------------------------------------------------------------------- resources


def _condition_facts(
    terminology: Terminology, resource: Mapping[str, Any], today: date
) -> Iterable[ChartFact]:
    verification = _status_code(resource.get("verificationStatus"))
    if verification in _CONDITION_IGNORED:
        return
    clinical = _status_code(resource.get("clinicalStatus"))
    onset_period = resource.get("onsetPeriod")
    when = _latest(
        resource.get("onsetDateTime"),
        onset_period.get("start") if isinstance(onset_period, dict) else None,
        resource.get("recordedDate"),
    )
    ref = _reference(resource)
    for coding in _codings(resource.get("code")):
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            continue
        for _, entry in terminology.entries_for("Condition", system, code):
            used, reason = _windowed(entry.window_days, when, today)
            if clinical is not None and clinical not in _CONDITION_CURRENT:
                if not entry.counts_when_resolved:
                    used, reason = False, f"clinical status {clinical}"
            elif (
                clinical is None
                and resource.get("abatementDateTime")
                and not entry.counts_when_resolved
            ):
                used, reason = False, "abated"
            yield _fact(entry, ref, _source(system, code, coding, entry), when, used, reason)


def _source(system: str, code: str, coding: Mapping[str, Any], entry: CodeEntry) -> str:
    names = {
        "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
        "http://hl7.org/fhir/sid/icd-10": "ICD-10",
        "http://snomed.info/sct": "SNOMED CT",
        "http://loinc.org": "LOINC",
    }
    display = coding.get("display") if isinstance(coding.get("display"), str) else entry.display
    return f'{names.get(system, system)} {code} "{display}"'


def _fact(
    entry: CodeEntry | MedicationEntry,
    ref: str,
    source: str,
    when: date | None,
    used: bool,
    reason: str,
) -> ChartFact:
    return ChartFact(
        code=entry.finding,
        value=entry.value,
        resource=ref,
        source=source,
        when=when,
        used=used,
        reason=reason,
        direction=entry.direction,
        reviewed=entry.reviewed,
        note=entry.note,
        context=bool(getattr(entry, "context", False)),
    )


def _celsius(quantity: Mapping[str, Any]) -> float | None:
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    unit = str(quantity.get("code") or quantity.get("unit") or "").strip()
    if unit in ("Cel", "°C", "C", "degC"):
        return float(value)
    if unit in ("[degF]", "°F", "F", "degF"):
        return (float(value) - 32.0) * 5.0 / 9.0
    return None


def _observation_time(resource: Mapping[str, Any]) -> tuple[date | None, datetime | None]:
    """When an Observation was taken: the latest date of its ``effective[x]`` (else
    ``issued``), and that value's moment when it has a time of day."""
    period = resource.get("effectivePeriod")
    candidates = [
        resource.get("effectiveDateTime"),
        resource.get("effectiveInstant"),
        period.get("end") or period.get("start") if isinstance(period, dict) else None,
    ]
    dated = [(day, value) for value in candidates if (day := fhir_date(value)) is not None]
    if dated:
        day, value = max(dated, key=lambda item: item[0])
        return day, fhir_instant(value)
    issued = resource.get("issued")
    day = fhir_date(issued)
    return day, fhir_instant(issued) if day is not None else None


def _measured_quantity(
    resource: Mapping[str, Any], measure: Measure
) -> tuple[Mapping[str, Any] | None, str]:
    """The quantity holding a measured sign (the Observation's, or its component's) and,
    for a component, how the card names it."""
    if measure.component is None:
        quantity = resource.get("valueQuantity")
        return (quantity if isinstance(quantity, dict) else None), ""
    for component in resource.get("component") or []:
        if not isinstance(component, dict):
            continue
        for coding in _codings(component.get("code")):
            if coding.get("system") == "http://loinc.org" and coding.get("code") == (
                measure.component
            ):
                quantity = component.get("valueQuantity")
                if isinstance(quantity, dict):
                    return quantity, f", component LOINC {measure.component}"
    return None, ""


def _ucum_code(quantity: Mapping[str, Any]) -> str | None:
    """The quantity's UCUM code as written (its ``code``, or its ``unit`` text when there is
    no code); None when coded in another system."""
    system = quantity.get("system")
    if system is not None and system != _UCUM_SYSTEM:
        return None
    code = quantity.get("code")
    if isinstance(code, str) and code:
        return code
    unit = quantity.get("unit")
    return unit if isinstance(unit, str) and unit else None


def _measured_fact(
    terminology: Terminology,
    entry: CodeEntry,
    measure: Measure,
    resource: Mapping[str, Any],
    source: str,
    moment: tuple[date | None, datetime | None],
    today: date,
) -> ChartFact | None:
    """One reading of a measured sign; None when the Observation holds no number for it."""
    quantity, part = _measured_quantity(resource, measure)
    if quantity is None:
        return None
    raw = quantity.get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        return None
    ucum = _ucum_code(quantity)
    shown = f"{raw} {quantity.get('unit') or quantity.get('code') or ''}".strip()
    value: int | float = raw
    limits = terminology.ranges.get(entry.finding)
    used, reason = True, ""
    if ucum not in measure.units:
        unit = quantity.get("code") or quantity.get("unit") or "no unit"
        if quantity.get("system") not in (None, _UCUM_SYSTEM):
            unit = f"{unit} of {quantity.get('system')}"
        used = False
        reason = f"unit {unit!r} is not {' or '.join(measure.units)} (UCUM): not converted"
    elif isinstance(quantity.get("comparator"), str):
        used, reason = False, f"a bound ({quantity['comparator']} {raw}), not a reading"
    elif limits is None:
        used, reason = False, "the finding's plausible range is unknown"
    elif not limits[0] <= raw <= limits[1]:
        used = False
        reason = (
            f"outside the plausible range {limits[0]}-{limits[1]} {limits[2]}: "
            "probably a recording error"
        )
    else:
        value = math.floor(raw) if measure.worse == "lower" else math.ceil(raw)
        used, reason = _windowed(entry.window_days, moment[0], today)
    fact = _fact(entry, _reference(resource), f"{source}{part} = {shown}", moment[0], used, reason)
    return dataclasses.replace(fact, value=value, at=moment[1], worse=measure.worse)


def _observation_facts(
    terminology: Terminology, resource: Mapping[str, Any], today: date
) -> Iterable[ChartFact]:
    if resource.get("status") in _OBSERVATION_IGNORED:
        return
    moment = _observation_time(resource)
    when = moment[0]
    ref = _reference(resource)
    quantity = resource.get("valueQuantity")
    measured: set[str] = set()  # one reading per sign per Observation (a panel has 2 codes)
    for coding in _codings(resource.get("code")):
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            continue
        for _, entry in terminology.entries_for("Observation", system, code):
            if entry.value_from is not None:
                if entry.finding in measured:
                    continue
                source = _source(system, code, coding, entry)
                fact = _measured_fact(
                    terminology, entry, entry.value_from, resource, source, moment, today
                )
                if fact is not None:
                    measured.add(entry.finding)
                    yield fact
                continue
            if entry.when is None or not isinstance(quantity, dict):
                continue
            celsius = _celsius(quantity)
            if celsius is None or celsius < entry.when.at_least:
                continue  # below the threshold: says nothing (never "no")
            used, reason = _windowed(entry.window_days, when, today)
            shown = f"{quantity.get('value')} {quantity.get('unit') or quantity.get('code') or ''}"
            source = _source(system, code, coding, entry) + f" = {shown.strip()}"
            yield _fact(entry, ref, source, when, used, reason)


def _medication_concepts(
    resource: Mapping[str, Any], contained: Mapping[str, Mapping[str, Any]]
) -> list[Any]:
    concept = resource.get("medicationCodeableConcept")
    if isinstance(concept, dict):
        return [concept]
    reference = resource.get("medicationReference")
    if isinstance(reference, dict):
        target = reference.get("reference")
        out: list[Any] = []
        if isinstance(target, str) and target in contained:
            out.append(contained[target].get("code"))
        if isinstance(reference.get("display"), str):
            out.append({"text": reference["display"]})
        return out
    return []


def _words(concepts: Iterable[Any]) -> str:
    parts: list[str] = []
    for concept in concepts:
        if not isinstance(concept, dict):
            continue
        if isinstance(concept.get("text"), str):
            parts.append(concept["text"])
        parts.extend(c["display"] for c in _codings(concept) if isinstance(c.get("display"), str))
    return " ".join(parts).lower()


def _medication_match(entry: MedicationEntry, concepts: list[Any]) -> str | None:
    """How a medicine matches an entry (``ATC B01AF02`` or ``name "apixaban"``), or None."""
    for concept in concepts:
        for coding in _codings(concept):
            code = coding.get("code")
            if (
                coding.get("system") == ATC_SYSTEM
                and isinstance(code, str)
                and any(code.upper().startswith(prefix) for prefix in entry.atc)
            ):
                return f"ATC {code}"
    text = _words(concepts)
    if not text or any(re.search(rf"\b{re.escape(w)}\b", text) for w in entry.exclude):
        return None
    for name in entry.names:
        if re.search(rf"\b{re.escape(name)}\b", text):
            return f'name "{name}"'
    return None


def _medication_facts(
    terminology: Terminology, resource: Mapping[str, Any], today: date
) -> Iterable[ChartFact]:
    status = resource.get("status")
    if status in _MEDICATION_IGNORED:
        return
    contained = {
        f"#{c.get('id')}": c
        for c in resource.get("contained") or []
        if isinstance(c, dict) and c.get("id")
    }
    concepts = _medication_concepts(resource, contained)
    period = resource.get("effectivePeriod")
    start = fhir_date(period.get("start")) if isinstance(period, dict) else None
    end = fhir_date(period.get("end")) if isinstance(period, dict) else None
    if resource.get("resourceType") == "MedicationRequest":
        start = start or fhir_date(resource.get("authoredOn"))
    else:
        start = start or fhir_date(resource.get("effectiveDateTime"))
    asserted = fhir_date(resource.get("dateAsserted"))
    ref = _reference(resource)
    label = _words(concepts) or "medicine"
    for entry in terminology.medications.entries:
        how = _medication_match(entry, concepts)
        if how is None:
            continue
        current = status in _MEDICATION_CURRENT and (end is None or end >= today)
        when = today if current else (end or asserted or start)
        used, reason = True, ""
        if not current:
            if status not in _MEDICATION_ENDED and status is not None and end is None:
                used, reason = False, f"status {status}"
            elif entry.window_days is not None:
                used, reason = _windowed(entry.window_days, end or asserted, today)
                if entry.window_days == 0 and not used:
                    reason = "no longer taken"
        if used and entry.min_duration_days is not None:
            if start is None:
                used, reason = False, "start date unknown, so not known to be long-term"
            else:
                taken = ((today if current else (end or today)) - start).days
                if taken < entry.min_duration_days:
                    used = False
                    reason = f"taken for {taken} days; counts from {entry.min_duration_days}"
        source = f"{label} ({how}; {resource.get('resourceType')} status {status})"
        yield _fact(entry, ref, source, when, used, reason)


def _patient(reading: ChartReading, patient: Mapping[str, Any], today: date) -> None:
    ref = _reference(patient)
    birth = patient.get("birthDate")
    if birth is not None:
        reading.age = age_on(birth, today)
        if reading.age is not None:
            reading.facts.append(
                ChartFact("age", reading.age, ref, f"birthDate {birth}", fhir_date(birth), True)
            )
        else:
            reading.facts.append(
                ChartFact(
                    "age",
                    None,
                    ref,
                    f"birthDate {birth}",
                    None,
                    False,
                    "a year or month only: the age could be either of two numbers",
                )
            )
    gender = patient.get("gender")
    sex = _ADMIN_GENDER_TO_SEX.get(gender) if isinstance(gender, str) else None
    if sex is not None:
        reading.sex = sex
        reading.facts.append(
            ChartFact(
                "sex",
                sex,
                ref,
                f"gender {gender}",
                None,
                True,
                direction="proxy",
                note="administrative gender stands in for sex; the person's own answer wins",
            )
        )


def _definitely_before(first: ChartFact, second: ChartFact) -> bool:
    """True when ``first`` was surely taken before ``second`` (by time of day when both
    have one, else by date)."""
    if first.at is not None and second.at is not None:
        return first.at < second.at
    return first.when is not None and second.when is not None and first.when < second.when


def _latest_readings(facts: list[ChartFact]) -> list[ChartFact]:
    """One counted reading per measured sign: the latest. When the order of the latest
    readings cannot be told (the same time, or a date only on the same day), the worse one
    counts. The others are kept, shown but not used."""
    by_sign: dict[str, list[int]] = {}
    for index, fact in enumerate(facts):
        if fact.used and fact.worse is not None:
            by_sign.setdefault(fact.code, []).append(index)
    out = list(facts)
    for indexes in by_sign.values():
        if len(indexes) < 2:
            continue
        readings = [facts[i] for i in indexes]
        latest = [r for r in readings if not any(_definitely_before(r, o) for o in readings)]
        latest = latest or readings

        def severity(fact: ChartFact) -> float:
            return float(fact.value) if fact.worse == "lower" else -float(fact.value)

        chosen = min(latest, key=severity)
        named = f"{chosen.resource} = {chosen.value}"
        for index, fact in zip(indexes, readings, strict=True):
            if fact is chosen:
                continue
            if not any(fact is other for other in latest):
                reason = f"a later reading counts ({named})"
            elif fact.at is not None and fact.at == chosen.at:
                reason = f"taken at the same time as {named}: the worse reading counts"
            else:
                reason = f"order on the day unknown (no time) with {named}: the worse counts"
            out[index] = dataclasses.replace(fact, used=False, reason=reason)
    return out


def read_chart(
    terminology: Terminology,
    patient: Mapping[str, Any] | None,
    resources: Iterable[Mapping[str, Any]],
    today: date,
) -> ChartReading:
    """Findings from a patient's chart, measured on ``today``."""
    reading = ChartReading()
    if patient is not None:
        _patient(reading, patient, today)
    readers = {
        "Condition": _condition_facts,
        "Observation": _observation_facts,
        "MedicationStatement": _medication_facts,
        "MedicationRequest": _medication_facts,
    }
    for resource in resources:
        reader = readers.get(str(resource.get("resourceType")))
        if reader is not None:
            reading.facts.extend(reader(terminology, resource, today))
    reading.facts = _latest_readings(reading.facts)
    return reading
