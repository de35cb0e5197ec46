"""Helpers shared by the web and browser tests: an app on a temporary database, a patient
who fills in the intake over HTTP, and red-flag answer sets for the three paths."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from markupsafe import escape

from backpath.intake import Intake
from backpath.kb import KnowledgeBase, load_knowledge
from backpath.store import Store, accounts, assessments, open_store
from backpath.store.models import utcnow
from backpath.triage import assess
from backpath.web import Settings, create_app

CLINICIAN = ("dr.lee", "correct horse battery staple")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_settings(folder: Path, **overrides: Any) -> Settings:
    """Settings for a test app with a SQLite file in ``folder``."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{(folder / 'backpath.db').as_posix()}",
        "secret_key": "test-secret-key-" + "x" * 32,
        "data_dir": folder,
    }
    values.update(overrides)
    return Settings(**values)


def make_app(folder: Path, **overrides: Any) -> tuple[FastAPI, Store]:
    """A web app and its store on a fresh SQLite database."""
    settings = make_settings(folder, **overrides)
    store = open_store(settings.database_url)
    return create_app(settings, store), store


def add_clinician(store: Store, username: str = CLINICIAN[0], password: str = CLINICIAN[1]) -> None:
    """Create a clinician login."""
    with store.session() as db:
        accounts.create_clinician(db, username, password, "Dr Lee")


def csrf_of(html: str) -> str:
    """The CSRF token in a page."""
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def all_red_flags_no(kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """Every red-flag question answered "no" (form values)."""
    kb = kb or load_knowledge()
    return {code: "no" for code, finding in kb.findings.items() if finding.red_flag}


SELF_CARE = {
    "age": "30",
    "sex": "female",
    "back_pain": "yes",
    "leg_pain": "no",
    "leg_numbness": "no",
    "duration_days": "10",
    "onset_sudden": "no",
}
ROUTINE = {
    "age": "40",
    "sex": "male",
    "back_pain": "yes",
    "leg_pain": "yes",
    "leg_pain_below_knee": "yes",
    "leg_numbness": "yes",
    "duration_days": "20",
    "onset_sudden": "no",
}


class Patient:
    """Someone filling in the web intake with a plain HTTP client (no JavaScript)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.page: Response = client.get("/")

    @property
    def csrf(self) -> str:
        return csrf_of(self.page.text)

    def start(self, mode: str = "full") -> Response:
        """Start on the landing page: ``full`` (the whole questionnaire, one section per
        page) or ``steps`` (the step interview, what the Start button does)."""
        data = {"csrf_token": self.csrf}
        if mode == "full":
            data["mode"] = "full"
        self.page = self.client.post("/intake", data=data)
        return self.page

    def shown(self) -> list[str]:
        """Question codes shown on the current page."""
        return re.findall(r'name="_shown" value="([^"]+)"', self.page.text)

    def filled(self) -> dict[str, Any]:
        """What a browser would send for the page as shown (checked boxes, typed numbers)."""
        values: dict[str, Any] = {}
        for tag in re.findall(r"<input [^>]+>", self.page.text):
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if not name or not value or name.group(1) in ("csrf_token", "_shown", "next"):
                continue
            if 'type="checkbox"' in tag and " checked" in tag:
                values.setdefault(name.group(1), []).append(value.group(1))
            elif ('type="radio"' in tag and " checked" in tag) or (
                'type="text"' in tag and value.group(1)
            ):
                values[name.group(1)] = value.group(1)
        return values

    def submit(self, answers: Mapping[str, Any], nav: str = "next") -> Response:
        """Change the answers that ``answers`` covers, keep what the page shows, submit."""
        data: dict[str, Any] = {"csrf_token": self.csrf, "_shown": self.shown(), "nav": nav}
        shown = self.filled()
        for code in self.shown():
            if code in answers:
                data[code] = answers[code]
            elif code in shown:
                data[code] = shown[code]
        action = re.search(r'<form method="post" action="(/intake/[^"]+)"', self.page.text)
        assert action, "not on a question page"
        self.page = self.client.post(action.group(1), data=data)
        return self.page

    def section(self) -> str:
        """The id of the questionnaire section on screen ("" for other pages)."""
        match = re.search(r"/intake/section/([a-z_]+)", str(self.page.url))
        return match.group(1) if match else ""

    def advance_to(self, section_id: str, answers: Mapping[str, Any] | None = None) -> Response:
        """Submit pages (with ``answers``) until ``section_id`` is on screen."""
        for _ in range(40):
            if self.on_emergency_screen():
                self.emergency("continue")
            elif self.section() == section_id:
                return self.page
            else:
                self.submit(answers or {})
        raise AssertionError(f"never reached {section_id}")

    def pass_danger_signs(self) -> Response:
        """Answer "no" to every question on the danger-signs page (the second page)."""
        assert self.section() == "danger_signs", self.page.url
        from backpath.kb import load_knowledge

        page = next(s for s in load_knowledge().sections if s.id == "danger_signs")
        return self.submit({q.code: "no" for q in page.questions if q.ask_if is None})

    def advance_to_narrative(self) -> Response:
        """Submit pages as they are until "Anything else?" is on screen."""
        for _ in range(40):
            if self.on_narrative_page():
                return self.page
            if self.on_emergency_screen():
                self.emergency("continue")
            else:
                self.submit({})
        raise AssertionError("never reached the narrative page")

    def on_emergency_screen(self) -> bool:
        return 'id="emergency-screen"' in self.page.text

    def emergency(self, action: str = "continue") -> Response:
        """Press a button on the emergency screen."""
        self.page = self.client.post(
            "/intake/emergency", data={"csrf_token": self.csrf, "action": action}
        )
        return self.page

    def narrative(self, text: str = "", nav: str = "finish") -> Response:
        """Write on the "Anything else?" page and submit."""
        self.page = self.client.post(
            "/intake/anything-else", data={"csrf_token": self.csrf, "narrative": text, "nav": nav}
        )
        return self.page

    def on_narrative_page(self) -> bool:
        return 'action="/intake/anything-else"' in self.page.text

    def complete(self, answers: Mapping[str, Any], narrative: str = "") -> Response:
        """Go through every page with ``answers`` (continuing past an emergency screen)."""
        if "/intake/section/" not in str(self.page.url):
            self.start()
        for _ in range(60):
            if self.on_emergency_screen():
                self.emergency("continue")
            elif self.on_narrative_page():
                return self.narrative(narrative)
            else:
                assert self.page.status_code == 200, self.page.text[:500]
                self.submit(answers)
        raise AssertionError("the intake did not end")


def esc(text: str) -> str:
    """``text`` as it appears in HTML (Jinja2 autoescaping)."""
    return str(escape(text))


def urgency_of(html: str) -> list[str]:
    """Every data-urgency value on a page."""
    return re.findall(r'data-urgency="([^"]+)"', html)


def login(
    client: TestClient, username: str = CLINICIAN[0], password: str = CLINICIAN[1]
) -> Response:
    """Sign in as a clinician."""
    page = client.get("/clinic/login")
    return client.post(
        "/clinic/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": password},
    )


def store_many(
    store: Store, answers: dict[str, Any], count: int, minutes_ago: int, channel: str = "api"
) -> list[str]:
    """Store ``count`` identical assessments straight into the store (as a flood of posts
    would leave them), ``minutes_ago`` old; their ids in order."""
    intake = Intake.from_json({"answers": answers})
    result = assess(intake).to_json()
    ids = []
    with store.session() as db:
        for _ in range(count):
            saved = assessments.save_assessment(
                db,
                intake=intake.to_json(),
                result=result,
                channel=channel,
                narrative_read=False,
                created_at=utcnow() - timedelta(minutes=minutes_ago),
            )
            ids.append(saved.assessment.id)
    return ids
