"""A CDS Hooks 2.0 service: back-pain triage as a card in the EHR.

``GET /cds-services`` lists one service, ``backpath-back-pain-triage``, for the
``patient-view`` hook. Its prefetch asks for the Patient, the person's backpath intakes
(``QuestionnaireResponse``), Conditions, the Observations the terminology maps read, and
medicines. ``POST /cds-services/backpath-back-pain-triage``:

1. reads each prefetch key; a key sent as ``null`` means "no data"; a missing key, or one
   whose value is (or contains) an error ``OperationOutcome``, is read from ``fhirServer``
   with the ``fhirAuthorization`` bearer token when that server is allow-listed; when the
   Patient or the intakes cannot be had either way the answer is ``412``;
2. checks that every resource is about the patient in ``context.patientId`` (``400`` if
   not: never show one person's triage on another's chart);
3. takes the LATEST intake (by ``authored``), reads the chart through the terminology
   maps (``ehr.read_chart``: age from ``birthDate`` on today's date or ``context.date``,
   sex, Conditions, Observations including the measured signs, medicines; old entries
   shown but not used), merges them with the intake (a "yes" from either side counts; of
   two different measured numbers the worse counts; a disagreement is shown), and runs
   the same core as every other channel;
4. answers one card: indicator by urgency, the intake's date in the summary, fired rules
   with their evidence (answer, narrative or chart resource), what could not be ruled out,
   the chart data used and not used, ``source.url`` and ``links`` to the guidelines.

Without an intake on file, a card is given only when the chart itself puts the person on
the back-and-leg-pain pathway (a recent sciatica, low back pain or cauda equina code).

Two more services advise on lumbar spine imaging at the point of ordering, for the
``order-select`` and ``order-sign`` hooks (``context.draftOrders``, a Bundle of draft
``ServiceRequest``s; ``context.selections`` for order-select). A lumbar X-ray, CT or MRI order
(coded as listed in ``knowledge/imaging.yaml``) gets one card from the same prefetch, chart
reading, merge and triage as above, decided by ``backpath.interop.imaging``; any other order
gets none.
Every card issued and every feedback on it (``POST .../feedback``) goes to the audit log.
Errors are ``{"error": {"field", "message"}}`` with 400, 401, 404 or 412.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from backpath.errors import IntakeError, NarrativeError
from backpath.intake import Intake
from backpath.interop.auth import AuthError, ClientVerifier
from backpath.interop.ehr import ChartFact, ChartReading, fhir_date, read_chart
from backpath.interop.fhir import (
    QUESTIONNAIRE_URL,
    intake_from_questionnaire_response,
    read_json_body,
)
from backpath.interop.fhir_client import FhirQueryError, FhirReader, fill_template, outcome_text
from backpath.interop.imaging import ImagingRules, OrderContext, decide, imaging_card, load_imaging
from backpath.interop.terminology import Terminology
from backpath.kb import KnowledgeBase
from backpath.triage import Assessment
from backpath.vocabulary import FindingType
from backpath.web.routes_api import error, json_response
from backpath.web.triage import triage

SERVICE_ID = "backpath-back-pain-triage"
HOOK = "patient-view"
ORDER_SELECT_ID = "backpath-lumbar-imaging-order-select"
ORDER_SIGN_ID = "backpath-lumbar-imaging-order-sign"
ORDER_HOOKS = {ORDER_SELECT_ID: "order-select", ORDER_SIGN_ID: "order-sign"}
SUMMARY_LIMIT = 140
INTAKE_FRESH_DAYS = 14
INDICATORS = {
    "emergency": "critical",
    "urgent": "warning",
    "routine": "info",
    "self_care": "info",
}
_RANK = {"self_care": 0, "routine": 1, "urgent": 2, "emergency": 3}
INTAKE_KEY = "questionnaireResponse"
PATIENT_KEY = "patient"
REQUIRED_KEYS = (PATIENT_KEY, INTAKE_KEY)
CHART_KEYS = ("conditions", "observations", "medicationStatements", "medicationRequests")


def prefetch_templates(terminology: Terminology) -> dict[str, str]:
    """The prefetch templates (the Observation codes come from the terminology maps)."""
    codes = ",".join(f"http://loinc.org|{code}" for code in terminology.loinc_codes)
    return {
        PATIENT_KEY: "Patient/{{context.patientId}}",
        INTAKE_KEY: (
            "QuestionnaireResponse?patient={{context.patientId}}"
            f"&questionnaire={QUESTIONNAIRE_URL}&_sort=-authored&_count=5"
        ),
        "conditions": "Condition?patient={{context.patientId}}",
        "observations": (
            f"Observation?patient={{{{context.patientId}}}}&code={codes}&_sort=-date&_count=100"
        ),
        "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
        "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    }


def discovery(terminology: Terminology) -> dict[str, Any]:
    """The CDS Hooks discovery document."""
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "backpath: back pain with leg symptoms triage",
                "description": (
                    "Triage of back pain that spreads into the leg from the patient's latest "
                    "backpath intake (a FHIR QuestionnaireResponse) and the chart (problems, "
                    "temperature, vital signs, medicines, age and sex): urgency, the red-flag rules that "
                    "fired with their evidence, and the red-flag questions still unanswered."
                ),
                "prefetch": prefetch_templates(terminology),
                "usageRequirements": (
                    "Send the prefetch, or fhirServer and fhirAuthorization for an allow-listed "
                    "FHIR server. Without the Patient or the intakes the answer is 412."
                ),
            },
            *(
                {
                    "hook": hook,
                    "id": service_id,
                    "title": f"backpath: lumbar spine imaging appropriateness ({hook})",
                    "description": (
                        "For a draft lumbar spine X-ray, CT or MRI order (LOINC or CPT coded): "
                        "whether imaging is indicated now, from the ACR Appropriateness Criteria "
                        "low back pain variants, Choosing Wisely and NICE NG59, applied to the "
                        "patient's latest backpath intake and chart. A warning card suggests "
                        "removing or replacing the order (with override reasons); an info card "
                        "says when imaging is appropriate, or what is not known."
                    ),
                    "prefetch": prefetch_templates(terminology),
                    "usageRequirements": (
                        "Send draftOrders (a Bundle of draft ServiceRequests with ids) and the "
                        "prefetch, or fhirServer and fhirAuthorization for an allow-listed FHIR "
                        "server. Without the Patient or the intakes the answer is 412; orders "
                        "that are not lumbar imaging get no card and need no data."
                    ),
                }
                for service_id, hook in ORDER_HOOKS.items()
            ),
        ]
    }


# ---------------------------------------------------------------------- the request


class PreconditionError(Exception):
    """Data the service needs could not be had (HTTP 412)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Gathered:
    """What the prefetch and the FHIR server gave, and what could not be checked."""

    values: dict[str, Any] = field(default_factory=dict)
    not_checked: dict[str, str] = field(default_factory=dict)


FetcherFactory = Callable[[str, str | None], FhirReader]


@dataclass(frozen=True)
class CdsOptions:
    """How the service reaches the EHR: allow-listed FHIR servers and the HTTP client."""

    fhir_servers: tuple[str, ...] = ()
    reader: FetcherFactory = FhirReader


def _error_outcome(value: Any) -> str | None:
    """The text of an error OperationOutcome given instead of (or inside) prefetch data."""
    if not isinstance(value, dict):
        return None
    if value.get("resourceType") == "OperationOutcome":
        return outcome_text(value)
    if value.get("resourceType") == "Bundle":
        for entry in value.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome":
                severities = {
                    i.get("severity") for i in resource.get("issue") or [] if isinstance(i, dict)
                }
                if severities & {"error", "fatal"}:
                    return outcome_text(resource)
    return None


def _gather(
    request: Mapping[str, Any],
    templates: Mapping[str, str],
    options: CdsOptions,
) -> Gathered:
    prefetch = request.get("prefetch")
    if prefetch is None:
        prefetch = {}
    if not isinstance(prefetch, dict):
        raise IntakeError("prefetch", "must be an object (or absent)")
    gathered = Gathered()
    wanted: dict[str, str] = {}
    for key in templates:
        if key not in prefetch:
            wanted[key] = "not prefetched"
            continue
        value = prefetch[key]
        problem = _error_outcome(value)
        if problem is not None:
            wanted[key] = f"the EHR could not prefetch it ({problem})"
            continue
        if value is not None and not isinstance(value, dict):
            raise IntakeError(f"prefetch.{key}", "must be a FHIR resource, a Bundle or null")
        gathered.values[key] = value
    if not wanted:
        return gathered

    server = request.get("fhirServer")
    authorization = request.get("fhirAuthorization")
    token = None
    if isinstance(authorization, dict) and isinstance(authorization.get("access_token"), str):
        token = authorization["access_token"]
    reason = ""
    if not isinstance(server, str) or not server:
        reason = "no fhirServer was sent"
    elif not _allowed(server, options.fhir_servers):
        reason = f"fhirServer {server} is not on this service's allow-list"
    if reason:
        for key, why in wanted.items():
            _missing(gathered, key, f"{why}, and {reason}")
        return gathered

    assert isinstance(server, str)
    context = request.get("context") or {}
    with options.reader(server, token) as reader:
        for key, why in wanted.items():
            try:
                gathered.values[key] = reader.read(key, fill_template(templates[key], context))
            except FhirQueryError as exc:
                _missing(gathered, key, f"{why}, and {exc.message}")
    return gathered


def _allowed(server: str, allowed: tuple[str, ...]) -> bool:
    from backpath.interop.fhir_client import server_allowed

    return server_allowed(server, allowed)


def _missing(gathered: Gathered, key: str, why: str) -> None:
    if key in REQUIRED_KEYS:
        raise PreconditionError(f"prefetch.{key}", f"needed and not available: {why}")
    gathered.not_checked[key] = why


def _resources(value: Any) -> list[tuple[dict[str, Any], str]]:
    """The resources of a prefetch value (a resource or a searchset Bundle) with paths."""
    if value is None:
        return []
    if value.get("resourceType") != "Bundle":
        return [(value, "")]
    entries = value.get("entry") or []
    if not isinstance(entries, list):
        raise IntakeError("entry", "must be a list")
    out = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        search = entry.get("search") if isinstance(entry, dict) else None
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        if isinstance(resource, dict) and resource.get("resourceType") != "OperationOutcome":
            out.append((resource, f".entry[{index}].resource"))
    return out


def _subject_id(reference: Any) -> str | None:
    """The Patient id a reference names (``Patient/p1``, an absolute URL, or None)."""
    if not isinstance(reference, dict):
        return None
    target = reference.get("reference")
    if not isinstance(target, str) or "Patient/" not in target:
        return None
    return target.rsplit("Patient/", 1)[1].split("/")[0] or None


def _check_subject(resource: Mapping[str, Any], where: str, patient_id: str) -> None:
    named = _subject_id(resource.get("subject") or resource.get("patient"))
    if named is not None and named != patient_id:
        raise IntakeError(
            f"{where}.subject",
            f"is Patient/{named}, not the patient in context (Patient/{patient_id})",
        )


def _context(request: Mapping[str, Any]) -> tuple[str, date | None]:
    context = request.get("context")
    if not isinstance(context, dict):
        raise IntakeError("context", "must be an object")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not patient_id:
        raise IntakeError("context.patientId", "required for patient-view: the patient's id")
    raw = context.get("date")
    if raw is None:
        return patient_id, None
    if not isinstance(raw, str):
        raise IntakeError("context.date", "must be a FHIR date or dateTime string")
    try:
        return patient_id, date.fromisoformat(raw[:10])
    except ValueError:
        raise IntakeError("context.date", f"not a date: {raw!r}") from None


def _latest_intake(value: Any, patient_id: str) -> tuple[dict[str, Any], str] | None:
    """The newest backpath QuestionnaireResponse for this patient (by ``authored``)."""
    where = f"prefetch.{INTAKE_KEY}"
    if isinstance(value, dict) and value.get("resourceType") not in (
        "Bundle",
        "QuestionnaireResponse",
    ):
        raise IntakeError(f"{where}.resourceType", "must be QuestionnaireResponse (or a Bundle)")
    found: list[tuple[dict[str, Any], str]] = []
    for resource, path in _resources(value):
        if resource.get("resourceType") != "QuestionnaireResponse":
            continue
        questionnaire = resource.get("questionnaire")
        if isinstance(questionnaire, str) and questionnaire.split("|")[0] != QUESTIONNAIRE_URL:
            continue
        _check_subject(resource, where + path, patient_id)
        found.append((resource, where + path))
    if not found:
        return None

    def newest(item: tuple[dict[str, Any], str]) -> str:
        authored = item[0].get("authored")
        return authored if isinstance(authored, str) else ""

    return max(found, key=newest)


# ------------------------------------------------------------------------- merging


@dataclass
class Merged:
    """Intake JSON built from the intake and the chart, and where each value came from."""

    document: dict[str, Any]
    paths: dict[str, str]
    chart: dict[str, list[ChartFact]]
    notes: list[str]


def _merge(
    kb: KnowledgeBase,
    intake: Mapping[str, Any] | None,
    where: str,
    reading: ChartReading,
) -> Merged:
    if intake is not None:
        document, paths = intake_from_questionnaire_response(kb, intake, where=where)
        try:  # the intake's own answers are checked before the chart is added to them
            Intake.from_json(document)
        except IntakeError as exc:
            code = exc.field.removeprefix("answers.")
            raise IntakeError(paths.get(code, exc.field), f"{code}: {exc.message}") from None
    else:
        document, paths = {"answers": {}}, {}
    answers: dict[str, Any] = document["answers"]
    chart: dict[str, list[ChartFact]] = {}
    notes: list[str] = []
    for fact in reading.used():
        chart.setdefault(fact.code, []).append(fact)
    for code, facts in chart.items():
        value = facts[0].value
        said = answers.get(code)
        if code == "age":
            if said is not None and said != value:
                notes.append(
                    f"Age: the intake says {said}; {facts[0].resource} ({facts[0].source}) "
                    f"gives {value} today, which is used."
                )
            answers[code] = value
        elif code == "sex":
            if said is None:
                answers[code] = value
            elif said != value:
                notes.append(
                    f"Sex: the intake says {said}; the chart's administrative gender is "
                    f"{value}. The person's own answer is used."
                )
        elif said is None:
            answers[code] = value
        elif said != value and kb.findings[code].type is FindingType.BOOLEAN:
            answers[code] = value
            notes.append(
                f"`{code}`: the intake says {_value(said)}, the chart says {_value(value)} "
                f"({facts[0].evidence()}). Safety first: {_value(value)} is used."
            )
        elif said != value and facts[0].worse is not None and isinstance(said, int):
            # Two numbers for one measured sign (the person's monitor, the chart's reading):
            # the worse counts, whichever it is, and the card shows both.
            worse = min(said, value) if facts[0].worse == "lower" else max(said, value)
            answers[code] = worse
            notes.append(
                f"`{code}`: the intake says {said}, the chart says {value} "
                f"({facts[0].evidence()}). Safety first: the worse, {worse}, is used."
            )
    return Merged(document, paths, chart, notes)


def _triage(kb: KnowledgeBase, merged: Merged, max_narrative_chars: int) -> dict[str, Any]:
    return _assess(kb, merged, max_narrative_chars).to_json()


def _assess(kb: KnowledgeBase, merged: Merged, max_narrative_chars: int) -> Assessment:
    """The core's assessment of the merged intake and chart (errors name the source)."""
    try:
        return triage(merged.document, kb, max_narrative_chars).assessment
    except IntakeError as exc:
        code = exc.field.removeprefix("answers.")
        path = merged.paths.get(code, exc.field)
        if code in merged.chart:
            path = f"chart: {merged.chart[code][0].resource}"
        raise IntakeError(path, f"{code}: {exc.message}") from None
    except NarrativeError as exc:
        raise IntakeError(merged.paths.get("narrative", "narrative"), str(exc)) from None


# ----------------------------------------------------------------------------- card


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


def _because(entry: Mapping[str, Any], chart: Mapping[str, list[ChartFact]]) -> str:
    code = entry["code"]
    text = f"`{code}` = {_value(entry.get('value'))} ("
    facts = chart.get(code, [])
    if facts and entry.get("value") == facts[0].value and entry.get("source") != "narrative":
        return text + "chart: " + "; ".join(f.evidence() for f in facts) + ")"
    text += str(entry["source"])
    if entry.get("evidence"):
        text += f': "{entry["evidence"]}"'
    if entry.get("source") == "unknown":
        text += ": not answered, counted as the worse case"
    return text + ")"


def open_red_flags(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Unresolved rules that could reach a higher urgency than the result's."""
    rank = _RANK[result["urgency"]]
    return [u for u in result.get("unresolved", []) if _RANK[u["urgency"]] > rank]


@dataclass(frozen=True)
class IntakeInfo:
    """Which intake the card is about: its reference and date (None: chart only)."""

    reference: str | None
    authored: date | None
    today: date


def _web_links(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    fired_sources = [s for rule in result.get("fired_rules", []) for s in rule.get("sources", [])]
    citations = {c["id"]: c for c in result.get("citations", []) if isinstance(c, dict)}
    links: list[dict[str, Any]] = []
    for source_id in dict.fromkeys(fired_sources):
        citation = citations.get(source_id)
        if citation is None:
            continue
        url = citation.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            label = f"{citation['title']} ({citation['publisher']}, {citation['year']})"
            links.append({"label": _truncate(label, 120), "url": url, "type": "absolute"})
        if len(links) == 3:
            break
    return links


def card_from_result(
    kb: KnowledgeBase,
    result: Mapping[str, Any],
    intake: IntakeInfo | None = None,
    reading: ChartReading | None = None,
    merged: Merged | None = None,
    not_checked: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One CDS Hooks card for a Result JSON (and, when given, the intake and chart it used)."""
    urgency = result["urgency"]
    wording = result.get("urgency_text", {})
    label = wording.get("label", urgency)
    fired = result.get("fired_rules", [])
    chart = merged.chart if merged is not None else {}
    still_open = open_red_flags(result)
    asks = list(dict.fromkeys(code for u in still_open for code in u.get("ask", [])))

    head = "Back pain triage"
    stale = False
    if intake is not None:
        if intake.reference is None:
            head += ", from the chart (no intake)"
        elif intake.authored is not None:
            days = (intake.today - intake.authored).days
            stale = days > INTAKE_FRESH_DAYS
            head += f", intake {intake.authored.isoformat()}"
            if stale:
                head += f" (OLD: {days} days)"
        else:
            head += ", intake of unknown date"
    summary = f"{head}: {label}"
    if fired:
        summary += f" - {fired[0]['title']}"
    if still_open:
        worst = max((u["urgency"] for u in still_open), key=_RANK.__getitem__)
        note = f"; {len(asks)} questions unanswered - {worst} not ruled out"
        summary = _truncate(summary, SUMMARY_LIMIT - len(note)) + note
    summary = _truncate(summary)

    lines = [f"**Urgency: {urgency}.** {wording.get('clinician', '')}".rstrip(), ""]
    if intake is not None:
        if intake.reference is None:
            lines += [
                "**No backpath intake on file.** This card is from the chart alone; ask the "
                "person to fill in the intake.",
                "",
            ]
        else:
            when = intake.authored.isoformat() if intake.authored else "unknown date"
            line = f"**Intake:** `{intake.reference}`, answered {when}."
            if stale:
                line += (
                    f" It is older than {INTAKE_FRESH_DAYS} days: the answers describe "
                    "that day, not today - re-assess before acting on it."
                )
            lines += [line, ""]
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
            lines.append(
                "  - because: " + "; ".join(_because(b, chart) for b in rule.get("because", []))
            )
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
    if merged is not None and merged.notes:
        lines += ["**Intake and chart**", ""]
        lines += [f"- {note}" for note in merged.notes]
        lines.append("")
    if reading is not None:
        used = [f for f in reading.used() if f.code not in ("age", "sex")]
        if used:
            lines += ["**From the chart** (a chart entry only ever says yes)", ""]
            lines += [f"- `{f.code}` = {_value(f.value)}: {f.evidence()}" for f in used]
            lines.append("")
        unused = reading.not_used()
        if unused:
            lines += ["**In the chart but not used** (shown, not counted: ask about it)", ""]
            lines += [f"- `{f.code}`: {f.evidence()} - {f.reason}" for f in unused]
            lines.append("")
    if not_checked:
        lines += ["**Not checked**", ""]
        lines += [f"- `{key}`: {why}" for key, why in not_checked.items()]
        lines.append("")
    kb_id = result.get("knowledge_base", {"version": kb.version, "sha256": kb.sha256})
    lines.append(
        f"backpath knowledge base {kb_id['version']} (sha256 `{kb_id['sha256'][:12]}`); "
        "decision support, rules pending clinical safety sign-off."
    )
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "indicator": INDICATORS[urgency],
        "detail": "\n".join(lines),
        "source": {"label": f"backpath {kb_id['version']}"},
    }
    links = _web_links(result)
    if links:
        card["source"]["url"] = links[0]["url"]
        card["links"] = links
    return card


# ---------------------------------------------------------------------------- service


@dataclass(frozen=True)
class CdsAnswer:
    """The response document and what the audit log records about it."""

    document: dict[str, Any]
    urgency: str | None = None
    intake: str | None = None
    per_card: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _check_request(request: Any, hook: str) -> tuple[str, date | None]:
    """The common checks of a CDS Hooks request; the patient id and ``context.date``."""
    if not isinstance(request, dict):
        raise IntakeError("(body)", "a CDS Hooks request must be a JSON object")
    if request.get("hook") != hook:
        raise IntakeError("hook", f"this service answers {hook!r}, not {request.get('hook')!r}")
    if not isinstance(request.get("hookInstance"), str) or not request["hookInstance"]:
        raise IntakeError("hookInstance", "required: a string")
    return _context(request)


@dataclass
class PatientData:
    """What the prefetch (or the FHIR server) gave about the patient, read and checked."""

    gathered: Gathered
    reading: ChartReading
    intake: tuple[dict[str, Any], str] | None
    today: date


def _patient_data(
    terminology: Terminology,
    request: Mapping[str, Any],
    patient_id: str,
    today: date,
    options: CdsOptions,
) -> PatientData:
    """Prefetch (or fetch) the patient's data, check it is theirs, read the chart."""
    gathered = _gather(request, prefetch_templates(terminology), options)
    patient = gathered.values.get(PATIENT_KEY)
    if patient is not None:
        if patient.get("resourceType") != "Patient":
            raise IntakeError(f"prefetch.{PATIENT_KEY}", "must be a FHIR Patient")
        if isinstance(patient.get("id"), str) and patient["id"] != patient_id:
            raise IntakeError(
                f"prefetch.{PATIENT_KEY}.id",
                f"is {patient['id']}, not the patient in context ({patient_id})",
            )
    resources: list[dict[str, Any]] = []
    for key in CHART_KEYS:
        for resource, path in _resources(gathered.values.get(key)):
            _check_subject(resource, f"prefetch.{key}{path}", patient_id)
            resources.append(resource)
    reading = read_chart(terminology, patient, resources, today)
    found = _latest_intake(gathered.values.get(INTAKE_KEY), patient_id)
    return PatientData(gathered, reading, found, today)


def _intake_info(data: PatientData) -> IntakeInfo:
    intake = data.intake[0] if data.intake is not None else None
    return IntakeInfo(
        reference=(
            f"QuestionnaireResponse/{intake.get('id', '(no id)')}" if intake is not None else None
        ),
        authored=fhir_date(intake.get("authored")) if intake is not None else None,
        today=data.today,
    )


def cds_response(
    kb: KnowledgeBase,
    terminology: Terminology,
    request: Any,
    max_narrative_chars: int,
    options: CdsOptions | None = None,
    today: date | None = None,
) -> CdsAnswer:
    """The CDS Hooks response for a decoded request.

    Raises ``IntakeError`` (400) naming the field, or ``PreconditionError`` (412).
    """
    options = options or CdsOptions()
    patient_id, on = _check_request(request, HOOK)
    data = _patient_data(
        terminology, request, patient_id, on or today or datetime.now(UTC).date(), options
    )
    if data.intake is None and not data.reading.has_context():
        return CdsAnswer({"cards": []})  # no intake and nothing on the pathway: no card
    intake, where = data.intake if data.intake is not None else (None, "")
    merged = _merge(kb, intake, where, data.reading)
    result = _triage(kb, merged, max_narrative_chars)
    info = _intake_info(data)
    card = card_from_result(kb, result, info, data.reading, merged, data.gathered.not_checked)
    return CdsAnswer({"cards": [card]}, result["urgency"], info.reference)


# ------------------------------------------------------------------ imaging order hooks


def _draft_orders(context: Mapping[str, Any], patient_id: str) -> dict[str, dict[str, Any]]:
    """The draft orders by ``Type/id`` (``context.draftOrders``, a FHIR Bundle)."""
    bundle = context.get("draftOrders")
    where = "context.draftOrders"
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise IntakeError(where, "required: a FHIR Bundle of the draft orders")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise IntakeError(f"{where}.entry", "must be a list")
    orders: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        at = f"{where}.entry[{index}].resource"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise IntakeError(at, "must be a FHIR resource")
        _check_subject(resource, at, patient_id)
        rid = resource.get("id")
        if isinstance(rid, str) and rid:
            orders[f"{resource['resourceType']}/{rid}"] = resource
        elif resource["resourceType"] == "ServiceRequest":
            raise IntakeError(f"{at}.id", "required: a draft ServiceRequest needs its id")
    return orders


def _targets(
    context: Mapping[str, Any], hook: str, orders: Mapping[str, dict[str, Any]]
) -> list[str]:
    """The orders to advise on: the selections (order-select) or every draft (order-sign)."""
    if hook == "order-sign":
        return list(orders)
    selections = context.get("selections")
    if not isinstance(selections, list) or not selections:
        raise IntakeError("context.selections", "required for order-select: the selected order ids")
    for index, item in enumerate(selections):
        if not isinstance(item, str) or item not in orders:
            raise IntakeError(
                f"context.selections[{index}]",
                f"{item!r} is not the Type/id of an order in context.draftOrders",
            )
    return list(dict.fromkeys(selections))


def _because_text(code: str, assessment: Assessment, merged: Merged) -> str:
    """Where a finding's value came from, as the card says it."""
    value = assessment.answers.get(code)
    facts = merged.chart.get(code, [])
    if facts and value == facts[0].value:
        return f"`{code}` = {_value(value)} (chart: " + "; ".join(f.evidence() for f in facts) + ")"
    evidence = assessment.evidence.get(code)
    source = (
        evidence.source if evidence is not None else ("answer" if value is not None else "unknown")
    )
    text = f"`{code}` = {_value(value)} ({source}"
    if evidence is not None and evidence.source == "narrative" and evidence.text:
        text += f': "{evidence.text}"'
    return text + ")"


def _intake_line(info: IntakeInfo) -> str:
    if info.reference is None:
        return "**No backpath intake on file**: findings are from the chart only."
    when = info.authored.isoformat() if info.authored else "unknown date"
    line = f"**Intake:** `{info.reference}`, answered {when}."
    if info.authored is not None and (info.today - info.authored).days > INTAKE_FRESH_DAYS:
        line += (
            f" It is older than {INTAKE_FRESH_DAYS} days: the answers describe that day - "
            "re-assess before acting on this advice."
        )
    return line


def order_response(
    kb: KnowledgeBase,
    terminology: Terminology,
    rules: ImagingRules,
    request: Any,
    hook: str,
    max_narrative_chars: int,
    options: CdsOptions | None = None,
    today: date | None = None,
) -> CdsAnswer:
    """The response to an ``order-select`` or ``order-sign`` request: one card per lumbar
    spine imaging order among the selected (or all) draft ServiceRequests, none otherwise.

    Raises ``IntakeError`` (400) naming the field, or ``PreconditionError`` (412) when an
    imaging order is there but the Patient or the intakes cannot be had.
    """
    options = options or CdsOptions()
    patient_id, on = _check_request(request, hook)
    context = request["context"]
    orders = _draft_orders(context, patient_id)
    imaging = []
    for reference in _targets(context, hook, orders):
        resource = orders[reference]
        if resource.get("resourceType") != "ServiceRequest":
            continue
        code = resource.get("code")
        coding = code.get("coding") if isinstance(code, dict) else None
        matched = rules.match(coding if isinstance(coding, list) else [])
        if matched is not None:
            imaging.append((reference, resource, matched))
    if not imaging:
        return CdsAnswer({"cards": []})  # no lumbar imaging order: nothing to say, no data read

    data = _patient_data(
        terminology, request, patient_id, on or today or datetime.now(UTC).date(), options
    )
    intake, where = data.intake if data.intake is not None else (None, "")
    merged = _merge(kb, intake, where, data.reading)
    assessment = _assess(kb, merged, max_narrative_chars)
    result = assessment.to_json()
    info = _intake_info(data)
    kb_line = (
        f"backpath knowledge base {kb.version} (sha256 `{kb.sha256[:12]}`); decision support, "
        "rules pending clinical safety sign-off."
    )
    cards = []
    per_card: dict[str, dict[str, Any]] = {}
    for reference, resource, matched in imaging:
        decision = decide(rules, matched, assessment.answers, kb.red_flags)
        card = imaging_card(
            rules,
            decision,
            OrderContext(
                resource=resource,
                reference=reference,
                because=lambda code: _because_text(code, assessment, merged),
                urgency=result["urgency"],
                urgency_label=result.get("urgency_text", {}).get("label"),
                intake_line=_intake_line(info),
                kb_version=kb.version,
                kb_line=kb_line,
            ),
        )
        if data.gathered.not_checked:
            card["detail"] += "\n\n**Not checked**\n\n" + "\n".join(
                f"- `{key}`: {why}" for key, why in data.gathered.not_checked.items()
            )
        cards.append(card)
        per_card[card["uuid"]] = {
            "order": reference,
            "verdict": decision.verdict,
            "variants": [o.variant.id for o in decision.deciding],
        }
    return CdsAnswer({"cards": cards}, result["urgency"], info.reference, per_card)


# ----------------------------------------------------------------------------- routes


def _audience(request: Request, public_url: str | None, path: str) -> list[str]:
    base = (public_url or str(request.base_url)).rstrip("/")
    return [f"{base}{path}"]


def _feedback_items(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get("feedback"), list):
        raise IntakeError("feedback", 'send {"feedback": [ ... ]}')
    items = []
    for index, item in enumerate(document["feedback"]):
        where = f"feedback[{index}]"
        if not isinstance(item, dict):
            raise IntakeError(where, "must be an object")
        if not isinstance(item.get("card"), str) or not item["card"]:
            raise IntakeError(f"{where}.card", "required: the card's uuid")
        if item.get("outcome") not in ("accepted", "overridden"):
            raise IntakeError(f"{where}.outcome", "must be accepted or overridden")
        stamp = item.get("outcomeTimestamp")
        if not isinstance(stamp, str) or fhir_date(stamp) is None:
            raise IntakeError(f"{where}.outcomeTimestamp", "required: an ISO 8601 date-time")
        accepted = item.get("acceptedSuggestions")
        if item["outcome"] == "accepted" and (
            not isinstance(accepted, list)
            or not accepted
            or not all(isinstance(a, dict) and isinstance(a.get("id"), str) for a in accepted)
        ):
            raise IntakeError(
                f"{where}.acceptedSuggestions", 'required for accepted: [{"id": uuid}, ...]'
            )
        reason = item.get("overrideReason")
        if reason is not None and not isinstance(reason, dict):
            raise IntakeError(f"{where}.overrideReason", "must be an object")
        items.append(item)
    return items


_CDS_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_CDS_ERRORS = {
    400: "The body is not a CDS Hooks request, or a field is wrong (`field` names it).",
    401: "A JWT is required or was refused (field `Authorization`).",
    404: "No such card or service.",
    412: "Data the service needs is neither in the prefetch nor on the FHIR server.",
    413: "The body is larger than the limit.",
}


def _cds_openapi(body: str, answer: str, codes: tuple[int, ...]) -> dict[str, Any]:
    """The OpenAPI description of a CDS Hooks POST: its JSON body and every answer it can
    give (a 200 and the errors in the ``{"error": {"field", "message"}}`` shape)."""
    json_body = {"schema": {"type": "object", "description": body}}
    responses: dict[int | str, dict[str, Any]] = {
        200: {
            "description": answer,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
    for code in codes:
        responses[code] = {
            "description": _CDS_ERRORS[code],
            "content": {"application/json": {"schema": _CDS_ERROR_SCHEMA}},
        }
    return {
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": json_body, "application/fhir+json": json_body},
            }
        },
        "responses": responses,
    }


_SERVICE_DOC = _cds_openapi(
    "A CDS Hooks request: hook, hookInstance, context, prefetch (CDS Hooks 2.0).",
    '`{"cards": [...]}`',
    (400, 401, 412, 413),
)
_FEEDBACK_DOC = _cds_openapi(
    '`{"feedback": [{"card": uuid, "outcome": "accepted"|"overridden", ...}]}`',
    '`{"stored": n}`',
    (400, 401, 404, 413),
)


def build_cds_router(
    kb: KnowledgeBase,
    max_narrative_chars: int,
    terminology: Terminology,
    verifier: ClientVerifier,
    options: CdsOptions,
    public_url: str | None = None,
    imaging: ImagingRules | None = None,
) -> APIRouter:
    """``GET /cds-services``, ``POST /cds-services/{id}`` and its ``/feedback`` for the
    triage service and the two imaging order services (``imaging``: the imaging rules,
    loaded from the knowledge base when not given)."""
    from backpath.store import audit
    from backpath.store.audit import Actor
    from backpath.web.pages import web

    rules = imaging if imaging is not None else load_imaging()
    router = APIRouter(prefix="/cds-services", tags=["cds hooks"])
    service_path = f"/cds-services/{SERVICE_ID}"

    def authenticate(request: Request, path: str) -> dict[str, Any] | Response:
        if not verifier.enabled:
            return {}
        try:
            return verifier.verify(
                request.headers.get("authorization"), _audience(request, public_url, path)
            )
        except AuthError as exc:
            response = error(401, "Authorization", exc.message)
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response

    def actor(claims: Mapping[str, Any], request: Request) -> Actor:
        client = request.client.host if request.client else None
        name = f"cds-client:{claims.get('iss', 'unauthenticated')}"
        return Actor(name=name[:96], client=client)

    @router.get("", summary="CDS Hooks discovery", response_class=Response)
    async def get_discovery(request: Request) -> Response:
        """The services this CDS service offers."""
        if request.headers.get("authorization") and verifier.enabled:
            checked = authenticate(request, "/cds-services")
            if isinstance(checked, Response):
                return checked
        return json_response(discovery(terminology))

    @router.post(
        f"/{SERVICE_ID}",
        summary="CDS Hooks service: back pain triage",
        response_class=Response,
        **_SERVICE_DOC,
    )
    async def call_service(request: Request) -> Response:
        """A CDS Hooks request in; ``{"cards": [...]}`` out."""
        claims = authenticate(request, service_path)
        if isinstance(claims, Response):
            return claims
        try:
            document = await read_json_body(request)
        except IntakeError as exc:
            return error(400, exc.field, exc.message)

        def work() -> Response:
            return answer_and_record(
                request,
                claims,
                SERVICE_ID,
                document,
                lambda: cds_response(kb, terminology, document, max_narrative_chars, options),
            )

        return await run_in_threadpool(work)

    def answer_and_record(
        request: Request,
        claims: Mapping[str, Any],
        service_id: str,
        document: Any,
        compute: Callable[[], CdsAnswer],
    ) -> Response:
        """Run the service; write every card issued to the audit log; map errors."""
        try:
            answer = compute()
        except IntakeError as exc:
            return error(400, exc.field, exc.message)
        except PreconditionError as exc:
            return error(412, exc.field, exc.message)
        cards = answer.document["cards"]
        if cards:
            context = document.get("context") if isinstance(document, dict) else None
            with web(request).store.session() as session:
                for card in cards:
                    audit.record(
                        session,
                        actor(claims, request),
                        "cds_card",
                        "cds_card",
                        card["uuid"],
                        {
                            "service": service_id,
                            "hookInstance": document.get("hookInstance"),
                            "patientId": (context or {}).get("patientId"),
                            "intake": answer.intake,
                            "urgency": answer.urgency,
                            "indicator": card["indicator"],
                            "tenant": claims.get("tenant"),
                            **answer.per_card.get(card["uuid"], {}),
                        },
                    )
        return json_response(answer.document)

    def order_route(service_id: str, hook: str) -> None:
        path = f"/cds-services/{service_id}"

        async def call_order_service(request: Request) -> Response:
            """A CDS Hooks order request in; one card per lumbar imaging order out."""
            claims = authenticate(request, path)
            if isinstance(claims, Response):
                return claims
            try:
                document = await read_json_body(request)
            except IntakeError as exc:
                return error(400, exc.field, exc.message)

            def work() -> Response:
                return answer_and_record(
                    request,
                    claims,
                    service_id,
                    document,
                    lambda: order_response(
                        kb, terminology, rules, document, hook, max_narrative_chars, options
                    ),
                )

            return await run_in_threadpool(work)

        router.add_api_route(
            f"/{service_id}",
            call_order_service,
            methods=["POST"],
            summary=f"CDS Hooks service: lumbar imaging appropriateness ({hook})",
            response_class=Response,
            **_SERVICE_DOC,
        )

    for order_service, order_hook in ORDER_HOOKS.items():
        order_route(order_service, order_hook)

    async def feedback(request: Request) -> Response:
        """Accepted or overridden cards, stored in the audit log by card uuid."""
        service_id = request.url.path.rstrip("/").rsplit("/", 2)[-2]
        claims = authenticate(request, f"/cds-services/{service_id}/feedback")
        if isinstance(claims, Response):
            return claims
        try:
            items = _feedback_items(await read_json_body(request))
        except IntakeError as exc:
            return error(400, exc.field, exc.message)

        def work() -> Response:
            with web(request).store.session() as session:
                for index, item in enumerate(items):
                    issued = [
                        e
                        for e in audit.events(session, target_id=item["card"], limit=20)
                        if e.action == "cds_card"
                    ]
                    if not issued:
                        return error(
                            400,
                            f"feedback[{index}].card",
                            f"no card {item['card']!r} was issued by this service",
                        )
                for item in items:
                    audit.record(
                        session,
                        actor(claims, request),
                        "cds_feedback",
                        "cds_card",
                        item["card"],
                        {
                            "service": service_id,
                            "outcome": item["outcome"],
                            "outcomeTimestamp": item["outcomeTimestamp"],
                            "acceptedSuggestions": item.get("acceptedSuggestions", []),
                            "overrideReason": item.get("overrideReason"),
                        },
                    )
            return json_response({"stored": len(items)})

        return await run_in_threadpool(work)

    for feedback_service in (SERVICE_ID, *ORDER_HOOKS):
        router.add_api_route(
            f"/{feedback_service}/feedback",
            feedback,
            methods=["POST"],
            summary="CDS Hooks feedback on a card",
            response_class=Response,
            **_FEEDBACK_DOC,
        )

    @router.post("/{service_id}", include_in_schema=False, response_class=Response)
    async def unknown_service(service_id: str) -> Response:
        """Any other service id: 404 in the API's JSON error shape."""
        return error(404, "service_id", f"no CDS service {service_id!r}; see GET /cds-services")

    @router.post("/{service_id}/feedback", include_in_schema=False, response_class=Response)
    async def unknown_feedback(service_id: str) -> Response:
        """Feedback for any other service id: 404."""
        return error(404, "service_id", f"no CDS service {service_id!r}; see GET /cds-services")

    return router
