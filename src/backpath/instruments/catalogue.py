"""Load, validate and look up the instrument definitions.

``knowledge/instruments/<id>.yaml`` files are read against the closed schema in
``instruments.schema`` and then cross-checked as a whole: items numbered in order, answer
options in score order, bands covering the score range without overlap, strata that give
exactly one risk group for every possible set of answers, a missing-data rule that never lets
a sum be taken over fewer items. ``validate_instruments()`` returns every problem as
``file: id: message`` for ``backpath kb check``; ``load_instruments()`` raises one
``KnowledgeError`` listing them, because an instrument that fails to load must never score
anyone.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from backpath.errors import KnowledgeError, ScoringError
from backpath.instruments import _rules
from backpath.instruments.schema import (
    TOTAL,
    Instrument,
    ScoringMethod,
    Stratum,
    Wording,
)
from backpath.instruments.texts import apply_texts, read_texts, safe_load_yaml, texts_path

#: Where the repository's instrument definitions live.
INSTRUMENTS_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "instruments"

# Strata are proven exhaustive and exclusive by trying every set of answers; beyond this many
# combinations the check reports a problem instead of running for ever.
_MAX_COMBINATIONS = 200_000


def validate_instruments(
    texts: str | Path | None = None, root: str | Path | None = None
) -> list[str]:
    """Every problem in the instrument definitions (and the licensed texts file, if one is
    set), formatted ``file: id: message``; an empty list when all is well."""
    _, problems = _load(Path(root) if root else INSTRUMENTS_DIR, texts_path(texts))
    return problems


def load_instruments(
    texts: str | Path | None = None, root: str | Path | None = None
) -> Mapping[str, Instrument]:
    """All instruments by id, with licensed wording applied when a texts file is set.

    ``texts`` defaults to ``$BACKPATH_INSTRUMENT_TEXTS``. Raises ``KnowledgeError`` listing
    every problem. Results are cached per definitions folder and texts file version.
    """
    path = texts_path(texts)
    stamp = _stamp(path)
    instruments, problems = _load_cached(str(Path(root) if root else INSTRUMENTS_DIR), path, stamp)
    if problems:
        raise KnowledgeError(list(problems))
    return instruments


def get_instrument(instrument_id: str, texts: str | Path | None = None) -> Instrument:
    """One instrument by id; an unknown id raises ``ScoringError`` naming the known ones."""
    instruments = load_instruments(texts)
    try:
        return instruments[instrument_id]
    except KeyError:
        raise ScoringError(
            str(instrument_id),
            None,
            f"unknown instrument; known instruments: {', '.join(sorted(instruments))}",
        ) from None


def instrument_ids() -> tuple[str, ...]:
    """The ids of every instrument in the repository, sorted."""
    return tuple(sorted(load_instruments()))


def _stamp(path: Path | None) -> int | None:
    try:
        return path.stat().st_mtime_ns if path else None
    except OSError:
        return None


@lru_cache(maxsize=8)
def _load_cached(
    root: str, texts: Path | None, stamp: int | None
) -> tuple[Mapping[str, Instrument], tuple[str, ...]]:
    del stamp  # part of the cache key only: a replaced texts file is read again
    instruments, problems = _load(Path(root), texts)
    return MappingProxyType(instruments), tuple(problems)


def _load(root: Path, texts: Path | None) -> tuple[dict[str, Instrument], list[str]]:
    problems: list[str] = []
    instruments: dict[str, Instrument] = {}
    files = sorted(root.glob("*.yaml"))
    if not files:
        problems.append(f"instruments: (folder): no instrument definitions in {root}")
    for path in files:
        rel = f"instruments/{path.name}"
        instrument = _read_definition(path, rel, problems)
        if instrument is None:
            continue
        if instrument.id in instruments:
            problems.append(f"{rel}: {instrument.id}: duplicate instrument id")
            continue
        found = check_definition(instrument)
        problems.extend(f"{rel}: {instrument.id}: {message}" for message in found)
        if path.stem != instrument.id:
            problems.append(f"{rel}: {instrument.id}: file name must be {instrument.id}.yaml")
        if instrument.wording is not Wording.PARAPHRASE:
            problems.append(
                f"{rel}: {instrument.id}: wording: repository files hold backpath's paraphrase "
                "only (wording: paraphrase); official text comes from a clinic-supplied file"
            )
        instruments[instrument.id] = instrument
    if texts is not None:
        texts_file, found_texts = read_texts(texts)
        problems.extend(found_texts)
        if texts_file is not None:
            for ident, official in texts_file.instruments.items():
                if ident not in instruments:
                    problems.append(
                        f"{texts}: {ident}: unknown instrument; known instruments: "
                        f"{', '.join(sorted(instruments))}"
                    )
                    continue
                replaced, found_texts = apply_texts(instruments[ident], official, str(texts))
                problems.extend(found_texts)
                instruments[ident] = replaced
    return instruments, problems


def _read_definition(path: Path, rel: str, problems: list[str]) -> Instrument | None:
    try:
        with path.open(encoding="utf-8") as handle:
            data = safe_load_yaml(handle)
    except OSError as exc:
        problems.append(f"{rel}: (file): cannot read: {exc.strerror or exc}")
        return None
    except yaml.YAMLError as exc:
        problems.append(f"{rel}: (file): not valid YAML: {exc}")
        return None
    ident = data.get("id") if isinstance(data, dict) else None
    ident = ident if isinstance(ident, str) else path.stem
    try:
        return Instrument.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            where = _where(data, error["loc"])
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                valid = _valid_keys(Instrument, error["loc"])
                if valid:
                    message = f"unknown key; valid keys: {', '.join(valid)}"
            problems.append(f"{rel}: {ident}: {where}: {message}")
    return None


def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    """A readable path into the file: list positions are shown by the entry's id."""
    parts: list[str] = []
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(part, int) and isinstance(node, dict) and isinstance(node.get("id"), str):
            parts.append(node["id"])
        else:
            parts.append(str(part))
    return ".".join(parts)


def _valid_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the model that an ``extra_forbidden`` error sits in."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        candidates = [info.annotation, *_type_args(info.annotation)]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))


def _type_args(annotation: Any) -> list[Any]:
    """Every type nested in an annotation (``tuple[Item, ...] | None`` -> ``Item``...)."""
    found: list[Any] = []
    for arg in getattr(annotation, "__args__", ()):
        found.append(arg)
        found.extend(_type_args(arg))
    return found


def check_definition(instrument: Instrument) -> list[str]:
    """Cross-field problems of one schema-valid instrument, as ``field: message``."""
    problems: list[str] = []
    problems.extend(_check_items(instrument))
    if problems:  # later checks need every item's options
        return problems
    problems.extend(_check_scoring(instrument))
    problems.extend(_check_bands(instrument))
    if not problems:
        problems.extend(_check_strata(instrument))
    low, high = _rules.score_range(instrument.scoring.method, instrument, instrument.items)
    if Fraction(str(instrument.minimal_important_change.absolute)) > high - low:
        problems.append(
            "minimal_important_change.absolute: larger than the whole score range "
            f"({_fmt(low)}-{_fmt(high)})"
        )
    return problems


def _check_items(instrument: Instrument) -> Iterator[str]:
    set_ids = [response_set.id for response_set in instrument.response_sets]
    for ident in _duplicates(set_ids):
        yield f"response_sets.{ident}: duplicate response set id"
    used = {item.responses for item in instrument.items}
    for ident in set_ids:
        if ident not in used:
            yield f"response_sets.{ident}: not used by any item"
    for ident in _duplicates([item.id for item in instrument.items]):
        yield f"items.{ident}: duplicate item id"
    for position, item in enumerate(instrument.items, start=1):
        if item.number != position:
            yield f"items.{item.id}.number: is {item.number}, expected {position} (items in order)"
        if item.responses is not None and item.responses not in set_ids:
            yield f"items.{item.id}.responses: unknown response set {item.responses!r}"
            continue
        options = instrument.options_for(item)
        scores = [option.score for option in options]
        if scores != sorted(scores):
            yield f"items.{item.id}.options: list options in ascending score order"
        if len({option.text for option in options}) != len(options):
            yield f"items.{item.id}.options: two options have the same text"
        if len(set(scores)) < 2:
            yield f"items.{item.id}.options: every option has the same score"


def _check_scoring(instrument: Instrument) -> Iterator[str]:
    method = instrument.scoring.method
    missing = instrument.missing_data.max_missing
    if missing >= len(instrument.items):
        yield "missing_data.max_missing: at least one item must be answered"
    if method is ScoringMethod.SUM and missing > 0:
        yield (
            "missing_data.max_missing: must be 0 for a sum (a sum over fewer items would "
            "understate the score); use mean or percent_of_answered"
        )
    if method is ScoringMethod.PERCENT_OF_ANSWERED:
        for item in instrument.items:
            if min(instrument.allowed_scores(item)) != 0:
                yield f"items.{item.id}.options: percent_of_answered needs a lowest score of 0"
    ids = {item.id for item in instrument.items}
    for ident in _duplicates([subscale.id for subscale in instrument.scoring.subscales]):
        yield f"scoring.subscales.{ident}: duplicate subscale id"
    for subscale in instrument.scoring.subscales:
        for ident in sorted(set(subscale.items) - ids):
            yield f"scoring.subscales.{subscale.id}.items: unknown item {ident!r}"
        for ident in _duplicates(list(subscale.items)):
            yield f"scoring.subscales.{subscale.id}.items: {ident!r} listed twice"
        if subscale.method is ScoringMethod.SUM and missing > 0:
            yield f"scoring.subscales.{subscale.id}.method: a sum needs max_missing 0"


def _check_bands(instrument: Instrument) -> Iterator[str]:
    if instrument.interpretation is None:
        return
    bands = instrument.interpretation.bands
    for ident in _duplicates([band.id for band in bands]):
        yield f"interpretation.bands.{ident}: duplicate band id"
    low, high = _rules.score_range(instrument.scoring.method, instrument, instrument.items)
    if Fraction(str(bands[0].min)) != low:
        yield f"interpretation.bands.{bands[0].id}.min: must be the lowest score {_fmt(low)}"
    if Fraction(str(bands[-1].max)) != high:
        yield f"interpretation.bands.{bands[-1].id}.max: must be the highest score {_fmt(high)}"
    for previous, band in itertools.pairwise(bands):
        step = Fraction(str(band.min)) - previous.upper
        if step <= 0:
            yield f"interpretation.bands.{band.id}.min: overlaps band {previous.id!r}"
        elif step > 1:
            yield f"interpretation.bands.{band.id}.min: leaves a gap after band {previous.id!r}"


def _check_strata(instrument: Instrument) -> Iterator[str]:
    if instrument.stratification is None:
        return
    strata = instrument.stratification.strata
    for ident in _duplicates([stratum.id for stratum in strata]):
        yield f"stratification.strata.{ident}: duplicate stratum id"
    names = {TOTAL} | {subscale.id for subscale in instrument.scoring.subscales}
    unknown = False
    for stratum in strata:
        for bound in stratum.when:
            if bound.score not in names:
                unknown = True
                yield (
                    f"stratification.strata.{stratum.id}.when: unknown score {bound.score!r}; "
                    f"use one of {', '.join(sorted(names))}"
                )
    if unknown:
        return
    yield from _prove_one_stratum(instrument, strata)


def _prove_one_stratum(instrument: Instrument, strata: tuple[Stratum, ...]) -> Iterator[str]:
    """Try every possible set of answers: exactly one stratum must apply to each."""
    choices: list[list[int | None]] = []
    for item in instrument.items:
        choice: list[int | None] = list(instrument.allowed_scores(item))
        if instrument.missing_data.max_missing:
            choice.append(None)
        choices.append(choice)
    combinations = 1
    for choice in choices:
        combinations *= len(choice)
    if combinations > _MAX_COMBINATIONS:
        yield (
            f"stratification: {combinations} answer combinations are too many to prove that "
            "exactly one stratum applies"
        )
        return
    seen: set[str] = set()
    for combination in itertools.product(*choices):
        missing = sum(answer is None for answer in combination)
        if missing > instrument.missing_data.max_missing:
            continue
        answers = {
            item.id: answer
            for item, answer in zip(instrument.items, combination, strict=True)
            if answer is not None
        }
        values = _rules.exact_scores(instrument, answers)
        applying = [stratum.id for stratum in strata if stratum.applies(values)]
        if len(applying) != 1:
            described = ", ".join(f"{name} {_fmt(value)}" for name, value in values.items())
            yield (
                f"stratification: {len(applying)} strata apply ({', '.join(applying) or 'none'}) "
                f"when {described}; exactly one must"
            )
            return
        seen.add(applying[0])
    for stratum in strata:
        if stratum.id not in seen:
            yield f"stratification.strata.{stratum.id}: can never apply (unreachable)"


def _duplicates(values: list[str]) -> list[str]:
    return sorted({value for value in values if values.count(value) > 1})


def _fmt(value: Fraction) -> str:
    return str(_rules.present(value, 2))
