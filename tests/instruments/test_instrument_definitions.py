"""The instrument definitions are validated at load: a closed schema and cross-checks that
name the file and the instrument, so a typo or an unsafe rule never reaches a patient."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from backpath.errors import KnowledgeError
from backpath.instruments import (
    INSTRUMENTS_DIR,
    instrument_ids,
    load_instruments,
    validate_instruments,
)
from tests.instruments.conftest import PUBLISHED

DOCS = Path(__file__).resolve().parents[2] / "docs" / "instruments"


def test_repository_instruments_are_valid() -> None:
    """The shipped definitions load with no problem."""
    assert validate_instruments() == []


def test_all_required_instruments_exist() -> None:
    """Back and leg NRS, STarT Back, ODI, RMDQ, PEG and SBI are all defined."""
    assert set(instrument_ids()) == set(PUBLISHED)


@pytest.mark.parametrize("ident", sorted(PUBLISHED))
def test_definition_matches_published_structure(ident: str) -> None:
    """Each definition has the published number of items and allowed item scores."""
    instrument = load_instruments()[ident]
    assert len(instrument.items) == PUBLISHED[ident].items
    assert instrument.missing_data.max_missing == PUBLISHED[ident].max_missing
    for item in instrument.items:
        assert instrument.allowed_scores(item) == PUBLISHED[ident].scores


@pytest.mark.parametrize("ident", sorted(PUBLISHED))
def test_definition_declares_provenance_and_licence(ident: str) -> None:
    """Each definition is a paraphrase with recall period, licence, MIC and references."""
    instrument = load_instruments()[ident]
    assert instrument.wording.value == "paraphrase"
    assert instrument.recall_period
    assert instrument.licence.note
    assert instrument.minimal_important_change.relative_percent == 30
    assert all(ref.doi or ref.url for ref in instrument.references)
    assert instrument.higher_is == "worse"


@pytest.mark.parametrize(
    ("ident", "points"),
    [
        ("nprs_back", 2),
        ("nprs_leg", 2),
        ("odi", 10),
        ("rmdq", 5),
        ("peg", 1),
        ("sbi", 5),
        ("startback", 2),
    ],
)
def test_minimal_important_change_values(ident: str, points: float) -> None:
    """MIC in points: NRS 2, ODI 10, RMDQ 5 (Ostelo 2008); PEG 1, SBI 5, STarT Back 2 chosen."""
    assert load_instruments()[ident].minimal_important_change.absolute == points


@pytest.mark.parametrize("ident", sorted(PUBLISHED))
def test_every_instrument_has_a_docs_page(ident: str) -> None:
    """Each instrument has docs/instruments/<id>.md with scoring, missing data, MIC and licence."""
    page = (DOCS / f"{ident}.md").read_text(encoding="utf-8")
    for heading in (
        "## Scoring",
        "## Missing data",
        "## Interpretation",
        "## Minimal important change",
        "## Licence",
        "## References",
    ):
        assert heading in page, f"{ident}.md lacks {heading}"


# --- broken copies of the definitions ---------------------------------------------------------


def _broken(tmp_path: Path, ident: str, change: Callable[[dict[str, Any]], None]) -> list[str]:
    """Copy the definitions, apply ``change`` to one of them and validate the copy."""
    root = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS_DIR, root)
    path = root / f"{ident}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return validate_instruments(root=root)


def test_unknown_key_names_file_instrument_and_valid_keys(tmp_path: Path) -> None:
    """A misspelt key fails with file, instrument id, location and the valid keys."""

    def misspell(data: dict[str, Any]) -> None:
        data["items"][3]["txt"] = data["items"][3].pop("text")

    problems = _broken(tmp_path, "odi", misspell)
    assert (
        "instruments/odi.yaml: odi: items.walking.txt: unknown key; valid keys: id, "
        "measures, number, options, responses, text" in problems
    )
    assert "instruments/odi.yaml: odi: items.walking.text: Field required" in problems


def test_load_raises_one_error_listing_every_problem(tmp_path: Path) -> None:
    """Loading a broken definition raises KnowledgeError listing the problems."""
    problems = _broken(tmp_path, "peg", lambda d: d.pop("licence"))
    with pytest.raises(KnowledgeError) as caught:
        load_instruments(root=tmp_path / "instruments")
    assert caught.value.problems == problems
    assert problems == ["instruments/peg.yaml: peg: licence: Field required"]


def test_overlapping_strata_are_refused(tmp_path: Path) -> None:
    """Strata where two could apply to the same answers are refused at load."""

    def overlap(data: dict[str, Any]) -> None:
        data["stratification"]["strata"][1]["when"][1]["max"] = 4  # medium up to psych 4

    problems = _broken(tmp_path, "startback", overlap)
    assert len(problems) == 1
    assert problems[0].startswith(
        "instruments/startback.yaml: startback: stratification: 2 strata apply (medium, high)"
    )


def test_strata_that_leave_answers_unclassified_are_refused(tmp_path: Path) -> None:
    """Strata where no group applies to some answers are refused at load."""

    def gap(data: dict[str, Any]) -> None:
        data["stratification"]["strata"][0]["when"][0]["max"] = 2  # low stops at 2

    problems = _broken(tmp_path, "startback", gap)
    assert problems[0].startswith(
        "instruments/startback.yaml: startback: stratification: 0 strata apply (none)"
    )


def test_unreachable_stratum_is_refused(tmp_path: Path) -> None:
    """A stratum that no answers can reach is reported as unreachable."""

    def unreachable(data: dict[str, Any]) -> None:
        strata = data["stratification"]["strata"]
        strata.append({**strata[2], "id": "very_high", "when": [{"score": "total", "min": 10}]})

    problems = _broken(tmp_path, "startback", unreachable)
    assert (
        "instruments/startback.yaml: startback: stratification.strata.very_high: can never "
        "apply (unreachable)" in problems
    )


def test_stratum_on_unknown_score_is_refused(tmp_path: Path) -> None:
    """A stratum condition on a score that does not exist is refused."""

    def unknown(data: dict[str, Any]) -> None:
        data["stratification"]["strata"][2]["when"][1]["score"] = "distress"

    problems = _broken(tmp_path, "startback", unknown)
    assert problems[0].startswith(
        "instruments/startback.yaml: startback: stratification.strata.high.when: unknown score"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["interpretation"]["bands"][1].update(min=22),
            "interpretation.bands.moderate.min: leaves a gap after band 'minimal'",
        ),
        (
            lambda d: d["interpretation"]["bands"][2].update(min=40),
            "interpretation.bands.severe.min: overlaps band 'moderate'",
        ),
        (
            lambda d: d["interpretation"]["bands"][4].update(max=99),
            "interpretation.bands.bed_bound.max: must be the highest score 100",
        ),
        (
            lambda d: d["interpretation"]["bands"][0].update(min=1),
            "interpretation.bands.minimal.min: must be the lowest score 0",
        ),
    ],
)
def test_bands_must_cover_the_range_without_gaps_or_overlaps(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    """ODI bands must start at 0, end at 100, and neither overlap nor leave a gap."""
    assert _broken(tmp_path, "odi", change) == [f"instruments/odi.yaml: odi: {message}"]


def test_sum_score_may_not_allow_missing_items(tmp_path: Path) -> None:
    """A sum that allowed unanswered items would understate severity: refused."""
    problems = _broken(tmp_path, "rmdq", lambda d: d["missing_data"].update(max_missing=1))
    assert problems[0].startswith(
        "instruments/rmdq.yaml: rmdq: missing_data.max_missing: must be 0 for a sum"
    )


def test_repository_file_may_not_claim_official_wording(tmp_path: Path) -> None:
    """Only a clinic-supplied file may provide official wording; the repository paraphrases."""
    problems = _broken(tmp_path, "odi", lambda d: d.update(wording="official"))
    assert problems == [
        "instruments/odi.yaml: odi: wording: repository files hold backpath's paraphrase only "
        "(wording: paraphrase); official text comes from a clinic-supplied file"
    ]


def test_items_must_be_numbered_in_order(tmp_path: Path) -> None:
    """Item numbers must run 1, 2, 3... in file order."""
    problems = _broken(tmp_path, "sbi", lambda d: d["items"][2].update(number=4))
    assert (
        "instruments/sbi.yaml: sbi: items.weakness.number: is 4, expected 3 (items in "
        "order)" in problems
    )


def test_duplicate_item_ids_are_refused(tmp_path: Path) -> None:
    """Two items with the same id are refused."""
    problems = _broken(tmp_path, "sbi", lambda d: d["items"][1].update(id="leg_pain"))
    assert "instruments/sbi.yaml: sbi: items.leg_pain: duplicate item id" in problems


def test_unknown_response_set_is_refused(tmp_path: Path) -> None:
    """An item pointing at a response set that does not exist is refused."""
    problems = _broken(tmp_path, "peg", lambda d: d["items"][0].update(responses="pain_0_100"))
    assert (
        "instruments/peg.yaml: peg: items.pain.responses: unknown response set "
        "'pain_0_100'" in problems
    )


def test_options_out_of_score_order_are_refused(tmp_path: Path) -> None:
    """Answer options must be listed in ascending score order (licensed texts follow it)."""

    def reverse(data: dict[str, Any]) -> None:
        data["items"][0]["options"].reverse()

    problems = _broken(tmp_path, "odi", reverse)
    assert (
        "instruments/odi.yaml: odi: items.pain_intensity.options: list options in "
        "ascending score order" in problems
    )


def test_reference_needs_a_doi_or_url(tmp_path: Path) -> None:
    """A reference with neither DOI nor URL is refused."""
    problems = _broken(tmp_path, "peg", lambda d: d["references"][0].pop("doi"))
    assert problems == [
        "instruments/peg.yaml: peg: references.0: Value error, give a 'doi' or, when there is "
        "none, a 'url'"
    ]


def test_file_name_must_match_instrument_id(tmp_path: Path) -> None:
    """A definition whose id differs from its file name is refused."""
    problems = _broken(tmp_path, "sbi", lambda d: d.update(id="sbi2"))
    assert problems == ["instruments/sbi.yaml: sbi2: file name must be sbi2.yaml"]


def test_invalid_yaml_is_reported(tmp_path: Path) -> None:
    """A definition that is not valid YAML is reported with its file name."""
    root = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS_DIR, root)
    (root / "peg.yaml").write_text("id: peg\nitems: [unclosed\n", encoding="utf-8")
    problems = validate_instruments(root=root)
    assert problems[0].startswith("instruments/peg.yaml: (file): not valid YAML")
