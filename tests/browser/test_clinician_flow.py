"""The clinician side in real Chromium: sign in, worklist order, patient page, review."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser._pages import (
    answer_page,
    finish_intake,
    next_page,
    pass_danger_signs,
    serious_violations,
    shoot,
    sign_in_clinician,
    start_intake,
    tick_emergency_answer,
)
from tests.browser.conftest import LiveServer
from tests.web._support import ROUTINE, all_red_flags_no

pytestmark = pytest.mark.browser


def _post(url: str, body: object) -> dict:  # type: ignore[type-arg]
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_saddle_numbness_patient_is_first_on_the_worklist_and_can_be_reviewed(
    page: Page, fresh_server: LiveServer, axe_source: str, screenshots: Path
) -> None:
    """Earlier routine and urgent patients wait below the emergency; review clears the row."""
    base = fresh_server.url
    routine = _post(f"{base}/api/v1/assessments", {"answers": {"age": 40, "leg_pain": True}})
    urgent = _post(
        f"{base}/api/v1/assessments",
        {"answers": {"age": 67, "trauma_minor": True, "pain_back_nrs": 6}},
    )
    start_intake(page, base)
    answer_page(page, {"age": "45", "sex": "female", "back_pain": "yes"})
    next_page(page)
    pass_danger_signs(page)
    tick_emergency_answer(page, "saddle_numbness")
    finish_intake(
        page,
        {**all_red_flags_no(), **ROUTINE, "saddle_numbness": "yes", "pain_back_nrs": "8"},
        narrative="The numbness between my legs started yesterday.",
    )
    expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "emergency")

    page.goto(f"{base}/clinic")
    expect(page).to_have_url(f"{base}/clinic/login?next=/clinic")
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "20-clinic-login")
    sign_in_clinician(page, base, go=False)

    rows = page.locator("#worklist-rows tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-urgency", "emergency")
    expect(rows.nth(1)).to_have_attribute("data-assessment", urgent["id"])
    expect(rows.nth(2)).to_have_attribute("data-assessment", routine["id"])
    expect(rows.nth(0).locator(".badge")).to_contain_text(["Cauda equina"])
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "21-clinic-worklist")

    page.locator("select#f-urgency").select_option("urgent")
    page.locator("form.filters button[type=submit]").click()
    expect(page.locator("#worklist-rows tbody tr")).to_have_count(1)
    page.goto(f"{base}/clinic")

    rows.nth(0).locator("a.pill").click()
    expect(page.locator("[data-rule='ces_new_bladder_bowel_saddle_sexual']")).to_be_visible()
    expect(page.locator(".narrative")).to_contain_text("numbness between my legs")
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "22-clinic-assessment")
    page.locator("#f-note").fill("Called: going to the emergency department now.")
    page.locator("form[action$='/notes'] button").click()
    expect(page.locator(".note")).to_contain_text("going to the emergency department")
    page.locator("form[action$='/review'] button").click()
    expect(page.locator(".review-bar .status-done")).to_be_visible()

    page.goto(f"{base}/clinic")
    expect(page.locator("#worklist-rows tbody tr")).to_have_count(2)
    expect(page.locator("#worklist-rows tbody tr").nth(0)).to_have_attribute(
        "data-assessment", urgent["id"]
    )
    page.goto(f"{base}/clinic?status=reviewed")
    expect(page.locator("#worklist-rows tbody tr")).to_have_count(1)
    expect(page.locator("#worklist-rows tbody tr").nth(0)).to_have_attribute(
        "data-urgency", "emergency"
    )

    page.locator("form[action='/clinic/logout'] button").click()
    expect(page).to_have_url(f"{base}/clinic/login")


def test_start_and_language_pages_are_accessible(
    page: Page, live_server: LiveServer, axe_source: str, screenshots: Path
) -> None:
    """The start page in English and Spanish has no serious or critical axe violations."""
    page.goto(f"{live_server.url}/?lang=en")
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "00-landing")
    page.locator("#lang-select").select_option("es")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "00-landing-es")
    page.goto(f"{live_server.url}/?lang=en")
    start_intake(page, live_server.url)
    assert serious_violations(page, axe_source) == []
