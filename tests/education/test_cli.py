"""`backpath handout` as a user runs it: PDF or HTML out, clear errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backpath.cli import app
from backpath.kb import KnowledgeBase
from tests.education.conftest import BY_URGENCY, persona, run

# These tests render PDFs: WeasyPrint needs Pango (skip without it; CI requires it).
pytestmark = pytest.mark.usefixtures("pdf_engine")

runner = CliRunner()


def said(text: str) -> str:
    """Terminal output with Rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def intake_file(tmp_path: Path) -> Path:
    """The emergency persona's intake as a JSON file."""
    path = tmp_path / "intake.json"
    path.write_text(json.dumps(persona(BY_URGENCY["emergency"])["intake"]), encoding="utf-8")
    return path


@pytest.mark.usefixtures("poppler")
def test_spanish_pdf_on_a4(kb: KnowledgeBase, intake_file: Path, tmp_path: Path) -> None:
    """`backpath handout INTAKE -o out.pdf --lang es --paper a4` writes a Spanish A4 PDF, get help now first."""
    out = tmp_path / "out.pdf"
    result = runner.invoke(
        app, ["handout", str(intake_file), "-o", str(out), "--lang", "es", "--paper", "a4"]
    )
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert "(A4)" in run("pdfinfo", str(out))
    text = " ".join(run("pdftotext", str(out), "-").split())
    assert text.index(kb.ui("handout.get_help_now", "es")) < text.index(
        kb.ui("handout.when_to_get_help", "es")
    )
    assert "sections: get_help_now, why" in said(result.stderr)


@pytest.mark.usefixtures("poppler")
def test_clinic_file_and_letter_paper(intake_file: Path, tmp_path: Path) -> None:
    """--clinic prints the clinic's block; --paper letter makes US Letter pages."""
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(
        "preset: uk\nname: Riverside Spine Clinic\nphone: 01632 960 123\n", encoding="utf-8"
    )
    out = tmp_path / "out.pdf"
    result = runner.invoke(
        app,
        ["handout", str(intake_file), "-o", str(out), "--clinic", str(clinic), "--paper", "letter"],
    )
    assert result.exit_code == 0, result.output
    assert "(letter)" in run("pdfinfo", str(out))
    text = run("pdftotext", str(out), "-")
    assert "Riverside Spine Clinic" in text
    assert "call 999" in text


def test_html_from_the_file_name_and_to_stdout(intake_file: Path, tmp_path: Path) -> None:
    """An .html output name gives HTML; `-o -` with --format html prints it."""
    out = tmp_path / "handout.html"
    result = runner.invoke(app, ["handout", str(intake_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    result = runner.invoke(
        app, ["handout", str(intake_file), "-o", "-", "--format", "html", "--lang", "es"]
    )
    assert result.exit_code == 0, result.output
    assert '<html lang="es">' in result.stdout


def test_invalid_intake_exits_2_naming_the_field(tmp_path: Path) -> None:
    """An intake with a bad answer exits 2 and names the field, no traceback."""
    path = tmp_path / "bad.json"
    path.write_text('{"answers": {"fever": "maybe"}}', encoding="utf-8")
    result = runner.invoke(app, ["handout", str(path), "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "field 'answers.fever'" in said(result.stderr)
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_invalid_clinic_exits_2(intake_file: Path, tmp_path: Path) -> None:
    """A clinic file with an unknown key exits 2 naming the key."""
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("telephone: 555\n", encoding="utf-8")
    result = runner.invoke(
        app, ["handout", str(intake_file), "-o", str(tmp_path / "x.pdf"), "--clinic", str(clinic)]
    )
    assert result.exit_code == 2
    assert "field 'telephone'" in said(result.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lang", "fr"], "--lang must be one of en, es"),
        (["--paper", "a5"], "a5"),
    ],
)
def test_bad_options_exit_2(
    intake_file: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    """An unsupported language or paper size exits 2 with a message."""
    result = runner.invoke(app, ["handout", str(intake_file), "-o", str(tmp_path / "x.pdf"), *args])
    assert result.exit_code == 2
    assert message in said(result.output + result.stderr)


def test_missing_or_broken_intake_file(tmp_path: Path) -> None:
    """A missing file or invalid JSON exits 2 with a clear message."""
    result = runner.invoke(app, ["handout", str(tmp_path / "none.json"), "-o", "-"])
    assert result.exit_code == 2
    assert "no such file" in said(result.stderr)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["handout", str(broken), "-o", "-"])
    assert result.exit_code == 2
    assert "not valid JSON" in said(result.stderr)
