"""A CDS Hooks (1.0 / 2.0) service: back-pain triage as a card in the EHR.

``GET /cds-services`` lists one service, ``backpath-back-pain-triage``, for the
``patient-view`` hook, with prefetch templates for the Patient and the person's latest
backpath ``QuestionnaireResponse``. ``POST /cds-services/backpath-back-pain-triage`` builds
an Intake from the prefetch (``fhir.intake_from_questionnaire_response``; age from
``Patient.birthDate`` on ``context.date`` when both are given), runs the same core as every
other channel and returns one card:

* indicator ``critical`` (emergency), ``warning`` (urgent), ``info`` (routine, self-care);
* ``summary`` of at most 140 characters, which says when questions that could raise the
  urgency are unanswered (unknown is never "no");
* ``detail`` in Markdown: fired rules with their evidence and sources, and what could not be
  ruled out;
* ``source`` ``{label: "backpath <kb version>"}``; no links, no suggestions.

Invalid input is ``400`` with ``{"error": {"field", "message"}}``. The service does not
query the FHIR server: without the prefetch it answers ``400`` naming the missing key.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from backpath.errors import IntakeError
from backpath.interop.fhir import (
    QUESTIONNAIRE_URL,
    age_from_birth_date,
    read_json_body,
    triage_questionnaire_response,
)
from backpath.kb import KnowledgeBase
from backpath.web.routes_api import error, json_response

SERVICE_ID = "backpath-back-pain-triage"
HOOK = "patient-view"
SUMMARY_LIMIT = 140
INDICATORS = {
    "emergency": "critical",
    "urgent": "warning",
    "routine": "info",
    "self_care": "info",
}
_RANK = {"self_care": 0, "routine": 1, "urgent": 2, "emergency": 3}
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "questionnaireResponse": (
        "QuestionnaireResponse?subject={{context.patientId}}"
        f"&questionnaire={QUESTIONNAIRE_URL}&_sort=-authored&_count=1"
    ),
}


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document."""
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "backpath: back pain with leg symptoms triage",
                "description": (
                    "Triage of back pain that spreads into the leg from the patient's backpath "
                    "intake (a FHIR QuestionnaireResponse): urgency, the red-flag rules that "
                    "fired with their evidence, and the red-flag questions still unanswered."
                ),
                "prefetch": dict(PREFETCH),
                "usageRequirements": (
                    "Send the prefetch: the service does not query the FHIR server. "
                    "context.date (optional, YYYY-MM-DD) lets Patient.birthDate give the age."
                ),
            }
        ]
    }


def _truncate(text: str, limit: int = SUMMARY_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _value(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def _because(entry: Mapping[str, Any]) -> str:
    text = f"`{entry['code']}` = {_value(entry.get('value'))} ({entry['source']}"
    if entry.get("evidence"):
        text += f': "{entry["evidence"]}"'
    if entry.get("source") == "unknown":
        text += ": not answered, counted as the worse case"
    return text + ")"


def open_red_flags(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Unresolved rules that could reach a higher urgency than the result's."""
    rank = _RANK[result["urgency"]]
    return [u for u in result.get("unresolved", []) if _RANK[u["urgency"]] > rank]


def card_from_result(kb: KnowledgeBase, result: Mapping[str, Any]) -> dict[str, Any]:
    """One CDS Hooks card for a Result JSON."""
    urgency = result["urgency"]
    wording = result.get("urgency_text", {})
    label = wording.get("label", urgency)
    fired = result.get("fired_rules", [])
    still_open = open_red_flags(result)
    asks = list(dict.fromkeys(code for u in still_open for code in u.get("ask", [])))

    summary = f"Back pain triage: {label}"
    if fired:
        summary += f" - {fired[0]['title']}"
    if still_open:
        worst = max((u["urgency"] for u in still_open), key=_RANK.__getitem__)
        note = f"; {len(asks)} questions unanswered - {worst} not ruled out"
        summary = _truncate(summary, SUMMARY_LIMIT - len(note)) + note
    summary = _truncate(summary)

    lines = [f"**Urgency: {urgency}.** {wording.get('clinician', '')}".rstrip(), ""]
    if still_open:
        lines += [
            '**Not ruled out - unknown is not "no".** These questions are unanswered, '
            "and their answers could raise the urgency: "
            + ", ".join(f"`{code}`" for code in asks)
            + ".",
            "",
            "They could still make this "
            + " / ".join(dict.fromkeys(u["urgency"] for u in still_open))
            + ": "
            + "; ".join(f"`{u['id']}`" for u in still_open)
            + ".",
            "",
        ]
    if fired:
        lines.append("**Fired rules**")
        lines.append("")
        for rule in fired:
            lines.append(
                f"- **{rule['title']}** (`{rule['id']}`, {rule['urgency']}, "
                f"{rule['concern']}): {rule['clinician_message']}"
            )
            lines.append("  - because: " + "; ".join(_because(b) for b in rule.get("because", [])))
            lines.append("  - sources: " + ", ".join(rule.get("sources", [])))
        lines.append("")
    else:
        lines += ["No rule fired.", ""]
    conflicts = result.get("conflicts", [])
    if conflicts:
        lines += ["**Answers and own words disagree** (safety first: the worse value counts)", ""]
        lines += [
            f"- `{c['code']}`: answered {_value(c['answer'])}, own words say "
            f'{_value(c["narrative"])} ("{c["evidence"]}"); used {_value(c["used"])}'
            for c in conflicts
        ]
        lines.append("")
    kb_id = result.get("knowledge_base", {"version": kb.version, "sha256": kb.sha256})
    lines.append(
        f"backpath knowledge base {kb_id['version']} (sha256 `{kb_id['sha256'][:12]}`); "
        "decision support, rules pending clinical safety sign-off."
    )
    return {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "indicator": INDICATORS[urgency],
        "detail": "\n".join(lines),
        "source": {"label": f"backpath {kb_id['version']}"},
    }


def _context_date(request: Mapping[str, Any]) -> date | None:
    context = request.get("context")
    if not isinstance(context, dict):
        raise IntakeError("context", "must be an object")
    raw = context.get("date")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise IntakeError("context.date", "must be a FHIR date or dateTime string")
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise IntakeError("context.date", f"not a date: {raw!r}") from None


def _questionnaire_response(prefetch: Mapping[str, Any]) -> tuple[Any, str] | None:
    """The QuestionnaireResponse in the prefetch (a resource, or the first in a searchset
    Bundle) and its element path; ``None`` when the search found none."""
    key = "questionnaireResponse"
    if key not in prefetch:
        raise IntakeError(
            f"prefetch.{key}",
            "missing: send the prefetch (this service does not query the FHIR server)",
        )
    value = prefetch[key]
    where = f"prefetch.{key}"
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        entries = value.get("entry") or []
        if not isinstance(entries, list):
            raise IntakeError(f"{where}.entry", "must be a list")
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == (
                "QuestionnaireResponse"
            ):
                return resource, f"{where}.entry[{index}].resource"
        return None
    return value, where


def cds_response(kb: KnowledgeBase, request: Any, max_narrative_chars: int) -> dict[str, Any]:
    """The CDS Hooks response (``{"cards": [...]}``) for a decoded request.

    Raises ``IntakeError`` naming the field for an invalid request.
    """
    if not isinstance(request, dict):
        raise IntakeError("(body)", "a CDS Hooks request must be a JSON object")
    if request.get("hook") != HOOK:
        raise IntakeError("hook", f"this service answers {HOOK!r}, not {request.get('hook')!r}")
    if not isinstance(request.get("hookInstance"), str) or not request["hookInstance"]:
        raise IntakeError("hookInstance", "required: a string")
    on = _context_date(request)
    prefetch = request.get("prefetch")
    if not isinstance(prefetch, dict):
        raise IntakeError(
            "prefetch", "missing: send the prefetch (this service does not query the FHIR server)"
        )
    found = _questionnaire_response(prefetch)
    if found is None:
        return {"cards": []}  # no backpath intake on file: nothing to say
    response, where = found
    age = None
    patient = prefetch.get("patient")
    if patient is not None and on is not None:
        if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
            raise IntakeError("prefetch.patient", "must be a FHIR Patient")
        if patient.get("birthDate") is not None:
            age = age_from_birth_date(patient["birthDate"], on, "prefetch.patient.birthDate")
    triaged = triage_questionnaire_response(
        kb,
        response,
        max_narrative_chars,
        age=age,
        where=where,
        age_field="prefetch.patient.birthDate",
    )
    return {"cards": [card_from_result(kb, triaged.assessment.to_json())]}


def build_cds_router(kb: KnowledgeBase, max_narrative_chars: int) -> APIRouter:
    """``GET /cds-services`` and ``POST /cds-services/backpath-back-pain-triage``."""
    router = APIRouter(prefix="/cds-services", tags=["cds hooks"])

    @router.get("", summary="CDS Hooks discovery", response_class=Response)
    async def get_discovery() -> Response:
        """The services this CDS service offers."""
        return json_response(discovery())

    @router.post(
        f"/{SERVICE_ID}", summary="CDS Hooks service: back pain triage", response_class=Response
    )
    async def call_service(request: Request) -> Response:
        """A CDS Hooks request in; ``{"cards": [...]}`` out."""
        try:
            document = await read_json_body(request)
        except IntakeError as exc:
            return error(400, exc.field, exc.message)

        def work() -> Response:
            try:
                return json_response(cds_response(kb, document, max_narrative_chars))
            except IntakeError as exc:
                return error(400, exc.field, exc.message)

        return await run_in_threadpool(work)

    @router.post("/{service_id}", include_in_schema=False, response_class=Response)
    async def unknown_service(service_id: str) -> Response:
        """Any other service id: 404 in the API's JSON error shape."""
        return error(404, "service_id", f"no CDS service {service_id!r}; see GET /cds-services")

    return router
