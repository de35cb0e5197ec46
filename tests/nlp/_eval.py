"""The evaluation script `benchmarks/nlp_eval.py`, loaded once for the corpus tests: the
tests and the benchmark read the corpora and score the reader the same way."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def load_eval() -> ModuleType:
    """The `nlp_eval` benchmark module (cached in `sys.modules` after the first load)."""
    cached = sys.modules.get("nlp_eval")
    if cached is not None:
        return cached
    spec = importlib.util.spec_from_file_location("nlp_eval", ROOT / "benchmarks" / "nlp_eval.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["nlp_eval"] = module
    spec.loader.exec_module(module)
    return module


NARRATIVES = ROOT / "tests" / "data" / "narratives"


def corpus_file(name: str) -> list[dict[str, Any]]:
    """The narratives of one development corpus file (``tests/data/narratives/<name>``)."""
    data = yaml.safe_load((NARRATIVES / name).read_text(encoding="utf-8"))
    return list(data["narratives"])


def red_flags() -> set[str]:
    """The finding codes marked ``red_flag: true`` (as ``nlp_eval`` scores them)."""
    return set(load_eval().red_flag_codes())
