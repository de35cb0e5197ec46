"""SMART App Launch pages: launch, callback, and the write-back confirmation (issue 13).

``/smart/launch`` (EHR launch) and ``/smart/start`` (standalone launch) send the browser to
the EHR's authorize endpoint; ``/smart/callback`` checks ``state``, exchanges the code (with
the PKCE verifier), reads the Patient and opens the normal step interview prefilled with
the age and sex from the chart. The access token and the patient id stay on the server
(``backpath.interop.smart.SmartStore``); the signed session cookie carries only a random id.

When an intake finishes in a SMART session, ``finished_url`` (called by the patient pages)
sends the browser to ``/smart/written``, which writes the assessment back to the EHR once
(``backpath.interop.writeback``) and shows what was written - or the error, with the link
to the result, which is stored in backpath whatever the EHR answered.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

import httpx2
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backpath.interop import smart
from backpath.interop.writeback import WriteBackOutcome, write_back_assessment
from backpath.store import assessments, audit, drafts
from backpath.store.audit import Actor
from backpath.web.i18n import choose_language
from backpath.web.intake import DraftState
from backpath.web.pages import render, web
from backpath.web.security import absolute_url

router = APIRouter(include_in_schema=False)

SESSION_KEY = "smart"
STATE_KEY = "smart_state"
WRITTEN_URL = "/smart/written"
_STORE_LOCK = threading.Lock()
_LOG = logging.getLogger(__name__)


def _store(request: Request) -> smart.SmartStore:
    """This app's SMART store (made on first use)."""
    state = request.app.state
    with _STORE_LOCK:
        found = getattr(state, "smart_store", None)
        if found is None:
            lifetime = web(request).settings.draft_lifetime.total_seconds()
            found = state.smart_store = smart.SmartStore(lifetime)
    assert isinstance(found, smart.SmartStore)
    return found


def _refused(request: Request, title: str, message: str, status: int) -> Response:
    """The page that says why a launch cannot go on (nothing else happens)."""
    return render(request, "smart/refused.html", status_code=status, title=title, message=message)


def _redirect_uri(request: Request) -> str | None:
    """The registered redirect URL: the setting, else ``<public URL>/smart/callback``
    (never built from the request's Host header)."""
    settings = web(request).settings
    if settings.smart_redirect_url:
        return settings.smart_redirect_url
    if settings.public_url:
        return absolute_url(settings.public_url, "/smart/callback")
    return None


def _client() -> httpx2.Client:
    return httpx2.Client(timeout=smart.TIMEOUT_SECONDS, follow_redirects=False)


async def _begin(request: Request, iss: str | None, launch: str | None, ehr: bool) -> Response:
    settings = web(request).settings
    redirect_uri = _redirect_uri(request)
    if not settings.smart_client_id or not settings.smart_issuers or not redirect_uri:
        return _refused(
            request,
            "SMART launch is not set up",
            "This backpath has no SMART client id, no allowed FHIR servers or no redirect "
            "URL (BACKPATH_SMART_CLIENT_ID, BACKPATH_SMART_ISSUERS, BACKPATH_SMART_REDIRECT_URL"
            " or BACKPATH_PUBLIC_URL). See docs/interop.md.",
            503,
        )
    if not iss:
        return _refused(request, "Launch refused", "The launch has no iss (FHIR server).", 400)
    if not smart.issuer_allowed(iss, settings.smart_issuers):
        return _refused(
            request,
            "Launch refused: unknown FHIR server",
            f"The FHIR server {iss} is not one this backpath is registered with. Nothing was "
            "sent to it. An administrator can add it to BACKPATH_SMART_ISSUERS.",
            403,
        )
    if ehr and not launch:
        return _refused(request, "Launch refused", "An EHR launch needs the launch parameter.", 400)

    def discover() -> smart.SmartConfiguration:
        with _client() as client:
            return smart.discover(iss, client)

    try:
        config = await run_in_threadpool(discover)
    except smart.SmartError as exc:
        return _refused(request, "The EHR could not be reached", exc.message, exc.status)
    verifier, challenge = smart.pkce_pair()
    state = secrets.token_urlsafe(32)
    scopes = settings.smart_scopes or " ".join(
        smart.EHR_LAUNCH_SCOPES if ehr else smart.STANDALONE_SCOPES
    )
    _store(request).add_pending(state, smart.PendingLaunch(config, verifier, redirect_uri, scopes))
    request.session[STATE_KEY] = state
    target = smart.authorize_url(
        config, settings.smart_client_id, redirect_uri, scopes, state, challenge, launch
    )
    return RedirectResponse(target, status_code=302)


@router.get("/smart/launch")
async def ehr_launch(request: Request) -> Response:
    """EHR launch: ``?iss=<FHIR base>&launch=<opaque launch id>``."""
    query = request.query_params
    return await _begin(request, query.get("iss"), query.get("launch"), ehr=True)


@router.get("/smart/start")
async def standalone_launch(request: Request) -> Response:
    """Standalone launch: ``?iss=<FHIR base>``; the EHR asks who the patient is."""
    return await _begin(request, request.query_params.get("iss"), None, ehr=False)


@router.get("/smart/callback")
async def callback(request: Request) -> Response:
    """The authorize endpoint's answer: check ``state``, exchange the code, read the
    Patient, open the intake with age and sex from the chart."""
    query = request.query_params
    state = query.get("state")
    expected = request.session.pop(STATE_KEY, None)
    pending = _store(request).take_pending(state) if state else None
    if not state or state != expected or pending is None:
        return _refused(
            request,
            "Launch refused: state does not match",
            "This answer from the EHR does not belong to a launch started in this browser "
            "(missing, wrong or already used state). Nothing was exchanged. Launch again "
            "from the EHR.",
            400,
        )
    if query.get("error"):
        return _refused(
            request,
            "The EHR did not authorise backpath",
            f"{query.get('error')}: {query.get('error_description') or 'no description'}",
            403,
        )
    code = query.get("code")
    if not code:
        return _refused(request, "Launch refused", "The EHR's answer has no code.", 400)
    shared = web(request)
    client_id = str(shared.settings.smart_client_id)

    def connect() -> tuple[smart.TokenResponse, dict[str, Any]]:
        with _client() as client:
            token = smart.exchange_code(
                pending.config, client_id, pending.redirect_uri, code, pending.code_verifier, client
            )
            if token.patient is None:
                raise smart.SmartError(
                    "the EHR gave no patient in context (the token response has no "
                    "'patient'); backpath needs one to open the intake",
                    502,
                )
            patient = smart.read_patient(
                pending.config.issuer, token.access_token, token.patient, client
            )
        return token, patient

    try:
        token, patient = await run_in_threadpool(connect)
    except smart.SmartError as exc:
        return _refused(request, "The launch could not be completed", exc.message, exc.status)
    assert token.patient is not None  # checked in connect()
    session = smart.SmartSession(
        iss=pending.config.issuer,
        access_token=token.access_token,
        patient_id=token.patient,
        scope=token.scope,
        expires_at=None
        if token.expires_in is None
        else datetime.now(UTC).timestamp() + token.expires_in,
    )
    request.session[SESSION_KEY] = _store(request).add_session(session)
    return _open_intake(request, patient)


def _open_intake(request: Request, patient: dict[str, Any]) -> Response:
    """A new draft of the step interview with age and sex from the chart."""
    from backpath.web.routes_patient import DRAFT_KEY, STEP_URL

    shared = web(request)
    language = choose_language(request, shared.kb)
    answers = smart.prefill_answers(patient, datetime.now(UTC).date())
    state = DraftState(language=language, answers=answers)
    with shared.store.session() as db:
        drafts.purge_drafts(db, shared.settings.draft_lifetime)
        token = drafts.new_draft(db, state.to_json())
    request.session[DRAFT_KEY] = token
    return RedirectResponse(STEP_URL, status_code=303)


def smart_session(request: Request) -> smart.SmartSession | None:
    """The SMART session of this browser, if it launched from an EHR."""
    return _store(request).session(request.session.get(SESSION_KEY))


def finished_url(request: Request, assessment_id: str, patient_token: str) -> str | None:
    """Where to go once an intake is finished: the write-back page in a SMART session
    (the assessment is noted for it), else None (the result page, as always)."""
    session = smart_session(request)
    if session is None:
        return None
    with session.lock:
        session.finished[assessment_id] = patient_token
        session.outcomes.pop(assessment_id, None)  # updated: written again
    request.session["smart_assessment"] = assessment_id
    return WRITTEN_URL


@router.get(WRITTEN_URL)
async def written(request: Request) -> Response:
    """Write the finished assessment back to the EHR (once) and show what was written."""
    session = smart_session(request)
    assessment_id = request.session.get("smart_assessment")
    if session is None or not isinstance(assessment_id, str):
        return _refused(
            request,
            "No EHR session",
            "This browser has no SMART session with a finished intake (it may have expired). "
            "Launch backpath again from the EHR.",
            404,
        )
    patient_token = session.finished.get(assessment_id)
    if patient_token is None:
        return _refused(request, "No EHR session", "No finished intake to write.", 404)
    shared = web(request)

    def work() -> WriteBackOutcome:
        with session.lock:  # one write per finished assessment, however often it is loaded
            kept = session.outcomes.get(assessment_id)
            if kept is not None:
                return WriteBackOutcome.from_json(kept)
            with shared.store.session() as db:
                row = assessments.get_assessment(db, assessment_id)
                intake = None if row is None else dict(row.intake)
            if intake is None:
                outcome = WriteBackOutcome(error="the stored assessment was not found")
            elif session.expired():
                outcome = WriteBackOutcome(
                    error="the EHR's access token has expired; launch again from the EHR "
                    "to write this assessment"
                )
            else:
                try:
                    outcome = write_back_assessment(
                        shared.kb,
                        session.iss,
                        session.access_token,
                        session.patient_id,
                        intake,
                        shared.settings.max_narrative_chars,
                    )
                except Exception:  # never a bare 500: the page says nothing was written
                    _LOG.exception("SMART write-back failed for assessment %s", assessment_id)
                    outcome = WriteBackOutcome(
                        error="backpath could not prepare the write-back (internal error); "
                        "nothing was written"
                    )
            session.outcomes[assessment_id] = outcome.to_json()
            with shared.store.session() as db:
                detail = {
                    "ehr": session.iss,
                    "patient": session.patient_id,
                    "written": [w.reference for w in outcome.written],
                    "error": outcome.error,
                }
                client = request.client.host if request.client else None
                audit.record(
                    db, Actor("smart", client), "export", "assessment", assessment_id, detail
                )
            return outcome

    outcome = await run_in_threadpool(work)
    return render(
        request,
        "smart/written.html",
        status_code=200 if outcome.ok else 502,
        outcome=outcome,
        ehr=session.iss,
        patient_id=session.patient_id,
        result_url=f"/r/{patient_token}",
    )
