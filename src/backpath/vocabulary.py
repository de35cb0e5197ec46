"""The typed vocabulary of backpath: urgencies, concerns and finding value types.

These names are the public contract (DESIGN.md). The *content* (which findings exist, what
the rules say) is data in ``backpath/knowledge``; the *shape* of that content is here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Union


class Urgency(StrEnum):
    """How soon a person must be seen, from most to least urgent.

    ``emergency``: go to an emergency department now or call emergency services.
    ``urgent``: speak to a doctor today. ``routine``: book an appointment with a doctor.
    ``self_care``: look after yourself at home, with clear "see a doctor if..." advice.
    """

    EMERGENCY = "emergency"
    URGENT = "urgent"
    ROUTINE = "routine"
    SELF_CARE = "self_care"

    @property
    def rank(self) -> int:
        """Higher is more urgent; used to order worklists and to take the maximum."""
        return _URGENCY_RANK[self]


_URGENCY_RANK = {
    Urgency.EMERGENCY: 3,
    Urgency.URGENT: 2,
    Urgency.ROUTINE: 1,
    Urgency.SELF_CARE: 0,
}


class Concern(StrEnum):
    """What a fired rule points at (a suspected cause, never a diagnosis)."""

    CAUDA_EQUINA = "cauda_equina"
    SPINAL_INFECTION = "spinal_infection"
    MALIGNANCY = "malignancy"
    FRACTURE = "fracture"
    VASCULAR = "vascular"
    PROGRESSIVE_NEUROLOGICAL_DEFICIT = "progressive_neurological_deficit"
    INFLAMMATORY = "inflammatory"
    VISCERAL = "visceral"
    RADICULOPATHY = "radiculopathy"
    SPINAL_STENOSIS = "spinal_stenosis"
    NONSPECIFIC = "nonspecific"


class FindingType(StrEnum):
    """The value type of a finding. ``None`` always means unknown (never "no")."""

    BOOLEAN = "boolean"
    INTEGER = "integer"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"


# A finding's value: True/False for booleans, int for numbers, str for a choice,
# a tuple of str for a multi choice, and None for unknown.
FindingValue = Union[bool, int, str, tuple[str, ...], None]  # noqa: UP007
