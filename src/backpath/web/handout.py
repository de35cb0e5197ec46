"""The personalised handout (issue 6) served by the web app, as HTML or PDF.

The handout is rebuilt from the stored intake by the same core (``assess`` then
``backpath.education``), so the web page, the printable handout and the PDF say the same
thing. The clinic's contact block comes from ``BACKPATH_CLINIC_FILE`` (a clinic YAML, see
docs/handout.md) or the country preset ``BACKPATH_CLINIC_PRESET`` (``us``: 911, Letter;
``uk``: 999, A4); default ``us``.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from backpath.education import (
    Clinic,
    load_clinic,
    preset_clinic,
    render_handout_html,
    render_handout_pdf,
)
from backpath.web.pages import web
from backpath.web.triage import triage

CLINIC_FILE_ENV = "BACKPATH_CLINIC_FILE"
CLINIC_PRESET_ENV = "BACKPATH_CLINIC_PRESET"


def clinic_from_env() -> Clinic:
    """The clinic contact block configured for this deployment.

    Its emergency number is the one the result pages show (``emergency_number``), so the
    page and its handout never name different numbers.
    """
    from backpath.kb import load_knowledge
    from backpath.triage.emergency import emergency_number

    path = os.environ.get(CLINIC_FILE_ENV)
    clinic = load_clinic(path) if path else preset_clinic(os.environ.get(CLINIC_PRESET_ENV, "us"))
    return clinic.model_copy(update={"emergency_number": emergency_number(load_knowledge())})


def handout_response(request: Request, stored_intake: Any, language: str, as_pdf: bool) -> Response:
    """Render the handout of a stored intake; ``?paper=a4|letter`` overrides the clinic's."""
    shared = web(request)
    triaged = triage(stored_intake, shared.kb, shared.settings.max_narrative_chars)
    paper = request.query_params.get("paper")
    if paper not in ("a4", "letter"):
        paper = None
    clinic = clinic_from_env()
    if as_pdf:
        pdf = render_handout_pdf(triaged.assessment, language, clinic, paper)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": 'inline; filename="backpath-handout.pdf"'},
        )
    return HTMLResponse(render_handout_html(triaged.assessment, language, clinic, paper))
