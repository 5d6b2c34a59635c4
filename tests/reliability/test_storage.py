"""Case 11: DUCKDB_DIR read-only or full. The load fails at once (not retried), naming the
path and the setting, and the data people read is left as it was.

The faults are real file systems: the load runs in its own process inside a mount namespace
(`unshare --user --map-root-user --mount`, no privileges needed where user namespaces are
allowed) in which DUCKDB_DIR is a read-only bind mount of itself, or a tmpfs just big enough
for what is already there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from dagster import DagsterEventType, DagsterInstance

from assets.destinations import duckdb_dir
from assets.registry import POSIT_CONNECT
from tests.reliability.support import REPO_ROOT, assert_posit_exact, failure_message, run


def can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not can_unshare(), reason="no user and mount namespaces here")

READ_ONLY = 'mount --bind "$DIR" "$DIR" && mount -o remount,bind,ro "$DIR"'
# a tmpfs holding a copy of DUCKDB_DIR with 64 KiB to spare
FULL = (
    'kib=$(( $(du -sk "$DIR" | cut -f1) + 64 )) && cp -a "$DIR" "$DIR.copy" && '
    'mount -t tmpfs -o size=${kib}k tmpfs "$DIR" && cp -a "$DIR.copy/." "$DIR/"'
)


# what a load writes first (a snapshot table) and the most (the visits it adds)
TABLES = ("content", "users", "content_visits")


def load_on(prepare: str) -> subprocess.CompletedProcess:
    """One load of Posit Connect's TABLES in its own process, DUCKDB_DIR prepared by
    `prepare`, with Dagster's retries on (they must not be used)."""
    env = {**os.environ, "DIR": str(duckdb_dir()), "REFRESH_RETRIES": "2"}
    env["REFRESH_RETRY_DELAY_SECONDS"] = "0.1"
    tables = " ".join(TABLES)
    script = f'set -e; {prepare}; exec "$0" -m tests.reliability.runner posit_connect {tables}'
    return subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, sys.executable],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def last_run_failure() -> tuple[str, int]:
    """The step failure's message of the newest run in DAGSTER_HOME, and its attempts."""
    with DagsterInstance.get() as instance:
        run_id = instance.get_runs(limit=1)[0].run_id
        failures = instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
        restarts = instance.all_logs(run_id, of_type=DagsterEventType.STEP_RESTARTED)
    assert failures, "the run did not fail"
    return failures[0].dagster_event.step_failure_data.error.message, 1 + len(restarts)


def test_a_read_only_duckdb_dir_fails_once_naming_it(posit, instance):
    assert run(POSIT_CONNECT, TABLES, instance=instance).success
    posit.mutate("add_content", {"n": 2})
    expected_before = assert_posit_exact(posit, ["users"])

    loaded = load_on(READ_ONLY)

    assert loaded.returncode == 1, loaded.stdout[-2000:] + loaded.stderr[-3000:]
    message, attempts = last_run_failure()
    assert attempts == 1
    assert "Read-only file system" in message and f"DUCKDB_DIR={duckdb_dir()}" in message
    assert "Traceback" not in message
    assert assert_posit_exact(posit, ["users"]) == expected_before  # nothing lost


def test_a_full_duckdb_dir_fails_once_naming_it(posit, instance):
    result = run(POSIT_CONNECT, TABLES, instance=instance)
    assert result.success, failure_message(result)
    posit.mutate("add_visits", {"n": 300})
    posit.mutate("add_content", {"n": 5})

    loaded = load_on(FULL)

    assert loaded.returncode == 1, loaded.stdout[-2000:] + loaded.stderr[-3000:]
    message, attempts = last_run_failure()
    assert attempts == 1
    assert "No space left on device" in message and f"DUCKDB_DIR={duckdb_dir()}" in message
    assert "free space" in message
