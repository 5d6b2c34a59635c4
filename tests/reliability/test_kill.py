"""Case 3: a run SIGKILLed during extract, normalize or load; the next run converges to
exactly the server's rows.

Each killed run is a real materialisation through Dagster in its own process
(`tests/reliability/runner.py`), killed with SIGKILL: no handler runs, nothing is flushed.
Extract is killed after a number of requests the simulator served; normalize and load at
named points inside dlt (the runner pauses there and the test kills it). The runs after a
kill start from whatever it left: a half-written pipeline working dir, a DuckDB file with
data merged but the load not recorded in `_dlt_loads`, a Dagster run left STARTED.

Why it converges: dagster-dlt drops the local working dir before every run and restores
state and schema from the destination, where state counts only with its load recorded as
complete; snapshot and fan-out tables merge with scd2 (an identical row is not inserted
again), event tables merge insert-only on their key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.duckdb_files import working_path
from assets.registry import OSCAR, POSIT_CONNECT
from tests.conftest import duckdb_file
from tests.oscar.support import assert_tables_match, expected_keys
from tests.reliability.support import (
    POSIT_KEYS,
    assert_posit_exact,
    failure_message,
    loaded_keys,
    query,
    run,
    start_runner,
    table_exists,
    wait_for,
)

RUN_TIMEOUT = 120


def kill_after_requests(sim, requests: int, tmp_path: Path, name: str, info=POSIT_CONNECT) -> None:
    """Start a run and SIGKILL it once the server has answered `requests` requests."""
    sim.reset_counters()
    child = start_runner(info, tmp_path / "logs" / f"{name}.log")
    wait_for(
        lambda: sim.stats()["requests"].get("total", 0) >= requests or not child.running(),
        RUN_TIMEOUT,
        f"{requests} requests",
    )
    assert child.running(), f"run ended before the kill:\n{child.output[-3000:]}"
    child.kill()


def kill_at(point: str, tmp_path: Path, name: str, info=POSIT_CONNECT) -> None:
    """Start a run that pauses at `point` inside dlt, and SIGKILL it there."""
    marker = tmp_path / f"{name}.reached"
    child = start_runner(info, tmp_path / "logs" / f"{name}.log", pause_at=point, marker=marker)
    wait_for(lambda: marker.exists() or not child.running(), RUN_TIMEOUT, point, 0.02)
    assert child.running(), f"run ended before {point}:\n{child.output[-3000:]}"
    child.kill()


def loaders_file() -> Path:
    """What a killed run left is in the loader's working file; people read the published
    copy, which only a complete load replaces."""
    return working_path(duckdb_file(POSIT_CONNECT))


def completed_loads(path: Path | None = None) -> int:
    path = path or loaders_file()
    if not table_exists(POSIT_CONNECT, "_dlt_loads", path):
        return 0
    return query(POSIT_CONNECT, "SELECT count(*) FROM _dlt_loads WHERE status = 0", path)[0][0]


def converge(sim, instance) -> dict[str, int]:
    result = run(POSIT_CONNECT, instance=instance)
    assert result.success, failure_message(result)
    return assert_posit_exact(sim)


def test_killed_during_extract_then_converges(posit, instance, tmp_path):
    posit.latency_ms = 15  # extraction takes long enough to be killed at a known request
    kill_after_requests(posit, 3, tmp_path, "extract-early")  # lists only
    posit.mutate("add_visits", {"n": 20})
    posit.mutate("update_content", {"n": 2})
    kill_after_requests(posit, 45, tmp_path, "extract-fanout")  # mid per-item requests
    assert completed_loads() == 0
    posit.latency_ms = 0

    converge(posit, instance)


def test_killed_during_normalize_and_load_then_converges(posit, instance, tmp_path):
    kill_at("normalize.files_written", tmp_path, "normalize-files-written")
    kill_at("normalize.committed", tmp_path, "normalize-committed")
    assert not table_exists(POSIT_CONNECT, "content", loaders_file())  # nothing loaded
    kill_at("load.some_jobs", tmp_path, "load-some-jobs")
    # Every table merged into the dataset, the load not yet recorded: the state in
    # _dlt_pipeline_state must not count, the rows must not count twice.
    kill_at("load.before_complete", tmp_path, "load-before-complete")
    assert completed_loads() == 0
    assert query(POSIT_CONNECT, "SELECT count(*) FROM content", loaders_file())[0][0] > 0
    assert not duckdb_file(POSIT_CONNECT).exists()  # no reader sees any of it

    converge(posit, instance)


def test_killed_after_a_good_load_with_new_data_then_converges(posit, instance, tmp_path):
    """An incremental run killed late: the cursor stays where the last complete load left
    it, and the events it had already merged are not duplicated by the next run."""
    published = converge(posit, instance)
    posit.mutate("add_visits", {"n": 40})
    posit.mutate("add_audit_logs", {"n": 10})
    posit.mutate("add_content", {"n": 2})
    posit.mutate("delete_content", {"n": 1})

    kill_at("load.before_complete", tmp_path, "incremental-before-complete")
    assert completed_loads() == 1
    # readers see the last complete load, none of the half-written one
    assert {t: sum(loaded_keys(POSIT_CONNECT, t, POSIT_KEYS[t]).values()) for t in published} == (
        published
    )

    converge(posit, instance)


def test_oscar_killed_before_its_load_completes_then_converges(oscar, instance, tmp_path):
    """OSCAR's jobs table is merged delete-insert on (service, job_name) and keeps jobs the
    server dropped after their TTL: a run killed with every table merged but its load not
    recorded neither loses nor duplicates one."""
    assert run(OSCAR, instance=instance).success
    oscar.mutate("add_jobs", {"n": 15})
    oscar.mutate("change_job_status", {"n": 10})
    oscar.mutate("update_service", {"n": 2})
    expired = {tuple(j) for j in oscar.mutate("expire_jobs", {"n": 5})["expired"]}
    kill_at("load.before_complete", tmp_path, "oscar-before-complete", OSCAR)

    result = run(OSCAR, instance=instance)

    assert result.success, failure_message(result)
    tables = expected_keys(oscar)
    tables["jobs"] |= expired  # jobs gone after their TTL are kept as last seen
    assert_tables_match(oscar, tables)


@pytest.mark.soak
def test_killed_run_holding_the_pool_slot_and_the_recovery(posit, isolated_env, tmp_path):
    """With the project's dagster.yaml (pool `duckdb_<api>` limited to 1), a SIGKILLed run
    stays STARTED and keeps its slot: Dagster's default run launcher cannot see the dead
    process, and every later run of that API would queue behind it. The recovery is the
    UI's "Terminate" (force) on the dead run, which ends it, and freeing its slot, which
    the daemon does for ended runs with `run_monitoring: free_slots_after_run_end_seconds`.
    The file lock the load takes is released by the OS with the process: nothing to do."""
    from dagster import DagsterInstance

    pool = f"duckdb_{POSIT_CONNECT.name}"
    (isolated_env / "dagster_home" / "dagster.yaml").write_text(
        "concurrency:\n  pools:\n    default_limit: 1\n"
    )
    posit.latency_ms = 15
    kill_after_requests(posit, 20, tmp_path, "holding-the-slot")
    posit.latency_ms = 0
    with DagsterInstance.get() as instance:
        held = instance.event_log_storage.get_concurrency_info(pool).claimed_slots
        for slot in held:  # what an operator does for a run whose process is gone
            dead = instance.get_run_by_id(slot.run_id)
            assert dead is not None and not dead.is_finished
            instance.report_run_canceled(dead, message="its process was killed")
            instance.event_log_storage.free_concurrency_slots_for_run(slot.run_id)

        converge(posit, instance)


# Every point on its own, each followed by a converging run (about a minute).
POINTS = [
    "normalize.start",
    "normalize.files_written",
    "normalize.committed",
    "load.start",
    "load.some_jobs",
    "load.before_complete",
]


@pytest.mark.soak
@pytest.mark.parametrize("point", POINTS)
def test_soak_each_kill_point(posit, instance, tmp_path, point):
    kill_at(point, tmp_path, point)
    converge(posit, instance)
    posit.mutate("add_visits", {"n": 15})
    posit.mutate("update_content", {"n": 3})
    kill_at(point, tmp_path, point + "-again")
    converge(posit, instance)


@pytest.mark.soak
@pytest.mark.parametrize("requests", [1, 10, 30, 60, 85])
def test_soak_each_extract_kill(posit, instance, tmp_path, requests):
    posit.latency_ms = 15
    kill_after_requests(posit, requests, tmp_path, f"extract-{requests}")
    posit.latency_ms = 0
    converge(posit, instance)
