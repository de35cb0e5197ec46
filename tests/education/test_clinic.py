"""The clinic contact block: presets for the US (911) and the UK (999), overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from backpath.education import (
    PRESETS,
    ClinicError,
    Paper,
    clinic_from_data,
    load_clinic,
    preset_clinic,
)


@pytest.mark.parametrize(
    ("preset", "emergency", "advice", "paper"),
    [("us", "911", None, Paper.LETTER), ("uk", "999", "111", Paper.A4)],
)
def test_presets(preset: str, emergency: str, advice: str | None, paper: Paper) -> None:
    """Each country preset brings its emergency number, advice line and usual paper size."""
    clinic = preset_clinic(preset)
    assert clinic.emergency == emergency
    assert clinic.advice == advice
    assert clinic.paper_size is paper
    assert not clinic.is_configured
    assert PRESETS[preset].emergency_number == emergency


def test_overrides_beat_the_preset() -> None:
    """A clinic may set its own emergency number, advice line and paper size."""
    clinic = clinic_from_data(
        {
            "preset": "uk",
            "name": "Clínica Norte",
            "emergency_number": "112",
            "advice_line": "116 117",
            "paper": "letter",
        }
    )
    assert (clinic.emergency, clinic.advice, clinic.paper_size) == ("112", "116 117", Paper.LETTER)
    assert clinic.is_configured


def test_address_is_split_into_lines() -> None:
    """A multi-line address prints one line each, blank lines dropped."""
    clinic = clinic_from_data({"address": "1 Main St\n\nSpringfield, IL 62701\n"})
    assert clinic.address_lines == ("1 Main St", "Springfield, IL 62701")


def test_unknown_key_lists_the_valid_keys() -> None:
    """A typo in a clinic file fails and names every valid key."""
    with pytest.raises(
        ClinicError, match="unknown key; valid keys: address, advice_line, emergency_number"
    ) as error:
        clinic_from_data({"telephone": "555"})
    assert error.value.field == "telephone"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"preset": "fr"}, "preset"),
        ({"phone": "call us!"}, "phone"),
        ({"emergency_number": "nine-one-one"}, "emergency_number"),
        ({"paper": "a5"}, "paper"),
    ],
)
def test_bad_values_name_the_field(data: dict[str, str], field: str) -> None:
    """A bad value fails with the field it is in."""
    with pytest.raises(ClinicError) as error:
        clinic_from_data(data)
    assert error.value.field == field


def test_load_clinic_reads_yaml(tmp_path: Path) -> None:
    """load_clinic reads a YAML file into a validated Clinic."""
    path = tmp_path / "clinic.yaml"
    path.write_text("preset: uk\nname: Riverside\nphone: 01632 960 123\n", encoding="utf-8")
    clinic = load_clinic(path)
    assert (clinic.name, clinic.phone, clinic.emergency) == ("Riverside", "01632 960 123", "999")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("name: [unclosed", "not valid YAML"), ("- a list", "a mapping")],
)
def test_load_clinic_errors(tmp_path: Path, content: str | None, message: str) -> None:
    """A missing, unreadable or wrongly shaped clinic file is a ClinicError with the path."""
    path = tmp_path / "clinic.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ClinicError, match=message) as error:
        load_clinic(path)
    assert error.value.path == str(path)
