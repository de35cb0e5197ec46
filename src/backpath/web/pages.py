"""Rendering HTML pages: templates, the words of the page's language, CSRF, no caching."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from backpath.kb import KnowledgeBase
from backpath.store import Store
from backpath.web.i18n import Words, choose_language
from backpath.web.intake import Questionnaire
from backpath.web.security import CSRF_FIELD, csrf_token
from backpath.web.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def make_environment() -> Environment:
    """The Jinja2 environment: HTML autoescaping on, undefined names are errors."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class Web:
    """What every route needs, kept on ``app.state.web``."""

    settings: Settings
    store: Store
    kb: KnowledgeBase
    questionnaire: Questionnaire
    templates: Environment


def web(request: Request) -> Web:
    """The application's shared objects."""
    shared: Web = request.app.state.web
    return shared


def words_for(request: Request) -> Words:
    """The words of this request's language."""
    kb = web(request).kb
    return Words(kb, choose_language(request, kb))


def language_links(request: Request, kb: KnowledgeBase) -> list[dict[str, str]]:
    """One link per supported language to this same page in that language."""
    links = []
    for code in kb.languages:
        query = {k: v for k, v in request.query_params.items() if k != "lang"}
        query["lang"] = code
        links.append({"code": code, "href": f"{request.url.path}?{urlencode(query)}"})
    return links


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the page's words and a CSRF token; never cached."""
    shared = web(request)
    words = context.pop("words", None) or words_for(request)
    html = shared.templates.get_template(template).render(
        request=request,
        t=words,
        words=words,
        lang=words.language,
        languages=language_links(request, shared.kb),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        max_narrative_chars=shared.settings.max_narrative_chars,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers["cache-control"] = "no-store"
    return response
