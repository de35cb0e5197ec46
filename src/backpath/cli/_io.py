"""Shared helpers for CLI commands: reading input and failing with a clear message."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

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


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` to standard error and exit with ``code`` (never a traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)
