"""The ``backpath`` command line.

Each command group lives in its own module and registers itself on ``app`` here; commands
only translate between the terminal and the pure core.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="backpath",
    help="Triage and care pathway for back pain that spreads into the leg.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

from backpath.cli import assess as _assess  # noqa: E402,F401
from backpath.cli import extract as _extract  # noqa: E402,F401
from backpath.cli import followup as _followup  # noqa: E402,F401
from backpath.cli import handout as _handout  # noqa: E402,F401
from backpath.cli import kb as _kb  # noqa: E402,F401
from backpath.cli import score as _score  # noqa: E402,F401
from backpath.cli import screen as _screen  # noqa: E402,F401
from backpath.cli import serve as _serve  # noqa: E402,F401
from backpath.cli import triage as _triage  # noqa: E402,F401
from backpath.cli import users as _users  # noqa: E402,F401
