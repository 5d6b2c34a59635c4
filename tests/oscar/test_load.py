"""Acceptance: the oscar group materialised through Dagster against the OSCAR simulator."""

from __future__ import annotations

import pytest

from assets.registry import OSCAR
from simulators.oscar import OscarSimulator
from tests.conftest import query
from tests.helpers import materialize_api, materialized_tables
from tests.oscar.support import assert_tables_match, expected_keys, total_rows

ALL_TABLES = set(OSCAR.catalog)
# services, info, config, status, buckets, v4 caller and per-user metrics: one request each;
# the caller's 401 under Basic auth, then the route first accepted asked again to tell a
# route that wants other credentials from credentials that stopped working: one more
LISTS = 8


def test_first_run_loads_every_table_a_rerun_adds_nothing_and_the_next_applies_the_changes(
    oscar_sim,
):
    """One cluster through three runs (each step's assertions on the state the one before
    left): the first loads every table with the server's rows, services' inputs and outputs
    as child tables; an unchanged rerun adds no row and makes the same requests; after
    changes on the server, the next run applies them."""
    result = materialize_api(OSCAR)
    first = oscar_sim.stats()["requests"]  # before the checks below ask the server themselves

    assert result.success
    assert materialized_tables(result) == ALL_TABLES
    assert_tables_match(oscar_sim)
    (secrets,) = query(OSCAR, "SELECT count(*) FROM attributes WHERE kind = 'secret'")[0]
    assert secrets > 0  # names of secret environment variables are kept, values are not
    # a default v4 cluster does not say who Basic auth is (/system/quotas/user answers 401)
    assert query(OSCAR, "SELECT count(*) FROM users WHERE is_caller IS NOT NULL") == [(0,)]
    assert_services_keep_inputs_and_outputs_as_child_tables(oscar_sim)

    # an unchanged rerun
    rows_before = total_rows()
    oscar_sim.reset_counters()

    assert materialize_api(OSCAR).success

    assert total_rows() == rows_before
    second = oscar_sim.stats()["requests"]
    assert second == first
    # jobs can only be listed: every service's pages again (30 jobs, 12 a page: 3 requests)
    assert second["GET /system/logs/{service}"] == 12 * 3
    assert second["total"] == LISTS + 12 * 3

    # the next run after changes on the server
    jobs_before = oscar_sim.expected_jobs()
    added = oscar_sim.mutate("add_service", {"n": 1, "jobs": 4})["added"][0]
    removed = oscar_sim.mutate("remove_service", {"name": "cowsay"})["removed"][0]
    updated = oscar_sim.mutate("update_service", {"name": "body-pose"})["updated"][0]
    changed = oscar_sim.mutate("change_job_status", {"n": 3})["changed"]
    expired = {tuple(j) for j in oscar_sim.mutate("expire_jobs", {"n": 5})["expired"]}

    assert materialize_api(OSCAR).success

    tables = expected_keys(oscar_sim)
    # jobs are never deleted: expired ones and those of the removed service stay
    tables["jobs"] = tables["jobs"] | jobs_before
    assert expired and expired <= jobs_before - oscar_sim.expected_jobs()
    assert_tables_match(oscar_sim, tables)
    assert added in tables["services"]
    (retired,) = query(
        OSCAR,
        f"SELECT count(*) FROM services WHERE name = '{removed}' AND _dlt_valid_to IS NOT NULL",
    )[0]
    assert retired == 1
    (versions,) = query(OSCAR, f"SELECT count(*) FROM services WHERE name = '{updated}'")[0]
    assert versions == 2
    for service, job, _before, after in changed:
        rows = query(
            OSCAR, f"SELECT status FROM jobs WHERE service = '{service}' AND job_name = '{job}'"
        )
        assert rows == [(after,)]


def assert_services_keep_inputs_and_outputs_as_child_tables(sim) -> None:
    rows = query(
        OSCAR,
        "SELECT s.name, i.storage_provider, i.path FROM services s "
        "JOIN services__input i ON i._dlt_parent_id = s._dlt_id WHERE s._dlt_valid_to IS NULL",
    )
    expected = {
        (s["name"], i["storage_provider"], i["path"])
        for s in sim.services_snapshot()
        for i in s["input"]
    }
    assert set(rows) == expected
    (outputs,) = query(OSCAR, "SELECT count(*) FROM services__output")[0]
    assert outputs == sum(len(s["output"]) for s in sim.services_snapshot())


@pytest.mark.parametrize("api", ["v3", "v4"])
def test_v3_and_v4_servers_both_load_every_table(api, monkeypatch):
    with OscarSimulator(services=6, jobs_per_service=8, api=api) as sim:
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__USERNAME", sim.username)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", sim.password)

        result = materialize_api(OSCAR)

        assert result.success
        assert materialized_tables(result) == ALL_TABLES
        assert_tables_match(sim)
    types = dict(
        query(
            OSCAR,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'services'",
        )
    )
    assert types["expose"] == "JSON"  # api_port is an int on v3 and a list on v4


def test_routes_an_old_server_lacks_fail_only_their_tables_and_name_the_version(monkeypatch):
    with OscarSimulator(services=4, jobs_per_service=3, api="v3", version="v3.1.0") as sim:
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__USERNAME", sim.username)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", sim.password)

        result = materialize_api(OSCAR)

    assert not result.success
    assert materialized_tables(result) == ALL_TABLES - {"buckets", "cluster_status"}
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "v3.1.0" in message
    assert "buckets" in message and "OSCAR v3.6" in message
    assert "cluster_status" in message and "OSCAR v3.2" in message
