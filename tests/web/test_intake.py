"""The patient intake over plain HTTP: pages, controls, validation, emergency screen."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from backpath.kb import KnowledgeBase
from backpath.store import Store
from backpath.store.models import AuditEvent, Draft, StoredAssessment
from backpath.vocabulary import Urgency
from tests.web._support import (
    ROUTINE,
    SELF_CARE,
    Patient,
    add_clinician,
    all_red_flags_no,
    esc,
    login,
    urgency_of,
)


def test_landing_page_offers_start_and_says_when_not_to_use_it(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """The start page shows its words from web.yaml and a Start form with a CSRF token."""
    page = client.get("/")
    assert page.status_code == 200
    assert kb.ui("web.landing_title") in page.text
    assert kb.ui("web.landing_unwell") in page.text
    assert 'action="/intake"' in page.text
    assert 'name="csrf_token"' in page.text


def test_pages_follow_the_questionnaire_in_order(client: TestClient, kb: KnowledgeBase) -> None:
    """The intake shows one questionnaire section per page, in questionnaire.yaml order."""
    patient = Patient(client)
    patient.start()
    seen: list[str] = []
    while not patient.on_narrative_page():
        section_id = patient.section()
        if section_id and section_id not in seen:
            seen.append(section_id)
        patient.submit({})
    assert seen == [section.id for section in kb.sections]


def test_every_question_control_is_named_by_its_finding_code(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Every questionnaire question appears with a control whose name is its finding code."""
    patient = Patient(client)
    patient.start()
    # "Not sure" to every question makes every conditional question relevant too.
    found: set[str] = set()
    for _ in range(40):
        if patient.on_emergency_screen():
            patient.emergency("continue")
            continue
        if patient.on_narrative_page():
            break
        for code in patient.shown():
            assert re.search(rf'name="{code}"', patient.page.text), code
            found.add(code)
        radios = [
            c
            for c in patient.shown()
            if f'type="radio" name="{c}" value="not_sure"' in patient.page.text
        ]
        assert patient.submit(dict.fromkeys(radios, "not_sure")).status_code == 200
    asked = {q.code for section in kb.sections for q in section.questions}
    assert found == asked


def test_yes_no_questions_have_yes_no_and_not_sure(client: TestClient) -> None:
    """A yes/no question offers yes, no and "not sure" radios under its finding code."""
    patient = Patient(client)
    patient.start()
    for value in ("yes", "no", "not_sure"):
        assert f'type="radio" name="back_pain" value="{value}"' in patient.page.text


def test_not_sure_means_unknown_in_the_stored_intake(client: TestClient, store: Store) -> None:
    """Answering "not sure" is stored as null: unknown, never "no", and told apart from a
    question that was never asked (DESIGN.md v2)."""
    patient = Patient(client)
    patient.complete({"back_pain": "not_sure", "age": "50"})
    with store.session() as db:
        from backpath.store.models import StoredAssessment

        row = db.query(StoredAssessment).one()
    assert "back_pain" in row.intake["answers"]
    assert row.intake["answers"]["back_pain"] is None
    assert row.intake["answers"]["age"] == 50


def test_invalid_number_reshows_the_page_naming_the_field_and_keeps_answers(
    client: TestClient, kb: KnowledgeBase, store: Store
) -> None:
    """A bad age re-shows the page (422) naming the question; the other answers are kept."""
    patient = Patient(client)
    patient.start()
    page = patient.submit({"age": "forty", "back_pain": "yes", "sex": "female"})
    assert page.status_code == 422
    assert 'id="error-summary"' in page.text
    assert f'<a href="#q-age">{kb.findings["age"].question}</a>' in page.text
    assert 'value="forty"' in page.text
    assert 'name="back_pain" value="yes" checked' in page.text
    with store.session() as db:
        state = db.query(Draft).one().state
    assert state["answers"] == {"back_pain": True, "sex": "female"}
    page = patient.submit({"age": "41", "back_pain": "yes", "sex": "female"})
    assert page.status_code == 200
    assert "/intake/section/danger_signs" in str(page.url)


@pytest.mark.parametrize("bad", ["-3", "121", "4.5", "1e3"])
def test_out_of_range_ages_are_rejected(client: TestClient, bad: str) -> None:
    """Ages outside the finding's range or not whole numbers are refused, not guessed."""
    patient = Patient(client)
    patient.start()
    assert patient.submit({"age": bad}).status_code == 422


def test_back_keeps_answers(client: TestClient) -> None:
    """Going back saves the page and shows the earlier page with its answers."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "33", "back_pain": "yes"})
    page = patient.submit({"chest_pain": "no"}, nav="back")
    assert 'value="33"' in page.text
    page = patient.submit({})
    assert 'name="chest_pain" value="no" checked' in page.text


def test_saddle_numbness_shows_the_emergency_screen_at_once(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Saddle numbness answered yes goes straight to the emergency screen after that page."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "45", "back_pain": "yes"})
    patient.pass_danger_signs()
    page = patient.submit({"saddle_numbness": "yes"})
    assert str(page.url).endswith("/intake/emergency")
    assert kb.ui("web.emergency_title") in page.text
    # The first line is the rule's own instruction with the clinic's number as a tel: link.
    instruction = kb.instructions["go_to_emergency_department"].text
    assert "data-first-instruction" in page.text
    assert esc(instruction.format(emergency_number="911")) in page.text
    assert 'href="tel:911"' in page.text
    assert esc(kb.urgencies[Urgency.EMERGENCY].action) not in page.text
    assert kb.ui("web.emergency_continue") in page.text


def test_emergency_screen_continue_returns_to_the_follow_up_question(client: TestClient) -> None:
    """Continuing after the emergency screen shows the question the answer made relevant."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "45", "back_pain": "yes"})
    patient.pass_danger_signs()
    patient.submit({"saddle_numbness": "yes"})
    page = patient.emergency("continue")
    assert "/intake/section/bladder_bowel_saddle" in str(page.url)
    assert 'name="cauda_equina_symptoms_days"' in page.text


def test_emergency_screen_is_shown_once(client: TestClient) -> None:
    """After the emergency screen, later red flags do not interrupt again."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "45", "back_pain": "yes"})
    patient.pass_danger_signs()
    patient.submit({"saddle_numbness": "yes"})
    patient.emergency("continue")
    patient.submit({"saddle_numbness": "yes", "cauda_equina_symptoms_days": "1"})
    page = patient.submit({"known_aaa": "yes"})
    assert not patient.on_emergency_screen()
    assert "/intake/section/legs" in str(page.url)


def test_emergency_finish_now_stores_and_shows_emergency_result(client: TestClient) -> None:
    """ "Finish now" on the emergency screen stores the answers and shows the emergency result."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "45", "back_pain": "yes"})
    patient.pass_danger_signs()
    patient.submit({"saddle_numbness": "yes"})
    page = patient.emergency("finish")
    assert "/r/" in str(page.url)
    assert urgency_of(page.text) == ["emergency"]


def test_emergency_path_ends_with_emergency_result(client: TestClient) -> None:
    """Going through the whole intake with saddle numbness ends on data-urgency=emergency."""
    page = Patient(client).complete({"age": "45", "back_pain": "yes", "saddle_numbness": "yes"})
    assert urgency_of(page.text) == ["emergency"]


def test_conditional_question_appears_after_its_trigger(client: TestClient) -> None:
    """'Below the knee?' is asked on the same page once leg pain is answered yes."""
    patient = Patient(client)
    patient.start()
    patient.advance_to("legs")
    assert "leg_pain_below_knee" not in patient.shown()
    page = patient.submit({"leg_pain": "yes"})
    assert "leg_pain_below_knee" in patient.shown()
    assert "?more=1" in str(page.url)


def test_conditional_question_is_skipped_when_its_trigger_is_no(client: TestClient) -> None:
    """With leg pain answered no, 'below the knee?' is never asked."""
    patient = Patient(client)
    patient.start()
    patient.advance_to("legs")
    page = patient.submit({"leg_pain": "no", "leg_weakness": "no", "foot_drop": "no"})
    assert "/intake/section/health" in str(page.url)


def test_unanswered_trigger_still_asks_the_follow_up(client: TestClient) -> None:
    """A skipped trigger is unknown, not "no", so its follow-up question is still asked."""
    patient = Patient(client)
    patient.start()
    patient.advance_to("legs")
    patient.submit({"leg_pain": "no"})
    assert "weakness_worsening" in patient.shown()


def test_self_care_path(client: TestClient) -> None:
    """Every red flag answered no with short back pain only ends in self-care."""
    answers = {**all_red_flags_no(), **SELF_CARE}
    page = Patient(client).complete(answers)
    assert urgency_of(page.text) == ["self_care"]


def test_routine_path(client: TestClient) -> None:
    """Leg pain and numbness without red flags ends in a routine result."""
    answers = {**all_red_flags_no(), **ROUTINE}
    page = Patient(client).complete(answers)
    assert urgency_of(page.text) == ["routine"]


def test_skipping_everything_is_never_self_care(client: TestClient) -> None:
    """An intake with nothing answered is not self-care (unknown is never "no")."""
    page = Patient(client).complete({})
    assert urgency_of(page.text) != ["self_care"]


def test_body_map_and_checklist_fill_pain_regions(client: TestClient, store: Store) -> None:
    """The pain page draws the body map and its checklist fills pain_regions."""
    patient = Patient(client)
    patient.start()
    patient.advance_to("pain")
    assert 'class="body-map"' in patient.page.text
    assert 'data-region="thigh_left"' in patient.page.text
    page = patient.submit({"pain_regions": ["lower_back_left", "thigh_left", "calf_left"]})
    assert page.status_code == 200
    with store.session() as db:
        state = db.query(Draft).one().state
    assert state["answers"]["pain_regions"] == ["lower_back_left", "thigh_left", "calf_left"]


def test_unknown_region_is_refused(client: TestClient) -> None:
    """A body-map value that is not a region of the vocabulary is refused."""
    patient = Patient(client)
    patient.start()
    patient.advance_to("pain")
    assert patient.submit({"pain_regions": ["elbow_left"]}).status_code == 422


def test_narrative_too_long_is_refused_naming_the_field(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """A narrative over the limit re-shows the page with the error and keeps the text."""
    patient = Patient(client)
    patient.start()
    patient.advance_to(kb.sections[-1].id)
    patient.submit({})
    page = patient.narrative("x" * 5000)
    assert page.status_code == 422
    assert 'href="#f-narrative"' in page.text
    assert "xxxx" in page.text


def test_expired_draft_goes_back_to_start(client: TestClient, kb: KnowledgeBase) -> None:
    """Without a draft, a question page sends the person to the start page with a notice."""
    page = client.get("/intake/section/start")
    assert str(page.url).endswith("/?expired=1")
    assert kb.ui("web.draft_expired") in page.text


def test_unknown_section_is_404(client: TestClient) -> None:
    """A section that is not in the questionnaire is a 404 page."""
    Patient(client).start()
    assert client.get("/intake/section/nope").status_code == 404


def test_finishing_deletes_the_draft(client: TestClient, store: Store) -> None:
    """Once the assessment is stored, the draft with the answers is removed."""
    Patient(client).complete({"age": "30"})
    with store.session() as db:
        assert db.query(Draft).count() == 0


def test_language_from_query_session_and_accept_language(client: TestClient) -> None:
    """?lang= picks the language and is remembered; Accept-Language is the fallback."""
    assert '<html lang="es"' in client.get("/?lang=es").text
    assert '<html lang="es"' in client.get("/").text
    assert '<html lang="en"' in client.get("/?lang=en").text
    assert '<html lang="en"' in client.get("/?lang=xx").text


def test_accept_language_is_used_without_a_choice(app_and_store: tuple) -> None:
    """A browser asking for Spanish first gets Spanish."""
    with TestClient(app_and_store[0]) as fresh:
        page = fresh.get("/", headers={"accept-language": "es-ES,es;q=0.9,en;q=0.5"})
    assert '<html lang="es"' in page.text


def test_intake_language_is_stored(client: TestClient, store: Store) -> None:
    """The stored intake records the language the person used."""
    client.get("/?lang=es")
    Patient(client).complete({"age": "30"})
    with store.session() as db:
        from backpath.store.models import StoredAssessment

        row = db.query(StoredAssessment).one()
    assert row.intake["language"] == "es"
    assert row.result["language"] == "es"


def _to_questionnaire(patient: Patient, kb: KnowledgeBase) -> None:
    patient.start()
    patient.advance_to(kb.sections[-1].id, {"age": "40", "back_pain": "yes"})
    patient.submit({})


def test_startback_is_offered_after_the_sections_in_english(
    client: TestClient, kb: KnowledgeBase, store: Store
) -> None:
    """STarT Back follows the last section (as in `backpath assess`) and its scores are kept."""
    patient = Patient(client)
    _to_questionnaire(patient, kb)
    assert str(patient.page.url).endswith("/intake/questionnaire/startback")
    assert 'name="startback.bothersomeness"' in patient.page.text
    # items 1-8: option 1 = agree (score 1); item 9: option 3 = "very much" (score 1)
    from backpath.instruments import get_instrument

    items = get_instrument("startback").items
    data = {"csrf_token": patient.csrf, "nav": "next"}
    for item in items:
        data[f"startback.{item.id}"] = "3" if item.id == "bothersomeness" else "1"
    patient.page = client.post("/intake/questionnaire/startback", data=data)
    assert patient.on_narrative_page()
    page = patient.narrative("")
    assert urgency_of(page.text)
    with store.session() as db:
        from backpath.store.models import StoredAssessment

        row = db.query(StoredAssessment).one()
    assert row.intake["instruments"]["startback"] == [1] * 9
    scores = {s["instrument"]: s for s in row.result["scores"]}
    assert scores["startback"]["stratum"] == "high"


def test_startback_half_answered_asks_for_all_or_none(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """A partly answered STarT Back comes back (422) with a message; nothing is guessed."""
    patient = Patient(client)
    _to_questionnaire(patient, kb)
    data = {"csrf_token": patient.csrf, "nav": "next", "startback.leg_pain_spread": "1"}
    page = client.post("/intake/questionnaire/startback", data=data)
    assert page.status_code == 422
    assert kb.ui("web.questionnaire_incomplete") in page.text
    assert 'name="startback.leg_pain_spread" value="1" checked' in page.text


def test_startback_can_be_skipped(client: TestClient, kb: KnowledgeBase) -> None:
    """ "Skip these questions" goes on to "Anything else?" without scores."""
    patient = Patient(client)
    _to_questionnaire(patient, kb)
    page = client.post(
        "/intake/questionnaire/startback", data={"csrf_token": patient.csrf, "nav": "skip"}
    )
    assert 'action="/intake/anything-else"' in page.text
    back = client.post(
        "/intake/anything-else", data={"csrf_token": patient.csrf, "narrative": "", "nav": "back"}
    )
    assert str(back.url).endswith("/intake/questionnaire/startback")


def test_startback_is_not_offered_in_spanish_or_in_an_emergency(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Only English items exist, and an emergency goes straight on (as in the terminal)."""
    client.get("/?lang=es")
    patient = Patient(client)
    _to_questionnaire(patient, kb)
    assert patient.on_narrative_page()
    client.get("/?lang=en")
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "40"})
    patient.pass_danger_signs()
    patient.submit({"saddle_numbness": "yes"})
    patient.emergency("continue")
    patient.advance_to(kb.sections[-1].id)
    patient.submit({})
    assert patient.on_narrative_page()


def test_not_sure_about_saddle_numbness_is_asked_again_in_plainer_words(
    client: TestClient, kb: KnowledgeBase, store: Store
) -> None:
    """A first "not sure" to a bladder, bowel or saddle question re-shows it once with an
    example in plainer words; a second "not sure" is kept as null and the intake goes on."""
    plain = kb.findings["saddle_numbness"].unsure_help
    assert plain
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "45", "back_pain": "yes"})
    patient.pass_danger_signs()
    page = patient.submit({"saddle_numbness": "not_sure"})
    assert "/intake/section/bladder_bowel_saddle" in str(page.url)
    assert "?more=1" in str(page.url)
    assert esc(plain) in page.text
    assert 'name="saddle_numbness" value="not_sure" checked' in page.text
    page = patient.submit({"saddle_numbness": "not_sure"})
    assert "/intake/section/bladder_bowel_saddle" not in str(page.url)
    with store.session() as db:
        state = db.query(Draft).one().state
    assert "saddle_numbness" in state["unsure"]
    assert "saddle_numbness" not in state["answers"]


def test_not_sure_to_a_question_without_plainer_words_moves_on(client: TestClient) -> None:
    """Only questions with `unsure_help` are asked again: chest pain "not sure" moves on."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "45", "back_pain": "yes"})
    page = patient.submit({"chest_pain": "not_sure"})
    assert "?more=1" not in str(page.url)


# ---------------------------------------------------------------- an emergency stops everything


def _to_saddle_emergency(patient: Patient, age: str = "45") -> None:
    """Start, pass the first two pages, and answer saddle numbness "yes" (no JavaScript)."""
    patient.start()
    patient.submit({"age": age, "back_pain": "yes"})
    patient.pass_danger_signs()
    patient.submit({"saddle_numbness": "yes"})
    assert patient.on_emergency_screen()


def _stored(store: Store) -> list[StoredAssessment]:
    with store.session() as db:
        return list(db.query(StoredAssessment).order_by(StoredAssessment.created_at))


def test_emergency_is_stored_before_the_emergency_screen_is_shown(
    client: TestClient, store: Store
) -> None:
    """The moment the answers make it an emergency the assessment is in the database (with
    its audit row), before the person presses anything; the draft stays for the rest."""
    patient = Patient(client)
    _to_saddle_emergency(patient)
    rows = _stored(store)
    assert len(rows) == 1
    row = rows[0]
    assert (row.urgency, row.channel) == ("emergency", "web")
    assert row.intake["answers"]["saddle_numbness"] is True
    assert "ces_new_bladder_bowel_saddle_sexual" in [r["id"] for r in row.result["fired_rules"]]
    with store.session() as db:
        events = [(e.actor, e.action, e.detail) for e in db.query(AuditEvent)]
        draft = db.query(Draft).one()
    assert events == [
        ("patient", "create", {"urgency": "emergency", "channel": "web", "stage": "emergency"})
    ]
    assert draft.state["stored_id"] == row.id
    assert 'id="emergency-sent"' in patient.page.text


def test_stored_emergency_is_at_the_top_of_the_worklist(
    client: TestClient, store: Store, app_and_store: tuple
) -> None:
    """A patient who obeys the emergency screen and closes the tab is already on the
    clinician's worklist, first, with data-urgency=emergency."""
    Patient(client).complete({**all_red_flags_no(), **ROUTINE})
    patient = Patient(client)
    _to_saddle_emergency(patient)
    emergency_id = _stored(store)[-1].id
    add_clinician(store)
    with TestClient(app_and_store[0]) as clinician:
        assert login(clinician).status_code == 200
        worklist = clinician.get("/clinic").text
    start = worklist.find('id="worklist-rows"')
    rows = re.findall(
        r'<tr data-assessment="([0-9a-f]+)" data-urgency="([a-z_]+)"', worklist[start:]
    )
    assert rows[0] == (emergency_id, "emergency")
    assert len(rows) == 2


def test_finishing_after_an_emergency_updates_the_same_assessment(
    client: TestClient, store: Store
) -> None:
    """Going on and finishing updates the stored emergency: one row, the later answers in
    it, an "update" audit row, and a result link that opens it."""
    patient = Patient(client)
    _to_saddle_emergency(patient)
    first = _stored(store)[0]
    patient.emergency("continue")
    page = patient.complete({"saddle_numbness": "yes", "leg_pain": "yes", "pain_back_nrs": "6"})
    rows = _stored(store)
    assert len(rows) == 1
    assert rows[0].id == first.id
    assert rows[0].created_at == first.created_at
    assert rows[0].intake["answers"]["pain_back_nrs"] == 6
    assert rows[0].urgency == "emergency"
    assert urgency_of(page.text) == ["emergency"]
    assert rows[0].patient_token_sha256 != first.patient_token_sha256
    with store.session() as db:
        actions = [(e.action, e.detail.get("stage")) for e in db.query(AuditEvent)]
        assert db.query(Draft).count() == 0
    assert actions[0] == ("create", "emergency")
    assert ("update", "finished") in actions
    assert all(action != "create" for action, _ in actions[1:])


def test_show_my_result_on_the_emergency_screen_does_not_duplicate(
    client: TestClient, store: Store
) -> None:
    """ "Show my result" finishes with the stored row: still one assessment."""
    patient = Patient(client)
    _to_saddle_emergency(patient)
    page = patient.emergency("finish")
    assert urgency_of(page.text) == ["emergency"]
    assert len(_stored(store)) == 1


def test_emergency_screen_has_one_primary_action_the_call_button(
    client: TestClient, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The only primary action is the big tel: button with the configured number and the
    rule's own instruction; "show my result" is secondary, "continue" is a plain link."""
    monkeypatch.setenv("BACKPATH_EMERGENCY_REGION", "uk")
    patient = Patient(client)
    _to_saddle_emergency(patient)
    html = patient.page.text
    screen = html[html.index('id="emergency-screen"') : html.index("</section>")]
    instruction = kb.instructions["go_to_emergency_department"].text
    assert esc(instruction.format(emergency_number="999")) in screen
    assert '<a class="call-button big" href="tel:999">' in screen
    assert 'class="primary' not in html
    assert re.search(r'value="finish" class="secondary">' + kb.ui("web.emergency_finish"), html)
    assert re.search(r'value="continue" class="link-button"', html)
    assert html.index('value="finish"') < html.index('value="continue"')


def test_banner_with_the_call_button_stays_on_every_later_page(
    client: TestClient, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After "continue the questions", every intake page shows the red banner with the
    instruction and the tel: link to the configured number."""
    monkeypatch.setenv("BACKPATH_EMERGENCY_REGION", "uk")
    patient = Patient(client)
    _to_saddle_emergency(patient)
    instruction = esc(
        kb.instructions["go_to_emergency_department"].text.format(emergency_number="999")
    )
    page = patient.emergency("continue")
    seen = 0
    for _ in range(30):
        assert 'id="emergency-banner"' in page.text, page.url
        assert 'href="tel:999"' in page.text
        assert instruction in page.text
        # Nothing more to interrupt: no answer is marked while it already is an emergency.
        assert "data-emergency-if-yes" not in page.text
        seen += 1
        if patient.on_narrative_page():
            break
        page = patient.submit({"saddle_numbness": "yes"})
        assert not patient.on_emergency_screen()
    assert patient.on_narrative_page()
    assert seen > 5


def test_later_answers_update_the_stored_emergency_as_the_patient_goes_on(
    client: TestClient, store: Store
) -> None:
    """Each later page adds its answers to the stored emergency, so a person who stops
    half-way has still told the clinic everything they answered."""
    patient = Patient(client)
    _to_saddle_emergency(patient)
    patient.emergency("continue")
    patient.submit({"saddle_numbness": "yes", "cauda_equina_symptoms_days": "2"})
    patient.submit({"known_aaa": "no"})
    rows = _stored(store)
    assert len(rows) == 1
    assert rows[0].intake["answers"]["cauda_equina_symptoms_days"] == 2
    assert rows[0].intake["answers"]["known_aaa"] is False
    assert rows[0].urgency == "emergency"


def test_corrected_answer_removes_the_banner_and_finishing_updates_the_row(
    client: TestClient, store: Store
) -> None:
    """Changing the emergency answer back to "no" takes the banner away; the stored row keeps
    the emergency until the person finishes, then holds the final result (still one row)."""
    patient = Patient(client)
    _to_saddle_emergency(patient)
    page = patient.emergency("continue")
    page = patient.submit({"saddle_numbness": "no"})
    assert 'id="emergency-banner"' not in page.text
    assert _stored(store)[0].urgency == "emergency"
    page = patient.complete({**all_red_flags_no(), **ROUTINE})
    rows = _stored(store)
    assert len(rows) == 1
    assert rows[0].urgency == urgency_of(page.text)[0] != "emergency"


def test_answers_that_would_be_an_emergency_are_marked_for_the_script(
    client: TestClient,
) -> None:
    """Yes to saddle numbness (with the answers so far) is marked data-emergency-if-yes;
    "no" and "not sure" are not, and neither is anything on the first page."""
    patient = Patient(client)
    patient.start()
    assert "data-emergency-if-yes" not in patient.page.text
    patient.submit({"age": "45", "back_pain": "yes"})
    assert 'name="chest_pain" value="yes" data-emergency-if-yes>' in patient.page.text
    patient.pass_danger_signs()
    html = patient.page.text
    assert 'name="saddle_numbness" value="yes" data-emergency-if-yes>' in html
    assert not re.search(r'value="(no|not_sure)"[^>]*data-emergency-if-yes', html)
    assert 'data-check-url="/intake/section/bladder_bowel_saddle/check"' in html


def test_check_answers_whether_the_answers_on_screen_make_an_emergency(
    client: TestClient, store: Store
) -> None:
    """The page's check address (used by app.js for combinations) stores nothing and says
    whether the answers as they are on screen would make it an emergency."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "60", "back_pain": "yes"})
    patient.advance_to("health", {**all_red_flags_no()})
    base = {"csrf_token": patient.csrf, "_shown": patient.shown()}
    alone = client.post("/intake/section/health/check", data={**base, "fever": "yes"})
    assert alone.json() == {"emergency": False}
    both = {**base, "fever": "yes", "iv_drug_use": "yes"}
    assert client.post("/intake/section/health/check", data=both).json() == {"emergency": True}
    assert _stored(store) == []
    refused = client.post("/intake/section/health/check", data={**both, "csrf_token": "x"})
    assert refused.status_code == 403


def test_script_submission_stays_on_the_page_and_comes_back_to_it(
    client: TestClient, store: Store
) -> None:
    """app.js sends the page with nav=stay: emergency screen, stored, and "continue" returns
    to the same page (the rest of its questions are still to answer)."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "45", "back_pain": "yes"})
    patient.submit({"chest_pain": "yes"}, nav="stay")
    assert patient.on_emergency_screen()
    assert len(_stored(store)) == 1
    page = patient.emergency("continue")
    assert "/intake/section/danger_signs" in str(page.url)
    assert 'name="chest_pain" value="yes" checked' in page.text


def test_stay_without_an_emergency_shows_the_same_page(client: TestClient) -> None:
    """nav=stay saves the page and shows it again when nothing is an emergency."""
    patient = Patient(client)
    patient.start()
    page = patient.submit({"age": "45", "back_pain": "yes"}, nav="stay")
    assert "/intake/section/start" in str(page.url)
    assert 'value="45"' in page.text


def test_an_invalid_answer_does_not_hold_back_the_emergency_screen(
    client: TestClient, store: Store
) -> None:
    """An emergency answer next to a mistyped number still goes straight to the emergency
    screen (the valid answers are kept, the page comes back after it)."""
    patient = Patient(client)
    patient.start()
    patient.submit({"age": "45", "back_pain": "yes"})
    patient.pass_danger_signs()
    patient.submit({"saddle_numbness": "not_sure"})  # asked again in plainer words
    patient.submit({"urinary_retention": "yes", "cauda_equina_symptoms_days": "lots"})
    assert patient.on_emergency_screen()
    assert _stored(store)[0].urgency == "emergency"
    page = patient.emergency("continue")
    assert "/intake/section/bladder_bowel_saddle" in str(page.url)


def test_a_new_emergency_after_the_first_was_taken_back_interrupts_again(
    client: TestClient, store: Store
) -> None:
    """Once the first emergency answer is taken back, a new one shows the emergency screen
    again (and updates the same stored row)."""
    patient = Patient(client)
    _to_saddle_emergency(patient)
    patient.emergency("continue")
    patient.submit({"saddle_numbness": "no", "cauda_equina_symptoms_days": ""})
    patient.submit({"known_aaa": "yes"})
    assert patient.on_emergency_screen()
    assert len(_stored(store)) == 1


# ---------------------------------------------------------------- small things


def test_changing_language_keeps_the_answers_on_the_page(client: TestClient) -> None:
    """The header's language selector belongs to the page's form: changing the language
    keeps what is on the page and shows the same page in the new language."""
    patient = Patient(client)
    patient.start()
    assert 'id="lang-select" name="lang" form="page-form"' in patient.page.text
    assert 'form="page-form" name="nav" value="language"' in patient.page.text
    data = {
        "csrf_token": patient.csrf,
        "_shown": patient.shown(),
        "age": "33",
        "back_pain": "yes",
        "lang": "es",
        "nav": "language",
    }
    page = client.post("/intake/section/start", data=data)
    assert "/intake/section/start" in str(page.url)
    assert '<html lang="es"' in page.text
    assert 'value="33"' in page.text
    assert 'name="back_pain" value="yes" checked' in page.text


def test_enter_with_the_language_unchanged_means_next(client: TestClient) -> None:
    """The language button is the form's first button (Enter in a text box presses it):
    with the language unchanged it is Next."""
    patient = Patient(client)
    patient.start()
    data = {"csrf_token": patient.csrf, "_shown": patient.shown(), "age": "33", "lang": "en"}
    page = client.post("/intake/section/start", data={**data, "nav": "language"})
    assert "/intake/section/danger_signs" in str(page.url)


def test_changing_language_on_anything_else_keeps_the_text(client: TestClient) -> None:
    """The narrative is kept when the language is changed on "Anything else?"."""
    patient = Patient(client)
    patient.start()
    patient.advance_to_narrative()
    data = {"csrf_token": patient.csrf, "narrative": "My back hurts", "lang": "es"}
    page = client.post("/intake/anything-else", data={**data, "nav": "language"})
    assert '<html lang="es"' in page.text
    assert "My back hurts" in page.text
    assert 'action="/intake/anything-else"' in page.text


def test_sex_question_has_no_not_sure(client: TestClient) -> None:
    """Sex has its own "other or prefer to describe": no "not sure", and a posted one is
    refused."""
    patient = Patient(client)
    patient.start()
    assert 'name="sex" value="not_sure"' not in patient.page.text
    assert 'name="sex" value="other"' in patient.page.text
    assert patient.submit({"sex": "not_sure"}).status_code == 422


def test_next_comes_before_back_on_screen_and_for_the_keyboard(client: TestClient) -> None:
    """Next is first in the page (so first for the keyboard) and the style no longer
    reverses the row, so it is first on screen too."""
    from backpath.web.pages import STATIC_DIR

    patient = Patient(client)
    patient.start()
    html = patient.page.text
    assert html.index('value="next"') < html.index('value="back"')
    css = (STATIC_DIR / "app.css").read_text(encoding="utf-8")
    rule = re.search(r"\.nav-buttons \{[^}]*\}", css)
    assert rule
    assert "row-reverse" not in rule.group(0)


def test_under_16s_are_told_it_is_for_adults(client: TestClient, kb: KnowledgeBase) -> None:
    """The start page says the tool is for adults; a person under 16 is told again on the
    next page and on the result, which sends them to a clinician (never self-care)."""
    assert esc(kb.ui("web.landing_adults")) in client.get("/").text
    patient = Patient(client)
    patient.start()
    assert 'id="adults-only"' not in patient.page.text
    page = patient.submit({"age": "12", "back_pain": "yes"})
    assert esc(kb.ui("web.adults_only_notice")) in page.text
    page = patient.complete({**all_red_flags_no(), **SELF_CARE, "age": "12"})
    assert esc(kb.ui("web.adults_only_notice")) in page.text
    assert urgency_of(page.text) == ["urgent"]
    adult = Patient(client).complete({**all_red_flags_no(), **SELF_CARE})
    assert 'id="adults-only"' not in adult.text.split("</header>")[1]
