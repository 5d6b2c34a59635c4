"""A materialisation in its own process, for tests that kill it or run two at once.

    python -m tests.reliability.runner posit_connect [table ...]

Runs through Dagster with the persistent instance of DAGSTER_HOME (event log and compute logs
on disk, as a deployment has them) and exits 0 on success, 1 on failure. With
RELIABILITY_PAUSE_AT=<point> and RELIABILITY_MARKER=<file>, it writes the marker file when the
run reaches that point and then blocks, so the test can SIGKILL it exactly there.

The suite starts it as `child_main` in a process forked from a server that has Dagster, dlt
and their dependencies imported already (multiprocessing's forkserver), which saves the
seconds of imports per process; the project's own modules are imported in the child, after
its environment is set.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _pause(point: str) -> None:
    marker = os.environ.get("RELIABILITY_MARKER")
    if marker:
        Path(marker).write_text(point)
    time.sleep(600)  # the test kills the process here


def _wrap(owner: Any, name: str, point: str, after: bool = False, nth: int = 1) -> None:
    """Pause on the `nth` call of `owner.name`, before it runs (or after, with `after`)."""
    original: Callable[..., Any] = getattr(owner, name)
    calls = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if not after and calls[0] == nth:
            _pause(point)
        result = original(*args, **kwargs)
        if after and calls[0] == nth:
            _pause(point)
        return result

    setattr(owner, name, wrapper)


def _completed_jobs_pause(nth: int, point: str) -> None:
    """Pause once `nth` load jobs have reached a terminal state (been committed as done)."""
    from dlt.load.load import Load

    original = Load.complete_jobs
    done = [0]

    def complete_jobs(self: Any, load_id: str, jobs: Any, schema: Any) -> Any:
        result = original(self, load_id, jobs, schema)
        done[0] += len(result[1])
        if done[0] >= nth:
            _pause(point)
        return result

    Load.complete_jobs = complete_jobs


def install_pause_points(point: str) -> None:
    from dlt.common.storages.load_storage import LoadStorage
    from dlt.destinations.job_client_impl import SqlJobClientBase
    from dlt.load.load import Load
    from dlt.normalize.normalize import Normalize

    points: dict[str, Callable[[], None]] = {
        # normalize: before any file is read; with files written but the package not yet
        # committed; committed to the load folder but the extracted package not yet deleted
        "normalize.start": lambda: _wrap(Normalize, "spool_schema_files", point),
        "normalize.files_written": lambda: _wrap(LoadStorage, "commit_new_load_package", point),
        "normalize.committed": lambda: _wrap(
            LoadStorage, "commit_new_load_package", point, after=True
        ),
        # load: before the first job; after some jobs are in the destination; with every
        # table merged but the load not yet recorded in _dlt_loads
        "load.start": lambda: _wrap(Load, "load_single_package", point),
        "load.some_jobs": lambda: _completed_jobs_pause(3, point),
        "load.before_complete": lambda: _wrap(SqlJobClientBase, "complete_load", point),
    }
    points[point]()


def main(argv: list[str]) -> int:
    from dagster import DagsterInstance

    from assets.registry import SOURCES
    from tests.helpers import materialize_api

    point = os.environ.get("RELIABILITY_PAUSE_AT")
    if point:
        install_pause_points(point)
    info = next(s for s in SOURCES if s.name == argv[0])
    with DagsterInstance.get() as instance:
        result = materialize_api(info, argv[1:] or None, instance=instance)
    return 0 if result.success else 1


# Imported once by the fork server; nothing here reads the environment or a setting.
PRELOAD = [
    "dagster",
    "dagster_dlt",
    "dlt",
    "dlt.destinations",
    "dlt.load.load",
    "dlt.normalize.normalize",
    "dlt.sources.helpers.rest_client",
    "duckdb",
    "pyarrow",
    "requests",
]


def child_main(env: dict[str, str], argv: list[str], log: str, cwd: str) -> None:
    """The entry point in a forked child: output to `log`, the test's environment, a run."""
    with open(log, "ab", buffering=0) as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.exit(main(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
