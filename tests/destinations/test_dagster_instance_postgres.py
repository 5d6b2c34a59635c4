"""The production instance (deploy/dagster.yaml) against a real PostgreSQL server: the yaml
is copied into a new DAGSTER_HOME and pointed at the server with the DAGSTER_PG_* env vars,
as on a deployment. Runs, event logs, schedules, sensors and their ticks go to PostgreSQL;
the sensor and schedule ticks are evaluated by the daemon's own iteration functions, as
`dagster-daemon run` does, and their runs land in the run queue."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    QueuedRunCoordinator,
    RunsFilter,
)
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.test_utils import freeze_time
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.sensor import execute_sensor_iteration
from dagster._scheduler.scheduler import launch_scheduled_runs
from dagster_postgres import (
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)

from assets.registry import POSIT_CONNECT
from tests.helpers import materialize_api
from tests.postgres_server import PostgresServer

pytestmark = [
    pytest.mark.postgres,
    # dagster's own snapshot of a schedule reads a deprecated property
    pytest.mark.filterwarnings("ignore:Property `ScheduleDefinition.environment_vars`"),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_YAML = REPO_ROOT / "deploy" / "dagster.yaml"
CHANGE_SENSOR = "posit_connect_change_sensor"
LOG = logging.getLogger("test_daemon")


@pytest.fixture
def production_home(
    tmp_path: Path, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A DAGSTER_HOME with deploy/dagster.yaml, its database created empty (as an operator
    would) and owned by a role that is not a superuser."""
    home = tmp_path / "production_home"
    home.mkdir()
    shutil.copy(PRODUCTION_YAML, home / "dagster.yaml")
    database = f"dagster_{tmp_path.name}"[:63]
    postgres_server.create_database(database)
    for name, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": postgres_server.host,
        "DAGSTER_PG_PORT": str(postgres_server.port),
        "DAGSTER_PG_USERNAME": postgres_server.user,
        "DAGSTER_PG_PASSWORD": postgres_server.password,
        "DAGSTER_PG_DB": database,
    }.items():
        monkeypatch.setenv(name, value)
    return home


@pytest.fixture
def instance(production_home: Path) -> Iterator[DagsterInstance]:
    with DagsterInstance.get() as instance:  # what the webserver and the daemon do
        yield instance


@pytest.fixture
def workspace(instance: DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The code location as the daemon sees it (loaded in this process, for speed)."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            module_name="orchestration.definitions", working_directory=str(REPO_ROOT)
        ),
        location_name="posit_connect_oscar",
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as context:
        yield context


def test_the_instance_keeps_everything_in_postgres_with_the_queue_pools_and_retries(instance):
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    concurrency = instance.get_concurrency_config()
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert concurrency.pool_config.default_pool_limit == 1  # duckdb_<api>: one writer
    assert concurrency.pool_config.pool_granularity.value == "run"
    assert instance.run_retries_enabled
    assert instance.run_retries_max_retries == 2
    assert not instance.run_retries_retry_on_asset_or_op_failure
    assert instance.run_monitoring_enabled
    assert not instance.telemetry_enabled
    sensor_retention = instance.get_tick_retention_settings(InstigatorType.SENSOR)
    assert sensor_retention[TickStatus.SKIPPED] == 1
    assert sensor_retention[TickStatus.FAILURE] == 90
    instance.upgrade()  # `dagster instance migrate` on a current database: nothing to do


def test_a_run_and_its_materialisations_are_recorded_in_postgres(posit_sim, instance):
    result = materialize_api(POSIT_CONNECT, ["users", "groups"], instance=instance)
    assert result.success

    # a new process (the webserver) reads it back from PostgreSQL
    with DagsterInstance.get() as reader:
        run = reader.get_run_by_id(result.run_id)
        assert run is not None and run.status == DagsterRunStatus.SUCCESS
        users = reader.get_latest_materialization_event(AssetKey(["posit_connect", "users"]))
        assert users is not None and users.run_id == result.run_id
        # the API's writer pool has the limit of dagster.yaml
        pool = reader.event_log_storage.get_concurrency_info("duckdb_posit_connect")
        assert pool.limit == 1
        assert not pool.claimed_slots  # given back when the run ended


def test_a_change_sensor_ticks_with_its_cursor_and_queues_a_refresh(posit_sim, workspace):
    instance = workspace.instance
    start = datetime.now(UTC)

    with freeze_time(start):
        list(execute_sensor_iteration(workspace, LOG, None, None))
    posit_sim.mutate("add_content", {"n": 1})
    with freeze_time(start + timedelta(minutes=10)):  # past the sensor's minimum interval
        list(execute_sensor_iteration(workspace, LOG, None, None))

    state = next(
        s
        for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if s.name == CHANGE_SENSOR
    )
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
    assert [t.status for t in ticks] == [TickStatus.SUCCESS, TickStatus.SKIPPED]  # newest first
    assert ticks[1].cursor is not None and ticks[0].cursor != ticks[1].cursor
    (run,) = instance.get_runs(RunsFilter(run_ids=ticks[0].run_ids))
    assert run.status == DagsterRunStatus.QUEUED  # waits for the daemon's queue and its pool
    assert AssetKey(["posit_connect", "content"]) in run.asset_selection


def test_schedules_tick_on_their_cron_and_queue_their_jobs(workspace):
    instance = workspace.instance
    start = datetime(2030, 1, 1, 0, 30, tzinfo=UTC)

    for now in (start, start + timedelta(hours=1)):  # the first look starts the schedules
        with freeze_time(now):
            list(launch_scheduled_runs(workspace, LOG, now, {}))

    states = {
        s.name: s for s in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
    }
    assert "posit_connect_catalog_schedule" in states
    hourly = states["posit_connect_catalog_schedule"]
    ticks = instance.get_ticks(hourly.instigator_origin_id, hourly.selector_id)
    assert [t.status for t in ticks] == [TickStatus.SUCCESS]
    assert ticks[0].timestamp == datetime(2030, 1, 1, 1, 0, tzinfo=UTC).timestamp()
    (run,) = instance.get_runs(RunsFilter(run_ids=ticks[0].run_ids))
    assert run.status == DagsterRunStatus.QUEUED
    assert run.job_name == "posit_connect_catalog_refresh"
