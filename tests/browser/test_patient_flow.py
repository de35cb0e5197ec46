"""The patient intake in real Chromium: emergency, routine and self-care paths, body map,
narrative, keyboard, and the same flow with JavaScript turned off."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from backpath.store.models import StoredAssessment
from backpath.web.triage import narrative_reader_available
from tests.browser._pages import (
    answer_page,
    finish_intake,
    next_page,
    no_horizontal_scroll,
    on_emergency_screen,
    pass_danger_signs,
    serious_violations,
    shoot,
    start_intake,
    tick_emergency_answer,
)
from tests.browser.conftest import LiveServer
from tests.web._support import ROUTINE, SELF_CARE, all_red_flags_no

pytestmark = pytest.mark.browser


@pytest.fixture
def csp_errors(page: Page) -> list[str]:
    """Console errors about the Content-Security-Policy (a blocked script or style)."""
    errors: list[str] = []

    def listen(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(message.text)

    page.on("console", listen)
    return errors


def _latest(server: LiveServer) -> StoredAssessment:
    with server.store.session() as db:
        row = db.query(StoredAssessment).order_by(StoredAssessment.created_at.desc()).first()
    assert row is not None
    return row


def test_emergency_path_shows_the_emergency_screen_at_once(
    page: Page, live_server: LiveServer, axe_source: str, screenshots: Path, csp_errors: list[str]
) -> None:
    """Saddle numbness: emergency screen right after that page, then an emergency result."""
    start_intake(page, live_server.url)
    shoot(page, screenshots, "01-start-page")
    answer_page(page, {"age": "45", "back_pain": "yes"})
    next_page(page)
    pass_danger_signs(page)
    shoot(page, screenshots, "02-bladder-bowel-saddle")
    tick_emergency_answer(page, "saddle_numbness")
    expect(page.locator("#emergency-screen h1")).to_have_text("Stop. Get help now.")
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "03-emergency-screen")
    page.locator('button[name="action"][value="continue"]').click()
    expect(page.locator('input[name="cauda_equina_symptoms_days"]')).to_be_visible()
    finish_intake(page, {"saddle_numbness": "yes"})
    banner = page.locator("[data-urgency]")
    expect(banner).to_have_count(1)
    expect(banner).to_have_attribute("data-urgency", "emergency")
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "04-result-emergency")
    assert csp_errors == []


def test_routine_path(
    page: Page, live_server: LiveServer, axe_source: str, screenshots: Path
) -> None:
    """Leg pain and numbness with every red flag "no" gives a routine result."""
    start_intake(page, live_server.url)
    finish_intake(page, {**all_red_flags_no(), **ROUTINE})
    expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "routine")
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "05-result-routine")


def test_self_care_path(
    page: Page, live_server: LiveServer, axe_source: str, screenshots: Path
) -> None:
    """Short back pain only, every red flag "no": self-care, with the safety net shown."""
    start_intake(page, live_server.url)
    finish_intake(page, {**all_red_flags_no(), **SELF_CARE})
    expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "self_care")
    expect(page.locator(".safety-net")).to_be_visible()
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "06-result-self-care")
    page.locator("a[href$='/print']").click()
    expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "self_care")
    shoot(page, screenshots, "07-print-view")


def test_body_map_clicks_tick_the_checklist(
    page: Page, live_server: LiveServer, axe_source: str, screenshots: Path
) -> None:
    """Clicking regions on the map ticks the matching boxes; both views share a region."""
    start_intake(page, live_server.url)
    for _ in range(12):
        if on_emergency_screen(page):
            page.locator('button[name="action"][value="continue"]').click()
        elif page.locator(".body-map").count():
            break
        else:
            next_page(page)
    body_map = page.locator(".body-map")
    expect(body_map).to_be_visible()
    box = page.locator('input[name="pain_regions"]')
    page.locator('.body-map [data-region="lower_back_left"]').click()
    page.locator('.body-map [data-region="thigh_left"]').first.click()  # back view
    page.locator('.body-map [data-region="shin_right"]').click()  # front view
    expect(box.and_(page.locator('[value="lower_back_left"]'))).to_be_checked()
    expect(box.and_(page.locator('[value="thigh_left"]'))).to_be_checked()
    expect(box.and_(page.locator('[value="shin_right"]'))).to_be_checked()
    expect(page.locator('.body-map [data-region="thigh_left"].on')).to_have_count(2)
    page.locator('.body-map [data-region="thigh_left"]').last.click()  # front view: untick
    expect(box.and_(page.locator('[value="thigh_left"]'))).not_to_be_checked()
    page.locator('input[name="pain_regions"][value="foot_left"]').check()  # the checklist
    expect(page.locator('.body-map [data-region="foot_left"].on')).to_have_count(2)
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "08-pain-page-body-map")
    assert no_horizontal_scroll(page)
    next_page(page)
    finish_intake(page, {})
    assert _latest(live_server).intake["answers"]["pain_regions"] == [
        "lower_back_left",
        "shin_right",
        "foot_left",
    ]


def test_narrative_is_sent_and_quoted(
    page: Page, live_server: LiveServer, axe_source: str, screenshots: Path
) -> None:
    """The person's own words are stored; when read, the result quotes them."""
    text = "I can't feel the toilet paper when I wipe and my leg hurts."
    start_intake(page, live_server.url)
    for _ in range(30):
        if on_emergency_screen(page):
            page.locator('button[name="action"][value="continue"]').click()
        elif page.locator("textarea[name=narrative]").count():
            break
        else:
            answer_page(page, {"age": "38", "back_pain": "yes"})
            next_page(page)
    page.locator("textarea[name=narrative]").fill(text)
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "09-anything-else")
    page.locator('button[name="nav"][value="finish"]').click()
    expect(page.locator("[data-urgency]")).to_have_count(1)
    row = _latest(live_server)
    assert row.intake["narrative"] == text
    quoted = [
        item["evidence"]
        for rule in row.result["fired_rules"]
        for item in rule["because"]
        if item["source"] == "narrative"
    ]
    if narrative_reader_available() and quoted:
        expect(page.locator("blockquote").first).to_contain_text(quoted[0])
    elif not narrative_reader_available():
        expect(page.locator(".notice").first).to_be_visible()
    shoot(page, screenshots, "10-result-with-narrative")


def test_keyboard_only(page: Page, live_server: LiveServer) -> None:
    """The intake can be started and answered with the keyboard alone."""
    page.goto(f"{live_server.url}/?lang=en")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(
            "() => document.activeElement.closest('form[action=\"/intake\"]') !== null"
        ):
            break
    page.keyboard.press("Enter")
    expect(page.locator('input[name="age"]')).to_be_visible()
    page.locator('input[name="age"]').focus()
    page.keyboard.type("52")

    def focused(selector: str) -> bool:
        found: bool = page.evaluate(
            "(s) => document.activeElement !== null && document.activeElement.matches(s)",
            selector,
        )
        return found

    # Tab through the danger-signs checklist to "None of these", tick it with Space.
    for _ in range(40):
        page.keyboard.press("Tab")
        if focused('input[value="_none"]'):
            break
    page.keyboard.press("Space")
    expect(page.locator('input[name="list-danger_signs"][value="_none"]')).to_be_checked()
    for _ in range(10):
        page.keyboard.press("Tab")
        if focused('button[name="nav"][value="next"]'):
            break
    page.keyboard.press("Enter")
    expect(page.locator('input[name="list-bladder_bowel_saddle"]').first).to_be_visible()


def test_everything_works_without_javascript(
    browser: Browser, live_server: LiveServer, screenshots: Path
) -> None:
    """With JavaScript off: checklist instead of the map, emergency screen, result."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        start_intake(page, live_server.url)
        answer_page(page, {"age": "61", "back_pain": "yes"})
        next_page(page)
        pass_danger_signs(page)
        page.locator('input[name="saddle_numbness"][value="yes"]').check()
        expect(page).to_have_url(re.compile(r"/intake/section/bladder_bowel_saddle$"))
        next_page(page)
        expect(page.locator("#emergency-screen")).to_be_visible()
        page.locator('button[name="action"][value="continue"]').click()
        for _ in range(12):
            if page.locator('input[name="pain_regions"]').count():
                break
            next_page(page)
        expect(page.locator(".body-map")).to_be_hidden()
        page.locator('input[name="pain_regions"][value="calf_right"]').check()
        page.set_viewport_size({"width": 360, "height": 780})
        page.screenshot(path=str(screenshots / "11-pain-page-no-js-360.png"), full_page=True)
        next_page(page)
        finish_intake(page, {})
        expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "emergency")
        assert _latest(live_server).intake["answers"]["pain_regions"] == ["calf_right"]
    finally:
        context.close()


def test_validation_error_is_announced_and_focused(page: Page, live_server: LiveServer) -> None:
    """A bad number re-shows the page with an error summary that takes the focus."""
    start_intake(page, live_server.url)
    answer_page(page, {"age": "old", "back_pain": "yes"})
    next_page(page)
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page.locator('input[name="back_pain"][value="yes"]')).to_be_checked()
    expect(page.locator('input[name="age"]')).to_have_value("old")
    expect(page.locator('input[name="age"]')).to_have_attribute("aria-invalid", "true")


def test_every_intake_page_fits_a_320px_screen(page: Page, live_server: LiveServer) -> None:
    """No intake page needs sideways scrolling at 320 px (WCAG reflow)."""
    page.set_viewport_size({"width": 320, "height": 640})
    start_intake(page, live_server.url)
    for _ in range(30):
        assert no_horizontal_scroll(page), page.url
        if on_emergency_screen(page):
            page.locator('button[name="action"][value="continue"]').click()
        elif page.locator("textarea[name=narrative]").count():
            break
        else:
            next_page(page)


def test_startback_questionnaire_page(
    page: Page, live_server: LiveServer, axe_source: str, screenshots: Path
) -> None:
    """After the sections, STarT Back is offered; its answers are scored into the result."""
    start_intake(page, live_server.url)
    for _ in range(30):
        if page.locator('form[action="/intake/questionnaire/startback"]').count():
            break
        if on_emergency_screen(page):
            page.locator('button[name="action"][value="continue"]').click()
        else:
            answer_page(page, {**all_red_flags_no(), **ROUTINE})
            next_page(page)
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "12-startback")
    groups = page.locator("fieldset")
    for index in range(groups.count()):
        groups.nth(index).locator('input[type="radio"]').first.check()
    next_page(page)
    finish_intake(page, {})
    expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "routine")
    scores = {s["instrument"]: s for s in _latest(live_server).result["scores"]}
    assert scores["startback"]["stratum"] == "low"


def test_open_questions_link_opens_only_those_questions(
    page: Page, live_server: LiveServer, axe_source: str, screenshots: Path
) -> None:
    """Red-flag questions left blank: the result lists them as still open; its button opens a
    page of exactly those questions; answering them updates the same assessment."""
    start_intake(page, live_server.url)
    finish_intake(page, SELF_CARE)
    row = _latest(live_server)
    with live_server.store.session() as db:
        before = db.query(StoredAssessment).count()
    unasked = list(row.result["unasked"])
    assert unasked
    listed = page.locator("[data-open-question]")
    expect(listed).to_have_count(len(unasked))
    assert serious_violations(page, axe_source) == []
    page.locator('form[action$="/open-questions"] button').click()
    expect(page).to_have_url(re.compile(r"/intake/open$"))
    shown = page.locator('input[name="_shown"]').evaluate_all("els => els.map(e => e.value)")
    assert set(shown) == set(unasked)
    assert serious_violations(page, axe_source) == []
    shoot(page, screenshots, "20-open-questions")
    for choice in page.locator('input[type="radio"][value="no"]').all():
        choice.check()
    next_page(page)
    expect(page.locator("[data-urgency]")).to_have_count(1)
    expect(page.locator("[data-open-question]")).to_have_count(0)
    with live_server.store.session() as db:
        assert db.query(StoredAssessment).count() == before  # the same row, updated
        updated = db.get(StoredAssessment, row.id)
        assert updated is not None
        assert updated.result["unasked"] == []
