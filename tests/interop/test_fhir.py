"""FHIR R4: QuestionnaireResponse -> Bundle (RiskAssessment + Observations), Questionnaire."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

# fhir.resources 8 models FHIR R5 by default; R4B is its R4-compatible package (the
# resources used here are unchanged between R4 and R4B). Installed by the `dev` extra.
from fhir.resources.R4B import bundle as r4b_bundle
from fhir.resources.R4B import questionnaire as r4b_questionnaire

from backpath.interop.fhir import (
    FINDING_SYSTEM,
    URGENCY_SYSTEM,
    bundle_from_result,
    finding_code,
    intake_from_questionnaire_response,
    questionnaire_from_kb,
)
from backpath.kb import KnowledgeBase
from backpath.triage import assess_json
from tests.interop.conftest import questionnaire_response

TRIAGE = "/fhir/QuestionnaireResponse/$triage"


def _answer_of(observation: dict[str, Any]) -> Any:
    for key in ("valueBoolean", "valueInteger", "valueString"):
        if key in observation:
            return observation[key]
    assert observation["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    return None


def test_bundle_round_trips_through_fhir_resources(client: TestClient) -> None:
    """$triage returns a valid R4 collection Bundle whose resources carry the result."""
    answers = {"back_pain": True, "saddle_numbness": True, "age": 52, "pain_side": "left"}
    response = client.post(TRIAGE, json=questionnaire_response(answers))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    document = response.json()

    parsed = r4b_bundle.Bundle.model_validate(document)
    again = parsed.model_dump(mode="json", exclude_none=True)
    assert r4b_bundle.Bundle.model_validate(again).model_dump(mode="json") == parsed.model_dump(
        mode="json"
    )
    assert document["type"] == "collection"
    resources = [entry["resource"] for entry in document["entry"]]
    assert resources[0]["resourceType"] == "RiskAssessment"

    expected = assess_json({"answers": answers})
    risk = resources[0]
    assert risk["status"] == "final"
    assert risk["subject"] == {"reference": "Patient/p1"}
    assert "basis" not in risk
    coding = risk["prediction"][0]["qualitativeRisk"]["coding"][0]
    assert (coding["system"], coding["code"]) == (URGENCY_SYSTEM, expected["urgency"])
    for rule in expected["fired_rules"]:
        assert rule["id"] in risk["note"][0]["text"]

    observed = {}
    for obs in resources[1:]:
        assert obs["resourceType"] == "Observation"
        local = [c for c in obs["code"]["coding"] if c["system"] == FINDING_SYSTEM]
        observed[local[0]["code"]] = _answer_of(obs)
    because = {b["code"]: b["value"] for r in expected["fired_rules"] for b in r["because"]}
    assert observed == because
    assert observed["saddle_numbness"] is True


def test_observation_codes_use_verified_snomed_only(kb: KnowledgeBase) -> None:
    """SNOMED CT appears for verified concepts; the local code is always there."""
    result = assess_json({"answers": dict.fromkeys(("saddle_numbness", "fever", "leg_pain"), True)})
    bundle = bundle_from_result(kb, result)
    for entry in bundle["entry"][1:]:
        codings = entry["resource"]["code"]["coding"]
        code = codings[-1]["code"]
        assert codings[-1]["system"] == FINDING_SYSTEM
        snomed = kb.findings[code].snomed
        has_snomed = any(c["system"] == "http://snomed.info/sct" for c in codings)
        assert has_snomed == bool(snomed and snomed.verified)
    verified = finding_code(kb, "leg_pain")["coding"]
    assert verified[0]["system"] == "http://snomed.info/sct"
    unverified = kb.findings["saddle_numbness"].snomed
    assert unverified is not None
    assert not unverified.verified
    assert len(finding_code(kb, "saddle_numbness")["coding"]) == 1
    assert finding_code(kb, "saddle_numbness", unverified_snomed=True)["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": unverified.code,
        "display": unverified.display,
    }


def test_codes_with_required_bindings_are_valid(kb: KnowledgeBase) -> None:
    """Codes fhir.resources does not check (required bindings) are from their value sets."""
    result = assess_json({"answers": {"saddle_numbness": True, "back_pain": True}})
    bundle = bundle_from_result(kb, result)
    assert bundle["type"] in {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    }
    observation_status = {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
    for entry in bundle["entry"]:
        assert entry["resource"]["status"] in observation_status
        absent = entry["resource"].get("dataAbsentReason")
        if absent:
            assert absent["coding"][0]["code"] in {"unknown", "asked-unknown", "not-asked"}
    questionnaire = questionnaire_from_kb(kb)
    assert questionnaire["status"] in {"draft", "active", "retired", "unknown"}
    item_types = {"group", "display", "boolean", "integer", "choice", "string"}
    operators = {"exists", "=", "!=", ">", "<", ">=", "<="}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            assert item["type"] in item_types
            for condition in item.get("enableWhen", []):
                assert condition["operator"] in operators
            assert item.get("enableBehavior", "any") in {"all", "any"}
            walk(item.get("item", []))

    walk(questionnaire["item"])


def test_invalid_questionnaire_response_is_400_naming_the_field(client: TestClient) -> None:
    """A boolean question answered with a string is 400 naming the answer element."""
    qr = questionnaire_response({"back_pain": True})
    qr["item"][0]["answer"] = [{"valueString": "yes"}]
    response = client.post(TRIAGE, json=qr)
    assert response.status_code == 400
    assert (
        response.json()["error"]["field"] == "QuestionnaireResponse.item[0].answer[0].valueString"
    )


def test_groups_are_walked_and_unanswered_items_are_unknown(kb: KnowledgeBase) -> None:
    """Answers nested in groups are read; an item without an answer stays unknown."""
    qr = {
        "resourceType": "QuestionnaireResponse",
        "status": "in-progress",
        "item": [
            {
                "linkId": "bladder_bowel_saddle",
                "item": [
                    {"linkId": "saddle_numbness", "answer": [{"valueBoolean": False}]},
                    {"linkId": "urinary_retention"},
                ],
            },
            {
                "linkId": "daily_life",
                "item": [
                    {
                        "linkId": "activity_limits",
                        "answer": [{"valueCoding": {"code": "walking"}}, {"valueString": "work"}],
                    }
                ],
            },
        ],
    }
    document, _ = intake_from_questionnaire_response(kb, qr)
    assert document["answers"] == {"saddle_numbness": False, "activity_limits": ["walking", "work"]}


def test_questionnaire_has_every_safety_screen_finding_in_order(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """GET /fhir/Questionnaire/backpath-intake lists every safety-screen question, in order."""
    response = client.get("/fhir/Questionnaire/backpath-intake")
    assert response.status_code == 200
    questionnaire = response.json()
    assert questionnaire == questionnaire_from_kb(kb)
    r4b_questionnaire.Questionnaire.model_validate(questionnaire)

    expected = [q.code for s in kb.sections if s.safety_screen for q in s.questions]
    safety_ids = {s.id for s in kb.sections if s.safety_screen}
    linked = [
        item["linkId"]
        for group in questionnaire["item"]
        if group["linkId"] in safety_ids
        for item in group["item"]
        if item["type"] != "display"
    ]
    assert linked == expected
    red_flags = {code for code, f in kb.findings.items() if f.red_flag}
    assert red_flags <= set(linked)

    items = {i["linkId"]: i for g in questionnaire["item"] for i in g["item"]}
    assert items["saddle_numbness"]["type"] == "boolean"
    assert items["age"]["type"] == "integer"
    assert [o["valueCoding"]["code"] for o in items["sex"]["answerOption"]] == [
        v.value for v in kb.findings["sex"].values
    ]
    assert items["activity_limits"]["repeats"] is True
    # ask_if "not false": asked when leg_pain is yes *or unanswered*.
    assert items["leg_pain_below_knee"]["enableBehavior"] == "any"
    assert {"question": "leg_pain", "operator": "exists", "answerBoolean": False} in items[
        "leg_pain_below_knee"
    ]["enableWhen"]
    assert not any(item.get("required") for item in items.values())


def test_questionnaire_answers_triage_back(client: TestClient, kb: KnowledgeBase) -> None:
    """A response built from the Questionnaire's own linkIds and answerOptions is accepted."""
    questionnaire = questionnaire_from_kb(kb)
    items = {i["linkId"]: i for g in questionnaire["item"] for i in g["item"]}
    option = items["sex"]["answerOption"][0]["valueCoding"]
    qr = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            {"linkId": "start", "item": [{"linkId": "sex", "answer": [{"valueCoding": option}]}]},
            {"linkId": "saddle_numbness", "answer": [{"valueBoolean": True}]},
        ],
    }
    response = client.post(TRIAGE, json=qr)
    assert response.status_code == 200
    risk = response.json()["entry"][0]["resource"]
    assert risk["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "emergency"
