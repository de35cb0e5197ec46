"""Patient pages: the intake (one section per page), the emergency screen, the result.

Works without JavaScript: every step is a server-rendered form that posts back and is
redirected (post/redirect/get). The answers live in a server-side draft, so nothing is lost
on a validation error or a back button. The routes only translate; the core decides.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backpath.errors import IntakeError, ScoringError
from backpath.intake import Intake
from backpath.store import assessments, audit, drafts
from backpath.store.audit import Actor
from backpath.store.models import Draft
from backpath.vocabulary import Urgency
from backpath.web.i18n import choose_language
from backpath.web.intake import (
    INSTRUMENT_LANGUAGES,
    NARRATIVE_PAGE,
    OFFERED_INSTRUMENTS,
    DraftState,
    Page,
    answer_state,
    form_lists,
    instrument_items,
    read_instrument,
    read_page,
    visible,
)
from backpath.web.pages import render, web, words_for
from backpath.web.present import patient_result
from backpath.web.security import csrf_ok
from backpath.web.triage import narrative_reader_available, triage

router = APIRouter(include_in_schema=False)

DRAFT_KEY = "draft"
NARRATIVE_URL = "/intake/anything-else"


def section_url(page_id: str) -> str:
    """The address of a questionnaire page (or of "Anything else?")."""
    if page_id == NARRATIVE_PAGE:
        return NARRATIVE_URL
    return f"/intake/section/{page_id}"


def instrument_url(instrument_id: str) -> str:
    """The address of an offered questionnaire page."""
    return f"/intake/questionnaire/{instrument_id}"


def _total_pages(request: Request, language: str) -> int:
    """Pages of the intake in this language (questionnaires are offered in English only)."""
    extra = len(OFFERED_INSTRUMENTS) if language in INSTRUMENT_LANGUAGES else 0
    return web(request).questionnaire.total + extra


def _is_emergency(request: Request, state: DraftState, language: str) -> bool:
    shared = web(request)
    data = {**state.intake_json(), "language": language}
    data.pop("narrative", None)
    data.pop("instruments", None)
    triaged = triage(data, shared.kb, shared.settings.max_narrative_chars)
    return triaged.assessment.urgency is Urgency.EMERGENCY


def _instrument_due(request: Request, state: DraftState, language: str) -> str | None:
    """The questionnaire to offer next, as `backpath assess` does: in English, and not when
    the answers already make it an emergency (then the person must go, not fill in forms)."""
    if language not in INSTRUMENT_LANGUAGES:
        return None
    pending = [i for i in OFFERED_INSTRUMENTS if i not in state.instrument_choices]
    if not pending or _is_emergency(request, state, language):
        return None
    return pending[0]


def _offered(state: DraftState) -> list[str]:
    return [i for i in OFFERED_INSTRUMENTS if i in state.instrument_choices]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _expired(request: Request) -> Response:
    return render(request, "form_expired.html", status_code=403)


def _load(request: Request, db: Session) -> tuple[Draft, DraftState] | None:
    token = request.session.get(DRAFT_KEY)
    if not isinstance(token, str):
        return None
    draft = drafts.load_draft(db, token, web(request).settings.draft_lifetime)
    if draft is None:
        return None
    return draft, DraftState.from_json(draft.state)


def _read_state(request: Request) -> DraftState | None:
    """The draft's answers for a page that only reads them (None: no draft, or expired)."""
    with web(request).store.session() as db:
        loaded = _load(request, db)
    return None if loaded is None else loaded[1]


async def _form(request: Request) -> tuple[dict[str, list[str]], bool]:
    form = await request.form()
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    flat = dict(items)
    return form_lists(items), csrf_ok(request, flat)


@router.get("/")
def landing(request: Request) -> Response:
    """The start page: what this is, how long it takes, when not to use it."""
    return render(request, "landing.html", expired=request.query_params.get("expired") == "1")


@router.post("/intake")
async def start(request: Request) -> Response:
    """Start a new draft (throwing away drafts nobody has touched for a long time)."""
    _, ok = await _form(request)
    if not ok:
        return _expired(request)
    shared = web(request)
    language = choose_language(request, shared.kb)
    with shared.store.session() as db:
        drafts.purge_drafts(db, shared.settings.draft_lifetime)
        token = drafts.new_draft(db, DraftState(language=language).to_json())
    request.session[DRAFT_KEY] = token
    return _redirect(section_url(shared.questionnaire.first.id))


@router.get("/intake/emergency")
def emergency(request: Request) -> Response:
    """The unmissable screen shown the moment an emergency rule fires."""
    shared = web(request)
    state = _read_state(request)
    if state is None:
        return _redirect("/?expired=1")
    words = words_for(request)
    data = {**state.intake_json(), "language": words.language}
    data.pop("narrative", None)
    result = triage(data, shared.kb, shared.settings.max_narrative_chars).assessment.to_json()
    view = patient_result(result, shared.kb, words.language, only_urgency=Urgency.EMERGENCY)
    return render(request, "emergency.html", words=words, result=view)


@router.post("/intake/emergency")
async def emergency_choice(request: Request) -> Response:
    """Continue the questions, or finish now and see the result."""
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    shared = web(request)
    if form.get("action", [""])[0] == "finish":
        return _finish(request)
    state = _read_state(request)
    if state is None:
        return _redirect("/?expired=1")
    return _redirect(section_url(state.resume or shared.questionnaire.first.id))


@router.get(NARRATIVE_URL)
def narrative_page(request: Request) -> Response:
    """ "Anything else?": the person's own words."""
    state = _read_state(request)
    if state is None:
        return _redirect("/?expired=1")
    due = _instrument_due(request, state, choose_language(request, web(request).kb))
    if due is not None:
        return _redirect(instrument_url(due))
    return _render_narrative(request, state.narrative or "", None)


def _render_narrative(
    request: Request, narrative: str, error: str | None, status_code: int = 200
) -> Response:
    total = _total_pages(request, choose_language(request, web(request).kb))
    return render(
        request,
        "narrative.html",
        status_code=status_code,
        narrative=narrative,
        error=error,
        nlp_available=narrative_reader_available(),
        number=total,
        total=total,
    )


@router.post(NARRATIVE_URL)
async def narrative_submit(request: Request) -> Response:
    """Keep the narrative; go back, or finish and store the assessment."""
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    shared = web(request)
    text = form.get("narrative", [""])[0].replace("\r\n", "\n")
    limit = shared.settings.max_narrative_chars
    try:
        Intake.from_json({"narrative": text}, max_narrative_chars=limit)
    except IntakeError:
        words = words_for(request)
        return _render_narrative(
            request, text, words("error_narrative_too_long", max=limit), status_code=422
        )
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, state = loaded
        state.narrative = text if text.strip() else None
        drafts.save_draft(db, draft, state.to_json())
    if form.get("nav", [""])[0] == "back":
        offered = _offered(state)
        if offered:
            return _redirect(instrument_url(offered[-1]))
        return _redirect(section_url(shared.questionnaire.pages[-1].id))
    return _finish(request)


@router.get("/intake/questionnaire/{instrument_id}")
def instrument_page(request: Request, instrument_id: str) -> Response:
    """A validated questionnaire (STarT Back), offered after the sections; it can be skipped."""
    if instrument_id not in OFFERED_INSTRUMENTS:
        return render(request, "not_found.html", status_code=404)
    state = _read_state(request)
    if state is None:
        return _redirect("/?expired=1")
    return _render_instrument(request, instrument_id, state, None)


def _render_instrument(
    request: Request,
    instrument_id: str,
    state: DraftState,
    error: str | None,
    choices: list[int | None] | None = None,
    status_code: int = 200,
) -> Response:
    from backpath.instruments import get_instrument

    instrument = get_instrument(instrument_id)
    shown = DraftState.from_json(state.to_json())
    if choices is not None:
        shown.instrument_choices[instrument_id] = choices
    language = choose_language(request, web(request).kb)
    total = _total_pages(request, language)
    return render(
        request,
        "instrument.html",
        status_code=status_code,
        instrument=instrument,
        items=instrument_items(instrument, shown),
        error=error,
        number=total - 1,
        total=total,
    )


@router.post("/intake/questionnaire/{instrument_id}")
async def instrument_submit(request: Request, instrument_id: str) -> Response:
    """Keep the questionnaire's answers (all items, or none when skipped)."""
    if instrument_id not in OFFERED_INSTRUMENTS:
        return render(request, "not_found.html", status_code=404)
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    from backpath.instruments import get_instrument, score

    shared = web(request)
    instrument = get_instrument(instrument_id)
    nav = form.get("nav", [""])[0]
    choices, scores = read_instrument(instrument, form)
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, state = loaded
        if nav == "skip" or all(value is None for value in scores):
            state.instrument_choices[instrument_id] = []
            state.instruments.pop(instrument_id, None)
        else:
            try:
                score(instrument_id, scores)
            except ScoringError:
                words = words_for(request)
                return _render_instrument(
                    request,
                    instrument_id,
                    state,
                    words("questionnaire_incomplete"),
                    choices,
                    status_code=422,
                )
            state.instrument_choices[instrument_id] = choices
            state.instruments[instrument_id] = scores
        drafts.save_draft(db, draft, state.to_json())
    if nav == "back":
        return _redirect(section_url(shared.questionnaire.pages[-1].id))
    return _redirect(NARRATIVE_URL)


def _finish(request: Request) -> Response:
    """Triage the draft, store it with its audit row, commit, then show the result."""
    shared = web(request)
    language = choose_language(request, shared.kb)
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, state = loaded
        data = {**state.intake_json(), "language": language}
        triaged = triage(data, shared.kb, shared.settings.max_narrative_chars)
        saved = assessments.save_assessment(
            db,
            intake=triaged.intake.to_json(),
            result=triaged.assessment.to_json(),
            channel="web",
            narrative_read=triaged.narrative_read,
            episode_id=state.episode_id,
        )
        audit.record(
            db,
            Actor("patient", _client(request)),
            "create",
            "assessment",
            saved.assessment.id,
            {"urgency": saved.assessment.urgency, "channel": "web"},
        )
        drafts.delete_draft(db, draft)
    request.session.pop(DRAFT_KEY, None)
    return _redirect(f"/r/{saved.patient_token}")


@router.get("/intake/section/{page_id}")
def section_page(request: Request, page_id: str) -> Response:
    """One questionnaire section."""
    shared = web(request)
    page = shared.questionnaire.page(page_id)
    if page is None:
        return render(request, "not_found.html", status_code=404)
    state = _read_state(request)
    if state is None:
        return _redirect("/?expired=1")
    more = request.query_params.get("more") == "1"
    return _render_section(request, page, state, {}, [], more)


def _render_section(
    request: Request,
    page: Page,
    state: DraftState,
    raw: dict[str, str],
    errors: list[Any],
    more: bool,
    status_code: int = 200,
) -> Response:
    shared = web(request)
    questions = visible(page, state)
    return render(
        request,
        "section.html",
        status_code=status_code,
        page=page,
        questions=questions,
        states={q.code: answer_state(q, state, raw) for q in questions},
        errors={e.code: e.message for e in errors},
        error_list=errors,
        page_findings={q.code: q.finding for q in page.questions},
        more=more,
        number=page.number,
        total=_total_pages(request, choose_language(request, shared.kb)),
    )


@router.post("/intake/section/{page_id}")
async def section_submit(request: Request, page_id: str) -> Response:
    """Read one section, keep every valid answer, and move on (or show the emergency)."""
    shared = web(request)
    page = shared.questionnaire.page(page_id)
    if page is None:
        return render(request, "not_found.html", status_code=404)
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    words = words_for(request)
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, state = loaded
        submission = read_page(page, form, state, words)
        state = submission.state
        if submission.errors:
            drafts.save_draft(db, draft, state.to_json())
            return _render_section(
                request, page, state, submission.raw, submission.errors, False, status_code=422
            )
        going_back = form.get("nav", [""])[0] == "back"
        if submission.newly_offered and not going_back:
            target = section_url(page.id) + "?more=1"
            resume = page.id
        elif going_back:
            before = shared.questionnaire.before(page)
            target = section_url(before) if before else "/"
            resume = before or page.id
        else:
            resume = shared.questionnaire.after(page)
            target = section_url(resume)
        if (
            page.section.safety_screen
            and not state.emergency_shown
            and _is_emergency(request, state, words.language)
        ):
            state.emergency_shown = True
            state.resume = resume
            target = "/intake/emergency"
        drafts.save_draft(db, draft, state.to_json())
    return _redirect(target)


# ---------------------------------------------------------------- the result


def _result_or_404(request: Request, token: str, action: str) -> Any:
    shared = web(request)
    with shared.store.session() as db:
        row = assessments.find_by_token(db, token)
        if row is None:
            return None
        audit.record(
            db, Actor("patient", _client(request)), action, "assessment", row.id, {"page": "result"}
        )
        return row


@router.get("/r/{token}")
def result_page(request: Request, token: str) -> Response:
    """The result: urgency banner, why, what to do now, when to get help, next steps."""
    return _render_result(request, token, "result.html", print_view=False)


@router.get("/r/{token}/print")
def result_print(request: Request, token: str) -> Response:
    """The result as a plain printable handout."""
    return _render_result(request, token, "result_print.html", print_view=True)


def _render_result(request: Request, token: str, template: str, print_view: bool) -> Response:
    shared = web(request)
    row = _result_or_404(request, token, "view")
    if row is None:
        return render(request, "result_not_found.html", status_code=404)
    words = words_for(request)
    return render(
        request,
        template,
        words=words,
        row=row,
        token=token,
        result=patient_result(row.result, shared.kb, words.language),
        narrative_unread=bool(row.intake.get("narrative")) and not row.narrative_read,
        private_link=f"{str(request.base_url).rstrip('/')}/r/{token}",
        print_view=print_view,
    )


@router.get("/r/{token}/handout.pdf")
def result_handout_pdf(request: Request, token: str) -> Response:
    """The personalised handout as a PDF (same content as the printable handout)."""
    return _handout(request, token, as_pdf=True)


@router.get("/r/{token}/handout")
def result_handout_html(request: Request, token: str) -> Response:
    """The personalised handout as a printable web page."""
    return _handout(request, token, as_pdf=False)


def _handout(request: Request, token: str, as_pdf: bool) -> Response:
    from backpath.web.handout import handout_response

    row = _result_or_404(request, token, "export")
    if row is None:
        return render(request, "result_not_found.html", status_code=404)
    return handout_response(request, row.intake, words_for(request).language, as_pdf)


@router.post("/r/{token}/follow-up")
async def follow_up(request: Request, token: str) -> Response:
    """Start follow-up questions in the same episode (age and sex carried over)."""
    _, ok = await _form(request)
    if not ok:
        return _expired(request)
    shared = web(request)
    language = choose_language(request, shared.kb)
    with shared.store.session() as db:
        row = assessments.find_by_token(db, token)
        if row is None:
            return render(request, "result_not_found.html", status_code=404)
        previous = row.intake.get("answers", {})
        carried = {code: previous[code] for code in ("age", "sex") if code in previous}
        state = DraftState(language=language, answers=carried, episode_id=row.episode_id)
        draft_token = drafts.new_draft(db, state.to_json())
        audit.record(
            db,
            Actor("patient", _client(request)),
            "follow_up",
            "assessment",
            row.id,
            {"carried": sorted(carried)},
        )
    request.session[DRAFT_KEY] = draft_token
    return _redirect(section_url(shared.questionnaire.first.id))
