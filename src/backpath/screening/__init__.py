"""Population batch screening: the same rules, compiled to SQL, over a whole table.

``triage_sql`` compiles every triage rule (and the findings' ``implies``) into one SQL
query that returns, per row, the urgency and the fired rules - with the same three-valued
semantics as ``assess`` (SQL ``NULL`` is *unknown*). It runs in-process on DuckDB here and
the generated SQL uses only portable functions, so a health system can run it on the
distributed SQL engine it already has (Spark SQL, Trino, PostgreSQL). Tests prove the SQL
and ``assess`` agree on random intakes.
"""

from backpath.screening.batch import ScreeningSummary, screen_rows, triage_sql

__all__ = ["ScreeningSummary", "screen_rows", "triage_sql"]
