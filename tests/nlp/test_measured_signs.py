"""Measured signs in a person's own words: a blood pressure, an oxygen level, a pulse or a
breathing rate read off a home monitor or written in a clinician's note (findings group
`measured`). Each counts only as the person's own reading, now."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backpath.intake import Intake
from backpath.nlp import read_narrative
from backpath.triage import assess
from backpath.vocabulary import Urgency

CASES = Path(__file__).resolve().parents[1] / "cases"


def _values(text: str, language: str) -> dict[str, object]:
    reading = read_narrative(text, language=language)
    return {f.code: f.value for f in reading.findings}


@pytest.mark.parametrize(
    ("text", "language", "code", "value"),
    [
        ("I took my blood pressure and it was 85/50", "en", "systolic_bp", 85),
        ("BP 82/40, HR 140", "en", "systolic_bp", 82),
        ("BP 82/40, HR 140", "en", "heart_rate", 140),
        ("the oxygen finger thing says 89%", "en", "oxygen_saturation", 89),
        ("T 38.9, RR 28, sats 95% on air", "en", "respiratory_rate", 28),
        ("im breathing 30 times a minute", "en", "respiratory_rate", 30),
        ("me tomé la presión y tengo 8/5", "es", "systolic_bp", 80),
        ("me puse el oximetro y me dio 88", "es", "oxygen_saturation", 88),
        ("el reloj me marca el pulso en 135", "es", "heart_rate", 135),
        ("saturando 89 y respira 30 veces por minuto", "es", "respiratory_rate", 30),
    ],
)
def test_a_measured_sign_is_read(text: str, language: str, code: str, value: int) -> None:
    assert _values(text, language).get(code) == value


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("my mum's bp was 80/50 last year", "en"),  # someone else's reading
        ("back pain 8/10 for 3 hr 20 min", "en"),  # "hr" as hours, not a heart rate
        ("pain 8/10, I was 85 kilos", "en"),  # a pain score and a weight are not signs
        ("la presión de mi mamá estaba en 80/50 el año pasado", "es"),
    ],
)
def test_no_measured_sign_where_there_is_none(text: str, language: str) -> None:
    found = _values(text, language)
    for code in ("systolic_bp", "oxygen_saturation", "heart_rate", "respiratory_rate"):
        assert code not in found, (code, found)


@pytest.mark.parametrize(
    ("narrative", "language", "urgency", "rule"),
    [
        ("my back hurts and the nurse said my BP is 82/40", "en", Urgency.EMERGENCY, "low_blood_pressure"),
        ("back pain and my sats are 90%", "en", Urgency.EMERGENCY, "low_oxygen_level"),
        ("me duele la cintura y la presión me dio 8/5", "es", Urgency.EMERGENCY, "low_blood_pressure"),
        ("lower back ache, my watch says my heart rate is 142 on the sofa", "en", Urgency.URGENT, "fast_heart_rate"),
    ],
)
def test_a_low_or_fast_reading_in_words_raises_the_urgency(
    narrative: str, language: str, urgency: Urgency, rule: str
) -> None:
    intake = Intake.from_json(
        {"age": 55, "answers": {"back_pain": True}, "narrative": narrative, "language": language}
    )
    result = assess(intake)
    assert result.urgency is urgency
    assert rule in result.fired_ids


def test_normal_readings_do_not_hold_up_self_care() -> None:
    """Numbers nobody gave leave no question open, and normal ones change nothing: the
    back strain of a self-care case stays self-care either way."""
    case = yaml.safe_load((CASES / "self_care_acute_low_back_pain.yaml").read_text())
    base = assess(Intake.from_json(case["intake"]))
    assert base.urgency is Urgency.SELF_CARE
    assert not {"systolic_bp", "oxygen_saturation", "heart_rate"} & set(base.next_questions)
    normal = {"systolic_bp": 124, "oxygen_saturation": 98, "heart_rate": 70, "respiratory_rate": 14}
    intake = {**case["intake"], "answers": {**case["intake"]["answers"], **normal}}
    assert assess(Intake.from_json(intake)).urgency is Urgency.SELF_CARE
    low = {**case["intake"], "answers": {**case["intake"]["answers"], "oxygen_saturation": 90}}
    assert assess(Intake.from_json(low)).urgency is Urgency.EMERGENCY


@pytest.mark.parametrize(
    ("text", "language", "code", "value"),
    [
        # A clinician's note pasted in: "afebrile" denies a fever (it is not "a febrile").
        ("afebrile, back pain", "en", "fever", False),
        ("paciente afebril, dolor lumbar", "es", "fever", False),
        ("he was hypotensive and tachycardic in triage", "en", "pale_sweaty_faint", True),
        ("estaba hipotenso y sudoroso", "es", "pale_sweaty_faint", True),
        ("saturating 88% on room air", "en", "oxygen_saturation", 88),
        ("BP 80 systolic", "en", "systolic_bp", 80),
    ],
)
def test_a_clinical_note_is_read(text: str, language: str, code: str, value: object) -> None:
    assert _values(text, language).get(code) == value
