"""The web step interview (issue #10): pages of steps planned by ``next_page``, checklists,
"not sure" asked again, an emergency stored at once, Back, and the optional "help your care
team" steps after the result, which update the same stored assessment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi.testclient import TestClient

from backpath.kb import KnowledgeBase
from backpath.store import Store
from backpath.store.models import StoredAssessment
from tests.web._support import Patient, csrf_of, esc, urgency_of


def _steps_patient(client: TestClient) -> Patient:
    client.cookies.clear()
    person = Patient(client)
    person.start("steps")
    assert str(person.page.url).endswith("/intake/step"), person.page.url
    return person


def _fill(person: Patient, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Form values for the page on screen: ``answers`` where given (by form name), else
    "None of these" for a checklist, "no" for a yes/no question and blank otherwise."""
    data: dict[str, Any] = {}
    for code in person.shown():
        if code in answers:
            data[code] = answers[code]
        elif code.startswith("list-"):
            data[code] = "_none"
        elif f'name="{code}" value="no"' in person.page.text:
            data[code] = "no"
        else:
            data[code] = ""
    return data


def _finish(person: Patient, answers: Mapping[str, Any]) -> list[list[str]]:
    """Answer pages until the result; the pages shown (form names)."""
    pages: list[list[str]] = []
    for _ in range(20):
        if "/r/" in str(person.page.url):
            return pages
        if person.on_emergency_screen():
            person.emergency("finish")
            continue
        assert person.page.status_code == 200, person.page.text[:500]
        pages.append(person.shown())
        person.submit(_fill(person, answers))
    raise AssertionError("no result")


ROUTINE_ANSWERS = {
    "age": "40",
    "sex": "male",
    "list-legs": ["leg_pain", "leg_numbness"],
    "back_pain": "yes",
    "duration_days": "20",
    "leg_pain_below_knee": "yes",
}


def test_routine_journey_takes_at_most_five_pages(client: TestClient) -> None:
    """A 40-year-old with sciatica and no danger signs: a routine result in five pages or
    fewer, the danger signs on the first page with the age."""
    person = _steps_patient(client)
    assert person.shown()[:2] == ["age", "list-danger_signs"]
    pages = _finish(person, ROUTINE_ANSWERS)
    assert 1 < len(pages) <= 5
    assert urgency_of(person.page.text) == ["routine"]


def test_every_checklist_item_is_shown_by_name(client: TestClient, kb: KnowledgeBase) -> None:
    """The cauda equina items are each a tick box of their own, with both way-outs, on the
    first page with the danger signs (both emergency checklists come before anything else)."""
    person = _steps_patient(client)
    assert person.shown()[:3] == ["age", "list-danger_signs", "list-bladder_bowel_saddle"]
    for code in kb.steps_by_id["bladder_bowel_saddle"].codes:
        assert f'name="list-bladder_bowel_saddle" value="{code}"' in person.page.text
    for way_out in ("_none", "_unsure"):
        assert f'name="list-bladder_bowel_saddle" value="{way_out}"' in person.page.text


def test_a_blank_checklist_is_asked_again_and_keeps_the_other_answers(
    client: TestClient, kb: KnowledgeBase
) -> None:
    person = _steps_patient(client)
    data = _fill(person, {"age": "61"})
    data["list-danger_signs"] = ""
    page = person.submit(data)
    assert page.status_code == 422
    assert esc(kb.ui("web.error_checklist_blank")) in page.text
    assert 'value="61"' in page.text  # the age is kept


def test_an_item_and_none_of_these_together_is_an_error(
    client: TestClient, kb: KnowledgeBase
) -> None:
    person = _steps_patient(client)
    data = _fill(person, {"age": "50"})
    data["list-danger_signs"] = ["_none", "coughing_blood"]
    page = person.submit(data)
    assert page.status_code == 422
    assert 'id="err-list-danger_signs"' in page.text


def test_not_sure_on_the_bladder_signs_is_asked_again_in_plainer_words(
    client: TestClient, store: Store, kb: KnowledgeBase
) -> None:
    """A first "I'm not sure" shows the items' plainer words on the same page; a second
    keeps every item unknown (null), never "no"."""
    person = _steps_patient(client)
    first = person.submit(_fill(person, {"age": "45", "list-bladder_bowel_saddle": "_unsure"}))
    assert "more=1" in str(first.url)
    assert "list-bladder_bowel_saddle" in person.shown()
    plain = kb.findings["saddle_numbness"].unsure_help
    assert plain
    assert plain.split(".")[0] in first.text.replace("&#39;", "'")
    person.submit(_fill(person, {"age": "45", "list-bladder_bowel_saddle": "_unsure"}))
    assert "more=1" not in str(person.page.url)
    _finish(person, {"sex": "female", "back_pain": "yes", "duration_days": "10"})
    with store.session() as db:
        row = db.query(StoredAssessment).one()
    for code in kb.steps_by_id["bladder_bowel_saddle"].codes:
        assert row.intake["answers"].get(code, "absent") is None, code
    assert row.urgency in ("urgent", "emergency")  # not sure is never ruled out
    assert row.result["complete"] is True


def test_an_emergency_is_stored_before_the_patient_does_anything(
    client: TestClient, store: Store
) -> None:
    """Chest pain ticked on page one: the assessment is stored as an emergency at once, the
    emergency screen shows, and going on keeps the banner on every page."""
    person = _steps_patient(client)
    data = _fill(person, {"age": "58"})
    data["list-danger_signs"] = ["chest_pain"]
    person.submit(data)
    assert person.on_emergency_screen()
    with store.session() as db:
        rows = db.query(StoredAssessment).all()
    assert [row.urgency for row in rows] == ["emergency"]
    person.emergency("continue")
    assert str(person.page.url).endswith("/intake/step")
    assert 'class="emergency-banner' in person.page.text or "emergency-banner" in person.page.text
    assert person.shown(), "going on offers the optional questions"


def test_a_question_left_blank_counts_as_not_sure(client: TestClient, store: Store) -> None:
    """A shown question left blank was asked: it is stored as "not sure" (null), so it is
    neither a "no" nor a question the clinic thinks was never asked."""
    person = _steps_patient(client)
    data = _fill(person, {})
    data["age"] = ""
    person.submit(data)
    _finish(person, ROUTINE_ANSWERS)
    with store.session() as db:
        row = db.query(StoredAssessment).one()
    assert row.intake["answers"]["age"] is None
    assert "age" in row.result["unsure"]


def test_back_shows_the_previous_page_with_its_answers(client: TestClient) -> None:
    person = _steps_patient(client)
    person.submit(_fill(person, {"age": "47"}))
    second = person.shown()
    person.submit(_fill(person, {}), nav="back")
    assert person.shown()[:2] == ["age", "list-danger_signs"]
    assert 'value="47"' in person.page.text
    assert 'value="_none" data-exclusive checked' in person.page.text
    person.submit(_fill(person, {"age": "47"}))
    assert person.shown() == second


def test_more_questions_after_the_result_update_the_same_assessment(
    client: TestClient, store: Store
) -> None:
    """The result offers the "help your care team" steps; answering them and the person's
    own words updates the one stored assessment (no second row), and can raise it."""
    person = _steps_patient(client)
    _finish(person, ROUTINE_ANSWERS)
    result = person.page
    assert "/more" in result.text
    more = re.search(r'<form method="post" action="(/r/[^"]+/more)"', result.text)
    assert more
    person.page = client.post(more.group(1), data={"csrf_token": csrf_of(result.text)})
    assert "/intake/step" in str(person.page.url) or "anything-else" in str(person.page.url)
    for _ in range(10):
        if person.on_narrative_page():
            break
        person.submit(_fill(person, {}))
    assert person.on_narrative_page()
    assert "English or Spanish" in person.page.text
    person.narrative("Since yesterday I cannot feel the toilet paper when I wipe.")
    assert "/r/" in str(person.page.url)
    with store.session() as db:
        rows = db.query(StoredAssessment).all()
    assert len(rows) == 1
    assert rows[0].intake.get("narrative")
    assert urgency_of(person.page.text) == ["emergency"]


def test_no_more_questions_offered_on_an_emergency_result(client: TestClient) -> None:
    person = _steps_patient(client)
    data = _fill(person, {"age": "70"})
    data["list-danger_signs"] = ["tearing_pain"]
    person.submit(data)
    person.emergency("finish")
    assert urgency_of(person.page.text) == ["emergency"]
    assert "/more" not in person.page.text


def test_switching_language_keeps_the_answers_on_the_page(client: TestClient) -> None:
    """The header's language button belongs to the page's form: the page comes back in
    Spanish with what was entered."""
    person = _steps_patient(client)
    data = _fill(person, {"age": "52"})
    data["list-danger_signs"] = ["_none"]
    form = {**data, "csrf_token": person.csrf, "_shown": person.shown(), "nav": "language"}
    person.page = client.post("/intake/step", data={**form, "lang": "es"})
    assert str(person.page.url).endswith("/intake/step")
    assert 'lang="es"' in person.page.text
    assert 'value="52"' in person.page.text
    assert 'value="_none" data-exclusive checked' in person.page.text


def test_a_follow_up_page_says_why_it_is_asked(client: TestClient, kb: KnowledgeBase) -> None:
    """Ticking a bladder sign brings its follow-up (how many days) on the next page, which
    says it follows from the last page's answers."""
    person = _steps_patient(client)
    person.submit(_fill(person, {"age": "45", "list-bladder_bowel_saddle": ["bilateral_leg_symptoms"]}))
    for _ in range(4):
        if person.on_emergency_screen():
            person.emergency("continue")
        if "cauda_equina_symptoms_days" in person.shown():
            break
        person.submit(_fill(person, {}))
    assert "cauda_equina_symptoms_days" in person.shown()
    assert 'id="follow-ups"' in person.page.text


def test_sure_of_one_sign_not_sure_of_the_others(client: TestClient, store: Store) -> None:
    """Very bad sudden pain ticked with "I'm not sure": the other danger signs are unknown,
    not "no" - and a sudden bleed (the worst headache) is then not ruled out: emergency."""
    person = _steps_patient(client)
    data = _fill(person, {"age": "44"})
    data["list-danger_signs"] = ["sudden_severe_pain", "_unsure"]
    person.submit(data)
    assert person.on_emergency_screen()
    with store.session() as db:
        row = db.query(StoredAssessment).one()
    answers = row.intake["answers"]
    assert answers["sudden_severe_pain"] is True
    assert answers["sudden_severe_headache"] is None
    assert answers["chest_pain"] is None
    assert row.urgency == "emergency"
