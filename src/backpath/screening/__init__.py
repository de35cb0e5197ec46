"""Population screening: the knowledge base compiled to one SQL query over a whole file.

``triage_sql`` compiles every triage rule, the findings' ``implies`` and the safety
meta-rules into one query that returns, per row, the urgency, the fired rules, the concerns
and whether the interview is complete - with the same three-valued semantics as ``assess``
(SQL ``NULL`` is *unknown*). ``Screening`` runs it where the data is read: DuckDB embedded,
or Spark (``engine="spark"``); input validation (``staging``) and the summary are SQL too,
and only rows with a narrative or instruments pass through Python. Tests prove DuckDB,
Spark and ``assess`` agree row by row on generated populations.
"""

from backpath.screening.batch import screen_rows
from backpath.screening.compile import screening_columns, triage_sql
from backpath.screening.pipeline import Screening, ScreenRun, input_format
from backpath.screening.staging import ScreeningInputError
from backpath.screening.summary import ScreeningSummary

__all__ = [
    "ScreenRun",
    "Screening",
    "ScreeningInputError",
    "ScreeningSummary",
    "input_format",
    "screen_rows",
    "screening_columns",
    "triage_sql",
]
