"""Render a composed handout to HTML (the web app's printable view) and to PDF.

One Jinja2 template and one print stylesheet make both: the PDF is WeasyPrint's rendering of
exactly the HTML the browser shows. The HTML is self-contained (styles inline, no images, no
scripts) and accessible: ``<html lang>``, a ``<title>``, one ``h1``, ``h2`` per section,
``h3`` per block, a table with header cells for the diary. The PDF is tagged (PDF/UA-1) so
screen readers get the same structure.

Fonts come from Debian (``fonts-dejavu-core``, ``fonts-liberation2``); the page margin boxes
name the font family themselves because they do not inherit it from the body.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from backpath.education.clinic import Clinic, Paper, preset_clinic
from backpath.education.compose import Handout, compose_handout
from backpath.triage import Assessment

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: Font stack for body text and the page margin boxes (Debian packages, installed by .ci/run).
FONT_STACK = '"Liberation Sans", "DejaVu Sans", sans-serif'

#: CSS ``@page`` sizes.
PAGE_SIZES = {Paper.A4: "A4", Paper.LETTER: "letter"}


def css_string(text: str) -> str:
    """``text`` as a CSS string literal (for ``content:`` in the page margin boxes)."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\A ")
        .replace("<", "\\3C ")  # never "</style>" inside the inline stylesheet
    )
    return f'"{escaped}"'


def page_counter(template: str) -> str:
    """CSS ``content`` for a "Page {page} of {pages}" sentence in any language."""
    out: list[str] = []
    rest = template
    while rest:
        positions = [(rest.find(p), p) for p in ("{page}", "{pages}") if p in rest]
        if not positions:
            out.append(css_string(rest))
            break
        index, placeholder = min(positions)
        if index:
            out.append(css_string(rest[:index]))
        out.append("counter(page)" if placeholder == "{page}" else "counter(pages)")
        rest = rest[index + len(placeholder) :]
    return " ".join(out)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _paper(paper: Paper | str | None, clinic: Clinic) -> Paper:
    if paper is None:
        return clinic.paper_size
    try:
        return Paper(str(paper).lower())
    except ValueError:
        valid = ", ".join(p.value for p in Paper)
        raise ValueError(f"unknown paper size {paper!r}; expected one of {valid}") from None


def render_html(
    handout: Handout, clinic: Clinic | None = None, paper: Paper | str | None = None
) -> str:
    """The handout as one self-contained HTML document (screen and print styles)."""
    clinic = clinic or preset_clinic()
    size = _paper(paper, clinic)
    env = _environment()
    context: dict[str, Any] = {
        "h": handout,
        "words": handout.words,
        "clinic": clinic,
        "paper": size.value,
    }
    css = env.get_template("handout.css").render(
        page_size=PAGE_SIZES[size],
        font_stack=FONT_STACK,
        footer_left=css_string(handout.title),
        footer_right=page_counter(handout.words["page_of"]),
    )
    return env.get_template("handout.html").render(css=css, **context)


def render_pdf(
    handout: Handout, clinic: Clinic | None = None, paper: Paper | str | None = None
) -> bytes:
    """The handout as a tagged PDF (PDF/UA-1), rendered by WeasyPrint from the same HTML."""
    import weasyprint

    html = render_html(handout, clinic, paper)
    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES))
    pdf: bytes = document.write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
    return pdf


def render_handout_html(
    assessment: Assessment,
    language: str | None = None,
    clinic: Clinic | None = None,
    paper: Paper | str | None = None,
) -> str:
    """Compose the handout for ``assessment`` and render it as HTML.

    ``language`` defaults to the Assessment's; ``clinic`` to the US preset with write-in
    lines; ``paper`` (``a4`` or ``letter``) to the clinic's usual size.
    """
    return render_html(compose_handout(assessment, language), clinic, paper)


def render_handout_pdf(
    assessment: Assessment,
    language: str | None = None,
    clinic: Clinic | None = None,
    paper: Paper | str | None = None,
) -> bytes:
    """Compose the handout for ``assessment`` and render it as PDF (same HTML as above)."""
    return render_pdf(compose_handout(assessment, language), clinic, paper)
