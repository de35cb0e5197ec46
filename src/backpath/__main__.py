"""``python -m backpath`` runs the command line."""

from backpath.cli import app

app(prog_name="backpath")
