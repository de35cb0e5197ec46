"""Web security: CSRF tokens, request body limits and protective response headers.

Both middlewares are plain ASGI (no ``BaseHTTPMiddleware``) so they cost almost nothing on
the JSON API's hot path.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable, Mapping

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
    """Adds the security headers to every response and limits the size of request bodies.

    A body over ``max_body_bytes`` (by ``Content-Length``, or counted while it streams in)
    gets ``413``: JSON naming the field ``(body)`` under ``/api/``, a short page elsewhere.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        too_large_page: Callable[[Scope], bytes] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.too_large_page = too_large_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
                started = True
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLargeError:
            if not started:
                await self._too_large(scope, send)

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
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
