"""Acceptance: the per-item tables (bundles, content_jobs, environment_variables,
oauth_associations) through Dagster's own jobs against the simulator, over real sockets.

The hourly catalog job's cost must not grow with the number of content items; the daily
per-item job asks once per item and table, and says so in each table's metadata."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import DagsterInstance

from assets.registry import POSIT_CONNECT
from orchestration.definitions import build_definitions
from simulators.posit_connect import PositConnectSimulator
from tests.conftest import current_count, query
from tests.helpers import materialize_api, materialized_tables

CATALOG_JOB = "posit_connect_catalog_refresh"
DAILY_JOB = "posit_connect_daily_refresh"
PER_ITEM_TABLES = ("content_jobs", "environment_variables", "oauth_associations")
PER_ITEM_ROUTES = {
    "content_jobs": "GET /__api__/v1/content/{guid}/jobs",
    "environment_variables": "GET /__api__/v1/content/{guid}/environment",
    "oauth_associations": "GET /__api__/v1/content/{guid}/oauth/integrations/associations",
}
BUNDLES_ROUTE = "GET /__api__/v1/content/{guid}/bundles"


def run_job(name: str, instance: DagsterInstance):
    job = build_definitions().resolve_job_def(name)
    return job.execute_in_process(instance=instance, raise_on_error=False)


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Starts a simulator of the given size and points the source at it."""
    started = []

    def start(**sizes) -> PositConnectSimulator:
        sim = PositConnectSimulator(**sizes).start()
        started.append(sim)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)
        return sim

    yield start
    for sim in started:
        sim.stop()


def unchanged_catalog_rerun_requests(
    serve, tmp_path, monkeypatch: pytest.MonkeyPatch, content: int
) -> dict[str, int]:
    """The requests of the catalog job's second run against an unchanged server."""
    monkeypatch.setenv("DUCKDB_DIR", str(tmp_path / f"duckdb_{content}"))
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / f"dlt_{content}"))
    sim = serve(content=content, visits=0, shiny_sessions=0, audit_logs=0)
    instance = DagsterInstance.ephemeral()
    assert run_job(CATALOG_JOB, instance).success
    sim.reset_counters()
    assert run_job(CATALOG_JOB, instance).success
    return sim.stats()["requests"]


def test_an_unchanged_catalog_rerun_costs_the_same_with_50_or_150_items(
    serve, tmp_path, monkeypatch
):
    small = unchanged_catalog_rerun_requests(serve, tmp_path, monkeypatch, content=50)
    large = unchanged_catalog_rerun_requests(serve, tmp_path, monkeypatch, content=150)

    assert small == large
    assert small.get(BUNDLES_ROUTE, 0) == 0
    assert not set(PER_ITEM_ROUTES.values()) & set(small)


def test_the_per_item_job_asks_once_per_item_and_table_then_applies_finished_jobs_and_cleared_variables(
    posit_sim,
):
    """The daily job twice: its first run asks once per item and table and says so; after
    jobs finished and two items lost all their variables, the second run replaces each
    finished job's running row and leaves the cleared items no current variable."""
    instance = DagsterInstance.ephemeral()

    result = run_job(DAILY_JOB, instance)

    assert result.success
    items = len(posit_sim.data.live_content())
    requests = posit_sim.stats()["requests"]
    # the content list they fan out from, then one request per item and table; the daily job
    # also reads packages (server-wide: its pages, and the server's version it needs)
    assert requests["GET /__api__/v1/content"] == 1
    assert {t: requests[route] for t, route in PER_ITEM_ROUTES.items()} == dict.fromkeys(
        PER_ITEM_TABLES, items
    )
    packages = requests["GET /__api__/v1/packages"] + requests.get(
        "GET /__api__/server_settings", 0
    )
    assert requests["total"] == 1 + 3 * items + packages
    materialized = {
        event.asset_key.path[-1]: event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert set(materialized) == {*PER_ITEM_TABLES, "packages"}
    for table in PER_ITEM_TABLES:
        assert materialized[table]["requests"].value == items, table
    expected = posit_sim.expected_counts()
    for table in PER_ITEM_TABLES:
        assert current_count(POSIT_CONNECT, table) == expected[table], table

    (running,) = query(POSIT_CONNECT, "SELECT count(*) FROM content_jobs WHERE status = 0")[0]
    finished = posit_sim.mutate("finish_jobs", {})["finished"]
    assert running == len(finished) > 0
    cleared = posit_sim.mutate("clear_environment", {"n": 2})["cleared"]

    assert run_job(DAILY_JOB, instance).success

    assert (
        current_count(POSIT_CONNECT, "content_jobs") == posit_sim.expected_counts()["content_jobs"]
    )
    rows = query(
        POSIT_CONNECT,
        "SELECT count(*), count(end_time), min(status) FROM content_jobs WHERE key IN "
        f"({', '.join(repr(key) for key in finished)})",
    )
    assert rows == [(len(finished), len(finished), 2)]
    listed = ", ".join(repr(guid) for guid in cleared)
    current = query(
        POSIT_CONNECT,
        "SELECT count(*) FROM environment_variables WHERE _dlt_valid_to IS NULL "
        f"AND deleted_time IS NULL AND content_guid IN ({listed})",
    )
    assert len(cleared) == 2 and current == [(0,)]
    assert (
        current_count(POSIT_CONNECT, "environment_variables")
        == (posit_sim.expected_counts()["environment_variables"])
    )


def test_bundles_are_paged_until_an_empty_page_and_asked_again_only_on_redeploy(posit_sim):
    materialize_api(POSIT_CONNECT, ["content", "bundles"])
    first = posit_sim.stats()["requests"][BUNDLES_ROUTE]
    # one page and the empty page that ends it, per item
    assert first == 2 * len(posit_sim.data.live_content())
    posit_sim.mutate("update_content", {"n": 2})
    posit_sim.reset_counters()

    assert materialize_api(POSIT_CONNECT, ["content", "bundles"]).success

    assert posit_sim.stats()["requests"][BUNDLES_ROUTE] == 2 * 2
    assert current_count(POSIT_CONNECT, "bundles") == posit_sim.expected_counts()["bundles"]
    # exactly one active bundle per item, the newest
    (inactive_current,) = query(
        POSIT_CONNECT,
        "SELECT count(*) FROM (SELECT content_guid FROM bundles WHERE _dlt_valid_to IS NULL "
        "AND deleted_time IS NULL AND active GROUP BY content_guid HAVING count(*) <> 1)",
    )[0]
    assert inactive_current == 0


def test_items_with_more_bundles_than_a_page_are_read_whole(posit_sim, monkeypatch):
    from assets.posit_connect import settings

    # the server's default page of 20, and 23 bundles per item: pages of 20, 3, then empty
    monkeypatch.setitem(settings.CATALOG["bundles"].params, "page_size", 20)
    for _ in range(22):
        posit_sim.mutate("update_content", {"n": len(posit_sim.data.content)})

    assert materialize_api(POSIT_CONNECT, ["content", "bundles"]).success

    assert {len(history) for history in posit_sim.data.deployments.values()} == {23}
    assert posit_sim.stats()["requests"][BUNDLES_ROUTE] == 3 * len(posit_sim.data.content)
    assert current_count(POSIT_CONNECT, "bundles") == posit_sim.expected_counts()["bundles"]


def test_never_deployed_content_has_no_bundles_or_jobs_and_fails_nothing(posit_sim):
    added = posit_sim.mutate("add_undeployed_content", {"n": 2})["added"]

    result = materialize_api(POSIT_CONNECT, ["content", "bundles", *PER_ITEM_TABLES])

    assert result.success
    listed = ", ".join(repr(guid) for guid in added)
    for table in ("bundles", "content_jobs"):
        rows = query(
            POSIT_CONNECT, f"SELECT count(*) FROM {table} WHERE content_guid IN ({listed})"
        )
        assert rows == [(0,)], table
    assert current_count(POSIT_CONNECT, "bundles") == posit_sim.expected_counts()["bundles"]


def test_the_loader_only_reads_environment_variables(posit_sim):
    assert materialize_api(POSIT_CONNECT, ["content", "environment_variables"]).success

    methods = {method for method, path in posit_sim.requests_log if path.endswith("/environment")}
    assert methods == {"GET"}
    columns = {
        name
        for (name,) in query(
            POSIT_CONNECT,
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = '{POSIT_CONNECT.dataset_name}' "
            "AND table_name = 'environment_variables' AND column_name NOT LIKE '_dlt%'",
        )
    }
    assert columns == {"content_guid", "name", "deleted_time", "row_hash"}


def test_an_old_server_fails_only_oauth_associations_and_names_the_version(posit_sim):
    posit_sim.mutate("set_version", {"version": "2024.06.0"})

    result = materialize_api(POSIT_CONNECT, ["content", "bundles", *PER_ITEM_TABLES])

    assert not result.success
    assert materialized_tables(result) == {
        "content",
        "bundles",
        "content_jobs",
        "environment_variables",
    }
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "oauth_associations" in message
    assert "2024.06.0" in message and "2024.08.0" in message
    # a server before 2025.01.0 sends jobs without content_guid: the loader stamps it
    (unstamped,) = query(
        POSIT_CONNECT, "SELECT count(*) FROM content_jobs WHERE content_guid IS NULL"
    )[0]
    assert unstamped == 0


def test_a_publisher_key_fails_the_jobs_and_variables_of_others_content_with_the_role(
    posit_sim, monkeypatch
):
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", posit_sim.publisher_key)

    result = materialize_api(POSIT_CONNECT, ["content", "bundles", "content_jobs"])

    assert not result.success
    assert materialized_tables(result) == {"content", "bundles"}
    message = next(
        e for e in result.all_events if e.is_step_failure
    ).step_failure_data.error.message
    assert "content_jobs" in message and "administrator" in message


def test_a_server_before_v1_jobs_fails_only_content_jobs_and_oauth_associations(posit_sim):
    posit_sim.mutate("set_version", {"version": "2022.08.0"})

    result = materialize_api(POSIT_CONNECT, ["content", "bundles", *PER_ITEM_TABLES])

    assert materialized_tables(result) == {"content", "bundles", "environment_variables"}
    message = next(
        e for e in result.all_events if e.is_step_failure
    ).step_failure_data.error.message
    assert "content_jobs" in message and "2022.10.0" in message
    assert "oauth_associations" in message and "2024.08.0" in message
