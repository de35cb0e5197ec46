"""Fixtures for the instrument tests: hermetic wording and a clinic's licensed-texts file."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from backpath.instruments import TEXTS_ENV, get_instrument, instrument_ids


class Published(NamedTuple):
    """What the published rules say about an instrument's answers and score range."""

    items: int
    scores: tuple[int, ...]
    max_missing: int
    range: tuple[int, int]


#: Instruments, as the published rules define them: number of items, allowed item scores,
#: how many items may be unanswered, and the score range. Written by hand from
#: clinical-facts section 3, so tests never take these facts from the code under test.
PUBLISHED = {
    "nprs_back": Published(items=1, scores=tuple(range(11)), max_missing=0, range=(0, 10)),
    "nprs_leg": Published(items=1, scores=tuple(range(11)), max_missing=0, range=(0, 10)),
    "startback": Published(items=9, scores=(0, 1), max_missing=0, range=(0, 9)),
    "odi": Published(items=10, scores=tuple(range(6)), max_missing=2, range=(0, 100)),
    "rmdq": Published(items=24, scores=(0, 1), max_missing=0, range=(0, 24)),
    "peg": Published(items=3, scores=tuple(range(11)), max_missing=0, range=(0, 10)),
    "sbi": Published(items=4, scores=tuple(range(7)), max_missing=0, range=(0, 24)),
}


@pytest.fixture(autouse=True)
def _no_clinic_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with backpath's paraphrase unless it sets licensed texts itself."""
    monkeypatch.delenv(TEXTS_ENV, raising=False)


def write_official_texts(path: Path, only: tuple[str, ...] | None = None) -> Path:
    """Write a stand-in licensed-texts file covering every item and option of instruments.

    The words are placeholders ("OFFICIAL odi 4"), never real licensed text.
    """
    instruments = {}
    for ident in only or instrument_ids():
        instrument = get_instrument(ident, texts=None)
        instruments[ident] = {
            "name": f"OFFICIAL {instrument.name}",
            "items": {
                item.id: {
                    "text": f"OFFICIAL {ident} {item.number}",
                    "options": [
                        f"OFFICIAL {ident} {item.number} option {position}"
                        for position, _ in enumerate(instrument.options_for(item), start=1)
                    ],
                }
                for item in instrument.items
            },
        }
    path.write_text(
        yaml.safe_dump({"source": "test stand-in", "instruments": instruments}), encoding="utf-8"
    )
    return path


@pytest.fixture
def official_texts(tmp_path: Path) -> Path:
    """A complete stand-in licensed-texts file for every instrument."""
    return write_official_texts(tmp_path / "official.yaml")
