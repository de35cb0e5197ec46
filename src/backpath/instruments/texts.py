"""Licensed item wording supplied by the clinic.

backpath ships only its own paraphrase of each instrument. A clinic that holds a licence for
the official wording (for example the ODI from Mapi Research Trust, or the unmodified Keele
STarT Back tool) keeps that text in its own YAML file and points backpath at it with the
environment variable ``BACKPATH_INSTRUMENT_TEXTS`` or ``backpath score --texts FILE``. The
file replaces words only: answer scores, scoring rules and bands always come from the
repository, so a score is identical whichever wording was shown. Every output then says
``wording: official``.

File format (one entry per instrument; every item, and every answer option of every item in
score order, must be given so that no paraphrase is ever labelled official)::

    source: "ODI v2.1a English, Mapi licence 12345"   # optional, for the audit trail
    instruments:
      odi:
        name: Oswestry Disability Index            # optional
        instructions: "..."                         # optional
        items:
          pain_intensity:
            text: "..."
            options: ["...", "...", "...", "...", "...", "..."]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import yaml
from pydantic import Field, ValidationError

from backpath.instruments.schema import Closed, Instrument, Item, ResponseOption, Wording

# libyaml's safe loader when PyYAML has it (same documents, several times faster); the
# instruments package reads YAML without the core knowledge loader, so it keeps its own.
_SAFE_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load_yaml(stream: str | IO[str]) -> Any:
    """``yaml.safe_load`` through libyaml when available; raises ``yaml.YAMLError``."""
    return yaml.load(stream, Loader=_SAFE_YAML_LOADER)


#: Environment variable naming the clinic's file of licensed wording.
TEXTS_ENV = "BACKPATH_INSTRUMENT_TEXTS"


class ItemTexts(Closed):
    """Official wording of one item: the question and each answer option, in score order."""

    text: str = Field(min_length=1)
    options: tuple[str, ...] = Field(min_length=1)


class InstrumentTexts(Closed):
    """Official wording of one instrument."""

    name: str | None = None
    instructions: str | None = None
    items: dict[str, ItemTexts]


class TextsFile(Closed):
    """The clinic-supplied file of licensed wording."""

    source: str | None = None
    instruments: dict[str, InstrumentTexts] = Field(min_length=1)


def texts_path(texts: str | Path | None) -> Path | None:
    """The texts file to use: the explicit one, else ``$BACKPATH_INSTRUMENT_TEXTS``, else none."""
    if texts is not None and str(texts) != "":
        return Path(texts)
    from_env = os.environ.get(TEXTS_ENV, "").strip()
    return Path(from_env) if from_env else None


def read_texts(path: Path) -> tuple[TextsFile | None, list[str]]:
    """Read and validate the texts file; problems are formatted ``file: id: message``."""
    label = str(path)
    try:
        with path.open(encoding="utf-8") as handle:
            data = safe_load_yaml(handle)
    except OSError as exc:
        return None, [f"{label}: (file): cannot read: {exc.strerror or exc}"]
    except yaml.YAMLError as exc:
        return None, [f"{label}: (file): not valid YAML: {exc}"]
    try:
        return TextsFile.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            ident = loc[1] if len(loc) > 1 and loc[0] == "instruments" else "(file)"
            problems.append(f"{label}: {ident}: {'.'.join(loc)}: {error['msg']}")
        return None, problems


def apply_texts(
    instrument: Instrument, texts: InstrumentTexts, label: str
) -> tuple[Instrument, list[str]]:
    """Return ``instrument`` with its wording replaced by ``texts`` and marked official.

    Scores, scoring, bands and strata are untouched. Every item and every option must be
    covered; otherwise the problems are returned and the paraphrase is kept.
    """
    problems: list[str] = []
    known = set(instrument.item_ids)
    for ident in sorted(set(texts.items) - known):
        problems.append(
            f"{label}: {instrument.id}: items.{ident}: unknown item; "
            f"valid items: {', '.join(instrument.item_ids)}"
        )
    new_items: list[Item] = []
    for item in instrument.items:
        official = texts.items.get(item.id)
        if official is None:
            problems.append(
                f"{label}: {instrument.id}: items.{item.id}: missing; official wording must "
                "cover every item"
            )
            continue
        options = instrument.options_for(item)
        if len(official.options) != len(options):
            problems.append(
                f"{label}: {instrument.id}: items.{item.id}.options: expected "
                f"{len(options)} option texts (one per answer, in score order), "
                f"got {len(official.options)}"
            )
            continue
        new_options = tuple(
            ResponseOption(score=option.score, text=text)
            for option, text in zip(options, official.options, strict=True)
        )
        update = {"text": official.text, "options": new_options, "responses": None}
        new_items.append(item.model_copy(update=update))
    if problems:
        return instrument, problems
    changes: dict[str, object] = {"items": tuple(new_items), "wording": Wording.OFFICIAL}
    if texts.name:
        changes["name"] = texts.name
    if texts.instructions:
        changes["instructions"] = texts.instructions
    return instrument.model_copy(update=changes), []
