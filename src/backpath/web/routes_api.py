"""The JSON API, ``/api/v1``: stateless triage and interview, stored assessments, clinician access.

Errors are ``{"error": {"field": ..., "message": ...}}``: ``400`` for a body that is not a
JSON object (field ``(body)``), ``415`` for another content type, ``413`` for a body over
the limit, ``422`` for an intake that the core rejects (the field is ``IntakeError.field``,
for example ``answers.age``) or JSON that ``backpath.jsonio`` refuses (a duplicate key, a
huge integer, deep nesting, a NUL byte or a lone surrogate; the field is its path), ``401``
when a clinician must sign in.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from backpath import jsonio
from backpath.errors import IntakeError, NarrativeError
from backpath.kb import KnowledgeBase
from backpath.store import assessments, audit
from backpath.store.audit import Actor
from backpath.triage.interview import next_step, parse_asked_steps, step_json
from backpath.vocabulary import FindingType, Urgency
from backpath.web.pages import Web, web
from backpath.web.routes_clinic import actor, signed_in
from backpath.web.triage import Triaged, narrative_reader_available, triage

JSON_TYPE = "application/json"


def error(status: int, field: str, message: str) -> Response:
    """An API error naming the field."""
    body = json.dumps({"error": {"field": field, "message": message}}, ensure_ascii=False)
    return Response(body, status_code=status, media_type=JSON_TYPE)


# One encoder for every response: json.dumps with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _fast_encoder() -> Callable[[Any], bytes] | None:
    """``orjson.dumps`` when orjson is installed: it writes the ~11 kB Result JSON in ~7 us
    instead of ~44 us (see docs/web.md). The output decodes to the same document."""
    try:
        module = importlib.import_module("orjson")
    except ImportError:
        return None
    dumps: Callable[[Any], bytes] = module.dumps
    return dumps


_FAST_ENCODE = _fast_encoder()


def encode_json(document: Any) -> bytes:
    """Serialise an API document to UTF-8 JSON."""
    if _FAST_ENCODE is not None:
        return _FAST_ENCODE(document)
    return _ENCODER.encode(document).encode("utf-8")


def json_response(
    document: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response, serialised once (no FastAPI re-encoding of the document)."""
    body = encode_json(document)
    return Response(body, status_code=status, media_type=JSON_TYPE, headers=headers)


class RejectedRequestError(Exception):
    """The request cannot be used; carries the API error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def _intake_document(request: Request) -> Any:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != JSON_TYPE:
        raise RejectedRequestError(error(415, "(body)", f"send the intake as {JSON_TYPE}"))
    body = await request.body()
    try:
        return jsonio.loads(body)
    except jsonio.JSONSyntaxError as exc:
        raise RejectedRequestError(error(400, "(body)", exc.message)) from None
    except IntakeError as exc:
        # JSON that decodes but may not be used (duplicate keys, a huge integer, deep
        # nesting, a NUL byte or a lone surrogate): 422 naming the field, as the core does.
        raise RejectedRequestError(error(422, exc.field, exc.message)) from None


def _triage(shared: Web, document: Any) -> Triaged:
    try:
        return triage(document, shared.kb, shared.settings.max_narrative_chars)
    except IntakeError as exc:
        raise RejectedRequestError(error(422, exc.field, exc.message)) from None
    except NarrativeError as exc:
        raise RejectedRequestError(error(422, "narrative", str(exc))) from None


async def _triage_off_loop(shared: Web, document: Any) -> Triaged:
    """Triage ``document``; reading free text is real CPU work, so it leaves the event loop."""
    if isinstance(document, dict) and document.get("narrative") and narrative_reader_available():
        return await run_in_threadpool(_triage, shared, document)
    return _triage(shared, document)


def intake_schema(kb: KnowledgeBase, max_narrative_chars: int) -> dict[str, Any]:
    """The Intake JSON schema, generated from the findings vocabulary."""
    answers: dict[str, Any] = {}
    for code, finding in kb.findings.items():
        schema: dict[str, Any]
        if finding.type is FindingType.BOOLEAN:
            schema = {"type": ["boolean", "null"]}
        elif finding.type is FindingType.INTEGER:
            schema = {"type": ["integer", "null"]}
            if finding.min is not None:
                schema["minimum"] = finding.min
            if finding.max is not None:
                schema["maximum"] = finding.max
        elif finding.type is FindingType.CHOICE:
            schema = {"enum": [*finding.allowed_values, None]}
        else:
            schema = {"type": "array", "items": {"enum": list(finding.allowed_values)}}
        schema["description"] = finding.label
        answers[code] = schema
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "age": answers["age"],
            "sex": answers["sex"],
            "answers": {
                "type": "object",
                "additionalProperties": False,
                "properties": answers,
                "description": "Answers by finding code; a missing code means unknown.",
            },
            "narrative": {"type": "string", "maxLength": max_narrative_chars},
            "instruments": {"type": "object"},
            "language": {"enum": list(kb.languages)},
            "id": {"type": ["string", "integer"]},
            "patient_ref": {"type": "string"},
        },
        "example": {"age": 45, "answers": {"leg_pain": True, "saddle_numbness": True}},
    }


STEP_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "The step to show next; null when nothing left can change the result. A "
    "checklist lists every item by name: send each ticked item true and the others false, "
    "every item false for 'None of these', every item null for 'not sure'.",
    "required": ["id", "kind", "codes", "text"],
    "properties": {
        "id": {"type": "string", "description": "a step id of questionnaire.yaml"},
        "kind": {"enum": ["boolean", "number", "choice", "checklist"]},
        "codes": {"type": "array", "items": {"type": "string"}},
        "text": {"type": "string", "description": "in the intake's language"},
        "items": {
            "type": "array",
            "description": "checklist only: each item's finding code and question",
            "items": {"type": "object"},
        },
        "options": {
            "type": "array",
            "description": "choice only: the allowed values and their labels",
            "items": {"type": "object"},
        },
        "multiple": {"type": "boolean", "description": "choice only: tick all that apply"},
        "min": {"type": ["integer", "null"], "description": "number only"},
        "max": {"type": ["integer", "null"], "description": "number only"},
    },
}

RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The Result JSON (DESIGN.md public contract).",
    "required": [
        "urgency",
        "concerns",
        "fired_rules",
        "unresolved",
        "advice",
        "next_steps",
        "safety_net",
        "citations",
        "knowledge_base",
    ],
    "properties": {
        "urgency": {"enum": [u.value for u in Urgency]},
        "concerns": {"type": "array", "items": {"type": "string"}},
        "fired_rules": {"type": "array", "items": {"type": "object"}},
        "unresolved": {"type": "array", "items": {"type": "object"}},
        "next_questions": {"type": "array", "items": {"type": "string"}},
        "complete": {"type": "boolean"},
        "next_step": STEP_SCHEMA,
        "advice": {"type": "array", "items": {"type": "object"}},
        "next_steps": {"type": "array", "items": {"type": "object"}},
        "safety_net": {"type": "array", "items": {"type": "object"}},
        "conflicts": {"type": "array", "items": {"type": "object"}},
        "narrative": {"type": "object"},
        "citations": {"type": "array", "items": {"type": "object"}},
        "knowledge_base": {
            "type": "object",
            "properties": {"version": {"type": "string"}, "sha256": {"type": "string"}},
        },
    },
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "The body is not a JSON object (field `(body)`).",
        401: "Sign in as a clinician first.",
        404: "No assessment with this id.",
        413: "The body is larger than the limit (field `(body)`).",
        415: "The body is not application/json.",
        422: "The intake is invalid; `field` names the problem (e.g. `answers.age`, "
        "`asked_steps[0]`).",
    }
    return {
        code: {"description": text[code], "content": {JSON_TYPE: {"schema": ERROR_SCHEMA}}}
        for code in codes
    }


def build_router(kb: KnowledgeBase, max_narrative_chars: int) -> APIRouter:
    """The ``/api/v1`` routes, with OpenAPI schemas generated from the knowledge base."""
    router = APIRouter(prefix="/api/v1", tags=["api v1"])
    body_doc = {
        "requestBody": {
            "required": True,
            "content": {JSON_TYPE: {"schema": intake_schema(kb, max_narrative_chars)}},
        }
    }

    @router.post(
        "/triage",
        summary="Triage one intake (nothing is stored)",
        response_class=Response,
        openapi_extra=body_doc,
        responses={
            200: {
                "description": "The Result JSON",
                "content": {JSON_TYPE: {"schema": RESULT_SCHEMA}},
            },
            **_errors(400, 413, 415, 422),
        },
    )
    async def triage_endpoint(request: Request) -> Response:
        """Assess an Intake JSON and return the Result JSON. Stateless."""
        shared = web(request)
        try:
            document = await _intake_document(request)
            triaged = await _triage_off_loop(shared, document)
        except RejectedRequestError as exc:
            return exc.response
        return json_response(triaged.assessment.to_json())

    @router.post(
        "/assessments",
        summary="Triage and store one intake",
        status_code=201,
        response_class=Response,
        openapi_extra=body_doc,
        responses={
            201: {
                "description": "Stored (committed before this response). `patient_link` opens "
                "this one result for the patient; it is shown only once.",
                "content": {
                    JSON_TYPE: {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "created_at": {"type": "string", "format": "date-time"},
                                "patient_link": {"type": "string"},
                                "result": RESULT_SCHEMA,
                            },
                        }
                    }
                },
            },
            **_errors(400, 413, 415, 422),
        },
    )
    async def create_assessment(request: Request) -> Response:
        """Assess an Intake JSON, store intake + result + knowledge-base version, commit."""
        shared = web(request)
        client = request.client.host if request.client else None
        try:
            document = await _intake_document(request)
        except RejectedRequestError as exc:
            return exc.response

        def store() -> Response:
            try:
                triaged = _triage(shared, document)
            except RejectedRequestError as exc:
                return exc.response
            result = triaged.assessment.to_json()
            with shared.store.session() as db:
                saved = assessments.save_assessment(
                    db,
                    intake=triaged.intake.to_json(),
                    result=result,
                    channel="api",
                    narrative_read=triaged.narrative_read,
                )
                audit.record(
                    db,
                    Actor("api", client),
                    "create",
                    "assessment",
                    saved.assessment.id,
                    {"urgency": saved.assessment.urgency, "channel": "api"},
                )
            row = saved.assessment
            return json_response(
                {
                    "id": row.id,
                    "created_at": row.created_at.isoformat(),
                    "patient_link": f"/r/{saved.patient_token}",
                    "result": result,
                },
                status=201,
                headers={"location": f"/api/v1/assessments/{row.id}"},
            )

        return await run_in_threadpool(store)

    @router.get(
        "/assessments/{assessment_id}",
        summary="Read a stored assessment (clinicians only)",
        response_class=Response,
        responses={
            200: {"description": "The stored intake, result and knowledge-base identity"},
            **_errors(401, 404),
        },
    )
    def read_assessment(request: Request, assessment_id: str) -> Response:
        """A stored assessment for a signed-in clinician; the read is audited."""
        shared = web(request)
        with shared.store.session() as db:
            clinician = signed_in(request, db)
            if clinician is None:
                return error(401, "(session)", "sign in as a clinician at /clinic/login")
            row = assessments.get_assessment(db, assessment_id)
            if row is None:
                return error(404, "assessment_id", "no assessment with this id")
            audit.record(
                db, actor(request, clinician), "view", "assessment", row.id, {"via": "api"}
            )
            document = {
                "id": row.id,
                "created_at": row.created_at.isoformat(),
                "channel": row.channel,
                "urgency": row.urgency,
                "episode_id": row.episode_id,
                "reviewed_at": row.reviewed_at.isoformat() if row.reviewed_at else None,
                "reviewed_by": row.reviewed_by,
                "knowledge_base": {"version": row.kb_version, "sha256": row.kb_sha256},
                "narrative_read": row.narrative_read,
                "intake": row.intake,
                "result": row.result,
                "notes": [
                    {"author": n.author, "created_at": n.created_at.isoformat(), "text": n.text}
                    for n in row.notes
                ],
            }
        return json_response(document)

    interview_body = intake_schema(kb, max_narrative_chars)
    interview_body["properties"]["asked_steps"] = {
        "type": "array",
        "items": {"enum": list(kb.steps_by_id)},
        "description": "Ids of the steps already shown (answered or skipped); none is shown "
        "again. A step whose codes all have an answer (null included) counts as shown.",
    }

    @router.post(
        "/interview",
        summary="The next step of the interview for an intake (nothing is stored)",
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {JSON_TYPE: {"schema": interview_body}},
            }
        },
        responses={
            200: {
                "description": "`next_step` (null when nothing left can change the result) "
                "and the Result JSON of the answers so far",
                "content": {
                    JSON_TYPE: {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "next_step": STEP_SCHEMA,
                                "result": RESULT_SCHEMA,
                            },
                        }
                    }
                },
            },
            **_errors(400, 413, 415, 422),
        },
    )
    async def interview_endpoint(request: Request) -> Response:
        """Intake JSON (+ ``asked_steps``) in, ``{next_step, result}`` out. Stateless: the
        same planner as ``backpath assess`` and the web pages, so a kiosk, chat or voice
        front end runs the same interview."""
        shared = web(request)
        try:
            document = await _intake_document(request)
            asked: tuple[str, ...] = ()
            if isinstance(document, dict):
                document = dict(document)
                try:
                    asked = parse_asked_steps(shared.kb, document.pop("asked_steps", None))
                except IntakeError as exc:
                    raise RejectedRequestError(error(422, exc.field, exc.message)) from None
            triaged = await _triage_off_loop(shared, document)
        except RejectedRequestError as exc:
            return exc.response
        assessment = triaged.assessment
        step = next_step(shared.kb, triaged.intake, asked, assessment)
        shown = None if step is None else step_json(shared.kb, step, assessment.language)
        result = assessment.to_json()
        result["next_step"] = shown
        return json_response({"next_step": shown, "result": result})

    return router
