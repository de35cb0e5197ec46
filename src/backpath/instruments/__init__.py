"""Validated outcome and screening instruments: scores, risk strata and change over time.

Instruments are data (``backpath/knowledge/instruments/<id>.yaml``): items in backpath's own
paraphrased words, answer scores, the scoring rule, the missing-data rule, interpretation
bands, risk strata with matched care, the minimal important change, the licence note and the
references. This package scores any of them with one generic scorer:

>>> score("startback", [1, 1, 0, 0, 1, 1, 1, 1, 1]).stratum
'high'
>>> score("odi", [2] * 10).value, score("odi", [2] * 10).band
(40, 'moderate')

``compare`` reports the change between two administrations (absolute, relative, direction,
clinically important by the Ostelo 2008 "either" rule). ``validate_instruments`` lists
every problem in the definitions for ``backpath kb check``. Official licensed wording can be
loaded from a clinic-supplied file (``BACKPATH_INSTRUMENT_TEXTS``); scores never change.
"""

from backpath.instruments.catalogue import (
    INSTRUMENTS_DIR,
    get_instrument,
    instrument_ids,
    load_instruments,
    validate_instruments,
)
from backpath.instruments.change import Change, Direction, changes_from_baseline, compare
from backpath.instruments.schema import Instrument, Wording
from backpath.instruments.scoring import Answers, Score, score, score_many
from backpath.instruments.texts import TEXTS_ENV

__all__ = [
    "INSTRUMENTS_DIR",
    "TEXTS_ENV",
    "Answers",
    "Change",
    "Direction",
    "Instrument",
    "Score",
    "Wording",
    "changes_from_baseline",
    "compare",
    "get_instrument",
    "instrument_ids",
    "load_instruments",
    "score",
    "score_many",
    "validate_instruments",
]
