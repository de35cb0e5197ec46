"""Shared helpers for CLI commands: reading input and failing with a clear message."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from backpath import jsonio
from backpath.errors import IntakeError

err_console = Console(stderr=True)


def read_text(source: str) -> str:
    """Read a file path, or standard input for ``-``; exit 2 with a message if unreadable."""
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{source}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{source}: cannot read ({exc})")
    raise AssertionError("unreachable")  # pragma: no cover


def read_json(source: str, name: str | None = None) -> Any:
    """Read and decode one JSON document with ``backpath.jsonio``; exit 2 naming the field
    (``answers.saddle_numbness`` for a duplicate key, ``(root)`` for text that is not JSON)."""
    label = name or source
    try:
        return jsonio.loads(read_text(source))
    except IntakeError as exc:
        fail(f"{label}: field {exc.field!r}: {exc.message}")
    raise AssertionError("unreachable")  # pragma: no cover


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` to standard error and exit with ``code`` (never a traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)
