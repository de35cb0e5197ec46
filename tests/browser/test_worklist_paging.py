"""Worklist pagination in real Chromium (issue #12 acceptance: browser tests for paging).

With more assessments than one page holds, the clinician sees the count of every matching
row, follows "Next page" to the rest (keyset cursors: no row twice, none lost) and gets back
with "First page"; an emergency that arrives after a flood is on the first page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from backpath.web.routes_clinic import PAGE_SIZE
from tests.browser._pages import sign_in_clinician
from tests.browser.conftest import LiveServer
from tests.web._support import store_many

pytestmark = pytest.mark.browser


def _rows(page: Page) -> list[str]:
    return page.locator("#worklist-rows tr[data-assessment]").evaluate_all(
        "rows => rows.map(r => r.dataset.assessment)"
    )


def test_next_page_reaches_every_row_once_and_first_page_returns(
    page: Page, fresh_server: LiveServer
) -> None:
    routine = store_many(
        fresh_server.store, {"age": 40, "back_pain": True, "leg_pain": True}, 130, 30
    )
    emergency = store_many(
        fresh_server.store, {"age": 61, "back_pain": True, "chest_pain": True}, 1, 1
    )
    base = fresh_server.url
    sign_in_clinician(page, base)

    first = _rows(page)
    assert len(first) == PAGE_SIZE
    assert first[0] == emergency[0]  # most urgent first, even after a flood
    expect(page.locator(".pager").first).to_contain_text(f"1 to {PAGE_SIZE} of 131")

    page.locator(".pager a[rel=next]").first.click()
    second = _rows(page)
    assert len(second) == 131 - PAGE_SIZE
    assert not set(first) & set(second)
    assert set(first) | set(second) == set(routine) | set(emergency)
    expect(page.locator(".pager").first).to_contain_text(f"{PAGE_SIZE + 1} to 131 of 131")
    expect(page.locator(".pager a[rel=next]")).to_have_count(0)

    page.locator(".pager a[rel=first]").first.click()
    assert _rows(page) == first


def test_a_click_anywhere_on_a_row_opens_the_assessment(
    page: Page, fresh_server: LiveServer
) -> None:
    """Clicking a cell that holds no link (age, red flags, status) opens the row's
    assessment; selecting text in a row does not navigate; rows show their waiting time."""
    routine = store_many(
        fresh_server.store, {"age": 40, "back_pain": True, "leg_pain": True}, 2, 30
    )
    base = fresh_server.url
    sign_in_clinician(page, base)

    row = page.locator(f'#worklist-rows tr[data-assessment="{routine[1]}"]')
    expect(row.locator("[data-waiting]")).to_contain_text("waiting")
    # Drag across the summary cell's text to select it (to copy it): no navigation.
    box = row.locator("td").nth(1).bounding_box()
    assert box
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 3, steps=5)
    page.mouse.up()
    assert page.evaluate("String(window.getSelection())")
    expect(page).to_have_url(f"{base}/clinic")
    page.evaluate("window.getSelection().removeAllRanges()")
    row.locator("td").last.click()
    expect(page).to_have_url(f"{base}/clinic/assessments/{routine[1]}")
    expect(page.locator("h1")).to_be_visible()
