"""The result page: banner, why, what to do, safety net, next steps, print, private link."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from backpath.store import Store
from backpath.store.models import AuditEvent, StoredAssessment
from backpath.triage import assess
from backpath.vocabulary import FindingType
from backpath.web import triage as web_triage
from tests.web._support import ROUTINE, SELF_CARE, Patient, all_red_flags_no, esc, urgency_of


def _token(url: str) -> str:
    match = re.search(r"/r/([A-Za-z0-9_-]+)$", url)
    assert match, url
    return match.group(1)


def test_result_has_exactly_one_urgency_element(client: TestClient) -> None:
    """The result page has one element with data-urgency, and it is the banner."""
    page = Patient(client).complete({"age": "45", "saddle_numbness": "yes"})
    assert urgency_of(page.text) == ["emergency"]
    assert re.search(
        r'<section class="banner urgency-emergency" data-urgency="emergency"', page.text
    )


def test_result_shows_why_what_to_do_safety_net_and_next_steps(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Routine result: headings and texts come from web.yaml and the knowledge base."""
    answers = {**all_red_flags_no(), **ROUTINE}
    page = Patient(client).complete(answers)
    text = page.text
    for key in ("why", "what_to_do_now", "get_help_at_once", "what_happens_next"):
        assert kb.ui(f"web.{key}") in text
    expected = assess(
        Intake.from_json({"answers": {"age": 40, "leg_pain": True}})
    )  # any result carries the safety net
    for block_id in expected.safety_net:
        assert esc(kb.advice[block_id].body) in text
    for rule_id in ("neuro_leg_weakness_or_numbness", "seed_leg_symptoms"):
        assert esc(kb.rules_by_id[rule_id].spec.patient) in text


def test_safety_net_is_shown_for_self_care_too(client: TestClient, kb: KnowledgeBase) -> None:
    """ "When to get help at once" is always there, even for self-care."""
    page = Patient(client).complete({**all_red_flags_no(), **SELF_CARE})
    assert urgency_of(page.text) == ["self_care"]
    assert kb.ui("web.get_help_at_once") in page.text
    assert esc(kb.advice["get_help_at_once"].body) in page.text


def test_private_link_is_long_random_and_opens_only_that_result(
    client: TestClient, store: Store
) -> None:
    """The link token is 43 URL-safe characters (32 bytes); the database keeps only a hash."""
    first = Patient(client).complete({"age": "30"})
    second = Patient(client).complete({"age": "45", "saddle_numbness": "yes"})
    token = _token(str(first.url))
    assert len(token) == 43
    assert token != _token(str(second.url))
    with store.session() as db:
        hashes = [row.patient_token_sha256 for row in db.query(StoredAssessment)]
    assert token not in hashes
    assert urgency_of(client.get(f"/r/{token}").text) == urgency_of(first.text)
    assert client.get(f"/r/{token[:-1]}x").status_code == 404


def test_result_views_are_audited(client: TestClient, store: Store) -> None:
    """Creating and viewing a result each write an audit row."""
    page = Patient(client).complete({"age": "30"})
    client.get(str(page.url))
    with store.session() as db:
        actions = [(e.actor, e.action) for e in db.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions[0] == ("patient", "create")
    assert actions.count(("patient", "view")) == 2


def test_print_view_has_the_same_result(client: TestClient, kb: KnowledgeBase) -> None:
    """The printable version shows the same urgency and the safety net."""
    page = Patient(client).complete({"age": "45", "saddle_numbness": "yes"})
    printed = client.get(f"{page.url}/print")
    assert printed.status_code == 200
    assert urgency_of(printed.text) == ["emergency"]
    assert kb.ui("web.get_help_at_once") in printed.text


def test_result_is_never_cached(client: TestClient) -> None:
    """Result pages are private: no-store, and no Referer leaks the token."""
    page = Patient(client).complete({"age": "30"})
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_result_in_another_language_keeps_urgency(client: TestClient) -> None:
    """Switching the language of a result page keeps the stored urgency."""
    page = Patient(client).complete({"age": "45", "saddle_numbness": "yes"})
    spanish = client.get(f"{page.url}?lang=es")
    assert '<html lang="es"' in spanish.text
    assert urgency_of(spanish.text) == ["emergency"]


def test_follow_up_starts_a_new_intake_in_the_same_episode(
    client: TestClient, store: Store
) -> None:
    """Follow-up questions from the private link create a new assessment in the same episode."""
    page = Patient(client).complete({"age": "52", "sex": "male", "pain_back_nrs": "7"})
    patient = Patient(client)
    patient.page = page
    patient.page = client.post(f"{page.url}/follow-up", data={"csrf_token": patient.csrf})
    # The step interview, with age and sex carried over: they are not asked again.
    assert str(patient.page.url).endswith("/intake/step")
    assert 'name="age"' not in patient.page.text
    assert 'name="_shown" value="list-danger_signs"' in patient.page.text
    patient.page = client.get("/intake/section/pain")  # the whole questionnaire stays open
    patient.complete({"pain_back_nrs": "3"})
    with store.session() as db:
        rows = db.query(StoredAssessment).order_by(StoredAssessment.created_at).all()
    assert len(rows) == 2
    assert rows[0].episode_id == rows[1].episode_id
    assert rows[1].intake["answers"]["age"] == 52
    assert rows[1].intake["answers"]["pain_back_nrs"] == 3


def test_narrative_is_stored_and_read_when_the_reader_exists(
    client: TestClient, store: Store
) -> None:
    """The narrative goes into the intake; with backpath.nlp installed it is read."""
    text = "My left leg is numb and the pain goes below my knee."
    Patient(client).complete({"age": "40"}, narrative=text)
    with store.session() as db:
        row = db.query(StoredAssessment).one()
    assert row.intake["narrative"] == text
    assert row.narrative_read is web_triage.narrative_reader_available()


def test_narrative_evidence_is_quoted_on_the_result(client: TestClient, kb: KnowledgeBase) -> None:
    """When a rule fired from the person's words, the result quotes those words."""
    if not web_triage.narrative_reader_available():
        pytest.skip("backpath.nlp is not installed: nothing is read from the narrative")
    text = "I can't feel the toilet paper when I wipe."
    page = Patient(client).complete({"age": "40", "back_pain": "yes"}, narrative=text)
    result = assess(
        Intake.from_json({"answers": {"age": 40, "back_pain": True}, "narrative": text})
    )
    quoted = [
        item["evidence"]
        for rule in result.to_json()["fired_rules"]
        for item in rule["because"]
        if item["source"] == "narrative"
    ]
    if not quoted:
        pytest.skip("the narrative reader found no red flag in this sentence")
    assert kb.ui("web.you_wrote") in page.text
    assert esc(quoted[0]) in page.text


def test_without_the_narrative_reader_free_text_is_kept_and_marked_unread(
    client: TestClient, store: Store, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without backpath.nlp the text is stored, not read, and the pages say so."""
    monkeypatch.setattr(web_triage, "narrative_reader_available", lambda: False)
    from backpath.web import routes_patient

    monkeypatch.setattr(routes_patient, "narrative_reader_available", lambda: False)
    patient = Patient(client)
    patient.start()
    patient.advance_to_narrative()
    assert esc(kb.ui("web.narrative_not_read")) in patient.page.text
    page = patient.narrative("I cannot feel the toilet paper.")
    assert esc(kb.ui("web.narrative_not_read")) in page.text
    with store.session() as db:
        row = db.query(StoredAssessment).one()
    assert row.intake["narrative"] == "I cannot feel the toilet paper."
    assert row.narrative_read is False
    assert row.result["narrative"]["findings"] == []


def test_why_lists_only_the_reasons_for_the_urgency(client: TestClient, kb: KnowledgeBase) -> None:
    """An emergency result does not also say "book a visit" from a lower-urgency rule."""
    page = Patient(client).complete({"age": "45", "saddle_numbness": "yes", "leg_pain": "yes"})
    assert urgency_of(page.text) == ["emergency"]
    assert esc(kb.rules_by_id["ces_new_bladder_bowel_saddle_sexual"].spec.patient) in page.text
    assert esc(kb.rules_by_id["seed_leg_symptoms"].spec.patient) not in page.text


def test_open_questions_link_opens_exactly_those_questions(
    client: TestClient, store: Store, kb: KnowledgeBase
) -> None:
    """The result lists the questions still open (``unasked``); its link opens a page with
    exactly those questions (not the whole intake), and answering them updates the same
    assessment, which then has none open."""
    page = Patient(client).complete(SELF_CARE)  # every red-flag question left blank
    with store.session() as db:
        row = db.query(StoredAssessment).one()
        unasked = list(row.result["unasked"])
        first_id = row.id
    assert unasked, "a journey that skips the red flags leaves questions open"
    listed = re.findall(r'data-open-question="([a-z_0-9]+)"', page.text)
    assert listed == [c for c in unasked if c in listed]
    assert set(listed) == set(unasked)
    patient = Patient(client)
    patient.page = page
    patient.page = client.post(f"{page.url}/open-questions", data={"csrf_token": patient.csrf})
    assert str(patient.page.url).endswith("/intake/open")
    assert set(patient.shown()) == set(unasked)
    assert 'value="30"' not in patient.page.text  # the age question is not asked again
    # "No" to each yes/no question; the follow-ups (how many days...) then no longer apply.
    answers = {code: "no" for code in unasked if kb.findings[code].type is FindingType.BOOLEAN}
    for _ in range(5):
        if "/intake/open" not in str(patient.page.url):
            break
        patient.submit(answers)
    assert "/r/" in str(patient.page.url)
    assert "data-open-question" not in patient.page.text
    with store.session() as db:
        rows = db.query(StoredAssessment).all()
        assert [r.id for r in rows] == [first_id]  # one row on the worklist, updated
        assert rows[0].result["unasked"] == []
        assert urgency_of(patient.page.text) == [rows[0].urgency]
        assert rows[0].intake["answers"]["age"] == 30
        assert all(rows[0].intake["answers"][code] is False for code in answers)
        assert db.query(AuditEvent).filter(AuditEvent.action == "open_questions").count() == 1


def test_no_open_questions_link_when_none_are_open(client: TestClient) -> None:
    """Everything that could change the result was asked: no open-questions section."""
    page = Patient(client).complete({**all_red_flags_no(), **SELF_CARE})
    assert 'id="open-questions"' not in page.text


def test_an_emergency_on_the_open_questions_page_is_stored_at_once(
    client: TestClient, store: Store
) -> None:
    """The open-questions page keeps the emergency behaviour: stored before the emergency
    screen, and "continue" comes back to the open questions."""
    page = Patient(client).complete(SELF_CARE)
    patient = Patient(client)
    patient.page = page
    patient.page = client.post(f"{page.url}/open-questions", data={"csrf_token": patient.csrf})
    assert "data-emergency-if-yes" in patient.page.text
    patient.submit({"saddle_numbness": "yes"})
    assert patient.on_emergency_screen()
    with store.session() as db:
        row = db.query(StoredAssessment).one()
        assert row.urgency == "emergency"
    patient.emergency("continue")
    assert str(patient.page.url).endswith("/intake/open")
    assert urgency_of(patient.page.text) == []
    assert 'id="emergency-banner"' in patient.page.text
    assert 'href="tel:' in patient.page.text
