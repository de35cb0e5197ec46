"""Write-back resources (issue 13): what an EHR gets for one assessment, validated with the
``fhir.resources`` R4 (R4B) models; posting them to a real FHIR server (the test EHR of
tests/interop/_smart_server.py) and stopping cleanly at a refusal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fhir.resources.R4B import get_fhir_model_class

from backpath.errors import KnowledgeError
from backpath.interop.fhir import intake_from_questionnaire_response
from backpath.interop.writeback import (
    NEXT_STEP_SYSTEM,
    load_referrals,
    plan_write_back,
    post_resources,
)
from backpath.kb import KnowledgeBase
from backpath.web.triage import triage
from tests.interop._smart_server import EhrState, Token, build_app, serve_asgi

STARTBACK = [1, 0, 1, 1, 0, 1, 0, 1, 1]  # item scores in item order: total 6, distress 3
INTAKE: dict[str, Any] = {
    "answers": {
        "age": 58,
        "sex": "male",
        "back_pain": True,
        "leg_pain": True,
        "saddle_numbness": True,
        "fever": False,
        "pain_side": "left",
        "weight_loss_unexplained": None,  # "not sure": unknown, never "no"
    },
    "instruments": {"startback": STARTBACK},
    "narrative": "Numb between my legs since yesterday.",
    "language": "en",
}


def _plan(kb: KnowledgeBase) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    triaged = triage(INTAKE, kb, 4000)
    intake = triaged.intake.to_json()
    result = triaged.assessment.to_json()
    return result, plan_write_back(kb, intake, result, "p9", b"%PDF-1.7 handout")


def test_every_resource_is_valid_r4_and_linked(kb: KnowledgeBase) -> None:
    result, resources = _plan(kb)
    assert result["urgency"] == "emergency"
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert resource["subject"] == {"reference": "Patient/p9"}
    kinds = [r["resourceType"] for r in resources]
    assert kinds[0] == "QuestionnaireResponse"
    assert kinds[1] == "RiskAssessment"
    assert kinds[-1] == "DocumentReference"
    response, risk = resources[0], resources[1]
    qr_ref = {"reference": f"urn:uuid:{response['id']}"}
    assert risk["basis"] == [qr_ref]
    reasons = {c["code"] for r in risk["reasonCode"] for c in r["coding"]}
    assert reasons == {rule["id"] for rule in result["fired_rules"]}
    for reason, rule in zip(risk["reasonCode"], result["fired_rules"], strict=True):
        for source in rule["sources"]:
            assert source in reason["text"]
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    assert observations
    for observation in observations:
        assert observation["derivedFrom"] == [qr_ref]
        systems = {c["system"] for c in observation["code"]["coding"]}
        if observation.get("valueBoolean") is not True:
            assert "http://snomed.info/sct" not in systems
    # STarT Back: total (LOINC 91351-7) = the sum of the nine item scores.
    total = next(o for o in observations if o["code"]["coding"][0].get("code") == "91351-7")
    assert total["valueQuantity"]["value"] == sum(STARTBACK)


def test_referral_is_a_proposed_service_request(kb: KnowledgeBase) -> None:
    result, resources = _plan(kb)
    steps = {step["id"] for step in result["next_steps"]}
    assert "emergency_mri_spinal_team" in steps  # the cauda equina emergency route
    requests = [r for r in resources if r["resourceType"] == "ServiceRequest"]
    codes = {r["code"]["coding"][0]["code"] for r in requests}
    assert "emergency_mri_spinal_team" in codes
    assert codes <= steps
    assert "history_and_examination" not in codes  # advice, not a referral
    for request in requests:
        assert request["code"]["coding"][0]["system"] == NEXT_STEP_SYSTEM
        assert (request["status"], request["intent"], request["priority"]) == (
            "draft",
            "proposal",
            "stat",
        )
        assert request["reasonReference"] == [{"reference": f"urn:uuid:{resources[1]['id']}"}]


def test_questionnaire_response_reads_back_to_the_intake(kb: KnowledgeBase) -> None:
    _, resources = _plan(kb)
    response = resources[0]
    assert response["status"] == "completed"
    document, _ = intake_from_questionnaire_response(kb, response)
    given = {k: v for k, v in INTAKE["answers"].items() if v is not None}
    assert document["answers"] == given
    startback = document["instruments"]["startback"]
    assert list(startback.values()) == STARTBACK
    assert document["narrative"] == INTAKE["narrative"]

    def items(level: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        for item in level:
            found.append(item)
            found.extend(items(item.get("item", [])))
        return found

    unsure = [i for i in items(response["item"]) if i["linkId"] == "weight_loss_unexplained"]
    assert len(unsure) == 1
    assert "answer" not in unsure[0]


def test_referral_map_is_checked(kb: KnowledgeBase, tmp_path: Path) -> None:
    assert load_referrals(kb).by_step()
    bad = tmp_path / "referrals.yaml"
    bad.write_text(
        "name: bad\npriority: {emergency: now, urgent: urgent, routine: routine, "
        "self_care: routine}\nreferrals:\n  - {next_step: no_such_step, service: Somewhere}\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as raised:
        load_referrals(kb, bad)
    text = " ".join(raised.value.problems)
    assert "no_such_step" in text
    assert "priority.emergency" in text


def test_post_stops_at_the_first_refusal_and_says_so(kb: KnowledgeBase) -> None:
    """The token may create QuestionnaireResponses only: the first is written (references
    resolved to its server id afterwards), the RiskAssessment is refused, nothing after it
    is sent, and the outcome lists what was and was not written."""
    _, resources = _plan(kb)
    ehr = EhrState(patients={}, default_patient="p9")
    ehr.tokens["t0"] = Token("t0", "patient/QuestionnaireResponse.c", "p9", time.time() + 60)
    with serve_asgi(build_app(ehr)) as base, httpx2.Client(timeout=10) as client:
        outcome = post_resources(base + "/fhir", "t0", resources, client)
    assert [w.resource_type for w in outcome.written] == ["QuestionnaireResponse"]
    assert outcome.written[0].id == ehr.created[0]["id"]
    assert len(ehr.created) == 1
    assert outcome.error is not None
    assert "RiskAssessment" in outcome.error
    assert "403" in outcome.error
    assert len(outcome.not_written) == len(resources) - 1
    assert outcome.not_written[0].startswith("RiskAssessment")


def test_references_point_at_the_ids_the_server_gave(kb: KnowledgeBase) -> None:
    _, resources = _plan(kb)
    ehr = EhrState(patients={}, default_patient="p9")
    ehr.tokens["t1"] = Token("t1", "patient/*.cruds", "p9", time.time() + 60)
    with serve_asgi(build_app(ehr)) as base, httpx2.Client(timeout=10) as client:
        outcome = post_resources(base + "/fhir", "t1", resources, client)
    assert outcome.ok, outcome.error
    assert ehr.refused == []
    created = {f"{r['resourceType']}/{r['id']}" for r in ehr.created}
    assert {w.reference for w in outcome.written} == created

    def references(value: Any) -> list[str]:
        if isinstance(value, dict):
            found = [value["reference"]] if isinstance(value.get("reference"), str) else []
            return found + [r for v in value.values() for r in references(v)]
        if isinstance(value, list):
            return [r for v in value for r in references(v)]
        return []

    for resource in ehr.created:
        for reference in references(resource):
            assert reference == "Patient/p9" or reference in created, reference
