"""The JSON API, ``/api/v1``: stateless triage and interview, stored assessments, clinician access.

Errors are ``{"error": {"field": ..., "message": ...}}``: ``400`` for a body that is not a
JSON object (field ``(body)``), ``415`` for another content type, ``413`` for a body over
the limit, ``422`` for an intake that the core rejects (the field is ``IntakeError.field``,
for example ``answers.age``) or JSON that ``backpath.jsonio`` refuses (a duplicate key, a
huge integer, deep nesting, a NUL byte or a lone surrogate; the field is its path).

Access (docs/web.md, "API access"): storing an assessment needs an API token with the
``assessments:write`` scope (``Authorization: Bearer <token>``), unless anonymous posting is
turned on (``Settings.api_anonymous_posts``, then limited per client address: ``429`` with
``Retry-After``); reading one needs a clinician session or ``assessments:read``. ``401``
names the ``Authorization`` problem (none, unknown, revoked), ``403`` the missing scope.
``Idempotency-Key`` on a create replays the first answer instead of storing twice.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.security import HTTPBearer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from backpath import jsonio
from backpath.errors import IntakeError, NarrativeError
from backpath.kb import KnowledgeBase
from backpath.store import api_tokens, assessments, audit, idempotency
from backpath.store._tokens import digest
from backpath.store.audit import Actor
from backpath.store.models import StoredAssessment
from backpath.triage.interview import next_page, parse_asked_steps, step_json
from backpath.vocabulary import FindingType, Urgency
from backpath.web.pages import Web, web
from backpath.web.routes_clinic import actor, signed_in
from backpath.web.security import absolute_url
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
        "ranges": {
            "type": "array",
            "description": "number only, when the step offers answer ranges ('2 to 4 weeks'): "
            "send the chosen range's value",
            "items": {"type": "object"},
        },
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
        401: "No usable credentials (field `Authorization`): no API token, an unknown or "
        "revoked one, or no clinician session where one is accepted; `message` says which.",
        403: "The API token lacks the scope this operation needs (field `Authorization`).",
        404: "No assessment with this id.",
        409: "Requests with this `Idempotency-Key` collided; send the request again.",
        429: "Too many anonymous posts from this client address; wait `Retry-After` seconds.",
        413: "The body is larger than the limit (field `(body)`).",
        415: "The body is not application/json.",
        422: "The intake is invalid; `field` names the problem (e.g. `answers.age`, "
        "`asked_steps[0]`, or `Idempotency-Key` reused with another body).",
    }
    return {
        code: {"description": text[code], "content": {JSON_TYPE: {"schema": ERROR_SCHEMA}}}
        for code in codes
    }


# ---------------------------------------------------------------- API access

SCOPE_WRITE = api_tokens.SCOPE_ASSESSMENTS_WRITE
SCOPE_READ = api_tokens.SCOPE_ASSESSMENTS_READ
# Stored assessment ids are uuid4 hex; anything else (a NUL byte included) is simply unknown.
_ASSESSMENT_ID = re.compile(r"^[0-9a-f]{32}$")

# Declares the bearer scheme in the OpenAPI document; the header itself is read by
# ``_presented_token`` so that every problem gets an error naming it.
_BEARER_DOC = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description="An API token from `backpath tokens create NAME --scope ...`, sent as "
    "`Authorization: Bearer <token>`. Scopes: "
    + "; ".join(f"`{name}`: {meaning}" for name, meaning in api_tokens.SCOPES.items()),
)

IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID) chosen by the caller. Sending the same request "
    "with the same key again returns the first response (same id, `Idempotent-Replayed: "
    "true`) and stores nothing; the same key with another body is 422. Keys are kept for "
    "24 hours by default (`BACKPATH_IDEMPOTENCY_KEY_HOURS`).",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
}


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API token's holder, or an anonymous client when that is allowed.

    ``key_owner`` names whose ``Idempotency-Key`` values these are: a token's, or one client
    address's, so that one caller can never replay another caller's answer.
    """

    actor: Actor
    key_owner: str
    token_name: str | None = None


class ClientRateLimit:
    """At most ``limit`` requests per ``window`` seconds from each client address.

    A sliding window kept in this process's memory (``backpath serve`` runs one process);
    behind a reverse proxy the address is the real client's only with ``--proxy-headers``.
    """

    MAX_CLIENTS = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def retry_after(
        self, client: str, limit: int, window: float, now: float | None = None
    ) -> int | None:
        """Count one request from ``client``; the whole seconds to wait if it is over the limit
        (the request is then not counted), else ``None``."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            if len(self._seen) >= self.MAX_CLIENTS:
                self._forget_idle(moment, window)
            recent = self._seen.setdefault(client, deque())
            while recent and recent[0] <= moment - window:
                recent.popleft()
            if len(recent) >= limit:
                return max(1, math.ceil(recent[0] + window - moment))
            recent.append(moment)
            return None

    def _forget_idle(self, moment: float, window: float) -> None:
        for client in [
            c for c, seen in self._seen.items() if not seen or seen[-1] <= moment - window
        ]:
            del self._seen[client]


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _challenge(status: int, message: str, challenge: str) -> RejectedRequestError:
    """A 401/403 naming the ``Authorization`` header, with its RFC 6750 challenge."""
    response = error(status, "Authorization", message)
    response.headers["www-authenticate"] = f'Bearer realm="backpath", {challenge}'
    return RejectedRequestError(response)


def _presented_token(request: Request) -> str | None:
    """The bearer token sent, ``None`` when no ``Authorization`` header was sent."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _challenge(
            401,
            "send 'Authorization: Bearer <token>' with a token from `backpath tokens create`",
            'error="invalid_request"',
        )
    return value.strip()


def _token_caller(shared: Web, request: Request, presented: str, scope: str) -> Caller:
    """The caller that ``presented`` authenticates for ``scope``; a refusal (401 unknown or
    revoked, 403 without the scope) is audited and raised as ``RejectedRequestError``."""
    client = _client_address(request)
    with shared.store.session() as db:
        try:
            token = api_tokens.authenticate(db, presented)
        except api_tokens.TokenRejectedError as exc:
            audit.record(
                db,
                Actor("api", client),
                "token_rejected",
                "api_token",
                exc.token.name if exc.token else None,
                {"reason": exc.reason, "path": request.url.path},
            )
            refusal = _challenge(401, exc.reason, 'error="invalid_token"')
        else:
            if api_tokens.has_scope(token, scope):
                return Caller(Actor(token.actor_name, client), f"token:{token.id}", token.name)
            audit.record(
                db,
                Actor(token.actor_name, client),
                "token_refused",
                "api_token",
                token.name,
                {"needs": scope, "path": request.url.path},
            )
            refusal = _challenge(
                403,
                f"the API token {token.name!r} does not have the {scope} scope",
                f'error="insufficient_scope", scope="{scope}"',
            )
    raise refusal


def _idempotency_key(request: Request) -> str | None:
    raw = request.headers.get(idempotency.HEADER)
    if raw is None:
        return None
    try:
        return idempotency.check_key(raw)
    except idempotency.IdempotencyError as exc:
        raise RejectedRequestError(error(422, exc.field, exc.message)) from None


def _patient_link(shared: Web, token: str) -> str:
    """The patient's private result link (absolute under the public URL when one is set)."""
    return absolute_url(shared.settings.public_url, f"/r/{token}")


def _created(
    shared: Web, stored: dict[str, Any], patient_link: str | None, *, replayed: bool = False
) -> Response:
    """The 201 answer: ``stored`` (id, created_at, result) with the patient's link added."""
    document = {
        "id": stored["id"],
        "created_at": stored["created_at"],
        "patient_link": patient_link,
        "result": stored["result"],
    }
    headers = {"location": f"/api/v1/assessments/{stored['id']}"}
    if replayed:
        headers["idempotent-replayed"] = "true"
    return json_response(document, status=201, headers=headers)


def _save(
    db: Session, caller: Caller, triaged: Triaged, result: dict[str, Any], keyed: str | None
) -> assessments.Saved:
    """Store the assessment and its audit row; ``keyed`` is the patient token derived from
    an idempotency key, used instead of a random one so that a replay can rebuild the link."""
    saved = assessments.save_assessment(
        db,
        intake=triaged.intake.to_json(),
        result=result,
        channel="api",
        narrative_read=triaged.narrative_read,
    )
    if keyed is not None:
        saved.assessment.patient_token_sha256 = digest(keyed)
        db.flush()
        saved = assessments.Saved(saved.assessment, keyed)
    row = saved.assessment
    detail: dict[str, Any] = {"urgency": row.urgency, "channel": "api"}
    if keyed is not None:
        detail["idempotency_key"] = True
    audit.record(db, caller.actor, "create", "assessment", row.id, detail)
    return saved


def _replay(
    db: Session, shared: Web, caller: Caller, earlier: idempotency.IdempotencyKey, fingerprint: str
) -> Response:
    """The first answer given for a key, or 422 when the key came with another body."""
    if earlier.request_sha256 != fingerprint:
        when = earlier.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        return error(
            422,
            idempotency.HEADER,
            f"this key was used at {when} with a different body; use a new key for a new "
            "intake (the same key only repeats the same request)",
        )
    if earlier.response_status is None or earlier.target_id is None:
        return error(409, idempotency.HEADER, "the first request with this key is not finished")
    token = idempotency.patient_token(shared.settings.secret_key, earlier.link_nonce)
    row = db.get(StoredAssessment, earlier.target_id)
    # The link is given again only while it still opens the result (finishing the open
    # questions, or a new secret key, replaces it).
    link = (
        _patient_link(shared, token)
        if row is not None and row.patient_token_sha256 == digest(token)
        else None
    )
    audit.record(
        db, caller.actor, "replay", "assessment", earlier.target_id, {"idempotency_key": True}
    )
    return _created(shared, earlier.response_body, link, replayed=True)


def store_assessment(
    shared: Web, caller: Caller, key: str | None, document: Any, attempts: int = 3
) -> Response:
    """Triage ``document`` and store it for ``caller`` (blocking: run it in a thread).

    With an idempotency ``key`` the key row is claimed in the same transaction, before the
    assessment; when a simultaneous request claimed it first, its answer is replayed.
    """
    try:
        triaged = _triage(shared, document)
    except RejectedRequestError as exc:
        return exc.response
    result = triaged.assessment.to_json()
    if key is None:
        with shared.store.session() as db:
            saved = _save(db, caller, triaged, result, None)
            stored = _stored_body(saved.assessment, result)
        return _created(shared, stored, _patient_link(shared, saved.patient_token))
    fingerprint = idempotency.request_digest(document)
    settings = shared.settings
    for _ in range(attempts):
        try:
            with shared.store.session() as db:
                idempotency.purge_expired(db)
                earlier = idempotency.find(db, caller.key_owner, key)
                if earlier is not None:
                    return _replay(db, shared, caller, earlier, fingerprint)
                claimed = idempotency.claim(
                    db, caller.key_owner, key, fingerprint, settings.idempotency_key_lifetime
                )
                token = idempotency.patient_token(settings.secret_key, claimed.link_nonce)
                saved = _save(db, caller, triaged, result, token)
                stored = _stored_body(saved.assessment, result)
                idempotency.complete(db, claimed, 201, stored, saved.assessment.id)
            return _created(shared, stored, _patient_link(shared, token))
        except IntegrityError:
            continue  # the same key was claimed by a request that committed first: replay it
    return error(409, idempotency.HEADER, "requests with this key keep colliding; send it again")


def _stored_body(row: StoredAssessment, result: dict[str, Any]) -> dict[str, Any]:
    """What an idempotency key keeps of the answer: everything but the patient's link."""
    return {"id": row.id, "created_at": row.created_at.isoformat(), "result": result}


def build_router(kb: KnowledgeBase, max_narrative_chars: int) -> APIRouter:
    """The ``/api/v1`` routes, with OpenAPI schemas generated from the knowledge base."""
    router = APIRouter(prefix="/api/v1", tags=["api v1"])
    # Anonymous posts (when allowed) per client address, counted in this router's process.
    anonymous_limit = ClientRateLimit()
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
        # Written straight to bytes: the same bytes as encoding ``to_json()``, without
        # copying the wording every result shares (the document never leaves this call).
        return Response(triaged.assessment.encode(encode_json), media_type=JSON_TYPE)

    @router.post(
        "/assessments",
        summary="Triage and store one intake (API token with assessments:write)",
        status_code=201,
        response_class=Response,
        dependencies=[Depends(_BEARER_DOC)],
        openapi_extra={**body_doc, "parameters": [IDEMPOTENCY_PARAMETER]},
        responses={
            201: {
                "description": "Stored (committed before this response). `patient_link` opens "
                "this one result for the patient; it is given only to this caller (again on a "
                "replay with the same `Idempotency-Key`).",
                "content": {
                    JSON_TYPE: {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "created_at": {"type": "string", "format": "date-time"},
                                "patient_link": {"type": ["string", "null"]},
                                "result": RESULT_SCHEMA,
                            },
                        }
                    }
                },
            },
            **_errors(400, 401, 403, 409, 413, 415, 422, 429),
        },
    )
    async def create_assessment(request: Request) -> Response:
        """Assess an Intake JSON, store intake + result + knowledge-base version, commit.

        Needs an API token with ``assessments:write``, unless anonymous posting is turned on
        (then limited per client address). ``Idempotency-Key`` makes a retry safe."""
        shared = web(request)
        settings = shared.settings
        try:
            presented = _presented_token(request)
            if presented is not None:
                caller = await run_in_threadpool(
                    _token_caller, shared, request, presented, SCOPE_WRITE
                )
            elif not settings.api_anonymous_posts:
                raise _challenge(
                    401,
                    "send 'Authorization: Bearer <token>' with a token that has the "
                    f"{SCOPE_WRITE} scope (`backpath tokens create NAME --scope {SCOPE_WRITE}`); "
                    "anonymous posting is turned off",
                    f'scope="{SCOPE_WRITE}"',
                )
            else:
                client = _client_address(request)
                wait = anonymous_limit.retry_after(
                    client,
                    settings.api_anonymous_posts_per_window,
                    settings.api_anonymous_window.total_seconds(),
                )
                if wait is not None:
                    response = error(
                        429,
                        "(client)",
                        f"more than {settings.api_anonymous_posts_per_window} anonymous posts "
                        f"from {client} in {int(settings.api_anonymous_window.total_seconds())} "
                        f"s; try again in {wait} s, or use an API token",
                    )
                    response.headers["retry-after"] = str(wait)
                    return response
                caller = Caller(Actor("api", client), f"anonymous:{client}")
            key = _idempotency_key(request)
            document = await _intake_document(request)
        except RejectedRequestError as exc:
            return exc.response
        return await run_in_threadpool(store_assessment, shared, caller, key, document)

    @router.get(
        "/assessments/{assessment_id}",
        summary="Read a stored assessment (clinician session, or API token with assessments:read)",
        response_class=Response,
        dependencies=[Depends(_BEARER_DOC)],
        responses={
            200: {"description": "The stored intake, result and knowledge-base identity"},
            **_errors(401, 403, 404),
        },
    )
    def read_assessment(request: Request, assessment_id: str) -> Response:
        """A stored assessment for a signed-in clinician or a token with ``assessments:read``;
        the read is audited."""
        shared = web(request)
        try:
            presented = _presented_token(request)
            reader = (
                None
                if presented is None
                else _token_caller(shared, request, presented, SCOPE_READ).actor
            )
        except RejectedRequestError as exc:
            return exc.response
        with shared.store.session() as db:
            if reader is None:
                clinician = signed_in(request, db)
                if clinician is None:
                    return _challenge(
                        401,
                        "sign in as a clinician at /clinic/login, or send 'Authorization: "
                        f"Bearer <token>' with a token that has the {SCOPE_READ} scope",
                        f'scope="{SCOPE_READ}"',
                    ).response
                reader = actor(request, clinician)
            row = (
                assessments.get_assessment(db, assessment_id)
                if _ASSESSMENT_ID.match(assessment_id)
                else None
            )
            if row is None:
                return error(404, "assessment_id", "no assessment with this id")
            audit.record(db, reader, "view", "assessment", row.id, {"via": "api"})
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
                "description": "`next_step` (null when nothing left can change the result), "
                "`page` (the steps a front end that shows pages asks together, starting "
                "with `next_step`; empty when `next_step` is null) "
                "and the Result JSON of the answers so far",
                "content": {
                    JSON_TYPE: {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "next_step": STEP_SCHEMA,
                                "page": {
                                    "type": "array",
                                    "items": {**STEP_SCHEMA, "type": "object"},
                                },
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
        """Intake JSON (+ ``asked_steps``) in, ``{next_step, page, result}`` out. Stateless:
        the same planner as ``backpath assess`` and the web pages, so a kiosk, chat or voice
        front end runs the same interview. ``next_step`` is the one step that matters most
        now (a front end asking one step at a time sends the answers back after each);
        ``page`` is the page of steps the web and the terminal show together."""
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
        page = next_page(shared.kb, triaged.intake, asked, assessment)
        steps = [step_json(shared.kb, step, assessment.language) for step in page]
        shown = steps[0] if steps else None
        result = assessment.to_json()
        result["next_step"] = shown
        return json_response({"next_step": shown, "page": steps, "result": result})

    return router
