"""Lumbar spine imaging at the point of ordering: the order-select and order-sign services
(discovery, draftOrders, selections, 412), the decision from intake and chart (warning with
a remove or replace suggestion, info when appropriate, "not decided" when a red flag is
unknown), the card shape, and the checks on knowledge/imaging.yaml."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from fhir.resources.R4B import servicerequest as r4b_servicerequest

from backpath.interop.cds_hooks import ORDER_SELECT_ID, ORDER_SIGN_ID, prefetch_templates
from backpath.interop.imaging import IMAGING_FILE, load_imaging, validate_imaging
from backpath.interop.terminology import load_terminology
from backpath.kb import KnowledgeBase
from tests.interop.conftest import all_red_flags_no, condition, hook_request, searchset
from tests.interop.conftest import questionnaire_response as qr_of

SELECT = f"/cds-services/{ORDER_SELECT_ID}"
SIGN = f"/cds-services/{ORDER_SIGN_ID}"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
# Codes as listed in Microsoft Learn, Radiology Insights appendix A (LOINC imaging codes).
MRI_LUMBAR_WO = "30679-5"  # MR Lumbar spine WO contrast
XR_LUMBAR = "24972-2"  # XR Lumbar spine Views
CBC_PANEL = "58410-2"  # a blood count panel: not imaging
ACR_URL = "https://acsearch.acr.org/list/GetAppendix?PanelName=Neurologic&TopicId=141"

_CARD_KEYS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
}


def check_card(card: dict[str, Any]) -> None:
    """The CDS Hooks 2.0 card shape: required fields, closed keys, suggestions with actions
    a client can apply, override reasons as Codings, absolute links."""
    assert set(card) <= _CARD_KEYS, set(card) - _CARD_KEYS
    uuid.UUID(card["uuid"])
    assert isinstance(card["summary"], str)
    assert 0 < len(card["summary"]) <= 140
    assert card["indicator"] in {"info", "warning", "critical"}
    assert card["source"]["label"].startswith("backpath ")
    assert card["source"]["url"].startswith("https://")
    assert isinstance(card["detail"], str)
    assert card["detail"]
    for link in card.get("links", []):
        assert link["type"] == "absolute"
        assert link["url"].startswith("http")
        assert link["label"]
    if "suggestions" in card:
        assert card["selectionBehavior"] in {"at-most-one", "any"}
        for suggestion in card["suggestions"]:
            assert suggestion["label"]
            uuid.UUID(suggestion["uuid"])
            assert isinstance(suggestion.get("isRecommended", False), bool)
            assert suggestion["actions"]
            for action in suggestion["actions"]:
                assert action["type"] in {"create", "update", "delete"}
                assert action["description"]
                if action["type"] == "delete":
                    assert action["resourceId"].count("/") == 1
                else:
                    r4b_servicerequest.ServiceRequest.model_validate(action["resource"])
    else:
        assert "selectionBehavior" not in card
    for reason in card.get("overrideReasons", []):
        assert set(reason) == {"system", "code", "display"}
        assert all(isinstance(v, str) and v for v in reason.values())


def service_request(
    code: str, system: str = LOINC, rid: str = "sr1", patient_id: str = "p1"
) -> dict[str, Any]:
    """A draft ServiceRequest of ``patient_id`` coded ``system|code``."""
    return {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {"coding": [{"system": system, "code": code}]},
    }


def order_request(
    *orders: dict[str, Any],
    hook: str = "order-select",
    selections: list[str] | None = None,
    answers: dict[str, Any] | None = None,
    birth_date: str | None = "1988-05-10",
    conditions: Any = None,
) -> dict[str, Any]:
    """An order hook request: the draft orders, the patient's intake and chart prefetched."""
    qr = qr_of(answers) if answers is not None else None
    if qr is not None:
        qr.update(id="qr1", authored="2026-11-24T09:00:00Z")
    request = hook_request(qr, birth_date=birth_date, conditions=conditions)
    request["hook"] = hook
    request["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": order} for order in orders],
    }
    if hook == "order-select":
        request["context"]["selections"] = (
            selections
            if selections is not None
            else [f"ServiceRequest/{order['id']}" for order in orders[:1]]
        )
    return request


def uncomplicated(kb: KnowledgeBase, **extra: Any) -> dict[str, Any]:
    """Back pain for 14 days, every red flag answered "no" (plus ``extra``)."""
    answers = all_red_flags_no(kb)
    answers["duration_days"] = 14
    answers.update(extra)
    return answers


def cards_of(client: TestClient, path: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    """POST the request; check every card's shape; return the cards."""
    response = client.post(path, json=request)
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    for card in cards:
        check_card(card)
    return cards


def test_discovery_lists_the_order_select_and_order_sign_services(client: TestClient) -> None:
    """Discovery lists both imaging services with their hooks and the same prefetch."""
    services = {s["id"]: s for s in client.get("/cds-services").json()["services"]}
    assert services[ORDER_SELECT_ID]["hook"] == "order-select"
    assert services[ORDER_SIGN_ID]["hook"] == "order-sign"
    for service_id in (ORDER_SELECT_ID, ORDER_SIGN_ID):
        assert services[service_id]["prefetch"] == prefetch_templates(load_terminology())
        assert services[service_id]["description"]
    assert services["backpath-back-pain-triage"]["hook"] == "patient-view"


def test_mri_for_38_year_old_two_weeks_no_red_flags_is_a_warning_with_removal(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Acceptance: lumbar MRI for a 38-year-old with 2 weeks of back pain and every red
    flag answered "no" gives a warning citing ACR variant 1 and Choosing Wisely, with a
    suggestion that deletes the draft order, and override reasons."""
    request = order_request(service_request(MRI_LUMBAR_WO), answers=uncomplicated(kb))
    (card,) = cards_of(client, SELECT, request)
    assert card["indicator"] == "warning"
    assert "not indicated" in card["summary"]
    assert "acr_lbp_v1_acute_uncomplicated" in card["detail"]
    assert "`duration_days` = 14 (answer)" in card["detail"]
    urls = [link["url"] for link in card["links"]]
    assert card["source"]["url"] == ACR_URL
    assert any("aafp.org" in url or "choosingwisely.org" in url for url in urls)
    (suggestion,) = card["suggestions"]
    assert suggestion["isRecommended"] is True
    assert suggestion["actions"] == [
        {
            "type": "delete",
            "description": suggestion["actions"][0]["description"],
            "resourceId": "ServiceRequest/sr1",
        }
    ]
    assert card["selectionBehavior"] == "at-most-one"
    codes = {r["code"] for r in card["overrideReasons"]}
    assert "intervention-candidate" in codes


def test_same_patient_with_saddle_numbness_gets_an_info_card_mri_urgently(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Acceptance: the same order with saddle numbness is appropriate - an info card that
    says so, names the emergency route and cites ACR variant 4."""
    answers = uncomplicated(kb, saddle_numbness=True, cauda_equina_symptoms_days=1)
    request = order_request(service_request(MRI_LUMBAR_WO), answers=answers)
    (card,) = cards_of(client, SELECT, request)
    assert card["indicator"] == "info"
    assert "usually appropriate" in card["summary"]
    assert "EMERGENCY" in card["summary"]
    assert "acr_lbp_v4_cauda_equina" in card["detail"]
    assert "`saddle_numbness` = yes (answer)" in card["detail"]
    assert "emergency pathway" in card["detail"]
    assert card["source"]["url"] == ACR_URL
    assert "suggestions" not in card
    assert "overrideReasons" not in card


def test_an_unanswered_red_flag_leaves_the_order_undecided(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """One red flag not answered: no warning - the card says what is not known."""
    answers = uncomplicated(kb)
    del answers["saddle_numbness"]
    (card,) = cards_of(
        client, SELECT, order_request(service_request(MRI_LUMBAR_WO), answers=answers)
    )
    assert card["indicator"] == "info"
    assert "not decided" in card["summary"]
    assert "`saddle_numbness`" in card["detail"]
    assert 'unknown is not "no"' in card["detail"]
    assert "suggestions" not in card


def test_no_intake_means_undecided_not_inappropriate(client: TestClient) -> None:
    """Without any intake nothing is known: the card is undecided and lists the findings."""
    (card,) = cards_of(client, SELECT, order_request(service_request(MRI_LUMBAR_WO)))
    assert card["indicator"] == "info"
    assert "not decided" in card["summary"]
    assert "No backpath intake on file" in card["detail"]


def test_xray_for_suspected_cauda_equina_is_replaced_by_mri(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """An X-ray where the variant rates it usually not appropriate: a warning whose
    suggestion updates the same draft order to MRI without contrast."""
    answers = uncomplicated(kb, saddle_numbness=True, cauda_equina_symptoms_days=1)
    (card,) = cards_of(client, SELECT, order_request(service_request(XR_LUMBAR), answers=answers))
    assert card["indicator"] == "warning"
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    assert action["resource"]["id"] == "sr1"
    assert action["resource"]["code"]["coding"][0] == {
        "system": LOINC,
        "code": MRI_LUMBAR_WO,
        "display": "MR Lumbar spine WO contrast",
    }
    assert card["overrideReasons"]


def test_age_from_birth_date_over_70_makes_radiography_appropriate(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Patient.birthDate gives age 76: ACR variant 6 (elderly) rates an X-ray usually
    appropriate although every red flag is "no"."""
    request = order_request(
        service_request(XR_LUMBAR), answers=uncomplicated(kb), birth_date="1950-03-02"
    )
    (card,) = cards_of(client, SELECT, request)
    assert card["indicator"] == "info"
    assert "acr_lbp_v6_fracture_risk" in card["detail"]
    assert "chart: Patient/p1" in card["detail"]


def test_chart_condition_g83_4_counts_as_suspected_cauda_equina(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """A prefetched Condition G83.4 (cauda equina syndrome) makes the MRI appropriate, with
    the Condition as evidence, although the intake says nothing about saddle numbness."""
    answers = {"back_pain": True, "duration_days": 14}
    request = order_request(
        service_request(MRI_LUMBAR_WO),
        answers=answers,
        conditions=searchset(condition("G83.4", display="Cauda equina syndrome")),
    )
    (card,) = cards_of(client, SELECT, request)
    assert card["indicator"] == "info"
    assert "acr_lbp_v4_cauda_equina" in card["detail"]
    assert "Condition/c1" in card["detail"]


def test_cpt_coded_order_is_recognised(client: TestClient, kb: KnowledgeBase) -> None:
    """An MRI ordered by CPT 72148 is lumbar MRI too."""
    request = order_request(service_request("72148", system=CPT), answers=uncomplicated(kb))
    (card,) = cards_of(client, SELECT, request)
    assert card["indicator"] == "warning"
    assert "corroborated" in card["detail"]


def test_non_imaging_order_gives_no_card_and_needs_no_prefetch(client: TestClient) -> None:
    """A blood count order: no card, and no 412 although nothing was prefetched."""
    request = order_request(service_request(CBC_PANEL))
    del request["prefetch"]
    assert client.post(SELECT, json=request).json() == {"cards": []}


def test_order_sign_gives_one_card_per_imaging_order_only(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """order-sign looks at every draft order: the MRI gets a card, the blood count none."""
    request = order_request(
        service_request(CBC_PANEL, rid="lab1"),
        service_request(MRI_LUMBAR_WO, rid="mri1"),
        hook="order-sign",
        answers=uncomplicated(kb),
    )
    (card,) = cards_of(client, SIGN, request)
    assert card["suggestions"][0]["actions"][0]["resourceId"] == "ServiceRequest/mri1"


def test_order_select_advises_only_on_the_selections(client: TestClient, kb: KnowledgeBase) -> None:
    """order-select: an MRI among the drafts but not selected gets no card."""
    request = order_request(
        service_request(CBC_PANEL, rid="lab1"),
        service_request(MRI_LUMBAR_WO, rid="mri1"),
        selections=["ServiceRequest/lab1"],
        answers=uncomplicated(kb),
    )
    assert cards_of(client, SELECT, request) == []


def test_missing_prefetch_for_an_imaging_order_is_412(client: TestClient) -> None:
    """An imaging order without the Patient and intakes (and no FHIR server): 412."""
    request = order_request(service_request(MRI_LUMBAR_WO))
    del request["prefetch"]
    response = client.post(SELECT, json=request)
    assert response.status_code == 412
    assert response.json()["error"]["field"] in {
        "prefetch.patient",
        "prefetch.questionnaireResponse",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r["context"].pop("draftOrders"), "context.draftOrders"),
        (
            lambda r: r["context"].update(selections=["ServiceRequest/nope"]),
            "context.selections[0]",
        ),
        (lambda r: r["context"].pop("selections"), "context.selections"),
        (lambda r: r.update(hook="patient-view"), "hook"),
        (
            lambda r: r["context"]["draftOrders"]["entry"][0]["resource"].pop("id"),
            "context.draftOrders.entry[0].resource.id",
        ),
        (
            lambda r: r["context"]["draftOrders"]["entry"][0]["resource"].update(
                subject={"reference": "Patient/someone-else"}
            ),
            "context.draftOrders.entry[0].resource.subject",
        ),
    ],
)
def test_bad_order_requests_are_400_naming_the_field(
    client: TestClient, change: Any, field: str
) -> None:
    """A malformed order request is refused with the field named."""
    request = order_request(service_request(MRI_LUMBAR_WO))
    change(request)
    response = client.post(SELECT, json=request)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


def test_override_feedback_on_an_imaging_card_is_stored(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """Feedback on an issued imaging card (overridden, with one of its reasons) is stored;
    an unknown card is refused."""
    request = order_request(service_request(MRI_LUMBAR_WO), answers=uncomplicated(kb))
    (card,) = cards_of(client, SELECT, request)
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": card["overrideReasons"][0]},
        "outcomeTimestamp": "2026-11-25T10:05:31Z",
    }
    response = client.post(f"{SELECT}/feedback", json={"feedback": [item]})
    assert response.json() == {"stored": 1}
    item["card"] = str(uuid.uuid4())
    assert client.post(f"{SELECT}/feedback", json={"feedback": [item]}).status_code == 400


# ------------------------------------------------------------------ the knowledge file


def test_imaging_file_is_valid_and_every_order_code_maps_to_a_rated_procedure() -> None:
    """The shipped imaging.yaml loads; each variant rates every procedure."""
    assert validate_imaging() == []
    rules = load_imaging()
    for variant in rules.variants:
        assert set(variant.rating) == set(rules.file.procedures)
    assert (LOINC, MRI_LUMBAR_WO) in rules.codes


def _broken(tmp_path: Path, edit: Any) -> list[str]:
    data = yaml.safe_load(IMAGING_FILE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "imaging.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return validate_imaging(path)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["orders"][0].update(code="24967-5"), "not a valid LOINC code"),
        (lambda d: d["variants"][0]["when"]["any"].append("saddle_numbnes"), "unknown finding"),
        (lambda d: d["variants"][0].update(sources=["nowhere"]), "unknown source 'nowhere'"),
        (lambda d: d["variants"][0]["ratings"].update(usually_not_appropriate=[]), "not rated"),
        (
            lambda d: d["thresholds"].update(
                unused_days={
                    "value": 3,
                    "meaning": "never used here",
                    "sources": ["acr_ac_lbp_2021"],
                }
            ),
            "not used",
        ),
        (
            lambda d: d["variants"][6]["when"]["all"].__setitem__(1, "duration_days < six_weeks"),
            "not a number",
        ),
        (lambda d: d.update(surprise=1), "surprise"),
    ],
)
def test_broken_imaging_file_is_refused_naming_the_problem(
    tmp_path: Path, edit: Any, expected: str
) -> None:
    """A typo, a bad code, an unknown source or an unrated procedure fails the check."""
    problems = _broken(tmp_path, edit)
    assert any(expected in p for p in problems), problems


def test_kb_check_fails_on_a_broken_imaging_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`backpath kb check` also checks imaging.yaml: a bad LOINC code exits 1, named."""
    from typer.testing import CliRunner

    from backpath.cli import app
    from backpath.interop import imaging

    data = yaml.safe_load(IMAGING_FILE.read_text(encoding="utf-8"))
    data["orders"][0]["code"] = "24967-5"
    broken = tmp_path / "imaging.yaml"
    broken.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    monkeypatch.setattr(imaging, "IMAGING_FILE", broken)
    result = CliRunner().invoke(app, ["kb", "check"])
    assert result.exit_code == 1
    assert "24967-5 is not a valid LOINC code" in result.output
