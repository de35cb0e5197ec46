"""Spanish "no noto" is "I can't feel", like "no siento" (issue 11).

"No noto nada ahí abajo" says the saddle area is numb - a cauda equina sign - and was read as
a denial of saddle numbness. "No noto nada raro ahí abajo" ("nothing odd down there") stays a
denial.
"""

from __future__ import annotations

import pytest

from backpath.nlp import read_narrative


def _saddle(text: str) -> tuple[object, str] | None:
    for finding in read_narrative(text, language="es").findings:
        if finding.code == "saddle_numbness":
            return finding.value, finding.certainty
    return None


@pytest.mark.parametrize(
    "text",
    [
        "no noto nada ahí abajo desde el martes",
        "desde ayer ya no noto nada entre las piernas",
        "casi no noto nada en mis partes",
    ],
)
def test_no_noto_nada_in_the_saddle_area_is_numbness(text: str) -> None:
    assert _saddle(text) == (True, "affirmed")


def test_nothing_odd_down_there_is_still_a_denial() -> None:
    assert _saddle("no noto nada raro ahí abajo, solo me duele la espalda") == (False, "negated")
