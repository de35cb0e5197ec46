"""FHIR R4: QuestionnaireResponse -> Bundle (RiskAssessment + Observations), Questionnaire."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

# fhir.resources 8 models FHIR R5 by default; R4B is its R4-compatible package (the
# resources used here are unchanged between R4 and R4B). Installed by the `dev` extra.
from fhir.resources.R4B import bundle as r4b_bundle
from fhir.resources.R4B import capabilitystatement as r4b_capability
from fhir.resources.R4B import operationdefinition as r4b_operation
from fhir.resources.R4B import operationoutcome as r4b_outcome
from fhir.resources.R4B import questionnaire as r4b_questionnaire

from backpath.interop.fhir import (
    FHIR_JSON,
    FINDING_SYSTEM,
    URGENCY_SYSTEM,
    bundle_from_result,
    finding_code,
    intake_from_questionnaire_response,
    questionnaire_from_kb,
)
from backpath.interop.terminology import load_terminology
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
        disorder = snomed is not None and snomed.code in load_terminology().disorders
        present = entry["resource"].get("valueBoolean") is True
        assert has_snomed == bool(snomed and snomed.verified and not disorder and present)
    # leg_pain's concept (23056005) is the disorder Sciatica: never a yes/no finding code.
    assert kb.findings["leg_pain"].snomed is not None
    assert len(finding_code(kb, "leg_pain")["coding"]) == 1
    # saddle_numbness has no SNOMED id: the one it had failed the check digit and was removed.
    assert kb.findings["saddle_numbness"].snomed is None
    assert len(finding_code(kb, "saddle_numbness")["coding"]) == 1
    # Asked for, an unverified concept is included - unless its id fails the check digit.
    fever = kb.findings["fever"].snomed
    assert fever is not None
    assert not fever.verified
    assert finding_code(kb, "fever", unverified_snomed=True)["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": fever.code,
        "display": fever.display,
    }
    assert len(finding_code(kb, "saddle_numbness", unverified_snomed=True)["coding"]) == 1


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
    item_types = {"group", "display", "boolean", "integer", "choice", "string", "text"}
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
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    r4b_outcome.OperationOutcome.model_validate(outcome)
    issue = outcome["issue"][0]
    assert (issue["severity"], issue["code"]) == ("error", "invalid")
    assert issue["expression"] == ["QuestionnaireResponse.item[0].answer[0].valueString"]
    assert "valueBoolean" in issue["diagnostics"]


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
        for item in group.get("item", [])
        if item["type"] != "display"
    ]
    assert linked == expected
    red_flags = {code for code, f in kb.findings.items() if f.red_flag}
    assert red_flags <= set(linked)

    items = {i["linkId"]: i for g in questionnaire["item"] for i in g.get("item", [])}
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
    items = {i["linkId"]: i for g in questionnaire["item"] for i in g.get("item", [])}
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


def test_findings_said_no_or_unknown_never_carry_a_snomed_concept(kb: KnowledgeBase) -> None:
    """A "no" or an unknown is coded with the local finding code only (never a SNOMED
    concept with false), and Sciatica (a disorder) is never an Observation code."""
    result = assess_json({"answers": {"fever": False, "leg_pain": True, "saddle_numbness": True}})
    bundle = bundle_from_result(kb, result, unverified_snomed=True)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Observation" or "valueQuantity" in resource:
            continue
        codes = {(c["system"], c["code"]) for c in resource["code"]["coding"]}
        assert ("http://snomed.info/sct", "23056005") not in codes
        if resource.get("valueBoolean") is not True:
            assert all(system != "http://snomed.info/sct" for system, _ in codes)


def test_instrument_scores_are_loinc_coded_observations(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """STarT Back (total, distress subscore, risk level) and ODI come back as LOINC-coded
    Observations that validate as R4."""
    result = assess_json(
        {
            "answers": {"back_pain": True},
            "instruments": {"startback": [1, 1, 0, 0, 1, 1, 1, 1, 1], "odi": [2] * 10},
        }
    )
    bundle = bundle_from_result(kb, result, {"reference": "Patient/p1"})
    r4b_bundle.Bundle.model_validate(bundle)
    scores = {
        entry["resource"]["code"]["coding"][0]["code"]: entry["resource"]
        for entry in bundle["entry"]
        if "valueQuantity" in entry["resource"]
    }
    startback = scores["91351-7"]
    assert startback["code"]["coding"][0]["system"] == "http://loinc.org"
    assert startback["valueQuantity"]["value"] == 7
    components = {c["code"]["coding"][0]["code"]: c for c in startback["component"]}
    assert components["91350-9"]["valueQuantity"]["value"] == 5
    risk = components["91352-5"]["valueCodeableConcept"]["coding"][0]
    assert (risk["code"], risk["display"]) == ("LA9193-9", "High")
    odi = scores["97909-6"]
    assert odi["valueQuantity"] == {
        "value": 40,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }


def test_metadata_is_a_capability_statement(client: TestClient) -> None:
    """GET /fhir/metadata: an R4 CapabilityStatement naming the $triage operation."""
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    statement = response.json()
    r4b_capability.CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["kind"] == "instance"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    operation = resources["QuestionnaireResponse"]["operation"][0]
    assert operation["name"] == "triage"
    definition = client.get("/fhir/OperationDefinition/backpath-triage").json()
    r4b_operation.OperationDefinition.model_validate(definition)
    assert definition["url"] == operation["definition"]
    assert {p["name"] for p in definition["parameter"]} == {"response", "return"}


def test_triage_accepts_parameters(client: TestClient) -> None:
    """$triage takes a Parameters resource with a `response` parameter too."""
    qr = questionnaire_response({"saddle_numbness": True})
    body = {"resourceType": "Parameters", "parameter": [{"name": "response", "resource": qr}]}
    response = client.post(TRIAGE, json=body)
    assert response.status_code == 200, response.text
    risk = response.json()["entry"][0]["resource"]
    assert risk["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "emergency"
    qr["item"][0]["answer"] = [{"valueString": "yes"}]
    bad = client.post(TRIAGE, json=body)
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == [
        "Parameters.parameter[0].resource.item[0].answer[0].valueString"
    ]
    none = client.post(TRIAGE, json={"resourceType": "Parameters", "parameter": []})
    assert none.json()["issue"][0]["expression"] == ["Parameters.parameter"]


def test_fhir_errors_are_operation_outcomes(client: TestClient) -> None:
    """Unknown path 404, wrong method 405, XML asked for 406, wrong content type 415, bad
    JSON 400: each an OperationOutcome."""
    cases = [
        (client.get("/fhir/Patient/p1"), 404, "not-found"),
        (client.get("/fhir/QuestionnaireResponse/$triage"), 405, "not-supported"),
        (
            client.get("/fhir/metadata", headers={"accept": "application/fhir+xml"}),
            406,
            "not-supported",
        ),
        (
            client.post(TRIAGE, content=b"<x/>", headers={"content-type": "application/xml"}),
            415,
            "not-supported",
        ),
        (
            client.post(TRIAGE, content=b"{nope", headers={"content-type": FHIR_JSON}),
            400,
            "invalid",
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        outcome = response.json()
        r4b_outcome.OperationOutcome.model_validate(outcome)
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == code
    assert client.get("/fhir/metadata?_format=json").status_code == 200


def test_questionnaire_has_the_narrative_item(kb: KnowledgeBase) -> None:
    """The Questionnaire ends with the free-text `narrative` item that $triage reads."""
    last = questionnaire_from_kb(kb)["item"][-1]
    assert (last["linkId"], last["type"]) == ("narrative", "text")
