"""Patient pages: the intake, the emergency screen, the result.

The intake is the step interview (``/intake/step``): pages of steps planned by
``backpath.triage.interview.next_page`` - the same pages as ``backpath assess`` and
``POST /api/v1/interview`` - up to a safe result; then, on the result page, the optional
"help your care team" steps, the person's own words and STarT Back, which update the same
stored assessment. The full questionnaire, one section per page, stays available
(``/intake/section/...``, started with ``mode=full``) for those who want to give every
answer.

Works without JavaScript: every step is a server-rendered form that posts back and is
redirected (post/redirect/get). The answers live in a server-side draft, so nothing is lost
on a validation error or a back button. The routes only translate; the core decides.

An emergency stops everything at once: the moment a page's answers make the draft an
emergency, the assessment is stored (and audited) - so it is on the clinic's worklist even if
the person then closes the tab - before the emergency screen is shown. Going on and finishing
updates that same stored assessment. With JavaScript, ticking an answer that makes it an
emergency submits the page at once (``data-emergency-if-yes`` marks such answers; the
``/check`` address answers for combinations of answers on the page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from backpath.errors import IntakeError, ScoringError
from backpath.intake import Intake
from backpath.store import assessments, audit, drafts
from backpath.store.audit import Actor
from backpath.store.identity import (
    FIELDS,
    ContactProblem,
    ContactReading,
    age_disagrees,
    identity_of,
    read_contact,
    save_identity,
)
from backpath.store.models import Draft, utcnow
from backpath.triage import Assessment
from backpath.triage.interview import next_page, optional_page, optional_steps
from backpath.vocabulary import Urgency
from backpath.web.i18n import Words, choose_language
from backpath.web.intake import (
    INSTRUMENT_LANGUAGES,
    NARRATIVE_PAGE,
    OFFERED_INSTRUMENTS,
    OPEN_PAGE,
    DraftState,
    Page,
    Question,
    Submission,
    answer_state,
    form_lists,
    instrument_items,
    read_instrument,
    read_page,
    visible,
    yes_answers,
)
from backpath.web.pages import render, web, words_for
from backpath.web.present import PatientResult, patient_result
from backpath.web.security import absolute_url, csrf_ok
from backpath.web.settings import identity_keyring
from backpath.web.steps import Checklist, StepPage, build_page, checklist_state, read_step_page
from backpath.web.triage import narrative_reader_available, triage

router = APIRouter(include_in_schema=False)

DRAFT_KEY = "draft"
NARRATIVE_URL = "/intake/anything-else"
EMERGENCY_URL = "/intake/emergency"
OPEN_URL = "/intake/open"
STEP_URL = "/intake/step"
# ``DraftState.resume`` for the step interview (``section_url`` maps it to ``STEP_URL``).
STEP_PAGE = "step"
# The id of the intake pages' main form: the language selector in the header belongs to it,
# so that changing the language keeps what is on the page (templates/base.html).
PAGE_FORM = "page-form"
# The rule that fires for a person younger than the tool is made for (pathway.yaml): the
# pages then say that the tool is for adults and that a doctor should check them.
ADULTS_ONLY_RULE = "outside_scope_under_16"


def section_url(page_id: str) -> str:
    """The address of a questionnaire page (or of "Anything else?")."""
    if page_id == NARRATIVE_PAGE:
        return NARRATIVE_URL
    if page_id == OPEN_PAGE:
        return OPEN_URL
    if page_id == STEP_PAGE:
        return STEP_URL
    return f"/intake/section/{page_id}"


def instrument_url(instrument_id: str) -> str:
    """The address of an offered questionnaire page."""
    return f"/intake/questionnaire/{instrument_id}"


def _total_pages(request: Request, language: str) -> int:
    """Pages of the intake in this language (questionnaires are offered in English only)."""
    extra = len(OFFERED_INSTRUMENTS) if language in INSTRUMENT_LANGUAGES else 0
    return web(request).questionnaire.total + extra


def _quick(
    request: Request,
    state: DraftState,
    language: str,
    answers: Mapping[str, Any] | None = None,
) -> Assessment:
    """The core's assessment of the draft's answers (``answers`` instead, when given),
    without the narrative and the questionnaires: what the pages decide on between steps."""
    shared = web(request)
    data = {**state.intake_json(), "language": language}
    data.pop("narrative", None)
    data.pop("instruments", None)
    if answers is not None:
        data["answers"] = dict(answers)
    return triage(data, shared.kb, shared.settings.max_narrative_chars).assessment


def _is_emergency(request: Request, state: DraftState, language: str) -> bool:
    return _quick(request, state, language).urgency is Urgency.EMERGENCY


def _emergency_answers(
    request: Request, questions: Sequence[Question], state: DraftState, language: str
) -> dict[str, frozenset[str]]:
    """Per question, the form values that - chosen with the answers so far - would make the
    result an emergency (shown as ``data-emergency-if-yes`` for app.js)."""
    answers = state.intake_json()["answers"]
    marks: dict[str, frozenset[str]] = {}
    for question in questions:
        values = frozenset(
            form_value
            for form_value, value in yes_answers(question, state)
            if _quick(request, state, language, {**answers, question.code: value}).urgency
            is Urgency.EMERGENCY
        )
        if values:
            marks[question.code] = values
    return marks


def _page_alerts(request: Request, state: DraftState, language: str) -> dict[str, Any]:
    """What every intake page shows above its questions: the red emergency banner (the
    instruction and the call button) while the answers make it an emergency, and the
    "this is for adults" notice for a person under 16."""
    assessment = _quick(request, state, language)
    alert: PatientResult | None = None
    if assessment.urgency is Urgency.EMERGENCY:
        alert = patient_result(
            assessment.to_json(), web(request).kb, language, only_urgency=Urgency.EMERGENCY
        )
    under_16 = any(fired.rule.id == ADULTS_ONLY_RULE for fired in assessment.fired)
    return {"alert": alert, "adults_only": under_16, "page_form": PAGE_FORM}


def _take_language(request: Request, form: Mapping[str, list[str]]) -> bool:
    """Switch to the language chosen in the header when it came with a page's form (the
    selector belongs to the page's form); True when it changed."""
    asked = form.get("lang", [""])[0]
    kb = web(request).kb
    if asked in kb.languages and asked != choose_language(request, kb):
        request.session["lang"] = asked
        return True
    return False


def _store_emergency(request: Request, db: Session, state: DraftState, language: str) -> None:
    """Store the draft as it is now (the same call as finishing), or update the assessment
    stored earlier; audited. Sets ``state.stored_id``."""
    shared = web(request)
    data = {**state.intake_json(), "language": language}
    triaged = triage(data, shared.kb, shared.settings.max_narrative_chars)
    intake = triaged.intake.to_json()
    result = triaged.assessment.to_json()
    actor = Actor("patient", _client(request))
    row = assessments.get_assessment(db, state.stored_id) if state.stored_id else None
    if row is None:
        saved = assessments.save_assessment(
            db,
            intake=intake,
            result=result,
            channel="web",
            narrative_read=triaged.narrative_read,
            episode_id=state.episode_id,
        )
        state.stored_id = saved.assessment.id
        detail = {"urgency": saved.assessment.urgency, "channel": "web", "stage": "emergency"}
        audit.record(db, actor, "create", "assessment", saved.assessment.id, detail)
        return
    if row.intake == intake:
        return
    assessments.update_assessment(
        db, row, intake=intake, result=result, narrative_read=triaged.narrative_read
    )
    detail = {"urgency": row.urgency, "channel": "web", "stage": "answers"}
    audit.record(db, actor, "update", "assessment", row.id, detail)


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
    """Start a new draft (throwing away drafts nobody has touched for a long time): the step
    interview, or with ``mode=full`` the whole questionnaire one section per page."""
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    shared = web(request)
    language = choose_language(request, shared.kb)
    full = form.get("mode", [""])[0] == "full"
    state = DraftState(language=language)
    if not full:
        state.page = _plan(request, state, language)
    with shared.store.session() as db:
        drafts.purge_drafts(db, shared.settings.draft_lifetime)
        token = drafts.new_draft(db, state.to_json())
    request.session[DRAFT_KEY] = token
    return _redirect(section_url(shared.questionnaire.first.id) if full else STEP_URL)


@router.get(EMERGENCY_URL)
def emergency(request: Request) -> Response:
    """The unmissable screen shown the moment the answers make it an emergency (already
    stored by then): the rule's own first instruction and one big call button."""
    shared = web(request)
    state = _read_state(request)
    if state is None:
        return _redirect("/?expired=1")
    words = words_for(request)
    assessment = _quick(request, state, words.language)
    if assessment.urgency is not Urgency.EMERGENCY:
        # Answers changed since (or an old bookmark): back to the questions.
        return _redirect(section_url(state.resume or shared.questionnaire.first.id))
    view = patient_result(
        assessment.to_json(), shared.kb, words.language, only_urgency=Urgency.EMERGENCY
    )
    return render(
        request,
        "emergency.html",
        words=words,
        result=view,
        sent=state.stored_id is not None,
        contact_url=CONTACT_EMERGENCY_URL if state.stored_id else None,
        contact_given=contact_given(request, state.stored_id),
        contact_saved=request.query_params.get("contact") == "saved",
    )


@router.post(EMERGENCY_URL)
async def emergency_choice(request: Request) -> Response:
    """Show my result (finish now), or continue the questions."""
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
    return _render_narrative(request, state, state.narrative or "", None)


def _render_narrative(
    request: Request, state: DraftState, narrative: str, error: str | None, status_code: int = 200
) -> Response:
    language = choose_language(request, web(request).kb)
    total = _total_pages(request, language)
    return render(
        request,
        "narrative.html",
        status_code=status_code,
        narrative=narrative,
        error=error,
        nlp_available=narrative_reader_available(),
        number=total,
        total=total,
        **_page_alerts(request, state, language),
    )


@router.post(NARRATIVE_URL)
async def narrative_submit(request: Request) -> Response:
    """Keep the narrative; go back, or finish and store the assessment."""
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    shared = web(request)
    _take_language(request, form)
    nav = form.get("nav", [""])[0]
    text = form.get("narrative", [""])[0].replace("\r\n", "\n")
    limit = shared.settings.max_narrative_chars
    try:
        Intake.from_json({"narrative": text}, max_narrative_chars=limit)
    except IntakeError:
        words = words_for(request)
        state = _read_state(request)
        if state is None:
            return _redirect("/?expired=1")
        return _render_narrative(
            request, state, text, words("error_narrative_too_long", max=limit), status_code=422
        )
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, state = loaded
        state.narrative = text if text.strip() else None
        drafts.save_draft(db, draft, state.to_json())
    if nav == "language":  # the header's "Change" button: the text is kept, same page
        return _redirect(NARRATIVE_URL)
    if nav == "back":
        offered = _offered(state)
        if offered:
            return _redirect(instrument_url(offered[-1]))
        if state.phase == "more":
            return _step_back(request)
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
        **_page_alerts(request, state, language),
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
    nav = _navigation(request, form)
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
    if nav == "stay":
        return _redirect(instrument_url(instrument_id))
    return _redirect(NARRATIVE_URL)


def open_codes(request: Request, result: Mapping[str, Any]) -> list[str]:
    """The questions still open in a stored result: those never asked that could still
    change the urgency (``unasked``), which the questionnaire asks."""
    questionnaire = web(request).questionnaire
    return [
        str(code)
        for code in result.get("unasked", [])
        if questionnaire.question(str(code)) is not None
    ]


def _finish(request: Request) -> Response:
    """Triage the draft, store it with its audit row, commit, then show the result.

    An intake already stored as an emergency is updated (one row on the worklist, not two),
    with a new patient token for the result link.
    """
    shared = web(request)
    language = choose_language(request, shared.kb)
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, state = loaded
        data = {**state.intake_json(), "language": language}
        triaged = triage(data, shared.kb, shared.settings.max_narrative_chars)
        actor = Actor("patient", _client(request))
        stored = assessments.get_assessment(db, state.stored_id) if state.stored_id else None
        if stored is not None:
            saved = assessments.update_assessment(
                db,
                stored,
                intake=triaged.intake.to_json(),
                result=triaged.assessment.to_json(),
                narrative_read=triaged.narrative_read,
                rotate_token=True,
            )
            detail = {"urgency": stored.urgency, "channel": "web", "stage": "finished"}
            audit.record(db, actor, "update", "assessment", stored.id, detail)
        else:
            saved = assessments.save_assessment(
                db,
                intake=triaged.intake.to_json(),
                result=triaged.assessment.to_json(),
                channel="web",
                narrative_read=triaged.narrative_read,
                episode_id=state.episode_id,
            )
            detail = {"urgency": saved.assessment.urgency, "channel": "web"}
            audit.record(db, actor, "create", "assessment", saved.assessment.id, detail)
        drafts.delete_draft(db, draft)
    request.session.pop(DRAFT_KEY, None)
    # Opened from an EHR (SMART launch, #13): write it back there first, then the result.
    from backpath.web.routes_smart import finished_url

    ehr = finished_url(request, saved.assessment.id, saved.patient_token)
    return _redirect(ehr or f"/r/{saved.patient_token}")


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
    language = choose_language(request, web(request).kb)
    context = _question_context(request, page, state, raw, errors, section_url(page.id))
    return render(
        request,
        "section.html",
        status_code=status_code,
        page=page,
        more=more,
        number=page.number,
        total=_total_pages(request, language),
        **context,
    )


def _question_context(
    request: Request,
    page: Page,
    state: DraftState,
    raw: dict[str, str],
    errors: list[Any],
    form_url: str,
) -> dict[str, Any]:
    """What every page of questions shows: the visible questions with their answers and
    errors, the emergency banner, and the answers that would make it an emergency."""
    language = choose_language(request, web(request).kb)
    questions = visible(page, state)
    alerts = _page_alerts(request, state, language)
    # Answers that would make it an emergency are marked for app.js, which then submits the
    # page at once; not while it already is one (the banner is up, nothing to interrupt).
    marks = {} if alerts["alert"] else _emergency_answers(request, questions, state, language)
    return {
        "questions": questions,
        "states": {q.code: answer_state(q, state, raw) for q in questions},
        "errors": {e.code: e.message for e in errors},
        "error_list": errors,
        "page_findings": {q.code: q.finding for q in page.questions},
        "marks": marks,
        "check_url": None if alerts["alert"] else form_url + "/check",
        **alerts,
    }


def _next_target(page: Page, nav: str, submission: Submission, request: Request) -> tuple[str, str]:
    """Where a submitted page goes (address) and the page to come back to after the
    emergency screen."""
    questionnaire = web(request).questionnaire
    if nav == "stay":  # app.js sent the page because an answer may be an emergency
        more = "?more=1" if submission.newly_offered else ""
        return section_url(page.id) + more, page.id
    if nav == "back":
        before = questionnaire.before(page)
        return (section_url(before) if before else "/"), before or page.id
    if submission.newly_offered:
        return section_url(page.id) + "?more=1", page.id
    after = questionnaire.after(page)
    return section_url(after), after


def _navigation(request: Request, form: Mapping[str, list[str]]) -> str:
    """The button pressed on a page of questions, after any language switch it carried.

    The header's "Change" button belongs to the page's form so that the answers are kept;
    it is also the form's first button, which Enter in a text box presses: with the
    language unchanged that means Next.
    """
    switched = _take_language(request, form)
    nav = form.get("nav", [""])[0]
    if nav == "language":
        return "stay" if switched else "next"
    return nav


@router.post("/intake/section/{page_id}")
async def section_submit(request: Request, page_id: str) -> Response:
    """Read one section, keep every valid answer, and move on - or, the moment the answers
    make it an emergency, store the assessment and show the emergency screen."""
    shared = web(request)
    page = shared.questionnaire.page(page_id)
    if page is None:
        return render(request, "not_found.html", status_code=404)
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    nav = _navigation(request, form)
    words = words_for(request)
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, before = loaded
        submission = read_page(page, form, before, words)
        state = submission.state
        interrupt = _store_if_emergency(request, db, before, state, words.language)
        if submission.errors and not interrupt:
            drafts.save_draft(db, draft, state.to_json())
            return _render_section(
                request, page, state, submission.raw, submission.errors, False, status_code=422
            )
        target, resume = _next_target(page, nav, submission, request)
        if interrupt:
            state.emergency_shown = True
            state.resume = page.id if submission.errors else resume
            target = EMERGENCY_URL
        drafts.save_draft(db, draft, state.to_json())
    return _redirect(target)


@router.post("/intake/section/{page_id}/check")
async def section_check(request: Request, page_id: str) -> Response:
    """For app.js: would the page's answers as they are on screen (not saved) make it an
    emergency now? ``{"emergency": true}`` means: submit the page. Nothing is stored here."""
    shared = web(request)
    page = shared.questionnaire.page(page_id)
    if page is None:
        return JSONResponse({"emergency": False}, status_code=404)
    form, ok = await _form(request)
    state = _read_state(request) if ok else None
    if state is None:
        return JSONResponse({"emergency": False}, status_code=403 if not ok else 404)
    return _check_answer(request, page, form, state)


def _check_answer(
    request: Request, page: Page, form: Mapping[str, list[str]], state: DraftState
) -> Response:
    """``{"emergency": true}`` when the answers on screen (not saved) would newly make the
    draft an emergency; app.js then submits the page."""
    words = words_for(request)
    return _newly_emergency(request, state, read_page(page, form, state, words).state)


def _newly_emergency(request: Request, before: DraftState, now: DraftState) -> Response:
    """``{"emergency": true}`` when ``now`` (answers on screen, not saved) is an emergency
    and ``before`` (the saved draft) was not."""
    language = words_for(request).language
    interrupt = _is_emergency(request, now, language) and not _is_emergency(
        request, before, language
    )
    return JSONResponse({"emergency": interrupt}, headers={"cache-control": "no-store"})


def _store_if_emergency(
    request: Request, db: Session, before: DraftState, state: DraftState, language: str
) -> bool:
    """When the answers just read (``state``) make it an emergency, store the assessment (or
    update the one stored) before anything is shown. True when it newly became one: the
    emergency screen must interrupt."""
    if not _is_emergency(request, state, language):
        return False
    _store_emergency(request, db, state, language)
    return not _is_emergency(request, before, language)


# ---------------------------------------------------------------- the step interview


def _plan(request: Request, state: DraftState, language: str) -> list[str]:
    """The step ids of the draft's next page: ``next_page`` on its answers; in the "more"
    phase (after the result, or going on after an emergency), the optional steps once
    nothing else can change the result. Empty when there is nothing left to ask."""
    shared = web(request)
    data = {**state.intake_json(), "language": language}
    data.pop("narrative", None)
    data.pop("instruments", None)
    triaged = triage(data, shared.kb, shared.settings.max_narrative_chars)
    assessment = triaged.assessment
    page = next_page(shared.kb, triaged.intake, state.asked_steps, assessment)
    if not page and assessment.urgency is Urgency.EMERGENCY and state.phase == "main":
        state.phase = "more"  # going on after an emergency: what helps the care team
    if not page and state.phase == "more":
        page = optional_page(shared.kb, triaged.intake, state.asked_steps, assessment)
    return [step.id for step in page]


def _step_page(request: Request, state: DraftState) -> StepPage:
    shared = web(request)
    language = choose_language(request, shared.kb)
    known = [step_id for step_id in state.page if step_id in shared.kb.steps_by_id]
    return build_page(shared.kb, shared.questionnaire, known, language)


def _step_marks(
    request: Request, page: StepPage, state: DraftState, language: str
) -> dict[str, frozenset[str]]:
    """Per question of the page, the form values that - chosen with the answers so far -
    would make the result an emergency (``data-emergency-if-yes`` for app.js)."""
    answers = state.intake_json()["answers"]
    simple = _emergency_answers(
        request, [q for q in page.questions if isinstance(q, Question)], state, language
    )
    for question in page.questions:
        if not isinstance(question, Checklist):
            continue
        values = frozenset(
            item.code
            for item in question.items
            if _quick(request, state, language, {**answers, item.code: True}).urgency
            is Urgency.EMERGENCY
        )
        if values:
            simple[question.code] = values
    return simple


def _render_step(
    request: Request,
    state: DraftState,
    raw: dict[str, str],
    errors: list[Any],
    more: bool,
    status_code: int = 200,
) -> Response:
    language = choose_language(request, web(request).kb)
    page = _step_page(request, state)
    words = words_for(request)
    alerts = _page_alerts(request, state, language)
    marks = {} if alerts["alert"] else _step_marks(request, page, state, language)
    states = {
        q.code: checklist_state(q, state)
        if isinstance(q, Checklist)
        else answer_state(q, state, raw)
        for q in page.questions
    }
    titles = {
        q.code: q.text if isinstance(q, Checklist) else words.question(q.finding)
        for q in page.questions
    }
    return render(
        request,
        "step.html",
        status_code=status_code,
        page=page,
        questions=page.questions,
        states=states,
        titles=titles,
        errors={e.code: e.message for e in errors},
        error_list=errors,
        marks=marks,
        more=more,
        follow_ups=[
            words.question(q.finding) if isinstance(q, Question) else q.text
            for q, step in zip(page.questions, page.steps, strict=True)
            if step.ask_if is not None
        ],
        number=len(state.history) + 1,
        can_go_back=bool(state.history),
        form_url=STEP_URL,
        check_url=None if alerts["alert"] else STEP_URL + "/check",
        **alerts,
    )


@router.get(STEP_URL)
def step_page(request: Request) -> Response:
    """The page of steps on screen (planned when the draft has none; a page with no
    questions offers "Next" to the result)."""
    shared = web(request)
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, state = loaded
        if not state.page:
            state.page = _plan(request, state, choose_language(request, shared.kb))
            if not state.page and state.phase == "more":
                drafts.save_draft(db, draft, state.to_json())
                return _redirect(NARRATIVE_URL)
            drafts.save_draft(db, draft, state.to_json())
    more = request.query_params.get("more") == "1"
    return _render_step(request, state, {}, [], more)


@router.post(STEP_URL)
async def step_submit(request: Request) -> Response:
    """Read a page of steps, keep every valid answer, and plan the next page - or, the
    moment the answers make it an emergency, store the assessment and show the emergency
    screen. When nothing left can change the result, the result is stored and shown (in
    the "more" phase: the person's own words come next)."""
    shared = web(request)
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    nav = _navigation(request, form)
    words = words_for(request)
    finish = False
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, before = loaded
        if nav == "back":
            before.back_a_page()
            drafts.save_draft(db, draft, before.to_json())
            return _redirect(STEP_URL)
        page = _step_page(request, before)
        submission = read_step_page(page, form, before, words)
        state = submission.state
        interrupt = _store_if_emergency(request, db, before, state, words.language)
        if submission.errors and not interrupt:
            drafts.save_draft(db, draft, state.to_json())
            return _render_step(
                request, state, submission.raw, submission.errors, False, status_code=422
            )
        target = STEP_URL
        if submission.newly_offered and not interrupt:
            target = STEP_URL + "?more=1"  # asked again in plainer words, same page
        elif nav != "stay" and not submission.errors:
            state.asked_steps = list(dict.fromkeys([*state.asked_steps, *page.step_ids]))
            if page.step_ids:
                state.history.append(page.step_ids)
            state.page = _plan(request, state, words.language)
            if not state.page:
                if state.phase == "more":
                    target = NARRATIVE_URL
                elif not interrupt:
                    finish = True
        if interrupt:
            state.emergency_shown = True
            state.resume = STEP_PAGE
            target = EMERGENCY_URL
        drafts.save_draft(db, draft, state.to_json())
    if finish:
        return _finish(request)
    return _redirect(target)


@router.post(STEP_URL + "/check")
async def step_check(request: Request) -> Response:
    """For app.js: would the answers on screen (not saved) newly make it an emergency?"""
    form, ok = await _form(request)
    state = _read_state(request) if ok else None
    if state is None:
        return JSONResponse({"emergency": False}, status_code=403 if not ok else 404)
    now = read_step_page(_step_page(request, state), form, state, words_for(request)).state
    return _newly_emergency(request, state, now)


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
        adults_only=any(
            fired.get("id") == ADULTS_ONLY_RULE for fired in row.result.get("fired_rules", [])
        ),
        open_questions=[shared.kb.findings[code] for code in open_codes(request, row.result)],
        more_minutes=_more_minutes(request, row),
        narrative_unread=bool(row.intake.get("narrative")) and not row.narrative_read,
        private_link=absolute_url(shared.settings.public_url, f"/r/{token}"),
        print_view=print_view,
        contact_prompted=row.urgency in PROMPTED_URGENCIES,
        contact_given=contact_given(request, row.id),
        contact_saved=request.query_params.get("contact") == "saved",
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
        state.page = _plan(request, state, language)
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
    return _redirect(STEP_URL)


# ---------------------------------------------------------------- the questions still open


def _draft_from_row(row: Any, language: str) -> DraftState:
    """A draft holding everything a stored assessment was given: finishing it updates that
    same assessment (``stored_id``)."""
    intake = row.intake
    return DraftState(
        language=language,
        answers={k: v for k, v in intake.get("answers", {}).items() if v is not None},
        unsure=[k for k, v in intake.get("answers", {}).items() if v is None],
        narrative=intake.get("narrative"),
        episode_id=row.episode_id,
        stored_id=row.id,
        emergency_shown=row.urgency == Urgency.EMERGENCY.value,
        instruments=dict(intake.get("instruments", {})),
        instrument_choices={i: [] for i in OFFERED_INSTRUMENTS},
    )


def _more_minutes(request: Request, row: Any) -> int:
    """About how long the optional "help your care team" steps take (ten seconds a
    question, at least a minute for the person's own words); 0 when there is nothing to
    offer (an emergency: the person must go, not fill in forms)."""
    if row.urgency == Urgency.EMERGENCY.value:
        return 0
    shared = web(request)
    data = {k: v for k, v in row.intake.items() if k in ("answers", "language")}
    intake = Intake.from_json(data)
    questions = sum(len(step.codes) for step in optional_steps(shared.kb, intake))
    return max(1, round(questions / 6) + 1)


@router.post("/r/{token}/more")
async def more_questions(request: Request, token: str) -> Response:
    """The optional "help your care team" steps after a result: a draft with everything
    already answered, in the "more" phase; finishing updates the same assessment."""
    _, ok = await _form(request)
    if not ok:
        return _expired(request)
    shared = web(request)
    language = choose_language(request, shared.kb)
    with shared.store.session() as db:
        row = assessments.find_by_token(db, token)
        if row is None:
            return render(request, "result_not_found.html", status_code=404)
        state = _draft_from_row(row, language)
        state.phase = "more"
        state.page = _plan(request, state, language)
        draft_token = drafts.new_draft(db, state.to_json())
        audit.record(
            db, Actor("patient", _client(request)), "more_questions", "assessment", row.id, {}
        )
    request.session[DRAFT_KEY] = draft_token
    return _redirect(STEP_URL if state.page else NARRATIVE_URL)


def _step_back(request: Request) -> Response:
    """Back from the person's own words to the last page of steps (restored for change)."""
    with web(request).store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, state = loaded
        if state.back_a_page():
            drafts.save_draft(db, draft, state.to_json())
            return _redirect(STEP_URL)
    return _redirect(NARRATIVE_URL)


@router.post("/r/{token}/open-questions")
async def open_questions(request: Request, token: str) -> Response:
    """Answer the questions still open in a result: a draft with everything already answered,
    on a page that asks exactly those questions. Finishing updates the same assessment."""
    _, ok = await _form(request)
    if not ok:
        return _expired(request)
    shared = web(request)
    language = choose_language(request, shared.kb)
    with shared.store.session() as db:
        row = assessments.find_by_token(db, token)
        if row is None:
            return render(request, "result_not_found.html", status_code=404)
        codes = open_codes(request, row.result)
        if not codes:
            return _redirect(f"/r/{token}")
        state = _draft_from_row(row, language)
        state.only = codes
        draft_token = drafts.new_draft(db, state.to_json())
        audit.record(
            db,
            Actor("patient", _client(request)),
            "open_questions",
            "assessment",
            row.id,
            {"questions": codes},
        )
    request.session[DRAFT_KEY] = draft_token
    return _redirect(OPEN_URL)


@router.get(OPEN_URL)
def open_page(request: Request) -> Response:
    """The questions still open, and only those."""
    state = _read_state(request)
    if state is None:
        return _redirect("/?expired=1")
    if not state.only:
        return _redirect(section_url(web(request).questionnaire.first.id))
    more = request.query_params.get("more") == "1"
    return _render_open(request, state, {}, [], more)


def _render_open(
    request: Request,
    state: DraftState,
    raw: dict[str, str],
    errors: list[Any],
    more: bool,
    status_code: int = 200,
) -> Response:
    page = web(request).questionnaire.open_page(state.only)
    context = _question_context(request, page, state, raw, errors, OPEN_URL)
    return render(
        request,
        "open_questions.html",
        status_code=status_code,
        more=more,
        form_url=OPEN_URL,
        **context,
    )


@router.post(OPEN_URL)
async def open_submit(request: Request) -> Response:
    """Read the open questions; a follow-up they make relevant is added to the same page;
    then the assessment is finished (the stored one updated). An emergency stops at once."""
    shared = web(request)
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    nav = _navigation(request, form)
    words = words_for(request)
    with shared.store.session() as db:
        loaded = _load(request, db)
        if loaded is None:
            return _redirect("/?expired=1")
        draft, before = loaded
        if not before.only:
            return _redirect(section_url(shared.questionnaire.first.id))
        page = shared.questionnaire.open_page(before.only)
        submission = read_page(page, form, before, words)
        state = submission.state
        assessment = _quick(request, state, words.language)
        interrupt = _store_if_emergency(request, db, before, state, words.language)
        if submission.errors and not interrupt:
            drafts.save_draft(db, draft, state.to_json())
            return _render_open(
                request, state, submission.raw, submission.errors, False, status_code=422
            )
        # Follow-up questions the answers make relevant join the page ("a question added").
        added = [
            code
            for code in assessment.unasked
            if code not in state.only and shared.questionnaire.question(code) is not None
        ]
        state.only = [*state.only, *added]
        more = bool(added or submission.newly_offered)
        target = OPEN_URL + ("?more=1" if more else "")
        if interrupt:
            state.emergency_shown = True
            state.resume = OPEN_PAGE
            target = EMERGENCY_URL
        drafts.save_draft(db, draft, state.to_json())
    if interrupt or more or nav == "stay":
        return _redirect(target)
    return _finish(request)


@router.post(OPEN_URL + "/check")
async def open_check(request: Request) -> Response:
    """For app.js, as ``/intake/section/{page}/check``: would the open questions' answers on
    screen make it an emergency now? Nothing is stored here."""
    shared = web(request)
    form, ok = await _form(request)
    state = _read_state(request) if ok else None
    if state is None or not state.only:
        return JSONResponse({"emergency": False}, status_code=403 if not ok else 404)
    return _check_answer(request, shared.questionnaire.open_page(state.only), form, state)


# ---------------------------------------------------------------- contact details (issue #12)
#
# Name, date of birth, phone, and optionally a record number and e-mail, "so your care team
# can call you": asked on a page of its own after the result (``/r/<token>/contact``) and
# from the emergency screen (``/intake/emergency/contact``, for the assessment already
# stored as ``stored_id``). Optional, but prompted on every urgent or emergency result. The
# details are stored encrypted (``store.identity``) and never shown on a patient page again:
# these pages only ever show what was typed into the form now.

CONTACT_EMERGENCY_URL = EMERGENCY_URL + "/contact"
PROMPTED_URGENCIES = frozenset({Urgency.EMERGENCY.value, Urgency.URGENT.value})


def contact_given(request: Request, assessment_id: str | None) -> bool:
    """Whether the patient has left contact details for this assessment (nothing decrypted)."""
    if not assessment_id:
        return False
    with web(request).store.session() as db:
        return identity_of(db, assessment_id) is not None


def _contact_labels(words: Words) -> dict[str, str]:
    return {
        "given_name": words("contact_given_name"),
        "family_name": words("contact_family_name"),
        "date_of_birth": words("contact_date_of_birth"),
        "phone": words("contact_phone"),
        "record_number": words("contact_record_number"),
        "email": words("contact_email"),
    }


def _bounds(values: Mapping[str, int]) -> dict[str, int]:
    return {"min": values.get("min", 0), "max": values.get("max", 0)}


def _contact_message(words: Words, problem: ContactProblem) -> str:
    """A contact form problem in the patient's words."""
    values = dict(problem.values)
    messages = {
        "required": words("contact_error_required"),
        "too_long": words("contact_error_too_long", max=values.get("max", 0)),
        "nul": words("contact_error_bad_character"),
        "control": words("contact_error_bad_character"),
        "no_letter": words("contact_error_no_letter"),
        "phone_chars": words("contact_error_phone_chars"),
        "phone_plus": words("contact_error_phone_plus"),
        "phone_digits": words("contact_error_phone_digits", **_bounds(values)),
        "not_a_date": words("contact_error_not_a_date"),
        "future": words("contact_error_future"),
        "too_old": words("contact_error_too_old", max=values.get("max", 0)),
        "record_chars": words("contact_error_record_chars"),
        "email": words("contact_error_email"),
        "repeated": words("contact_error_repeated"),
    }
    return messages[problem.code]


@dataclass(frozen=True)
class _ContactTarget:
    """Whose contact details a page asks for, and where the person goes back to."""

    assessment_id: str
    urgency: str
    intake_age: Any
    received: date
    form_url: str
    back_url: str
    emergency_view: PatientResult | None


def _render_contact(
    request: Request,
    target: _ContactTarget,
    reading: ContactReading | None = None,
    age_warning: str | None = None,
    confirm_dob: str | None = None,
    status_code: int = 200,
) -> Response:
    words = words_for(request)
    problems = reading.problems if reading else ()
    error_list = [(p.field, _contact_message(words, p)) for p in problems]
    back_label = words("contact_back_result")
    if target.emergency_view is not None:
        back_label = words("contact_back_emergency")
    return render(
        request,
        "contact.html",
        status_code=status_code,
        words=words,
        alert=target.emergency_view,
        form_url=target.form_url,
        back_url=target.back_url,
        back_label=back_label,
        labels=_contact_labels(words),
        entered=reading.entered if reading else {},
        errors=dict(reversed(error_list)),
        error_list=error_list,
        age_warning=age_warning,
        confirm_dob=confirm_dob,
        has_contact=contact_given(request, target.assessment_id),
    )


async def _contact_submit(request: Request, target: _ContactTarget, done_url: str) -> Response:
    """Check the form; on a problem show it again (422, everything typed kept); when the
    date of birth disagrees with the age answered, ask once to check it; else store it
    encrypted with its audit row and go back."""
    form, ok = await _form(request)
    if not ok:
        return _expired(request)
    reading = read_contact(form, utcnow().date())
    if reading.contact is None:
        return _render_contact(request, target, reading, status_code=422)
    contact = reading.contact
    born = contact.date_of_birth.isoformat()
    computed = age_disagrees(contact, target.intake_age, target.received)
    if computed is not None and form.get("confirm_dob", [""])[0] != born:
        words = words_for(request)
        warning = words("contact_age_warning", computed=computed, answered=target.intake_age)
        return _render_contact(request, target, reading, warning, born, status_code=422)
    shared = web(request)
    keyring = identity_keyring(shared.settings)
    with shared.store.session() as db:
        _, created = save_identity(db, target.assessment_id, contact, keyring)
        given = [name for name in FIELDS if contact.to_json().get(name)]
        audit.record(
            db,
            Actor("patient", _client(request)),
            "create" if created else "update",
            "patient_identity",
            target.assessment_id,
            {"fields": given, "age_checked": computed is not None},
        )
    return _redirect(done_url)


def _result_contact_target(request: Request, token: str) -> _ContactTarget | None:
    shared = web(request)
    with shared.store.session() as db:
        row = assessments.find_by_token(db, token)
        if row is None:
            return None
        emergency_view = None
        if row.urgency == Urgency.EMERGENCY.value:
            emergency_view = patient_result(
                row.result, shared.kb, words_for(request).language, only_urgency=Urgency.EMERGENCY
            )
        return _ContactTarget(
            assessment_id=row.id,
            urgency=row.urgency,
            intake_age=row.intake.get("answers", {}).get("age"),
            received=row.created_at.date(),
            form_url=f"/r/{token}/contact",
            back_url=f"/r/{token}",
            emergency_view=emergency_view,
        )


@router.get("/r/{token}/contact")
def contact_page(request: Request, token: str) -> Response:
    """The contact form for a result (what is stored is never shown back)."""
    target = _result_contact_target(request, token)
    if target is None:
        return render(request, "result_not_found.html", status_code=404)
    return _render_contact(request, target)


@router.post("/r/{token}/contact")
async def contact_submit(request: Request, token: str) -> Response:
    """Store the contact details against the result's assessment, then back to the result."""
    target = _result_contact_target(request, token)
    if target is None:
        return render(request, "result_not_found.html", status_code=404)
    return await _contact_submit(request, target, f"/r/{token}?contact=saved#contact")


def _emergency_contact_target(request: Request) -> _ContactTarget | Response:
    """The assessment stored when the answers made it an emergency (the draft's
    ``stored_id``), or where to go instead."""
    shared = web(request)
    state = _read_state(request)
    if state is None:
        return _redirect("/?expired=1")
    words = words_for(request)
    assessment = _quick(request, state, words.language)
    if assessment.urgency is not Urgency.EMERGENCY or not state.stored_id:
        return _redirect(EMERGENCY_URL)
    with shared.store.session() as db:
        row = assessments.get_assessment(db, state.stored_id)
        if row is None:
            return _redirect(EMERGENCY_URL)
        received = row.created_at.date()
    return _ContactTarget(
        assessment_id=state.stored_id,
        urgency=Urgency.EMERGENCY.value,
        intake_age=state.answers.get("age"),
        received=received,
        form_url=CONTACT_EMERGENCY_URL,
        back_url=EMERGENCY_URL,
        emergency_view=patient_result(
            assessment.to_json(), shared.kb, words.language, only_urgency=Urgency.EMERGENCY
        ),
    )


@router.get(CONTACT_EMERGENCY_URL)
def emergency_contact_page(request: Request) -> Response:
    """The contact form from the emergency screen: the call button stays on top."""
    target = _emergency_contact_target(request)
    if isinstance(target, Response):
        return target
    return _render_contact(request, target)


@router.post(CONTACT_EMERGENCY_URL)
async def emergency_contact_submit(request: Request) -> Response:
    """Store the contact details against the emergency already stored, then back to the
    emergency screen."""
    target = _emergency_contact_target(request)
    if isinstance(target, Response):
        return target
    return await _contact_submit(request, target, EMERGENCY_URL + "?contact=saved")
