"""What the code location shows, written out by hand: an accidental rename of an asset, check,
job, schedule or sensor (which would orphan its history and cursors) fails here loudly.

A deliberate change updates these lists in the same commit."""

from __future__ import annotations

import pytest
from dagster import DefaultScheduleStatus, DefaultSensorStatus

from assets.errors import ConfigurationError
from assets.registry import SOURCES
from orchestration.definitions import build_definitions

CATALOG, USAGE, DAILY = "catalog", "usage", "daily"
EXPECTED_TABLES = {
    "posit_connect": {
        "content": CATALOG,
        "content_item": CATALOG,
        "content_permissions": CATALOG,
        "bundles": CATALOG,
        "content_jobs": DAILY,
        "environment_variables": DAILY,
        "oauth_associations": DAILY,
        "oauth_integrations": CATALOG,
        "oauth_sessions": CATALOG,
        "oauth_credentials": CATALOG,
        "users": CATALOG,
        "groups": CATALOG,
        "group_members": CATALOG,
        "tags": CATALOG,
        "audit_logs": USAGE,
        "content_visits": USAGE,
        "shiny_usage": USAGE,
        "packages": DAILY,
        "runtimes": CATALOG,
        "environments": CATALOG,
        "runtime_caches": CATALOG,
        "server_info": CATALOG,
        "content_hits": USAGE,
    },
    "oscar": {
        "services": CATALOG,
        "users": CATALOG,
        "projects": CATALOG,
        "sites": CATALOG,
        "attributes": CATALOG,
        "jobs": USAGE,
        "buckets": CATALOG,
        "cluster_info": CATALOG,
        "cluster_config": CATALOG,
        "cluster_status": CATALOG,
    },
}
EXPECTED_INSIGHTS = {
    "posit_connect": {
        "active_users_monthly",
        "content_usage",
        "stale_content",
        "open_access",
        "runtime_versions",
    },
    "oscar": {"job_stats_daily", "service_usage"},
}
KEYED = {"key_is_unique", "key_is_not_null", "has_current_rows", "schema_unchanged"}
WITHOUT_KEY = {"has_current_rows", "schema_unchanged"}
TABLES_WITHOUT_KEY = {
    "posit_connect/oauth_credentials",
    "oscar/cluster_info",
    "oscar/cluster_config",
    "oscar/cluster_status",
}
EXPECTED_JOBS = {
    "refresh_all",
    "posit_connect_catalog_refresh",
    "posit_connect_usage_refresh",
    "posit_connect_daily_refresh",
    "oscar_catalog_refresh",
    "oscar_usage_refresh",
}
# name -> (job, cron, timezone) with the default settings
EXPECTED_SCHEDULES = {
    "posit_connect_catalog_schedule": ("posit_connect_catalog_refresh", "0 * * * *", "UTC"),
    "posit_connect_usage_schedule": ("posit_connect_usage_refresh", "15 */6 * * *", "UTC"),
    "posit_connect_daily_schedule": ("posit_connect_daily_refresh", "30 2 * * *", "UTC"),
    "oscar_catalog_schedule": ("oscar_catalog_refresh", "0 * * * *", "UTC"),
    "oscar_usage_schedule": ("oscar_usage_refresh", "15 */6 * * *", "UTC"),
}
# name -> minimum interval in seconds with the default settings
EXPECTED_SENSORS = {
    "posit_connect_change_sensor": 300,
    "oscar_change_sensor": 300,
    "refresh_failure_sensor": 30,
    "insights_automation_sensor": 30,
}
FRESH_FOR_HOURS = {CATALOG: 3, USAGE: 13, DAILY: 50}

ORCHESTRATION_ENV = (
    "REFRESH_TIMEZONE",
    "CATALOG_REFRESH_CRON",
    "USAGE_REFRESH_CRON",
    "DAILY_REFRESH_CRON",
    "CATALOG_FRESHNESS_HOURS",
    "USAGE_FRESHNESS_HOURS",
    "DAILY_FRESHNESS_HOURS",
    "CHANGE_SENSOR_INTERVAL_SECONDS",
    "ENABLED_APIS",
)


@pytest.fixture
def repository(monkeypatch):
    for name in ORCHESTRATION_ENV:
        monkeypatch.delenv(name, raising=False)
    return build_definitions().get_repository_def()


def test_every_api_has_a_snapshot():
    assert {info.name for info in SOURCES} == set(EXPECTED_TABLES)


def test_asset_keys_and_cadences(repository):
    graph = repository.asset_graph
    shown = {
        key.to_user_string(): graph.get(key)
        for key in graph.get_all_asset_keys()
        if "insights" not in key.path
    }
    expected = {
        f"{api}/{table}": cadence
        for api, tables in EXPECTED_TABLES.items()
        for table, cadence in tables.items()
    }

    assert set(shown) == set(expected)
    for key, cadence in expected.items():
        node = shown[key]
        assert node.tags["cadence"] == cadence, key
        assert node.freshness_policy.fail_window.to_timedelta().total_seconds() == (
            FRESH_FOR_HOURS[cadence] * 3600
        ), key


def test_insight_keys_groups_and_lineage(repository):
    graph = repository.asset_graph
    insights = {
        key.to_user_string(): graph.get(key)
        for key in graph.get_all_asset_keys()
        if "insights" in key.path
    }

    assert set(insights) == {
        f"{api}/insights/{name}" for api, names in EXPECTED_INSIGHTS.items() for name in names
    }
    for key, node in insights.items():
        api = key.split("/")[0]
        assert node.group_name == f"{api}_insights", key
        assert node.automation_condition is not None, key
        assert node.parent_keys, key
        assert all(
            parent.path[0] == api and parent.path[-1] in EXPECTED_TABLES[api]
            for parent in node.parent_keys
        ), key
    assert {p.to_user_string() for p in insights["oscar/insights/service_usage"].parent_keys} == {
        "oscar/services",
        "oscar/jobs",
    }


def test_check_names(repository):
    checks: dict[str, set[str]] = {}
    for check in repository.asset_graph.asset_check_keys:
        checks.setdefault(check.asset_key.to_user_string(), set()).add(check.name)

    for api, tables in EXPECTED_TABLES.items():
        for table in tables:
            key = f"{api}/{table}"
            assert checks.pop(key) == (WITHOUT_KEY if key in TABLES_WITHOUT_KEY else KEYED), key
    assert not checks


def test_jobs_schedules_and_sensors(repository):
    assert {job.name for job in repository.get_all_jobs() if not job.name.startswith("__")} == (
        EXPECTED_JOBS
    )
    schedules = {
        s.name: (s.job_name, s.cron_schedule, s.execution_timezone)
        for s in repository.schedule_defs
    }
    assert schedules == EXPECTED_SCHEDULES
    assert all(s.default_status == DefaultScheduleStatus.RUNNING for s in repository.schedule_defs)
    sensors = {s.name: s.minimum_interval_seconds for s in repository.sensor_defs}
    assert sensors == EXPECTED_SENSORS
    assert all(s.default_status == DefaultSensorStatus.RUNNING for s in repository.sensor_defs)


def test_loads_and_checks_of_one_api_share_its_writer_pool():
    defs = build_definitions()
    pools = {a.node_def.name: a.op.pool for a in defs.assets}
    pools |= {c.node_def.name: c.op.pool for c in defs.asset_checks}
    assert pools == {
        f"{api}_{kind}": f"duckdb_{api}"
        for api in EXPECTED_TABLES
        for kind in ("tables", "table_checks", "insights")
    }


def test_settings_change_the_cadence(monkeypatch):
    monkeypatch.setenv("CATALOG_REFRESH_CRON", "*/10 * * * *")
    monkeypatch.setenv("DAILY_REFRESH_CRON", "0 4 * * 0")
    monkeypatch.setenv("REFRESH_TIMEZONE", "Europe/Madrid")
    monkeypatch.setenv("CHANGE_SENSOR_INTERVAL_SECONDS", "5")

    repository = build_definitions().get_repository_def()

    schedule = repository.get_schedule_def("posit_connect_catalog_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "*/10 * * * *",
        "Europe/Madrid",
    )
    daily = repository.get_schedule_def("posit_connect_daily_schedule")
    assert daily.cron_schedule == "0 4 * * 0"
    assert repository.get_sensor_def("posit_connect_change_sensor").minimum_interval_seconds == 5


def test_enabled_apis_limit_the_code_location_to_those_apis(monkeypatch):
    monkeypatch.setenv("ENABLED_APIS", " posit_connect ")
    repository = build_definitions().get_repository_def()

    assert {key.path[0] for key in repository.asset_graph.get_all_asset_keys()} == {"posit_connect"}
    assert {s.name for s in repository.sensor_defs} == {
        "posit_connect_change_sensor",
        "refresh_failure_sensor",
        "insights_automation_sensor",
    }
    assert not any(s.name.startswith("oscar") for s in repository.schedule_defs)


def test_an_unknown_api_in_enabled_apis_names_the_choices(monkeypatch):
    monkeypatch.setenv("ENABLED_APIS", "posit_connect,oscr")

    with pytest.raises(
        ConfigurationError, match=r"ENABLED_APIS names 'oscr'.*posit_connect, oscar"
    ):
        build_definitions()
