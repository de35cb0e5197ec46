"""Write an assessment back to the EHR's FHIR server (SMART launch, issue 13).

``plan_write_back`` turns a stored intake and its Result JSON into the FHIR R4 resources an
EHR keeps, in the order they are created:

1. the ``QuestionnaireResponse`` (the person's answers, linkIds as in
   ``/fhir/Questionnaire/backpath-intake``; an answer given as "not sure" is an item without
   an answer, which reads back as unknown, never "no");
2. a ``RiskAssessment`` (urgency as ``prediction.qualitativeRisk``, ``basis`` = the
   QuestionnaireResponse, one ``reasonCode`` per fired rule naming its sources);
3. ``Observation``\\ s: one per finding that decided a fired rule (finding codes: a SNOMED CT
   concept only for a finding that is present, never a disorder, never with ``false``), and
   one per instrument score, LOINC-coded (``terminology/instruments.yaml``);
4. a ``ServiceRequest`` (status ``draft``, intent ``proposal``) per next step that
   ``terminology/writeback/referrals.yaml`` lists as a referral;
5. a ``DocumentReference`` holding the patient's handout as a PDF.

References between them are ``urn:uuid:`` placeholders until the server has given each its
id. ``post_resources`` creates them one by one (``POST [base]/[type]``), replacing the
placeholders with the server's ids, and stops at the first refusal: the outcome lists what
was written (type and id) and what was not, so nothing is lost - the assessment is stored
in backpath anyway. ``write_back_assessment`` does all of it for one stored assessment.
Nothing clinical is decided here: the resources say what the core decided.
"""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backpath.errors import KnowledgeError
from backpath.instruments import load_instruments
from backpath.interop.fhir import (
    FHIR_JSON,
    FINDING_SYSTEM,
    NARRATIVE_LINK_ID,
    QUESTIONNAIRE_URL,
    RULE_SYSTEM,
    QuestionnaireInstrument,
    answer_system,
    observations,
    questionnaire_instruments,
    risk_assessment,
    score_observations,
)
from backpath.interop.fhir_client import outcome_text
from backpath.interop.terminology import TERMINOLOGY_DIR
from backpath.kb import KnowledgeBase
from backpath.vocabulary import FindingType

REFERRALS_FILE = TERMINOLOGY_DIR / "writeback" / "referrals.yaml"
NEXT_STEP_SYSTEM = "urn:backpath:next-step"
DOCUMENT_SYSTEM = "urn:backpath:document"
TIMEOUT_SECONDS = 10.0
_PRIORITIES = ("routine", "urgent", "asap", "stat")
_URGENCIES = ("emergency", "urgent", "routine", "self_care")


# ------------------------------------------------------------------- referrals (data)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Referral(_Closed):
    """One next step that is a referral, and the service it goes to (plain words)."""

    next_step: str
    service: str = Field(min_length=3)


class ReferralMap(_Closed):
    """``terminology/writeback/referrals.yaml``."""

    name: str
    priority: dict[str, str]
    referrals: tuple[Referral, ...]

    def by_step(self) -> dict[str, Referral]:
        """The referrals keyed by next-step id."""
        return {entry.next_step: entry for entry in self.referrals}


@functools.lru_cache(maxsize=4)
def _read_referrals(path: Path) -> ReferralMap:
    where = f"terminology/writeback/{path.name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ReferralMap.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError([f"{where}: cannot read: {exc}"]) from None
    except ValidationError as exc:
        raise KnowledgeError(
            [
                f"{where}: {'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            ]
        ) from None


def load_referrals(kb: KnowledgeBase, path: Path | None = None) -> ReferralMap:
    """The referral map, checked against the knowledge base: every listed next step exists
    (kind ``next_step``), no step twice, every urgency has a valid FHIR priority. Raises
    ``KnowledgeError`` listing every problem."""
    path = path or REFERRALS_FILE
    referrals = _read_referrals(path)
    where = f"terminology/writeback/{path.name}"
    problems: list[str] = []
    seen: set[str] = set()
    for entry in referrals.referrals:
        advice = kb.advice.get(entry.next_step)
        if advice is None or advice.kind != "next_step":
            problems.append(f"{where}: {entry.next_step}: not a next step (knowledge/advice)")
        if entry.next_step in seen:
            problems.append(f"{where}: {entry.next_step}: listed twice")
        seen.add(entry.next_step)
    for urgency in _URGENCIES:
        value = referrals.priority.get(urgency)
        if value not in _PRIORITIES:
            problems.append(
                f"{where}: priority.{urgency}: must be one of {', '.join(_PRIORITIES)}, "
                f"not {value!r}"
            )
    if problems:
        raise KnowledgeError(problems)
    return referrals


# ------------------------------------------------------------------ building resources


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _placeholder() -> str:
    return str(uuid.uuid4())


def _ref(resource: Mapping[str, Any]) -> dict[str, str]:
    """A reference to a resource of this plan (resolved to ``Type/id`` once created)."""
    return {"reference": f"urn:uuid:{resource['id']}"}


def _finding_answers(kb: KnowledgeBase, code: str, value: Any) -> list[dict[str, Any]]:
    """The ``answer`` list of one finding item (empty: the answer is unknown)."""
    if value is None:
        return []
    finding = kb.findings[code]
    if finding.type is FindingType.BOOLEAN:
        return [{"valueBoolean": bool(value)}]
    if finding.type is FindingType.INTEGER:
        return [{"valueInteger": int(value)}]
    labels = {choice.value: choice.label for choice in finding.values}
    chosen = value if isinstance(value, list | tuple) else [value]
    return [
        {
            "valueCoding": {
                "system": answer_system(code),
                "code": str(one),
                "display": labels.get(str(one), str(one)),
            }
        }
        for one in chosen
    ]


def _instrument_answer(entry: QuestionnaireInstrument, item: Any, score: int) -> dict[str, Any]:
    """One instrument answer: the answer option when exactly one option carries that score,
    else the item score itself (``valueInteger``; backpath keeps scores, not options)."""
    options = [code for code, value in entry.option_scores(item).items() if value == score]
    if len(options) == 1:
        number = int(options[0].removeprefix("option-"))
        option = entry.instrument.options_for(item)[number - 1]
        return {
            "valueCoding": {
                "system": entry.answer_system(item),
                "code": options[0],
                "display": option.text,
            }
        }
    return {"valueInteger": score}


def _instrument_groups(instruments: Mapping[str, Any]) -> list[dict[str, Any]]:
    offered = {entry.instrument.id: entry for entry in questionnaire_instruments()}
    known = load_instruments()
    groups: list[dict[str, Any]] = []
    for ident, given in instruments.items():
        entry = offered.get(ident)
        if entry is None or ident not in known:
            continue
        item_ids = entry.instrument.item_ids
        scores = (
            dict(zip(item_ids, given, strict=False))
            if isinstance(given, list | tuple)
            else dict(given)
        )
        items = []
        for question in entry.instrument.items:
            score = scores.get(question.id)
            item: dict[str, Any] = {"linkId": entry.link_id(question), "text": question.text}
            if isinstance(score, int) and not isinstance(score, bool):
                item["answer"] = [_instrument_answer(entry, question, score)]
            items.append(item)
        groups.append({"linkId": ident, "text": entry.instrument.name, "item": items})
    return groups


def questionnaire_response_from_intake(
    kb: KnowledgeBase,
    intake: Mapping[str, Any],
    subject: Mapping[str, Any],
    authored: str | None = None,
) -> dict[str, Any]:
    """A stored intake (Intake JSON) as a completed ``QuestionnaireResponse``.

    Items sit in the groups of ``/fhir/Questionnaire/backpath-intake`` (one per section,
    one per instrument, then ``narrative``); ``$triage`` and the CDS service read it back
    to the same answers. A "not sure" answer is an item without an answer: unknown.
    """
    answers: Mapping[str, Any] = intake.get("answers") or {}
    items: list[dict[str, Any]] = []
    placed: set[str] = set()
    for section in kb.sections:
        group_items = []
        for question in section.questions:
            code = question.code
            if code not in answers or code in placed:
                continue
            placed.add(code)
            item: dict[str, Any] = {"linkId": code, "text": kb.findings[code].question}
            given = _finding_answers(kb, code, answers[code])
            if given:
                item["answer"] = given
            group_items.append(item)
        if group_items:
            items.append({"linkId": section.id, "text": section.title, "item": group_items})
    for code, value in answers.items():  # answered outside the questionnaire's sections
        if code in placed or code not in kb.findings:
            continue
        item = {"linkId": code, "text": kb.findings[code].question}
        given = _finding_answers(kb, code, value)
        if given:
            item["answer"] = given
        items.append(item)
    items.extend(_instrument_groups(intake.get("instruments") or {}))
    narrative = intake.get("narrative")
    if isinstance(narrative, str) and narrative.strip():
        items.append({"linkId": NARRATIVE_LINK_ID, "answer": [{"valueString": narrative}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": _placeholder(),
        "questionnaire": QUESTIONNAIRE_URL,
        "status": "completed",
        "subject": dict(subject),
        "authored": authored or _now(),
        "item": items,
    }


def _risk_assessment(
    kb: KnowledgeBase,
    result: Mapping[str, Any],
    subject: Mapping[str, Any],
    when: str,
    basis: Mapping[str, Any],
) -> dict[str, Any]:
    """``fhir.risk_assessment`` with its basis (the QuestionnaireResponse) and one reason
    per fired rule: the rule id, its title, and the sources it cites."""
    resource = risk_assessment(kb, result, subject, when, resource_id=_placeholder())
    resource["basis"] = [_ref(basis)]
    reasons = []
    for rule in result.get("fired_rules", []):
        sources = ", ".join(str(source) for source in rule.get("sources", []))
        reasons.append(
            {
                "coding": [
                    {"system": RULE_SYSTEM, "code": rule["id"], "display": rule.get("title")}
                ],
                "text": f"{rule.get('title', rule['id'])} (sources: {sources or 'none'})",
            }
        )
    if reasons:
        resource["reasonCode"] = reasons
    return resource


def _service_requests(
    kb: KnowledgeBase,
    result: Mapping[str, Any],
    subject: Mapping[str, Any],
    when: str,
    risk: Mapping[str, Any],
    response: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """One proposed ``ServiceRequest`` per next step of the result that is a referral."""
    referrals = load_referrals(kb)
    by_step = referrals.by_step()
    priority = referrals.priority.get(str(result.get("urgency")), "routine")
    out = []
    for step in result.get("next_steps", []):
        referral = by_step.get(str(step.get("id")))
        if referral is None:
            continue
        advice = kb.advice[referral.next_step]
        out.append(
            {
                "resourceType": "ServiceRequest",
                "id": _placeholder(),
                "status": "draft",
                "intent": "proposal",
                "priority": priority,
                "code": {
                    "coding": [
                        {
                            "system": NEXT_STEP_SYSTEM,
                            "code": referral.next_step,
                            "display": referral.service,
                        }
                    ],
                    "text": referral.service,
                },
                "subject": dict(subject),
                "authoredOn": when,
                "reasonReference": [_ref(risk)],
                "supportingInfo": [_ref(response)],
                "note": [{"text": f"Proposed by backpath triage: {advice.clinician}"}],
            }
        )
    return out


def _document_reference(
    pdf: bytes,
    subject: Mapping[str, Any],
    when: str,
    related: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The handout PDF as a ``DocumentReference`` (base64 attachment)."""
    return {
        "resourceType": "DocumentReference",
        "id": _placeholder(),
        "status": "current",
        "type": {
            "coding": [
                {"system": DOCUMENT_SYSTEM, "code": "handout", "display": "Patient handout"}
            ],
            "text": "backpath patient handout (back pain that spreads into the leg)",
        },
        "subject": dict(subject),
        "date": when,
        "description": "The advice the person was given: urgency, what to do now, when to "
        "get help at once, next steps.",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "language": "en",
                    "data": base64.b64encode(pdf).decode("ascii"),
                    "title": "backpath-handout.pdf",
                    "creation": when,
                }
            }
        ],
        "context": {"related": [_ref(resource) for resource in related]},
    }


def plan_write_back(
    kb: KnowledgeBase,
    intake: Mapping[str, Any],
    result: Mapping[str, Any],
    patient_id: str,
    pdf: bytes | None,
    when: str | None = None,
    language: str | None = None,
) -> list[dict[str, Any]]:
    """The resources to create for one assessment, in creation order (see the module).

    Each has a placeholder ``id``; references between them are ``urn:uuid:<id>``. No
    ``pdf``: no DocumentReference.
    """
    when = when or _now()
    subject = {"reference": f"Patient/{patient_id}"}
    response = questionnaire_response_from_intake(kb, intake, subject, when)
    risk = _risk_assessment(kb, result, subject, when, response)
    derived = [_ref(response)]
    found = observations(kb, result, subject, when)
    scores = score_observations(result, subject, when)
    for observation in (*found, *scores):
        observation["id"] = _placeholder()
        observation["derivedFrom"] = list(derived)
    requests = _service_requests(kb, result, subject, when, risk, response)
    resources: list[dict[str, Any]] = [response, risk, *found, *scores, *requests]
    if pdf is not None:
        document = _document_reference(pdf, subject, when, [risk, response])
        if language:
            document["content"][0]["attachment"]["language"] = language
        resources.append(document)
    return resources


# ----------------------------------------------------------------------------- posting


@dataclass(frozen=True)
class Written:
    """One resource the EHR accepted: its type and the id the server gave it."""

    resource_type: str
    id: str
    label: str

    @property
    def reference(self) -> str:
        """``Type/id``."""
        return f"{self.resource_type}/{self.id}"


@dataclass
class WriteBackOutcome:
    """What happened: the resources written, and - when the server refused one or could not
    be reached - the error and the resources not written."""

    written: list[Written] = field(default_factory=list)
    error: str | None = None
    not_written: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every resource was written."""
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON (kept with the SMART session, shown on the page)."""
        return {
            "written": [
                {"resourceType": w.resource_type, "id": w.id, "label": w.label}
                for w in self.written
            ],
            "error": self.error,
            "not_written": list(self.not_written),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WriteBackOutcome:
        """Rebuild an outcome from ``to_json``."""
        return cls(
            written=[
                Written(str(w["resourceType"]), str(w["id"]), str(w["label"]))
                for w in data.get("written", [])
            ],
            error=data.get("error"),
            not_written=[str(item) for item in data.get("not_written", [])],
        )


def _label(resource: Mapping[str, Any]) -> str:
    """A short description of a resource for the confirmation page."""
    kind = str(resource.get("resourceType"))
    if kind == "Observation":
        code = resource.get("code", {})
        return f"Observation: {code.get('text') or 'finding'}"
    if kind == "RiskAssessment":
        risk = resource["prediction"][0]["qualitativeRisk"]["coding"][0]
        return f"RiskAssessment: urgency {risk['code']}"
    if kind == "ServiceRequest":
        return f"ServiceRequest (proposed): {resource['code']['text']}"
    if kind == "DocumentReference":
        return "DocumentReference: patient handout (PDF)"
    if kind == "QuestionnaireResponse":
        return "QuestionnaireResponse: the answers"
    return kind


def _resolve(value: Any, ids: Mapping[str, str]) -> Any:
    """``value`` with every placeholder reference replaced by the server's ``Type/id``."""
    if isinstance(value, dict):
        out = {key: _resolve(item, ids) for key, item in value.items()}
        reference = out.get("reference")
        if isinstance(reference, str) and reference in ids:
            out["reference"] = ids[reference]
        return out
    if isinstance(value, list):
        return [_resolve(item, ids) for item in value]
    return value


def _created_id(response: httpx2.Response, kind: str) -> str | None:
    """The id the server gave: the returned resource's ``id``, else the ``Location``
    header (``[base]/Type/id/_history/v``)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("id"), str) and body["id"]:
        return str(body["id"])
    location = response.headers.get("location", "")
    parts = [part for part in urlsplit(location).path.split("/") if part]
    if kind in parts:
        index = parts.index(kind)
        if index + 1 < len(parts):
            return parts[index + 1]
    return None


def _refusal(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        return outcome_text(body)
    return response.text[:300] or "(no details)"


def post_resources(
    server: str,
    access_token: str,
    resources: Sequence[Mapping[str, Any]],
    client: httpx2.Client | None = None,
) -> WriteBackOutcome:
    """Create ``resources`` on the FHIR server ``server`` (``POST [base]/[type]`` with the
    bearer token), in order, resolving the placeholder references; stops at the first
    failure (the rest are listed as not written)."""
    base = server.rstrip("/") + "/"
    outcome = WriteBackOutcome()
    ids: dict[str, str] = {}
    own = client is None
    http = client or httpx2.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    headers = {
        "Authorization": f"Bearer {access_token}",
        "Content-Type": FHIR_JSON,
        "Accept": FHIR_JSON,
        "Prefer": "return=representation",
    }
    try:
        for index, resource in enumerate(resources):
            kind = str(resource["resourceType"])
            placeholder = f"urn:uuid:{resource['id']}"
            body = _resolve({k: v for k, v in resource.items() if k != "id"}, ids)
            problem: str | None = None
            try:
                response = http.post(base + kind, json=body, headers=headers)
            except httpx2.HTTPError as exc:
                problem = f"the EHR's FHIR server could not be reached: {exc}"
            else:
                if response.status_code not in (200, 201):
                    problem = (
                        f"the EHR refused the {kind} (HTTP {response.status_code}): "
                        f"{_refusal(response)}"
                    )
                else:
                    created = _created_id(response, kind)
                    if created is None:
                        problem = f"the EHR accepted the {kind} but gave no id for it"
                    else:
                        ids[placeholder] = f"{kind}/{created}"
                        outcome.written.append(Written(kind, created, _label(resource)))
            if problem is not None:
                outcome.error = problem
                outcome.not_written = [_label(r) for r in resources[index:]]
                break
    finally:
        if own:
            http.close()
    return outcome


def write_back_assessment(
    kb: KnowledgeBase,
    server: str,
    access_token: str,
    patient_id: str,
    intake: Mapping[str, Any],
    max_narrative_chars: int,
    client: httpx2.Client | None = None,
) -> WriteBackOutcome:
    """Write one stored assessment (its Intake JSON) back to the EHR: re-assess it with the
    same core (the result is the one stored), render the handout PDF, build the resources
    and create them. A handout that cannot be rendered is reported, never hidden."""
    from backpath.education import render_handout_pdf
    from backpath.web.handout import clinic_from_env
    from backpath.web.triage import triage

    triaged = triage(dict(intake), kb, max_narrative_chars)
    result = triaged.assessment.to_json()
    language = str(intake.get("language") or "en")
    try:
        pdf: bytes | None = render_handout_pdf(triaged.assessment, language, clinic_from_env())
        problem = None
    except OSError as exc:  # WeasyPrint without its system libraries
        pdf, problem = None, f"the handout PDF could not be made: {exc}"
    resources = plan_write_back(kb, intake, result, patient_id, pdf, language=language)
    outcome = post_resources(server, access_token, resources, client)
    if problem is not None and outcome.ok:
        outcome.error = problem
        outcome.not_written.append("DocumentReference: patient handout (PDF)")
    return outcome


__all__ = [
    "FINDING_SYSTEM",
    "WriteBackOutcome",
    "Written",
    "load_referrals",
    "plan_write_back",
    "post_resources",
    "questionnaire_response_from_intake",
    "write_back_assessment",
]
