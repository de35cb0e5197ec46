"""``create_app``: the FastAPI application that ``backpath serve`` runs."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from backpath.interop import build_router as build_interop_router
from backpath.interop.cors import InteropCORSMiddleware
from backpath.kb import load_knowledge
from backpath.store import Store, accounts, audit, open_store
from backpath.store._tokens import digest
from backpath.store.audit import Actor
from backpath.web import routes_api, routes_clinic, routes_patient, routes_smart
from backpath.web.i18n import Words, parse_accept_language
from backpath.web.intake import Questionnaire
from backpath.web.pages import STATIC_DIR, Web, make_environment, render, words_for
from backpath.web.security import (
    FailedRead,
    SecurityMiddleware,
    merge_headers,
    protective_headers,
)
from backpath.web.settings import Settings
from backpath.web.triage import narrative_reader_available

# Paths answered in JSON, errors included: the JSON API, CDS Hooks and FHIR.
MACHINE_PATHS = ("/api/", "/cds-services", "/fhir/")

API_DESCRIPTION = """
Triage for back pain that spreads into the leg. `POST /api/v1/triage` is stateless and
returns the Result JSON; `POST /api/v1/assessments` also stores the intake, the result and
the knowledge-base version (committed before the response). `GET /api/v1/assessments/{id}`
needs a signed-in clinician (session cookie from `/clinic/login`). Errors name the field:
`{"error": {"field": "answers.age", "message": "..."}}`.
"""


def _warm_narrative_reader() -> None:
    """Build the narrative readers (English and Spanish) once, before the first patient
    needs them; built under a lock, so parallel first requests wait for the same build."""
    from backpath.nlp import warm_up

    warm_up()


def _read_target(path: str) -> tuple[str, str | None, str]:
    """What a failed read was after: (target type, target id, path as recorded).

    A result link's token is never written down: the audit row keeps its SHA-256 (the form
    the database stores), and the path shows ``{token}`` in its place.
    """
    parts = path.split("/")
    if path.startswith("/r/") and len(parts) > 2 and parts[2]:
        shown = "/".join(["", "r", "{token}", *parts[3:]])
        return "result", digest(parts[2]), shown[:200]
    if path.startswith(("/clinic/assessments/", "/api/v1/assessments/")):
        index = 3 if path.startswith("/clinic/") else 4
        if len(parts) > index and parts[index]:
            return "assessment", parts[index][:64], path[:200]
    return "worklist" if path.startswith("/clinic") else "assessment", None, path[:200]


def failed_read_auditor(store: Store) -> Callable[[FailedRead], None]:
    """Writes one ``read_failed`` audit row per failed read (runs in a worker thread)."""

    def audit_failed_read(failure: FailedRead) -> None:
        with store.session() as db:
            token = failure.session.get(routes_clinic.SESSION_KEY)
            clinician = accounts.session_clinician(db, token) if isinstance(token, str) else None
            who = f"clinician:{clinician.username}" if clinician is not None else "anonymous"
            target_type, target_id, shown = _read_target(failure.path)
            audit.record(
                db,
                Actor(who, failure.client),
                "read_failed",
                target_type,
                target_id,
                {"status": failure.status, "method": failure.method, "path": shown},
            )

    return audit_failed_read


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start warming the narrative reader in the background; the app answers meanwhile."""
    if narrative_reader_available():
        threading.Thread(target=_warm_narrative_reader, name="warm-nlp", daemon=True).start()
    yield


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """Build the app: patient pages, clinician pages, ``/api/v1``, static files.

    ``store`` defaults to opening (and migrating) ``settings.database_url``.
    """
    kb = load_knowledge()
    store = store or open_store(settings.database_url)
    app = FastAPI(
        title="backpath",
        version=kb.version,
        description=API_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=_lifespan,
    )
    templates = make_environment()
    app.state.web = Web(
        settings=settings,
        store=store,
        kb=kb,
        questionnaire=Questionnaire(kb),
        templates=templates,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=settings.session_cookie,
        max_age=int(settings.draft_lifetime.total_seconds()),
        same_site="lax",
        https_only=settings.secure_cookies,
    )

    def too_large_page(scope: Scope) -> bytes:
        """The 413 page, in the language of the address or the browser (no session yet)."""
        request = Request(scope)
        asked = request.query_params.get("lang")
        preferred = [asked] if asked else []
        preferred += parse_accept_language(request.headers.get("accept-language", ""))
        language = next((code for code in preferred if code in kb.languages), "en")
        html = templates.get_template("too_large.html").render(t=Words(kb, language), lang=language)
        return html.encode("utf-8")

    app.add_middleware(
        SecurityMiddleware,
        max_body_bytes=settings.max_body_bytes,
        too_large_page=too_large_page,
        public_url=settings.public_url,
        hsts_max_age=settings.hsts_max_age,
        audit_failed_read=failed_read_auditor(store),
    )
    # CORS for /cds-services and /fhir only (browser-based CDS clients); outermost, so a
    # preflight is answered before anything else runs.
    app.add_middleware(InteropCORSMiddleware, origins=settings.cds_cors_origins)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(routes_api.build_router(kb, settings.max_narrative_chars))
    app.include_router(routes_clinic.router)
    app.include_router(routes_patient.router)
    app.include_router(routes_smart.router)  # SMART App Launch and write-back (#13)
    app.include_router(build_interop_router(kb, settings.max_narrative_chars, settings))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        """Liveness: the app runs and knows its knowledge base."""
        return {"status": "ok", "knowledge_base": {"version": kb.version, "sha256": kb.sha256}}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/fhir/"):  # FHIR errors are OperationOutcomes
            from backpath.interop.fhir import fhir_error  # (imported late: fhir imports web)

            return fhir_error(exc.status_code, "(request)", str(exc.detail))
        if request.url.path.startswith(MACHINE_PATHS):
            return JSONResponse(
                {"error": {"field": "(request)", "message": str(exc.detail)}},
                status_code=exc.status_code,
            )
        if exc.status_code == 404:
            return render(request, "not_found.html", status_code=404)
        return Response(str(exc.detail), status_code=exc.status_code)

    def protected(request: Request, response: Response) -> Response:
        """``response`` with the protective headers: a 500 is answered outside the
        security middleware (Starlette's outermost error handler sends it)."""
        extra = protective_headers(request.scope, settings.public_url, settings.hsts_max_age)
        raw = merge_headers(list(response.raw_headers), extra)
        response.raw_headers[:] = raw
        return response

    def _server_error_page(request: Request) -> Response:
        if request.url.path.startswith(MACHINE_PATHS):
            return JSONResponse(
                {"error": {"field": "(server)", "message": "internal error"}}, status_code=500
            )
        try:
            # A crash must never leave a patient with no advice: the error page carries
            # the knowledge base's static safety net ("get help at once if...").
            language = words_for(request).language
            safety_net = [
                (
                    kb.text(f"advice.{block.id}.title", language, block.title),
                    kb.text(f"advice.{block.id}.body", language, block.body),
                )
                for block in kb.advice.values()
                if block.kind == "safety_net"
            ]
            return render(request, "server_error.html", status_code=500, safety_net=safety_net)
        except Exception:  # the error page itself failed: answer plainly, never hide the 500
            return Response("Internal Server Error", status_code=500)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        return protected(request, _server_error_page(request))

    return app
