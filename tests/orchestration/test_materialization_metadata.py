"""What each table's materialisation shows in the Dagster UI: the current row count, rows
loaded, requests, what changed, and columns in an admin's order, without dlt's bookkeeping."""

from __future__ import annotations

from dagster import AssetKey, DagsterInstance

from assets.registry import OSCAR, POSIT_CONNECT
from orchestration.definitions import build_definitions
from tests.conftest import current_count
from tests.helpers import materialize_api

NOISE = ("jobs", "destination_type", "first_run", "dagster_dlt/source", "dagster_dlt/pipeline")


def latest_metadata(instance: DagsterInstance, table: str, api: str = "posit_connect") -> dict:
    event = instance.get_latest_materialization_event(AssetKey([api, table]))
    assert event is not None, table
    return event.asset_materialization.metadata


def test_every_table_reports_its_current_rows_and_what_each_run_did(posit_sim):
    """A first load, an unchanged rerun (zero rows loaded) and a run after changes (what
    changed): one flow on one instance."""
    instance = DagsterInstance.ephemeral()
    assert materialize_api(POSIT_CONNECT, instance=instance).success

    for table in POSIT_CONNECT.catalog:
        metadata = latest_metadata(instance, table)
        # oauth_credentials is never created with an API key: 0 rows
        expected = 0 if table == "oauth_credentials" else current_count(POSIT_CONNECT, table)
        assert metadata["dagster/row_count"].value == expected, table
        assert metadata["rows_loaded"].value >= 0, table
        assert not [name for name in NOISE if name in metadata], table
    content = latest_metadata(instance, "content")
    assert content["requests"].value == 1
    assert content["new_items"].value == content["dagster/row_count"].value
    assert (content["changed_items"].value, content["deleted_items"].value) == (0, 0)
    columns = [c.name for c in content["dagster/column_schema"].schema.columns]
    first_dlt = next(i for i, name in enumerate(columns) if name.startswith("_dlt_"))
    assert columns[0] == "guid"
    assert all(name.startswith("_dlt_") for name in columns[first_dlt:])
    for column in content["dagster/column_schema"].schema.columns:
        assert not [c for c in column.constraints.other if c.startswith("x-")], column.name
    for table in POSIT_CONNECT.catalog:  # every column of every table says what it holds
        metadata = latest_metadata(instance, table)
        schemas = [v.schema for v in metadata.values() if hasattr(v, "schema")]
        undescribed = [c.name for s in schemas for c in s.columns if not c.description]
        assert not undescribed, table

    assert materialize_api(POSIT_CONNECT, instance=instance).success
    assert latest_metadata(instance, "content_item")["rows_loaded"].value == 0

    posit_sim.mutate("add_content", {"n": 3})
    posit_sim.mutate("update_content", {"n": 2})
    posit_sim.mutate("delete_content", {"n": 1})
    assert materialize_api(POSIT_CONNECT, instance=instance).success

    for table in ("content", "content_item"):
        metadata = latest_metadata(instance, table)
        changes = [metadata[f"{kind}_items"].value for kind in ("new", "changed", "deleted")]
        assert changes == [3, 2, 1], table


def test_asset_specs_carry_no_unserializable_dlt_objects():
    specs = build_definitions().resolve_all_asset_specs()
    assert specs
    for spec in specs:
        assert not [key for key in spec.metadata if key.startswith("dagster_dlt/")], spec.key


def test_every_oscar_table_reports_its_current_rows_and_columns(oscar_sim):
    instance = DagsterInstance.ephemeral()
    assert materialize_api(OSCAR, instance=instance).success

    for table in OSCAR.catalog:
        metadata = latest_metadata(instance, table, api="oscar")
        assert metadata["dagster/row_count"].value == current_count(OSCAR, table), table
        assert metadata["rows_loaded"].value > 0, table
        assert not [name for name in NOISE if name in metadata], table
        schemas = [v.schema for v in metadata.values() if hasattr(v, "schema")]
        undescribed = [c.name for s in schemas for c in s.columns if not c.description]
        assert not undescribed, table
