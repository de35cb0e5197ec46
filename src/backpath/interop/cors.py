"""CORS for the machine endpoints only (``/cds-services``, ``/fhir``).

Browser-based CDS clients (the HL7 CDS Hooks sandbox, SMART-on-FHIR EHR front ends) call
the service from another origin, so these paths answer CORS preflights (``OPTIONS``) and
send ``Access-Control-Allow-Origin`` for the configured origins
(``BACKPATH_CDS_CORS_ORIGINS``; ``*`` allows any, without credentials). The patient and
clinician pages and ``/api`` are untouched: they are same-origin only.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


def is_interop_path(path: str) -> bool:
    """True for ``/cds-services...`` and ``/fhir`` or ``/fhir/...``."""
    return path in ("/cds-services", "/fhir") or path.startswith(("/cds-services/", "/fhir/"))


class InteropCORSMiddleware:
    """Starlette's CORS middleware, applied to the interoperability paths only."""

    def __init__(self, app: ASGIApp, origins: Sequence[str] = ()) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "accept", "prefer"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and is_interop_path(path):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
