"""Clinician pages: sign-in (its progressive delays: test_signin_delays.py), worklist order and filters, review, notes, CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from backpath.intake import Intake
from backpath.store import Store, assessments
from backpath.store.models import AuditEvent, StoredAssessment, utcnow
from backpath.triage import assess
from tests.web._support import CLINICIAN, add_clinician, csrf_of, login, store_many


def _store_case(store: Store, answers: dict, minutes_ago: int, narrative: str | None = None) -> str:
    data: dict = {"answers": answers}
    if narrative:
        data["narrative"] = narrative
    intake = Intake.from_json(data)
    result = assess(intake, narrative_findings=() if narrative else None).to_json()
    with store.session() as db:
        saved = assessments.save_assessment(
            db,
            intake=intake.to_json(),
            result=result,
            channel="web",
            narrative_read=False,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
    return saved.assessment.id


@pytest.fixture
def signed_in(client: TestClient, store: Store) -> TestClient:
    """A client signed in as a clinician."""
    add_clinician(store)
    assert login(client).status_code == 200
    return client


@pytest.fixture
def cases(store: Store) -> dict[str, str]:
    """Four stored assessments of different urgency and age."""
    return {
        "routine_old": _store_case(store, {"age": 40, "leg_pain": True}, 90),
        "emergency_new": _store_case(store, {"age": 45, "saddle_numbness": True}, 5),
        "urgent": _store_case(store, {"age": 30, "trauma_minor": True}, 60),
        "emergency_old": _store_case(store, {"age": 70, "chest_pain": True}, 30),
    }


def _row_ids(html: str) -> list[str]:
    """Row ids of the worklist itself (not the "new emergencies" strip above it)."""
    start = html.find('id="worklist-rows"')
    return re.findall(r'<tr data-assessment="([0-9a-f]+)"', html[start:]) if start >= 0 else []


def _newest_ids(html: str) -> list[str]:
    """Row ids of the "new emergencies" strip above the worklist."""
    start, end = html.find('class="newest-emergencies"'), html.find('id="worklist-rows"')
    if start < 0:
        return []
    return re.findall(r'<tr data-assessment="([0-9a-f]+)"', html[start:end])


def test_clinic_needs_sign_in(client: TestClient) -> None:
    """The worklist redirects to the sign-in page when nobody is signed in."""
    page = client.get("/clinic", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/clinic/login")


def test_wrong_password_is_refused_and_audited(client: TestClient, store: Store) -> None:
    """A wrong password gives 401 with a message, and the failure is in the audit log."""
    add_clinician(store)
    page = login(client, password="not the password")
    assert page.status_code == 401
    assert "Wrong username or password" in page.text
    with store.session() as db:
        assert db.query(AuditEvent).filter_by(action="login_failed").count() == 1


def test_sign_in_needs_csrf(client: TestClient, store: Store) -> None:
    """A sign-in form without the CSRF token is refused."""
    add_clinician(store)
    client.get("/clinic/login")
    page = client.post("/clinic/login", data={"username": CLINICIAN[0], "password": CLINICIAN[1]})
    assert page.status_code == 403


def test_session_cookie_is_http_only_and_same_site(client: TestClient, store: Store) -> None:
    """The session cookie is signed, HttpOnly and SameSite=Lax."""
    add_clinician(store)
    page = client.get("/clinic/login")
    response = client.post(
        "/clinic/login",
        data={"csrf_token": csrf_of(page.text), "username": CLINICIAN[0], "password": CLINICIAN[1]},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_secure_cookie_flag_when_configured(tmp_path) -> None:
    """With secure_cookies on, the session cookie is marked Secure."""
    from tests.web._support import make_app

    app, store = make_app(tmp_path, secure_cookies=True)
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get("/")
    assert "secure" in page.headers["set-cookie"].lower()
    store.dispose()


def test_worklist_is_sorted_by_urgency_then_waiting_time(
    signed_in: TestClient, cases: dict[str, str]
) -> None:
    """Emergencies first (longest waiting first), then urgent, then routine; the
    emergencies of the last 24 hours are also listed above, newest first."""
    page = signed_in.get("/clinic")
    assert _row_ids(page.text) == [
        cases["emergency_old"],
        cases["emergency_new"],
        cases["urgent"],
        cases["routine_old"],
    ]
    assert _newest_ids(page.text)[0] == cases["emergency_new"]


def test_worklist_shows_red_flag_badges(signed_in: TestClient, cases: dict[str, str]) -> None:
    """Rows carry badges for the concerns of urgent and emergency rules."""
    page = signed_in.get("/clinic")
    row = re.search(rf'<tr data-assessment="{cases["emergency_new"]}".*?</tr>', page.text, re.S)
    assert row
    assert "Cauda equina" in row.group(0)


def _row_html(html_text: str, row_id: str) -> str:
    """The worklist's own row of one assessment (after the "new emergencies" strip)."""
    start = html_text.find('id="worklist-rows"')
    row = re.search(rf'<tr data-assessment="{row_id}".*?</tr>', html_text[start:], re.S)
    assert row, row_id
    return row.group(0)


def test_worklist_rows_show_waiting_time_and_open_from_anywhere(
    signed_in: TestClient, store: Store, cases: dict[str, str]
) -> None:
    """An unreviewed row says how long it has waited (from its own received time); a
    reviewed row does not; every row carries the address the whole row opens."""
    waited_days = _store_case(store, {"age": 52, "leg_pain": True}, 2 * 24 * 60 + 190)
    page = signed_in.get("/clinic")
    # The cases were stored 90, 5 and 60 minutes ago; the page reads its clock a moment
    # later, so a minute more is allowed.
    assert re.search(r"waiting (1 h 3[01] min)<", _row_html(page.text, cases["routine_old"]))
    assert re.search(r"waiting ([56] min)<", _row_html(page.text, cases["emergency_new"]))
    assert re.search(r"waiting (1 h [01] min)<", _row_html(page.text, cases["urgent"]))
    assert "waiting 2 d 3 h<" in _row_html(page.text, waited_days)
    row = _row_html(page.text, cases["emergency_old"])
    assert f'data-href="/clinic/assessments/{cases["emergency_old"]}"' in row

    reviewed = signed_in.post(
        f"/clinic/assessments/{cases['routine_old']}/review",
        data={"csrf_token": csrf_of(page.text), "reviewed": "1"},
        follow_redirects=True,
    )
    assert reviewed.status_code == 200
    listed = signed_in.get("/clinic?status=all")
    assert "waiting" not in _row_html(listed.text, cases["routine_old"])
    assert "waiting" in _row_html(listed.text, cases["urgent"])


def test_waiting_time_words_in_english_and_spanish() -> None:
    """Minutes under an hour, hours and minutes under a day, then days and hours; a
    timestamp stored without a zone (SQLite) counts as UTC."""
    from datetime import UTC, datetime

    from backpath.kb import load_knowledge
    from backpath.web.i18n import Words
    from backpath.web.routes_clinic import waiting_time

    kb = load_knowledge()
    now = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    english, spanish = Words(kb, "en"), Words(kb, "es")
    ago = [
        timedelta(seconds=20),
        timedelta(minutes=7),
        timedelta(hours=2, minutes=10),
        timedelta(days=3, hours=5, minutes=59),
        timedelta(minutes=-3),
    ]
    assert [waiting_time(now - d, now, english) for d in ago] == [
        "waiting under a minute",
        "waiting 7 min",
        "waiting 2 h 10 min",
        "waiting 3 d 5 h",
        "waiting under a minute",
    ]
    assert waiting_time(now - ago[2], now, spanish) == "espera 2 h 10 min"
    naive = (now - timedelta(minutes=45)).replace(tzinfo=None)
    assert waiting_time(naive, now, english) == "waiting 45 min"


def test_worklist_filters(signed_in: TestClient, cases: dict[str, str]) -> None:
    """Filtering by urgency and by concern narrows the list."""
    only_urgent = signed_in.get("/clinic?urgency=urgent")
    assert _row_ids(only_urgent.text) == [cases["urgent"]]
    cauda = signed_in.get("/clinic?concern=cauda_equina")
    assert _row_ids(cauda.text) == [cases["emergency_new"]]


def test_review_mark_moves_a_patient_off_the_open_list(
    signed_in: TestClient, store: Store, cases: dict[str, str]
) -> None:
    """Marking reviewed hides the row from "to review" and shows it under "reviewed"."""
    target = cases["emergency_new"]
    page = signed_in.get(f"/clinic/assessments/{target}")
    done = signed_in.post(
        f"/clinic/assessments/{target}/review",
        data={"csrf_token": csrf_of(page.text), "reviewed": "1"},
    )
    assert "Reviewed by Dr Lee" in done.text or "Reviewed by dr.lee" in done.text
    assert target not in _row_ids(signed_in.get("/clinic").text)
    assert _row_ids(signed_in.get("/clinic?status=reviewed").text) == [target]
    with store.session() as db:
        row = db.get(StoredAssessment, target)
        assert row is not None
        assert row.reviewed_by == CLINICIAN[0]
        update = db.query(AuditEvent).filter_by(action="update", target_id=target).one()
    assert update.actor == f"clinician:{CLINICIAN[0]}"
    assert update.detail == {"reviewed": True}


def test_patient_page_shows_rules_sources_answers_and_notes(
    signed_in: TestClient, store: Store, cases: dict[str, str]
) -> None:
    """The patient page lists fired rules with sources and answers; notes can be added."""
    target = cases["emergency_new"]
    page = signed_in.get(f"/clinic/assessments/{target}")
    assert 'data-rule="ces_new_bladder_bowel_saddle_sexual"' in page.text
    assert "https://" in page.text  # source links
    assert 'data-code="saddle_numbness"' in page.text
    saved = signed_in.post(
        f"/clinic/assessments/{target}/notes",
        data={"csrf_token": csrf_of(page.text), "note": "Phoned: on the way to ED."},
    )
    assert "Phoned: on the way to ED." in saved.text
    with store.session() as db:
        events = [(e.action, e.detail) for e in db.query(AuditEvent).filter_by(target_id=target)]
    assert ("view", {}) in events
    assert any(action == "update" and "note_added" in detail for action, detail in events)


def test_patient_page_highlights_narrative_evidence(signed_in: TestClient, store: Store) -> None:
    """Narrative findings are highlighted by their character spans."""
    text = "I have had a fever since Monday."
    intake = Intake.from_json({"answers": {"age": 50}, "narrative": text})
    from backpath.intake import NarrativeFinding

    found = [NarrativeFinding("fever", True, "affirmed", "a fever", (11, 18))]
    result = assess(intake, narrative_findings=found).to_json()
    with store.session() as db:
        saved = assessments.save_assessment(
            db, intake=intake.to_json(), result=result, channel="api", narrative_read=True
        )
    page = signed_in.get(f"/clinic/assessments/{saved.assessment.id}")
    assert (
        '<mark title="fever (affirmed)" data-findings="fever (affirmed)">a fever</mark>'
        in page.text
    )
    assert "I have had " in page.text


def test_patient_page_draws_the_pain_trend_of_an_episode(
    signed_in: TestClient, store: Store
) -> None:
    """Follow-ups in one episode give a pain-score chart with one point per assessment."""
    first = Intake.from_json({"answers": {"age": 50, "pain_back_nrs": 8, "pain_leg_nrs": 6}})
    second = Intake.from_json({"answers": {"age": 50, "pain_back_nrs": 4, "pain_leg_nrs": 2}})
    with store.session() as db:
        a = assessments.save_assessment(
            db,
            intake=first.to_json(),
            result=assess(first).to_json(),
            channel="web",
            narrative_read=False,
            created_at=utcnow() - timedelta(days=14),
        )
        b = assessments.save_assessment(
            db,
            intake=second.to_json(),
            result=assess(second).to_json(),
            channel="web",
            narrative_read=False,
            episode_id=a.assessment.episode_id,
        )
    page = signed_in.get(f"/clinic/assessments/{b.assessment.id}")
    assert '<svg class="trend"' in page.text
    assert page.text.count('class="dot-back"') == 2
    assert page.text.count('class="dot-leg"') == 2


def test_csv_export_is_audited_and_neutralises_formulas(
    signed_in: TestClient, store: Store
) -> None:
    """The CSV has one row per assessment; cells starting with = are quoted; export audited."""
    _store_case(store, {"age": 30}, 1, narrative='=HYPERLINK("http://evil")')
    response = signed_in.get("/clinic/export.csv?status=all")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    assert rows[0]["narrative"].startswith("'=")
    with store.session() as db:
        export = db.query(AuditEvent).filter_by(action="export").one()
    assert export.detail["ids"] == [rows[0]["id"]]


def test_sign_out_ends_the_session_on_the_server(
    client: TestClient, store: Store, cases: dict[str, str]
) -> None:
    """After signing out, a copy of the old cookie no longer opens the worklist."""
    add_clinician(store)
    login(client)
    old_cookies = dict(client.cookies)
    page = client.get("/clinic")
    client.post("/clinic/logout", data={"csrf_token": csrf_of(page.text)})
    client.cookies.clear()
    for name, value in old_cookies.items():
        client.cookies.set(name, value)
    assert client.get("/clinic", follow_redirects=False).status_code == 303


def test_disabled_clinician_cannot_sign_in(client: TestClient, store: Store) -> None:
    """A disabled account is refused like a wrong password."""
    from backpath.store import accounts

    add_clinician(store)
    with store.session() as db:
        clinician = accounts.get_clinician(db, CLINICIAN[0])
        assert clinician is not None
        accounts.set_active(db, clinician, False)
    assert login(client).status_code == 401


def test_login_redirect_stays_on_this_site(client: TestClient, store: Store) -> None:
    """The ``next`` target after sign-in can only be a clinic page (no open redirect)."""
    add_clinician(store)
    page = client.get("/clinic/login?next=https://evil.example/")
    assert 'name="next" value="/clinic"' in page.text


def test_patient_page_lists_questionnaire_scores_over_the_episode(
    signed_in: TestClient, store: Store
) -> None:
    """STarT Back scores appear with their risk group, and per follow-up in the trend table."""
    first = Intake.from_json(
        {"answers": {"age": 40, "pain_back_nrs": 7}, "instruments": {"startback": [1] * 9}}
    )
    second = Intake.from_json(
        {"answers": {"age": 40, "pain_back_nrs": 3}, "instruments": {"startback": [0] * 9}}
    )
    with store.session() as db:
        a = assessments.save_assessment(
            db,
            intake=first.to_json(),
            result=assess(first).to_json(),
            channel="web",
            narrative_read=False,
            created_at=utcnow() - timedelta(days=30),
        )
        b = assessments.save_assessment(
            db,
            intake=second.to_json(),
            result=assess(second).to_json(),
            channel="web",
            narrative_read=False,
            episode_id=a.assessment.episode_id,
        )
    page = signed_in.get(f"/clinic/assessments/{b.assessment.id}")
    assert '<tr data-instrument="startback">' in page.text
    assert "Low risk" in page.text
    assert '<th scope="col">startback</th>' in page.text
    assert "<td>9</td>" in page.text


def _post_many(store: Store, answers: dict, count: int, minutes_ago: int) -> None:
    """Store ``count`` identical assessments directly (as a flood of API posts would)."""
    store_many(store, answers, count, minutes_ago)


@pytest.mark.parametrize(
    "flood",
    [
        {"age": 40, "back_pain": True, "leg_pain": True},
        {"age": 40, "back_pain": True, "saddle_numbness": True},
    ],
    ids=["routine-flood", "emergency-flood"],
)
def test_an_emergency_after_600_posts_is_on_the_first_page_the_filter_and_the_csv(
    signed_in: TestClient, store: Store, flood: dict
) -> None:
    """Issue #12 acceptance: 600 earlier assessments (routine, or a flood of emergencies)
    never push a new real emergency off the first worklist page, the emergency filter or
    the CSV export; the rest is reachable by paging."""
    _post_many(store, flood, 600, minutes_ago=30)
    real = _store_case(store, {"age": 61, "back_pain": True, "chest_pain": True}, minutes_ago=1)
    page = signed_in.get("/clinic")
    assert real in _newest_ids(page.text) or real in _row_ids(page.text)[:100]
    assert "of 601" in page.text
    filtered = signed_in.get("/clinic?urgency=emergency&status=open")
    assert f'data-assessment="{real}"' in filtered.text
    export = signed_in.get("/clinic/export.csv")
    assert real in export.text
    assert export.text.count("\r\n") == 602  # header + 601 rows
    # Every row is reachable by following "Next page" (keyset pagination), none twice.
    seen: list[str] = []
    url: str | None = "/clinic"
    while url:
        shown = signed_in.get(url)
        assert shown.status_code == 200
        seen.extend(_row_ids(shown.text))
        link = re.search(r'rel="next" href="([^"]+)"', shown.text)
        url = html.unescape(link.group(1)) if link else None
    assert "Showing 601 to 601 of 601" in shown.text
    assert len(seen) == len(set(seen)) == 601
    assert real in seen
    broken = signed_in.get("/clinic?after=not-a-cursor")
    assert broken.status_code == 200
    assert "after:" in broken.text


def test_worklist_badges_unread_text_and_not_sure_answers(
    signed_in: TestClient, store: Store
) -> None:
    """A row whose own words were not read, or with "not sure" answers, carries a badge."""
    unread = _store_case(
        store, {"age": 40, "back_pain": True}, minutes_ago=5, narrative="Ich habe Rückenschmerzen"
    )
    unsure = _store_case(store, {"age": 40, "back_pain": True, "saddle_numbness": None}, 4)
    plain = _store_case(store, {"age": 40, "back_pain": True}, 3)
    page = signed_in.get("/clinic?status=all")

    def row(row_id: str) -> str:
        match = re.search(rf'<tr data-assessment="{row_id}".*?</tr>', page.text, re.S)
        assert match
        return match.group(0)

    assert 'data-badge="text-unread"' in row(unread)
    assert 'data-badge="unsure"' in row(unsure)
    assert "data-badge=" not in row(plain)


def test_could_still_fire_lists_only_rules_above_the_urgency(
    signed_in: TestClient, store: Store
) -> None:
    """A routine result lists the open urgent and emergency rules, none at routine or below
    (the rest could not change what the clinic does)."""
    intake = Intake.from_json({"age": 40, "answers": {"back_pain": True, "leg_pain": True}})
    result = assess(intake).to_json()
    assert result["urgency"] == "routine"
    assert {u["urgency"] for u in result["unresolved"]} >= {"routine", "urgent"}
    with store.session() as db:
        saved = assessments.save_assessment(
            db, intake=intake.to_json(), result=result, channel="api", narrative_read=True
        )
    page = signed_in.get(f"/clinic/assessments/{saved.assessment.id}")
    section = page.text.split('id="h-unresolved"', 1)[1].split("</section>", 1)[0]
    shown = set(re.findall(r'class="pill urgency-([a-z_]+)"', section))
    assert shown, "open rules above routine are listed"
    assert shown <= {"urgent", "emergency"}
