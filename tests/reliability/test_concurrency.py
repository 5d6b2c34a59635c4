"""Case 7: loads of the same API that overlap. Dagster's pools queue runs of one instance
(`duckdb_<api>`, limit 1 in dagster.yaml), but not runs of another instance, the CLI without
DAGSTER_HOME, or an instance without that limit, as here: the load's own file lock
(`assets.destinations.exclusive_load`) makes the second wait. Neither fails on DuckDB's file
lock, neither drops the other's pipeline files, and the dlt state both leave is sound: the
next run finds nothing new to request.
"""

from __future__ import annotations

import pytest

from assets.registry import POSIT_CONNECT
from tests.reliability.support import (
    assert_posit_exact,
    failure_message,
    run,
    start_cli,
    start_runner,
    wait_for,
)


def assert_state_is_sound(sim, instance) -> None:
    """A run after them loads nothing again: the per-item tables' state says every item is
    loaded, the event cursors sit at the newest row, the rows are exact."""
    sim.reset_counters()
    result = run(POSIT_CONNECT, instance=instance)
    assert result.success, failure_message(result)
    requests = sim.stats()["requests"]
    assert requests.get("GET /__api__/v1/content/{guid}", 0) == 0
    assert requests.get("GET /__api__/v1/content/{guid}/permissions", 0) == 0
    assert_posit_exact(sim)


def test_two_materialisations_launched_together_both_succeed(posit, instance, tmp_path):
    posit.latency_ms = 50  # a slow server until the second load has queued behind the first
    runs = [start_runner(POSIT_CONNECT, tmp_path / "logs" / f"run-{i}.log") for i in (1, 2)]
    wait_for(
        lambda: (
            any("waiting for another load" in r.output for r in runs)
            or not all(r.running() for r in runs)
        ),
        120,
        "one load to wait for the other",
    )
    posit.latency_ms = 0

    codes = [r.wait(timeout=180) for r in runs]

    assert codes == [0, 0], "\n\n".join(r.output[-3000:] for r in runs)
    waited = [r for r in runs if "waiting for another load" in r.output]
    assert len(waited) == 1  # the second queued behind the first instead of failing
    assert_posit_exact(posit)
    assert_state_is_sound(posit, instance)


def test_a_sensor_run_overlapping_a_scheduled_run_waits_for_it(posit, instance, tmp_path):
    """The schedule's run of every table is extracting when the change sensor's run of the
    content tables starts (in this process): the sensor's run waits, then loads."""
    posit.latency_ms = 20
    scheduled = start_runner(POSIT_CONNECT, tmp_path / "logs" / "scheduled.log")
    wait_for(
        lambda: posit.stats()["requests"].get("total", 0) >= 5 or not scheduled.running(),
        120,
        "the scheduled run to start extracting",
    )
    assert scheduled.running()
    posit.mutate("add_content", {"n": 2})  # what the sensor noticed

    sensor_run = run(POSIT_CONNECT, ["content", "content_item", "content_permissions"], instance)

    assert scheduled.wait(120) == 0, scheduled.output[-3000:]
    assert sensor_run.success, failure_message(sensor_run)
    logs = [e.message or "" for e in instance.all_logs(sensor_run.run_id)]
    assert any("waiting for another load" in m for m in logs)
    posit.latency_ms = 0
    assert_posit_exact(posit, ["content", "content_item", "content_permissions"])
    assert_state_is_sound(posit, instance)


@pytest.mark.soak
def test_two_cli_materialisations_launched_together_both_succeed(posit, instance, tmp_path):
    """The same with `dagster asset materialize`, as two cron jobs or operators start it."""
    runs = [start_cli("group:posit_connect", tmp_path / "logs" / f"cli-{i}.log") for i in (1, 2)]

    codes = [r.wait(timeout=180) for r in runs]

    assert codes == [0, 0], "\n\n".join(r.output[-3000:] for r in runs)
    assert_posit_exact(posit)
    assert_state_is_sound(posit, instance)
