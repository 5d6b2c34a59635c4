"""The `dlt-arrow` contender (workload a): what dlt alone costs to load the same rows with the
same history when no Python touches a row: how fast a loader built on dlt can be once the
response is parsed in C++ and `tags` is not a nested table.

The floor's request, then DuckDB's C++ JSON reader builds one Arrow table with a row hash
(no Python per row; `owner` and `tags` stay nested, so dlt stores them as JSON columns and
makes no nested table), and `pipeline.run` loads it as `ours` loads `content`: merge
``scd2``, Parquet, into DuckDB. No Dagster, no flattening, no type hints. The time runs from
the request to the end of `pipeline.run`; `dlt_seconds` is `pipeline.run` alone.

`dlt_one_row_seconds` is what dlt costs whatever the data: after the timed run, a fresh
pipeline into a fresh DuckDB file loads the table's first row alone, the same way. It runs
warm (imports and caches from the timed run), so it is, if anything, low.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow as pa

# Before the clock, as `ours` does when its code location loads (assets/_arrow.py imports
# pandas and pyarrow.parquet, which dlt's Parquet writer would otherwise import inside the
# first pipeline.run, about 1.5 s on this machine).
from assets.posit_connect.settings import CATALOG
from bench.floor import Floor


def make_pipeline(workdir: Path, name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(workdir / f"{name}.duckdb")),
        dataset_name="posit_connect_data",
        pipelines_dir=str(workdir / "pipelines"),
    )


def load(pipeline: dlt.Pipeline, rows: pa.Table) -> float:
    """Seconds `pipeline.run` takes to load `rows` as `ours` loads `content`."""
    started = time.perf_counter()
    pipeline.run(
        rows,
        table_name="content",
        write_disposition=CATALOG["content"].write_disposition,
        loader_file_format="parquet",
    ).raise_on_failed_jobs()
    return time.perf_counter() - started


def run(url: str, api_key: str, workdir: Path, tables: list[str]) -> dict[str, Any]:
    if tables != ["content"]:
        raise SystemExit("dlt-arrow measures workload a (content) only")
    pipeline = make_pipeline(workdir, "dlt_arrow")
    started = time.perf_counter()
    body = Floor(url, api_key, workdir).content()
    with duckdb.connect() as con:
        rows = con.sql(
            f"SELECT *, md5(CAST(c AS VARCHAR)) AS _dlt_id FROM read_json('{body}') AS c"
        ).to_arrow_table()
    dlt_seconds = load(pipeline, rows)
    seconds = time.perf_counter() - started
    with pipeline.sql_client() as client:
        count = client.execute_sql("SELECT count(*) FROM content")[0][0]
    return {
        "seconds": seconds,
        "dlt_seconds": dlt_seconds,
        "dlt_one_row_seconds": load(make_pipeline(workdir, "dlt_one_row"), rows.slice(0, 1)),
        "rows": {"content": count},
    }
