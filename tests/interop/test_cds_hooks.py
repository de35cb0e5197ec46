"""CDS Hooks 2.0: discovery, prefetch (null, missing, OperationOutcome), 412, the latest
intake with its date, the patient check, cards from intake and chart, errors naming the
field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backpath.interop.cds_hooks import SERVICE_ID, card_from_result, prefetch_templates
from backpath.interop.terminology import load_terminology
from backpath.kb import KnowledgeBase
from backpath.triage import assess_json
from tests.interop.conftest import (
    SERVICE,
    all_red_flags_no,
    condition,
    hook_request,
    questionnaire_response,
    searchset,
)


def only_card(client: TestClient, request: dict[str, Any]) -> dict[str, Any]:
    """POST the request, check the response shape, return its one card."""
    response = client.post(SERVICE, json=request)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    card: dict[str, Any] = cards[0]
    assert len(card["summary"]) <= 140
    assert card["indicator"] in {"info", "warning", "critical"}
    assert card["source"]["label"].startswith("backpath ")
    assert "suggestions" not in card
    for link in card.get("links", []):
        assert link["type"] == "absolute"
        assert link["url"].startswith("http")
        assert link["label"]
    return card


def dated(answers: dict[str, Any], authored: str, rid: str = "qr1") -> dict[str, Any]:
    """A QuestionnaireResponse with an id and an ``authored`` date."""
    qr = questionnaire_response(answers)
    qr.update(id=rid, authored=authored)
    return qr


def test_discovery_lists_one_patient_view_service_with_prefetch(client: TestClient) -> None:
    """GET /cds-services lists the service, with prefetch for the intake and the chart."""
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = response.json()["services"]
    service = next(s for s in services if s["id"] == SERVICE_ID)
    assert service["id"] == SERVICE_ID
    assert service["hook"] == "patient-view"
    assert service["description"]
    assert service["prefetch"] == prefetch_templates(load_terminology())
    assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert service["prefetch"]["questionnaireResponse"].startswith("QuestionnaireResponse?")
    assert "_sort=-authored" in service["prefetch"]["questionnaireResponse"]
    assert service["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}"
    assert "http://loinc.org|8310-5" in service["prefetch"]["observations"]


def test_saddle_numbness_gives_a_critical_card_with_rule_evidence_and_links(
    client: TestClient,
) -> None:
    """Saddle numbness -> critical card naming the rule, the answer and the guideline."""
    qr = questionnaire_response({"back_pain": True, "saddle_numbness": True})
    card = only_card(client, hook_request(qr))
    assert card["indicator"] == "critical"
    assert "ces_new_bladder_bowel_saddle_sexual" in card["detail"]
    assert "`saddle_numbness` = yes (answer)" in card["detail"]
    assert "Emergency" in card["summary"]
    assert card["source"]["url"].startswith("https://")
    assert card["links"]


def test_all_red_flags_no_back_pain_only_gives_an_info_card(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Every red flag answered "no" with back pain only -> info card, no emergency words."""
    qr = questionnaire_response(all_red_flags_no(kb))
    card = only_card(client, hook_request(qr, birth_date="1986-03-15"))
    assert card["indicator"] == "info"
    assert "ces_" not in card["detail"]


def test_partial_response_says_red_flag_questions_are_unanswered(client: TestClient) -> None:
    """Only back pain answered: the card says red-flag questions are unanswered."""
    qr = questionnaire_response({"back_pain": True})
    card = only_card(client, hook_request(qr))
    assert card["indicator"] == "info"
    assert "unanswered" in card["summary"]
    assert "emergency not ruled out" in card["summary"]
    assert "`saddle_numbness`" in card["detail"]
    assert 'unknown is not "no"' in card["detail"]


def test_birth_date_gives_the_age_with_or_without_context_date(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Patient.birthDate gives the age on context.date, or on today without it."""
    qr = questionnaire_response(all_red_flags_no(kb))
    with_date = only_card(client, hook_request(qr, birth_date="1950-11-26"))
    without_date = only_card(client, hook_request(qr, birth_date="1950-11-26", on=None))
    partial = only_card(client, hook_request(qr, birth_date="1950", on=None))
    assert "`age`" not in with_date["detail"]
    assert "`age`" not in without_date["detail"]
    assert "`age`" in partial["detail"]  # a year only: the age stays unknown (asked)
    assert "a year or month only" in partial["detail"]


def test_born_1950_with_sudden_severe_pain_is_critical_without_context_date(
    client: TestClient,
) -> None:
    """Acceptance: a Patient born in 1950 with sudden severe pain gives a critical card
    although the request has no context.date (age from birthDate on today's date)."""
    qr = questionnaire_response({"back_pain": True, "sudden_severe_pain": True})
    card = only_card(client, hook_request(qr, birth_date="1950-03-02", on=None))
    assert card["indicator"] == "critical"
    assert "aaa_sudden_severe_pain_older" in card["detail"]
    assert "`age` = " in card["detail"]
    assert "chart: Patient/p1: birthDate 1950-03-02" in card["detail"]


def test_condition_g83_4_in_the_prefetch_gives_a_critical_card(client: TestClient) -> None:
    """Acceptance: a prefetched Condition G83.4 (cauda equina syndrome) gives a critical
    card whose evidence is the Condition, its code and its date."""
    qr = questionnaire_response({"back_pain": True})
    plain = only_card(client, hook_request(qr))
    assert plain["indicator"] == "info"
    card = only_card(
        client,
        hook_request(qr, conditions=searchset(condition("G83.4", display="Cauda equina syndrome"))),
    )
    assert card["indicator"] == "critical"
    assert "ces_new_bladder_bowel_saddle_sexual" in card["detail"]
    assert (
        '`saddle_numbness` = yes (chart: Condition/c1: ICD-10-CM G83.4 "Cauda equina syndrome",'
        " 2026-11-23" in card["detail"]
    )
    assert "proxy code" in card["detail"]
    assert "not yet reviewed" in card["detail"]


def test_old_g83_4_is_shown_but_does_not_fire(client: TestClient) -> None:
    """A G83.4 recorded in 2019 is listed as not used and fires no emergency rule."""
    qr = questionnaire_response({"back_pain": True})
    old = condition("G83.4", recorded="2019-02-01")
    card = only_card(client, hook_request(qr, conditions=searchset(old)))
    assert card["indicator"] == "info"
    assert "(`ces_new_bladder_bowel_saddle_sexual`, emergency" not in card["detail"]
    assert "In the chart but not used" in card["detail"]
    assert "counts for 14 days" in card["detail"]


def test_fever_observation_and_a_risk_factor_from_the_chart(client: TestClient) -> None:
    """38.9 °C (LOINC 8310-5) and a current immunosuppressant: the infection emergency rule
    fires from the chart; the intake did not mention either."""
    from tests.interop.conftest import medication, temperature

    qr = questionnaire_response({"back_pain": True})
    card = only_card(
        client,
        hook_request(
            qr,
            observations=searchset(temperature(38.9)),
            medications=searchset(medication("methotrexate 2.5 mg tablet")),
        ),
    )
    assert card["indicator"] == "critical"
    assert "infection_fever_with_risk_factor" in card["detail"]
    assert 'LOINC 8310-5 "Body temperature" = 38.9 Cel' in card["detail"]
    assert 'name "methotrexate"' in card["detail"]


def test_chart_yes_wins_over_intake_no_and_the_conflict_is_shown(client: TestClient) -> None:
    """The intake says no fever; a reading of 38.5 today says yes: yes counts, shown."""
    from tests.interop.conftest import temperature

    qr = questionnaire_response({"back_pain": True, "fever": False})
    card = only_card(client, hook_request(qr, observations=searchset(temperature(38.5))))
    assert "seed_fever" in card["detail"]
    assert "`fever`: the intake says no, the chart says yes" in card["detail"]


def test_the_latest_intake_is_used_and_its_date_shown(client: TestClient) -> None:
    """Of two intakes the newest (by authored) is used, whatever the Bundle order."""
    older = dated({"back_pain": True, "saddle_numbness": True}, "2026-11-01", "old")
    newer = dated({"back_pain": True, "saddle_numbness": False}, "2026-11-24", "new")
    card = only_card(client, hook_request(searchset(older, newer)))
    assert "intake 2026-11-24" in card["summary"]
    assert "QuestionnaireResponse/new" in card["detail"]
    assert card["indicator"] != "critical"


def test_an_old_intake_says_so_in_the_summary(client: TestClient) -> None:
    """An intake from 2019 gives its date and age in the summary, not today's alone."""
    qr = dated({"back_pain": True, "saddle_numbness": True}, "2019-05-04T10:00:00Z")
    card = only_card(client, hook_request(qr))
    assert card["summary"].startswith("Back pain triage, intake 2019-05-04 (OLD: ")
    assert "re-assess" in card["detail"]


def test_intake_of_another_patient_is_refused(client: TestClient) -> None:
    """A QuestionnaireResponse about Patient/p2 on p1's chart is 400 naming its subject."""
    qr = questionnaire_response({"saddle_numbness": True})
    qr["subject"] = {"reference": "Patient/p2"}
    response = client.post(SERVICE, json=hook_request(searchset(qr)))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == (
        "prefetch.questionnaireResponse.entry[0].resource.subject"
    )


def test_null_prefetch_means_no_data(client: TestClient) -> None:
    """A key sent as null is "no data", not an error: no intake and nothing on the chart
    gives no card; a null Patient is allowed too (age unknown)."""
    response = client.post(SERVICE, json=hook_request(None))
    assert response.status_code == 200
    assert response.json() == {"cards": []}
    request = hook_request(questionnaire_response({"back_pain": True}))
    request["prefetch"]["patient"] = None
    card = only_card(client, request)
    assert "`age`" in card["detail"]


def test_empty_search_bundle_gives_no_cards(client: TestClient) -> None:
    """No backpath intake on file (empty searchset) and a quiet chart -> no cards."""
    response = client.post(SERVICE, json=hook_request(searchset()))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_chart_only_card_when_the_chart_puts_the_person_on_the_pathway(
    client: TestClient,
) -> None:
    """No intake, but a recent sciatica code: a card from the chart alone, saying so. A
    fever alone (no back or leg pain on record) gives none."""
    sciatica = condition("M54.31", rid="c2")
    card = only_card(client, hook_request(None, conditions=searchset(sciatica)))
    assert card["summary"].startswith("Back pain triage, from the chart (no intake)")
    assert "No backpath intake on file" in card["detail"]
    from tests.interop.conftest import temperature

    response = client.post(
        SERVICE, json=hook_request(None, observations=searchset(temperature(39.0)))
    )
    assert response.json() == {"cards": []}


@pytest.mark.parametrize("key", ["patient", "questionnaireResponse"])
def test_missing_required_prefetch_without_fhir_server_is_412(client: TestClient, key: str) -> None:
    """A needed key not prefetched, and no FHIR server to ask: 412 naming the key."""
    request = hook_request(questionnaire_response({"back_pain": True}))
    del request["prefetch"][key]
    response = client.post(SERVICE, json=request)
    assert response.status_code == 412
    assert response.json()["error"]["field"] == f"prefetch.{key}"
    assert "no fhirServer" in response.json()["error"]["message"]


def test_no_prefetch_at_all_is_412(client: TestClient) -> None:
    """Without prefetch and without fhirServer the service cannot work: 412."""
    request = hook_request(None)
    del request["prefetch"]
    assert client.post(SERVICE, json=request).status_code == 412
    request["prefetch"] = None
    assert client.post(SERVICE, json=request).status_code == 412


def test_operation_outcome_in_prefetch_is_detected(client: TestClient) -> None:
    """An OperationOutcome instead of the intake is "could not prefetch": 412 with its
    text. One instead of the Conditions is shown as "not checked" on the card."""
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout", "diagnostics": "search timed out"}],
    }
    request = hook_request(outcome)
    response = client.post(SERVICE, json=request)
    assert response.status_code == 412
    assert "search timed out" in response.json()["error"]["message"]

    inside = searchset(outcome)
    card = only_card(
        client, hook_request(questionnaire_response({"back_pain": True}), conditions=inside)
    )
    assert "**Not checked**" in card["detail"]
    assert "`conditions`: the EHR could not prefetch it" in card["detail"]


def test_questionnaire_response_inside_a_search_bundle_is_used(client: TestClient) -> None:
    """A searchset Bundle prefetch is read like the resource itself."""
    qr = questionnaire_response({"saddle_numbness": True})
    assert only_card(client, hook_request(searchset(qr)))["indicator"] == "critical"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.update(hook="order-select"), "hook"),
        (lambda r: r.pop("hookInstance"), "hookInstance"),
        (lambda r: r["context"].pop("patientId"), "context.patientId"),
        (
            lambda r: r["prefetch"]["questionnaireResponse"].update(resourceType="Patient"),
            "prefetch.questionnaireResponse.resourceType",
        ),
        (
            lambda r: r["prefetch"]["questionnaireResponse"]["item"][0].update(
                answer=[{"valueString": "yes"}]
            ),
            "prefetch.questionnaireResponse.item[0].answer[0].valueString",
        ),
        (
            lambda r: r["prefetch"]["questionnaireResponse"]["item"][0].update(linkId="colour"),
            "prefetch.questionnaireResponse.item[0].linkId",
        ),
        (
            lambda r: r["prefetch"]["questionnaireResponse"]["item"].append(
                {"linkId": "age", "answer": [{"valueInteger": 300}]}
            ),
            "prefetch.questionnaireResponse.item[1]",
        ),
        (lambda r: r["prefetch"]["patient"].update(id="p2"), "prefetch.patient.id"),
        (lambda r: r["prefetch"]["patient"].update(resourceType="Group"), "prefetch.patient"),
        (lambda r: r["prefetch"].update(conditions=[1]), "prefetch.conditions"),
        (lambda r: r.update(prefetch=[]), "prefetch"),
        (lambda r: r["context"].update(date="tomorrow"), "context.date"),
    ],
)
def test_invalid_request_is_400_naming_the_field(
    client: TestClient, mutate: Any, field: str
) -> None:
    """An invalid CDS Hooks request is 400 with {"error": {"field", "message"}}."""
    request = hook_request(questionnaire_response({"saddle_numbness": True}))
    mutate(request)
    response = client.post(SERVICE, json=request)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field
    assert response.json()["error"]["message"]


def test_body_that_is_not_json_is_400(client: TestClient) -> None:
    """A body that is not JSON is 400 naming (body)."""
    response = client.post(SERVICE, content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "(body)"


def test_summary_stays_within_140_characters(kb: KnowledgeBase) -> None:
    """Even a result with many fired rules and open questions keeps the summary short."""
    result = assess_json(
        {"age": 80, "answers": {"fever": True, "leg_pain": True, "trauma_minor": True}}
    )
    assert len(card_from_result(kb, result)["summary"]) <= 140


def test_narrative_item_is_read_and_a_conflict_is_shown(client: TestClient) -> None:
    """A `narrative` valueString is read; its red flag wins over a "no" and is flagged."""
    qr = questionnaire_response({"back_pain": True, "saddle_numbness": False})
    qr["item"].append(
        {
            "linkId": "narrative",
            "answer": [{"valueString": "Since yesterday I can't feel anything when I wipe."}],
        }
    )
    card = only_card(client, hook_request(qr))
    assert card["indicator"] == "critical"
    assert "`saddle_numbness` = yes (narrative" in card["detail"]
    assert "Answers and own words disagree" in card["detail"]


def test_unknown_service_is_404_naming_the_service(client: TestClient) -> None:
    """POST to a service id that is not offered is 404 in the JSON error shape."""
    response = client.post("/cds-services/other-service", json={"hook": "patient-view"})
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "service_id"
