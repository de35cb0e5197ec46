"""Clinical text in the clinician's language whatever the patient's (issue #12).

A Spanish patient's stored result carries rule titles in Spanish (the patient reads them).
An English clinician must read the same rules in English on the worklist and on the
assessment page, while the patient's own words stay exactly as written, marked as Spanish.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from backpath.kb import load_knowledge
from backpath.store import Store
from backpath.store.models import utcnow
from tests.web._support import add_clinician, login
from tests.web.test_live_alert import EMERGENCY, store_case

RULE = "ces_new_bladder_bowel_saddle_sexual"
NARRATIVE = "Desde ayer no siento nada entre las piernas y me cuesta orinar."


@pytest.fixture
def clinician(client: TestClient, store: Store) -> TestClient:
    """A client signed in as a clinician (English pages unless ``?lang=`` says otherwise)."""
    add_clinician(store)
    assert login(client).status_code == 200
    return client


@pytest.fixture
def titles() -> tuple[str, str]:
    """The rule's title in English and in Spanish, from the knowledge base."""
    kb = load_knowledge()
    english = kb.rules_by_id[RULE].spec.title
    spanish = kb.text(f"rule.{RULE}.title", "es", english)
    assert spanish != english, "the rule has no Spanish title to test with"
    return english, spanish


def _spanish_case(store: Store) -> str:
    return store_case(
        store,
        EMERGENCY,
        utcnow() - timedelta(minutes=5),
        language="es",
        narrative=NARRATIVE,
    )


def test_english_clinician_reads_a_spanish_patients_rules_in_english(
    clinician: TestClient, store: Store, titles: tuple[str, str]
) -> None:
    english, spanish = titles
    case = _spanish_case(store)

    worklist = clinician.get("/clinic").text
    row = re.search(rf'<tr data-assessment="{case}".*?</tr>', worklist, re.S)
    assert row
    assert english in row.group(0)
    assert spanish not in worklist
    assert 'data-patient-language="es"' in row.group(0)
    assert "Patient&#39;s language: Español" in row.group(0)

    page = clinician.get(f"/clinic/assessments/{case}").text
    fired = re.search(rf'<article class="rule" data-rule="{RULE}">.*?</article>', page, re.S)
    assert fired
    assert english in fired.group(0)
    assert spanish not in page
    assert "Síntomas" not in page
    # The patient's own words: as written, marked as Spanish.
    assert f'<p class="narrative" lang="es">{NARRATIVE}</p>' in page
    assert "own words, as written (Español)" in page
    assert 'id="patient-language" data-patient-language="es"' in page


def test_spanish_clinician_reads_the_rules_in_spanish(
    clinician: TestClient, store: Store, titles: tuple[str, str]
) -> None:
    english, spanish = titles
    case = _spanish_case(store)
    english_case = store_case(store, EMERGENCY, utcnow() - timedelta(minutes=4))

    worklist = clinician.get("/clinic", params={"lang": "es"}).text
    row = re.search(rf'<tr data-assessment="{case}".*?</tr>', worklist, re.S)
    assert row
    assert spanish in row.group(0)
    assert "data-patient-language" not in row.group(0)  # same language as the clinician
    other = re.search(rf'<tr data-assessment="{english_case}".*?</tr>', worklist, re.S)
    assert other
    assert spanish in other.group(0)  # an English patient's rule, in Spanish for this reader
    assert 'data-patient-language="en"' in other.group(0)

    page = clinician.get(f"/clinic/assessments/{english_case}").text
    assert spanish in page
    assert english not in page
