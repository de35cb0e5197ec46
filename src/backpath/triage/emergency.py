"""The clinic's emergency telephone number, for the first line of an emergency result.

The number is a deployment setting, not clinical knowledge: a clinic in the UK says 999, in
the US 911, in the EU 112. ``BACKPATH_EMERGENCY_NUMBER`` (digits) wins; otherwise
``BACKPATH_EMERGENCY_REGION`` names a preset of ``safety.yaml``; otherwise the knowledge
base's default preset is used.
"""

from __future__ import annotations

import os

from backpath.kb import KnowledgeBase


class EmergencyNumberError(ValueError):
    """The configured emergency number or region is not usable."""


def emergency_number(kb: KnowledgeBase, environ: dict[str, str] | None = None) -> str:
    """The emergency number patient texts should show, from the environment or the default."""
    env = os.environ if environ is None else environ
    numbers = kb.safety.emergency_numbers
    explicit = env.get("BACKPATH_EMERGENCY_NUMBER", "").strip()
    if explicit:
        if not explicit.isdigit():
            raise EmergencyNumberError(
                f"BACKPATH_EMERGENCY_NUMBER must be digits only, not {explicit!r}"
            )
        return explicit
    region = env.get("BACKPATH_EMERGENCY_REGION", "").strip().lower() or numbers.default
    if region not in numbers.presets:
        raise EmergencyNumberError(
            f"BACKPATH_EMERGENCY_REGION must be one of {', '.join(sorted(numbers.presets))},"
            f" not {region!r}"
        )
    return numbers.presets[region]
