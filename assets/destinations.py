"""Where the pipelines write: DuckDB files by default, any dlt destination by configuration.

LOAD_DESTINATION names a dlt destination (duckdb, postgres, filesystem, bigquery, ...); its
credentials come from dlt's own config (DESTINATION__POSTGRES__CREDENTIALS, secrets.toml).
For DuckDB, DUCKDB_DIR holds one file per API (relative paths are taken from the repo root).

The tables are merged (scd2 history, insert-only events, delete-insert jobs). A destination
without merges (filesystem, athena without iceberg) would have dlt append instead, silently:
every run would add another full copy of each catalog table, all of it "current". A load there
stops with a message unless LOAD_MERGE_FALLBACK=append says that append-only is what you want.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import dlt
from dlt.common.destination import Destination
from dlt.common.pipeline import get_dlt_pipelines_dir
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.destinations.sql_client import SqlClientBase
from dlt.pipeline.pipeline import Pipeline
from filelock import FileLock, Timeout

from assets._catalog import Endpoint, merge_strategies
from assets.duckdb_files import WORKING_DIR_MODE, publishing, working_path
from assets.errors import ConfigurationError
from assets.registry import SourceInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DESTINATION = "duckdb"
DEFAULT_DUCKDB_DIR = "data"
# Parquet skips dlt's generated INSERT statements, by far the slowest part of a DuckDB load;
# PostgreSQL loads CSV with COPY (26k Posit rows: 3.8 s instead of 6.6 s, same tables and types).
FILE_FORMATS = {"duckdb": "parquet", "filesystem": "parquet", "postgres": "csv"}
MERGE_FALLBACK_SETTING = "LOAD_MERGE_FALLBACK"
MERGE_FALLBACKS = ("append",)


def destination_name() -> str:
    return os.environ.get("LOAD_DESTINATION", "").strip() or DEFAULT_DESTINATION


def duckdb_dir() -> Path:
    configured = Path(os.environ.get("DUCKDB_DIR", "").strip() or DEFAULT_DUCKDB_DIR)
    return configured if configured.is_absolute() else REPO_ROOT / configured


def duckdb_path(info: SourceInfo) -> Path:
    """The file people read (published after each successful load: assets/duckdb_files.py)."""
    return duckdb_dir() / info.duckdb_file


def make_pipeline(info: SourceInfo, read_only: bool = False) -> Pipeline:
    """The API's pipeline. On DuckDB it writes the loader's working file; `read_only` (for
    readers: asset checks, row counts, people) opens the published file read-only instead, so
    a missing file is an error instead of a new empty database and no load is held up."""
    name = destination_name()
    if name == "duckdb":
        published = duckdb_path(info)
        path = published if read_only else working_path(published)
        with suppress(OSError):  # a read-only DUCKDB_DIR fails the load, saying so, not here
            path.parent.mkdir(
                mode=0o755 if read_only else WORKING_DIR_MODE, parents=True, exist_ok=True
            )
        destination = dlt.destinations.duckdb(
            credentials=DuckDbCredentials(
                str(path), read_only=read_only, global_config=duckdb_settings()
            )
        )
    else:
        destination = name
    return dlt.pipeline(
        pipeline_name=info.pipeline_name,
        destination=destination,
        dataset_name=info.dataset_name,
    )


@contextmanager
def published_after_load(info: SourceInfo, log: logging.Logger) -> Iterator[None]:
    """On DuckDB, around one load holding `exclusive_load`: the loader's working file is
    ready and free, and is published for readers when the block ends without an error."""
    if destination_name() != "duckdb":
        yield
        return
    with publishing(duckdb_path(info), duckdb_settings(), log, info.name):
        yield


DEFAULT_DUCKDB_MEMORY_LIMIT = "64MB"


def duckdb_settings() -> dict[str, str]:
    """DuckDB's memory limit (DUCKDB_MEMORY_LIMIT, default 64MB). DuckDB otherwise keeps up to
    80% of the machine's memory as cache, so merging a million rows grows the run by hundreds
    of MB; within the limit it spills to disk and a run's memory stays flat however much it
    loads. 64MB is no slower than 128MB for the benchmark's loads and keeps 10,000,000 visits
    under 500 MB; 32MB made a 1,000,000-row merge several times slower (bench/README.md)."""
    limit = os.environ.get("DUCKDB_MEMORY_LIMIT", "").strip() or DEFAULT_DUCKDB_MEMORY_LIMIT
    return {"memory_limit": limit}


def load_lock_files(info: SourceInfo) -> list[Path]:
    """What one load of `info` must hold alone: the pipeline's working dir (dagster-dlt drops
    and rebuilds it at the start of every run) and, for DuckDB, the database file (one
    writing process at a time)."""
    locks = [Path(get_dlt_pipelines_dir()) / f"{info.pipeline_name}.lock"]
    if destination_name() == "duckdb":
        locks.append(duckdb_path(info).with_name(info.duckdb_file + ".lock"))
    return sorted(locks)  # one order everywhere: no deadlock between two loads


@contextmanager
def exclusive_load(
    info: SourceInfo, log: logging.Logger, report_every: float = 60.0
) -> Iterator[None]:
    """Wait until no other load of this API runs on this machine, then hold it off.

    Dagster's pools queue runs of one instance; this also queues runs of other instances and
    of the CLI without DAGSTER_HOME, which would otherwise fail on DuckDB's file lock or drop
    each other's pipeline working files (a plain dlt script does not take it). The locks are
    OS file locks: a killed process releases them.

    First it refuses a destination that cannot write the API's tables as they are designed
    (`check_write_dispositions`): the run fails at once, saying which setting to change."""
    appended = check_write_dispositions(info)
    if appended:
        log.warning(
            "%s: %s cannot merge; %s=append: every run appends its rows to %s",
            info.name,
            destination_name(),
            MERGE_FALLBACK_SETTING,
            ", ".join(sorted(appended)),
        )
    with ExitStack() as held:
        for path in load_lock_files(info):
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(path)
            waited = 0.0
            while True:
                try:
                    held.enter_context(lock.acquire(timeout=report_every if waited else 0))
                    break
                except Timeout:
                    log.info("%s: waiting for another load to finish (%s)", info.name, path)
                    waited += report_every
        yield


def merge_fallback() -> str | None:
    value = os.environ.get(MERGE_FALLBACK_SETTING, "").strip().lower() or None
    if value is not None and value not in MERGE_FALLBACKS:
        raise ConfigurationError(
            f"{MERGE_FALLBACK_SETTING}={value!r} is not understood; the only value is 'append'"
        )
    return value


def merge_support(info: SourceInfo, destination: str | None = None) -> dict[str, list[str]]:
    """{table: the merge strategies the destination offers for it} for every merged table,
    from dlt's own capabilities (no connection is made; named destinations resolve through
    their configured destination_type). An empty list: no merge at all, dlt appends instead."""
    capabilities = Destination.from_reference(destination or destination_name()).capabilities()
    return {
        endpoint.table: merge_strategies(capabilities, endpoint.table)
        for endpoint in info.endpoints
        if endpoint.load.merge_strategy is not None
    }


def check_write_dispositions(info: SourceInfo) -> list[str]:
    """Raise ConfigurationError, naming the settings, when the destination cannot write the
    API's tables as designed; return the tables dlt will append to because the user chose
    LOAD_MERGE_FALLBACK=append (empty on DuckDB, PostgreSQL and other SQL warehouses)."""
    name = destination_name()
    wanted = {e.table: e.load.merge_strategy for e in info.endpoints}
    support = merge_support(info, name)
    lacking = {
        t: wanted[t] for t, offered in support.items() if offered and wanted[t] not in offered
    }
    if lacking:  # dlt itself would fail these tables at normalize time, less clearly
        raise ConfigurationError(
            f"LOAD_DESTINATION={name} has no {_strategies(lacking)} merge, which "
            f"{info.title}'s tables {_tables(lacking)} need. Choose a destination that has it "
            "(duckdb, postgres, motherduck, bigquery, snowflake, ...)."
        )
    no_merge = {t: wanted[t] for t, offered in support.items() if not offered}
    if no_merge and merge_fallback() is None:
        raise ConfigurationError(
            f"LOAD_DESTINATION={name} cannot merge ({_strategies(no_merge)}: "
            f"{_tables(no_merge)}): dlt would append every run's rows instead, so catalog "
            "tables would keep one full copy per run and '_dlt_valid_to IS NULL' would no "
            f"longer mean current. Set {MERGE_FALLBACK_SETTING}=append to load an append-only "
            "copy on purpose (a catalog table's current rows are then its latest _dlt_load_id; "
            "see deploy/DEPLOY.md), or use a destination with merges (duckdb, postgres, "
            "motherduck, bigquery, snowflake, ...)."
        )
    return sorted(no_merge)


def _strategies(tables: dict[str, str]) -> str:
    return "/".join(sorted(set(tables.values())))


def _tables(tables: dict[str, str]) -> str:
    return ", ".join(sorted(tables))


def loader_file_format() -> str | None:
    return FILE_FORMATS.get(destination_name())


def current_row_counts(info: SourceInfo, pipeline: Pipeline | None = None) -> dict[str, int | None]:
    """Rows per table that describe the server now (None: the table was never loaded), in
    the data people read."""
    if pipeline is None and destination_name() == "duckdb" and not duckdb_path(info).exists():
        return dict.fromkeys(info.catalog)
    pipeline = pipeline or make_pipeline(info, read_only=True)
    with pipeline.sql_client() as client:
        return {endpoint.table: count_current_rows(client, endpoint) for endpoint in info.endpoints}


def count_current_rows(client: SqlClientBase[Any], endpoint: Endpoint) -> int | None:
    """The table's current rows through an open SQL client; None where it does not exist."""
    table = client.make_qualified_table_name(endpoint.table)
    current = endpoint.load.current_filter
    try:
        rows = client.execute_sql(f"SELECT count(*) FROM {table} WHERE {current}")
    except Exception:  # the table does not exist (yet)
        return None
    return int(rows[0][0])
