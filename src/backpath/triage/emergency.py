"""The clinic's emergency telephone number, for the first line of an emergency result.

The number is a deployment setting, not clinical knowledge: a clinic in the UK says 999, in
the US 911, in the EU 112. One number is used everywhere - the result page, the emergency
screen, the JSON and the printed handout - so a page can never say 999 while its handout
says 911. In order:

1. ``BACKPATH_EMERGENCY_NUMBER`` (digits);
2. ``BACKPATH_EMERGENCY_REGION``: a preset of ``safety.yaml`` (``uk``, ``us``, ``eu``);
3. the clinic file ``BACKPATH_CLINIC_FILE`` or the clinic preset ``BACKPATH_CLINIC_PRESET``
   that the handout uses (docs/handout.md);
4. the knowledge base's default preset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from backpath.kb import KnowledgeBase


class EmergencyNumberError(ValueError):
    """The configured emergency number or region is not usable."""


_SETTINGS = (
    "BACKPATH_EMERGENCY_NUMBER",
    "BACKPATH_EMERGENCY_REGION",
    "BACKPATH_CLINIC_FILE",
    "BACKPATH_CLINIC_PRESET",
)
_SETTINGS_BYTES = tuple(name.encode() for name in _SETTINGS)


def _none_set() -> bool:
    """Whether the process environment sets none of the four settings, checked in its own
    byte-keyed table where the system has one (every emergency result asks: a miss through
    ``os.environ.get`` raises and catches two exceptions per name). False when it cannot
    tell, so that the settings are then read the ordinary way."""
    data = getattr(os.environ, "_data", None)
    if not os.supports_bytes_environ or not isinstance(data, dict):
        return False
    return data.keys().isdisjoint(_SETTINGS_BYTES)


def emergency_number(kb: KnowledgeBase, environ: Mapping[str, str] | None = None) -> str:
    """The emergency number patient texts should show (see the module docstring)."""
    numbers = kb.safety.emergency_numbers
    if environ is None and _none_set():
        return numbers.presets[numbers.default]
    env = os.environ if environ is None else environ
    explicit = env.get("BACKPATH_EMERGENCY_NUMBER", "").strip()
    if explicit:
        if not explicit.isdigit():
            raise EmergencyNumberError(
                f"BACKPATH_EMERGENCY_NUMBER must be digits only, not {explicit!r}"
            )
        return explicit
    region = env.get("BACKPATH_EMERGENCY_REGION", "").strip().lower()
    if region:
        if region not in numbers.presets:
            raise EmergencyNumberError(
                f"BACKPATH_EMERGENCY_REGION must be one of {', '.join(sorted(numbers.presets))},"
                f" not {region!r}"
            )
        return numbers.presets[region]
    clinic_file = env.get("BACKPATH_CLINIC_FILE", "").strip()
    clinic_preset = env.get("BACKPATH_CLINIC_PRESET", "").strip().lower()
    if clinic_file or clinic_preset:
        from backpath.education import load_clinic, preset_clinic

        clinic = load_clinic(clinic_file) if clinic_file else preset_clinic(clinic_preset)
        return clinic.emergency
    return numbers.presets[numbers.default]
