"""Acceptance: the posit_connect group materialised through Dagster against the simulator."""

from __future__ import annotations

from assets.registry import POSIT_CONNECT
from tests.conftest import current_count, query
from tests.helpers import materialize_api, materialized_tables

ALL_TABLES = set(POSIT_CONNECT.catalog)
# oauth_credentials records credential exchanges; with an API key configured there are none.
LOADED_WITH_KEY = ALL_TABLES - {"oauth_credentials"}


def assert_matches_server(sim) -> None:
    for table, expected in sim.expected_counts().items():
        assert current_count(POSIT_CONNECT, table) == expected, table


def test_first_run_loads_every_table_a_rerun_adds_nothing_and_the_next_loads_the_changes(
    posit_sim,
):
    """One server through three runs (each step's assertions on the state the one before
    left): the first loads every table with the server's rows, typed; an unchanged rerun adds
    no row for a constant number of requests; after changes on the server, the next run loads
    exactly what changed."""
    result = materialize_api(POSIT_CONNECT)

    assert result.success
    assert materialized_tables(result) == ALL_TABLES
    assert_matches_server(posit_sim)
    assert_ids_are_strings_and_times_are_utc_timestamps()

    # an unchanged rerun
    rows_before = {t: query(POSIT_CONNECT, f"SELECT count(*) FROM {t}") for t in LOADED_WITH_KEY}
    posit_sim.reset_counters()

    assert materialize_api(POSIT_CONNECT).success

    rows_after = {t: query(POSIT_CONNECT, f"SELECT count(*) FROM {t}") for t in LOADED_WITH_KEY}
    assert rows_after == rows_before
    requests = posit_sim.stats()["requests"]
    assert requests.get("GET /__api__/v1/content/{guid}", 0) == 0
    assert requests.get("GET /__api__/v1/content/{guid}/permissions", 0) == 0
    assert requests.get("GET /__api__/v1/content/{guid}/bundles", 0) == 0
    # content, 2 oauth, users, groups, tags, 1 per group for members, 3 event tables; the
    # server's settings (its version), packages, 5 runtimes (nodejs unknown to this version),
    # environments, runtime caches, hosts, and one window of content hits since the last hit;
    # and the per-item tables nothing says have changed (content_jobs, environment_variables,
    # oauth_associations): 1 per item each (in their own daily job, see test_per_item.py)
    assert requests["GET /__api__/v1/instrumentation/content/hits"] == 1
    assert requests["GET /__api__/server_settings"] == 1
    per_item = 3 * len(posit_sim.data.live_content())
    assert requests["total"] == 20 + len(posit_sim.data.groups) + per_item

    # the next run after changes on the server
    posit_sim.mutate("add_content", {"n": 3})
    updated = posit_sim.mutate("update_content", {"n": 2})
    deleted = posit_sim.mutate("delete_content", {"n": 1})
    posit_sim.mutate("add_visits", {"n": 25})
    posit_sim.mutate("add_audit_logs", {"n": 7})
    posit_sim.reset_counters()

    assert materialize_api(POSIT_CONNECT).success

    requests = posit_sim.stats()["requests"]
    assert requests["GET /__api__/v1/content/{guid}"] == 5  # 3 new + 2 redeployed
    assert_matches_server(posit_sim)
    deleted_guid = deleted["deleted"][0]
    (marked,) = query(
        POSIT_CONNECT,
        f"SELECT count(*) FROM content_item WHERE guid = '{deleted_guid}' "
        "AND deleted_time IS NOT NULL AND _dlt_valid_to IS NULL",
    )[0]
    assert marked == 1
    # the deleted item's last version is kept, retired, in content
    (kept,) = query(
        POSIT_CONNECT,
        f"SELECT count(*) FROM content WHERE guid = '{deleted_guid}' AND _dlt_valid_to IS NOT NULL",
    )[0]
    assert kept == 1
    updated_guid = updated["updated"][0]
    versions = query(POSIT_CONNECT, f"SELECT count(*) FROM content WHERE guid = '{updated_guid}'")
    assert versions[0][0] == 2


def assert_ids_are_strings_and_times_are_utc_timestamps() -> None:
    types = dict(
        query(
            POSIT_CONNECT,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'content_visits'",
        )
    )
    assert types["bundle_id"] == "VARCHAR"
    assert types["rendering_id"] == "VARCHAR"
    assert types["time"] == "TIMESTAMP WITH TIME ZONE"
    content_types = dict(
        query(
            POSIT_CONNECT,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'content'",
        )
    )
    assert content_types["bundle_id"] == "VARCHAR"
    assert content_types["last_deployed_time"] == "TIMESTAMP WITH TIME ZONE"
    # null on real servers until an admin sets them: typed, so the columns always exist
    assert content_types["default_r_environment_management"] == "BOOLEAN"
    assert content_types["default_py_environment_management"] == "BOOLEAN"


def test_a_publisher_key_fails_only_the_admin_tables_and_says_which_role(posit_sim, monkeypatch):
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", posit_sim.publisher_key)

    result = materialize_api(POSIT_CONNECT)

    assert not result.success
    assert "audit_logs" not in materialized_tables(result)
    assert {"content", "content_item", "users", "content_visits"} <= materialized_tables(result)
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "audit_logs" in message
    assert "administrator" in message


def test_an_old_server_fails_only_the_oauth_tables_and_names_the_version(posit_sim):
    posit_sim.mutate("set_version", {"version": "2023.06.0"})

    result = materialize_api(POSIT_CONNECT)

    assert not result.success
    loaded = materialized_tables(result)
    assert "oauth_integrations" not in loaded
    assert "content" in loaded
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "2023.06.0" in message
    assert "2024.08.0" in message


def test_an_item_deleted_between_list_and_detail_is_skipped_not_fatal(posit_sim):
    guid = posit_sim.data.content[0]["guid"]
    posit_sim.add_fault(kind="status", status=404, route=f"/v1/content/{guid}$")

    result = materialize_api(POSIT_CONNECT, ["content_item"])

    assert result.success
    assert current_count(POSIT_CONNECT, "content_item") == len(posit_sim.data.content) - 1


def test_a_real_server_after_the_demo_is_refused_and_nothing_loaded_is_lost(posit_sim, monkeypatch):
    """The demo's simulator (the server `demo`) first, then a real server into the same file:
    the new server's history would be skipped (the cursors are the demo's), so the run refuses
    with the advice to start afresh."""
    from simulators.posit_connect import PositConnectSimulator

    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__SERVER_NAME", "demo")
    assert materialize_api(POSIT_CONNECT).success
    before = {t: query(POSIT_CONNECT, f"SELECT count(*) FROM {t}") for t in LOADED_WITH_KEY}

    monkeypatch.delenv("SOURCES__POSIT_CONNECT_SOURCE__SERVER_NAME")
    with PositConnectSimulator(content=5, seed=7) as other:
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", other.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", other.api_key)
        result = materialize_api(POSIT_CONNECT)

    assert not result.success
    message = " ".join(
        e.step_failure_data.error.message for e in result.all_events if e.is_step_failure
    )
    assert f"were loaded from server 'demo' at {posit_sim.url}/__api__" in message
    assert f"configured for server 'default' at {other.url}/__api__" in message
    assert "another DUCKDB_DIR" in message
    assert {t: query(POSIT_CONNECT, f"SELECT count(*) FROM {t}") for t in LOADED_WITH_KEY} == before


def test_a_server_that_moved_keeps_loading_into_its_tables_with_their_history(
    posit_sim, monkeypatch, caplog
):
    """The same server reached at another address (a new host name here): the run says so
    once and loads into the same tables; nothing changed on the server, so nothing is added."""
    assert materialize_api(POSIT_CONNECT).success
    before = {t: query(POSIT_CONNECT, f"SELECT count(*) FROM {t}") for t in LOADED_WITH_KEY}
    moved = posit_sim.url.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", moved)

    with caplog.at_level("WARNING", logger="connect_oscar.progress"):
        assert materialize_api(POSIT_CONNECT).success
        assert materialize_api(POSIT_CONNECT).success  # the new address is remembered

    said = [r.getMessage() for r in caplog.records if "moved" in r.getMessage()]
    assert said == [
        f"Posit Connect server 'default' moved from {posit_sim.url}/__api__ to {moved}/__api__: "
        "loading into the same tables, history kept"
    ]
    assert {t: query(POSIT_CONNECT, f"SELECT count(*) FROM {t}") for t in LOADED_WITH_KEY} == before


def test_an_unchanged_rerun_of_newest_first_audit_logs_asks_for_one_page(monkeypatch):
    """Audit logs come newest first: the rerun stops at the first page, which reaches what the
    last run loaded, and requests no page ahead of it."""
    from assets.posit_connect.settings import PAGE_SIZE
    from simulators.posit_connect import PositConnectSimulator

    with PositConnectSimulator(content=5, users=5, visits=0, audit_logs=3 * PAGE_SIZE) as sim:
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)
        assert materialize_api(POSIT_CONNECT, ["audit_logs"]).success
        assert sim.stats()["requests"]["GET /__api__/v1/audit_logs"] == 3
        sim.reset_counters()

        assert materialize_api(POSIT_CONNECT, ["audit_logs"]).success

        assert sim.stats()["requests"]["GET /__api__/v1/audit_logs"] == 1
        assert current_count(POSIT_CONNECT, "audit_logs") == 3 * PAGE_SIZE
