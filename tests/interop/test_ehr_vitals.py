"""Measured signs from the chart: LOINC vital-sign Observations (blood pressure and its
panels, oxygen saturation, pulse, breathing rate) carry their number into the `measured`
findings. A reading in another unit, outside the plausible range, given as a bound or too
old is shown but not used; of several readings the latest counts, and at one time the
worse; the number reaches the triage like the chart's fever does."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backpath.interop.cds_hooks import prefetch_templates
from backpath.interop.ehr import ChartFact, ChartReading, read_chart
from backpath.interop.terminology import TERMINOLOGY_DIR, load_terminology, validate_terminology
from tests.interop.conftest import SERVICE, hook_request, questionnaire_response, searchset

TODAY = date(2026, 11, 25)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def quantity(value: float, code: str | None, unit: str | None = None) -> dict[str, Any]:
    """A FHIR Quantity; ``code`` is a UCUM code (None: a unit text only)."""
    out: dict[str, Any] = {"value": value, "unit": unit or code}
    if code is not None:
        out.update(system=UCUM, code=code)
    return out


def vital(
    code: str,
    value: float,
    unit: str | None,
    when: str = "2026-11-25T08:30:00Z",
    rid: str = "v1",
    display: str | None = None,
    unit_text: str | None = None,
) -> dict[str, Any]:
    """A final vital-sign Observation of Patient/p1 coded LOINC ``code``."""
    coding: dict[str, Any] = {"system": LOINC, "code": code}
    if display:
        coding["display"] = display
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [coding]},
        "effectiveDateTime": when,
        "valueQuantity": quantity(value, unit, unit_text),
    }


def bp_panel(
    systolic: float | None,
    diastolic: float = 50,
    code: str = "85354-9",
    when: str = "2026-11-25T08:30:00Z",
    rid: str = "bp1",
) -> dict[str, Any]:
    """A blood pressure panel as FHIR R4 vital signs send it: no value of its own, systolic
    (8480-6) and diastolic (8462-4) as components."""
    components = [
        {
            "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
            "valueQuantity": quantity(diastolic, "mm[Hg]", "mmHg"),
        }
    ]
    if systolic is not None:
        components.insert(
            0,
            {
                "code": {
                    "coding": [
                        {"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}
                    ]
                },
                "valueQuantity": quantity(systolic, "mm[Hg]", "mmHg"),
            },
        )
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": LOINC, "code": code, "display": "Blood pressure"}]},
        "effectiveDateTime": when,
        "component": components,
    }


def read(*resources: dict[str, Any]) -> ChartReading:
    """The chart read on TODAY."""
    return read_chart(load_terminology(), None, resources, TODAY)


def only_fact(reading: ChartReading) -> ChartFact:
    """The reading's one fact."""
    assert len(reading.facts) == 1, reading.facts
    return reading.facts[0]


# ------------------------------------------------------------------------ each code


@pytest.mark.parametrize(
    ("code", "value", "unit", "finding"),
    [
        ("8480-6", 78, "mm[Hg]", "systolic_bp"),
        ("59408-5", 91, "%", "oxygen_saturation"),
        ("2708-6", 95, "%", "oxygen_saturation"),
        ("8867-4", 72, "/min", "heart_rate"),
        ("8867-4", 141, "{beats}/min", "heart_rate"),
        ("9279-1", 28, "/min", "respiratory_rate"),
        ("9279-1", 14, "{breaths}/min", "respiratory_rate"),
    ],
)
def test_each_vital_sign_code_carries_its_number(
    code: str, value: int, unit: str, finding: str
) -> None:
    """Each LOINC vital sign fills its measured finding with the number, naming the
    Observation, the code, the value with its unit and the time it was taken."""
    reading = read(vital(code, value, unit))
    assert reading.answers() == {finding: value}
    fact = only_fact(reading)
    assert fact.used
    assert fact.resource == "Observation/v1"
    assert fact.when == TODAY
    evidence = fact.evidence()
    assert f"LOINC {code}" in evidence
    assert f"= {value} {unit}" in evidence
    assert "2026-11-25 08:30" in evidence
    assert "map entry not yet reviewed" in evidence


@pytest.mark.parametrize("code", ["85354-9", "55284-4"])
def test_blood_pressure_panel_gives_its_systolic_component(code: str) -> None:
    """A blood pressure panel has no value of its own: the systolic component (8480-6) is
    read; the diastolic is not."""
    reading = read(bp_panel(82, 48, code=code))
    assert reading.answers() == {"systolic_bp": 82}
    fact = only_fact(reading)
    assert f"LOINC {code}" in fact.evidence()
    assert "component LOINC 8480-6 = 82 mmHg" in fact.evidence()


def test_panel_without_a_systolic_component_says_nothing() -> None:
    """A panel holding only the diastolic number gives no systolic reading at all."""
    assert read(bp_panel(None, 40)).facts == []


def test_pulse_oximetry_coded_twice_is_read_once() -> None:
    """A pulse oximeter Observation usually carries both 2708-6 and 59408-5: one reading."""
    resource = vital("2708-6", 89, "%")
    resource["code"]["coding"].append({"system": LOINC, "code": "59408-5"})
    reading = read(resource)
    assert reading.answers() == {"oxygen_saturation": 89}
    assert len(reading.facts) == 1


def test_a_fraction_is_rounded_toward_the_worse_side() -> None:
    """92.6% counts as 92 (low oxygen is worse); a pulse of 130.2 counts as 131."""
    assert read(vital("59408-5", 92.6, "%")).answers() == {"oxygen_saturation": 92}
    assert read(vital("8867-4", 130.2, "/min")).answers() == {"heart_rate": 131}


def test_a_cancelled_reading_is_ignored() -> None:
    """An Observation entered in error says nothing."""
    resource = vital("8480-6", 70, "mm[Hg]")
    resource["status"] = "entered-in-error"
    assert read(resource).facts == []


# ------------------------------------------------------------------ shown, not used


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        (vital("8480-6", 10.4, "kPa"), "unit 'kPa' is not mm[Hg] (UCUM): not converted"),
        (vital("8480-6", 80, None, unit_text="mmHg"), "unit 'mmHg' is not mm[Hg]"),
        (vital("59408-5", 0.89, "1"), "unit '1' is not %"),
        (vital("8867-4", 1.5, "/s"), "unit '/s' is not /min"),
        (vital("9279-1", 22, "%"), "unit '%' is not /min"),
    ],
)
def test_a_reading_in_another_unit_is_shown_not_used(resource: dict[str, Any], why: str) -> None:
    """Another unit (or a unit written differently from UCUM) is never converted or
    guessed: the reading is shown with the reason and sets nothing."""
    reading = read(resource)
    assert reading.answers() == {}
    fact = only_fact(reading)
    assert not fact.used
    assert why in fact.reason


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        (vital("8480-6", 400, "mm[Hg]"), "outside the plausible range 40-300 mmHg"),
        (vital("8480-6", 8, "mm[Hg]"), "outside the plausible range 40-300 mmHg"),
        (vital("59408-5", 45, "%"), "outside the plausible range 50-100 percent"),
        (vital("59408-5", 910, "%"), "outside the plausible range 50-100 percent"),
        (vital("8867-4", 0, "/min"), "outside the plausible range 20-250"),
        (vital("9279-1", 120, "/min"), "outside the plausible range 4-80"),
        (bp_panel(800), "outside the plausible range 40-300 mmHg"),
    ],
)
def test_a_reading_outside_the_plausible_range_is_shown_not_used(
    resource: dict[str, Any], why: str
) -> None:
    """A number no living person has (a typo, a device fault) is shown, not used."""
    reading = read(resource)
    assert reading.answers() == {}
    assert why in only_fact(reading).reason


def test_a_bound_is_not_a_reading() -> None:
    """ "< 70 %" from an oximeter that could not read is shown, not used as 70."""
    resource = vital("59408-5", 70, "%")
    resource["valueQuantity"]["comparator"] = "<"
    reading = read(resource)
    assert reading.answers() == {}
    assert "a bound (< 70)" in only_fact(reading).reason


@pytest.mark.parametrize(
    ("when", "used", "why"),
    [
        ("2026-11-25T06:00:00Z", True, ""),
        ("2026-11-24T22:00:00Z", True, ""),
        ("2026-11-23T09:00:00Z", False, "2 days old; counts for 1 days"),
        ("2026-10-02", False, "54 days old; counts for 1 days"),
    ],
)
def test_an_old_reading_is_shown_not_used(when: str, used: bool, why: str) -> None:
    """A vital sign describes the moment it was taken: today's or yesterday's counts, an
    older one is shown with its age."""
    reading = read(vital("8480-6", 84, "mm[Hg]", when=when))
    fact = only_fact(reading)
    assert fact.used is used
    assert why in fact.reason
    assert reading.answers() == ({"systolic_bp": 84} if used else {})


def test_an_undated_reading_is_shown_not_used() -> None:
    """Without a date a reading is not known to be recent."""
    resource = vital("8480-6", 84, "mm[Hg]")
    del resource["effectiveDateTime"]
    reading = read(resource)
    assert reading.answers() == {}
    assert "date unknown" in only_fact(reading).reason


# ----------------------------------------------------------------- several readings


def test_the_latest_reading_counts_even_when_it_is_better() -> None:
    """Low this morning, normal now: the latest counts (as a clinician reads the latest
    vital sign); the earlier one is shown and names the reading that counts."""
    reading = read(
        vital("8480-6", 82, "mm[Hg]", when="2026-11-25T07:00:00Z", rid="early"),
        bp_panel(124, 80, when="2026-11-25T11:15:00Z", rid="late"),
    )
    assert reading.answers() == {"systolic_bp": 124}
    [early] = reading.not_used()
    assert early.resource == "Observation/early"
    assert "a later reading counts (Observation/late = 124)" in early.reason


def test_the_latest_reading_counts_when_it_is_worse() -> None:
    """Normal yesterday, low now (in any order in the chart): the low one counts."""
    reading = read(
        vital("59408-5", 88, "%", when="2026-11-25T09:00:00Z", rid="now"),
        vital("59408-5", 97, "%", when="2026-11-24T18:00:00Z", rid="yesterday"),
    )
    assert reading.answers() == {"oxygen_saturation": 88}
    assert [f.resource for f in reading.used()] == ["Observation/now"]


def test_time_zones_are_compared_as_moments() -> None:
    """09:00 at +02:00 is 07:00 UTC, earlier than 08:00 UTC on the same day."""
    reading = read(
        vital("8867-4", 140, "/min", when="2026-11-25T09:00:00+02:00", rid="a"),
        vital("8867-4", 96, "/min", when="2026-11-25T08:00:00Z", rid="b"),
    )
    assert reading.answers() == {"heart_rate": 96}


def test_at_the_same_time_the_worse_reading_counts() -> None:
    """Two readings at one time (two devices): lowest blood pressure and oxygen, highest
    pulse and breathing rate - the direction comes from the map (`worse`)."""
    at = "2026-11-25T10:00:00Z"
    reading = read(
        vital("8480-6", 104, "mm[Hg]", when=at, rid="bp_a"),
        bp_panel(86, when=at, rid="bp_b"),
        vital("8867-4", 112, "/min", when=at, rid="hr_a"),
        vital("8867-4", 136, "/min", when=at, rid="hr_b"),
        vital("9279-1", 26, "/min", when=at, rid="rr_a"),
        vital("9279-1", 18, "/min", when=at, rid="rr_b"),
        vital("2708-6", 90, "%", when=at, rid="o2_a"),
        vital("59408-5", 95, "%", when=at, rid="o2_b"),
    )
    assert reading.answers() == {
        "systolic_bp": 86,
        "heart_rate": 136,
        "respiratory_rate": 26,
        "oxygen_saturation": 90,
    }
    reasons = {f.resource: f.reason for f in reading.not_used()}
    assert reasons["Observation/bp_a"] == (
        "taken at the same time as Observation/bp_b = 86: the worse reading counts"
    )
    assert set(reasons) == {
        "Observation/bp_a",
        "Observation/hr_a",
        "Observation/rr_b",
        "Observation/o2_b",
    }


def test_a_reading_with_a_date_only_cannot_be_ordered_on_that_day() -> None:
    """A reading dated today without a time may be before or after today's 10:00 one:
    the worse counts. One dated yesterday is surely earlier."""
    reading = read(
        vital("8480-6", 118, "mm[Hg]", when="2026-11-25T10:00:00Z", rid="timed"),
        vital("8480-6", 88, "mm[Hg]", when="2026-11-25", rid="day"),
        vital("8480-6", 70, "mm[Hg]", when="2026-11-24", rid="yesterday"),
    )
    assert reading.answers() == {"systolic_bp": 88}
    reasons = {f.resource: f.reason for f in reading.not_used()}
    assert "order on the day unknown" in reasons["Observation/timed"]
    assert "a later reading counts" in reasons["Observation/yesterday"]


def test_readings_not_used_do_not_compete() -> None:
    """A later reading in the wrong unit does not hide an earlier valid one."""
    reading = read(
        vital("8480-6", 84, "mm[Hg]", when="2026-11-25T07:00:00Z", rid="valid"),
        vital("8480-6", 11, "kPa", when="2026-11-25T09:00:00Z", rid="kpa"),
    )
    assert reading.answers() == {"systolic_bp": 84}


# --------------------------------------------------------------------- the map itself


def test_prefetch_asks_for_the_vital_sign_codes() -> None:
    """The CDS Hooks prefetch template asks for every code the maps read, panels included
    (a FHIR `code` search does not look inside components)."""
    template = prefetch_templates(load_terminology())["observations"]
    for code in ("8480-6", "85354-9", "55284-4", "59408-5", "2708-6", "8867-4", "9279-1"):
        assert f"http://loinc.org|{code}" in template


def test_measured_entries_are_checked_at_load(tmp_path: Path) -> None:
    """An unknown unit, a unit that measures something else, a boolean finding or one
    outside the measured group, a bad component check digit, no window, and `when` with
    `value_from` are each reported with the file and code."""
    folder = tmp_path / "terminology"
    shutil.copytree(TERMINOLOGY_DIR, folder)
    path = folder / "loinc.yaml"
    text = path.read_text(encoding="utf-8")
    bad = """
  - code: 8462-4
    display: Diastolic blood pressure
    finding: systolic_bp
    direction: equivalent
    value_from: {units: ["mmHg"], worse: lower}
    note: A unit spelled outside UCUM.
    window_days: 1
    reviewed: false
    code_status: unverified
  - code: 8310-5
    display: Body temperature
    finding: heart_rate
    direction: equivalent
    value_from: {units: ["%"], worse: higher}
    note: Percent does not measure a pulse.
    reviewed: false
    code_status: unverified
  - code: 8331-1
    display: Oral temperature
    finding: fever
    direction: equivalent
    value_from: {units: ["Cel"], worse: higher}
    when: {at_least: 38.0, unit: Cel}
    note: A yes/no finding cannot take a number.
    window_days: 1
    reviewed: false
    code_status: unverified
  - code: 85353-1
    display: Vital signs panel
    finding: age
    direction: equivalent
    value_from: {component: 8480-5, units: ["mm[Hg]"], worse: higher}
    note: Age is not a measured sign; the component digit is wrong.
    window_days: 1
    reviewed: false
    code_status: unverified
"""
    path.write_text(text.rstrip("\n") + "\n" + bad, encoding="utf-8")
    problems = "\n".join(validate_terminology(folder))
    assert "8462-4 (entry" in problems
    assert "unit 'mmHg' is not a UCUM unit the reader knows" in problems
    assert "unit '%' does not measure beats_per_minute (heart_rate)" in problems
    assert "`value_from` needs window_days" in problems
    assert "heart_rate is worse higher" not in problems  # the same direction is fine
    assert "fever is a boolean finding: `value_from` fills number findings" in problems
    assert "either `when` (its threshold) or `value_from`" in problems
    assert "unit 'Cel' is not a UCUM unit the reader knows" in problems
    assert "component 8480-5 is not a valid LOINC code (check digit)" in problems
    assert "age is not in a given_only group" in problems
    assert "systolic_bp is worse higher here but lower" not in problems


def test_one_sign_has_one_worse_direction(tmp_path: Path) -> None:
    """Two entries of one finding that disagree on which way is worse are refused: the
    choice between readings at one time must not depend on the code."""
    folder = tmp_path / "terminology"
    shutil.copytree(TERMINOLOGY_DIR, folder)
    path = folder / "loinc.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        'value_from: {units: ["%"], worse: lower}\n    note: >-\n      Oxygen',
        'value_from: {units: ["%"], worse: higher}\n    note: >-\n      Oxygen',
        1,
    )
    path.write_text(text, encoding="utf-8")
    problems = "\n".join(validate_terminology(folder))
    assert "oxygen_saturation is worse higher here but lower" in problems


# ---------------------------------------------------------------------- end to end


def test_cds_hooks_low_blood_pressure_in_the_chart_gives_an_emergency(
    client: TestClient,
) -> None:
    """Acceptance: a patient-view call whose prefetch holds a systolic blood pressure of 78
    mmHg taken today gives a critical card firing low_blood_pressure, with the Observation
    as the evidence."""
    qr = questionnaire_response({"back_pain": True})
    request = hook_request(
        qr,
        observations=searchset(
            bp_panel(78, 40, when="2026-11-25T09:40:00Z", rid="bp-today"),
            bp_panel(122, 76, when="2026-11-20T09:40:00Z", rid="bp-last-week"),
        ),
    )
    response = client.post(SERVICE, json=request)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert card["indicator"] == "critical"
    assert "Emergency" in card["summary"]
    detail = card["detail"]
    assert "`low_blood_pressure`" in detail
    assert "`systolic_bp` = 78 (chart: Observation/bp-today: LOINC 85354-9" in detail
    assert "component LOINC 8480-6 = 78 mmHg" in detail
    assert "In the chart but not used" in detail
    assert "Observation/bp-last-week" in detail
    assert "5 days old; counts for 1 days" in detail


def test_cds_hooks_old_or_implausible_readings_fire_nothing(client: TestClient) -> None:
    """An old low reading and one in kPa are shown on the card but fire no rule."""
    qr = questionnaire_response({"back_pain": True})
    request = hook_request(
        qr,
        observations=searchset(
            bp_panel(78, when="2026-11-20T09:40:00Z", rid="old"),
            vital("8480-6", 9.8, "kPa", rid="kpa"),
        ),
    )
    response = client.post(SERVICE, json=request)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert "low_blood_pressure" not in card["detail"]
    assert card["indicator"] != "critical"
    assert "Observation/old" in card["detail"]
    assert "not converted" in card["detail"]


@pytest.mark.parametrize(("said", "chart", "used"), [(124, 82, 82), (84, 130, 84)])
def test_intake_and_chart_numbers_disagree_the_worse_counts(
    client: TestClient, said: int, chart: int, used: int
) -> None:
    """The intake gives one blood pressure and the chart another: the lower (worse) one
    counts and the card shows both."""
    qr = questionnaire_response({"back_pain": True, "systolic_bp": said})
    request = hook_request(qr, observations=searchset(vital("8480-6", chart, "mm[Hg]")))
    response = client.post(SERVICE, json=request)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert card["indicator"] == "critical"
    assert "`low_blood_pressure`" in card["detail"]
    assert f"`systolic_bp`: the intake says {said}, the chart says {chart}" in card["detail"]
    assert f"Safety first: the worse, {used}, is used." in card["detail"]
