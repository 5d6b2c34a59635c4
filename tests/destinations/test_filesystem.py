"""The filesystem destination (Parquet files under a bucket URL; here a local `file://` dir).

dlt's filesystem destination has no merges (only Delta/Iceberg tables have some, and none
has scd2): dlt appends instead. The project refuses that unless LOAD_MERGE_FALLBACK=append
says an append-only copy is wanted; then every run writes Parquet files per table, catalog
tables get one full copy per run and incremental tables only what is new."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from assets._catalog import Endpoint, FanOut, Latest, Snapshot
from assets.destinations import check_write_dispositions
from assets.errors import ConfigurationError
from assets.registry import POSIT_CONNECT, SOURCES, SourceInfo
from tests.helpers import materialize_api, materialized_tables


def lists_everything(endpoint: Endpoint) -> bool:
    """Every run loads the whole table (the others load only what is new): snapshots, jobs,
    and per-item tables whose parents have no field that tells a change (group members)."""
    load = endpoint.load
    return isinstance(load, Snapshot | Latest) or (
        isinstance(load, FanOut) and load.change_field is None
    )


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "bucket"
    monkeypatch.setenv("LOAD_DESTINATION", "filesystem")
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", root.as_uri())
    return root


def parquet_rows(bucket: Path, info: SourceInfo, table: str) -> dict[str, int]:
    """{load id: rows} of one table, read from its Parquet files."""
    files = sorted((bucket / info.dataset_name / table).glob("*.parquet"))
    if not files:
        return {}
    paths = ", ".join(f"'{f}'" for f in files)
    rows = duckdb.sql(
        f"SELECT _dlt_load_id, count(*) FROM read_parquet([{paths}]) GROUP BY ALL"
    ).fetchall()
    return dict(rows)


def test_without_the_fallback_setting_a_load_stops_and_says_what_to_set(api, bucket):
    scenario, _sim = api

    result = materialize_api(scenario.info)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "LOAD_DESTINATION=filesystem cannot merge" in message
    assert "LOAD_MERGE_FALLBACK=append" in message
    assert not list(bucket.rglob("*.parquet"))  # nothing half-written


def test_with_append_each_table_is_written_as_parquet_files(api, bucket, monkeypatch):
    scenario, sim = api
    monkeypatch.setenv("LOAD_MERGE_FALLBACK", "append")

    result = materialize_api(scenario.info)

    assert result.success
    assert materialized_tables(result) == set(scenario.info.catalog)
    loaded = {
        t: sum(parquet_rows(bucket, scenario.info, t).values()) for t in scenario.info.catalog
    }
    assert {t: loaded[t] for t in scenario.expected_counts(sim)} == scenario.expected_counts(sim)


def test_a_rerun_appends_one_copy_of_full_tables_and_nothing_to_incremental_ones(
    api, bucket, monkeypatch
):
    scenario, sim = api
    monkeypatch.setenv("LOAD_MERGE_FALLBACK", "append")
    assert materialize_api(scenario.info).success
    first = {t: parquet_rows(bucket, scenario.info, t) for t in scenario.expected_counts(sim)}

    assert materialize_api(scenario.info).success

    expected = scenario.expected_counts(sim)
    for table, count in expected.items():
        loads = parquet_rows(bucket, scenario.info, table)
        new = {load: rows for load, rows in loads.items() if load not in first[table]}
        if lists_everything(scenario.info.catalog[table]) and count:
            # the latest load holds the server's rows: the current copy
            assert list(new.values()) == [count], table
        else:  # incremental: the state came back from the bucket, nothing new to load
            assert new == {}, table


def test_sql_destinations_need_no_fallback(monkeypatch):
    for destination in ("duckdb", "postgres", "motherduck", "bigquery", "snowflake"):
        monkeypatch.setenv("LOAD_DESTINATION", destination)
        for info in SOURCES:
            assert check_write_dispositions(info) == [], destination


def test_a_named_destination_is_judged_by_its_type(monkeypatch):
    monkeypatch.setenv("LOAD_DESTINATION", "lake")
    monkeypatch.setenv("DESTINATION__LAKE__DESTINATION_TYPE", "filesystem")

    with pytest.raises(ConfigurationError, match="LOAD_DESTINATION=lake cannot merge"):
        check_write_dispositions(POSIT_CONNECT)


def test_a_destination_without_a_strategy_the_tables_need_is_refused(monkeypatch):
    monkeypatch.setenv("LOAD_DESTINATION", "clickhouse")  # merges, but not insert-only
    monkeypatch.setenv("LOAD_MERGE_FALLBACK", "append")  # no fallback for a missing strategy

    with pytest.raises(ConfigurationError) as refused:
        check_write_dispositions(POSIT_CONNECT)

    message = str(refused.value)
    assert "LOAD_DESTINATION=clickhouse has no insert-only merge" in message
    assert "audit_logs" in message and "content_visits" in message


def test_an_unknown_fallback_is_refused(monkeypatch):
    monkeypatch.setenv("LOAD_DESTINATION", "filesystem")
    monkeypatch.setenv("LOAD_MERGE_FALLBACK", "replace")

    with pytest.raises(ConfigurationError, match="LOAD_MERGE_FALLBACK='replace'"):
        check_write_dispositions(POSIT_CONNECT)
