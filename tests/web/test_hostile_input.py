"""Hostile input at the boundary: the JSON API, FHIR ``$triage``, CDS Hooks and form posts.

Every input below used to be a 500 or was resolved silently (sometimes to the lower
urgency). Each must be a clear 4xx naming the field, never a server error.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backpath import jsonio
from backpath.errors import IntakeError
from backpath.intake import Intake
from backpath.kb import KnowledgeBase
from tests.web._support import Patient

JSON = {"content-type": "application/json"}
FHIR_TRIAGE = "/fhir/QuestionnaireResponse/$triage"
CDS_SERVICE = "/cds-services/backpath-back-pain-triage"

# (raw body, the field the error must name)
HOSTILE_INTAKES: list[tuple[bytes, str]] = [
    (
        b'{"age":45,"answers":{"saddle_numbness":true,"saddle_numbness":false}}',
        "answers.saddle_numbness",
    ),
    (b'{"age":45,"age":46}', "age"),
    (b'{"answers":{"age":' + b"9" * 4301 + b"}}", "answers.age"),
    (b'{"answers":{"age":-' + b"1" * 21 + b"}}", "answers.age"),
    (b'{"answers":{"leg_pain":true},"narrative":' + b"[" * 956 + b"]" * 956 + b"}", "narrative"),
    (b'{"narrative":"my back \\ud800 hurts"}', "narrative"),
    (b'{"narrative":"my back \\u0000 hurts"}', "narrative"),
    (b'{"answers":{"sex":"female\\u0000"}}', "answers.sex"),
    (b'{"id":"\\udfff"}', "id"),
    (b'{"answers":{"age":NaN}}', "answers.age"),
    (b'{"answers":{"age":1e999}}', "answers.age"),
    (b'{"age":45,"answers":{"age":46}}', "age"),
    (b'{"sex":"male","answers":{"sex":"female"}}', "sex"),
    (b'"\\u0000"', "(root)"),
]


def _field_of(response: Any) -> str:
    error = response.json()["error"]
    assert error["message"]
    return str(error["field"])


@pytest.mark.parametrize(("body", "field"), HOSTILE_INTAKES, ids=[f for _, f in HOSTILE_INTAKES])
@pytest.mark.parametrize("path", ["/api/v1/triage", "/api/v1/interview"])
def test_api_refuses_hostile_json_naming_the_field(
    client: TestClient, path: str, body: bytes, field: str
) -> None:
    """Each hostile body is a 422 naming the field, never a 500 or a silent choice."""
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert _field_of(response).startswith(field)


def test_api_nesting_too_deep_for_the_decoder_is_a_4xx(client: TestClient) -> None:
    """Nesting deep enough to exhaust the decoder's recursion is still a 4xx."""
    body = b"[" * 200_000 + b"]" * 200_000
    response = client.post("/api/v1/triage", content=body, headers=JSON)
    assert response.status_code in (413, 422), response.text
    if response.status_code == 422:
        assert _field_of(response) == "(root)"


def test_api_not_json_is_still_400_body(client: TestClient) -> None:
    """Text that is not JSON keeps its 400 on (body)."""
    for body in (b"{nope", b"\xff\xfe{}", b"\xef\xbb\xbf{}"):
        response = client.post("/api/v1/triage", content=body, headers=JSON)
        assert response.status_code == 400, body
        assert _field_of(response) == "(body)"


def test_api_duplicate_key_never_resolves_to_the_lower_urgency(
    client: TestClient, api_headers: dict[str, str]
) -> None:
    """Whichever order the duplicate comes in, there is no result at all."""
    for first, second in (("true", "false"), ("false", "true")):
        body = (
            '{"age":45,"answers":{"leg_pain":true,'
            f'"saddle_numbness":{first},"saddle_numbness":{second}}}}}'
        ).encode()
        response = client.post(
            "/api/v1/assessments", content=body, headers={**JSON, **api_headers}
        )
        assert response.status_code == 422
        assert _field_of(response) == "answers.saddle_numbness"


def test_api_agreeing_top_level_age_is_accepted(client: TestClient) -> None:
    """The same age given twice (top level and in answers) is not a conflict."""
    body = {"age": 45, "sex": "male", "answers": {"age": 45, "sex": "male", "back_pain": True}}
    assert client.post("/api/v1/triage", json=body).status_code == 200


# ----------------------------------------------------------------------------- FHIR


def _qr(items: str) -> bytes:
    return (
        '{"resourceType":"QuestionnaireResponse","status":"completed","item":[' + items + "]}"
    ).encode()


HOSTILE_FHIR: list[tuple[bytes, str]] = [
    (
        _qr('{"linkId":"saddle_numbness","answer":[{"valueBoolean":true,"valueBoolean":false}]}'),
        "item[0].answer[0].valueBoolean",
    ),
    (
        _qr('{"linkId":"age","answer":[{"valueInteger":' + "9" * 4301 + "}]}"),
        "item[0].answer[0].valueInteger",
    ),
    (
        _qr('{"linkId":"narrative","answer":[{"valueString":"a\\ud800"}]}'),
        "item[0].answer[0].valueString",
    ),
    (
        _qr('{"linkId":"narrative","answer":[{"valueString":"a\\u0000"}]}'),
        "item[0].answer[0].valueString",
    ),
    (_qr("[" * 500 + "]" * 500), "item[0]"),
]


@pytest.mark.parametrize(("body", "field"), HOSTILE_FHIR, ids=[f for _, f in HOSTILE_FHIR])
def test_fhir_triage_refuses_hostile_json_naming_the_element(
    client: TestClient, body: bytes, field: str
) -> None:
    """$triage answers a 400 OperationOutcome whose expression names the element."""
    response = client.post(
        FHIR_TRIAGE, content=body, headers={"content-type": "application/fhir+json"}
    )
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"][0].startswith(field), issue
    assert issue["diagnostics"]


# ------------------------------------------------------------------------ CDS Hooks

CDS_BASE = (
    '{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",'
    '"context":{"userId":"Practitioner/1","patientId":"p1"}'
)

HOSTILE_CDS: list[tuple[bytes, str]] = [
    ((CDS_BASE + ',"hook":"patient-view"}').encode(), "hook"),
    ((CDS_BASE + ',"prefetch":{"n":' + "7" * 4301 + "}}").encode(), "prefetch.n"),
    ((CDS_BASE + ',"prefetch":' + '{"a":' * 100 + "1" + "}" * 100 + "}").encode(), "prefetch"),
    ((CDS_BASE + ',"prefetch":{"note":"x\\ud800"}}').encode(), "prefetch.note"),
    ((CDS_BASE + ',"prefetch":{"note":"x\\u0000"}}').encode(), "prefetch.note"),
]


@pytest.mark.parametrize(("body", "field"), HOSTILE_CDS, ids=[f for _, f in HOSTILE_CDS])
def test_cds_hooks_refuses_hostile_json_naming_the_field(
    client: TestClient, body: bytes, field: str
) -> None:
    """The CDS service answers 400 naming the field."""
    response = client.post(CDS_SERVICE, content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert _field_of(response).startswith(field)


def test_cds_feedback_refuses_duplicate_keys(client: TestClient) -> None:
    """Feedback with a duplicate key is refused naming it."""
    body = b'{"feedback":[{"card":"c","outcome":"accepted","outcome":"overridden"}]}'
    response = client.post(CDS_SERVICE + "/feedback", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert _field_of(response) == "feedback[0].outcome"


# --------------------------------------------------------------------- the core reader


def test_reader_accepts_ordinary_json() -> None:
    """Ordinary documents decode exactly as json.loads does."""
    text = '{"age": 45, "answers": {"leg_pain": true, "pain_nrs": 7}, "narrative": "ça va"}'
    assert jsonio.loads(text) == {
        "age": 45,
        "answers": {"leg_pain": True, "pain_nrs": 7},
        "narrative": "ça va",
    }
    assert jsonio.loads(b"[1, 2.5, null]") == [1, 2.5, None]
    assert jsonio.loads("[" * 32 + "]" * 32) is not None


def test_reader_limits_depth_and_digits() -> None:
    """33 levels and a 21-digit integer are refused; 32 levels and 20 digits are fine."""
    with pytest.raises(IntakeError):
        jsonio.loads("[" * 33 + "]" * 33)
    assert jsonio.loads("9" * 20) == int("9" * 20)
    with pytest.raises(IntakeError, match="21 digits"):
        jsonio.loads("9" * 21)


def test_intake_refuses_conflicting_age_and_sex(kb: KnowledgeBase) -> None:
    """Intake.from_json: a top-level age or sex that disagrees with answers is an error."""
    with pytest.raises(IntakeError) as caught:
        Intake.from_json({"age": 45, "answers": {"age": 46}})
    assert caught.value.field == "age"
    with pytest.raises(IntakeError) as caught:
        Intake.from_json({"sex": "male", "answers": {"sex": "female"}})
    assert caught.value.field == "sex"
    assert Intake.from_json({"age": 45, "answers": {"age": 45}}).answers["age"] == 45
    assert Intake.from_json({"age": 45, "answers": {}}).answers["age"] == 45


# ------------------------------------------------------------------------ form posts


def test_form_post_with_two_answers_to_one_question_is_refused(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """A radio question sent twice ("yes" and "no") re-shows the page naming the question."""
    patient = Patient(client)
    patient.start()
    page = patient.submit({"age": ["45", "46"], "back_pain": ["yes", "no"], "sex": "female"})
    assert page.status_code == 422
    assert f'<a href="#q-age">{kb.findings["age"].question}</a>' in page.text
    assert f'<a href="#q-back_pain">{kb.findings["back_pain"].question}</a>' in page.text
    assert "/intake/section/danger_signs" not in str(page.url)


def test_a_patient_ref_that_is_not_a_string_is_refused(client: TestClient) -> None:
    """Found by Schemathesis: ``{"patient_ref": []}`` was triaged; it is a 422 naming it."""
    for bad in ([], {}, 5, True):
        response = client.post("/api/v1/triage", json={"patient_ref": bad, "answers": {}})
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "patient_ref"
