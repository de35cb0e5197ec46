"""The ``backpath`` command line.

Each command group lives in its own module and registers itself on ``app`` here; commands
only translate between the terminal and the pure core.

A command's module is imported only when that command is looked up (run, or listed by
``backpath --help``), so ``backpath triage`` pays for the triage core and nothing else:
not for the web app, the narrative reader, PDF handouts or population screening. A new
command module is added to ``COMMANDS`` below.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    # Typer's own copy of click: the types its command groups are declared with.
    from typer._click import Command, Context

# Every command (or command group) and the module of ``backpath.cli`` that registers it,
# in the order ``backpath --help`` lists them.
COMMANDS: dict[str, str] = {
    "assess": "assess",
    "backup": "backup",
    "restore": "backup",
    "extract": "extract",
    "followup": "followup",
    "handout": "handout",
    "score": "score",
    "screen": "screen",
    "serve": "serve",
    "triage": "triage",
    "audit": "audit",
    "kb": "kb",
    "tokens": "tokens",
    "users": "users",
}


class LazyCommands(TyperGroup):
    """The top-level command group: imports a command's module when the command is needed."""

    def list_commands(self, ctx: Context) -> list[str]:
        """Every command (``COMMANDS`` order, then any others), all loaded: a listing (the
        help, shell completion) shows each command's own help."""
        self._load(COMMANDS)
        return list(dict.fromkeys([*COMMANDS, *super().list_commands(ctx)]))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """The command ``cmd_name``, importing the module that registers it on first use."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self._load([cmd_name])
        return super().get_command(ctx, cmd_name)

    def _load(self, names: Iterable[str]) -> None:
        """Import the modules of the commands ``names`` that are not loaded yet."""
        missing = {COMMANDS[name] for name in names if name not in self.commands}
        if not missing:
            return
        for module in sorted(missing):
            importlib.import_module(f"backpath.cli.{module}")
        # Rebuild the group from everything registered on ``app`` so far and take the new
        # commands (Typer builds a click command from each function's signature).
        for name, command in typer.main.get_group(app).commands.items():
            self.commands.setdefault(name, command)


app = typer.Typer(
    name="backpath",
    help="Triage and care pathway for back pain that spreads into the leg.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    cls=LazyCommands,
)


@app.callback()
def main() -> None:
    """Triage and care pathway for back pain that spreads into the leg."""
    # Always a command group, even before any command module is imported.
