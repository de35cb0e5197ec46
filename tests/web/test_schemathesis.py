"""Schemathesis over ``/api/v1/openapi.json``: every documented operation, fuzzed in-process.

Issue #12 asks that generated requests, with and without credentials, never get a 5xx and
never get an answer the OpenAPI document does not describe. Each test here takes one
operation of the document and one way of calling it:

- ``anonymous``: no credentials (anonymous posting off, the default);
- ``token``: ``Authorization: Bearer`` with a token that holds every scope;
- ``forged-token``: the bearer values Schemathesis makes up (empty, unknown, odd characters),
  on the operations that document the ``apiToken`` scheme;
- ``clinician``: a signed-in clinician's session cookie (only where a session is accepted);
- ``anonymous-posting-on``: a second app with ``api_anonymous_posts`` on, so the per-client
  limit answers 429 within the run.

Positive generation sends requests the schema allows; negative generation sends requests it
forbids (wrong types, out-of-range values, unknown enum values), which must all be a
documented 4xx. Every response goes through four Schemathesis checks: no server error,
a documented status code, a documented content type, and a body that matches its schema.

The app runs in this process through Schemathesis' own ASGI transport (a ``requests``
adapter; no network, no ``httpx``). The runs are derandomized (a seed fixed per test), have
no deadline and a small example budget, so the file finishes in CI time.

Where the document itself is wrong (an operation that answers a status it does not list),
the check is marked ``xfail(strict=True)`` with the reason: the suite stays green, and the
mark fails as soon as the document or the route is fixed, so it is removed then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backpath.store import Store
from tests.web._api_auth import READ, WRITE, bearer, issue_token
from tests.web._support import add_clinician, login, make_app

OPENAPI_PATH = "/api/v1/openapi.json"
EXAMPLES = 25
"""Generated requests per (operation, caller, generation mode); about a second each."""

CHECKS: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same requests on every run: a failure in CI replays locally
    deadline=None,  # the first narrative builds the language pipeline (seconds, once)
    database=None,  # nothing written to .hypothesis/
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@dataclass(frozen=True)
class Operation:
    """One operation of the OpenAPI document and how this file calls it."""

    label: str
    """``METHOD /path`` as Schemathesis names it."""
    takes_input: bool = False
    """It has a request body or parameters, so negative generation has something to break."""
    secured: bool = False
    """It documents the ``apiToken`` security scheme (Schemathesis then makes up tokens)."""
    accepts_session: bool = False
    """A clinician's session cookie is a credential here (docs/web.md, "API access")."""
    document_bug: str | None = None
    """Why every call fails ``status_code_conformance`` today (the document is wrong)."""


OPERATIONS: tuple[Operation, ...] = (
    Operation("POST /api/v1/triage", takes_input=True),
    Operation("POST /api/v1/assessments", takes_input=True, secured=True),
    Operation(
        "GET /api/v1/assessments/{assessment_id}",
        takes_input=True,
        secured=True,
        accepts_session=True,
    ),
    Operation("POST /api/v1/interview", takes_input=True),
    Operation("GET /cds-services"),
    Operation("POST /cds-services/backpath-back-pain-triage", takes_input=True),
    Operation("POST /cds-services/backpath-lumbar-imaging-order-select", takes_input=True),
    Operation("POST /cds-services/backpath-lumbar-imaging-order-sign", takes_input=True),
    Operation("POST /cds-services/backpath-back-pain-triage/feedback", takes_input=True),
    Operation("POST /cds-services/backpath-lumbar-imaging-order-select/feedback", takes_input=True),
    Operation("POST /cds-services/backpath-lumbar-imaging-order-sign/feedback", takes_input=True),
    Operation("GET /fhir/metadata"),
    Operation("GET /fhir/Questionnaire/backpath-intake"),
    Operation("GET /fhir/OperationDefinition/backpath-triage"),
    Operation("POST /fhir/QuestionnaireResponse/$triage", takes_input=True),
)
BY_LABEL = {operation.label: operation for operation in OPERATIONS}

STORED_INTAKE = {"age": 40, "answers": {"leg_pain": True, "leg_numbness": True}}
"""The intake of the one assessment stored before the run (routine sciatica)."""


@dataclass(frozen=True)
class Service:
    """An app on its own SQLite database, its loaded OpenAPI document and its credentials."""

    app: FastAPI
    store: Store
    schema: BaseSchema
    document: dict[str, Any]
    """The OpenAPI document as the app serves it."""
    token: str
    """An API token with every scope."""
    session_cookies: dict[str, str]
    """The cookies of a signed-in clinician."""
    stored_id: str
    """The id of one assessment stored through the API, for reads that find something."""

    def operation(self, label: str) -> APIOperation[Any, Any, Any, Any]:
        """The operation ``METHOD /path`` of the document."""
        method, path = label.split(" ", 1)
        return self.schema[path][method]

    def credentials(self, caller: str) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, cookies) that ``caller`` sends."""
        if caller == "token":
            return bearer(self.token), {}
        if caller == "clinician":
            return {}, self.session_cookies
        return {}, {}


def _start(folder: Path, **overrides: Any) -> Service:
    """An app with a clinician, an all-scopes token and one stored assessment."""
    app, store = make_app(folder, **overrides)
    add_clinician(store)
    token = issue_token(store, name="schemathesis", scopes=(WRITE, READ))
    with TestClient(app) as client:
        assert login(client).status_code == 200
        session_cookies = dict(client.cookies)
        document = client.get(OPENAPI_PATH).json()
        created = client.post(
            "/api/v1/assessments",
            json=STORED_INTAKE,
            headers=bearer(token),
        )
    assert created.status_code == 201, created.text
    schema = schemathesis.openapi.from_asgi(OPENAPI_PATH, app)
    return Service(app, store, schema, document, token, session_cookies, created.json()["id"])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The app with the default settings (anonymous posting off)."""
    started = _start(tmp_path_factory.mktemp("schemathesis"))
    yield started
    started.store.dispose()


@pytest.fixture(scope="module")
def open_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The app with anonymous posting on (rate-limited per client address)."""
    started = _start(tmp_path_factory.mktemp("schemathesis-open"), api_anonymous_posts=True)
    yield started
    started.store.dispose()


def _call_and_check(case: Case[Any], caller: str, service: Service) -> int:
    """Send ``case`` in-process as ``caller``, run the checks on the answer (a failure
    raises Schemathesis' report with a reproducing request); returns the status code.

    Schemathesis fills a documented ``Authorization`` with made-up bearer values; that is
    kept only for the ``forged-token`` caller. The others send exactly their own
    credentials: none, the real token, or the clinician's cookie. (A negative case whose
    mutation is "no ``Authorization``" is sent without it whatever the caller: Schemathesis
    drops the header, and the answer must then be the documented 401.)
    """
    if caller != "forged-token" and case.headers is not None:
        case.headers.pop("authorization", None)  # a case-insensitive dict
    headers, cookies = service.credentials(caller)
    response = case.call(headers=headers, cookies=cookies)
    case.validate_response(response, checks=CHECKS, headers=headers)
    return response.status_code


def _fuzz(
    service: Service,
    label: str,
    caller: str,
    mode: GenerationMode,
    path_parameters: dict[str, Any] | None = None,
) -> set[int]:
    """Run the generated requests for one operation; returns the statuses seen."""
    strategy = service.operation(label).as_strategy(mode, path_parameters=path_parameters)
    seen: set[int] = set()

    @FUZZ_SETTINGS
    @given(case=strategy)
    def run(case: Case[Any]) -> None:
        seen.add(_call_and_check(case, caller, service))

    run()
    return seen


def _cases() -> Iterator[Any]:
    """(operation, caller, generation mode) for every operation, with its xfail mark."""
    for operation in OPERATIONS:
        callers = ["anonymous", "token"]
        callers += ["forged-token"] if operation.secured else []
        callers += ["clinician"] if operation.accepts_session else []
        modes = [GenerationMode.POSITIVE]
        if operation.takes_input:
            modes.append(GenerationMode.NEGATIVE)
        marks = (
            [pytest.mark.xfail(strict=True, raises=FailureGroup, reason=operation.document_bug)]
            if operation.document_bug
            else []
        )
        for caller in callers:
            for mode in modes:
                yield pytest.param(
                    operation.label,
                    caller,
                    mode,
                    marks=marks,
                    id=f"{operation.label}-{caller}-{mode.value}",
                )


def test_every_documented_operation_is_fuzzed(service: Service) -> None:
    """The list above is the document's list: a new route cannot escape the fuzzing."""
    documented = {
        f"{method.upper()} {path}"
        for path, item in service.document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace")
    }
    assert documented == set(BY_LABEL)


@pytest.mark.parametrize(("label", "caller", "mode"), list(_cases()))
def test_operation_answers_as_documented(
    service: Service, label: str, caller: str, mode: GenerationMode
) -> None:
    """No 5xx, and every status, content type and body is the one the document describes."""
    seen = _fuzz(service, label, caller, mode)
    assert seen, "no request was sent"
    assert all(status < 500 for status in seen)
    if BY_LABEL[label].secured and caller in ("anonymous", "forged-token"):
        assert seen == {401}, "patient data without a credential"


@pytest.mark.parametrize(("caller", "expected"), [("token", 200), ("clinician", 200)])
def test_reading_a_stored_assessment_answers_as_documented(
    service: Service, caller: str, expected: int
) -> None:
    """With an id that exists, a reader with a credential gets the stored assessment."""
    seen = _fuzz(
        service,
        "GET /api/v1/assessments/{assessment_id}",
        caller,
        GenerationMode.POSITIVE,
        path_parameters={"assessment_id": service.stored_id},
    )
    assert seen == {expected}


def test_anonymous_posts_answer_as_documented_when_allowed(open_service: Service) -> None:
    """With anonymous posting on, generated intakes are stored or refused, and the flood
    beyond the per-client limit gets the documented 429."""
    seen = _fuzz(open_service, "POST /api/v1/assessments", "anonymous", GenerationMode.POSITIVE)
    assert 429 in seen, seen
    assert all(status < 500 for status in seen)


# Hostile bodies from issue #12, sent as raw bytes (``json.dumps`` cannot write a key twice
# or an integer of 4,301 digits): each must be a documented 4xx with an error body that
# fits the document. Starlette's client sends them; Schemathesis checks its answers.
HOSTILE_BODIES: dict[str, bytes] = {
    "huge-integer": b'{"answers":{"age":' + b"9" * 4301 + b"}}",
    "deep-nesting": b'{"answers":{"leg_pain":true},"narrative":' + b"[" * 956 + b"]" * 956 + b"}",
    "lone-surrogate": b'{"narrative":"my back \\ud800 hurts"}',
    "nul-byte": b'{"narrative":"my back \\u0000 hurts"}',
    "nul-in-answer": b'{"answers":{"sex":"female\\u0000"}}',
    "duplicate-key": b'{"age":45,"answers":{"saddle_numbness":true,"saddle_numbness":false}}',
    "conflicting-age": b'{"age":45,"answers":{"age":46}}',
}


@pytest.mark.parametrize("body_name", list(HOSTILE_BODIES))
@pytest.mark.parametrize(
    "label", ["POST /api/v1/triage", "POST /api/v1/interview", "POST /api/v1/assessments"]
)
def test_hostile_body_is_a_documented_4xx(service: Service, label: str, body_name: str) -> None:
    """A hostile body gets a 422 naming a field, a status the document lists, with an
    error body that fits the document."""
    path = label.split(" ", 1)[1]
    with TestClient(service.app) as client:
        response = client.post(
            path,
            content=HOSTILE_BODIES[body_name],
            headers={"content-type": "application/json", **bearer(service.token)},
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] not in ("", "(server)")
    case = service.operation(label).Case(media_type="application/json")
    case.validate_response(response, checks=CHECKS)
