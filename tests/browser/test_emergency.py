"""An emergency stops everything, at once (issue #10, item 3), in real Chromium.

With JavaScript the emergency screen comes the moment an emergency answer is ticked; without
it, on Next. Either way the assessment is in the database and at the top of the clinician's
worklist before the patient presses anything on the emergency screen. The screen's one
primary action is the tel: call button with the configured number; the red banner with the
instruction and the call button stays on every later intake page. Screenshots at 360 and
1280 px go to /tmp/backpath-shots/ (``BACKPATH_SHOTS_DIR``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from backpath.kb import load_knowledge
from backpath.store.models import StoredAssessment
from tests.browser._pages import (
    answer_page,
    finish_intake,
    first_on_worklist,
    next_page,
    pass_danger_signs,
    serious_violations,
    shoot,
    start_intake,
)
from tests.browser.conftest import LiveServer
from tests.web._support import ROUTINE, all_red_flags_no

pytestmark = pytest.mark.browser

EMERGENCY = re.compile(r"/intake/emergency$")


def _rows(server: LiveServer) -> list[StoredAssessment]:
    with server.store.session() as db:
        return list(db.query(StoredAssessment).order_by(StoredAssessment.created_at))


def _instruction(rule_id: str, number: str) -> str:
    kb = load_knowledge()
    instruction_id = kb.rules_by_id[rule_id].spec.first_instruction
    assert instruction_id
    return kb.instructions[instruction_id].text.format(emergency_number=number)




def test_emergency_interrupt_with_javascript(
    page: Page,
    browser: Browser,
    fresh_server: LiveServer,
    axe_source: str,
    review_shots: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ticking "yes" to new breathlessness shows the emergency screen without Next; it is
    stored and first on the worklist before anything is pressed; one primary action, the
    tel:999 button; the banner stays; finishing updates the same row."""
    monkeypatch.setenv("BACKPATH_EMERGENCY_REGION", "uk")
    base = fresh_server.url
    page.request.post(f"{base}/api/v1/assessments", data={"answers": {"age": 40, "leg_pain": True}})
    start_intake(page, base)
    answer_page(page, {"age": "58", "sex": "female", "back_pain": "yes"})
    next_page(page)
    expect(page).to_have_url(re.compile(r"/intake/section/danger_signs$"))
    answer_page(page, {"chest_pain": "no"})
    page.locator('input[name="breathless_now"][value="yes"]').click()  # no Next
    expect(page).to_have_url(EMERGENCY)
    screen = page.locator("#emergency-screen")
    expect(screen).to_be_visible()

    # Stored before anything on the screen is pressed, and first on the worklist.
    rows = _rows(fresh_server)
    emergency = [row for row in rows if row.urgency == "emergency"]
    assert len(emergency) == 1
    assert emergency[0].intake["answers"]["breathless_now"] is True
    assert emergency[0].intake["answers"]["chest_pain"] is False
    assert first_on_worklist(browser, base) == (emergency[0].id, "emergency")

    # One primary action: the big call button with the configured number.
    call = screen.locator("a.call-button")
    expect(call).to_have_count(1)
    expect(call).to_have_attribute("href", "tel:999")
    expect(call).to_have_text("Call 999 now")
    expect(screen.locator("[data-first-instruction]")).to_have_text(
        _instruction("breathless_now", "999")
    )
    expect(page.locator("main .primary")).to_have_count(0)
    expect(page.locator("#emergency-sent")).to_be_visible()
    box = call.bounding_box()
    assert box
    assert box["height"] >= 56
    assert serious_violations(page, axe_source) == []
    shoot(page, review_shots, "emergency-screen")
    assert box["y"] < 500, "the call button must be on the first screen of a phone"

    # Continue: back to the same page (its other questions), with the banner.
    page.locator('button[name="action"][value="continue"]').click()
    expect(page).to_have_url(re.compile(r"/intake/section/danger_signs$"))
    expect(page.locator('input[name="breathless_now"][value="yes"]')).to_be_checked()
    banner = page.locator("#emergency-banner")
    expect(banner).to_be_visible()
    expect(banner.locator("a.call-button")).to_have_attribute("href", "tel:999")
    expect(banner).to_contain_text(_instruction("breathless_now", "999"))
    assert serious_violations(page, axe_source) == []
    shoot(page, review_shots, "emergency-banner")
    next_page(page)
    expect(page).to_have_url(re.compile(r"/intake/section/bladder_bowel_saddle$"))
    expect(banner).to_be_visible()
    expect(banner.locator("a.call-button")).to_have_attribute("href", "tel:999")

    finish_intake(page, {**all_red_flags_no(), **ROUTINE, "breathless_now": "yes"})
    expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "emergency")
    expect(page.locator(".now a.call-button")).to_have_attribute("href", "tel:999")
    assert serious_violations(page, axe_source) == []
    shoot(page, review_shots, "result-emergency")
    after = [row for row in _rows(fresh_server) if row.urgency == "emergency"]
    assert [row.id for row in after] == [emergency[0].id]
    assert len(_rows(fresh_server)) == 2
    assert after[0].intake["answers"]["leg_pain"] is True


def test_emergency_interrupt_without_javascript(
    browser: Browser, fresh_server: LiveServer, review_shots: Path
) -> None:
    """Without JavaScript nothing happens on the tick; Next shows the emergency screen, and
    the assessment is already stored and first on the worklist."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        base = fresh_server.url
        start_intake(page, base)
        answer_page(page, {"age": "45", "back_pain": "yes"})
        next_page(page)
        pass_danger_signs(page)
        page.locator('input[name="saddle_numbness"][value="yes"]').check()
        expect(page).to_have_url(re.compile(r"/intake/section/bladder_bowel_saddle$"))
        assert _rows(fresh_server) == []
        next_page(page)
        expect(page).to_have_url(EMERGENCY)
        expect(page.locator("#emergency-screen")).to_be_visible()
        rows = _rows(fresh_server)
        assert [row.urgency for row in rows] == ["emergency"]
        assert first_on_worklist(browser, base) == (rows[0].id, "emergency")
        expect(page.locator("#emergency-screen a.call-button")).to_have_attribute("href", "tel:911")
        # (axe-core cannot run with JavaScript off; the same screen is checked above.)
        shoot(page, review_shots, "emergency-screen-no-js")
        page.locator('button[name="action"][value="finish"]').click()
        expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "emergency")
        assert [row.id for row in _rows(fresh_server)] == [rows[0].id]
    finally:
        context.close()


def test_two_answers_on_one_page_that_together_are_an_emergency(
    page: Page, fresh_server: LiveServer
) -> None:
    """Fever alone is not an emergency at 60, fever with injecting drugs is: the page's check
    address tells the script, which sends the page at once."""
    start_intake(page, fresh_server.url)
    answers = {**all_red_flags_no(), "age": "60", "back_pain": "yes"}
    for _ in range(12):
        if page.locator('input[name="iv_drug_use"]').count():
            break
        answer_page(page, answers)
        next_page(page)
    page.locator('input[name="fever"][value="yes"]').click()
    page.wait_for_timeout(600)
    expect(page).to_have_url(re.compile(r"/intake/section/health$"))
    page.locator('input[name="iv_drug_use"][value="yes"]').click()
    expect(page).to_have_url(EMERGENCY)
    assert [row.urgency for row in _rows(fresh_server)] == ["emergency"]


def test_arrow_keys_through_a_radio_group_do_not_jump_away(
    page: Page, live_server: LiveServer
) -> None:
    """Moving through Yes/No/Not sure with the arrow keys selects as it goes: that alone does
    not leave the page; Next does."""
    start_intake(page, live_server.url)
    answer_page(page, {"age": "45", "back_pain": "yes"})
    next_page(page)
    no = page.locator('input[name="chest_pain"][value="no"]')
    no.check()
    no.focus()
    page.keyboard.press("ArrowUp")
    expect(page.locator('input[name="chest_pain"][value="yes"]')).to_be_checked()
    page.wait_for_timeout(600)
    expect(page).to_have_url(re.compile(r"/intake/section/danger_signs$"))
    next_page(page)
    expect(page).to_have_url(EMERGENCY)


def test_changing_language_keeps_the_answers_on_the_page(
    page: Page, live_server: LiveServer
) -> None:
    """Typed and ticked answers survive a change of language in the header."""
    start_intake(page, live_server.url)
    answer_page(page, {"age": "37", "sex": "male", "back_pain": "yes"})
    page.locator("#lang-select").select_option("es")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page).to_have_url(re.compile(r"/intake/section/start$"))
    expect(page.locator('input[name="age"]')).to_have_value("37")
    expect(page.locator('input[name="sex"][value="male"]')).to_be_checked()
    expect(page.locator('input[name="back_pain"][value="yes"]')).to_be_checked()
    page.locator("#lang-select").select_option("en")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_next_is_first_on_screen_and_for_the_keyboard(page: Page, live_server: LiveServer) -> None:
    """Next comes before Back in the tab order and on screen (left of it, or above it)."""
    start_intake(page, live_server.url)
    next_box = page.locator('button[name="nav"][value="next"]').bounding_box()
    back_box = page.locator('button[name="nav"][value="back"]').bounding_box()
    assert next_box
    assert back_box
    assert (next_box["y"], next_box["x"]) < (back_box["y"], back_box["x"])
    page.locator('button[name="nav"][value="next"]').focus()
    page.keyboard.press("Tab")
    expect(page.locator('button[name="nav"][value="back"]')).to_be_focused()


def test_result_page_screenshots(
    page: Page, live_server: LiveServer, axe_source: str, review_shots: Path
) -> None:
    """A routine result at 360 and 1280 px, to look at next to the emergency ones."""
    start_intake(page, live_server.url)
    finish_intake(page, {**all_red_flags_no(), **ROUTINE})
    expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "routine")
    assert serious_violations(page, axe_source) == []
    shoot(page, review_shots, "result-routine")
