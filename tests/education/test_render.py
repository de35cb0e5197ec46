"""Rendering: one HTML for screen and print, the PDF made from it, A4 and US Letter, accessible."""

from __future__ import annotations

import re
import zlib
from functools import cache
from html.parser import HTMLParser

import pytest

from backpath.education import (
    clinic_from_data,
    compose_handout,
    preset_clinic,
    render_handout_html,
    render_handout_pdf,
    render_html,
    render_pdf,
)
from backpath.education.render import css_string, page_counter
from backpath.kb import KnowledgeBase, load_knowledge
from tests.education.conftest import BY_URGENCY, assess_persona, run

# These tests render PDFs: WeasyPrint needs Pango (skip without it; CI requires it).
pytestmark = pytest.mark.usefixtures("pdf_engine")

UK_CLINIC = clinic_from_data(
    {
        "preset": "uk",
        "name": "Riverside Spine Clinic",
        "phone": "01632 960 123",
        "address": "12 River Road\nSpringfield SP1 2AB",
        "hours": "Monday to Friday, 8am to 6pm",
    }
)


@cache
def pdf_for(urgency: str, language: str, paper: str) -> bytes:
    """The PDF of the persona for ``urgency`` (rendered once per test session)."""
    assessment = assess_persona(BY_URGENCY[urgency], load_knowledge())
    return render_handout_pdf(assessment, language, preset_clinic("us"), paper)


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF in reading order, whitespace collapsed."""
    return " ".join(run("pdftotext", "-layout", "-", "-", stdin=pdf).split())


def pdf_objects(pdf: bytes) -> bytes:
    """Every stream of a PDF, inflated where it is compressed (object streams hold the catalog)."""
    chunks = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(chunks)


def pdf_info(pdf: bytes) -> dict[str, str]:
    """pdfinfo's fields for a PDF."""
    out = run("pdfinfo", "-", stdin=pdf)
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


class _Outline(HTMLParser):
    """Collects the html lang, the title and the headings of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.title = ""
        self.headings: list[tuple[str, str]] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag in ("title", "h1", "h2", "h3"):
            self._open = tag
            if tag != "title":
                self.headings.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open == "title":
            self.title += data
        elif self._open and self.headings:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)


def outline(html: str) -> _Outline:
    """Parse ``html`` for its language, title and headings."""
    parser = _Outline()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("urgency", list(BY_URGENCY))
def test_html_is_accessible(kb: KnowledgeBase, urgency: str, language: str) -> None:
    """The HTML has the language tag, a title, one h1 and one h2 per section in order."""
    assessment = assess_persona(BY_URGENCY[urgency], kb)
    handout = compose_handout(assessment, language)
    html = render_handout_html(assessment, language)
    parsed = outline(html)
    assert parsed.lang == language
    assert parsed.title == handout.title
    assert [t for level, t in parsed.headings if level == "h1"] == [handout.title]
    assert [t for level, t in parsed.headings if level == "h2"] == [
        s.heading for s in handout.sections
    ]
    assert f'data-urgency="{urgency}"' in html


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("urgency", list(BY_URGENCY))
def test_pdf_has_every_section_heading_in_order(
    kb: KnowledgeBase, urgency: str, language: str
) -> None:
    """pdftotext finds each section heading of the handout, in order, in the chosen language."""
    pdf = pdf_for(urgency, language, "a4")
    text = pdf_text(pdf)
    handout = compose_handout(assess_persona(BY_URGENCY[urgency], kb), language)
    position = 0
    for section in handout.sections:
        found = text.find(section.heading, position)
        assert found >= 0, f"{section.heading!r} missing or out of order"
        position = found + len(section.heading)


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize("language", ["en", "es"])
def test_emergency_pdf_says_get_help_now_first(kb: KnowledgeBase, language: str) -> None:
    """In an emergency PDF, "get help now" is the first heading after the title."""
    text = pdf_text(pdf_for("emergency", language, "a4"))
    intro = kb.ui("handout.made_for_you", language)
    first_heading = kb.ui("handout.get_help_now", language)
    assert text.index(first_heading) == text.index(intro) + len(intro) + 1
    assert text.index(first_heading) < text.index(kb.ui("handout.when_to_get_help", language))


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize("language", ["en", "es"])
def test_self_care_pdf_opens_with_home_care(kb: KnowledgeBase, language: str) -> None:
    """A self-care PDF shows "what to do at home" and "when to see a doctor" before anything else."""
    text = pdf_text(pdf_for("self_care", language, "a4"))
    at_home = text.index(kb.ui("handout.at_home", language))
    see_doctor = text.index(kb.ui("handout.when_to_see_a_doctor", language))
    get_help = text.index(kb.ui("handout.when_to_get_help", language))
    why = text.index(kb.ui("handout.why", language))
    assert at_home < see_doctor < get_help < why


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize(
    ("paper", "size"), [("a4", "595.276 x 841.89 pts (A4)"), ("letter", "612 x 792 pts (letter)")]
)
def test_pdf_page_size(paper: str, size: str) -> None:
    """The PDF is A4 or US Letter as asked."""
    assert pdf_info(pdf_for("routine", "en", paper))["Page size"] == size


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize(
    ("urgency", "pages"),
    [("emergency", (1, 3)), ("urgent", (3, 6)), ("routine", (3, 7)), ("self_care", (3, 6))],
)
def test_pdf_page_count(urgency: str, pages: tuple[int, int]) -> None:
    """A handout is a few pages: short for an emergency, with a diary page otherwise."""
    count = int(pdf_info(pdf_for(urgency, "en", "a4"))["Pages"])
    assert pages[0] <= count <= pages[1]


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize("language", ["en", "es"])
def test_pdf_is_tagged_with_title_and_language(language: str) -> None:
    """The PDF is tagged (PDF/UA), carries the document title, and says its language."""
    pdf = pdf_for("urgent", language, "a4")
    info = pdf_info(pdf)
    assert info["Tagged"] == "yes"
    assert info["Title"] == load_knowledge().ui("handout.document_title", language)
    assert re.search(rb"/Lang\s*\(" + language.encode() + rb"\)", pdf_objects(pdf))


@pytest.mark.usefixtures("poppler")
@pytest.mark.parametrize("language", ["en", "es"])
def test_pdf_and_html_say_the_same(kb: KnowledgeBase, language: str) -> None:
    """Every block title and every glossary word of the composed handout is in both the HTML and the PDF."""
    assessment = assess_persona(BY_URGENCY["routine"], kb)
    handout = compose_handout(assessment, language)
    html = render_html(handout)
    text = pdf_text(render_pdf(handout))
    words = [b.title for s in handout.sections for b in s.blocks if b.title]
    words += [e.term for s in handout.sections for e in s.glossary]
    for word in words:
        assert word in text, word
        assert word.replace("'", "&#39;") in html, word


@pytest.mark.usefixtures("poppler")
def test_pdf_uses_debian_fonts_everywhere() -> None:
    """Body and page-number boxes use Liberation Sans or DejaVu Sans, never a serif fallback."""
    fonts = run("pdffonts", "-", stdin=pdf_for("emergency", "en", "a4"))
    names = [line.split()[0] for line in fonts.splitlines()[2:] if line.strip()]
    assert names
    assert all(("Liberation-Sans" in n) or ("DejaVuSans" in n) for n in names), names


@pytest.mark.usefixtures("poppler")
def test_uk_clinic_block_and_emergency_number(kb: KnowledgeBase) -> None:
    """A UK clinic prints its name, phone, address, 999 as the emergency number and NHS 111 for advice."""
    assessment = assess_persona(BY_URGENCY["emergency"], kb)
    text = pdf_text(render_handout_pdf(assessment, "en", UK_CLINIC))
    assert "Riverside Spine Clinic" in text
    assert "01632 960 123" in text
    assert "Springfield SP1 2AB" in text
    assert "If it is an emergency, call 999." in text
    assert "call 111 for advice" in text
    assert "911" not in text


def test_without_a_clinic_there_are_lines_to_write_on(kb: KnowledgeBase) -> None:
    """With no clinic file the contact block asks the patient to write the clinic's number in."""
    html = render_handout_html(assess_persona(BY_URGENCY["routine"], kb), "es")
    assert kb.ui("handout.write_in_clinic", "es") in html
    assert "Si es una emergencia, llame al 911." in html


def test_page_counter_css_in_any_language() -> None:
    """The page footer is built from the translated sentence and CSS page counters."""
    assert page_counter("Page {page} of {pages}") == '"Page " counter(page) " of " counter(pages)'
    assert (
        page_counter("Página {page} de {pages}") == '"Página " counter(page) " de " counter(pages)'
    )
    assert css_string('Say "hi" </style>') == '"Say \\"hi\\" \\3C /style>"'


def test_unknown_paper_size_is_refused(kb: KnowledgeBase) -> None:
    """A paper size other than a4 or letter is an error, not a silent default."""
    with pytest.raises(ValueError, match="unknown paper size 'a5'"):
        render_handout_html(assess_persona(BY_URGENCY["routine"], kb), "en", None, "a5")
