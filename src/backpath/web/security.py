"""Web security: CSRF tokens, request body limits, protective response headers, and the
audit of failed reads.

Every response, error pages included, carries the security headers; every response outside
``/static/`` carries ``Cache-Control: no-store`` (patient pages, clinician pages and API
answers hold health data that no browser or proxy cache may keep); responses reached over
HTTPS carry ``Strict-Transport-Security``. With a public URL configured, every request is
treated as addressed to it (scheme and ``Host``), so links never follow a forged ``Host``. A 401, 403 or 404 on a route that reads patient
data (a result link, a clinician's assessment page, the assessments API), or a redirect to
the sign-in page from one, is written to the audit log: guessing result links or
assessment ids leaves a trace.

The middleware is plain ASGI (no ``BaseHTTPMiddleware``) so it costs almost nothing on the
JSON API's hot path.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_FIELD = "csrf_token"

# Pages are ours alone: no third-party script, style, font or frame; forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Result links carry the patient's token: never leak them in a Referer header.
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


NO_STORE = (b"cache-control", b"no-store")
# Paths whose responses may be cached: the CSS, scripts and images, which hold no patient data.
CACHEABLE_PREFIXES = ("/static/",)
# Routes that read patient data: a refused or missed read of one of these is audited.
PATIENT_READ_PREFIXES = ("/r/", "/clinic", "/api/v1/assessments")
# Clinician routes that read nothing (a redirect from them to the sign-in page is normal).
_NOT_A_READ = ("/clinic/login", "/clinic/logout")
FAILED_READ_STATUSES = frozenset({401, 403, 404})


def hsts_header(max_age: int) -> tuple[bytes, bytes]:
    """``Strict-Transport-Security`` for ``max_age`` seconds, subdomains included."""
    return (b"strict-transport-security", f"max-age={max_age}; includeSubDomains".encode())


def served_over_https(scope: Scope, public_url: str | None) -> bool:
    """True when this request came over HTTPS, or the app's public address is HTTPS.

    Behind a TLS-terminating proxy the scheme is only ``https`` when uvicorn trusts the
    proxy's ``X-Forwarded-Proto`` (``backpath serve --proxy-headers``); a configured
    ``https://`` public URL says the same without relying on the proxy.
    """
    return scope.get("scheme") == "https" or bool(public_url and public_url.startswith("https:"))


def protective_headers(
    scope: Scope, public_url: str | None, hsts_max_age: int
) -> list[tuple[bytes, bytes]]:
    """The headers every response to ``scope`` gets (cache rule and HSTS included)."""
    headers = list(SECURITY_HEADERS)
    if not str(scope.get("path", "")).startswith(CACHEABLE_PREFIXES):
        headers.append(NO_STORE)
    if hsts_max_age > 0 and served_over_https(scope, public_url):
        headers.append(hsts_header(hsts_max_age))
    return headers


def merge_headers(
    existing: list[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """``existing`` with ``added`` on top: a header in ``added`` replaces one of that name."""
    names = {name.lower() for name, _ in added}
    return [item for item in existing if item[0].lower() not in names] + added


@dataclass(frozen=True)
class FailedRead:
    """A refused or missed read of patient data, as the audit log records it.

    ``status`` is the HTTP status (303 for a redirect to the sign-in page), ``path`` the
    request path and ``session`` the request's session (who was signed in, if anyone).
    """

    method: str
    path: str
    status: int
    client: str | None
    session: Mapping[str, object]


def failed_read(scope: Scope, status: int, headers: list[tuple[bytes, bytes]]) -> FailedRead | None:
    """The failed read this response reports, or ``None`` when it is not one."""
    path = str(scope.get("path", ""))
    if not path.startswith(PATIENT_READ_PREFIXES) or path.startswith(_NOT_A_READ):
        return None
    if path.startswith("/clinic") and not (path == "/clinic" or path.startswith("/clinic/")):
        return None
    if status in (302, 303, 307):
        location = dict(headers).get(b"location", b"")
        if not location.startswith(b"/clinic/login"):
            return None
    elif status not in FAILED_READ_STATUSES:
        return None
    client = scope.get("client")
    session = scope.get("session")
    return FailedRead(
        method=str(scope.get("method", "")),
        path=path,
        status=status,
        client=str(client[0]) if client else None,
        session=session if isinstance(session, Mapping) else {},
    )


def absolute_url(public_url: str | None, path: str) -> str:
    """``path`` under the configured public address, or ``path`` itself (a relative link).

    Links are never built from the request's ``Host`` header, which the client chooses: a
    forged ``Host`` would otherwise put an attacker's address into a patient's private link.
    """
    if not path.startswith("/"):
        raise ValueError(f"expected a path starting with '/', got {path!r}")
    return f"{public_url.rstrip('/')}{path}" if public_url else path


def pin_public_address(scope: Scope, public_url: str) -> Scope:
    """``scope`` as if the request had been made to ``public_url``: its scheme, and its host
    in the ``Host`` header.

    Whatever ``Host`` a client sends, ``request.base_url`` and ``request.url_for`` then name
    the configured address, so no link the app builds can point anywhere else.
    """
    parts = urlsplit(public_url)
    headers = [(name, value) for name, value in scope["headers"] if name != b"host"]
    headers.append(
        (b"host", parts.netloc.encode("idna" if not parts.netloc.isascii() else "ascii"))
    )
    return {**scope, "scheme": parts.scheme, "headers": headers}


def csrf_token(request: Request) -> str:
    """This session's CSRF token (created on first use); put it in every POST form."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, form: Mapping[str, object]) -> bool:
    """True when the form's token matches the session's (constant-time comparison)."""
    expected = request.session.get("csrf")
    sent = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str):
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


class BodyTooLargeError(Exception):
    """The request body is larger than the configured limit."""


class SecurityMiddleware:
    """Adds the protective headers to every response, audits failed reads of patient data
    and limits the size of request bodies.

    A body over ``max_body_bytes`` (by ``Content-Length``, or counted while it streams in)
    gets ``413``: JSON naming the field ``(body)`` under ``/api/``, a short page elsewhere.
    ``audit_failed_read`` is called in a worker thread (it writes to the database) before a
    failed read's response is sent; when it raises, the request fails loudly (500).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        too_large_page: Callable[[Scope], bytes] | None = None,
        public_url: str | None = None,
        hsts_max_age: int = 0,
        audit_failed_read: Callable[[FailedRead], None] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.too_large_page = too_large_page
        self.public_url = public_url
        self.hsts_max_age = hsts_max_age
        self.audit_failed_read = audit_failed_read

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.public_url:
            scope = pin_public_address(scope, self.public_url)
        limit = self.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await self._too_large(scope, send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if self.audit_failed_read is not None:
                    failure = failed_read(scope, int(message["status"]), headers)
                    if failure is not None:
                        await anyio.to_thread.run_sync(self.audit_failed_read, failure)
                started = True
                headers = merge_headers(headers, self._headers(scope))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLargeError:
            if not started:
                await self._too_large(scope, send)

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        return protective_headers(scope, self.public_url, self.hsts_max_age)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        path = scope.get("path", "")
        if path.startswith("/api/"):
            body = json.dumps(
                {
                    "error": {
                        "field": "(body)",
                        "message": f"the request body is larger than {self.max_body_bytes} bytes",
                    }
                }
            ).encode()
            content_type = b"application/json"
        elif self.too_large_page is not None:
            body = self.too_large_page(scope)
            content_type = b"text/html; charset=utf-8"
        else:
            body = b"Request body too large"
            content_type = b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *self._headers(scope),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
