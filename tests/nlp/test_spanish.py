"""The Spanish narrative reader (issue 11): findings, context, language choice, "not read".

The Spanish reader is the same pipeline as the English one built from
``knowledge/nlp/es/`` on spaCy's blank Spanish tokenizer; these tests check what a Spanish
speaker writes, in Latin American and Spain Spanish, plain and colloquial.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backpath.cli import app
from backpath.intake import Intake
from backpath.nlp import NOT_READ_PROBLEM, read_narrative
from backpath.nlp._language import identify_language
from backpath.nlp._spanish import fold_accents, measure_words
from backpath.triage import assess
from backpath.vocabulary import Urgency

REPRODUCTION_1 = (
    "Tengo dolor de espalda y no puedo orinar desde ayer, y no siento nada entre las piernas"
)
REPRODUCTION_2 = "no puedo orinar desde ayer y no siento nada cuando me limpio"


def _value(text: str, code: str, language: str | None = None) -> Any:
    return read_narrative(text, language=language).answers().get(code)


def _certainty(text: str, code: str) -> str | None:
    found = [f for f in read_narrative(text).findings if f.code == code]
    return found[0].certainty if found else None


# ------------------------------------------------------------------ the reproductions


@pytest.mark.parametrize("language", [None, "es", "en"])
def test_reproduction_1_reads_retention_and_saddle_numbness(language: str | None) -> None:
    """Issue 11: the first reproduction, with and without language=es (the default intake
    language "en" must not stop the Spanish reader)."""
    reading = read_narrative(REPRODUCTION_1, language=language)
    assert reading.understood is True
    assert reading.language == "es"
    answers = reading.answers()
    assert answers["urinary_retention"] is True
    assert answers["saddle_numbness"] is True
    assert answers["back_pain"] is True
    assert answers["cauda_equina_symptoms_days"] == 1
    certainty = {f.code: f.certainty for f in reading.findings}
    assert certainty["urinary_retention"] == "affirmed"
    assert certainty["saddle_numbness"] == "affirmed"


@pytest.mark.parametrize("text", [REPRODUCTION_1, REPRODUCTION_2])
@pytest.mark.parametrize("language", [None, "es"])
def test_reproductions_are_emergencies_through_assess(text: str, language: str | None) -> None:
    """Both reproductions reach emergency through ``backpath.triage.assess``."""
    data: dict[str, Any] = {"narrative": text}
    if language:
        data["language"] = language
    result = assess(Intake.from_json(data))
    assert result.urgency is Urgency.EMERGENCY
    assert result.narrative_status == "read"
    assert result.answers["urinary_retention"] is True
    assert result.answers["saddle_numbness"] is True


@pytest.mark.parametrize("text", [REPRODUCTION_1, REPRODUCTION_2])
def test_reproductions_are_emergencies_through_the_cli(text: str) -> None:
    """``backpath triage`` reads the Spanish narrative of an intake (with and without --lang)."""
    runner = CliRunner()
    for extra in ([], ["--lang", "es"]):
        result = runner.invoke(app, ["triage", *extra], input=json.dumps({"narrative": text}))
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["urgency"] == "emergency"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    """The web app's JSON API on a temporary database."""
    from tests.web._support import make_app

    app_, store = make_app(tmp_path)
    with TestClient(app_) as client:
        yield client
    store.dispose()


@pytest.mark.parametrize("text", [REPRODUCTION_1, REPRODUCTION_2])
def test_reproductions_are_emergencies_through_the_api(api: TestClient, text: str) -> None:
    """POST /api/v1/triage with a Spanish narrative, with and without "language": "es"."""
    for body in ({"narrative": text}, {"narrative": text, "language": "es"}):
        response = api.post("/api/v1/triage", json=body)
        assert response.status_code == 200
        assert response.json()["urgency"] == "emergency"
        assert response.json()["narrative"]["status"] == "read"


# ------------------------------------------------------------------ findings and context


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("no puedo orinar", "urinary_retention"),
        ("no puedo hacer pis desde el sábado", "urinary_retention"),
        ("tengo que pujar para que salga la orina", "urinary_retention"),
        ("me hice pis encima", "urinary_incontinence"),
        ("me hice encima", "urinary_incontinence"),
        ("me hice encima", "bowel_incontinence"),
        ("se me escapa la orina", "urinary_incontinence"),
        ("no siento nada entre las piernas", "saddle_numbness"),
        ("no siento nada cuando me limpio", "saddle_numbness"),
        ("tengo hormigueo en las nalgas", "saddle_numbness"),
        ("se me duerme la pierna", "leg_numbness"),
        ("se me doblan las rodillas", "leg_weakness"),
        ("arrastro el pie", "foot_drop"),
        ("no se me para", "sexual_dysfunction_new"),
        ("no siento cuando tengo ganas de orinar", "urinary_sensation_change"),
        ("tengo fiebre", "fever"),
        ("tengo escalofríos", "fever"),
        ("me inyecto", "iv_drug_use"),
        ("tomo sintrom", "anticoagulant"),
        ("tomo warfarina", "anticoagulant"),
        ("tomo xarelto", "anticoagulant"),
        ("tomo eliquis", "anticoagulant"),
        ("estoy embarazada de 30 semanas", "pregnant_or_postpartum"),
        ("tengo un bulto que late en la panza", "pulsatile_abdominal_mass"),
        ("tengo un bulto que late en la barriga", "pulsatile_abdominal_mass"),
        ("tengo un dolor desgarrador", "tearing_pain"),
        ("me desmayé", "collapse"),
        ("vomité sangre", "vomiting_blood"),
        ("tengo heces negras", "black_stools"),
        ("tengo los ojos amarillos", "jaundice"),
        ("tuve cáncer de mama", "cancer_history"),
        ("me caí de la escalera", "trauma_major"),
        ("me duelen las dos piernas", "bilateral_leg_symptoms"),
        ("me duele el pecho", "chest_pain"),
    ],
)
def test_colloquial_forms_are_read(text: str, code: str) -> None:
    """The colloquial forms of issue 11 (Latin American and Spain) are read as findings."""
    assert _value(text, code) is True, read_narrative(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("No tengo fiebre", "fever"),
        ("sin fiebre", "fever"),
        ("Nunca he tenido cáncer", "cancer_history"),
        ("Ni fiebre ni escalofríos", "fever"),
        ("Tampoco tengo fiebre", "fever"),
        ("No tengo hormigueo en las piernas", "leg_numbness"),
        ("orino bien", "urinary_retention"),
        ("La vejiga bien, el intestino bien", "bowel_incontinence"),
        ("No me he caído", "trauma_minor"),
    ],
)
def test_denials_say_no(text: str, code: str) -> None:
    """Negation: "no", "sin", "nunca", "ni", "tampoco", "no tengo", and "bien/normal"."""
    assert _value(text, code) is False


def test_a_denial_does_not_reach_the_next_symptom() -> None:
    """Spanish has no subject pronoun: "no tengo fiebre y no puedo orinar" keeps the
    retention (the second "no" belongs to it and ends the first one's scope)."""
    answers = read_narrative("No tengo fiebre y no puedo orinar.").answers()
    assert answers["fever"] is False
    assert answers["urinary_retention"] is True


def test_an_interjection_no_is_not_a_denial() -> None:
    """ "No, no puedo orinar" is a yes."""
    assert _value("No, no puedo orinar desde ayer.", "urinary_retention") is True


@pytest.mark.parametrize(
    "text",
    [
        "Creo que tengo fiebre",
        "No estoy segura, pero creo que tengo hormigueo entre las piernas",
        "A lo mejor se me escapa un poco la orina",
        "Tal vez tenga fiebre",
        "Quizás tenga la pierna más débil",
    ],
)
def test_hedges_are_uncertain_and_still_count(text: str) -> None:
    """Uncertainty ("creo que", "no estoy seguro/a", "a lo mejor", "tal vez", "quizás") is
    uncertain, never a no."""
    reading = read_narrative(text)
    values = [f for f in reading.findings if f.value is True]
    assert values, reading
    assert any(f.certainty == "uncertain" for f in values), reading


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Mi madre tuvo cáncer", "cancer_history"),
        ("Mi esposo tiene incontinencia y yo tengo lumbago", "urinary_incontinence"),
        ("Mi hija tiene fiebre y a mí me duele la espalda", "fever"),
        ("Mi abuela murió de cáncer", "cancer_history"),
    ],
)
def test_other_people_say_nothing_about_the_patient(text: str, code: str) -> None:
    """ "Mi madre tuvo", a relative's illness beside the writer's own symptom ("y yo tengo
    lumbago"), "murió de": family, no value (red team C1: a relative's *present* symptom
    with no symptom of the writer is the patient's, see test_redteam_reader.py)."""
    assert _certainty(text, code) == "family"
    assert _value(text, code) is None


def test_a_relative_who_reports_the_patient_is_not_the_patient() -> None:
    """ "Mi marido dice que arrastro el pie" is about the patient."""
    assert _value("Mi marido dice que arrastro el pie izquierdo.", "foot_drop") is True


def test_the_remote_past() -> None:
    """History: a symptom years ago says nothing now; a cancer years ago still counts."""
    assert _value("Hace años tuve hormigueo en la pierna.", "leg_numbness") is None
    assert _value("Tuve cáncer de mama hace años.", "cancer_history") is True
    assert _value("De niño me caí de un árbol.", "trauma_major") is None
    assert _value("El año pasado me operaron de la columna.", "previous_spine_surgery") is True


def test_for_years_is_not_years_ago() -> None:
    """ "Desde hace años" and "tomo ... hace años" are ongoing, not past."""
    assert _value("Tengo dolor de espalda desde hace años.", "back_pain") is True
    assert _value("Tomo prednisona hace años.", "steroid_use_long_term") is True


@pytest.mark.parametrize(
    "text",
    [
        "Si no puedo orinar, ¿tengo que ir a urgencias?",
        "Por si acaso, ¿qué pasa si se me duermen las nalgas?",
        "Me da miedo quedarme sin control de la vejiga.",
    ],
)
def test_hypotheticals_say_nothing(text: str) -> None:
    """ "Si", "por si", fears: hypothetical, no yes."""
    answers = read_narrative(text).answers()
    for code in ("urinary_retention", "saddle_numbness", "urinary_incontinence"):
        assert answers.get(code) is not True, (text, answers)


def test_si_yes_is_not_si_if() -> None:
    """ "Sí" (yes) keeps its accent and is not the hypothetical "si" (if)."""
    assert _value("Sí, tengo fiebre.", "fever") is True
    assert fold_accents("Sí, si, días, SÍ") == "Sí, si, dias, SÍ"


def test_evidence_spans_point_into_the_original_text_with_accents() -> None:
    """Accents are folded for matching only: spans index what the person wrote."""
    text = "Llevo dos días así: NO PUEDO ORINAR y no siento el culo ni los glúteos."
    for finding in read_narrative(text).findings:
        start, end = finding.span
        assert text[start:end] == finding.text


# ------------------------------------------------------------------ measures


@pytest.mark.parametrize(
    ("text", "code", "value"),
    [
        ("Me duele la espalda desde hace tres semanas", "duration_days", 21),
        ("Me duele la espalda hace un mes y medio", "duration_days", 45),
        ("No puedo orinar desde anoche", "cauda_equina_symptoms_days", 1),
        ("No puedo orinar desde antier", "cauda_equina_symptoms_days", 2),
        ("Me duele la espalda, un 8 sobre 10", "pain_back_nrs", 8),
        ("Tengo cuarenta y cinco años y me duele la espalda", "age", 45),
    ],
)
def test_spanish_measures(text: str, code: str, value: int) -> None:
    """Durations, pain scores and ages written in Spanish."""
    assert _value(text, code) == value


def test_measure_words_rewrite_spanish_for_the_value_parsers() -> None:
    assert measure_words("desde hace tres semanas") == "desde hace three weeks"
    assert measure_words("hace 48 horas") == "hace 2 days"
    assert measure_words("un par de días") == "couple days"


# ------------------------------------------------------------------ language and "not read"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Me duele mucho la espalda y no puedo dormir por la noche.", "es"),
        ("My back hurts and I can't pee.", "en"),
        ("No me caí ni me golpeé, simplemente me levanté con dolor de espalda.", "es"),
    ],
)
def test_language_is_identified(text: str, language: str) -> None:
    """lingua identifies the language; plain Spanish it takes for Portuguese is still read."""
    assert identify_language(text).language == language
    assert read_narrative(text).language == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("J'ai mal au dos depuis une semaine et je n'arrive plus à uriner.", "fr"),
        ("Ich habe seit drei Tagen Rückenschmerzen und kann nicht mehr pinkeln.", "de"),
        ("Estou com dor nas costas e não consigo urinar desde ontem.", "pt"),
        ("Mi fa male la schiena e non riesco a urinare da ieri.", "it"),
        ("我不能小便，背很痛", "und"),
    ],
)
def test_a_language_with_no_reader_is_not_read(text: str, language: str) -> None:
    """French, German, Portuguese, Italian, another script: not read, with the problem
    code, whatever language the intake gives."""
    for given in (None, "en", "es"):
        reading = read_narrative(text, language=given)
        assert reading.understood is False
        assert reading.language == language
        assert reading.problems[0] == NOT_READ_PROBLEM
        assert "English and Spanish" in reading.problems[1]


def test_a_text_not_read_blocks_self_care_and_keeps_its_red_flags() -> None:
    """Not read never ends in self-care; an English red flag found in it still counts."""
    result = assess(
        Intake.from_json({"narrative": "J'ai mal au dos, I can't pee, je ne sais pas pourquoi"})
    )
    assert result.narrative_status == "not_understood"
    assert result.urgency is Urgency.EMERGENCY
    german = assess(
        Intake.from_json({"narrative": "Ich habe leichte Rückenschmerzen seit gestern"})
    )
    assert german.narrative_status == "not_understood"
    assert german.urgency is not Urgency.SELF_CARE


@pytest.mark.parametrize(
    ("text", "given", "expected"),
    [
        ("no", None, "en"),
        ("no", "en", "en"),
        ("no", "es", "es"),
        ("nada", None, "es"),
        ("lol", "es", "en"),
        ("My legs are numb and I can't pee.", "es", "en"),
    ],
)
def test_the_given_language_decides_only_when_the_text_does_not(
    text: str, given: str | None, expected: str
) -> None:
    """The intake's language breaks a tie on a short text; it never forces a reader onto a
    text in the other language (an English text on a Spanish form is read in English)."""
    reading = read_narrative(text, language=given)
    assert reading.language == expected
    assert reading.understood is True


def test_spanish_danger_words_are_denied_or_explained_by_the_spanish_reader() -> None:
    """ "No tengo fiebre" resolves "fiebre"; a relative's "incontinencia" is left for a
    person to read (it says nothing about the patient)."""
    assert read_narrative("Me duele la espalda y no tengo fiebre").unresolved_danger_words == ()
    reading = read_narrative("Mi suegro tiene incontinencia; yo solo tengo lumbago.")
    assert reading.unresolved_danger_words == ("incontinencia",)


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        # A relative named anywhere in the sentence of a present symptom, and no symptom of
        # the writer's own: the text is about the relative, who is the patient (fourth red
        # team: the anticoagulant and the retention were read as the mother's, not hers).
        (
            "mi madre toma Sintrom y no puede orinar desde ayer",
            ("anticoagulant", "urinary_retention"),
        ),
        ("a mi hijo de 13 le duele mucho un testículo y vomitó", ("testicle_pain",)),
        (
            "my mum takes warfarin and she can't pee since yesterday",
            ("anticoagulant", "urinary_retention"),
        ),
    ],
)
def test_a_relative_as_the_subject_of_a_present_symptom_is_the_patient(
    text: str, codes: tuple[str, ...]
) -> None:
    language = "en" if text.startswith("my ") else "es"
    answers = read_narrative(text, language=language).answers()
    for code in codes:
        assert answers.get(code) is True, (code, answers)
