"""Patient education: a personal handout from an Assessment, in HTML and PDF.

``compose_handout(assessment, language)`` lays out what the triage decided (urgency, reasons,
actions, advice, next steps, safety net) in sections ordered for the urgency, adds the
handout's own blocks (what may be going on, tips, a two-week diary, when to follow up) and a
glossary of the few medical words that stay. ``render_handout_html`` and
``render_handout_pdf`` print the same composition with one Jinja2 template and one print
stylesheet (A4 or US Letter); the clinic's contact block comes from a ``Clinic``
(``load_clinic(path)``; US 911 and UK 999 presets). Layout and selection are data in
``knowledge/handout.yaml``; the words are in ``knowledge/advice/en/handout.yaml``,
``knowledge/ui/handout.yaml`` and their translations.
"""

from backpath.education.clinic import (
    PRESETS,
    Clinic,
    ClinicError,
    Paper,
    clinic_from_data,
    load_clinic,
    preset_clinic,
)
from backpath.education.compose import (
    GlossaryEntry,
    Handout,
    HandoutBlock,
    HandoutError,
    HandoutSection,
    compose_handout,
)
from backpath.education.knowledge import (
    check_handout_knowledge,
    handout_knowledge,
    validate_handout_knowledge,
)
from backpath.education.render import (
    render_handout_html,
    render_handout_pdf,
    render_html,
    render_pdf,
)

__all__ = [
    "PRESETS",
    "Clinic",
    "ClinicError",
    "GlossaryEntry",
    "Handout",
    "HandoutBlock",
    "HandoutError",
    "HandoutSection",
    "Paper",
    "check_handout_knowledge",
    "clinic_from_data",
    "compose_handout",
    "handout_knowledge",
    "load_clinic",
    "preset_clinic",
    "render_handout_html",
    "render_handout_pdf",
    "render_html",
    "render_pdf",
    "validate_handout_knowledge",
]
