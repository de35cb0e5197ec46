"""The evaluation script `benchmarks/nlp_eval.py`, loaded once for the corpus tests: the
tests and the benchmark read the corpora and score the reader the same way."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

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
