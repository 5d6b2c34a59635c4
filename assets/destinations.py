"""Where the pipelines write: DuckDB files by default, any dlt destination by configuration.

LOAD_DESTINATION names a dlt destination (duckdb, postgres, filesystem, bigquery, ...); its
credentials come from dlt's own config (DESTINATION__POSTGRES__CREDENTIALS, secrets.toml).
For DuckDB, DUCKDB_DIR holds one file per API (relative paths are taken from the repo root).
"""

from __future__ import annotations

import os
from pathlib import Path

import dlt
from dlt.pipeline.pipeline import Pipeline

from assets.registry import SourceInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DESTINATION = "duckdb"
DEFAULT_DUCKDB_DIR = "data"
# Parquet skips dlt's generated INSERT statements, by far the slowest part of a DuckDB load.
FILE_FORMATS = {"duckdb": "parquet", "filesystem": "parquet"}


def destination_name() -> str:
    return os.environ.get("LOAD_DESTINATION", "").strip() or DEFAULT_DESTINATION


def duckdb_dir() -> Path:
    configured = Path(os.environ.get("DUCKDB_DIR", "").strip() or DEFAULT_DUCKDB_DIR)
    return configured if configured.is_absolute() else REPO_ROOT / configured


def duckdb_path(info: SourceInfo) -> Path:
    return duckdb_dir() / info.duckdb_file


def make_pipeline(info: SourceInfo) -> Pipeline:
    name = destination_name()
    if name == "duckdb":
        path = duckdb_path(info)
        path.parent.mkdir(parents=True, exist_ok=True)
        destination = dlt.destinations.duckdb(credentials=str(path))
    else:
        destination = name
    return dlt.pipeline(
        pipeline_name=info.pipeline_name,
        destination=destination,
        dataset_name=info.dataset_name,
    )


def loader_file_format() -> str | None:
    return FILE_FORMATS.get(destination_name())


def current_row_counts(info: SourceInfo, pipeline: Pipeline | None = None) -> dict[str, int | None]:
    """Rows per table that describe the server now (None: the table was never loaded)."""
    pipeline = pipeline or make_pipeline(info)
    counts: dict[str, int | None] = {}
    with pipeline.sql_client() as client:
        for endpoint in info.endpoints:
            table = client.make_qualified_table_name(endpoint.table)
            try:
                rows = client.execute_sql(
                    f"SELECT count(*) FROM {table} WHERE {endpoint.current_filter}"
                )
                counts[endpoint.table] = int(rows[0][0])
            except Exception:  # the table does not exist (yet)
                counts[endpoint.table] = None
    return counts
