"""Worklist pagination in real Chromium (issue #12 acceptance: browser tests for paging).

With more assessments than one page holds, the clinician sees the count of every matching
row, follows "Next page" to the rest (keyset cursors: no row twice, none lost) and gets back
with "First page"; an emergency that arrives after a flood is on the first page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from backpath.web.routes_clinic import PAGE_SIZE
from tests.browser.conftest import LiveServer
from tests.web._support import CLINICIAN, store_many

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
    page.goto(f"{base}/clinic")
    page.locator("#f-username").fill(CLINICIAN[0])
    page.locator("#f-password").fill(CLINICIAN[1])
    page.locator("form.narrow button").click()
    expect(page).to_have_url(f"{base}/clinic")

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
