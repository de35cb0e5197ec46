"""SMART App Launch (v2) client: EHR launch and standalone launch, with PKCE and ``state``.

How a launch goes (https://hl7.org/fhir/smart-app-launch/app-launch.html):

1. The EHR opens ``/smart/launch?iss=<FHIR base>&launch=<opaque>`` (EHR launch), or a person
   opens ``/smart/start?iss=<FHIR base>`` (standalone launch). ``iss`` must be one of the
   configured FHIR servers (``BACKPATH_SMART_ISSUERS``): the address comes from the browser,
   and an app that follows any ``iss`` can be pointed at a server that is not the EHR.
2. ``discover`` reads ``<iss>/.well-known/smart-configuration`` (the authorize and token
   endpoints). A server that offers PKCE without S256 is refused.
3. The browser is sent to the authorize endpoint with ``response_type=code``, the client id,
   the registered redirect URL, the scopes, ``state`` (random, bound to this browser's
   session), ``aud`` = ``iss``, ``launch`` (EHR launch) and the S256 ``code_challenge``.
4. ``/smart/callback`` checks ``state``, then ``exchange_code`` posts the code with the
   ``code_verifier`` to the token endpoint. The access token and the patient id stay on the
   server (``SmartStore``); the browser holds only a random session id in the signed cookie.
5. ``read_patient`` reads the Patient; its age (``birthDate``) and sex (``gender``, a proxy
   the person may change) are read by ``backpath.interop.ehr`` and prefill the intake.

Nothing here is clinical: it is the protocol. ``SmartStore`` keeps launches in memory (one
process); a restart ends them and the EHR launches again.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import httpx2

from backpath.interop.ehr import read_chart
from backpath.interop.fhir_client import FHIR_JSON, outcome_text
from backpath.interop.terminology import load_terminology

TIMEOUT_SECONDS = 10.0
WELL_KNOWN = ".well-known/smart-configuration"
# What backpath reads and writes (SMART v2 scope syntax: r read, s search, c create).
RESOURCE_SCOPES = (
    "patient/Patient.rs",
    "patient/Observation.cs",
    "patient/QuestionnaireResponse.cs",
    "patient/RiskAssessment.c",
    "patient/DocumentReference.c",
    "patient/ServiceRequest.c",
    "patient/Condition.rs",
    "patient/MedicationStatement.rs",
)
EHR_LAUNCH_SCOPES = ("launch", "openid", "fhirUser", *RESOURCE_SCOPES)
STANDALONE_SCOPES = ("launch/patient", "openid", "fhirUser", *RESOURCE_SCOPES)
# A launch that is not finished within this time is forgotten (its state refused).
PENDING_SECONDS = 600


class SmartError(Exception):
    """A launch that cannot go on: ``message`` says why in words an integrator can act on;
    ``status`` is the HTTP status of the page that shows it."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SmartConfiguration:
    """The parts of ``.well-known/smart-configuration`` the launch needs; ``issuer`` is the
    FHIR base (``iss``) as the EHR gave it."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    capabilities: tuple[str, ...] = ()
    code_challenge_methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class TokenResponse:
    """The token endpoint's answer: the access token, the scopes granted, the patient in
    context and how long the token lasts (seconds; None when the server did not say)."""

    access_token: str
    scope: str
    patient: str | None
    expires_in: int | None


def normalise_issuer(iss: str) -> str:
    """A FHIR base URL without its trailing ``/`` (how issuers are compared)."""
    return iss.strip().rstrip("/")


def issuer_allowed(iss: str, allowed: Sequence[str]) -> bool:
    """True when ``iss`` is exactly one of the configured FHIR base URLs."""
    wanted = normalise_issuer(iss)
    return bool(wanted) and any(wanted == normalise_issuer(one) for one in allowed)


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE ``code_verifier`` (86 characters from the unreserved set) and its S256
    ``code_challenge`` (RFC 7636 section 4.2)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def _get_json(client: httpx2.Client, url: str, what: str, token: str | None = None) -> Any:
    headers = {"Accept": "application/json" if token is None else FHIR_JSON}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = client.get(url, headers=headers)
    except httpx2.HTTPError as exc:
        raise SmartError(f"{what}: {url} could not be reached ({exc})", 502) from None
    if response.status_code != 200:
        detail = ""
        try:
            body = response.json()
            if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
                detail = f": {outcome_text(body)}"
        except ValueError:
            pass
        raise SmartError(f"{what}: {url} answered HTTP {response.status_code}{detail}", 502)
    try:
        return response.json()
    except ValueError:
        raise SmartError(f"{what}: {url} did not answer JSON", 502) from None


def discover(iss: str, client: httpx2.Client) -> SmartConfiguration:
    """Read ``<iss>/.well-known/smart-configuration``; ``SmartError`` naming the field that
    is missing or wrong."""
    url = f"{normalise_issuer(iss)}/{WELL_KNOWN}"
    document = _get_json(client, url, "SMART configuration")
    if not isinstance(document, dict):
        raise SmartError(f"SMART configuration at {url} is not a JSON object", 502)
    endpoints = {}
    for key in ("authorization_endpoint", "token_endpoint"):
        value = document.get(key)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise SmartError(f"SMART configuration at {url}: {key} is missing or not a URL", 502)
        endpoints[key] = value
    methods = document.get("code_challenge_methods_supported")
    listed = tuple(str(m) for m in methods) if isinstance(methods, list) else ()
    if listed and "S256" not in listed:
        raise SmartError(
            f"SMART configuration at {url}: code_challenge_methods_supported has no S256 "
            f"({', '.join(listed)}); backpath uses PKCE with S256 only",
            502,
        )
    capabilities = document.get("capabilities")
    return SmartConfiguration(
        issuer=iss.strip(),  # sent back as ``aud`` exactly as the EHR gave it
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        capabilities=tuple(str(c) for c in capabilities) if isinstance(capabilities, list) else (),
        code_challenge_methods=listed,
    )


def authorize_url(
    config: SmartConfiguration,
    client_id: str,
    redirect_uri: str,
    scope: str,
    state: str,
    code_challenge: str,
    launch: str | None = None,
) -> str:
    """The address the browser is sent to (authorization request, SMART v2)."""
    parameters = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "aud": config.issuer,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if launch is not None:
        parameters["launch"] = launch
    separator = "&" if "?" in config.authorization_endpoint else "?"
    return config.authorization_endpoint + separator + urlencode(parameters, quote_via=quote)


def exchange_code(
    config: SmartConfiguration,
    client_id: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    client: httpx2.Client,
) -> TokenResponse:
    """Exchange the authorization code (with the PKCE verifier) for an access token."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": code_verifier,
    }
    try:
        response = client.post(
            config.token_endpoint, data=form, headers={"Accept": "application/json"}
        )
    except httpx2.HTTPError as exc:
        raise SmartError(f"token endpoint could not be reached ({exc})", 502) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        reason = ""
        if isinstance(body, dict) and body.get("error"):
            reason = f": {body.get('error')} {body.get('error_description') or ''}".rstrip()
        raise SmartError(
            f"the token endpoint refused the code (HTTP {response.status_code}){reason}"
        )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise SmartError("the token response has no access_token", 502)
    if str(body.get("token_type", "")).lower() != "bearer":
        raise SmartError(f"token_type must be Bearer, not {body.get('token_type')!r}", 502)
    patient = body.get("patient")
    expires = body.get("expires_in")
    return TokenResponse(
        access_token=token,
        scope=str(body.get("scope", "")),
        patient=patient if isinstance(patient, str) and patient else None,
        expires_in=expires if isinstance(expires, int) and not isinstance(expires, bool) else None,
    )


def read_patient(iss: str, access_token: str, patient_id: str, client: httpx2.Client) -> Any:
    """``GET <iss>/Patient/<id>`` with the access token; the Patient resource."""
    url = f"{normalise_issuer(iss)}/Patient/{quote(patient_id, safe='')}"
    document = _get_json(client, url, "Patient read", token=access_token)
    if not isinstance(document, dict) or document.get("resourceType") != "Patient":
        raise SmartError(f"{url} did not return a Patient", 502)
    if document.get("id") not in (None, patient_id):
        raise SmartError(f"{url} returned Patient/{document.get('id')}, not {patient_id}", 502)
    return document


def prefill_answers(patient: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The intake answers the chart gives: ``age`` from a full ``birthDate`` and ``sex``
    from ``gender`` (read as the CDS service reads them, ``ehr.read_chart``)."""
    reading = read_chart(load_terminology(), patient, [], today)
    answers: dict[str, Any] = {}
    if reading.age is not None:
        answers["age"] = reading.age
    if reading.sex is not None:
        answers["sex"] = reading.sex
    return answers


# ------------------------------------------------------------------------ server side


@dataclass
class PendingLaunch:
    """A launch sent to the authorize endpoint and not yet back (kept under its state)."""

    config: SmartConfiguration
    code_verifier: str
    redirect_uri: str
    scope: str
    created: float = field(default_factory=time.monotonic)


@dataclass
class SmartSession:
    """A finished launch: the EHR, the access token, the patient in context; the assessments
    finished in it and what their write-back did (``outcomes``, by assessment id)."""

    iss: str
    access_token: str
    patient_id: str
    scope: str
    expires_at: float | None
    finished: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expired(self) -> bool:
        """True once the access token's lifetime has passed."""
        return self.expires_at is not None and time.time() >= self.expires_at


class SmartStore:
    """Launches in progress and SMART sessions, in this process's memory (never in the
    browser). Thread-safe; old entries are dropped as new ones come."""

    def __init__(self, session_seconds: float) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, PendingLaunch] = {}
        self._sessions: dict[str, tuple[float, SmartSession]] = {}
        self._session_seconds = session_seconds

    def _purge(self, now: float) -> None:
        self._pending = {
            k: v for k, v in self._pending.items() if now - v.created < PENDING_SECONDS
        }
        self._sessions = {
            k: v for k, v in self._sessions.items() if now - v[0] < self._session_seconds
        }

    def add_pending(self, state: str, launch: PendingLaunch) -> None:
        """Keep a launch until its callback comes."""
        with self._lock:
            self._purge(time.monotonic())
            self._pending[state] = launch

    def take_pending(self, state: str) -> PendingLaunch | None:
        """The launch sent with ``state`` (once: a state is never accepted twice)."""
        with self._lock:
            self._purge(time.monotonic())
            return self._pending.pop(state, None)

    def add_session(self, session: SmartSession) -> str:
        """Keep a SMART session; returns its random id (what the cookie holds)."""
        ident = secrets.token_urlsafe(32)
        with self._lock:
            self._purge(time.monotonic())
            self._sessions[ident] = (time.monotonic(), session)
        return ident

    def session(self, ident: Any) -> SmartSession | None:
        """The SMART session with this id, if it is still kept."""
        if not isinstance(ident, str):
            return None
        with self._lock:
            self._purge(time.monotonic())
            found = self._sessions.get(ident)
        return None if found is None else found[1]
