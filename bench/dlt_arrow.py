"""The `dlt-arrow` contender (workloads a and c): what dlt alone costs to load the same rows
with the same history when no Python touches a row: how fast a loader built on dlt can be
once the responses are parsed in C++ (and, for `content`, `tags` is not a nested table).

The floor's requests, then DuckDB's C++ JSON reader builds one Arrow table with an MD5 row
hash (no Python per row), and `pipeline.run` loads it with `ours`' write disposition for the
table, Parquet, into DuckDB:
- `content`: merge ``scd2`` with the hash as the version column (`row_hash`); `owner` and `tags`
  stay nested, so dlt stores them as JSON columns and makes no nested table;
- `content_visits`: merge ``insert-only`` on the hash as `row_key`, timestamps as DuckDB
  reads them.
No Dagster, no flattening, no type hints. The time runs from the first request to the end of
`pipeline.run`; `dlt_seconds` is `pipeline.run` alone.

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
from assets._arrow import ROW_VERSION
from assets.posit_connect.settings import CATALOG
from bench.floor import ROWS_SQL, Floor


def make_pipeline(workdir: Path, name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(workdir / f"{name}.duckdb")),
        dataset_name="posit_connect_data",
        pipelines_dir=str(workdir / "pipelines"),
    )


# The column that takes each row's hash: the version id of `content`, the key of visits.
HASH_COLUMN = {"content": ROW_VERSION, "content_visits": "row_key"}


def load(pipeline: dlt.Pipeline, table: str, rows: pa.Table) -> float:
    """Seconds `pipeline.run` takes to load `rows` as `ours` loads `table`."""
    endpoint = CATALOG[table]
    started = time.perf_counter()
    pipeline.run(
        rows,
        table_name=table,
        write_disposition=endpoint.load.write_disposition,
        primary_key=list(endpoint.key) if endpoint.load.merges_on_key else None,
        loader_file_format="parquet",
    ).raise_on_failed_jobs()
    return time.perf_counter() - started


def run(url: str, api_key: str, workdir: Path, tables: list[str]) -> dict[str, Any]:
    if len(tables) != 1 or tables[0] not in HASH_COLUMN:
        raise SystemExit(f"dlt-arrow measures one of {sorted(HASH_COLUMN)}, not {tables}")
    table = tables[0]
    pipeline = make_pipeline(workdir, "dlt_arrow")
    started = time.perf_counter()
    path = getattr(Floor(url, api_key, workdir), table)()
    with duckdb.connect() as con:
        floor_rows = ROWS_SQL[table].format(path=path)
        hashed = (
            f"SELECT *, md5(CAST(r AS VARCHAR)) AS {HASH_COLUMN[table]} FROM ({floor_rows}) AS r"
        )
        rows = con.sql(hashed).to_arrow_table()
    dlt_seconds = load(pipeline, table, rows)
    seconds = time.perf_counter() - started
    with pipeline.sql_client() as client:
        count = client.execute_sql(f"SELECT count(*) FROM {table}")[0][0]
    one_row = load(make_pipeline(workdir, "dlt_one_row"), table, rows.slice(0, 1))
    return {
        "seconds": seconds,
        "dlt_seconds": dlt_seconds,
        "dlt_one_row_seconds": one_row,
        "rows": {table: count},
    }
