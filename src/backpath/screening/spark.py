"""The Spark engine: the same staging and triage SQL, run by Spark SQL through pyspark.

``spark_screen`` reads a CSV (every cell as text) or Parquet file with Spark's own readers,
numbers the rows in file order without a global sort, runs the validation SQL of
``staging`` (Spark dialect) and the compiled triage query of ``compile`` unchanged, and
writes the screened rows as Parquet part files for the pipeline to summarise. Spark needs
Java 17 or later and ``pip install 'backpath[spark]'``; ``master`` is passed through
(``local[2]``, ``spark://host:7077``, ``yarn``...).

Row numbers: ``monotonically_increasing_id`` puts the partition index in the upper bits and
the position inside the partition in the lower 33; a file's partitions follow its byte
order, so one small count per partition turns the id into the row number.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path
from typing import Any

from backpath.kb import KnowledgeBase
from backpath.screening.compile import triage_sql
from backpath.screening.staging import ERROR_COLUMN, LINE_COLUMN, SPARK, staging_sql

PYSPARK_REQUIREMENT = "pyspark>=4.0,<5"


def spark_available() -> str | None:
    """``None`` when pyspark and Java are installed, else what is missing."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return f"pyspark is not installed (pip install '{PYSPARK_REQUIREMENT}')"
    if shutil.which("java") is None and not _java_home():
        return "Java is not installed (Spark needs Java 17 or later)"
    return None


def _java_home() -> bool:
    import os

    home = os.environ.get("JAVA_HOME")
    return home is not None and (Path(home) / "bin" / "java").exists()


@cache
def spark_session(master: str) -> Any:
    """One Spark session per master for the life of the process (start-up takes seconds)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master)
        .appName("backpath-screen")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config(
            "spark.sql.optimizer.excludedRules",
            "org.apache.spark.sql.catalyst.optimizer.CollapseProject",
        )
        .getOrCreate()
    )


def spark_screen(
    kb: KnowledgeBase,
    source: Path,
    fmt: str,
    columns: list[tuple[str, bool]],
    out_dir: Path,
    master: str,
) -> None:
    """Validate and screen ``source`` in Spark; write the screened rows under ``out_dir``.

    ``columns`` are the file's columns as checked by the pipeline (name, read with the
    finding's own type). JSON Lines are screened by the DuckDB engine only.
    """
    from pyspark.sql import functions as F  # noqa: N812 - pyspark's own convention

    if fmt not in ("csv", "parquet"):
        raise ValueError("the Spark engine reads CSV and Parquet; use --engine duckdb")
    spark = spark_session(master)
    if fmt == "csv":
        frame = (
            spark.read.option("header", "true")
            .option("inferSchema", "false")
            .option("encoding", "UTF-8")
            .option("mode", "PERMISSIVE")
            .csv(str(source))
        )
        frame = frame.toDF(*[name for name, _ in columns])
        first_line = 2
    else:
        frame = spark.read.parquet(str(source))
        first_line = 1
    frame = frame.withColumn("__mid", F.monotonically_increasing_id())
    counts = dict(frame.groupBy(F.spark_partition_id().alias("part")).count().collect())
    offsets, total = {}, 0
    for part in sorted(counts):
        offsets[part] = total
        total += int(counts[part])
    low_bits = (1 << 33) - 1
    offset_case = (
        "CASE shiftright(__mid, 33) "
        + " ".join(f"WHEN {part} THEN {offset}" for part, offset in offsets.items())
        + " ELSE 0 END"
    )
    frame = frame.withColumn(
        LINE_COLUMN,
        F.expr(f"({offset_case}) + (__mid & {low_bits}) + {first_line}"),
    ).drop("__mid")
    frame.createOrReplaceTempView("source_rows")
    spark.sql(staging_sql(kb, columns, SPARK)).createOrReplaceTempView("screen_input")
    query = triage_sql(
        kb,
        table="screen_input",
        passthrough=[LINE_COLUMN, "age", ERROR_COLUMN],
        order_by_key=False,
    )
    spark.sql(query).write.mode("overwrite").parquet(str(out_dir))
