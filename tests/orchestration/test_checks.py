"""Asset checks against a real load: they pass on what the pipeline wrote and catch what a
broken load or a changed API would leave behind."""

from __future__ import annotations

import duckdb
import pytest
from dagster import AssetCheckSeverity, AssetKey, AssetSelection, instance_for_test, materialize

from assets.checks import TableState, column_changes, has_rows_result
from assets.registry import POSIT_CONNECT
from orchestration.definitions import build_definitions
from tests.conftest import duckdb_file


@pytest.fixture
def instance():
    with instance_for_test() as instance:
        yield instance


def run(instance, *, load: bool):
    """Load the Posit tables and check them (`load`), or only run their checks."""
    defs = build_definitions()
    assets = [a for a in defs.assets if a.node_def.name == "posit_connect_tables"]
    checks = [c for c in defs.asset_checks if c.node_def.name == "posit_connect_table_checks"]
    keys = [key for a in assets for key in a.keys]
    selection = None if load else AssetSelection.checks_for_assets(*keys)
    result = materialize(
        [*assets, *checks],
        selection=selection,
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
    )
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def execute(sql: str) -> None:
    with duckdb.connect(str(duckdb_file(POSIT_CONNECT))) as con:
        con.execute(f"SET schema = '{POSIT_CONNECT.dataset_name}'")
        con.execute(sql)


def test_every_check_passes_after_a_load_then_a_duplicated_or_missing_key_fails(
    posit_sim, instance
):
    """One flow on one load: the checks pass on what it wrote, then catch the keys broken in it."""
    evaluations = run(instance, load=True)

    assert len(evaluations) == 4 * len(POSIT_CONNECT.endpoints) - 2 * 1  # oauth_credentials: no key
    assert not {key: e.description for key, e in evaluations.items() if not e.passed}
    # an API key exchanges no credentials: the table stays empty, and that is no warning
    no_exchange = evaluations["oauth_credentials", "has_current_rows"].description
    assert (
        no_exchange
        == "No rows, as expected: CONNECT_CONTENT_SESSION_TOKEN is not set on this install."
    )
    content = evaluations["content", "has_current_rows"]
    assert content.metadata["current_rows"].value == posit_sim.expected_counts()["content"]
    assert "(TRUE)" not in content.description and "_dlt_valid_to" not in content.description
    # dlt's schema lists its columns, yet no column was removed: it was never created
    never_created = evaluations["oauth_credentials", "schema_unchanged"].description
    assert never_created.startswith("not loaded yet")

    guid = posit_sim.data.content[0]["guid"]
    one_row = f"FROM content WHERE guid = '{guid}' LIMIT 1"
    execute(f"INSERT INTO content SELECT * REPLACE ('copy-' || _dlt_id AS _dlt_id) {one_row}")
    execute(
        f"INSERT INTO content SELECT * REPLACE ('n-' || _dlt_id AS _dlt_id, NULL AS guid) {one_row}"
    )

    evaluations = run(instance, load=False)

    unique = evaluations["content", "key_is_unique"]
    assert not unique.passed
    assert unique.severity == AssetCheckSeverity.ERROR
    assert unique.metadata["sample"].value == [f"{guid} (2 rows)"]
    not_null = evaluations["content", "key_is_not_null"]
    assert not not_null.passed
    assert not_null.metadata["rows_without_key"].value == 1
    assert evaluations["content_item", "key_is_unique"].passed


def test_a_table_that_should_have_rows_under_the_configured_auth_warns_when_empty():
    endpoint = POSIT_CONNECT.catalog["oauth_credentials"]
    asset = AssetKey(["posit_connect", "oauth_credentials"])
    never_loaded = TableState(exists=False)
    assert has_rows_result(asset, endpoint, never_loaded, "the table was never loaded").passed
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CONNECT_CONTENT_SESSION_TOKEN", "a session token")
        result = has_rows_result(asset, endpoint, never_loaded, "the table was never loaded")
    assert not result.passed and result.severity == AssetCheckSeverity.WARN


def test_a_removed_or_retyped_column_warns_with_the_difference(posit_sim, instance):
    run(instance, load=True)  # records each table's columns
    execute("ALTER TABLE tags DROP COLUMN name")
    # dlt's answer to a field that changes type: a variant column next to the old one
    execute("ALTER TABLE users ADD COLUMN username__v_bigint BIGINT")

    evaluations = run(instance, load=False)

    tags = evaluations["tags", "schema_unchanged"]
    assert not tags.passed
    assert tags.severity == AssetCheckSeverity.WARN
    assert "against dlt's schema: removed: name (text)" in tags.description
    assert "since the last check: removed: name (text)" in tags.description
    users = evaluations["users", "schema_unchanged"]
    assert not users.passed
    assert "since the last check: retyped: username (text -> also bigint)" in users.description
    assert evaluations["content", "schema_unchanged"].passed


def test_checks_without_a_destination_fail_with_the_reason(instance):
    evaluations = run(instance, load=False)

    assert evaluations
    for evaluation in evaluations.values():
        assert not evaluation.passed
        assert "The Posit Connect destination could not be read" in evaluation.description
    assert not duckdb_file(POSIT_CONNECT).exists()  # read-only: nothing created


def test_column_changes():
    before = {"id": "bigint", "name": "text", "gone": "text"}
    after = {"id": "text", "name": "text", "name__v_bigint": "bigint", "new": "double"}

    changes = column_changes(before, after)

    assert changes.added == {"new": "double"}
    assert changes.removed == {"gone": "text"}
    assert changes.retyped == {"id": "bigint -> text", "name": "text -> also bigint"}
    assert changes.breaking
    assert not column_changes(before, {**before, "new": "text"}).breaking
