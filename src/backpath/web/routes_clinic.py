"""Clinician pages: sign in, worklist, one patient's assessment, review mark, notes, CSV.

Every page that shows patient data, every change and every export writes an audit row in
the same transaction. Repeated failed sign-ins are slowed down per username and per client
address (a growing wait, never a lockout); password checks run off the event loop.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from backpath.store import accounts, assessments, audit
from backpath.store.audit import Actor
from backpath.store.identity import (
    IdentityDecryptError,
    IdentityKeyring,
    PatientIdentity,
    age_disagrees,
    identities_of,
    identity_of,
    load_identity_key,
    search_assessments,
)
from backpath.store.models import Clinician, StoredAssessment, utcnow
from backpath.vocabulary import Concern, Urgency
from backpath.web.i18n import Words
from backpath.web.pages import Web, render, web, words_for
from backpath.web.present import (
    TrendPoint,
    answer_groups,
    format_value,
    highlight,
    trend,
)
from backpath.web.security import csrf_ok
from backpath.web.settings import Settings, identity_keyring

router = APIRouter(prefix="/clinic", include_in_schema=False)

SESSION_KEY = "clinic"
URGENCY_ORDER = tuple(sorted(Urgency, key=lambda u: -u.rank))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def actor(request: Request, clinician: Clinician) -> Actor:
    """The audit actor for a signed-in clinician."""
    return Actor(f"clinician:{clinician.username}", _client(request))


def signed_in(request: Request, db: Session) -> Clinician | None:
    """The clinician signed in on this browser, or ``None``."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    return accounts.session_clinician(db, token)


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/clinic/login?next={request.url.path}", status_code=303)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/clinic") and not target.startswith("//"):
        return target
    return "/clinic"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


async def _form(request: Request) -> tuple[dict[str, str], bool]:
    form = await request.form()
    flat = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    return flat, csrf_ok(request, flat)


# ---------------------------------------------------------------- sign in / out


def _open_session(
    db: Session, settings: Settings, clinician: Clinician, client: str, detail: Any
) -> str:
    """A new session for a clinician who passed every sign-in step (password, and code
    when TOTP is on), audited as a login; expired sessions are cleared on the way."""
    accounts.purge_expired(db, settings.login_window * 4)
    token = accounts.start_session(db, clinician, settings.clinician_session_lifetime)
    audit.record(
        db,
        Actor(f"clinician:{clinician.username}", client),
        "login",
        "clinician",
        clinician.username,
        detail,
    )
    return token


@router.get("/login")
def login_page(request: Request) -> Response:
    """The sign-in form."""
    return render(
        request, "clinic/login.html", error=None, next=_safe_next(request.query_params.get("next"))
    )


@dataclass(frozen=True)
class _SignInOutcome:
    """What the check decided: the new session token, or the failure, or (password right,
    TOTP on) that the code must come next."""

    token: str | None
    needs_code: bool = False


# The second step of a sign-in with TOTP: the password was right, the code is due. Kept in
# the (signed) session cookie for a few minutes and a few codes, then the password is
# asked again. Wrong codes count as failed sign-ins, so they slow further attempts too.
TOTP_PENDING_KEY = "clinic_totp"
TOTP_PENDING_SECONDS = 300
TOTP_PENDING_TRIES = 5


def totp_keyring(settings: Settings) -> accounts.TotpKeyring:
    """The keys of the clinicians' TOTP secrets: the identity keys (current, then old)."""
    current = settings.identity_key or load_identity_key(settings.data_dir)
    return accounts.TotpKeyring(current, settings.identity_keys_old)


def _sign_in_wait(shared: Web, username: str, client: str) -> float:
    """Seconds this attempt waits before its password is checked (runs in a worker thread)."""
    settings = shared.settings
    with shared.store.session() as db:
        by_user, by_client = accounts.recent_failures(db, username, client, settings.login_window)
    return max(
        accounts.sign_in_delay(
            by_user,
            settings.login_free_failures_per_user,
            settings.login_delay_base_seconds,
            settings.login_delay_max_seconds,
        ),
        accounts.sign_in_delay(
            by_client,
            settings.login_free_failures_per_client,
            settings.login_delay_base_seconds,
            settings.login_delay_max_seconds,
        ),
    )


def _check_sign_in(
    shared: Web, username: str, password: str, client: str, waited: float
) -> _SignInOutcome:
    """Verify the password (argon2), record the attempt, audit, start a session on success.

    Runs in a worker thread: argon2 takes tens of milliseconds of CPU by design, and the
    database calls block, so neither may run on the event loop.
    """
    settings = shared.settings
    with shared.store.session() as db:
        clinician = accounts.authenticate(db, username, password)
        accounts.record_attempt(db, username, client, clinician is not None)
        detail = {"waited_seconds": round(waited, 3)} if waited else {}
        if clinician is None:
            audit.record(
                db,
                Actor(f"login:{username}", client),
                "login_failed",
                "clinician",
                username,
                detail,
            )
            return _SignInOutcome(None)
        if accounts.totp_enabled(db, clinician):
            audit.record(
                db,
                Actor(f"login:{username}", client),
                "login_code_asked",
                "clinician",
                clinician.username,
                detail,
            )
            return _SignInOutcome(None, needs_code=True)
        token = _open_session(db, settings, clinician, client, detail)
    return _SignInOutcome(token)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the password and start a session; repeated failures slow attempts down.

    After a few recent failures for this username or from this address the attempt waits
    (``accounts.sign_in_delay``) before its password is checked, whatever the password:
    the right one still works after the wait, so nobody can be locked out, and the wait
    does not reveal whether the password was right. The wait is an ``asyncio`` sleep and
    the password check runs in a worker thread, so other requests are served meanwhile.
    """
    form, ok = await _form(request)
    if not ok:
        return render(request, "form_expired.html", status_code=403)
    shared = web(request)
    username = form.get("username", "").strip().lower()[:64]
    password = form.get("password", "")[:1024]
    target = _safe_next(form.get("next"))
    client = _client(request)
    wait = await run_in_threadpool(_sign_in_wait, shared, username, client)
    if wait > 0:
        await asyncio.sleep(wait)
    outcome = await run_in_threadpool(_check_sign_in, shared, username, password, client, wait)
    if outcome.needs_code:
        request.session.pop(SESSION_KEY, None)
        request.session[TOTP_PENDING_KEY] = {
            "username": username,
            "next": target,
            "since": time.time(),
            "tries": 0,
        }
        return RedirectResponse("/clinic/login/code", status_code=303)
    if outcome.token is None:
        words = words_for(request)
        error = words("sign_in_failed")
        return render(request, "clinic/login.html", status_code=401, error=error, next=target)
    return _signed_in(request, outcome.token, target)


def _signed_in(request: Request, token: str, target: str) -> Response:
    """A fresh session cookie (only the language kept) holding the new session token."""
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    request.session[SESSION_KEY] = token
    return RedirectResponse(target, status_code=303)


def _pending_code(request: Request) -> dict[str, Any] | None:
    """The sign-in waiting for its TOTP code, or ``None`` (none, expired, or used up)."""
    pending = request.session.get(TOTP_PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    since = pending.get("since")
    tries = pending.get("tries")
    if (
        not isinstance(pending.get("username"), str)
        or not isinstance(since, int | float)
        or not isinstance(tries, int)
        or not 0 <= time.time() - since <= TOTP_PENDING_SECONDS
        or tries >= TOTP_PENDING_TRIES
    ):
        request.session.pop(TOTP_PENDING_KEY, None)
        return None
    return pending


def _check_code(shared: Web, username: str, code: str, client: str, waited: float) -> str | None:
    """Verify a TOTP code (single use), record the attempt, audit; the new session token
    when it is right. Runs in a worker thread (database calls block)."""
    settings = shared.settings
    detail: dict[str, Any] = {"factor": "totp"}
    if waited:
        detail["waited_seconds"] = round(waited, 3)
    with shared.store.session() as db:
        clinician = accounts.get_clinician(db, username)
        right = False
        if clinician is not None and clinician.active:
            try:
                right = accounts.verify_totp(db, clinician, totp_keyring(settings), code)
            except accounts.TotpSecretError:
                detail["secret_unreadable"] = True
        accounts.record_attempt(db, username, client, right)
        if clinician is None or not right:
            audit.record(
                db,
                Actor(f"login:{username}", client),
                "login_failed",
                "clinician",
                username,
                detail,
            )
            return None
        return _open_session(db, settings, clinician, client, detail)


@router.get("/login/code")
def login_code_page(request: Request) -> Response:
    """The second step of a sign-in with TOTP: the 6-digit code from the app."""
    if _pending_code(request) is None:
        return RedirectResponse("/clinic/login", status_code=303)
    return render(request, "clinic/login_code.html", error=None)


@router.post("/login/code")
async def login_code(request: Request) -> Response:
    """Check the code after the password; wrong codes count as failed sign-ins.

    The same progressive wait as for passwords applies first (per username and per client
    address). A code is accepted once only. After ``TOTP_PENDING_TRIES`` wrong codes, or
    ``TOTP_PENDING_SECONDS``, the password is asked again.
    """
    form, ok = await _form(request)
    if not ok:
        return render(request, "form_expired.html", status_code=403)
    pending = _pending_code(request)
    if pending is None:
        return RedirectResponse("/clinic/login", status_code=303)
    shared = web(request)
    username = str(pending["username"])
    client = _client(request)
    wait = await run_in_threadpool(_sign_in_wait, shared, username, client)
    if wait > 0:
        await asyncio.sleep(wait)
    code = form.get("code", "")[:32]
    token = await run_in_threadpool(_check_code, shared, username, code, client, wait)
    if token is None:
        pending["tries"] = int(pending["tries"]) + 1
        request.session[TOTP_PENDING_KEY] = pending
        words = words_for(request)
        if pending["tries"] >= TOTP_PENDING_TRIES:
            request.session.pop(TOTP_PENDING_KEY, None)
            error = words("totp_start_again")
            target = _safe_next(str(pending.get("next")))
            return render(request, "clinic/login.html", status_code=401, error=error, next=target)
        return render(
            request, "clinic/login_code.html", status_code=401, error=words("totp_failed")
        )
    return _signed_in(request, token, _safe_next(str(pending.get("next"))))


def _end_session(shared: Web, token: str, client: str) -> None:
    """Forget the session on the server and audit the sign-out (in a worker thread)."""
    with shared.store.session() as db:
        clinician = accounts.session_clinician(db, token)
        if clinician is not None:
            audit.record(
                db,
                Actor(f"clinician:{clinician.username}", client),
                "logout",
                "clinician",
                clinician.username,
            )
        accounts.end_session(db, token)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session everywhere (the server forgets it), then clear the cookie."""
    _, ok = await _form(request)
    if not ok:
        return render(request, "form_expired.html", status_code=403)
    token = request.session.get(SESSION_KEY)
    if isinstance(token, str):
        await run_in_threadpool(_end_session, web(request), token, _client(request))
    request.session.clear()
    return RedirectResponse("/clinic/login", status_code=303)


# ---------------------------------------------------------------- worklist


def _filters(request: Request) -> dict[str, Any]:
    query = request.query_params
    urgency = query.get("urgency", "")
    status = query.get("status", "open")
    concern = query.get("concern", "")
    return {
        "urgency": urgency if urgency in {u.value for u in Urgency} else "",
        "status": status if status in assessments.REVIEW_STATUSES else "open",
        "concern": concern if concern in {c.value for c in Concern} else "",
    }


# One worklist page; every matching row is reachable by paging and in the CSV export.
PAGE_SIZE = 100
# Unreviewed emergencies this recent are also shown above the list, newest first.
NEWEST_EMERGENCY_WINDOW = timedelta(hours=24)


def _page_start(request: Request) -> tuple[assessments.WorklistCursor | None, int, str]:
    """Where the page starts: the keyset cursor ``after`` (None: the first page), how many
    rows came before it (``shown``, only for "Showing 101 to 200"), and a message when the
    cursor was not one this worklist made (the first page is shown instead)."""
    query = request.query_params
    raw = query.get("after", "")
    if not raw:
        return None, 0, ""
    try:
        cursor = assessments.WorklistCursor.decode(raw)
    except assessments.CursorError as error:
        return None, 0, f"{error.field}: {error.message}"
    shown = query.get("shown", "0")
    return cursor, int(shown) if shown.isdigit() and len(shown) < 10 else 0, ""


def _select(db: Session, filters: Mapping[str, Any]) -> list[StoredAssessment]:
    return list(
        assessments.worklist(
            db,
            urgencies=[filters["urgency"]] if filters["urgency"] else [],
            status=filters["status"],
            concern=filters["concern"] or None,
        )
    )


def red_flags(row: StoredAssessment) -> list[str]:
    """Concerns of the fired rules that are urgent or emergencies (the worklist badges)."""
    serious = {Urgency.EMERGENCY.value, Urgency.URGENT.value}
    return list(
        dict.fromkeys(
            rule["concern"]
            for rule in row.result.get("fired_rules", [])
            if rule.get("urgency") in serious
        )
    )


def rule_title(rule: Mapping[str, Any], words: Words) -> str:
    """A rule's title in the clinician's language, whatever the patient's (issue #12).

    A stored result carries its fired rules' titles in the patient's language (the patient
    reads them too); a clinician reads the title of the same rule id from the knowledge base
    in the page's language instead (English where a translation is missing). A rule no
    longer in the knowledge base keeps the title stored with the result.
    """
    kb = words.kb
    rule_id = str(rule.get("id", ""))
    found = kb.rules_by_id.get(rule_id) or next(
        (meta for meta in kb.meta_rules if meta.id == rule_id), None
    )
    if found is None:
        return str(rule.get("title", rule_id))
    return kb.text(f"rule.{rule_id}.title", words.language, found.spec.title)


def _age_sex(row: StoredAssessment, words: Words) -> str:
    """The patient's age and sex ("45 years, Female") in the clinician's words."""
    answers = row.intake.get("answers", {})
    kb = words.kb
    return ", ".join(
        format_value(kb.findings.get(code), answers[code], words)
        for code in ("age", "sex")
        if code in answers
    )


def patient_language(row: StoredAssessment, words: Words) -> dict[str, str] | None:
    """The patient's language when it is not the clinician's: its code and its name, to
    mark the patient's own words (which are never translated) on clinician pages."""
    language = row.language or "en"
    if language == words.language:
        return None
    return {"code": language, "name": words.language_name(language)}


def waiting_time(since: datetime, now: datetime, words: Words) -> str:
    """How long an unreviewed assessment has been waiting ("waiting 2 h 10 min"), in the
    clinician's words: minutes under an hour, hours and minutes under a day, then days and
    hours. The clock is the server's, read once per page."""
    start = since if since.tzinfo else since.replace(tzinfo=UTC)
    minutes = max(0, int((now - start).total_seconds()) // 60)
    if minutes < 1:
        duration = words("waiting_moment")
    elif minutes < 60:
        duration = words("waiting_minutes", minutes=minutes)
    elif minutes < 24 * 60:
        duration = words("waiting_hours", hours=minutes // 60, minutes=minutes % 60)
    else:
        days, rest = divmod(minutes, 24 * 60)
        duration = words("waiting_days", days=days, hours=rest // 60)
    return words("waiting_for", duration=duration)


def _row_view(row: StoredAssessment, words: Words, now: datetime | None = None) -> dict[str, Any]:
    """One worklist row. ``now`` (the page's clock) adds the waiting time of a row not yet
    reviewed."""
    fired = row.result.get("fired_rules", [])
    waiting = (
        waiting_time(row.created_at, now, words)
        if now is not None and row.reviewed_at is None and row.created_at is not None
        else ""
    )
    return {
        "id": row.id,
        "url": f"/clinic/assessments/{row.id}",
        "received": _when(row.created_at),
        "waiting": waiting,
        "urgency": row.urgency,
        "urgency_label": words.urgency_label(row.urgency),
        "flags": red_flags(row),
        "age_sex": _age_sex(row, words),
        "patient_language": patient_language(row, words),
        "summary": rule_title(fired[0], words) if fired else "",
        "reviewed": row.reviewed_at is not None,
        "text_unread": _text_unread(row),
        "unsure": bool(row.result.get("unsure")),
    }


def _text_unread(row: StoredAssessment) -> bool:
    """The patient's own words were not (fully) read: another language, not understood,
    or danger words the reader could not place. A clinician must read them."""
    narrative = row.result.get("narrative", {})
    if not row.intake.get("narrative"):
        return False
    return (
        not row.narrative_read
        or narrative.get("status") == "not_understood"
        or "danger_words" in narrative.get("problems", [])
    )


@router.get("")
def worklist(request: Request) -> Response:
    """Who needs to be seen first: most urgent, then longest waiting."""
    shared = web(request)
    filters = _filters(request)
    words = words_for(request)
    with shared.store.session() as db:
        clinician = signed_in(request, db)
        if clinician is None:
            return _to_login(request)
        read_at = utcnow()
        after, before, cursor_problem = _page_start(request)
        urgencies = [filters["urgency"]] if filters["urgency"] else []
        found = assessments.worklist_page(
            db,
            urgencies=urgencies,
            status=filters["status"],
            concern=filters["concern"] or None,
            after=after,
            limit=PAGE_SIZE,
        )
        rows = list(found.rows)
        matching_counts = assessments.urgency_counts(
            db, status=filters["status"], concern=filters["concern"] or None
        )
        total = sum(n for u, n in matching_counts.items() if not urgencies or u in urgencies)
        newest: list[StoredAssessment] = []
        if (
            after is None
            and filters["status"] != "reviewed"
            and filters["urgency"] in ("", "emergency")
        ):
            since = utcnow() - NEWEST_EMERGENCY_WINDOW
            newest = list(assessments.newest_emergencies(db, since=since))
        people = _identities(db, shared.settings, [*rows, *newest], words)
        audit.record(
            db,
            actor(request, clinician),
            "view",
            "worklist",
            None,
            {
                "filters": filters,
                "after": after.encode() if after else None,
                "shown": [row.id for row in rows],
                "newest_emergencies": [row.id for row in newest],
                "identities_shown": sorted(people),
            },
        )
        views = [{**_row_view(row, words, read_at), "person": people.get(row.id)} for row in rows]
        newest_views = [
            {**_row_view(row, words, read_at), "person": people.get(row.id)} for row in newest
        ]
        counts = open_counts(db)
    return render(
        request,
        "clinic/worklist.html",
        words=words,
        clinician=clinician,
        rows=views,
        newest=newest_views,
        counts=counts,
        alerts={
            "url": "/clinic/alerts",
            "since": alert_cursor(read_at - ALERT_LATE_COMMIT_GRACE),
            "every": shared.settings.clinic_alert_poll_seconds,
        },
        paging={
            "is_first": after is None,
            "next": found.next_cursor.encode() if found.next_cursor else None,
            "shown": before + len(views),
            "total": total,
            "first": before + 1 if views else 0,
            "last": before + len(views),
            "problem": cursor_problem,
        },
        filters=filters,
        urgencies=[u.value for u in URGENCY_ORDER],
        concerns=[c.value for c in Concern],
        statuses=assessments.REVIEW_STATUSES,
        search=None,
    )


# ---------------------------------------------------------------- live alert

# The urgencies that raise the worklist's live alert: emergencies loudly (role="alert",
# optional sound), urgent assessments quietly (role="status").
ALERT_URGENCIES = (Urgency.EMERGENCY.value, Urgency.URGENT.value)
# An assessment's ``created_at`` is taken before its transaction commits (on a busy SQLite
# file the commit may wait for the write lock). The cursor handed back therefore lags the
# server clock by this much, so a late commit is still seen; an item may then come twice
# and the page skips ids it has already shown.
ALERT_LATE_COMMIT_GRACE = timedelta(seconds=60)
# At most this many items per answer (emergencies first): a flood of urgent posts can
# never push a new emergency out of the answer.
ALERT_LIMIT = 50


def alert_cursor(moment: datetime) -> str:
    """A poll cursor: an instant in UTC with microseconds, ``2026-11-30T14:50:00.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_alert_cursor(raw: str) -> datetime | None:
    """The instant of a cursor, or ``None`` when it is not an ISO 8601 time with a zone."""
    if not raw or len(raw) > 40:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def open_counts(db: Session) -> dict[str, int]:
    """Unreviewed assessments per urgency, most urgent first (every urgency, 0 included)."""
    found = assessments.urgency_counts(db, status="open")
    return {u.value: int(found.get(u.value, 0)) for u in URGENCY_ORDER}


def _first_red_flag(row: StoredAssessment, words: Words) -> str:
    """The title of the first emergency or urgent rule that fired (clinician's language)."""
    fired = row.result.get("fired_rules", [])
    serious = [rule for rule in fired if rule.get("urgency") in ALERT_URGENCIES]
    chosen = serious or fired
    return rule_title(chosen[0], words) if chosen else ""


def _alert_view(row: StoredAssessment, words: Words) -> dict[str, Any]:
    """One item of the live alert: what the banner says and where its link goes."""
    summary = " \u2013 ".join(
        part for part in (_age_sex(row, words), _first_red_flag(row, words)) if part
    )
    shown = summary or words("open_assessment")
    if row.urgency == Urgency.EMERGENCY.value:
        text = words("alert_new_emergency", summary=shown)
    else:
        text = words("alert_new_urgent", summary=shown)
    return {
        "id": row.id,
        "urgency": row.urgency,
        "urgency_label": words.urgency_label(row.urgency),
        "summary": summary,
        "text": text,
        "received": _when(row.created_at),
        "url": f"/clinic/assessments/{row.id}",
    }


def _alert_error(field: str, message: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"error": message, "field": field},
        status_code=status,
        headers={"cache-control": "no-store"},
    )


@router.get("/alerts")
def alerts(request: Request) -> Response:
    """New emergency and urgent assessments since ``since``, for the worklist's live alert.

    JSON: ``items`` (unreviewed emergency then urgent assessments received after ``since``,
    newest first within each, at most ``ALERT_LIMIT``), ``counts`` (unreviewed assessments
    per urgency), ``cursor`` (the ``since`` of the next poll) and ``every`` (seconds between
    polls). Without ``since`` there are no items, only counts and a cursor. Signed out: 401
    (the page then stops asking and says so). An answer that names patients is audited
    with the ids it carried; an empty one (most polls) is not, as it shows nobody.
    """
    shared = web(request)
    words = words_for(request)
    raw = request.query_params.get("since", "")
    since = parse_alert_cursor(raw) if raw else None
    if raw and since is None:
        return _alert_error("since", words("alert_error_since"), 422)
    with shared.store.session() as db:
        clinician = signed_in(request, db)
        if clinician is None:
            return _alert_error("session", words("alert_signed_out"), 401)
        read_at = utcnow()
        rows: list[StoredAssessment] = []
        if since is not None:
            query = (
                select(StoredAssessment)
                .where(StoredAssessment.urgency.in_(ALERT_URGENCIES))
                .where(StoredAssessment.reviewed_at.is_(None))
                .where(StoredAssessment.created_at > since)
                .order_by(
                    StoredAssessment.urgency_rank.desc(),
                    StoredAssessment.created_at.desc(),
                    StoredAssessment.id.desc(),
                )
                .limit(ALERT_LIMIT + 1)
            )
            rows = list(db.scalars(query).all())
        more = len(rows) > ALERT_LIMIT
        rows = rows[:ALERT_LIMIT]
        if rows:
            audit.record(
                db,
                actor(request, clinician),
                "view",
                "alerts",
                None,
                {"shown": [row.id for row in rows]},
            )
        items = [_alert_view(row, words) for row in rows]
        counts = open_counts(db)
    cursor = read_at - ALERT_LATE_COMMIT_GRACE
    if since is not None:
        cursor = max(cursor, since)
    return JSONResponse(
        {
            "items": items,
            "more": more,
            "counts": counts,
            "cursor": alert_cursor(cursor),
            "every": shared.settings.clinic_alert_poll_seconds,
        },
        headers={"cache-control": "no-store"},
    )


# ---------------------------------------------------------------- identity and search


def identity_view(
    row: PatientIdentity,
    keyring: IdentityKeyring,
    words: Words,
    intake_age: Any,
    received: date,
) -> dict[str, Any]:
    """The patient's contact details for a clinician page (decrypted here, never logged);
    a warning when the date of birth and the age answered disagree."""
    try:
        contact = keyring.decrypt(row.ciphertext, row.assessment_id)
    except IdentityDecryptError:
        return {"unreadable": True}
    computed = age_disagrees(contact, intake_age, received)
    mismatch = None
    if computed is not None:
        mismatch = words("identity_age_mismatch", computed=computed, answered=intake_age)
    return {
        "unreadable": False,
        "name": contact.full_name,
        "date_of_birth": contact.date_of_birth.isoformat(),
        "age": words("identity_age", age=contact.age_on(utcnow().date())),
        "phone": contact.phone,
        "phone_link": "".join(ch for ch in contact.phone if ch.isdigit() or ch == "+"),
        "record_number": contact.record_number,
        "email": contact.email,
        "mismatch": mismatch,
    }


def _identities(
    db: Session, settings: Any, rows: Iterable[StoredAssessment], words: Words
) -> dict[str, dict[str, Any]]:
    """The contact details of the assessments shown, by assessment id (only those that
    have any; only these rows are decrypted)."""
    shown = {row.id: row for row in rows}
    found = identities_of(db, list(shown))
    if not found:
        return {}
    keyring = identity_keyring(settings)
    return {
        assessment_id: identity_view(
            identity,
            keyring,
            words,
            shown[assessment_id].intake.get("answers", {}).get("age"),
            shown[assessment_id].created_at.date(),
        )
        for assessment_id, identity in found.items()
    }


SEARCH_NAME_MAX = 200


def _search_terms(form: Mapping[str, str], words: Words) -> tuple[str, date | None, dict[str, str]]:
    """The search form's name and date of birth, and its errors by field."""
    name = form.get("name", "").strip()
    raw_date = form.get("date_of_birth", "").strip()
    errors: dict[str, str] = {}
    if len(name) > SEARCH_NAME_MAX or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        errors["name"] = words("search_error_name")
    born: date | None = None
    if raw_date:
        try:
            born = date.fromisoformat(raw_date) if len(raw_date) == 10 else None
        except ValueError:
            born = None
        if born is None:
            errors["date_of_birth"] = words("search_error_dob")
    if not name and not raw_date:
        errors["name"] = words("search_error_empty")
    return name, born, errors


@router.post("/search")
async def search(request: Request) -> Response:
    """Find patients by name and/or date of birth, through the blind indexes only (no row
    is decrypted to search). A POST, so the terms never appear in an address or a server
    log; the audit row says what was searched by and what matched, never the terms."""
    form, ok = await _form(request)
    if not ok:
        return render(request, "form_expired.html", status_code=403)
    shared = web(request)
    words = words_for(request)
    name, born, errors = _search_terms(form, words)
    with shared.store.session() as db:
        clinician = signed_in(request, db)
        if clinician is None:
            return _to_login(request)
        rows: list[StoredAssessment] = []
        if not errors:
            keyring = identity_keyring(shared.settings)
            rows = list(search_assessments(db, keyring, name or None, born))
        people = _identities(db, shared.settings, rows, words)
        audit.record(
            db,
            actor(request, clinician),
            "search",
            "worklist",
            None,
            {
                "by": [f for f, given in (("name", name), ("date_of_birth", born)) if given],
                "refused": sorted(errors),
                "matches": [row.id for row in rows],
                "identities_shown": sorted(people),
            },
        )
        now = utcnow()
        views = [{**_row_view(row, words, now), "person": people.get(row.id)} for row in rows]
    return render(
        request,
        "clinic/worklist.html",
        status_code=422 if errors else 200,
        words=words,
        clinician=clinician,
        rows=views,
        newest=[],
        counts=None,
        alerts=None,
        paging={"page": 1, "pages": 1, "total": len(views), "first": 1, "last": len(views)},
        filters=_filters(request),
        urgencies=[u.value for u in URGENCY_ORDER],
        concerns=[c.value for c in Concern],
        statuses=assessments.REVIEW_STATUSES,
        search={
            "name": form.get("name", ""),
            "date_of_birth": form.get("date_of_birth", ""),
            "errors": errors,
            "count": len(views),
        },
    )


# ---------------------------------------------------------------- CSV export

CSV_COLUMNS = (
    "id",
    "received_utc",
    "urgency",
    "concerns",
    "red_flags",
    "fired_rules",
    "age",
    "sex",
    "reviewed_utc",
    "reviewed_by",
    "channel",
    "language",
    "kb_version",
    "kb_sha256",
    "answers_json",
    "narrative",
)


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_rows(rows: Iterable[StoredAssessment]) -> str:
    """The export: one line per assessment, answers as JSON, formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        answers = row.intake.get("answers", {})
        writer.writerow(
            [
                _cell(v)
                for v in (
                    row.id,
                    row.created_at.isoformat(),
                    row.urgency,
                    " ".join(row.concerns),
                    " ".join(red_flags(row)),
                    " ".join(r["id"] for r in row.result.get("fired_rules", [])),
                    answers.get("age"),
                    answers.get("sex"),
                    row.reviewed_at.isoformat() if row.reviewed_at else "",
                    row.reviewed_by,
                    row.channel,
                    row.language,
                    row.kb_version,
                    row.kb_sha256,
                    json.dumps(answers, sort_keys=True, ensure_ascii=False),
                    row.intake.get("narrative", ""),
                )
            ]
        )
    return buffer.getvalue()


@router.get("/export.csv")
def export_csv(request: Request) -> Response:
    """Download the (filtered) worklist as CSV; the export is audited with every id."""
    shared = web(request)
    filters = _filters(request)
    with shared.store.session() as db:
        clinician = signed_in(request, db)
        if clinician is None:
            return _to_login(request)
        rows = _select(db, filters)
        audit.record(
            db,
            actor(request, clinician),
            "export",
            "worklist",
            None,
            {"filters": filters, "format": "csv", "ids": [row.id for row in rows]},
        )
        body = csv_rows(rows)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="backpath-worklist-{stamp}.csv"',
            "cache-control": "no-store",
        },
    )


# ---------------------------------------------------------------- one assessment


def source_label(source: str, words: Words) -> str:
    """Where a finding's value came from, in words (the raw source if it has no words)."""
    key = f"from_{source}"
    return words(key) if f"web.{key}" in words.kb.ui_texts else source


def _assessment_view(db: Session, row: StoredAssessment, words: Words) -> dict[str, Any]:
    kb = words.kb
    result = row.result
    citations = {c["id"]: c for c in result.get("citations", [])}

    def label(code: str) -> str:
        finding = kb.findings.get(code)
        return finding.label if finding else code

    fired = []
    for rule in result.get("fired_rules", []):
        because = []
        for item in rule.get("because", []):
            finding = kb.findings.get(item["code"])
            because.append(
                {
                    "code": item["code"],
                    "label": label(item["code"]),
                    "value": format_value(finding, item.get("value"), words),
                    "source": source_label(item.get("source", "answer"), words),
                    "evidence": item.get("evidence"),
                }
            )
        fired.append(
            {
                **rule,
                "title": rule_title(rule, words),
                "because_view": because,
                "source_view": [
                    citations.get(s, {"id": s, "title": s, "url": None})
                    for s in rule.get("sources", [])
                ],
            }
        )
    # "Could still fire": only the rules above the result's urgency - the ones whose open
    # questions could still change what the clinic does (issue #12; the rest is noise).
    ranks = {u.value: u.rank for u in Urgency}
    current = ranks.get(str(result.get("urgency")), 0)
    unresolved = [
        {
            **item,
            "title": rule_title(item, words),
            "ask_labels": [label(code) for code in item.get("ask", [])],
        }
        for item in result.get("unresolved", [])
        if ranks.get(str(item.get("urgency")), 0) > current
    ]
    conflicts = [
        {
            **item,
            "label": label(item["code"]),
            "answer_text": format_value(kb.findings.get(item["code"]), item["answer"], words),
            "narrative_text": format_value(kb.findings.get(item["code"]), item["narrative"], words),
            "used_text": format_value(kb.findings.get(item["code"]), item["used"], words),
        }
        for item in result.get("conflicts", [])
    ]
    narrative = row.intake.get("narrative") or ""
    narrative_findings = result.get("narrative", {}).get("findings", [])
    episode_rows = assessments.episode(db, row.episode_id)
    points = [
        TrendPoint(
            item.created_at,
            item.intake.get("answers", {}).get("pain_back_nrs"),
            item.intake.get("answers", {}).get("pain_leg_nrs"),
            item.id == row.id,
            {s["instrument"]: s["value"] for s in item.result.get("scores", [])},
        )
        for item in episode_rows
    ]
    scores = [
        {
            **item,
            "label": item.get("stratum_label") or item.get("band_label") or "",
            "shown_value": f"{item['value']} %"
            if item.get("unit") == "percent"
            else f"{item['value']} / {item['max']}",
        }
        for item in result.get("scores", [])
    ]
    return {
        "row": row,
        "received": _when(row.created_at),
        "reviewed": _when(row.reviewed_at),
        "urgency_label": words.urgency_label(row.urgency),
        "urgency_clinician": result.get("urgency_text", {}).get("clinician", ""),
        "flags": red_flags(row),
        "fired": fired,
        "unresolved": unresolved,
        "conflicts": conflicts,
        "answers": answer_groups(row.intake.get("answers", {}), kb, words),
        "narrative_segments": highlight(narrative, narrative_findings) if narrative else (),
        "narrative_findings": [
            {**item, "label": label(item["code"])} for item in narrative_findings
        ],
        "narrative_unread": bool(narrative) and not row.narrative_read,
        "patient_language": patient_language(row, words),
        "trend": trend(points) if len(points) > 1 else None,
        "scores": scores,
        "episode": [
            {"id": item.id, "received": _when(item.created_at), "urgency": item.urgency}
            for item in episode_rows
        ],
        "notes": [
            {"author": note.author, "when": _when(note.created_at), "text": note.text}
            for note in row.notes
        ],
        "audit": [
            {"when": _when(event.at), "who": event.actor, "what": event.action}
            for event in audit.events(db, target_id=row.id, limit=50)
        ],
    }


@router.get("/assessments/{assessment_id}")
def assessment_page(request: Request, assessment_id: str) -> Response:
    """One patient's assessment: answers, own words, fired rules with sources, notes."""
    shared = web(request)
    words = words_for(request)
    with shared.store.session() as db:
        clinician = signed_in(request, db)
        if clinician is None:
            return _to_login(request)
        row = assessments.get_assessment(db, assessment_id)
        if row is None:
            return render(request, "not_found.html", status_code=404)
        audit.record(db, actor(request, clinician), "view", "assessment", row.id)
        identity = identity_of(db, row.id)
        person = None
        if identity is not None:
            person = identity_view(
                identity,
                identity_keyring(shared.settings),
                words,
                row.intake.get("answers", {}).get("age"),
                row.created_at.date(),
            )
            audit.record(
                db,
                actor(request, clinician),
                "view",
                "patient_identity",
                row.id,
                {"page": "assessment", "readable": not person["unreadable"]},
            )
        view = _assessment_view(db, row, words)
    return render(
        request, "clinic/assessment.html", words=words, clinician=clinician, person=person, **view
    )


@router.get("/assessments/{assessment_id}/handout.pdf")
def assessment_handout(request: Request, assessment_id: str) -> Response:
    """The patient's handout as a PDF, in the patient's language (export is audited)."""
    from backpath.web.handout import handout_response

    shared = web(request)
    with shared.store.session() as db:
        clinician = signed_in(request, db)
        if clinician is None:
            return _to_login(request)
        row = assessments.get_assessment(db, assessment_id)
        if row is None:
            return render(request, "not_found.html", status_code=404)
        audit.record(
            db, actor(request, clinician), "export", "assessment", row.id, {"as": "handout"}
        )
        stored = row.intake
    language = stored.get("language", "en") if isinstance(stored, dict) else "en"
    return handout_response(request, stored, language, as_pdf=True)


@router.post("/assessments/{assessment_id}/review")
async def review(request: Request, assessment_id: str) -> Response:
    """Set or clear the "reviewed" mark."""
    form, ok = await _form(request)
    if not ok:
        return render(request, "form_expired.html", status_code=403)
    shared = web(request)
    reviewed = form.get("reviewed") == "1"
    with shared.store.session() as db:
        clinician = signed_in(request, db)
        if clinician is None:
            return _to_login(request)
        row = assessments.get_assessment(db, assessment_id)
        if row is None:
            return render(request, "not_found.html", status_code=404)
        assessments.set_reviewed(db, row, clinician.username, reviewed)
        audit.record(
            db, actor(request, clinician), "update", "assessment", row.id, {"reviewed": reviewed}
        )
    return RedirectResponse(f"/clinic/assessments/{assessment_id}", status_code=303)


@router.post("/assessments/{assessment_id}/notes")
async def add_note(request: Request, assessment_id: str) -> Response:
    """Add a note (up to 5,000 characters)."""
    form, ok = await _form(request)
    if not ok:
        return render(request, "form_expired.html", status_code=403)
    shared = web(request)
    text = form.get("note", "").strip()[:5000]
    with shared.store.session() as db:
        clinician = signed_in(request, db)
        if clinician is None:
            return _to_login(request)
        row = assessments.get_assessment(db, assessment_id)
        if row is None:
            return render(request, "not_found.html", status_code=404)
        if text:
            note = assessments.add_note(db, row, clinician.username, text)
            audit.record(
                db,
                actor(request, clinician),
                "update",
                "assessment",
                row.id,
                {"note_added": note.id},
            )
    return RedirectResponse(f"/clinic/assessments/{assessment_id}#notes", status_code=303)
