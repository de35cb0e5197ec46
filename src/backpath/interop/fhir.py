"""FHIR R4 in and out: QuestionnaireResponse -> Intake, Result -> RiskAssessment + Observations.

Plain dicts only (no FHIR library at run time). The mappings are in docs/interop.md:

* ``questionnaire_from_kb`` - the intake as a FHIR ``Questionnaire``: one group per
  questionnaire.yaml section, one item per finding (``linkId`` = finding code).
* ``intake_from_questionnaire_response`` - a ``QuestionnaireResponse`` whose item linkIds
  are finding codes becomes Intake JSON. An item without an answer is *unknown*, never "no".
  Problems raise ``IntakeError`` naming the element (``QuestionnaireResponse.item[1]...``).
* ``risk_assessment`` / ``observations`` / ``bundle_from_result`` - the Result JSON as a
  ``RiskAssessment`` (urgency coded in ``urn:backpath:urgency``) and one ``Observation``
  per finding that decided a fired rule.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from backpath.errors import IntakeError, NarrativeError
from backpath.kb import KnowledgeBase
from backpath.vocabulary import FindingType
from backpath.web.routes_api import error
from backpath.web.triage import Triaged, triage

URGENCY_SYSTEM = "urn:backpath:urgency"
FINDING_SYSTEM = "urn:backpath:finding"
RULE_SYSTEM = "urn:backpath:rule"
SNOMED_SYSTEM = "http://snomed.info/sct"
QUESTIONNAIRE_ID = "backpath-intake"
QUESTIONNAIRE_URL = "urn:backpath:Questionnaire:backpath-intake"
NARRATIVE_LINK_ID = "narrative"
FHIR_JSON = "application/fhir+json"
DATA_ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"

_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")
_VALUE_KEYS = ("valueBoolean", "valueInteger", "valueDecimal", "valueString", "valueCoding")
_QR_STATUSES = ("in-progress", "completed", "amended", "stopped")


def answer_system(code: str) -> str:
    """The code system of one choice finding's answer values (``urn:backpath:finding:sex``)."""
    return f"{FINDING_SYSTEM}:{code}"


# ---------------------------------------------------------------------------- Questionnaire


def _snomed_codings(finding: Any, unverified_snomed: bool) -> list[dict[str, Any]]:
    """The SNOMED CT coding of a finding, if it has one that may be used for coding.

    findings.yaml marks ids taken from memory as ``verified: false``: a terminologist must
    confirm them before they are used for coding, so they are left out unless asked for.
    """
    snomed = finding.snomed
    if snomed is None or not (snomed.verified or unverified_snomed):
        return []
    return [{"system": SNOMED_SYSTEM, "code": snomed.code, "display": snomed.display}]


def finding_code(kb: KnowledgeBase, code: str, unverified_snomed: bool = False) -> dict[str, Any]:
    """A finding as a FHIR ``CodeableConcept``: SNOMED CT when known, always the local code."""
    finding = kb.findings[code]
    return {
        "coding": [
            *_snomed_codings(finding, unverified_snomed),
            {"system": FINDING_SYSTEM, "code": code, "display": finding.label},
        ],
        "text": finding.label,
    }


def _enable_when(ask_if: Any) -> list[dict[str, Any]] | None:
    """``ask_if`` (asked unless the condition is *false*) as FHIR ``enableWhen`` items.

    Only a finding code or ``{any: [codes]}`` is translated: the question is enabled when any
    of those booleans is "yes" *or unanswered* (unknown is never "no"). Anything else returns
    ``None`` and the question is always enabled - asking too much is the safe side.
    """
    if isinstance(ask_if, str):
        codes = [ask_if]
    elif (
        isinstance(ask_if, dict)
        and set(ask_if) == {"any"}
        and isinstance(ask_if["any"], list)
        and all(isinstance(c, str) for c in ask_if["any"])
    ):
        codes = list(ask_if["any"])
    else:
        return None
    conditions: list[dict[str, Any]] = []
    for code in codes:
        conditions.append({"question": code, "operator": "exists", "answerBoolean": False})
        conditions.append({"question": code, "operator": "=", "answerBoolean": True})
    return conditions


def _question_item(
    kb: KnowledgeBase, code: str, ask_if: Any, unverified_snomed: bool
) -> dict[str, Any]:
    finding = kb.findings[code]
    item: dict[str, Any] = {"linkId": code}
    codings = _snomed_codings(finding, unverified_snomed)
    item["code"] = [*codings, {"system": FINDING_SYSTEM, "code": code, "display": finding.label}]
    item["text"] = finding.question
    if finding.type is FindingType.BOOLEAN:
        item["type"] = "boolean"
    elif finding.type is FindingType.INTEGER:
        item["type"] = "integer"
        extensions = []
        if finding.min is not None:
            extensions.append(
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/minValue",
                    "valueInteger": finding.min,
                }
            )
        if finding.max is not None:
            extensions.append(
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/maxValue",
                    "valueInteger": finding.max,
                }
            )
        if extensions:
            item["extension"] = extensions
    else:
        item["type"] = "choice"
        if finding.type is FindingType.MULTI_CHOICE:
            item["repeats"] = True
        item["answerOption"] = [
            {
                "valueCoding": {
                    "system": answer_system(code),
                    "code": value.value,
                    "display": value.label,
                }
            }
            for value in finding.values
        ]
    enable_when = _enable_when(ask_if) if ask_if is not None else None
    if enable_when:
        item["enableWhen"] = enable_when
        item["enableBehavior"] = "any"
    return item


def questionnaire_from_kb(kb: KnowledgeBase, unverified_snomed: bool = False) -> dict[str, Any]:
    """The intake (knowledge/questionnaire.yaml) as a FHIR R4 ``Questionnaire``.

    One ``group`` item per section, in order (safety-screen sections first), each holding one
    item per finding with ``linkId`` = finding code. No item is ``required``: an unanswered
    question is *unknown*, which the triage treats as the worse case.
    """
    groups = []
    for section in kb.sections:
        group: dict[str, Any] = {
            "linkId": section.id,
            "text": section.title,
            "type": "group",
            "item": [
                _question_item(kb, q.code, q.ask_if, unverified_snomed) for q in section.questions
            ],
        }
        if section.intro:
            group["item"].insert(
                0, {"linkId": f"{section.id}.intro", "text": section.intro, "type": "display"}
            )
        groups.append(group)
    return {
        "resourceType": "Questionnaire",
        "id": QUESTIONNAIRE_ID,
        "url": QUESTIONNAIRE_URL,
        "version": kb.version,
        "name": "BackpathIntake",
        "title": "backpath intake: back pain that spreads into the leg",
        "status": "draft",
        "subjectType": ["Patient"],
        "description": (
            f"Generated from the backpath knowledge base {kb.version} (sha256 {kb.sha256}). "
            "Rules are a draft pending clinical safety officer sign-off."
        ),
        "item": groups,
    }


# ---------------------------------------------------------- QuestionnaireResponse -> Intake


def _answer_value(kb: KnowledgeBase, code: str, answer: Any, where: str) -> Any:
    """The Intake JSON value of one ``answer`` element (range checks are Intake's job)."""
    if not isinstance(answer, dict):
        raise IntakeError(where, "an answer must be an object with one value[x]")
    present = [key for key in answer if key.startswith("value")]
    if len(present) != 1:
        raise IntakeError(where, "an answer must have exactly one value[x]")
    key = present[0]
    value = answer[key]
    if code == NARRATIVE_LINK_ID:
        if key != "valueString" or not isinstance(value, str):
            raise IntakeError(f"{where}.{key}", "the narrative must be a valueString")
        return value
    ftype = kb.findings[code].type
    if ftype is FindingType.BOOLEAN:
        if key != "valueBoolean" or not isinstance(value, bool):
            raise IntakeError(f"{where}.{key}", f"{code} is answered with valueBoolean")
        return value
    if ftype is FindingType.INTEGER:
        if key != "valueInteger" or isinstance(value, bool) or not isinstance(value, int):
            raise IntakeError(f"{where}.{key}", f"{code} is answered with valueInteger")
        return value
    if key == "valueString" and isinstance(value, str):
        return value
    if key == "valueCoding" and isinstance(value, dict):
        system = value.get("system")
        if system is not None and system != answer_system(code):
            raise IntakeError(
                f"{where}.valueCoding.system",
                f"expected {answer_system(code)} (or no system), not {system!r}",
            )
        chosen = value.get("code")
        if not isinstance(chosen, str):
            raise IntakeError(f"{where}.valueCoding.code", "must be a string")
        return chosen
    raise IntakeError(f"{where}.{key}", f"{code} is answered with valueCoding or valueString")


def _collect_items(
    kb: KnowledgeBase,
    items: Any,
    where: str,
    answers: dict[str, Any],
    paths: dict[str, str],
) -> None:
    if not isinstance(items, list):
        raise IntakeError(where, "must be a list of items")
    for index, item in enumerate(items):
        here = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise IntakeError(here, "an item must be an object")
        link_id = item.get("linkId")
        if not isinstance(link_id, str) or not link_id:
            raise IntakeError(f"{here}.linkId", "every item needs a linkId")
        raw_answers = item.get("answer")
        if raw_answers is not None and not isinstance(raw_answers, list):
            raise IntakeError(f"{here}.answer", "must be a list")
        if link_id in kb.findings or link_id == NARRATIVE_LINK_ID:
            if link_id in paths:
                raise IntakeError(
                    f"{here}.linkId", f"{link_id} is answered twice (also at {paths[link_id]})"
                )
            paths[link_id] = here
            values = [
                _answer_value(kb, link_id, answer, f"{here}.answer[{n}]")
                for n, answer in enumerate(raw_answers or [])
            ]
            multi = (
                link_id != NARRATIVE_LINK_ID
                and kb.findings[link_id].type is FindingType.MULTI_CHOICE
            )
            if multi:
                if values:
                    answers[link_id] = values
            elif len(values) > 1:
                raise IntakeError(f"{here}.answer", f"{link_id} takes one answer")
            elif values:
                answers[link_id] = values[0]
        elif raw_answers:
            raise IntakeError(f"{here}.linkId", f"{link_id!r} is not a backpath finding code")
        if "item" in item:
            _collect_items(kb, item["item"], f"{here}.item", answers, paths)


def intake_from_questionnaire_response(
    kb: KnowledgeBase,
    response: Any,
    age: int | None = None,
    where: str = "QuestionnaireResponse",
) -> tuple[dict[str, Any], dict[str, str]]:
    """Intake JSON from a ``QuestionnaireResponse``, and the element path of each answer.

    Items are matched by ``linkId`` = finding code at any depth (groups are walked); an item
    ``narrative`` with a ``valueString`` is the person's own words. An ``age`` answered in the
    response wins over ``age`` (from Patient.birthDate). Raises ``IntakeError`` naming the
    element.
    """
    if not isinstance(response, dict):
        raise IntakeError(where, "must be a FHIR QuestionnaireResponse object")
    if response.get("resourceType") != "QuestionnaireResponse":
        raise IntakeError(f"{where}.resourceType", "must be QuestionnaireResponse")
    status = response.get("status")
    if status is not None and status not in _QR_STATUSES:
        raise IntakeError(
            f"{where}.status", f"must be one of {', '.join(_QR_STATUSES)}, not {status!r}"
        )
    answers: dict[str, Any] = {}
    paths: dict[str, str] = {}
    if "item" in response:
        _collect_items(kb, response["item"], f"{where}.item", answers, paths)
    narrative = answers.pop(NARRATIVE_LINK_ID, None)
    if age is not None and "age" not in answers:
        answers["age"] = age
    document: dict[str, Any] = {"answers": answers}
    if narrative is not None:
        document["narrative"] = narrative
    if isinstance(response.get("id"), str):
        document["id"] = response["id"]
    return document, paths


def triage_questionnaire_response(
    kb: KnowledgeBase,
    response: Any,
    max_narrative_chars: int,
    age: int | None = None,
    where: str = "QuestionnaireResponse",
    age_field: str = "age",
) -> Triaged:
    """Assess a ``QuestionnaireResponse``; an ``IntakeError`` names the FHIR element."""
    document, paths = intake_from_questionnaire_response(kb, response, age, where)
    try:
        return triage(document, kb, max_narrative_chars)
    except IntakeError as exc:
        code = exc.field.removeprefix("answers.")
        path = paths.get(code, age_field if code == "age" else exc.field)
        raise IntakeError(path, f"{code}: {exc.message}") from None
    except NarrativeError as exc:
        raise IntakeError(paths.get("narrative", "narrative"), str(exc)) from None


def age_from_birth_date(birth_date: Any, on: date, where: str) -> int | None:
    """Whole years from ``birth_date`` to ``on``; ``None`` when the date is only a year or
    a month (the age could be either of two numbers: leave it unknown)."""
    if not isinstance(birth_date, str):
        raise IntakeError(where, "must be a FHIR date string")
    if _PARTIAL_DATE.match(birth_date):
        return None
    if not _FULL_DATE.match(birth_date):
        raise IntakeError(where, f"not a FHIR date: {birth_date!r}")
    try:
        born = date.fromisoformat(birth_date)
    except ValueError:
        raise IntakeError(where, f"not a calendar date: {birth_date!r}") from None
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if years < 0:
        raise IntakeError(where, f"is after the date of the request ({on.isoformat()})")
    return years


# ------------------------------------------------------------------ Result -> FHIR resources


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _display_value(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def risk_assessment(
    kb: KnowledgeBase,
    result: Mapping[str, Any],
    subject: Mapping[str, Any] | None = None,
    occurrence: str | None = None,
    resource_id: str | None = None,
) -> dict[str, Any]:
    """The Result JSON as a FHIR R4 ``RiskAssessment`` (status ``final``).

    ``prediction[0].qualitativeRisk`` is the urgency in ``urn:backpath:urgency``; the note
    lists the fired rules and the rules that could still fire (unknown is never "no").
    ``subject`` is required in R4: without one, a display-only reference is used.
    """
    urgency = result["urgency"]
    wording = result.get("urgency_text", {})
    fired = result.get("fired_rules", [])
    rank = {"self_care": 0, "routine": 1, "urgent": 2, "emergency": 3}
    open_rules = [u for u in result.get("unresolved", []) if rank[u["urgency"]] > rank[urgency]]
    lines = [f"backpath urgency: {urgency}."]
    if fired:
        lines.append(
            "Fired rules: " + "; ".join(f"{r['id']} ({r['urgency']})" for r in fired) + "."
        )
    if open_rules:
        asks = list(dict.fromkeys(code for u in open_rules for code in u["ask"]))
        lines.append(
            "Not ruled out (questions unanswered): "
            + "; ".join(f"{u['id']} ({u['urgency']})" for u in open_rules)
            + ". Ask: "
            + ", ".join(asks)
            + "."
        )
    kb_id = result.get("knowledge_base", {"version": kb.version, "sha256": kb.sha256})
    lines.append(f"Knowledge base {kb_id['version']} (sha256 {kb_id['sha256']}).")
    prediction: dict[str, Any] = {
        "outcome": {
            "text": "Concerns: " + (", ".join(result.get("concerns", [])) or "none"),
        },
        "qualitativeRisk": {
            "coding": [
                {
                    "system": URGENCY_SYSTEM,
                    "code": urgency,
                    "display": wording.get("label", urgency),
                }
            ],
            "text": wording.get("clinician", urgency),
        },
    }
    if fired:
        prediction["rationale"] = " ".join(r["clinician_message"] for r in fired)
    return {
        "resourceType": "RiskAssessment",
        "id": resource_id or str(uuid.uuid4()),
        "status": "final",
        "method": {
            "coding": [{"system": RULE_SYSTEM, "code": "backpath-triage"}],
            "text": f"backpath triage, knowledge base {kb_id['version']}",
        },
        "subject": dict(subject) if subject else {"display": "person who answered the intake"},
        "occurrenceDateTime": occurrence or _now(),
        "prediction": [prediction],
        "note": [{"text": " ".join(lines)}],
    }


def observations(
    kb: KnowledgeBase,
    result: Mapping[str, Any],
    subject: Mapping[str, Any] | None = None,
    effective: str | None = None,
    unverified_snomed: bool = False,
) -> list[dict[str, Any]]:
    """One FHIR R4 ``Observation`` per finding that decided a fired rule, in rule order.

    A finding the rule counted as unknown gets ``dataAbsentReason`` ``unknown`` (never a
    "no"); narrative evidence (the person's words and span) goes in a note.
    """
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    when = effective or _now()
    for rule in result.get("fired_rules", []):
        for because in rule.get("because", []):
            code = because["code"]
            if code in seen or code not in kb.findings:
                continue
            seen.add(code)
            obs: dict[str, Any] = {
                "resourceType": "Observation",
                "id": str(uuid.uuid4()),
                "status": "final",
                "category": [
                    {"coding": [{"system": OBSERVATION_CATEGORY_SYSTEM, "code": "survey"}]}
                ],
                "code": finding_code(kb, code, unverified_snomed),
                "subject": dict(subject)
                if subject
                else {"display": "person who answered the intake"},
                "effectiveDateTime": when,
                "method": {"text": f"backpath: {because['source']}"},
            }
            value = because.get("value")
            if value is None:
                obs["dataAbsentReason"] = {
                    "coding": [{"system": DATA_ABSENT_SYSTEM, "code": "unknown"}],
                    "text": "not answered: counted as the worse case",
                }
            elif isinstance(value, bool):
                obs["valueBoolean"] = value
            elif isinstance(value, int):
                obs["valueInteger"] = value
            else:
                obs["valueString"] = _display_value(value)
            notes = [f"Decides rule {rule['id']}."]
            if because.get("evidence"):
                span = because.get("span")
                notes.append(
                    f'Evidence: "{because["evidence"]}"'
                    + (f" (characters {span[0]}-{span[1]})" if span else "")
                )
            obs["note"] = [{"text": " ".join(notes)}]
            out.append(obs)
    return out


def bundle_from_result(
    kb: KnowledgeBase,
    result: Mapping[str, Any],
    subject: Mapping[str, Any] | None = None,
    unverified_snomed: bool = False,
) -> dict[str, Any]:
    """A FHIR R4 ``Bundle`` (type ``collection``): the RiskAssessment, then the Observations."""
    when = _now()
    resources = [
        risk_assessment(kb, result, subject, when),
        *observations(kb, result, subject, when, unverified_snomed),
    ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": when,
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
            for resource in resources
        ],
    }


# ------------------------------------------------------------------------------- routes


def fhir_response(document: Any, status: int = 200) -> Response:
    """A FHIR JSON response."""
    body = json.dumps(document, ensure_ascii=False)
    return Response(body, status_code=status, media_type=FHIR_JSON)


async def read_json_body(request: Request) -> Any:
    """The decoded JSON body; raises ``IntakeError("(body)")`` when it is not JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", FHIR_JSON):
        raise IntakeError("(body)", f"send application/json or {FHIR_JSON}")
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntakeError("(body)", f"not valid JSON: {exc}") from None


def build_fhir_router(kb: KnowledgeBase, max_narrative_chars: int) -> APIRouter:
    """``GET /fhir/Questionnaire/backpath-intake`` and
    ``POST /fhir/QuestionnaireResponse/$triage``."""
    router = APIRouter(prefix="/fhir", tags=["fhir r4"])
    questionnaire = questionnaire_from_kb(kb)

    @router.get(
        f"/Questionnaire/{QUESTIONNAIRE_ID}",
        summary="The intake as a FHIR R4 Questionnaire",
        response_class=Response,
    )
    async def get_questionnaire() -> Response:
        """The intake questions, generated from the knowledge base."""
        return fhir_response(questionnaire)

    @router.post(
        "/QuestionnaireResponse/$triage",
        summary="Triage a FHIR QuestionnaireResponse; returns a Bundle",
        response_class=Response,
    )
    async def triage_response(request: Request) -> Response:
        """QuestionnaireResponse in; Bundle (RiskAssessment + Observations) out."""
        try:
            document = await read_json_body(request)
        except IntakeError as exc:
            return error(400, exc.field, exc.message)

        def work() -> Response:
            try:
                triaged = triage_questionnaire_response(kb, document, max_narrative_chars)
            except IntakeError as exc:
                return error(400, exc.field, exc.message)
            subject = document.get("subject")
            bundle = bundle_from_result(
                kb,
                triaged.assessment.to_json(),
                subject if isinstance(subject, dict) and subject else None,
            )
            return fhir_response(bundle)

        return await run_in_threadpool(work)

    return router
