"""Identity capture in real Chromium: the prompt on an urgent result, the contact page
(errors, accessibility), the emergency screen's call button first, and the clinician's
worklist row and search."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser._pages import (
    answer_page,
    next_page,
    no_horizontal_scroll,
    pass_danger_signs,
    serious_violations,
    shoot,
    sign_in_clinician,
    start_intake,
    tick_emergency_answer,
)
from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser

YEAR = datetime.now(UTC).year


def _post(url: str, body: object) -> dict:  # type: ignore[type-arg]
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _fill(page: Page, phone: str, born_year: int) -> None:
    page.locator("#f-given_name").fill("Iris")
    page.locator("#f-family_name").fill("Delacroix-Nakamura")
    page.locator("#f-dob_day").fill("1")
    page.locator("#f-dob_month").fill("1")
    page.locator("#f-dob_year").fill(str(born_year))
    page.locator("#f-phone").fill(phone)


def test_urgent_result_asks_for_contact_and_the_clinician_finds_the_patient(
    page: Page, fresh_server: LiveServer, axe_source: str, screenshots: Path
) -> None:
    """Urgent result -> contact page -> a bad phone named in the error summary, the rest
    kept -> saved -> the worklist shows the name and phone and the search finds it."""
    base = fresh_server.url
    created = _post(
        f"{base}/api/v1/assessments",
        {"age": 67, "answers": {"trauma_minor": True, "pain_back_nrs": 6}},
    )
    link = str(created["patient_link"])
    page.goto(link if link.startswith("http") else base + link)
    prompt = page.locator('#contact[data-contact-prompt="urgent"]')
    expect(prompt).to_be_visible()
    prompt.get_by_role("link").click()
    expect(page.locator("#contact-reason")).to_be_visible()
    assert serious_violations(page, axe_source) == []
    _fill(page, "0770 0900 ext 4", YEAR - 67)
    page.locator("#f-record_number").fill("MRN 7781")
    page.get_by_role("button", name="Save my details").click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#error-summary a[href='#f-phone']")).to_be_visible()
    expect(page.locator("#f-family_name")).to_have_value("Delacroix-Nakamura")
    expect(page.locator("#f-record_number")).to_have_value("MRN 7781")
    expect(page.locator("#f-phone")).to_have_attribute("aria-invalid", "true")
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "30-contact-error")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    page.locator("#f-phone").fill("+44 7700 900555")
    page.get_by_role("button", name="Save my details").click()
    expect(page.locator("#contact-given")).to_be_visible()
    assert "900555" not in page.content()

    sign_in_clinician(page, base)
    row = page.locator(f'tr[data-assessment="{created["id"]}"] td[data-person]')
    expect(row).to_contain_text("Iris Delacroix-Nakamura")
    expect(row.locator('a[href="tel:+447700900555"]')).to_be_visible()
    assert serious_violations(page, axe_source) == []
    page.locator("#s-name").fill("delacroix nakamura")
    page.locator("#s-dob").fill(f"{YEAR - 67}-01-01")
    page.locator("#patient-search button[type=submit]").click()
    rows = page.locator("#search-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-assessment", str(created["id"]))
    shoot(page, screenshots, "31-clinic-search")


def test_emergency_screen_keeps_the_call_button_first(
    page: Page, fresh_server: LiveServer, axe_source: str, review_shots: Path
) -> None:
    """On the emergency screen the call button comes before the contact offer, in the page
    and on screen; the contact page shows the call button above its form."""
    base = fresh_server.url
    start_intake(page, base)
    answer_page(page, {"age": "52", "sex": "male", "back_pain": "yes"})
    next_page(page)
    pass_danger_signs(page)
    tick_emergency_answer(page, "saddle_numbness")
    call = page.locator("a.call-button").first
    offer = page.locator('a[href="/intake/emergency/contact"]')
    expect(call).to_be_visible()
    expect(offer).to_be_visible()
    call_box, offer_box = call.bounding_box(), offer.bounding_box()
    assert call_box is not None
    assert offer_box is not None
    assert call_box["y"] < offer_box["y"]
    assert page.evaluate(
        "([a, b]) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)",
        [call.element_handle(), offer.element_handle()],
    )
    offer.click()
    expect(page.locator("#emergency-banner a.call-button")).to_be_visible()
    banner = page.locator("#emergency-banner").bounding_box()
    form = page.locator("form[method=post][action='/intake/emergency/contact']").bounding_box()
    assert banner is not None
    assert form is not None
    assert banner["y"] < form["y"]
    assert serious_violations(page, axe_source) == []
    _fill(page, "07700 900777", YEAR - 52)
    page.get_by_role("button", name="Save my details").click()
    expect(page).to_have_url(f"{base}/intake/emergency?contact=saved")
    expect(page.locator("#contact-given")).to_be_visible()
    shoot(page, review_shots, "emergency-contact-saved")
