"""The step interview in real Chromium (issue #10): a routine journey in five pages or fewer,
an emergency tick on a checklist interrupting at once (and, without JavaScript, on Next),
stored and first on the worklist before anything is pressed, the tel: link, the banner, the
exclusive "None of these", and the optional steps after the result. Screenshots at 360 and
1280 px go to /tmp/backpath-shots/ (``BACKPATH_SHOTS_DIR``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from backpath.store.models import StoredAssessment
from tests.browser._pages import first_on_worklist, serious_violations, shoot, start_intake
from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser

STEP = re.compile(r"/intake/step(\?more=1)?$")
EMERGENCY = re.compile(r"/intake/emergency$")


def _rows(server: LiveServer) -> list[StoredAssessment]:
    with server.store.session() as db:
        return list(db.query(StoredAssessment).order_by(StoredAssessment.created_at))


def _answer_step_page(page: Page, answers: dict[str, str | list[str]]) -> None:
    """Fill the page on screen: ``answers`` by form name; every other checklist "None of
    these", every other yes/no "No"."""
    for shown in page.locator('input[name="_shown"]').all():
        name = shown.get_attribute("value") or ""
        wanted = answers.get(name)
        if name.startswith("list-"):
            values = wanted if isinstance(wanted, list) else [wanted or "_none"]
            for value in values:
                page.locator(f'input[name="{name}"][value="{value}"]').check()
        elif page.locator(f'input[type="text"][name="{name}"]').count():
            page.locator(f'input[name="{name}"]').fill(str(wanted or ""))
        else:
            value = wanted if isinstance(wanted, str) else "no"
            choice = page.locator(f'input[name="{name}"][value="{value}"]')
            if choice.count():
                choice.check()




ROUTINE = {
    "age": "40",
    "sex": "male",
    "list-legs": ["leg_pain", "leg_numbness"],
    "back_pain": "yes",
    "duration_days": "21",  # the "2 to 4 weeks" range
    "leg_pain_below_knee": "yes",
}


@pytest.mark.parametrize("size", [(360, 780), (1280, 900)], ids=["phone", "desktop"])
def test_routine_journey_in_five_pages_or_fewer(
    browser: Browser,
    live_server: LiveServer,
    axe_source: str,
    review_shots: Path,
    size: tuple[int, int],
) -> None:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        start_intake(page, live_server.url, mode="steps")
        pages = 0
        while STEP.search(page.url):
            pages += 1
            assert pages <= 5, "a routine journey takes five pages or fewer"
            assert serious_violations(page, axe_source) == []
            shoot(page, review_shots, f"step-page-{pages}-{size[0]}")
            _answer_step_page(page, ROUTINE)
            page.locator('button[name="nav"][value="next"]').click()
        expect(page.locator("[data-urgency]")).to_have_attribute("data-urgency", "routine")
        expect(page.locator("#more-questions")).to_be_visible()
        assert serious_violations(page, axe_source) == []
        shoot(page, review_shots, f"step-result-{size[0]}")
        assert no_wider_than_screen(page)
    finally:
        context.close()


def no_wider_than_screen(page: Page) -> bool:
    width: bool = page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
    )
    return width


def test_ticking_a_danger_sign_interrupts_at_once(
    page: Page, browser: Browser, fresh_server: LiveServer, axe_source: str
) -> None:
    """With JavaScript: ticking "coughing up blood" shows the emergency screen without Next;
    the assessment is stored and first on the worklist before anything is pressed."""
    base = fresh_server.url
    start_intake(page, base, mode="steps")
    page.locator('input[name="age"]').fill("63")
    page.locator('input[name="list-danger_signs"][value="coughing_blood"]').click()
    expect(page).to_have_url(EMERGENCY)
    rows = _rows(fresh_server)
    assert [row.urgency for row in rows] == ["emergency"]
    assert rows[0].intake["answers"]["coughing_blood"] is True
    assert first_on_worklist(browser, base) == (rows[0].id, "emergency")
    call = page.locator("#emergency-screen a.call-button")
    expect(call).to_have_attribute("href", "tel:911")
    assert serious_violations(page, axe_source) == []
    # Going on: the banner with the call button stays on the next pages.
    page.locator('button[name="action"][value="continue"]').click()
    expect(page).to_have_url(STEP)
    banner = page.locator("#emergency-banner")
    expect(banner).to_be_visible()
    expect(banner.locator("a.call-button")).to_have_attribute("href", "tel:911")
    page.locator('button[name="nav"][value="next"]').click()
    expect(page.locator("#emergency-banner")).to_be_visible()


def test_danger_sign_without_javascript_on_next(
    browser: Browser, fresh_server: LiveServer
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        start_intake(page, fresh_server.url, mode="steps")
        page.locator('input[name="age"]').fill("55")
        page.locator('input[name="list-danger_signs"][value="slurred_speech"]').check()
        assert _rows(fresh_server) == []
        page.locator('button[name="nav"][value="next"]').click()
        expect(page).to_have_url(EMERGENCY)
        assert [row.urgency for row in _rows(fresh_server)] == ["emergency"]
    finally:
        context.close()


def test_none_of_these_unticks_the_items_and_the_other_way_round(
    page: Page, live_server: LiveServer
) -> None:
    start_intake(page, live_server.url, mode="steps")
    page.locator('input[name="age"]').fill("40")
    page.locator('input[name="list-danger_signs"][value="_none"]').check()
    page.locator('input[name="list-danger_signs"][value="_unsure"]').check()
    expect(page.locator('input[name="list-danger_signs"][value="_none"]')).not_to_be_checked()
    page.locator('input[name="list-bladder_bowel_saddle"][value="_none"]').check()
    page.locator('button[name="nav"][value="next"]').click()
    expect(page).to_have_url(STEP)
    box = page.locator('input[name="list-legs"][value="leg_pain"]')
    none = page.locator('input[name="list-legs"][value="_none"]')
    none.check()
    box.check()
    expect(none).not_to_be_checked()
    none.check()
    expect(box).not_to_be_checked()
