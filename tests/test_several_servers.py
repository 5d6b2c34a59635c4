"""Several servers per API (docs/configuration.md, "Several servers"): two Posit Connect servers and two
OSCAR clusters, each a real simulator with its own data (another seed and size), configured
the way docs/configuration.md shows with environment variables and loaded through Dagster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, build_sensor_context, instance_for_test, materialize

from assets.destinations import make_pipeline
from assets.errors import ConfigurationError
from assets.registry import OSCAR, POSIT_CONNECT, SourceInfo, enabled_servers, parse_servers
from orchestration.definitions import build_definitions
from simulators.oscar import OscarSimulator
from simulators.posit_connect import PositConnectSimulator
from tests.conftest import current_count
from tests.helpers import materialize_api
from tests.insights.expected import check_oscar, check_posit_connect, insight_tables

POSIT = "SOURCES__POSIT_CONNECT_SOURCE__"
OSCAR_ENV = "SOURCES__OSCAR_SOURCE__"


@dataclass
class Estate:
    posit: dict[str, PositConnectSimulator]
    oscar: dict[str, OscarSimulator]

    def servers(self, info: SourceInfo) -> dict[str, Any]:
        return self.posit if info is POSIT_CONNECT else self.oscar


@pytest.fixture
def estate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Estate]:
    with (
        PositConnectSimulator(content=6, users=5, visits=20, audit_logs=10, seed=1) as prod,
        PositConnectSimulator(content=9, users=7, visits=30, audit_logs=15, seed=2) as staging,
        OscarSimulator(services=3, jobs_per_service=4, seed=1) as east,
        # a v3 cluster: its services have fields a v4 one lacks, and the other way round
        OscarSimulator(services=5, jobs_per_service=2, seed=2, api="v3") as west,
    ):
        monkeypatch.setenv(f"{POSIT}SERVERS", "prod, staging")
        monkeypatch.setenv(f"{OSCAR_ENV}SERVERS", '["east", "west"]')
        for name, sim in (("prod", prod), ("staging", staging)):
            monkeypatch.setenv(f"{POSIT}{name.upper()}__BASE_URL", sim.url)
            monkeypatch.setenv(f"{POSIT}{name.upper()}__API_KEY", sim.api_key)
        for name, sim in (("east", east), ("west", west)):
            monkeypatch.setenv(f"{OSCAR_ENV}{name.upper()}__BASE_URL", sim.url)
            monkeypatch.setenv(f"{OSCAR_ENV}{name.upper()}__USERNAME", sim.username)
            monkeypatch.setenv(f"{OSCAR_ENV}{name.upper()}__PASSWORD", sim.password)
        # a shared setting, once at the API level
        monkeypatch.setenv(f"{POSIT}MAX_CONCURRENCY", "4")
        yield Estate({"prod": prod, "staging": staging}, {"east": east, "west": west})


def materialize_everything(
    instance: DagsterInstance | None = None, *, tables_only: bool = False
) -> Any:
    """Every asset with each table's checks after its load; `tables_only`: every server's
    tables alone (a rerun after a first run that showed the checks and the insights)."""
    defs = build_definitions()
    tables = [a for a in defs.assets if a.node_def.name.endswith("_tables")]
    return materialize(
        tables if tables_only else [*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def materialized(result: Any) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def current_rows(estate: Estate) -> dict[str, int]:
    return {
        f"{server.label}/{table}": current_count(server, table)
        for server in enabled_servers()
        for table in ("content", "users", "services", "jobs")
        if table in server.catalog
    }


def test_each_servers_tables_hold_exactly_its_rows_and_a_second_run_adds_nothing(estate):
    servers = {s.label: s for s in enabled_servers()}
    assert set(servers) == {
        "posit_connect/prod",
        "posit_connect/staging",
        "oscar/east",
        "oscar/west",
    }
    assert servers["posit_connect/prod"].dataset_name == "posit_connect_prod_data"
    assert servers["oscar/west"].dataset_name == "oscar_west_data"

    first = materialize_everything()

    assert first.success
    assert "posit_connect/prod/content" in materialized(first)
    assert "oscar/west/services" in materialized(first)
    current = {
        e.asset_key.to_user_string(): e.metadata["current_rows"].value
        for e in first.get_asset_check_evaluations()
        if e.check_name == "has_current_rows"
    }
    assert current["posit_connect/prod/content"] == 6
    assert current["posit_connect/staging/content"] == 9
    assert current["oscar/west/services"] == 5
    unique = [e for e in first.get_asset_check_evaluations() if e.check_name == "key_is_unique"]
    assert {e.asset_key.path[1] for e in unique} == {"prod", "staging", "east", "west"}
    assert all(e.passed for e in unique)
    for name, sim in estate.posit.items():
        expected = sim.expected_counts()
        server = POSIT_CONNECT.for_server(name)
        assert current_count(server, "content") == expected["content"]
        assert current_count(server, "users") == expected["users"]
    for name, sim in estate.oscar.items():
        server = OSCAR.for_server(name)
        assert current_count(server, "services") == len(sim.services_snapshot())
        assert current_count(server, "jobs") == len(sim.expected_jobs())

    assert_all_views_union_every_server()
    assert_insights_cover_every_server(estate)

    rows = current_rows(estate)
    assert materialize_everything(tables_only=True).success
    assert current_rows(estate) == rows
    assert_all_views_union_every_server()


def assert_insights_cover_every_server(estate: Estate) -> None:
    """The insights (built in the same run, after every server's tables) count each server's
    rows under its name (tests/insights/expected.py)."""
    for name, sim in estate.posit.items():
        check_posit_connect(sim, insight_tables("posit_connect"), server=name)
    for name, sim in estate.oscar.items():
        check_oscar(sim, insight_tables("oscar"), server=name)


def assert_all_views_union_every_server() -> None:
    """`<api>_all.<table>`: every server's rows with its name in `server`, and NULL in a column
    only the other server has (read through dlt's SQL client: DuckDB or PostgreSQL alike)."""
    for api, tables in ((POSIT_CONNECT, ("content", "users")), (OSCAR, ("services", "jobs"))):
        servers = api.configured_servers()
        with make_pipeline(servers[0]).sql_client() as client:
            for table in tables:
                expected = {
                    s.server: client.execute_sql(f"SELECT count(*) FROM {s.dataset_name}.{table}")[
                        0
                    ][0]
                    for s in servers
                }
                union = client.execute_sql(
                    f"SELECT server, count(*) FROM {api.name}_all.{table} GROUP BY server"
                )
                assert dict(union) == expected
                assert all(expected.values())

            def columns(server: SourceInfo) -> set[str]:
                rows = client.execute_sql(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    f"'{server.dataset_name}' AND table_name = 'services'"
                )
                return {row[0] for row in rows}

            if api is OSCAR:
                east, west = servers
                only_east = columns(east) - columns(west)
                assert only_east
                for column in only_east:
                    ((nulls,),) = client.execute_sql(
                        f"SELECT count(\"{column}\") FROM oscar_all.services WHERE server = 'west'"
                    )
                    assert nulls == 0


def test_a_server_that_is_down_fails_alone_and_its_failure_names_it(estate, monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")
    estate.posit["staging"].stop()
    monkeypatch.setenv(f"{OSCAR_ENV}WEST__PASSWORD", "wrong")

    result = materialize_everything()

    assert not result.success
    loaded = materialized(result)
    assert "posit_connect/prod/content" in loaded
    assert "oscar/east/jobs" in loaded
    assert not any(key.startswith(("posit_connect/staging/", "oscar/west/")) for key in loaded)
    errors = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
    assert len(errors) == 2
    assert any("Posit Connect server 'staging'" in error for error in errors)
    (west,) = [error for error in errors if "OSCAR server 'west': " in error]
    assert "401" in west
    assert "SOURCES__OSCAR_SOURCE__WEST__PASSWORD" in west  # its own setting, not the API's
    assert "SOURCES__OSCAR_SOURCE__PASSWORD" not in west
    assert current_count(POSIT_CONNECT.for_server("prod"), "content") == 6


def test_a_named_server_without_an_address_names_the_setting(estate, monkeypatch):
    monkeypatch.setenv(f"{POSIT}SERVERS", "prod,qa")
    qa = POSIT_CONNECT.for_server("qa")
    with pytest.raises(ConfigurationError, match=r"SOURCES__POSIT_CONNECT_SOURCE__QA__BASE_URL"):
        qa.own_settings()

    result = materialize_api(qa, ["users"])  # the run fails at once, saying what to set
    (error,) = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
    assert "Posit Connect server 'qa' is listed in servers but has no address" in error
    assert error.count("server 'qa'") == 1


def test_a_named_server_never_gets_the_api_levels_key(estate, monkeypatch):
    monkeypatch.setenv(f"{POSIT}API_KEY", "the-default-servers-key")
    monkeypatch.setenv("CONNECT_API_KEY", "the-default-servers-key")
    monkeypatch.delenv(f"{POSIT}STAGING__API_KEY")
    staging = POSIT_CONNECT.for_server("staging")

    assert staging.own_settings()["api_key"] == ""


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("prod, staging", ["prod", "staging"]),
        ('["prod", "staging"]', ["prod", "staging"]),
        (["prod"], ["prod"]),
        ("", []),
        (None, []),
    ],
)
def test_servers_is_a_list_a_json_list_or_comma_separated(value, names):
    assert parse_servers(value, "servers") == names


@pytest.mark.parametrize("value", ["Prod", "prod,prod", "my-server", "[prod", "prod,insights"])
def test_a_server_name_that_cannot_name_a_dataset_is_refused(value):
    with pytest.raises(ConfigurationError, match="servers"):
        parse_servers(value, "servers")


def test_with_only_the_default_server_the_keys_stay_as_they_were():
    keys = {k for a in build_definitions().assets for k in a.keys}
    assert AssetKey(["posit_connect", "content"]) in keys
    assert AssetKey(["oscar", "services"]) in keys
    # the tables' keys; the insights are <api>/insights/<name> whatever the servers
    assert all(len(key.path) == 2 for key in keys if key.path[1] != "insights")


def test_every_server_has_its_jobs_schedules_change_sensor_and_checks(estate):
    repository = build_definitions().get_repository_def()
    schedules = {s.name for s in repository.schedule_defs}
    sensors = {s.name for s in repository.sensor_defs}
    for server in ("posit_connect_prod", "posit_connect_staging", "oscar_east", "oscar_west"):
        assert {f"{server}_catalog_schedule", f"{server}_usage_schedule"} <= schedules
        assert f"{server}_change_sensor" in sensors
    assert "posit_connect_catalog_schedule" not in schedules  # no default server configured
    job = repository.get_job("posit_connect_staging_catalog_refresh")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} >= {
        "posit_connect/staging/content",
        "posit_connect/staging/users",
    }
    assert not any("prod" in key.to_user_string() for key in job.asset_layer.selected_asset_keys)
    checks = set(repository.asset_checks_defs_by_key)
    assert any(
        key.asset_key == AssetKey(["oscar", "west", "services"]) and key.name == "key_is_unique"
        for key in checks
    )


def test_a_change_sensor_asks_its_own_server(estate):
    defs = build_definitions()
    sensor = defs.get_repository_def().get_sensor_def("posit_connect_staging_change_sensor")
    with instance_for_test() as instance:
        first = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert "Posit Connect server 'staging': 9 rows of content" in first.skip_message
        estate.posit["prod"].mutate("add_content", {"n": 1})  # another server's change
        unchanged = sensor.evaluate_tick(
            build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs)
        )
        assert not unchanged.run_requests
        estate.posit["staging"].mutate("add_content", {"n": 1})
        changed = sensor.evaluate_tick(
            build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs)
        )
    (request,) = changed.run_requests
    assert AssetKey(["posit_connect", "staging", "content"]) in request.asset_selection
    assert all(key.path[1] == "staging" for key in request.asset_selection)


def test_default_in_the_list_is_the_server_of_the_apis_own_section(monkeypatch):
    monkeypatch.setenv(f"{POSIT}SERVERS", "default,staging")
    servers = {s.label: s for s in POSIT_CONNECT.configured_servers()}
    assert set(servers) == {"posit_connect", "posit_connect/staging"}
    assert servers["posit_connect"].dataset_name == "posit_connect_data"
    assert servers["posit_connect"].pipeline_name == "posit_connect_pipeline"
    assert servers["posit_connect/staging"].pipeline_name == "posit_connect_staging_pipeline"
