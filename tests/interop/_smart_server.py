"""A small EHR for the SMART launch tests: an OAuth 2.0 authorisation server (authlib) and a
FHIR server, served by uvicorn on a loopback port in a thread.

The authorisation server is authlib's ``AuthorizationServer`` with its
``AuthorizationCodeGrant`` and the ``CodeChallenge`` (PKCE) extension: codes are issued,
bound to their client, redirect URI and S256 challenge, and exchanged once, for real. Consent
is given at once (no login page). SMART additions, as an EHR does them: the authorize
request must carry ``aud`` = the FHIR base; an EHR launch's ``launch`` id gives the patient,
a standalone launch (``launch/patient``) gets the EHR's default patient; the token response
carries ``patient``. The FHIR server serves ``.well-known/smart-configuration`` and
``Patient/<id>``, and accepts ``POST [base]/<type>`` with a valid bearer token whose scopes
allow the create: each body is validated with the ``fhir.resources`` R4 (R4B) models and
kept in memory (``EhrState.created``); an invalid one gets 422 and an OperationOutcome.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import uvicorn
from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    JsonRequest,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "backpath-test-client"
FHIR_JSON = "application/fhir+json"


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    """A public SMART client (no secret: PKCE protects the code)."""

    client_id: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class User:
    """Whoever consented, and the patient they chose (the launch context)."""

    patient: str

    def get_user_id(self) -> str:
        return f"Practitioner/{self.patient}-doctor"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    patient: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token:
    access_token: str
    scope: str
    patient: str
    expires_at: float


@dataclass
class EhrState:
    """Everything the EHR holds: patients, launches, codes, tokens, and what was created."""

    patients: dict[str, dict[str, Any]]
    default_patient: str
    launches: dict[str, str] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    clients: dict[str, Client] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """An authlib request from the parameters Starlette read (query or form)."""

    def __init__(
        self, method: str, uri: str, headers: dict[str, str], args: dict[str, str], form: dict
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args = args
        self._form = form
        self.payload = BasicOAuth2Payload({**args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class SmartAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's server bound to the in-memory EHR."""

    def __init__(self, ehr: EhrState) -> None:
        super().__init__()
        self.ehr = ehr
        self.register_token_generator("default", self._generate)

    def _generate(
        self,
        grant_type: str,
        client: Client,
        user: User | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": expires_in or 3600,
            "scope": scope or "",
        }

    def query_client(self, client_id: str) -> Client | None:
        return self.ehr.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        patient = request.user.patient
        token["patient"] = patient  # SMART launch context, returned with the token
        with self.ehr.lock:
            self.ehr.tokens[token["access_token"]] = Token(
                token["access_token"], token["scope"], patient, time.time() + token["expires_in"]
            )

    def get_error_uri(self, request: OAuth2Request, error: OAuth2Error) -> None:
        return None

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request  # the routes build StarletteOAuth2Request themselves

    def create_json_request(self, request: Any) -> JsonRequest:
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        if isinstance(body, dict):
            response: Response = JSONResponse(body, status_code=status)
        else:
            response = Response(body or "", status_code=status)
        for key, value in headers:
            response.headers[key] = value
        return response


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """Authorization code grant for public clients (``none`` auth, PKCE required)."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["none"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        ehr: EhrState = self.server.ehr
        with ehr.lock:
            ehr.codes[code] = AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=data.get("redirect_uri", ""),
                scope=request.scope or "",
                patient=request.user.patient,
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
            )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = self.server.ehr.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.server.ehr.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User:
        return User(authorization_code.patient)


def _outcome(status: int, code: str, message: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": message}],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


def _scope_allows(scope: str, resource_type: str, action: str) -> bool:
    """SMART v1 or v2 patient scopes: ``patient/Type.c`` / ``.cruds`` / ``.write`` /
    ``.*``, or ``patient/*...``."""
    for one in scope.split():
        if not one.startswith("patient/") or "." not in one:
            continue
        kind, _, rights = one.removeprefix("patient/").partition(".")
        if kind not in (resource_type, "*"):
            continue
        v1 = {"r": "read", "s": "read", "c": "write", "u": "write", "d": "write"}[action]
        if rights in ("*", v1) or (rights.isalpha() and action in rights):
            return True
    return False


def build_app(ehr: EhrState) -> Starlette:
    """The EHR's ASGI app: ``/auth/authorize``, ``/auth/token`` and ``/fhir/...``."""
    server = SmartAuthorizationServer(ehr)
    server.register_grant(CodeGrant, [CodeChallenge(required=True)])

    def fhir_base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/fhir"

    async def smart_configuration(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": base + "/auth",
                "authorization_endpoint": base + "/auth/authorize",
                "token_endpoint": base + "/auth/token",
                "token_endpoint_auth_methods_supported": ["none"],
                "grant_types_supported": ["authorization_code"],
                "scopes_supported": ["launch", "launch/patient", "openid", "fhirUser"],
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "capabilities": [
                    "launch-ehr",
                    "launch-standalone",
                    "client-public",
                    "context-ehr-patient",
                    "context-standalone-patient",
                    "permission-v2",
                    "permission-v1",
                ],
            }
        )

    async def authorize(request: Request) -> Response:
        args = dict(request.query_params)
        with ehr.lock:
            ehr.authorize_requests.append(args)
        oauth_request = StarletteOAuth2Request(
            "GET", str(request.url), dict(request.headers), args, {}
        )
        try:
            grant = server.get_consent_grant(request=oauth_request, end_user=None)
            if args.get("aud", "").rstrip("/") != fhir_base(request):
                raise InvalidRequestError(f"aud must be {fhir_base(request)}")
            scopes = (args.get("scope") or "").split()
            if "launch" in scopes:
                patient = ehr.launches.get(args.get("launch", ""))
                if patient is None:
                    raise InvalidRequestError("unknown launch")
            elif "launch/patient" in scopes:
                patient = ehr.default_patient  # the patient picker, answered at once
            else:
                raise InvalidRequestError("no launch context asked for")
        except OAuth2Error as error:
            return JSONResponse(dict(error.get_body()), status_code=error.status_code)
        return server.create_authorization_response(  # consent given at once
            request=oauth_request, grant_user=User(patient), grant=grant
        )

    async def token(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        with ehr.lock:
            ehr.token_requests.append(form)
        oauth_request = StarletteOAuth2Request(
            "POST", str(request.url), dict(request.headers), {}, form
        )
        return server.create_token_response(oauth_request)

    def bearer(request: Request) -> Token | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        found = ehr.tokens.get(header[7:].strip())
        return found if found is not None and found.expires_at > time.time() else None

    async def read_patient(request: Request) -> Response:
        token = bearer(request)
        if token is None:
            return _outcome(401, "login", "a valid bearer token is needed")
        ident = request.path_params["ident"]
        if ident != token.patient or not _scope_allows(token.scope, "Patient", "r"):
            return _outcome(403, "forbidden", "this token may not read that Patient")
        found = ehr.patients.get(ident)
        if found is None:
            return _outcome(404, "not-found", f"Patient/{ident} is not known")
        return JSONResponse(found, media_type=FHIR_JSON)

    async def create(request: Request) -> Response:
        kind = request.path_params["kind"]
        token = bearer(request)
        if token is None:
            return _outcome(401, "login", "a valid bearer token is needed")
        if not _scope_allows(token.scope, kind, "c"):
            return _outcome(403, "forbidden", f"the token's scopes do not allow creating {kind}")
        try:
            body = await request.json()
        except ValueError:
            return _outcome(400, "invalid", "the body is not JSON")
        if not isinstance(body, dict) or body.get("resourceType") != kind:
            return _outcome(400, "invalid", f"the body is not a {kind}")
        try:
            get_fhir_model_class(kind).model_validate(body)
        except (ValidationError, KeyError, ValueError) as exc:
            with ehr.lock:
                ehr.refused.append(body)
            return _outcome(422, "invalid", f"not a valid R4 {kind}: {exc}")
        subject = (body.get("subject") or {}).get("reference")
        if subject != f"Patient/{token.patient}":
            return _outcome(403, "forbidden", f"subject must be Patient/{token.patient}")
        stored = {**body, "id": secrets.token_hex(8), "meta": {"versionId": "1"}}
        with ehr.lock:
            ehr.created.append(stored)
        location = f"{fhir_base(request)}/{kind}/{stored['id']}/_history/1"
        return JSONResponse(
            stored, status_code=201, media_type=FHIR_JSON, headers={"Location": location}
        )

    return Starlette(
        routes=[
            Route("/fhir/.well-known/smart-configuration", smart_configuration),
            Route("/auth/authorize", authorize),
            Route("/auth/token", token, methods=["POST"]),
            Route("/fhir/Patient/{ident}", read_patient),
            Route("/fhir/{kind}", create, methods=["POST"]),
        ]
    )


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_asgi(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running_ehr(
    redirect_uri: str,
    patients: dict[str, dict[str, Any]],
    default_patient: str,
    port: int | None = None,
) -> Iterator[tuple[str, EhrState]]:
    """The EHR on a loopback port, with the backpath client registered for
    ``redirect_uri``; yields the FHIR base URL (the ``iss``) and the EHR's state."""
    ehr = EhrState(patients=patients, default_patient=default_patient)
    ehr.clients[CLIENT_ID] = Client(CLIENT_ID, [redirect_uri])
    with serve_asgi(build_app(ehr), port) as base:
        yield base + "/fhir", ehr
