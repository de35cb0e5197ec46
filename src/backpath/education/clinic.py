"""The clinic contact block printed on every handout, configured by the clinic.

A clinic file is YAML with a closed set of keys (a typo fails and names the valid keys):

.. code-block:: yaml

    preset: uk                  # us (911, US Letter) or uk (999, NHS 111, A4)
    name: Riverside Spine Clinic
    phone: 01632 960 123
    address: |
      12 River Road
      Springfield SP1 2AB
    hours: Monday to Friday, 8am to 6pm
    website: https://example.org/spine
    # Optional overrides of the preset:
    emergency_number: "112"
    advice_line: "111"
    paper: a4

Without a file the ``us`` preset is used and the handout leaves lines for the patient to
write their clinic's name and number.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backpath.errors import BackpathError
from backpath.kb.loader import safe_load_yaml


class Paper(StrEnum):
    """Paper sizes the print CSS supports."""

    A4 = "a4"
    LETTER = "letter"


class Preset(BaseModel):
    """A country preset: emergency number, urgent advice line, usual paper size."""

    model_config = ConfigDict(frozen=True)

    country: str
    emergency_number: str
    advice_line: str | None
    paper: Paper


#: US: call 911. UK: call 999; NHS 111 for urgent advice; A4 paper.
PRESETS: dict[str, Preset] = {
    "us": Preset(
        country="United States", emergency_number="911", advice_line=None, paper=Paper.LETTER
    ),
    "uk": Preset(
        country="United Kingdom", emergency_number="999", advice_line="111", paper=Paper.A4
    ),
}

_PHONE = r"^[0-9+() .\-]{2,32}$"


class ClinicError(BackpathError):
    """A clinic file is invalid. ``field`` names the key (``phone``, ``preset``...)."""

    def __init__(self, field: str, message: str, path: str | None = None) -> None:
        self.field = field
        self.message = message
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{field}: {message}")


class Clinic(BaseModel):
    """A clinic's contact block. Unset overrides fall back to the preset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str = Field(default="us", pattern=r"^(us|uk)$")
    name: str | None = None
    phone: str | None = Field(default=None, pattern=_PHONE)
    address: str | None = None
    hours: str | None = None
    website: str | None = None
    emergency_number: str | None = Field(default=None, pattern=r"^[0-9]{2,4}$")
    advice_line: str | None = Field(default=None, pattern=_PHONE)
    paper: Paper | None = None

    @property
    def country(self) -> Preset:
        """The preset this clinic starts from."""
        return PRESETS[self.preset]

    @property
    def emergency(self) -> str:
        """The emergency number to print (the override, or the preset's)."""
        return self.emergency_number or self.country.emergency_number

    @property
    def advice(self) -> str | None:
        """The urgent advice line to print, if any (UK: NHS 111)."""
        return self.advice_line or self.country.advice_line

    @property
    def paper_size(self) -> Paper:
        """The paper size to print on (the override, or the preset's)."""
        return self.paper or self.country.paper

    @property
    def address_lines(self) -> tuple[str, ...]:
        """The address, one line each."""
        if not self.address:
            return ()
        return tuple(line.strip() for line in self.address.splitlines() if line.strip())

    @property
    def is_configured(self) -> bool:
        """True when the clinic gave its name or phone number."""
        return bool(self.name or self.phone)


def clinic_from_data(data: Any, path: str | None = None) -> Clinic:
    """Validate a decoded clinic mapping; ``ClinicError`` names the first bad key."""
    if not isinstance(data, dict):
        raise ClinicError("(file)", "a clinic file is a mapping of keys to values", path)
    try:
        return Clinic.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "(file)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key; valid keys: " + ", ".join(sorted(Clinic.model_fields))
        elif field == "preset":
            message = "must be one of: " + ", ".join(PRESETS)
        raise ClinicError(field, message, path) from None


def load_clinic(path: str | Path) -> Clinic:
    """Read and validate a clinic YAML file; ``ClinicError`` for any problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ClinicError("(file)", "no such file", source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClinicError("(file)", f"cannot read ({exc})", source) from None
    try:
        data = safe_load_yaml(text)
    except yaml.YAMLError as exc:
        raise ClinicError("(file)", f"not valid YAML ({exc})", source) from None
    return clinic_from_data(data, source)


def preset_clinic(preset: str = "us") -> Clinic:
    """A clinic with only a country preset (no name or number)."""
    return clinic_from_data({"preset": preset})
