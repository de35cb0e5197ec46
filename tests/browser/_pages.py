"""Page helpers for the browser tests: answer pages, finish the intake, axe, screenshots."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

SIZES = {"phone": (360, 780), "desktop": (1280, 900)}


def answer_page(page: Page, answers: Mapping[str, Any]) -> None:
    """Fill the answers that belong to the questions on screen."""
    for code, value in answers.items():
        values = value if isinstance(value, list) else [value]
        for one in values:
            choice = page.locator(
                f'input[type="radio"][name="{code}"][value="{one}"], '
                f'input[type="checkbox"][name="{code}"][value="{one}"]'
            )
            if choice.count():
                choice.first.check()
                continue
            field = page.locator(f'input[type="text"][name="{code}"]')
            if field.count():
                field.fill(str(one))


def tick_emergency_answer(page: Page, code: str, value: str = "yes") -> None:
    """Tick an answer that makes it an emergency: with JavaScript the emergency screen comes
    at once (no Next); without it, press Next. Either way the emergency screen is showing."""
    page.locator(f'input[name="{code}"][value="{value}"]').click()
    if page.evaluate("() => document.documentElement.classList.contains('js')"):
        expect(page).to_have_url(re.compile(r"/intake/emergency$"))
    else:
        next_page(page)
    expect(page.locator("#emergency-screen")).to_be_visible()


def on_emergency_screen(page: Page) -> bool:
    """True when the emergency screen is showing."""
    return page.locator("#emergency-screen").count() > 0


def on_narrative_page(page: Page) -> bool:
    """True on "Anything else?"."""
    return page.locator("textarea[name=narrative]").count() > 0


def next_page(page: Page) -> None:
    """Press Next."""
    page.locator('button[name="nav"][value="next"]').click()


def finish_intake(page: Page, answers: Mapping[str, Any], narrative: str = "") -> None:
    """Answer every page (continuing past the emergency screen) and press "See my result"."""
    for _ in range(40):
        if on_emergency_screen(page):
            page.locator('button[name="action"][value="continue"]').click()
        elif on_narrative_page(page):
            if narrative:
                page.locator("textarea[name=narrative]").fill(narrative)
            # A fresh server builds the narrative readers in the background at start
            # (about a minute for English and Spanish on a busy CI machine); the first
            # narrative waits for that build, so this click may wait longer than usual.
            page.locator('button[name="nav"][value="finish"]').click(timeout=240_000)
            return
        else:
            answer_page(page, answers)
            next_page(page)
    raise AssertionError("the intake did not end")


def pass_danger_signs(page: Page) -> None:
    """On the "Signs that need help at once" page (second, after "About you"): answer every
    question on it "no" and press Next."""
    expect(page).to_have_url(re.compile(r"/intake/section/danger_signs$"))
    for choice in page.locator('input[type="radio"][value="no"]').all():
        choice.check()
    next_page(page)


def start_intake(page: Page, base_url: str, mode: str = "full") -> None:
    """Open the start page and start the whole questionnaire (``full``) or, with
    ``steps``, the step interview (the big Start button)."""
    page.goto(f"{base_url}/?lang=en")
    page.locator("#start-full" if mode == "full" else "#start").click()


def serious_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe-core violations of impact serious or critical on the current page (WCAG 2.x AA)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result = page.evaluate(
        """async () => await window.axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
            resultTypes: ["violations"],
        })"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def shoot(page: Page, folder: Path, name: str) -> list[Path]:
    """Full-page screenshots at phone (360 px) and desktop (1280 px) widths."""
    saved = []
    original = page.viewport_size
    for width, height in SIZES.values():
        page.set_viewport_size({"width": width, "height": height})
        path = folder / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path)
    if original:
        page.set_viewport_size(original)
    return saved


def no_horizontal_scroll(page: Page) -> bool:
    """True when the page fits the viewport width (readable without sideways scrolling)."""
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def sign_in_clinician(page: Page, base: str, *, go: bool = True) -> None:
    """Sign in as the test clinician from the clinic's sign-in page (opened first unless
    ``go`` is false) and wait for the worklist."""
    from tests.web._support import CLINICIAN

    if go:
        page.goto(f"{base}/clinic")
    page.locator("#f-username").fill(CLINICIAN[0])
    page.locator("#f-password").fill(CLINICIAN[1])
    page.locator("form.narrow button").click()
    expect(page).to_have_url(f"{base}/clinic")


def first_on_worklist(browser: Browser, base: str) -> tuple[str | None, str | None]:
    """(data-assessment, data-urgency) of the first worklist row, seen by a clinician in a
    browser of their own."""
    context = browser.new_context()
    clinic = context.new_page()
    try:
        sign_in_clinician(clinic, base)
        first = clinic.locator("#worklist-rows tbody tr").first
        return first.get_attribute("data-assessment"), first.get_attribute("data-urgency")
    finally:
        context.close()
