"""EHR data in: chart resources -> findings through the terminology maps, with the source
resource, its date, and old or resolved data shown but not used."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from backpath.interop.ehr import ChartReading, read_chart
from backpath.interop.terminology import load_terminology
from tests.interop.conftest import condition, medication, patient, temperature

TODAY = date(2026, 11, 25)


def read(*resources: dict[str, Any], person: dict[str, Any] | None = None) -> ChartReading:
    """The chart read on TODAY."""
    return read_chart(load_terminology(), person, resources, TODAY)


def test_patient_gives_age_and_sex() -> None:
    """Age in whole years on the day; administrative gender stands in for sex."""
    reading = read(person=patient("1950-11-26", "female"))
    assert reading.age == 75
    assert reading.sex == "female"
    assert reading.answers() == {"age": 75, "sex": "female"}
    assert read(person=patient("1950-11-25")).age == 76
    unknown = read(person=patient("1950", "unknown"))
    assert unknown.age is None
    assert unknown.sex is None
    assert unknown.answers() == {}


def test_g83_4_recent_counts_and_names_its_source() -> None:
    """G83.4 recorded 2 days ago sets saddle_numbness (a proxy) with the Condition as
    evidence; ICD-10 codes match without dots and in WHO ICD-10 too."""
    reading = read(condition("G83.4", recorded="2026-11-23", display="Cauda equina syndrome"))
    assert reading.answers() == {"saddle_numbness": True}
    fact = reading.facts[0]
    assert fact.resource == "Condition/c1"
    assert fact.when == date(2026, 11, 23)
    assert fact.direction == "proxy"
    assert fact.context
    assert 'ICD-10-CM G83.4 "Cauda equina syndrome"' in fact.evidence()
    who = read(condition("g834", system="http://hl7.org/fhir/sid/icd-10"))
    assert who.answers() == {"saddle_numbness": True}


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (condition("G83.4", recorded="2026-10-01"), "55 days old; counts for 14 days"),
        (condition("G83.4", recorded=None), "date unknown"),
        (condition("G83.4", status="resolved"), "clinical status resolved"),
        (condition("Z79.01", status="inactive"), "clinical status inactive"),
    ],
)
def test_old_undated_or_resolved_conditions_are_shown_not_used(
    resource: dict[str, Any], reason: str
) -> None:
    """Stale, undated or resolved: the fact is kept (shown) but sets nothing."""
    reading = read(resource)
    assert reading.answers() == {}
    assert len(reading.not_used()) == 1
    assert reason in reading.not_used()[0].reason


def test_history_findings_count_when_resolved_and_old() -> None:
    """A cancer resolved years ago is still a cancer history."""
    old_cancer = condition("C50.911", status="resolved", recorded="2012-04-01")
    assert read(old_cancer).answers() == {"cancer_history": True}
    assert read(condition("Z85.3", recorded=None)).answers() == {"cancer_history": True}


def test_refuted_and_entered_in_error_conditions_are_ignored() -> None:
    """A refuted or mistaken diagnosis is not shown at all."""
    refuted = condition("G83.4")
    refuted["verificationStatus"] = {"coding": [{"code": "refuted"}]}
    assert read(refuted).facts == []


def test_one_code_can_set_two_findings() -> None:
    """Lumbago with sciatica (M54.41) is back pain and leg pain."""
    assert read(condition("M54.41")).answers() == {"leg_pain": True, "back_pain": True}


def test_snomed_conditions_are_read() -> None:
    """SNOMED CT Sciatica (disorder) makes leg_pain true."""
    sciatica = condition("23056005", system="http://snomed.info/sct")
    assert read(sciatica).answers() == {"leg_pain": True}


@pytest.mark.parametrize(
    ("value", "unit", "fever"),
    [
        (38.9, "Cel", True),
        (38.0, "Cel", True),
        (37.4, "Cel", None),
        (101.3, "[degF]", True),
        (99.0, "[degF]", None),
    ],
)
def test_temperature_at_or_over_38_is_fever_and_lower_says_nothing(
    value: float, unit: str, fever: bool | None
) -> None:
    """LOINC 8310-5 >= 38.0 °C (Fahrenheit converted) is fever; a lower reading is not a
    "no": the finding stays unknown."""
    assert read(temperature(value, unit)).answers().get("fever") is fever


def test_old_temperature_is_shown_not_used() -> None:
    """A fever a week ago is not a fever now."""
    reading = read(temperature(39.2, when="2026-11-18T08:00:00Z"))
    assert reading.answers() == {}
    assert "7 days old" in reading.not_used()[0].reason


def test_cancelled_observation_is_ignored() -> None:
    """An Observation entered in error says nothing."""
    wrong = temperature(39.0)
    wrong["status"] = "entered-in-error"
    assert read(wrong).facts == []


def test_medicines_map_to_findings() -> None:
    """Anticoagulants, long-term steroids and immunosuppressants, by ATC or name."""
    assert read(medication("Apixaban 5 MG Oral Tablet")).answers() == {"anticoagulant": True}
    assert read(medication("Eliquis", atc="B01AF02")).answers() == {"anticoagulant": True}
    assert read(medication("aspirin 75 mg")).answers() == {}
    long_course = medication("prednisolone 5 mg tablets", start="2025-01-10")
    assert read(long_course).answers() == {"steroid_use_long_term": True}
    assert read(medication("tacrolimus 1 mg capsule")).answers() == {"immunosuppressed": True}


def test_short_or_topical_steroids_do_not_count() -> None:
    """A 10-day course, a course of unknown start and a cream are not long-term systemic
    steroids; the short course is shown with its reason."""
    short = read(medication("prednisolone 30 mg", start="2026-11-15"))
    assert short.answers() == {}
    assert "taken for 10 days; counts from 90" in short.not_used()[0].reason
    assert read(medication("prednisolone", start=None)).answers() == {}
    assert read(medication("hydrocortisone 1% cream", start="2020-01-01")).facts == []


def test_stopped_medicines_count_only_within_their_window() -> None:
    """A stopped anticoagulant no longer counts; a steroid course that ended 2 months ago
    (taken for a year) still does."""
    stopped = medication("warfarin 3 mg", status="completed", end="2026-10-01")
    assert read(stopped).answers() == {}
    assert "no longer taken" in read(stopped).not_used()[0].reason
    course = medication(
        "prednisolone 10 mg", status="completed", start="2025-09-01", end="2026-09-25"
    )
    assert read(course).answers() == {"steroid_use_long_term": True}


def test_pathway_context_comes_from_recent_back_codes_only() -> None:
    """A recent sciatica puts the person on the pathway; a fever alone does not."""
    assert read(condition("M54.32")).has_context()
    assert not read(temperature(39.0)).has_context()
    assert not read(condition("M54.32", recorded="2025-01-01")).has_context()
