"""Licensed wording: a clinic-supplied file replaces the words, never the scores, and every
output says which wording was used."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from backpath.errors import KnowledgeError
from backpath.instruments import (
    TEXTS_ENV,
    get_instrument,
    score,
    validate_instruments,
)
from tests.instruments.conftest import write_official_texts

EXAMPLES: dict[str, Sequence[int | None]] = {
    "nprs_back": [6],
    "nprs_leg": [8],
    "startback": [1, 1, 0, 0, 1, 1, 1, 1, 1],
    "odi": [2, 2, 2, 2, 2, 2, 1, 1, None, 2],
    "rmdq": [1] * 9 + [0] * 15,
    "peg": [7, 5, 6],
    "sbi": [3, 2, 1, 0],
}


@pytest.mark.parametrize("instrument", sorted(EXAMPLES))
def test_official_wording_gives_identical_scores(instrument: str, official_texts: Path) -> None:
    """The same answers score the same with the paraphrase and with official wording."""
    paraphrase = score(instrument, EXAMPLES[instrument])
    official = score(instrument, EXAMPLES[instrument], texts=official_texts)
    assert paraphrase.wording == "paraphrase"
    assert official.wording == "official"
    assert official.to_json() == {**paraphrase.to_json(), "wording": "official"}


def test_environment_variable_loads_official_wording(
    official_texts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BACKPATH_INSTRUMENT_TEXTS switches wording to official with no code change."""
    monkeypatch.setenv(TEXTS_ENV, str(official_texts))
    result = score("odi", [2] * 10)
    assert (result.wording, result.value, result.band) == ("official", 40, "moderate")


def test_official_wording_replaces_item_and_option_texts(official_texts: Path) -> None:
    """Item and option texts come from the clinic's file; option scores stay the same."""
    instrument = get_instrument("startback", texts=official_texts)
    item = instrument.items[8]
    assert item.text == "OFFICIAL startback 9"
    options = instrument.options_for(item)
    assert [o.text for o in options][:2] == [
        "OFFICIAL startback 9 option 1",
        "OFFICIAL startback 9 option 2",
    ]
    assert [o.score for o in options] == [0, 0, 0, 1, 1]
    assert instrument.name == "OFFICIAL Keele STarT Back Screening Tool"


def test_texts_file_for_some_instruments_leaves_others_paraphrased(tmp_path: Path) -> None:
    """A clinic licensed for the ODI only gets official ODI wording and paraphrase elsewhere."""
    path = write_official_texts(tmp_path / "odi_only.yaml", only=("odi",))
    assert score("odi", [2] * 10, texts=path).wording == "official"
    assert score("rmdq", [0] * 24, texts=path).wording == "paraphrase"


def _texts(tmp_path: Path, instruments: object) -> Path:
    path = tmp_path / "texts.yaml"
    path.write_text(yaml.safe_dump({"instruments": instruments}), encoding="utf-8")
    return path


def test_texts_file_missing_an_item_is_a_problem(tmp_path: Path) -> None:
    """Official wording must cover every item, else it is refused naming the item."""
    items = {"pain": {"text": "P", "options": [str(n) for n in range(11)]}}
    path = _texts(tmp_path, {"peg": {"items": items}})
    problems = validate_instruments(texts=path)
    assert f"{path}: peg: items.enjoyment: missing; official wording must cover every item" in (
        problems
    )
    with pytest.raises(KnowledgeError):
        score("peg", [1, 1, 1], texts=path)


def test_texts_file_with_wrong_option_count_is_a_problem(tmp_path: Path) -> None:
    """Official option texts must match the item's options one for one."""
    path = _texts(tmp_path, {"nprs_leg": {"items": {"leg_pain": {"text": "L", "options": ["0"]}}}})
    assert validate_instruments(texts=path) == [
        f"{path}: nprs_leg: items.leg_pain.options: expected 11 option texts (one per answer, "
        "in score order), got 1"
    ]


def test_texts_file_with_unknown_instrument_or_item_is_a_problem(tmp_path: Path) -> None:
    """Unknown instrument and item ids in the texts file are reported, not ignored."""
    options = [str(n) for n in range(11)]
    path = _texts(
        tmp_path,
        {
            "oswestry": {"items": {}},
            "nprs_leg": {
                "items": {
                    "leg_pain": {"text": "L", "options": options},
                    "arm_pain": {"text": "A", "options": options},
                }
            },
        },
    )
    problems = validate_instruments(texts=path)
    assert any(p.startswith(f"{path}: oswestry: unknown instrument") for p in problems)
    assert any(p.startswith(f"{path}: nprs_leg: items.arm_pain: unknown item") for p in problems)


def test_texts_file_with_unknown_key_is_a_problem(tmp_path: Path) -> None:
    """The texts file has a closed schema: a misspelt key fails loudly."""
    path = _texts(tmp_path, {"peg": {"itemz": {}}})
    problems = validate_instruments(texts=path)
    assert any(p.startswith(f"{path}: peg: instruments.peg.itemz") for p in problems)


def test_unreadable_texts_file_is_a_problem(tmp_path: Path) -> None:
    """A texts file that does not exist is reported, never silently ignored."""
    path = tmp_path / "absent.yaml"
    problems = validate_instruments(texts=path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: (file): cannot read")


def test_texts_file_that_is_not_yaml_is_a_problem(tmp_path: Path) -> None:
    """A texts file that is not valid YAML is reported with its name."""
    path = tmp_path / "bad.yaml"
    path.write_text("instruments: [unclosed", encoding="utf-8")
    assert validate_instruments(texts=path)[0].startswith(f"{path}: (file): not valid YAML")
