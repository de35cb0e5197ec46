"""``backpath handout``: one intake in, the patient's own handout out (PDF or HTML).

The command only translates: triage is ``backpath.triage.assess``, the layout and words are
``backpath.education``. Invalid input (intake, clinic file, language, paper) exits with
code 2 and a message naming the field, never a traceback.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from backpath.cli import app
from backpath.cli._io import err_console, fail, read_json


class OutputFormat(StrEnum):
    """What ``backpath handout`` writes."""

    PDF = "pdf"
    HTML = "html"


class PaperOption(StrEnum):
    """Paper sizes for ``--paper``."""

    A4 = "a4"
    LETTER = "letter"


def _format_for(output: str, given: OutputFormat | None) -> OutputFormat:
    if given is not None:
        return given
    if output.lower().endswith((".html", ".htm")):
        return OutputFormat.HTML
    return OutputFormat.PDF


@app.command("handout")
def handout_command(
    intake_file: Annotated[
        str, typer.Argument(metavar="INTAKE", help="Intake JSON file; - for stdin.")
    ],
    output: Annotated[
        str,
        typer.Option("-o", "--output", help="Where to write the handout; - for stdout."),
    ],
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language (en, es). Default: the intake's language."),
    ] = None,
    paper: Annotated[
        PaperOption | None,
        typer.Option("--paper", help="Paper size. Default: the clinic's (US Letter, UK A4)."),
    ] = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format", help="pdf or html. Default: from the file name (.html), else pdf."
        ),
    ] = None,
    clinic_file: Annotated[
        Path | None,
        typer.Option(
            "--clinic",
            dir_okay=False,
            help="Clinic YAML: name, phone, address, hours, preset us (911) or uk (999).",
        ),
    ] = None,
) -> None:
    """Write a patient's own handout: result and why, what to do, when to get help at once.

    Sections follow the urgency: an emergency opens with "get help now"; self-care opens with what to do at home and when to see a doctor. Every text is plain (US grade 6 or below) and in the chosen language.

    Example: backpath handout intake.json -o handout.pdf --lang es --paper a4 --clinic clinic.yaml
    """
    from backpath.education import (
        ClinicError,
        HandoutError,
        load_clinic,
        preset_clinic,
        render_html,
        render_pdf,
    )
    from backpath.education.compose import compose_handout
    from backpath.errors import IntakeError, NarrativeError
    from backpath.intake import Intake
    from backpath.kb import load_knowledge
    from backpath.triage import assess

    kb = load_knowledge()
    if lang is not None and lang not in kb.languages:
        fail(f"--lang must be one of {', '.join(kb.languages)}")
    data = read_json(intake_file)
    if isinstance(data, list):
        fail(f"{intake_file}: give one intake (a JSON object), not a list")
    try:
        clinic = load_clinic(clinic_file) if clinic_file else preset_clinic()
    except ClinicError as exc:
        fail(f"clinic file {exc.path}: field {exc.field!r}: {exc.message}")
    try:
        intake = Intake.from_json(data)
        assessment = assess(intake, kb)
        handout = compose_handout(assessment, lang or intake.language)
    except IntakeError as exc:
        fail(f"{intake_file}: field {exc.field!r}: {exc.message}")
    except NarrativeError as exc:
        fail(f"{intake_file}: field 'narrative': {exc}")
    except HandoutError as exc:
        fail(f"handout: {exc}")

    kind = _format_for(output, output_format)
    size = paper.value if paper is not None else None
    if kind is OutputFormat.HTML:
        content = render_html(handout, clinic, size).encode("utf-8")
    else:
        content = render_pdf(handout, clinic, size)
    if output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        Path(output).write_bytes(content)
    except OSError as exc:
        fail(f"{output}: cannot write ({exc})")
    err_console.print(
        f"Wrote {output}: {kind.value}, {handout.urgency.value}, {handout.language}, "
        f"sections: {', '.join(handout.section_ids)}",
        highlight=False,
    )
