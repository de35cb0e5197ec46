"""CDS Hooks: discovery, cards from a prefetched QuestionnaireResponse, errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backpath.interop.cds_hooks import PREFETCH, SERVICE_ID, card_from_result
from backpath.kb import KnowledgeBase
from backpath.triage import assess_json
from tests.interop.conftest import all_red_flags_no, questionnaire_response

SERVICE = f"/cds-services/{SERVICE_ID}"


def hook_request(
    qr: Any, birth_date: str | None = None, on: str | None = "2026-11-25"
) -> dict[str, Any]:
    """A patient-view request with the QuestionnaireResponse (and Patient) prefetched."""
    prefetch: dict[str, Any] = {"questionnaireResponse": qr}
    if birth_date is not None:
        prefetch["patient"] = {"resourceType": "Patient", "id": "p1", "birthDate": birth_date}
    context: dict[str, Any] = {"userId": "Practitioner/d1", "patientId": "p1"}
    if on is not None:
        context["date"] = on
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
        "prefetch": prefetch,
    }


def only_card(client: TestClient, request: dict[str, Any]) -> dict[str, Any]:
    """POST the request, check the response shape, return its one card."""
    response = client.post(SERVICE, json=request)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    card: dict[str, Any] = cards[0]
    assert len(card["summary"]) <= 140
    assert card["source"]["label"].startswith("backpath ")
    assert "links" not in card
    assert "suggestions" not in card
    return card


def test_discovery_lists_one_patient_view_service_with_prefetch(client: TestClient) -> None:
    """GET /cds-services lists backpath-back-pain-triage for patient-view with prefetch."""
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = response.json()["services"]
    assert len(services) == 1
    service = services[0]
    assert service["id"] == SERVICE_ID
    assert service["hook"] == "patient-view"
    assert service["description"]
    assert service["prefetch"] == PREFETCH
    assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert service["prefetch"]["questionnaireResponse"].startswith("QuestionnaireResponse?")


def test_saddle_numbness_gives_a_critical_card_with_rule_and_evidence(
    client: TestClient,
) -> None:
    """Saddle numbness -> critical card naming the cauda equina rule and the answer."""
    qr = questionnaire_response({"back_pain": True, "saddle_numbness": True})
    card = only_card(client, hook_request(qr, birth_date="1980-06-01"))
    assert card["indicator"] == "critical"
    assert "ces_new_bladder_bowel_saddle_sexual" in card["detail"]
    assert "`saddle_numbness` = yes (answer)" in card["detail"]
    assert "Emergency" in card["summary"]


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


def test_birth_date_and_context_date_give_the_age(client: TestClient, kb: KnowledgeBase) -> None:
    """Patient.birthDate on context.date is the age; without context.date age stays unknown."""
    qr = questionnaire_response(all_red_flags_no(kb))
    with_age = client.post(SERVICE, json=hook_request(qr, "1950-11-26")).json()
    without_date = client.post(SERVICE, json=hook_request(qr, "1950-11-26", on=None)).json()
    # 75 years old on 2026-11-25 (birthday tomorrow); the age question is no longer open.
    assert "`age`" not in with_age["cards"][0]["detail"]
    assert "`age`" in without_date["cards"][0]["detail"]


def test_empty_search_bundle_gives_no_cards(client: TestClient) -> None:
    """No backpath intake on file (empty searchset) -> no cards."""
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    response = client.post(SERVICE, json=hook_request(bundle))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_questionnaire_response_inside_a_search_bundle_is_used(client: TestClient) -> None:
    """A searchset Bundle prefetch is read like the resource itself."""
    qr = questionnaire_response({"saddle_numbness": True})
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": qr}]}
    assert only_card(client, hook_request(bundle))["indicator"] == "critical"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.update(hook="order-select"), "hook"),
        (lambda r: r.pop("hookInstance"), "hookInstance"),
        (lambda r: r.pop("prefetch"), "prefetch"),
        (lambda r: r["prefetch"].pop("questionnaireResponse"), "prefetch.questionnaireResponse"),
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
        (
            lambda r: r["prefetch"]["patient"].update(birthDate="June 1980"),
            "prefetch.patient.birthDate",
        ),
        (lambda r: r["context"].update(date="tomorrow"), "context.date"),
    ],
)
def test_invalid_request_is_400_naming_the_field(
    client: TestClient, mutate: Any, field: str
) -> None:
    """An invalid CDS Hooks request is 400 with {"error": {"field", "message"}}."""
    request = hook_request(questionnaire_response({"saddle_numbness": True}), "1980-06-01")
    mutate(request)
    response = client.post(SERVICE, json=request)
    assert response.status_code == 400
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
