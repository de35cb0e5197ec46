"""Imported once by the screening workers' fork server, before any worker is forked.

Importing this module builds the English narrative reader (spaCy and medspaCy pipelines,
lexicons, speller, language models) in the fork server, so every worker forked from it
starts with a built reader instead of spending seconds importing and building its own
(``workers.ordered_map``; issue 14). The Spanish reader is built by a worker when its
first Spanish narrative arrives: a run without any does not pay for it.
"""

from __future__ import annotations

from backpath.nlp import warm_up

SECONDS = warm_up(["en"])
"""Seconds each reader language took to build, in the fork server."""
