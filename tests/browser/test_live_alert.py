"""The worklist's live emergency alert in real Chromium (issue #12).

A clinician has the worklist open; an emergency arrives through the API meanwhile. Without
reloading, the page shows "New emergency: ..." in its role="alert" region within the poll
interval (half a second here), the count per urgency follows, the link opens the
assessment, an urgent arrival goes to the quieter role="status" region, and a tone (Web
Audio) plays only once "Sound for new emergencies" is ticked - a choice the browser keeps.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import tests.browser.conftest as browser_conftest
from tests.browser._pages import serious_violations, sign_in_clinician
from tests.browser.conftest import LiveServer, start_server
from tests.web._support import make_app

pytestmark = pytest.mark.browser

POLL_SECONDS = 0.5
# Where the screenshot of the worklist with its banner goes (looked at by a person).
ALERT_SHOT = Path(os.environ.get("BACKPATH_ALERT_SHOT", "/tmp/alert.png"))

# Counts every oscillator the page starts, i.e. every tone of the alert sound.
COUNT_TONES = """
window.__tones = 0;
(function () {
  var Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  var make = Context.prototype.createOscillator;
  Context.prototype.createOscillator = function () {
    window.__tones += 1;
    return make.apply(this, arguments);
  };
})();
"""


@pytest.fixture
def quick_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """A fresh app whose worklist asks for new emergencies every half second."""

    def quick_app(folder: Path, **overrides: Any) -> Any:
        return make_app(folder, clinic_alert_poll_seconds=POLL_SECONDS, **overrides)

    monkeypatch.setattr(browser_conftest, "make_app", quick_app)
    running = start_server(tmp_path)
    yield running
    running.stop()


def _post(url: str, answers: dict[str, Any]) -> str:
    request = urllib.request.Request(
        url,
        data=json.dumps({"answers": answers}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["id"])


def test_a_new_emergency_shows_without_reload_and_the_link_opens_it(
    page: Page, quick_server: LiveServer, axe_source: str
) -> None:
    base = quick_server.url
    api = f"{base}/api/v1/assessments"
    _post(api, {"age": 40, "leg_pain": True})
    page.add_init_script(COUNT_TONES)
    sign_in_clinician(page, base)
    emergency_count = page.locator('[data-count-for="emergency"] [data-count]')
    expect(emergency_count).to_have_text("0")
    expect(page.locator("#alert-sound")).to_be_visible()
    expect(page.locator("#alert-sound")).not_to_be_checked()
    banners = page.locator("#alerts-emergency .live-banner")
    expect(banners).to_have_count(0)
    # Let the page poll a few times with nothing new: no banner, no tone.
    page.wait_for_timeout(POLL_SECONDS * 3 * 1000)
    expect(banners).to_have_count(0)

    first = _post(api, {"age": 45, "sex": "female", "saddle_numbness": True})

    expect(banners).to_have_count(1, timeout=POLL_SECONDS * 1000 * 8)
    expect(banners.first).to_contain_text("New emergency: 45 years, Female")
    expect(banners.first).to_contain_text("auda equina")
    expect(emergency_count).to_have_text("1")
    assert page.evaluate("() => window.__tones") == 0, "a tone played although not asked for"
    # Later polls bring the same item again (the cursor lags for late commits): shown once.
    page.wait_for_timeout(POLL_SECONDS * 3 * 1000)
    expect(banners).to_have_count(1)

    # Ticked: the next emergency also sounds; an urgent one goes to the quiet region.
    page.locator("#alert-sound").check()
    second = _post(api, {"age": 71, "sex": "male", "chest_pain": True})
    _post(api, {"age": 30, "sex": "male", "trauma_minor": True})
    expect(banners).to_have_count(2, timeout=POLL_SECONDS * 1000 * 8)
    expect(banners.first).to_have_attribute("data-alert", second)
    expect(page.locator("#alerts-urgent .live-banner")).to_have_count(1)
    expect(page.locator("#alerts-urgent .live-banner")).to_contain_text("New urgent assessment:")
    page.wait_for_function("() => window.__tones > 0", timeout=5000)
    tones = page.evaluate("() => window.__tones")
    expect(emergency_count).to_have_text("2")
    expect(page.locator('[data-count-for="urgent"] [data-count]')).to_have_text("1")
    assert serious_violations(page, axe_source) == []
    ALERT_SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ALERT_SHOT))
    # The urgent arrival alone made no sound.
    page.wait_for_timeout(POLL_SECONDS * 3 * 1000)
    assert page.evaluate("() => window.__tones") == tones

    # Dismiss takes one banner away; the link of the other opens the assessment.
    page.locator(f'[data-alert="{second}"] button').click()
    expect(banners).to_have_count(1)
    page.locator(f'[data-alert="{first}"] a').click()
    expect(page).to_have_url(f"{base}/clinic/assessments/{first}")
    expect(page.locator("h1")).to_contain_text(first[:8])

    # The sound choice is remembered by this browser.
    page.goto(f"{base}/clinic")
    expect(page.locator("#alert-sound")).to_be_checked()
    # Emergencies already listed on the page are not announced again.
    page.wait_for_timeout(POLL_SECONDS * 3 * 1000)
    expect(banners).to_have_count(0)


def test_signed_out_the_page_stops_and_says_so(page: Page, quick_server: LiveServer) -> None:
    base = quick_server.url
    sign_in_clinician(page, base)
    page.context.clear_cookies()
    expect(page.locator("#alerts-state")).to_contain_text(
        "signed out", timeout=POLL_SECONDS * 1000 * 8
    )
