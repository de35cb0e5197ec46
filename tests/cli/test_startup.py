"""Start-up of the command line: a command imports only what it needs (issue 14).

Each test runs the real ``backpath`` command in a fresh interpreter and looks at which
modules it imported: ``backpath triage`` must not pay for the web app, the narrative
reader, PDF handouts, the database or population screening, and ``backpath --help`` must
list every command without importing any of them.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import typer

import backpath.cli
from backpath.cli import COMMANDS, app

# Libraries and packages that no triage of a structured intake needs.
HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "psycopg",
    "spacy",
    "weasyprint",
    "duckdb",
    "pyspark",
    "backpath.web",
    "backpath.nlp",
    "backpath.store",
    "backpath.screening",
    "backpath.education",
    "backpath.interop",
)

# Runs the command line as the ``backpath`` script does, then reports the modules loaded.
RUNNER = """
import json, sys
sys.argv = ["backpath", *sys.argv[1:]]
from backpath.cli import app
code = 0
try:
    app(prog_name="backpath")
except SystemExit as exc:
    code = exc.code or 0
sys.stdout.flush()
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
sys.exit(code)
"""


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, set[str]]:
    """Run ``backpath *args`` in a fresh interpreter: exit code, stdout, modules imported."""
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    marker = done.stderr.rsplit("MODULES ", 1)
    assert len(marker) == 2, done.stderr
    return done.returncode, done.stdout, set(json.loads(marker[1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_triage_of_one_intake_imports_only_the_triage_command(tmp_path: Path) -> None:
    """``backpath triage intake.json`` gives the emergency for saddle numbness and imports
    no other command and none of the heavy parts of backpath."""
    intake = tmp_path / "intake.json"
    intake.write_text(
        json.dumps({"age": 40, "answers": {"leg_pain": True, "saddle_numbness": True}}),
        encoding="utf-8",
    )
    code, out, modules = _run("triage", str(intake))
    assert code == 0
    assert json.loads(out)["urgency"] == "emergency"
    assert _heavy(modules) == []
    commands = {m for m in modules if m.startswith("backpath.cli.")}
    assert commands <= {"backpath.cli.triage", "backpath.cli._io"}


def test_triage_from_stdin_stays_light() -> None:
    """The same through standard input (JSON Lines), with an invalid line: exit 2, the
    valid line still answered, and still nothing heavy imported."""
    lines = json.dumps({"answers": {"back_pain": True}}) + "\n" + '{"answers": {"nope": 1}}\n'
    code, out, modules = _run("triage", "-", stdin=lines)
    assert code == 2
    assert json.loads(out.splitlines()[0])["urgency"]
    assert _heavy(modules) == []


def test_help_lists_every_command_without_importing_the_heavy_parts() -> None:
    """``backpath --help`` names every command, and imports none of the web app, NLP,
    WeasyPrint, DuckDB or the database."""
    code, out, modules = _run("--help")
    assert code == 0
    for name in COMMANDS:
        assert name in out, name
    assert _heavy(modules) == []


def test_every_command_module_is_in_the_table() -> None:
    """Every module of ``backpath.cli`` that registers a command is named in ``COMMANDS``,
    and the table names exactly the commands those modules register (a command left out
    of the table could never be run)."""
    names: set[str] = set()
    for info in pkgutil.iter_modules(backpath.cli.__path__):
        if info.name.startswith("_") or info.name == "explain":
            continue
        __import__(f"backpath.cli.{info.name}")
        names.add(info.name)
    assert set(COMMANDS.values()) <= names
    assert set(typer.main.get_group(app).commands) == set(COMMANDS)
    for command in app.registered_commands:
        assert command.callback is not None
        assert command.callback.__module__ == f"backpath.cli.{COMMANDS[str(command.name)]}"


def test_a_command_runs_when_only_its_module_is_loaded() -> None:
    """A command found lazily runs like any other: ``backpath kb check`` in a fresh
    interpreter passes and imports the kb command only."""
    code, out, modules = _run("kb", "check")
    assert code == 0, out
    commands = {m for m in modules if m.startswith("backpath.cli.")}
    assert "backpath.cli.kb" in commands
    assert "backpath.cli.triage" not in commands
