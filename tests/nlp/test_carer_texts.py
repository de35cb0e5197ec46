"""A carer writing about the patient: a relative's recent fall or current symptom makes the
text written for them, so "my dad fell last night" is the patient's fall; an old event or a
writer with symptoms of their own keeps the relative's story apart."""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative


def _value(text: str, language: str, code: str) -> object:
    found = [f.value for f in read_narrative(text, language=language).findings if f.code == code]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("my dad fell last night and his back is sore", "en"),
        ("Dad ended up on the floor this morning and now his back is sore", "en"),
        ("mi mamá se cayó en la bañera esta mañana y le duele la espalda", "es"),
    ],
)
def test_a_relatives_recent_fall_is_the_patients(text: str, language: str) -> None:
    assert _value(text, language, "trauma_minor") is True


@pytest.mark.parametrize(
    ("text", "language"),
    [
        # The writer has symptoms of their own: the father's fall is his, not the writer's.
        ("my dad fell last week and I have hurt my back lifting him", "en"),
        # An old fall of a relative says nothing about the patient now.
        ("my dad fell years ago. I have back pain from lifting boxes", "en"),
    ],
)
def test_a_relatives_fall_stays_theirs(text: str, language: str) -> None:
    assert _value(text, language, "trauma_minor") is not True
