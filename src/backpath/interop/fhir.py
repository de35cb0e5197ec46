"""FHIR R4 in and out: QuestionnaireResponse -> Intake, Result -> RiskAssessment + Observations.

Plain dicts only (no FHIR library at run time). The mappings are in docs/interop.md:

* ``questionnaire_from_kb`` - the intake as a FHIR ``Questionnaire``: one group per
  questionnaire.yaml section, one item per finding (``linkId`` = finding code), one group
  per instrument listed in ``knowledge/terminology/questionnaire/instrument_items.yaml``
  (``linkId`` = ``<instrument>.<item>``, LOINC-coded where a code was checked), and the
  free-text ``narrative`` item.
* ``intake_from_questionnaire_response`` - a ``QuestionnaireResponse`` whose item linkIds
  are finding codes, instrument items or ``narrative`` becomes Intake JSON (``answers``,
  ``instruments``, ``narrative``). An item without an answer is *unknown*, never "no".
  Problems raise ``IntakeError`` naming the element (``QuestionnaireResponse.item[1]...``).
* ``risk_assessment`` / ``observations`` / ``bundle_from_result`` - the Result JSON as a
  ``RiskAssessment`` (urgency coded in ``urn:backpath:urgency``) and one ``Observation``
  per finding that decided a fired rule.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from backpath import jsonio
from backpath.errors import IntakeError, KnowledgeError, NarrativeError
from backpath.instruments import Instrument, Wording, load_instruments
from backpath.instruments.schema import Item
from backpath.interop.terminology import (
    LOINC_SYSTEM,
    TERMINOLOGY_DIR,
    CodeStatus,
    InstrumentCodes,
    LoincCode,
    load_terminology,
    loinc_code_ok,
    snomed_id_ok,
)
from backpath.kb import KnowledgeBase
from backpath.vocabulary import FindingType
from backpath.web.settings import Settings
from backpath.web.triage import Triaged, triage

URGENCY_SYSTEM = "urn:backpath:urgency"
FINDING_SYSTEM = "urn:backpath:finding"
RULE_SYSTEM = "urn:backpath:rule"
SNOMED_SYSTEM = "http://snomed.info/sct"
QUESTIONNAIRE_ID = "backpath-intake"
QUESTIONNAIRE_URL = "urn:backpath:Questionnaire:backpath-intake"
NARRATIVE_LINK_ID = "narrative"
INSTRUMENT_SYSTEM = "urn:backpath:instrument"
# R4 core extension: the score an answer option carries (SDC scoring reads it).
ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
INSTRUMENT_ITEMS_FILE = TERMINOLOGY_DIR / "questionnaire" / "instrument_items.yaml"
FHIR_JSON = "application/fhir+json"
DATA_ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"

_LOG = logging.getLogger(__name__)
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")
_VALUE_KEYS = ("valueBoolean", "valueInteger", "valueDecimal", "valueString", "valueCoding")
_QR_STATUSES = ("in-progress", "completed", "amended", "stopped")


def answer_system(code: str) -> str:
    """The code system of one choice finding's answer values (``urn:backpath:finding:sex``)."""
    return f"{FINDING_SYSTEM}:{code}"


def _default_narrative_limit() -> int:
    """The narrative length limit of a default ``Settings`` (the web app's own default)."""
    limits = {f.name: f.default for f in dataclasses.fields(Settings)}
    limit = limits["max_narrative_chars"]
    if not isinstance(limit, int):  # a changed Settings must not go unnoticed
        raise TypeError("Settings.max_narrative_chars has no integer default")
    return limit


# ------------------------------------------------------ instruments in the Questionnaire


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemCode(_Closed):
    """The LOINC code of one instrument question. ``display`` is optional: LOINC names the
    STarT Back questions with the Keele wording, which backpath does not ship."""

    code: str
    display: str | None = None


class _InstrumentItems(_Closed):
    instrument: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    items: dict[str, ItemCode] = Field(default_factory=dict)
    source: str = Field(min_length=10)
    code_status: CodeStatus


class _InstrumentItemsFile(_Closed):
    name: str
    instruments: tuple[_InstrumentItems, ...] = Field(min_length=1)


@dataclass(frozen=True)
class QuestionnaireInstrument:
    """One instrument offered as a group of the Questionnaire: its definition (with the
    clinic's licensed wording when ``BACKPATH_INSTRUMENT_TEXTS`` is set), its LOINC panel
    (from ``terminology/instruments.yaml``) and the LOINC code of each question that has
    one."""

    instrument: Instrument
    panel: LoincCode | None
    item_codes: Mapping[str, ItemCode]

    def link_id(self, item: Item) -> str:
        """The ``linkId`` of one question: ``startback.leg_pain_spread``."""
        return f"{self.instrument.id}.{item.id}"

    def answer_system(self, item: Item) -> str:
        """The code system of one question's answer options."""
        return f"{INSTRUMENT_SYSTEM}:{self.instrument.id}:{item.id}"

    def option_scores(self, item: Item) -> dict[str, int]:
        """Each answer option's code (``option-1`` ... in the instrument's order) and the
        score it carries. Codes are positions, never scores: several options may share a
        score (STarT Back item 9) and an ODI option 1 scores 0."""
        return {
            f"option-{number}": option.score
            for number, option in enumerate(self.instrument.options_for(item), start=1)
        }


@functools.lru_cache(maxsize=4)
def _read_instrument_items(path: Path) -> tuple[_InstrumentItemsFile | None, tuple[str, ...]]:
    name = f"terminology/questionnaire/{path.name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return None, (f"{name}: cannot read: {exc}",)
    try:
        return _InstrumentItemsFile.model_validate(data), ()
    except ValidationError as exc:
        return None, tuple(
            f"{name}: {'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )


def questionnaire_instruments(path: Path | None = None) -> tuple[QuestionnaireInstrument, ...]:
    """The instruments of the Questionnaire, in the order of ``instrument_items.yaml``.

    Checked here (the file is read when the FHIR routes are built): closed keys, known
    instrument and item ids, no instrument twice, the LOINC check digit of every code.
    Raises ``KnowledgeError`` listing every problem.
    """
    path = path or INSTRUMENT_ITEMS_FILE
    parsed, read_problems = _read_instrument_items(path)
    if parsed is None:
        raise KnowledgeError(list(read_problems))
    instruments = load_instruments()
    panels = load_terminology().instruments
    problems: list[str] = []
    found: dict[str, QuestionnaireInstrument] = {}
    for entry in parsed.instruments:
        where = f"terminology/questionnaire/{path.name}: {entry.instrument}"
        instrument = instruments.get(entry.instrument)
        if instrument is None:
            problems.append(f"{where}: unknown instrument (knowledge/instruments)")
            continue
        if entry.instrument in found:
            problems.append(f"{where}: listed twice")
        problems.extend(
            f"{where}: unknown item {ident!r}; its items: {', '.join(instrument.item_ids)}"
            for ident in entry.items
            if ident not in instrument.item_ids
        )
        problems.extend(
            f"{where}: {ident}: {code.code} is not a valid LOINC code (check digit)"
            for ident, code in entry.items.items()
            if not loinc_code_ok(code.code)
        )
        mapped = panels.get(entry.instrument)
        found[entry.instrument] = QuestionnaireInstrument(
            instrument, mapped.panel if mapped is not None else None, dict(entry.items)
        )
    if problems:
        raise KnowledgeError(problems)
    return tuple(found.values())


def validate_questionnaire_instruments(path: Path | None = None) -> list[str]:
    """Every problem in ``instrument_items.yaml`` (empty when valid), for ``backpath kb
    check``."""
    try:
        questionnaire_instruments(path)
    except KnowledgeError as exc:
        return list(exc.problems)
    return []


def _instrument_group(entry: QuestionnaireInstrument) -> dict[str, Any]:
    """One instrument as a ``group``: its instructions, then one ``choice`` item per
    question whose ``answerOption``s carry their score (``ordinalValue``)."""
    instrument = entry.instrument
    group_codes = [] if entry.panel is None else [_loinc(entry.panel.code, entry.panel.display)]
    group_codes.append(
        {"system": INSTRUMENT_SYSTEM, "code": instrument.id, "display": instrument.name}
    )
    items: list[dict[str, Any]] = [
        {"linkId": f"{instrument.id}.intro", "text": instrument.instructions, "type": "display"}
    ]
    for question in instrument.items:
        codes: list[dict[str, Any]] = []
        mapped = entry.item_codes.get(question.id)
        if mapped is not None:
            loinc = {"system": LOINC_SYSTEM, "code": mapped.code}
            if mapped.display:
                loinc["display"] = mapped.display
            codes.append(loinc)
        codes.append({"system": f"{INSTRUMENT_SYSTEM}:{instrument.id}", "code": question.id})
        options = instrument.options_for(question)
        items.append(
            {
                "linkId": entry.link_id(question),
                "code": codes,
                "prefix": str(question.number),
                "text": question.text,
                "type": "choice",
                "answerOption": [
                    {
                        "valueCoding": {
                            "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": option.score}],
                            "system": entry.answer_system(question),
                            "code": code,
                            "display": option.text,
                        }
                    }
                    for code, option in zip(entry.option_scores(question), options, strict=True)
                ],
            }
        )
    return {
        "linkId": instrument.id,
        "code": group_codes,
        "text": f"{instrument.name} ({instrument.short_name})",
        "type": "group",
        "item": items,
    }


def _instrument_copyright(entries: Sequence[QuestionnaireInstrument]) -> str:
    """Who holds each instrument and which wording the Questionnaire carries."""
    parts = []
    for entry in entries:
        instrument = entry.instrument
        wording = (
            "the licensed wording supplied by this clinic"
            if instrument.wording is Wording.OFFICIAL
            else "backpath's own paraphrase, not the official wording"
        )
        parts.append(
            f"{instrument.name} - licence holder: {instrument.licence.holder}; wording: {wording}."
        )
    return " ".join(parts)


# ---------------------------------------------------------------------------- Questionnaire


def _snomed_codings(finding: Any, unverified_snomed: bool) -> list[dict[str, Any]]:
    """The SNOMED CT coding of a finding, if it has one that may be used for coding.

    findings.yaml marks ids taken from memory as ``verified: false``: a terminologist must
    confirm them before they are used for coding, so they are left out unless asked for.
    A concept the terminology maps know to be a *disorder* (Sciatica, 23056005) is never
    used: a finding ("pain runs into the leg") is not a diagnosis, and "Sciatica = no" on
    a yes/no question would say something nobody said. An id that fails its check digit is
    never used either.
    """
    snomed = finding.snomed
    if snomed is None or not (snomed.verified or unverified_snomed):
        return []
    if snomed.code in load_terminology().disorders or not snomed_id_ok(snomed.code):
        return []
    return [{"system": SNOMED_SYSTEM, "code": snomed.code, "display": snomed.display}]


def finding_code(
    kb: KnowledgeBase, code: str, unverified_snomed: bool = False, include_snomed: bool = True
) -> dict[str, Any]:
    """A finding as a FHIR ``CodeableConcept``: SNOMED CT when known (and asked for), always
    the local code."""
    finding = kb.findings[code]
    snomed = _snomed_codings(finding, unverified_snomed) if include_snomed else []
    return {
        "coding": [
            *snomed,
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


def questionnaire_from_kb(
    kb: KnowledgeBase,
    unverified_snomed: bool = False,
    max_narrative_chars: int | None = None,
    instruments: Sequence[QuestionnaireInstrument] | None = None,
) -> dict[str, Any]:
    """The intake (knowledge/questionnaire.yaml) as a FHIR R4 ``Questionnaire``.

    One ``group`` item per section, in order (safety-screen sections first), each holding one
    item per finding with ``linkId`` = finding code; then one ``group`` per instrument
    (``questionnaire_instruments``); then the free-text ``narrative`` item, whose
    ``maxLength`` is ``max_narrative_chars`` (default: the web app's default limit). No item
    is ``required``: an unanswered question is *unknown*, which the triage treats as the
    worse case. Raises ``KnowledgeError`` when two items would share a ``linkId``.
    """
    offered = questionnaire_instruments() if instruments is None else tuple(instruments)
    limit = _default_narrative_limit() if max_narrative_chars is None else max_narrative_chars
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
    groups.extend(_instrument_group(entry) for entry in offered)
    groups.append(
        {
            "linkId": NARRATIVE_LINK_ID,
            "text": (
                "In your own words: what is wrong, since when, and what worries you most? "
                "(Optional. Red flags in your words count even if you answered no.)"
            ),
            "type": "text",
            "maxLength": limit,
        }
    )
    _check_unique_link_ids(groups)
    document: dict[str, Any] = {
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
    if offered:
        document["copyright"] = _instrument_copyright(offered)
    return document


def _check_unique_link_ids(items: list[dict[str, Any]]) -> None:
    """Every ``linkId`` once (Questionnaire rule que-2): a finding code, a section id and
    an instrument id must never collide, or answers would be read into the wrong place."""
    seen: set[str] = set()
    twice: list[str] = []

    def walk(level: list[dict[str, Any]]) -> None:
        for item in level:
            if item["linkId"] in seen:
                twice.append(item["linkId"])
            seen.add(item["linkId"])
            walk(item.get("item", []))

    walk(items)
    if twice:
        raise KnowledgeError([f"Questionnaire: linkId {link!r} is used twice" for link in twice])


# ---------------------------------------------------------- QuestionnaireResponse -> Intake


def _single_value(answer: Any, where: str) -> tuple[str, Any]:
    """The one ``value[x]`` of an ``answer`` element, as (element name, value)."""
    if not isinstance(answer, dict):
        raise IntakeError(where, "an answer must be an object with one value[x]")
    present = [key for key in answer if key.startswith("value")]
    if len(present) != 1:
        raise IntakeError(where, "an answer must have exactly one value[x]")
    return present[0], answer[present[0]]


def _answer_value(kb: KnowledgeBase, code: str, answer: Any, where: str) -> Any:
    """The Intake JSON value of one ``answer`` element (range checks are Intake's job)."""
    key, value = _single_value(answer, where)
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


def _item_score(entry: QuestionnaireInstrument, question: Item, answer: Any, where: str) -> int:
    """The score of one instrument answer: an ``answerOption`` coding (``option-<n>``) or
    the item score itself as ``valueInteger``. Anything else names the linkId."""
    link_id = entry.link_id(question)
    key, value = _single_value(answer, where)
    if key == "valueInteger" and isinstance(value, int) and not isinstance(value, bool):
        allowed = entry.instrument.allowed_scores(question)
        if value not in allowed:
            raise IntakeError(
                f"{where}.valueInteger",
                f"{link_id}: {value} is not a score of this item; allowed: "
                + ", ".join(str(score) for score in allowed),
            )
        return value
    if key == "valueCoding" and isinstance(value, dict):
        expected = entry.answer_system(question)
        system = value.get("system")
        if system is not None and system != expected:
            raise IntakeError(
                f"{where}.valueCoding.system",
                f"{link_id}: expected {expected} (or no system), not {system!r}",
            )
        scores = entry.option_scores(question)
        chosen = value.get("code")
        if not isinstance(chosen, str) or chosen not in scores:
            raise IntakeError(
                f"{where}.valueCoding.code",
                f"{link_id}: {chosen!r} is not one of its answerOptions ({', '.join(scores)})",
            )
        return scores[chosen]
    raise IntakeError(
        f"{where}.{key}",
        f"{link_id} is answered with valueCoding (one of its answerOptions) or valueInteger "
        "(the item score)",
    )


@dataclass
class _Reading:
    """What a walk through the response's items has read so far.

    ``paths`` maps each answered place to its element: a finding code, ``narrative``,
    ``instruments.<id>.<item>`` for a question and ``instruments.<id>`` for the instrument
    as a whole (its group, or its first answered question).
    """

    kb: KnowledgeBase
    questions: Mapping[str, tuple[QuestionnaireInstrument, Item]]
    groups: frozenset[str]
    answers: dict[str, Any] = field(default_factory=dict)
    instruments: dict[str, dict[str, int]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)

    def claim(self, key: str, link_id: str, here: str) -> None:
        """Note where ``key`` is answered; a second answer to it is an error."""
        if key in self.paths:
            raise IntakeError(
                f"{here}.linkId", f"{link_id} is answered twice (also at {self.paths[key]})"
            )
        self.paths[key] = here


def _collect_items(reading: _Reading, items: Any, where: str) -> None:
    kb = reading.kb
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
            reading.claim(link_id, link_id, here)
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
                    reading.answers[link_id] = values
            elif len(values) > 1:
                raise IntakeError(f"{here}.answer", f"{link_id} takes one answer")
            elif values:
                reading.answers[link_id] = values[0]
        elif link_id in reading.questions:
            entry, question = reading.questions[link_id]
            ident = entry.instrument.id
            scores = [
                _item_score(entry, question, answer, f"{here}.answer[{n}]")
                for n, answer in enumerate(raw_answers or [])
            ]
            if len(scores) > 1:
                raise IntakeError(f"{here}.answer", f"{link_id} takes one answer")
            if scores:
                reading.claim(f"instruments.{ident}.{question.id}", link_id, here)
                reading.paths.setdefault(f"instruments.{ident}", here)
                reading.instruments.setdefault(ident, {})[question.id] = scores[0]
        elif raw_answers:
            raise IntakeError(
                f"{here}.linkId",
                f"{link_id!r} is not a backpath finding code or instrument question",
            )
        elif link_id in reading.groups:
            reading.paths.setdefault(f"instruments.{link_id}", here)
        if "item" in item:
            _collect_items(reading, item["item"], f"{here}.item")


def intake_from_questionnaire_response(
    kb: KnowledgeBase,
    response: Any,
    age: int | None = None,
    where: str = "QuestionnaireResponse",
    instruments: Sequence[QuestionnaireInstrument] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Intake JSON from a ``QuestionnaireResponse``, and the element path of each answer.

    Items are matched by ``linkId`` at any depth (groups are walked): a finding code; an
    instrument question ``<instrument>.<item>`` (an ``answerOption`` coding or the item
    score as ``valueInteger``), read into ``instruments`` as item scores; ``narrative``
    with a ``valueString``, the person's own words. An ``age`` answered in the response
    wins over ``age`` (from Patient.birthDate). Raises ``IntakeError`` naming the element.
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
    offered = questionnaire_instruments() if instruments is None else tuple(instruments)
    reading = _Reading(
        kb,
        questions={
            entry.link_id(question): (entry, question)
            for entry in offered
            for question in entry.instrument.items
        },
        groups=frozenset(entry.instrument.id for entry in offered),
    )
    if "item" in response:
        _collect_items(reading, response["item"], f"{where}.item")
    answers = reading.answers
    narrative = answers.pop(NARRATIVE_LINK_ID, None)
    if age is not None and "age" not in answers:
        answers["age"] = age
    document: dict[str, Any] = {"answers": answers}
    if narrative is not None:
        document["narrative"] = narrative
    if reading.instruments:
        document["instruments"] = reading.instruments
    if isinstance(response.get("id"), str):
        document["id"] = response["id"]
    return document, reading.paths


def element_error(
    exc: IntakeError, paths: Mapping[str, str], age_field: str = "age"
) -> IntakeError:
    """An ``IntakeError`` from the core (``answers.saddle_numbness``,
    ``instruments.startback.bothersomeness``) restated on the FHIR element it came from,
    its message naming the finding code or the instrument's linkId."""
    if exc.field.startswith("instruments."):
        link_id = exc.field.removeprefix("instruments.")
        return IntakeError(paths.get(exc.field, exc.field), f"{link_id}: {exc.message}")
    code = exc.field.removeprefix("answers.")
    path = paths.get(code, age_field if code == "age" else exc.field)
    return IntakeError(path, f"{code}: {exc.message}")


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
        raise element_error(exc, paths, age_field) from None
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
                # A SNOMED CT concept codes a finding that is present; "no" and "unknown"
                # are said with the local code only (never a concept with false).
                "code": finding_code(
                    kb, code, unverified_snomed, include_snomed=because.get("value") is True
                ),
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


def _quantity(value: Any, unit: str) -> dict[str, Any]:
    ucum = "%" if unit == "percent" else "{score}"
    return {"value": value, "unit": ucum, "system": "http://unitsofmeasure.org", "code": ucum}


def _loinc(code: str, display: str) -> dict[str, Any]:
    return {"system": LOINC_SYSTEM, "code": code, "display": display}


def score_observations(
    result: Mapping[str, Any],
    subject: Mapping[str, Any] | None = None,
    effective: str | None = None,
) -> list[dict[str, Any]]:
    """One FHIR R4 ``Observation`` per instrument score in the result, LOINC-coded from
    ``knowledge/terminology/instruments.yaml`` (STarT Back total, distress subscore and risk
    level; ODI score; pain NRS). Instruments without LOINC codes keep the local code only."""
    codes: Mapping[str, InstrumentCodes] = load_terminology().instruments
    out: list[dict[str, Any]] = []
    for score in result.get("scores", []) or []:
        instrument = score.get("instrument")
        if not isinstance(instrument, str) or score.get("value") is None:
            continue
        mapped = codes.get(instrument)
        coding = [{"system": "urn:backpath:instrument", "code": instrument}]
        if mapped is not None:
            coding.insert(0, _loinc(mapped.score.code, mapped.score.display))
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": str(uuid.uuid4()),
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY_SYSTEM, "code": "survey"}]}],
            "code": {"coding": coding, "text": f"{instrument} score"},
            "subject": dict(subject) if subject else {"display": "person who answered the intake"},
            "effectiveDateTime": effective or _now(),
            "valueQuantity": _quantity(score["value"], str(score.get("unit", ""))),
        }
        if mapped is not None and mapped.body_site:
            obs["bodySite"] = {"text": mapped.body_site}
        components: list[dict[str, Any]] = []
        for name, value in (score.get("subscales") or {}).items():
            sub = mapped.subscales.get(name) if mapped is not None else None
            if sub is not None and value is not None:
                components.append(
                    {
                        "code": {"coding": [_loinc(sub.code, sub.display)]},
                        "valueQuantity": _quantity(value, "points"),
                    }
                )
        stratum = score.get("stratum")
        if mapped is not None and mapped.stratum is not None and stratum in mapped.stratum.answers:
            answer = mapped.stratum.answers[stratum]
            components.append(
                {
                    "code": {"coding": [_loinc(mapped.stratum.code, mapped.stratum.display)]},
                    "valueCodeableConcept": {
                        "coding": [_loinc(answer.code, answer.display)],
                        "text": str(score.get("stratum_label") or stratum),
                    },
                }
            )
        if components:
            obs["component"] = components
        out.append(obs)
    return out


def bundle_from_result(
    kb: KnowledgeBase,
    result: Mapping[str, Any],
    subject: Mapping[str, Any] | None = None,
    unverified_snomed: bool = False,
) -> dict[str, Any]:
    """A FHIR R4 ``Bundle`` (type ``collection``): the RiskAssessment, the finding
    Observations, then one Observation per instrument score."""
    when = _now()
    resources = [
        risk_assessment(kb, result, subject, when),
        *observations(kb, result, subject, when, unverified_snomed),
        *score_observations(result, subject, when),
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


# --------------------------------------------------------------------- server documents

OPERATION_ID = "backpath-triage"
OPERATION_URL = "urn:backpath:OperationDefinition:backpath-triage"
FHIR_VERSION = "4.0.1"
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    412: "not-found",
    413: "too-costly",
    415: "not-supported",
    500: "exception",
}


def operation_outcome(status: int, field: str, message: str) -> dict[str, Any]:
    """An ``OperationOutcome`` for an error: ``expression`` names the element when there is
    one (not for ``(body)``-level problems)."""
    issue: dict[str, Any] = {
        "severity": "error" if status < 500 else "fatal",
        "code": _ISSUE_CODES.get(status, "processing"),
        "diagnostics": message,
    }
    if field and not field.startswith("("):
        issue["expression"] = [field]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def operation_definition() -> dict[str, Any]:
    """The ``OperationDefinition`` of ``QuestionnaireResponse/$triage``."""
    return {
        "resourceType": "OperationDefinition",
        "id": OPERATION_ID,
        "url": OPERATION_URL,
        "name": "BackpathTriage",
        "title": "backpath triage of a QuestionnaireResponse",
        "status": "draft",
        "kind": "operation",
        "description": (
            "Triage a backpath intake (a QuestionnaireResponse to "
            f"{QUESTIONNAIRE_URL}): returns a collection Bundle with a RiskAssessment, "
            "one Observation per finding that decided a fired rule and one per instrument "
            "score. POST the QuestionnaireResponse itself or a Parameters resource."
        ),
        "code": "triage",
        "resource": ["QuestionnaireResponse"],
        "system": False,
        "type": True,
        "instance": False,
        "affectsState": False,
        "parameter": [
            {
                "name": "response",
                "use": "in",
                "min": 1,
                "max": "1",
                "documentation": "The intake: a QuestionnaireResponse to "
                f"{QUESTIONNAIRE_URL}. Its linkIds are backpath finding codes, instrument "
                "questions (<instrument>.<item>) and 'narrative'.",
                "type": "QuestionnaireResponse",
            },
            {
                "name": "return",
                "use": "out",
                "min": 1,
                "max": "1",
                "documentation": "RiskAssessment, Observations (collection Bundle).",
                "type": "Bundle",
            },
        ],
    }


def capability_statement(kb: KnowledgeBase, base_url: str) -> dict[str, Any]:
    """The server's ``CapabilityStatement`` (``GET /fhir/metadata``)."""
    return {
        "resourceType": "CapabilityStatement",
        "id": "backpath",
        "status": "draft",
        "date": kb.manifest.released,
        "publisher": "backpath",
        "kind": "instance",
        "software": {"name": "backpath", "version": kb.version},
        "implementation": {
            "description": "backpath triage for back pain that spreads into the leg",
            "url": base_url,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["json", FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only intake definition and a triage operation. No "
                "patient data is stored by these endpoints.",
                "resource": [
                    {
                        "type": "Questionnaire",
                        "interaction": [{"code": "read"}],
                    },
                    {
                        "type": "OperationDefinition",
                        "interaction": [{"code": "read"}],
                    },
                    {
                        "type": "QuestionnaireResponse",
                        "operation": [{"name": "triage", "definition": OPERATION_URL}],
                    },
                ],
            }
        ],
    }


# ------------------------------------------------------------------------------- routes


def fhir_response(document: Any, status: int = 200) -> Response:
    """A FHIR JSON response."""
    body = json.dumps(document, ensure_ascii=False)
    return Response(body, status_code=status, media_type=FHIR_JSON)


def fhir_error(status: int, field: str, message: str) -> Response:
    """An error as a FHIR ``OperationOutcome``."""
    return fhir_response(operation_outcome(status, field, message), status)


async def read_json_body(request: Request) -> Any:
    """The decoded JSON body (read by ``backpath.jsonio``); raises ``IntakeError("(body)")``
    when it is not JSON, and ``IntakeError`` naming the field when it may not be used
    (duplicate keys, a huge integer, deep nesting, a NUL byte or a lone surrogate)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", FHIR_JSON):
        raise IntakeError("(body)", f"send application/json or {FHIR_JSON}")
    try:
        return jsonio.loads(await request.body())
    except jsonio.JSONSyntaxError as exc:
        raise IntakeError("(body)", exc.message) from None


def _accepts_json(request: Request) -> bool:
    """False when the client asks only for something other than JSON (e.g. FHIR XML).

    ``_format`` wins over ``Accept``. A ``+`` sent unencoded in the query string
    (``?_format=application/fhir+json``, as the FHIR specification writes it) arrives as a
    space and is read back as ``+``.
    """
    asked = request.query_params.get("_format")
    wanted = asked.replace(" ", "+") if asked else request.headers.get("accept") or ""
    if not wanted.strip():
        return True
    kinds = [part.split(";")[0].strip().lower() for part in wanted.split(",")]
    return any(
        kind in ("*/*", "application/*", "json", "application/json", FHIR_JSON)
        or kind.endswith("+json")
        for kind in kinds
    )


def questionnaire_response_from_body(document: Any) -> tuple[Any, str]:
    """The QuestionnaireResponse of a ``$triage`` body (the resource itself, or a
    ``Parameters`` with a ``response`` parameter) and its element path."""
    if isinstance(document, dict) and document.get("resourceType") == "Parameters":
        parameters = document.get("parameter")
        if not isinstance(parameters, list):
            raise IntakeError("Parameters.parameter", "must be a list")
        found = [
            (index, p)
            for index, p in enumerate(parameters)
            if isinstance(p, dict) and p.get("name") == "response"
        ]
        if len(found) != 1:
            raise IntakeError("Parameters.parameter", "send exactly one parameter named 'response'")
        index, parameter = found[0]
        if not isinstance(parameter.get("resource"), dict):
            raise IntakeError(
                f"Parameters.parameter[{index}].resource", "must hold a QuestionnaireResponse"
            )
        return parameter["resource"], f"Parameters.parameter[{index}].resource"
    return document, "QuestionnaireResponse"


def build_fhir_router(
    kb: KnowledgeBase, max_narrative_chars: int, public_url: str | None = None
) -> APIRouter:
    """``/fhir``: ``metadata``, ``Questionnaire/backpath-intake``,
    ``OperationDefinition/backpath-triage`` and ``POST QuestionnaireResponse/$triage``.
    Every error is an ``OperationOutcome``."""
    from backpath.web.security import absolute_url

    router = APIRouter(prefix="/fhir", tags=["fhir r4"])
    questionnaire = questionnaire_from_kb(kb, max_narrative_chars=max_narrative_chars)
    definition = operation_definition()

    def not_acceptable() -> Response:
        return fhir_error(406, "(request)", f"this server speaks JSON only ({FHIR_JSON})")

    @router.get("/metadata", summary="FHIR CapabilityStatement", response_class=Response)
    async def metadata(request: Request) -> Response:
        """What this FHIR endpoint supports."""
        if not _accepts_json(request):
            return not_acceptable()
        # The public address when configured, never the client's Host header.
        return fhir_response(capability_statement(kb, absolute_url(public_url, "/fhir")))

    @router.get(
        f"/Questionnaire/{QUESTIONNAIRE_ID}",
        summary="The intake as a FHIR R4 Questionnaire",
        response_class=Response,
    )
    async def get_questionnaire(request: Request) -> Response:
        """The intake questions, generated from the knowledge base."""
        if not _accepts_json(request):
            return not_acceptable()
        return fhir_response(questionnaire)

    @router.get(
        f"/OperationDefinition/{OPERATION_ID}",
        summary="The $triage OperationDefinition",
        response_class=Response,
    )
    async def get_operation_definition(request: Request) -> Response:
        """How to call ``$triage``."""
        if not _accepts_json(request):
            return not_acceptable()
        return fhir_response(definition)

    outcome = {"schema": {"type": "object", "description": "an OperationOutcome"}}
    fhir_body = {"schema": {"type": "object", "description": "QuestionnaireResponse or Parameters"}}

    @router.post(
        "/QuestionnaireResponse/$triage",
        summary="Triage a FHIR QuestionnaireResponse; returns a Bundle",
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {FHIR_JSON: fhir_body, "application/json": fhir_body},
            }
        },
        responses={
            200: {
                "description": "a Bundle (RiskAssessment and Observations)",
                "content": {FHIR_JSON: {"schema": {"type": "object"}}},
            },
            **{
                code: {"description": text, "content": {FHIR_JSON: outcome}}
                for code, text in (
                    (400, "the body is not a usable QuestionnaireResponse (OperationOutcome)"),
                    (406, "the client accepts no JSON"),
                    (413, "the body is larger than the limit"),
                    (415, "the body is not JSON"),
                    (422, "an answer is not valid (OperationOutcome naming the item)"),
                )
            },
        },
    )
    async def triage_response(request: Request) -> Response:
        """QuestionnaireResponse (or Parameters) in; Bundle (RiskAssessment + Observations)
        out."""
        if not _accepts_json(request):
            return not_acceptable()
        try:
            body = await read_json_body(request)
            document, where = questionnaire_response_from_body(body)
        except IntakeError as exc:
            status = 415 if "send application/json" in exc.message else 400
            return fhir_error(status, exc.field, exc.message)

        def work() -> Response:
            try:
                triaged = triage_questionnaire_response(
                    kb, document, max_narrative_chars, where=where
                )
            except IntakeError as exc:
                return fhir_error(400, exc.field, exc.message)
            except Exception:  # fail loudly, in FHIR's shape: never an empty 200
                _LOG.exception("$triage failed")
                return fhir_error(500, "(server)", "internal error: the intake was not triaged")
            subject = document.get("subject")
            bundle = bundle_from_result(
                kb,
                triaged.assessment.to_json(),
                subject if isinstance(subject, dict) and subject else None,
            )
            return fhir_response(bundle)

        return await run_in_threadpool(work)

    return router
