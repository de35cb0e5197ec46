"""Lumbar spine imaging appropriateness at the point of ordering (CDS Hooks order hooks).

The clinical content is data, ``backpath/knowledge/imaging.yaml``: which coded orders are
lumbar spine X-ray, CT or MRI; the guideline scenarios ("variants": ACR Appropriateness
Criteria *Low Back Pain*, ACP, with Choosing Wisely and NICE NG59 for "not indicated"),
each a condition over the knowledge base's findings; how appropriate each procedure is in
each variant; the thresholds ("under 6 weeks") and the override reasons. This module gives
that file a closed schema, checks it at load (``validate_imaging``, also run by
``backpath kb check``), and decides one order from the person's findings:

* an ``indicated`` variant that is TRUE rates the ordered procedure (usually appropriate,
  may be appropriate, usually not appropriate - then the variant's preferred procedure is
  suggested instead);
* when every ``indicated`` variant is FALSE and a ``not_indicated`` variant is TRUE (e.g.
  under 6 weeks of pain with every red flag answered "no") imaging is not indicated now;
* anything else is *undecided*: the answer names what is not known. An unanswered red flag
  is never read as "no" (the conditions are three-valued, as everywhere in backpath).

The findings come from the same place as the triage card's: the intake and the chart,
merged and assessed by ``backpath.triage.assess``; this module only reads them.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backpath.errors import ConditionError, KnowledgeError
from backpath.interop.terminology import loinc_code_ok, snomed_id_ok
from backpath.logic import Compare, Condition, parse
from backpath.logic.conditions import walk
from backpath.vocabulary import FindingValue

IMAGING_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "imaging.yaml"
RED_FLAG_TOKEN = "any_red_flag"
RATINGS = ("usually_appropriate", "may_be_appropriate", "usually_not_appropriate")
_RATING_WORDS = {
    "usually_appropriate": "usually appropriate",
    "may_be_appropriate": "may be appropriate",
    "usually_not_appropriate": "usually not appropriate",
}
_NAME = r"^[a-z][a-z0-9_]*$"
_THRESHOLD_USE = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*([a-z][a-z0-9_]*)\s*$")

Rating = Literal["usually_appropriate", "may_be_appropriate", "usually_not_appropriate"]
Verdict = Literal[
    "appropriate",
    "may_be_appropriate",
    "wrong_procedure",
    "not_indicated",
    "undecided",
    "no_variant",
]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ThresholdDef(_Closed):
    """A number the conditions use by name (e.g. ``acute_max_days: 42``)."""

    value: int
    meaning: str = Field(min_length=10)
    sources: tuple[str, ...] = Field(min_length=1)


class RedFlagsDef(_Closed):
    """Which findings ``any_red_flag`` stands for: the knowledge base's red flags."""

    source: Literal["knowledge_base"] = Field(alias="from")
    excluded: tuple[str, ...] = Field(default=(), alias="except")


class SourceDef(_Closed):
    """A cited guideline or code list, with a web address the card can link."""

    id: str = Field(pattern=_NAME)
    title: str
    publisher: str
    year: int
    url: str = Field(pattern=r"^https://")
    notes: str | None = None
    verified: bool


class CodeRef(_Closed):
    """A code in one of the order systems (by its short name)."""

    system: str
    code: str


class ProcedureDef(_Closed):
    """One imaging procedure as the ACR tables name it."""

    label: str
    modality: Literal["X-ray", "CT", "MRI"]
    replacement: CodeRef | None = None


class OrderCodeDef(_Closed):
    """A coded order (``ServiceRequest.code``) that counts as a lumbar imaging procedure."""

    system: str
    code: str = Field(min_length=1)
    display: str
    procedure: str
    code_status: Literal["verified", "corroborated", "unverified"]
    source: str | None = None


class RatingsDef(_Closed):
    """Every procedure in exactly one of the three ACR rating lists."""

    usually_appropriate: tuple[str, ...]
    may_be_appropriate: tuple[str, ...]
    usually_not_appropriate: tuple[str, ...]


class VariantDef(_Closed):
    """A clinical scenario: when it holds, how appropriate each procedure is."""

    id: str = Field(pattern=_NAME)
    title: str
    kind: Literal["indicated", "not_indicated"]
    when: Any
    clinician: str
    sources: tuple[str, ...] = Field(min_length=1)
    preferred: str | None = None
    ratings: RatingsDef


class OverrideReasonDef(_Closed):
    """A reason the clinician may give for ordering against a warning."""

    code: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    display: str


class OverrideReasonsDef(_Closed):
    """The override reasons and their code system."""

    system: str
    reasons: tuple[OverrideReasonDef, ...] = Field(min_length=1)


class ImagingFile(_Closed):
    """``knowledge/imaging.yaml``."""

    name: str
    status: str
    thresholds: dict[str, ThresholdDef]
    red_flags: RedFlagsDef
    clinician_judgement: dict[str, str]
    sources: tuple[SourceDef, ...] = Field(min_length=1)
    procedures: dict[str, ProcedureDef] = Field(min_length=1)
    order_systems: dict[str, str] = Field(min_length=1)
    orders: tuple[OrderCodeDef, ...] = Field(min_length=1)
    ratings: tuple[str, ...]
    variants: tuple[VariantDef, ...] = Field(min_length=1)
    override_reasons: OverrideReasonsDef


@dataclass(frozen=True)
class Citation:
    """A source as the card shows it."""

    id: str
    title: str
    publisher: str
    year: int
    url: str | None


@dataclass(frozen=True)
class Variant:
    """A variant with its parsed condition and its rating of each procedure."""

    spec: VariantDef
    condition: Condition
    rating: Mapping[str, str]

    @property
    def id(self) -> str:
        """The variant id (e.g. ``acr_lbp_v1_acute_uncomplicated``)."""
        return self.spec.id


@dataclass(frozen=True)
class ImagingOrder:
    """A matched order code and its procedure."""

    code: OrderCodeDef
    system_uri: str
    procedure_id: str
    procedure: ProcedureDef


@dataclass(frozen=True)
class ImagingRules:
    """The validated imaging knowledge, indexed for use."""

    file: ImagingFile
    variants: tuple[Variant, ...]
    codes: Mapping[tuple[str, str], ImagingOrder]
    citations: Mapping[str, Citation]
    labels: Mapping[str, str]
    red_flags: tuple[str, ...] = ()

    def match(self, coding: Iterable[Any]) -> ImagingOrder | None:
        """The imaging order a ``CodeableConcept.coding`` list names (None: not imaging)."""
        for item in coding:
            if not isinstance(item, dict):
                continue
            system, code = item.get("system"), item.get("code")
            if isinstance(system, str) and isinstance(code, str):
                found = self.codes.get((system.rstrip("/"), code.strip()))
                if found is not None:
                    return found
        return None

    def replacement(self, procedure_id: str) -> tuple[str, OrderCodeDef] | None:
        """(system URI, order code) to suggest when swapping an order for ``procedure_id``."""
        ref = self.file.procedures[procedure_id].replacement
        if ref is None:
            return None
        uri = self.file.order_systems[ref.system]
        order = self.codes[(uri, ref.code)]
        return uri, order.code

    @property
    def order_system_uris(self) -> tuple[str, ...]:
        """The code systems an order can be matched in."""
        return tuple(self.file.order_systems.values())


# ------------------------------------------------------------------------------ loading


def _kb() -> Any:
    from backpath.kb import load_knowledge

    try:
        return load_knowledge()
    except KnowledgeError:
        return None


def _substitute(
    data: Any, thresholds: Mapping[str, int], red_flags: list[str], used: set[str]
) -> Any:
    """The condition with threshold names replaced by numbers and ``any_red_flag`` expanded."""
    if isinstance(data, str):
        if data.strip() == RED_FLAG_TOKEN:
            return {"any": list(red_flags)}
        match = _THRESHOLD_USE.match(data)
        if match and match.group(3) in thresholds:
            used.add(match.group(3))
            return f"{match.group(1)} {match.group(2)} {thresholds[match.group(3)]}"
        return data
    if isinstance(data, list):
        return [_substitute(item, thresholds, red_flags, used) for item in data]
    if isinstance(data, dict):
        return {key: _substitute(value, thresholds, red_flags, used) for key, value in data.items()}
    return data


def _code_problem(system_uri: str, code: str) -> str | None:
    if system_uri == "http://loinc.org" and not loinc_code_ok(code):
        return f"{code} is not a valid LOINC code (check digit)"
    if system_uri == "http://snomed.info/sct" and not snomed_id_ok(code):
        return f"{code} is not a valid SNOMED CT concept id (check digit or partition)"
    if system_uri == "http://www.ama-assn.org/go/cpt" and not re.fullmatch(r"\d{4}[0-9FTU]", code):
        return f"{code} is not a CPT code shape (five characters)"
    return None


def _load(path: Path) -> tuple[ImagingRules | None, list[str]]:
    where = f"imaging.yaml ({path})" if path != IMAGING_FILE else "imaging.yaml"
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        return None, [f"{where}: cannot read: {exc}"]
    try:
        spec = ImagingFile.model_validate(data)
    except ValidationError as exc:
        return None, [
            f"{where}: {'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
    problems: list[str] = []
    kb = _kb()
    findings: Mapping[str, Any] = kb.findings if kb is not None else {}

    citations: dict[str, Citation] = {}
    if kb is not None:
        for source in kb.sources.values():
            citations[source.id] = Citation(
                source.id, source.title, source.publisher, source.year, source.url
            )
    own: set[str] = set()
    for source in spec.sources:
        if source.id in own:
            problems.append(f"{where}: sources: {source.id}: duplicate id")
        if source.id in citations:
            problems.append(f"{where}: sources: {source.id}: already in sources.yaml")
        own.add(source.id)
        citations[source.id] = Citation(
            source.id, source.title, source.publisher, source.year, source.url
        )

    def cite(owner: str, ids: Iterable[str]) -> None:
        for source_id in ids:
            if source_id not in citations:
                problems.append(f"{where}: {owner}: unknown source {source_id!r}")

    if tuple(spec.ratings) != RATINGS:
        problems.append(f"{where}: ratings: must be exactly {list(RATINGS)} (best first)")
    for name, threshold in spec.thresholds.items():
        if not re.fullmatch(_NAME, name):
            problems.append(f"{where}: thresholds: {name!r} is not a lower-case name")
        cite(f"thresholds.{name}", threshold.sources)

    red_flags: list[str] = []
    if kb is not None:
        for code in spec.red_flags.excluded:
            if code not in kb.red_flags:
                problems.append(f"{where}: red_flags.except: {code!r} is not a red-flag finding")
        red_flags = [c for c in kb.red_flags if c not in spec.red_flags.excluded]
    for name in spec.clinician_judgement:
        if name in findings:
            problems.append(f"{where}: clinician_judgement: {name!r} is a finding already")

    codes: dict[tuple[str, str], ImagingOrder] = {}
    for index, order in enumerate(spec.orders):
        at = f"{where}: orders[{index}] {order.system}|{order.code}"
        uri = spec.order_systems.get(order.system)
        if uri is None:
            problems.append(f"{at}: unknown system {order.system!r} (order_systems)")
            continue
        procedure = spec.procedures.get(order.procedure)
        if procedure is None:
            problems.append(f"{at}: unknown procedure {order.procedure!r}")
            continue
        problem = _code_problem(uri, order.code)
        if problem:
            problems.append(f"{at}: {problem}")
        if (uri, order.code) in codes:
            problems.append(f"{at}: listed twice")
        if order.source is not None:
            cite(f"orders[{index}]", [order.source])
        elif order.code_status == "verified":
            problems.append(f"{at}: a verified code needs the source it was read in")
        codes[(uri, order.code)] = ImagingOrder(order, uri, order.procedure, procedure)
    for name, procedure in spec.procedures.items():
        ref = procedure.replacement
        if ref is None:
            continue
        uri = spec.order_systems.get(ref.system, "")
        target = codes.get((uri, ref.code))
        if target is None or target.procedure_id != name:
            problems.append(
                f"{where}: procedures.{name}.replacement: {ref.system}|{ref.code} must be an "
                f"order listed under `orders` with procedure {name}"
            )

    thresholds = {name: t.value for name, t in spec.thresholds.items()}
    used: set[str] = set()
    variants: list[Variant] = []
    seen: set[str] = set()
    for variant in spec.variants:
        at = f"{where}: variants: {variant.id}"
        if variant.id in seen:
            problems.append(f"{at}: duplicate id")
        seen.add(variant.id)
        cite(f"variants.{variant.id}", variant.sources)
        rating: dict[str, str] = {}
        for level in RATINGS:
            for procedure_id in getattr(variant.ratings, level):
                if procedure_id not in spec.procedures:
                    problems.append(f"{at}: ratings.{level}: unknown procedure {procedure_id!r}")
                elif procedure_id in rating:
                    problems.append(f"{at}: {procedure_id} is rated twice")
                rating[procedure_id] = level
        missing = [p for p in spec.procedures if p not in rating]
        if missing:
            problems.append(f"{at}: ratings: not rated: {', '.join(missing)}")
        if variant.kind == "indicated":
            if variant.preferred is None:
                problems.append(f"{at}: an indicated variant needs `preferred`")
            elif rating.get(variant.preferred) != "usually_appropriate":
                problems.append(
                    f"{at}: preferred {variant.preferred!r} must be usually appropriate"
                )
            elif spec.procedures[variant.preferred].replacement is None:
                problems.append(f"{at}: preferred {variant.preferred!r} has no replacement code")
        elif variant.ratings.usually_appropriate or variant.ratings.may_be_appropriate:
            problems.append(
                f"{at}: a not_indicated variant rates every procedure usually not appropriate"
            )
        try:
            condition = parse(_substitute(variant.when, thresholds, red_flags, used), f"{at}.when")
        except ConditionError as exc:
            problems.append(f"{at}: when: {exc}")
            continue
        for code in dict.fromkeys(condition.codes()):
            if kb is not None and code not in findings and code not in spec.clinician_judgement:
                problems.append(f"{at}: when: unknown finding {code!r}")
        for node in walk(condition):
            if isinstance(node, Compare) and node.code in findings:
                kind = str(getattr(findings[node.code].type, "value", findings[node.code].type))
                if kind == "integer" and not isinstance(node.value, int):
                    problems.append(
                        f"{at}: when: {node.code} is a number; {node.value!r} is not a number "
                        "or a threshold name"
                    )
                if kind == "choice" and node.value not in {
                    v.value for v in findings[node.code].values
                }:
                    problems.append(f"{at}: when: {node.value!r} is not a value of {node.code}")
        variants.append(Variant(variant, condition, rating))
    problems.extend(
        f"{where}: thresholds: {name} is not used by any variant"
        for name in spec.thresholds
        if name not in used
    )
    reason_codes = [r.code for r in spec.override_reasons.reasons]
    if len(set(reason_codes)) != len(reason_codes):
        problems.append(f"{where}: override_reasons: duplicate code")

    if problems:
        return None, problems
    labels: dict[str, str] = {code: f.label for code, f in findings.items()}
    labels.update(spec.clinician_judgement)
    return ImagingRules(spec, tuple(variants), codes, citations, labels, tuple(red_flags)), []


def validate_imaging(path: str | Path | None = None) -> list[str]:
    """Every problem in ``imaging.yaml`` (empty when valid); for ``backpath kb check``."""
    return _load(Path(path) if path else IMAGING_FILE)[1]


@functools.lru_cache(maxsize=4)
def load_imaging(path: str | None = None) -> ImagingRules:
    """The validated imaging rules (cached). Raises ``KnowledgeError`` listing problems."""
    rules, problems = _load(Path(path) if path else IMAGING_FILE)
    if rules is None:
        raise KnowledgeError(problems)
    return rules


# ----------------------------------------------------------------------------- deciding


@dataclass(frozen=True)
class VariantOutcome:
    """A variant evaluated on the findings: TRUE / FALSE / unknown, and why."""

    variant: Variant
    value: bool | None
    decided_by: tuple[str, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class ImagingDecision:
    """What the guideline variants say about one order, with the reasons.

    ``deciding`` are the variants that made the verdict (the TRUE ones); ``unknown`` the
    findings whose answers would settle an undecided order; ``present_red_flags`` the red
    flags found when no variant covers them.
    """

    order: ImagingOrder
    verdict: Verdict
    rating: str | None
    deciding: tuple[VariantOutcome, ...]
    unknown: tuple[str, ...]
    replacement: str | None
    present_red_flags: tuple[str, ...] = ()


def decide(
    rules: ImagingRules,
    order: ImagingOrder,
    answers: Mapping[str, FindingValue],
    red_flags: Iterable[str] = (),
) -> ImagingDecision:
    """Decide one order from the findings (three-valued: unknown is never "no")."""
    outcomes = []
    for variant in rules.variants:
        outcome = variant.condition.evaluate(answers)
        outcomes.append(VariantOutcome(variant, outcome.value, outcome.decided_by, outcome.unknown))
    indicated = [o for o in outcomes if o.variant.spec.kind == "indicated"]
    not_indicated = [o for o in outcomes if o.variant.spec.kind == "not_indicated"]
    procedure = order.procedure_id

    true_indicated = [o for o in indicated if o.value is True]
    if true_indicated:
        rating = min((o.variant.rating[procedure] for o in true_indicated), key=RATINGS.index)
        first = next(o for o in true_indicated if o.variant.rating[procedure] == rating)
        preferred = true_indicated[0].variant.spec.preferred
        verdict: Verdict = {
            "usually_appropriate": "appropriate",
            "may_be_appropriate": "may_be_appropriate",
            "usually_not_appropriate": "wrong_procedure",
        }[rating]  # type: ignore[assignment]
        deciding = (first, *[o for o in true_indicated if o is not first])
        swap = preferred if verdict != "appropriate" and preferred != procedure else None
        return ImagingDecision(order, verdict, rating, deciding, (), swap)

    open_indicated = [o for o in indicated if o.value is None]
    true_not = [o for o in not_indicated if o.value is True]
    if not open_indicated and true_not:
        return ImagingDecision(
            order, "not_indicated", true_not[0].variant.rating[procedure], tuple(true_not), (), None
        )
    if not open_indicated and all(o.value is False for o in not_indicated):
        present = tuple(code for code in red_flags if answers.get(code) is True)
        return ImagingDecision(order, "no_variant", None, (), (), None, present)
    unknown: list[str] = []
    for o in (*open_indicated, *[o for o in not_indicated if o.value is None]):
        unknown.extend(o.unknown)
    return ImagingDecision(order, "undecided", None, (), tuple(dict.fromkeys(unknown)), None)


# -------------------------------------------------------------------------------- cards

SUMMARY_LIMIT = 140


def _truncate(text: str, limit: int = SUMMARY_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class OrderContext:
    """The draft order the card is about and what the service knows around it.

    ``because(code)`` says where a finding's value came from (answer, own words, chart
    resource); ``urgency``/``urgency_label`` are the triage result on the same findings;
    ``intake_line`` names the intake and its date (None: no intake).
    """

    resource: Mapping[str, Any]
    reference: str
    because: Callable[[str], str]
    urgency: str | None
    urgency_label: str | None
    intake_line: str | None
    kb_version: str
    kb_line: str


def _source_links(rules: ImagingRules, ids: Iterable[str]) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = []
    for source_id in dict.fromkeys(ids):
        citation = rules.citations[source_id]
        if citation.url and citation.url.startswith(("https://", "http://")):
            label = f"{citation.title} ({citation.publisher}, {citation.year})"
            links.append({"label": _truncate(label, 120), "url": citation.url, "type": "absolute"})
    return links


def _override_reasons(rules: ImagingRules) -> list[dict[str, str]]:
    system = rules.file.override_reasons.system
    return [
        {"system": system, "code": r.code, "display": r.display}
        for r in rules.file.override_reasons.reasons
    ]


def _replaced_order(
    rules: ImagingRules, resource: Mapping[str, Any], procedure_id: str
) -> dict[str, Any] | None:
    found = rules.replacement(procedure_id)
    if found is None:
        return None
    uri, code = found
    replaced = dict(resource)
    replaced["code"] = {
        "coding": [{"system": uri, "code": code.code, "display": code.display}],
        "text": rules.file.procedures[procedure_id].label,
    }
    return replaced


def imaging_card(
    rules: ImagingRules, decision: ImagingDecision, context: OrderContext
) -> dict[str, Any]:
    """One CDS Hooks card for one lumbar imaging order.

    Warning cards (not indicated; a procedure the variant rates usually not appropriate)
    carry a suggestion - remove the draft order, or replace it by the preferred procedure -
    and ``overrideReasons``; info cards say imaging is appropriate (citing the variant) or
    what is not known.
    """
    order = decision.order
    procedure = order.procedure
    what = f"Lumbar {procedure.modality}"
    ordered = f"`{context.reference}` ({order.code.display}; {procedure.label})"
    labels = rules.labels
    emergency = context.urgency == "emergency"
    lines: list[str] = []
    source_ids: list[str] = []
    suggestions: list[dict[str, Any]] = []
    indicator = "info"

    def because(outcome: VariantOutcome) -> str:
        codes = list(dict.fromkeys(c for c in outcome.decided_by if c in labels))
        flags = [c for c in codes if c in rules.red_flags]
        if len(flags) == len(rules.red_flags) and flags:  # "no red flags": say it once
            text = [context.because(c) for c in codes if c not in rules.red_flags]
            text.append(f"all {len(flags)} red-flag questions answered no")
            return "; ".join(text)
        return "; ".join(context.because(code) for code in codes) or "-"

    if decision.verdict in ("appropriate", "may_be_appropriate", "wrong_procedure"):
        main = decision.deciding[0]
        variant = main.variant.spec
        source_ids = [s for o in decision.deciding for s in o.variant.spec.sources]
        rating_words = _RATING_WORDS[decision.rating or "usually_appropriate"]
        if decision.verdict == "wrong_procedure":
            indicator = "warning"
            assert decision.replacement is not None
            better = rules.file.procedures[decision.replacement]
            summary = f"{what} {rating_words} here; {better.label} instead ({variant.title})"
        else:
            summary = f"{what} {rating_words}: {variant.title}"
        if emergency and decision.verdict != "wrong_procedure":
            summary = f"{what} {rating_words}, EMERGENCY route: {variant.title}"
        lines.append(f"**{procedure.label}: {rating_words}** for {ordered}.")
        lines.append("")
        for outcome in decision.deciding:
            spec = outcome.variant.spec
            lines.append(f"- **{spec.title}** (`{spec.id}`): {spec.clinician}")
            lines.append(f"  - because: {because(outcome)}")
            lines.append(
                f"  - {procedure.label}: {_RATING_WORDS[outcome.variant.rating[order.procedure_id]]}"
            )
        lines.append("")
        if emergency:
            lines += [
                f"**Triage: {context.urgency_label or 'emergency'}.** Book the scan on the "
                "emergency pathway (today), not as a routine request.",
                "",
            ]
        if decision.replacement is not None:
            replaced = _replaced_order(rules, context.resource, decision.replacement)
            better = rules.file.procedures[decision.replacement]
            if replaced is not None:
                suggestions.append(
                    {
                        "label": _truncate(f"Order {better.label} instead", 80),
                        "uuid": str(uuid.uuid4()),
                        "isRecommended": decision.verdict == "wrong_procedure",
                        "actions": [
                            {
                                "type": "update",
                                "description": (
                                    f"Change draft order {context.reference} to {better.label}"
                                ),
                                "resource": replaced,
                            }
                        ],
                    }
                )
    elif decision.verdict == "not_indicated":
        indicator = "warning"
        main = decision.deciding[0]
        variant = main.variant.spec
        source_ids = [s for o in decision.deciding for s in o.variant.spec.sources]
        summary = f"{what} not indicated now: {variant.title}"
        lines += [
            f"**Imaging is not indicated now** for {ordered}.",
            "",
            f"- **{variant.title}** (`{variant.id}`): {variant.clinician}",
            f"  - because: {because(main)}",
            "  - every red-flag question was answered and none is present; no variant that "
            "indicates imaging applies.",
            "",
            "Go ahead only for a reason the record does not show (override reasons are offered).",
            "",
        ]
        suggestions.append(
            {
                "label": _truncate(f"Remove the {what} order", 80),
                "uuid": str(uuid.uuid4()),
                "isRecommended": True,
                "actions": [
                    {
                        "type": "delete",
                        "description": f"Remove draft order {context.reference} ({order.code.display})",
                        "resourceId": context.reference,
                    }
                ],
            }
        )
    elif decision.verdict == "no_variant":
        flags = ", ".join(f"`{c}`" for c in decision.present_red_flags) or "none recorded"
        summary = f"{what}: no guideline variant covers this presentation - clinical judgement"
        lines += [
            f"No imaging variant applies to {ordered}: the red flags present ({flags}) are not "
            "ones the low back pain imaging criteria rate, and the person is not in an "
            "'uncomplicated' variant either. backpath does not judge this order.",
            "",
        ]
        source_ids = ["acr_ac_lbp_2021"]
    else:
        count = len(decision.unknown)
        first = decision.unknown[0] if decision.unknown else "-"
        summary = f"{what}: appropriateness not decided - {count} findings unknown (e.g. {first})"
        lines += [
            f'**Not decided - unknown is not "no".** backpath cannot say whether {ordered} '
            "is indicated, because these are not known:",
            "",
        ]
        lines += [f"- `{code}`: {labels.get(code, code)}" for code in decision.unknown]
        lines += [
            "",
            'With every red flag answered "no" and under 6 weeks of pain, imaging would not be '
            "indicated (ACR variant 1, Choosing Wisely); a red flag could make it urgent. Ask, "
            "or update the intake, before ordering.",
            "",
        ]
        source_ids = ["acr_ac_lbp_2021", "choosing_wisely_nass_advanced_imaging"]

    if context.urgency_label and not emergency:
        lines += [f"Triage on the same findings: {context.urgency_label}.", ""]
    if context.intake_line:
        lines += [context.intake_line, ""]
    if order.code.code_status != "verified":
        lines += [
            f"Order code {order.code.system}|{order.code.code} is {order.code.code_status} in "
            "backpath's list.",
            "",
        ]
    lines.append(context.kb_line)

    links = _source_links(rules, source_ids)
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": _truncate(summary),
        "indicator": indicator,
        "detail": "\n".join(lines),
        "source": {"label": f"backpath {context.kb_version}"},
    }
    if links:
        card["source"]["url"] = links[0]["url"]
        card["links"] = links[:3]
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    if indicator == "warning":
        card["overrideReasons"] = _override_reasons(rules)
    return card
