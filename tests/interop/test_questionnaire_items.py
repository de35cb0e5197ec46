"""The FHIR Questionnaire's instruments and narrative item, and reading them back ($triage)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

# fhir.resources 8: R4B is the R4-compatible package (see test_fhir.py).
from fhir.resources.R4B import bundle as r4b_bundle
from fhir.resources.R4B import operationoutcome as r4b_outcome
from fhir.resources.R4B import questionnaire as r4b_questionnaire
from typer.testing import CliRunner

from backpath.cli import app as cli_app
from backpath.instruments import load_instruments
from backpath.interop.fhir import (
    INSTRUMENT_ITEMS_FILE,
    ORDINAL_VALUE_URL,
    intake_from_questionnaire_response,
    validate_questionnaire_instruments,
)
from tests.web._support import make_app

TRIAGE = "/fhir/QuestionnaireResponse/$triage"
LOINC = "http://loinc.org"
# loinc.org/91349-1 (panel hierarchy): the nine STarT Back questions in Keele's order.
STARTBACK_ITEM_LOINC = [
    "91340-0",
    "91341-8",
    "91342-6",
    "91343-4",
    "91344-2",
    "91345-9",
    "91346-7",
    "91347-5",
    "91348-3",
]
# Words that put the narrative on the cauda equina pathway (saddle numbness, retention).
RED_FLAG_WORDS = "Since yesterday I can't feel my bottom when I wipe and I can't pee."


@pytest.fixture(scope="module")
def questionnaire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The Questionnaire as the server gives it (default settings)."""
    app, store = make_app(tmp_path_factory.mktemp("questionnaire"))
    with TestClient(app) as client:
        yield client.get("/fhir/Questionnaire/backpath-intake").json()
    store.dispose()


def _groups(questionnaire: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in questionnaire["item"]}


def _questions(group: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in group["item"] if item["type"] != "display"]


def _option(question: dict[str, Any], display: str) -> dict[str, Any]:
    """The answerOption coding shown as ``display`` (what a form renderer would send)."""
    for option in question["answerOption"]:
        if option["valueCoding"]["display"] == display:
            coding: dict[str, Any] = option["valueCoding"]
            return coding
    raise AssertionError(f"{question['linkId']} has no option {display!r}")


def _startback_response(
    questionnaire: dict[str, Any], choices: list[str], narrative: str | None = None
) -> dict[str, Any]:
    """A QuestionnaireResponse answering STarT Back with the options shown as ``choices``
    (in item order), nested in its group as a renderer would, plus an optional narrative."""
    questions = _questions(_groups(questionnaire)["startback"])
    group = {
        "linkId": "startback",
        "item": [
            {"linkId": q["linkId"], "answer": [{"valueCoding": _option(q, display)}]}
            for q, display in zip(questions, choices, strict=True)
        ],
    }
    items: list[dict[str, Any]] = [
        {"linkId": "back_pain", "answer": [{"valueBoolean": True}]},
        group,
    ]
    if narrative is not None:
        items.append({"linkId": "narrative", "answer": [{"valueString": narrative}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "item": items,
    }


def test_questionnaire_with_instruments_is_valid_r4(questionnaire: dict[str, Any]) -> None:
    """The Questionnaire with its instrument groups and narrative item validates as R4, and
    every linkId is used once."""
    r4b_questionnaire.Questionnaire.model_validate(questionnaire)
    link_ids: list[str] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            link_ids.append(item["linkId"])
            assert not item.get("required")
            walk(item.get("item", []))

    walk(questionnaire["item"])
    assert len(link_ids) == len(set(link_ids))
    groups = list(_groups(questionnaire))
    assert groups[-5:] == ["startback", "odi", "nprs_back", "nprs_leg", "narrative"]


def test_instrument_groups_are_loinc_coded(questionnaire: dict[str, Any]) -> None:
    """STarT Back: panel 91349-1 and items 91340-0..91348-3 in order; ODI panel 97908-8;
    both pain NRS items 38208-5. Local codes stay alongside."""
    groups = _groups(questionnaire)
    startback = groups["startback"]
    assert startback["code"][0] == {
        "system": LOINC,
        "code": "91349-1",
        "display": "STarT Back Screening Tool panel",
    }
    assert startback["code"][1]["system"] == "urn:backpath:instrument"
    questions = _questions(startback)
    assert [q["code"][0]["code"] for q in questions] == STARTBACK_ITEM_LOINC
    assert all(q["code"][0]["system"] == LOINC for q in questions)
    assert [q["prefix"] for q in questions] == [str(n) for n in range(1, 10)]
    assert groups["odi"]["code"][0]["code"] == "97908-8"
    odi_questions = _questions(groups["odi"])
    assert len(odi_questions) == 10
    # No ODI section code could be checked in a source: local codes only.
    assert all(len(q["code"]) == 1 and q["code"][0]["system"] != LOINC for q in odi_questions)
    for group_id in ("nprs_back", "nprs_leg"):
        (question,) = _questions(groups[group_id])
        assert question["code"][0] == {
            "system": LOINC,
            "code": "38208-5",
            "display": "Pain severity - Reported",
        }


def test_answer_options_carry_the_instrument_scores(questionnaire: dict[str, Any]) -> None:
    """Every answerOption is a coding with its item score as ordinalValue: STarT Back
    agree 1 / disagree 0, bothersomeness 0,0,0,1,1; ODI 0-5; NRS 0-10."""
    groups = _groups(questionnaire)

    def scores(question: dict[str, Any]) -> list[float]:
        out = []
        for option in question["answerOption"]:
            (extension,) = option["valueCoding"]["extension"]
            assert extension["url"] == ORDINAL_VALUE_URL
            out.append(extension["valueDecimal"])
        return out

    startback = _questions(groups["startback"])
    assert scores(startback[0]) == [0, 1]
    assert [o["valueCoding"]["display"] for o in startback[0]["answerOption"]] == [
        "Disagree",
        "Agree",
    ]
    assert scores(startback[8]) == [0, 0, 0, 1, 1]
    assert all(scores(q) == [0, 1, 2, 3, 4, 5] for q in _questions(groups["odi"]))
    assert scores(_questions(groups["nprs_leg"])[0]) == list(range(11))
    # The wording is backpath's paraphrase unless the clinic supplies the licensed text.
    assert "Keele University" in questionnaire["copyright"]
    assert "paraphrase" in questionnaire["copyright"]


def test_narrative_item_has_the_configured_length_limit(
    questionnaire: dict[str, Any], tmp_path: Path
) -> None:
    """The narrative item is free text whose maxLength is the server's narrative limit
    (the settings default, or the configured value)."""
    narrative = _groups(questionnaire)["narrative"]
    assert (narrative["type"], narrative["maxLength"]) == ("text", 4000)
    app, store = make_app(tmp_path, max_narrative_chars=250)
    with TestClient(app) as client:
        document = client.get("/fhir/Questionnaire/backpath-intake").json()
        assert _groups(document)["narrative"]["maxLength"] == 250
        too_long = _startback_response(document, ["Disagree"] * 8 + ["Slightly"], "x" * 251)
        response = client.post(TRIAGE, json=too_long)
        assert response.status_code == 400
        issue = response.json()["issue"][0]
        assert issue["expression"] == ["QuestionnaireResponse.item[2]"]
        assert "250" in issue["diagnostics"]
    store.dispose()


def test_narrative_and_startback_triage_and_score_as_the_cli_does(
    questionnaire: dict[str, Any], tmp_path: Path
) -> None:
    """A response with red-flag words and STarT Back answers: the narrative is read (an
    emergency, its words as evidence) and the STarT Back Observation has the score, distress
    subscore and risk level that `backpath score startback` gives for the same answers."""
    # Agree = 1, disagree = 0; "Moderately" bothersome scores 0 (Keele: only very much or
    # extremely count). Total 6 with a distress subscore of 2: medium risk.
    choices = ["Agree"] * 4 + ["Disagree", "Agree", "Disagree", "Agree", "Moderately"]
    item_scores = [1, 1, 1, 1, 0, 1, 0, 1, 0]
    cli = CliRunner().invoke(
        cli_app, ["score", "startback", "--json"], input=" ".join(map(str, item_scores))
    )
    assert cli.exit_code == 0, cli.output
    expected = json.loads(cli.output)
    assert (expected["value"], expected["stratum"]) == (6, "medium")

    response_body = _startback_response(questionnaire, choices, RED_FLAG_WORDS)
    app, store = make_app(tmp_path)
    with TestClient(app) as client:
        response = client.post(TRIAGE, json=response_body)
    store.dispose()
    assert response.status_code == 200, response.text
    bundle = response.json()
    r4b_bundle.Bundle.model_validate(bundle)
    resources = [entry["resource"] for entry in bundle["entry"]]
    risk = resources[0]
    assert risk["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "emergency"
    from_words = [r for r in resources if r.get("method", {}).get("text") == "backpath: narrative"]
    assert any("can't feel my bottom" in r["note"][0]["text"] for r in from_words)

    scores = [r for r in resources[1:] if "valueQuantity" in r]
    (startback,) = [r for r in scores if r["code"]["coding"][0]["code"] == "91351-7"]
    assert startback["valueQuantity"]["value"] == expected["value"]
    components = {c["code"]["coding"][0]["code"]: c for c in startback["component"]}
    assert components["91350-9"]["valueQuantity"]["value"] == expected["subscales"]["psychosocial"]
    level = components["91352-5"]["valueCodeableConcept"]
    assert level["coding"][0]["code"] == "LA8982-6"  # LOINC answer "Medium" (loinc.org/91352-5)
    assert level["text"] == expected["stratum_label"]


def test_instrument_answers_are_read_into_the_intake(
    questionnaire: dict[str, Any], kb: Any
) -> None:
    """The reader puts the narrative and each instrument's item scores into the intake; an
    item score may also come as valueInteger, and a flat response (no groups) works."""
    body = _startback_response(
        questionnaire, ["Disagree"] * 8 + ["Extremely"], narrative="It started at work."
    )
    body["item"].append({"linkId": "nprs_leg.leg_pain", "answer": [{"valueInteger": 7}]})
    body["item"].append({"linkId": "odi.lifting", "answer": [{"valueInteger": 3}]})
    document, paths = intake_from_questionnaire_response(kb, body)
    assert document["narrative"] == "It started at work."
    startback = dict.fromkeys(load_instruments()["startback"].item_ids, 0)
    startback["bothersomeness"] = 1
    assert document["instruments"] == {
        "startback": startback,
        "nprs_leg": {"leg_pain": 7},
        "odi": {"lifting": 3},
    }
    assert paths["instruments.startback"] == "QuestionnaireResponse.item[1]"
    assert paths["instruments.startback.bothersomeness"] == "QuestionnaireResponse.item[1].item[8]"
    assert paths["instruments.odi.lifting"] == "QuestionnaireResponse.item[4]"


def _bad(questionnaire: dict[str, Any], answer: Any) -> dict[str, Any]:
    """A response whose STarT Back item 9 is answered with ``answer``."""
    body = _startback_response(questionnaire, ["Agree"] * 8 + ["Slightly"])
    body["item"][1]["item"][8]["answer"] = [answer]
    return body


@pytest.mark.parametrize(
    ("answer", "element", "words"),
    [
        ({"valueCoding": {"code": "option-9"}}, "valueCoding.code", "option-1"),
        (
            {"valueCoding": {"system": "http://loinc.org", "code": "LA6568-5"}},
            "valueCoding.system",
            "urn:backpath:instrument:startback:bothersomeness",
        ),
        ({"valueInteger": 2}, "valueInteger", "allowed: 0, 1"),
        ({"valueBoolean": True}, "valueBoolean", "valueCoding"),
        ({"valueString": "very much"}, "valueString", "valueInteger"),
    ],
)
def test_bad_instrument_answers_name_the_item(
    client: TestClient,
    questionnaire: dict[str, Any],
    answer: dict[str, Any],
    element: str,
    words: str,
) -> None:
    """A wrong answer to an instrument question is a 400 OperationOutcome whose expression
    is the answer element and whose diagnostics name the linkId."""
    response = client.post(TRIAGE, json=_bad(questionnaire, answer))
    assert response.status_code == 400, response.text
    outcome = response.json()
    r4b_outcome.OperationOutcome.model_validate(outcome)
    issue = outcome["issue"][0]
    assert issue["expression"] == [f"QuestionnaireResponse.item[1].item[8].answer[0].{element}"]
    assert "startback.bothersomeness" in issue["diagnostics"]
    assert words in issue["diagnostics"]


def test_incomplete_or_repeated_instrument_answers_are_refused(
    client: TestClient, questionnaire: dict[str, Any]
) -> None:
    """STarT Back is scored only when every item is answered: a partly answered group is a
    400 on the group naming the unanswered items; an item answered twice, or an unknown
    instrument question with an answer, names its linkId."""
    partial = _startback_response(questionnaire, ["Agree"] * 8 + ["Slightly"])
    del partial["item"][1]["item"][2:]
    response = client.post(TRIAGE, json=partial)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["QuestionnaireResponse.item[1]"]
    assert issue["diagnostics"].startswith("startback: 7 of 9 items unanswered")
    assert "walks_short_distances" in issue["diagnostics"]

    twice = _startback_response(questionnaire, ["Agree"] * 8 + ["Slightly"])
    twice["item"].append(twice["item"][1]["item"][0])
    issue = client.post(TRIAGE, json=twice).json()["issue"][0]
    assert issue["expression"] == ["QuestionnaireResponse.item[2].linkId"]
    assert "startback.leg_pain_spread is answered twice" in issue["diagnostics"]

    unknown = _startback_response(questionnaire, ["Agree"] * 8 + ["Slightly"])
    unknown["item"][1]["item"].append(
        {"linkId": "startback.not_an_item", "answer": [{"valueInteger": 1}]}
    )
    issue = client.post(TRIAGE, json=unknown).json()["issue"][0]
    assert issue["expression"] == ["QuestionnaireResponse.item[1].item[9].linkId"]
    assert "startback.not_an_item" in issue["diagnostics"]


def test_format_parameter_with_an_unencoded_plus_is_json(client: TestClient) -> None:
    """`?_format=application/fhir+json` as the FHIR specification writes it (the `+` arrives
    as a space) is JSON; `_format=xml` is still refused."""
    ok = client.get("/fhir/metadata?_format=application/fhir+json")
    assert ok.status_code == 200, ok.text
    assert ok.json()["resourceType"] == "CapabilityStatement"
    refused = client.get("/fhir/metadata?_format=application/fhir+xml")
    assert refused.status_code == 406
    assert refused.json()["resourceType"] == "OperationOutcome"


def test_instrument_item_codes_file_is_checked(tmp_path: Path) -> None:
    """The shipped file is valid; a bad check digit, an unknown item, an unknown instrument
    and an unknown key are each reported, naming the instrument."""
    assert validate_questionnaire_instruments() == []
    text = INSTRUMENT_ITEMS_FILE.read_text(encoding="utf-8")
    broken = tmp_path / "instrument_items.yaml"
    broken.write_text(
        text.replace("91340-0", "91340-1")
        .replace("shoulder_neck_pain:", "shoulder_pain:")
        .replace("instrument: nprs_leg", "instrument: nprs_arm"),
        encoding="utf-8",
    )
    problems = validate_questionnaire_instruments(broken)
    assert any("startback: leg_pain_spread: 91340-1 is not a valid LOINC" in p for p in problems)
    assert any("startback: unknown item 'shoulder_pain'" in p for p in problems)
    assert any("nprs_arm: unknown instrument" in p for p in problems)
    typo = tmp_path / "typo.yaml"
    typo.write_text(text.replace("code_status:", "codestatus:", 1), encoding="utf-8")
    assert any("codestatus" in p for p in validate_questionnaire_instruments(typo))
