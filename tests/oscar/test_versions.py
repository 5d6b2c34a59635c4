"""Acceptance: OSCAR as it is deployed. Each version profile of the simulator (v3.6.3, a
default v4 with Kueue and volumes, a v4 without them, a fresh cluster) is loaded with the
deployment's Basic-auth account and checked through Dagster, twice: every table the version
has loads, every check passes, and the second run adds no duplicate current rows."""

from __future__ import annotations

import pytest
from dagster import AssetCheckSeverity, materialize

from assets.registry import OSCAR
from orchestration.definitions import build_definitions
from simulators.oscar import PROFILES, OscarSimulator
from tests.conftest import query
from tests.helpers import materialized_tables
from tests.oscar.support import ENV, assert_tables_match

ALL_TABLES = set(OSCAR.catalog) - {"caller", "user_metrics"}
# Read by the upgrade test: the columns users query must not depend on the version.
VERSIONED = ("buckets", "cluster_status")
# Loaded twice and checked by the upgrade test, before it upgrades the cluster to v4.
UPGRADED = "v3.6.3"
VERSION_SIZES = {"services": 5, "jobs_per_service": 6, "jobs_page_size": 4}


def load_and_check(instance):
    """Materialise every OSCAR table and run every OSCAR check, as the UI's button does."""
    defs = build_definitions()
    assets = [a for a in defs.assets if a.node_def.name == "oscar_tables"]
    checks = [c for c in defs.asset_checks if c.node_def.name == "oscar_table_checks"]
    result = materialize(
        [*assets, *checks], resources=defs.resources, instance=instance, raise_on_error=False
    )
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    return result, evaluations


def failed_checks(evaluations) -> dict:
    """Failed checks, except the warning that an empty table (a fresh cluster's) has no rows."""
    return {
        key: evaluation.description
        for key, evaluation in evaluations.items()
        if not evaluation.passed
        and not (
            key[1] == "has_current_rows"
            and evaluation.severity == AssetCheckSeverity.WARN
            and OSCAR.catalog[key[0]].may_be_empty
        )
    }


def use(sim, monkeypatch) -> None:
    monkeypatch.setenv(f"{ENV}BASE_URL", sim.url)
    monkeypatch.setenv(f"{ENV}USERNAME", sim.username)
    monkeypatch.setenv(f"{ENV}PASSWORD", sim.password)


def columns(table: str) -> set[str]:
    sql = f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
    return {name for (name,) in query(OSCAR, sql)}


@pytest.mark.parametrize("profile", sorted(set(PROFILES) - {UPGRADED}))
def test_every_version_loads_with_basic_auth_and_passes_its_checks_twice(
    profile, monkeypatch, persistent_instance
):
    with OscarSimulator(profile=profile, **VERSION_SIZES) as sim:
        use(sim, monkeypatch)
        assert_loads_and_passes_its_checks_twice(profile, sim, persistent_instance)


def assert_loads_and_passes_its_checks_twice(profile, sim, instance) -> None:
    """Every table the version has loads, every check passes, and the second run adds no
    duplicate current rows."""
    for _ in range(2):
        result, evaluations = load_and_check(instance)

        assert result.success, profile
        assert materialized_tables(result) == ALL_TABLES
        assert failed_checks(evaluations) == {}
        assert_tables_match(sim)  # the rows of the server, no duplicate current rows
    if profile == "fresh":  # no services, no users, no buckets: tables never created
        assert evaluations["buckets", "schema_unchanged"].description.startswith("not loaded yet")
    else:  # Basic auth carries no user id: no version says who the caller is, nothing fails
        assert query(OSCAR, "SELECT count(*) FROM users WHERE is_caller IS NOT NULL") == [(0,)]


def test_the_quota_route_refusing_basic_auth_fails_nothing_and_says_why(
    monkeypatch, caplog, persistent_instance
):
    with OscarSimulator(profile="v4-kueue", services=3, jobs_per_service=2) as sim:
        use(sim, monkeypatch)
        caplog.set_level("INFO", logger="connect_oscar.progress")

        result, _ = load_and_check(persistent_instance)

    assert result.success
    (why,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("users:")]
    (users,) = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[-1] == "users"
    ]
    assert why == f"users: {users.metadata['note'].value}"  # the same note on the table
    assert "is_caller is NULL" in why
    assert "HTTP 401 (missing user identificator: missing user identificator)" in why
    assert "needs an OIDC bearer token" in why
    assert sim.password not in why


def test_v3_6_3_loads_twice_and_upgraded_to_v4_keeps_the_columns_of_buckets_and_cluster_status(
    monkeypatch, persistent_instance
):
    with OscarSimulator(profile=UPGRADED, **VERSION_SIZES) as sim:
        use(sim, monkeypatch)
        assert_loads_and_passes_its_checks_twice(UPGRADED, sim, persistent_instance)
        before = {table: columns(table) for table in VERSIONED}
        v3_status = query(OSCAR, f"SELECT {STATUS_FIGURES} FROM cluster_status")
        sim.mutate("set_api", {"api": "v4", "version": "v4.1.2"})

        result, evaluations = load_and_check(persistent_instance)

        assert result.success
        assert_tables_match(sim)
    assert {table: columns(table) for table in VERSIONED} == before
    for table in VERSIONED:
        evaluation = evaluations[table, "schema_unchanged"]
        assert evaluation.passed and "since the last check: no change" in evaluation.description
    # the same workers and figures in the same columns, whichever shape reported them (the
    # per-node JSON differs: a new status version, not other figures)
    assert query(OSCAR, f"SELECT DISTINCT {STATUS_FIGURES} FROM cluster_status") == v3_status
    assert v3_status[0][0] == len(sim.nodes) and None not in v3_status[0]


STATUS_FIGURES = (
    "cluster__nodes_count, cluster__metrics__cpu__total_free_cores, "
    "cluster__metrics__cpu__total_schedulable_cores, "
    "cluster__metrics__memory__max_free_on_node_bytes, "
    "cluster__metrics__memory__total_schedulable_bytes, minio__buckets_count, "
    "minio__total_objects"
)
