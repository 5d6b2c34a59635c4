"""What the reliability cases share: exact-contents assertions, runs in this process or in a
subprocess that a test may SIGKILL, and failure messages."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
from dagster import DagsterInstance, ExecuteInProcessResult, materialize

from assets._catalog import coerce_row
from assets.registry import POSIT_CONNECT, SourceInfo
from orchestration.definitions import build_definitions
from tests.conftest import duckdb_file
from tests.helpers import materialize_api
from tests.reliability import runner

REPO_ROOT = Path(__file__).resolve().parents[2]

# The columns that identify a current row of each Posit Connect table.
POSIT_KEYS: dict[str, tuple[str, ...]] = {
    "content": ("guid",),
    "content_item": ("guid",),
    "content_permissions": ("id",),
    "bundles": ("id",),
    "content_jobs": ("content_guid", "key"),
    "environment_variables": ("content_guid", "name"),
    "oauth_associations": ("content_guid", "oauth_integration_guid"),
    "oauth_integrations": ("guid",),
    "oauth_sessions": ("guid",),
    "users": ("guid",),
    "groups": ("guid",),
    "group_members": ("group_guid", "guid"),
    "tags": ("id",),
    "audit_logs": ("id",),
    "content_visits": ("row_key",),
    "shiny_usage": ("row_key",),
    "packages": ("content_guid", "bundle_id", "language", "name"),
    "runtimes": ("runtime", "version"),
    "environments": ("guid",),
    "runtime_caches": ("language", "version", "image_name"),
    "server_info": ("scope", "hostname", "version"),
    "content_hits": ("id",),
}


# -- exact contents -----------------------------------------------------------------------------
def posit_expected_keys(sim: Any) -> dict[str, Counter]:
    """The key of every row a complete load of `sim` holds as current, per table."""
    data, details = sim.data, sim.details
    catalog = POSIT_CONNECT.catalog
    with sim._data_lock:
        live = data.live_content()
        # every job ever seen is kept, a deleted item's too (content_jobs merges on its key)
        jobs = [job for c in data.content for job in details.jobs(c["guid"], (2025, 1, 0))]
        members_of = {
            group: [data.users[i]["guid"] for i in members]
            for group, members in data.group_members.items()
        }
        return {
            "content": Counter((c["guid"],) for c in live),
            "content_item": Counter((c["guid"],) for c in live),
            "content_permissions": Counter(
                (str(p["id"]),) for c in live for p in data.permissions[c["guid"]]
            ),
            "bundles": Counter((b["id"],) for c in live for b in details.bundles(c["guid"])),
            "content_jobs": Counter((j["content_guid"], j["key"]) for j in jobs),
            "environment_variables": Counter(
                (c["guid"], name) for c in live for name in details.environment(c["guid"])
            ),
            "oauth_associations": Counter(
                (c["guid"], a["oauth_integration_guid"])
                for c in live
                for a in details.associations(c["guid"])
            ),
            "oauth_integrations": Counter((i["guid"],) for i in data.integrations),
            "oauth_sessions": Counter((s["guid"],) for s in data.oauth_sessions),
            "users": Counter((u["guid"],) for u in data.users),
            "groups": Counter((g["guid"],) for g in data.groups),
            "group_members": Counter((g, u) for g, members in members_of.items() for u in members),
            "tags": Counter((t["id"],) for t in data.tags),
            "audit_logs": Counter((data.render_audit(i)["id"],) for i in range(len(data.audit))),
            "content_visits": Counter(
                (coerce_row(catalog["content_visits"], data.render_visit(i))["row_key"],)
                for i in range(len(data.visits))
            ),
            "shiny_usage": Counter(
                (coerce_row(catalog["shiny_usage"], data.render_shiny(i))["row_key"],)
                for i in range(len(data.shiny))
            ),
            **server_wide_keys(sim, live),
        }


def server_wide_keys(sim: Any, live: list[dict]) -> dict[str, Counter]:
    """The server-wide tables' keys, from what the simulator serves."""
    from simulators.posit_connect import server_wide

    runtimes = [r for r in server_wide.RUNTIME_SINCE if sim.has_route(runtime_route(r))]
    hosts = server_wide.hosts(sim.version, 0)
    environments = server_wide.environments(sim.data_sizes.environments, sim.seed, 0)
    return {
        "packages": Counter(
            (p["content_guid"], p["bundle_id"], p["language"], p["name"])
            for item in live
            for p in server_wide.packages_of(item, sim.seed)
        ),
        "runtimes": Counter(
            (runtime, version) for runtime in runtimes for version in server_wide.INSTALLED[runtime]
        ),
        "environments": Counter((e["guid"],) for e in environments),
        "runtime_caches": Counter(
            (c["language"], c["version"], c["image_name"])
            for c in server_wide.runtime_caches()["caches"]
        ),
        "server_info": Counter(
            [("server", "connect.example.org", sim.version)]
            + [("node", h["hostname"], h["version"]) for h in hosts]
        ),
        "content_hits": Counter(
            (str(server_wide.HIT_ID_BASE + position),) for position in range(len(sim.data.hits))
        ),
    }


def runtime_route(runtime: str) -> str:
    return f"/__api__/v1/server_settings/{runtime}"


def query(info: SourceInfo, sql: str, path: Path | None = None) -> list[tuple]:
    """`sql` read-only against the API's DuckDB file (default: the one people read), with
    its dataset as search path."""
    with duckdb.connect(str(path or duckdb_file(info)), read_only=True) as con:
        con.execute(f"SET schema = '{info.dataset_name}'")
        return con.execute(sql).fetchall()


def table_exists(info: SourceInfo, table: str, path: Path | None = None) -> bool:
    """Whether a (killed) run got as far as creating `table`."""
    path = path or duckdb_file(info)
    if not path.exists():
        return False
    with duckdb.connect(str(path), read_only=True) as con:
        found = con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [info.dataset_name, table],
        ).fetchall()
    return bool(found)


def loaded_keys(info: SourceInfo, table: str, key: Sequence[str]) -> Counter:
    """Keys of the current rows of `table` (duplicates counted), empty if never loaded."""
    if not table_exists(info, table):
        return Counter()
    columns = ", ".join(key)
    condition = info.catalog[table].load.current_filter
    return Counter(query(info, f"SELECT {columns} FROM {table} WHERE {condition}"))


def diff(expected: Counter, found: Counter) -> str:
    missing = expected - found
    extra = found - expected
    duplicated = [k for k, n in found.items() if n > 1]
    return (
        f"{sum(missing.values())} missing (e.g. {list(missing)[:3]}), "
        f"{sum(extra.values())} unexpected (e.g. {list(extra)[:3]}), "
        f"{len(duplicated)} keys duplicated (e.g. {duplicated[:3]})"
    )


def assert_posit_exact(sim: Any, tables: Sequence[str] | None = None) -> dict[str, int]:
    """Every current row of every table is exactly the server's: none lost, none duplicated,
    none left over. Returns the row counts found, for the report."""
    expected_counts = sim.expected_counts()
    expected = posit_expected_keys(sim)
    found_counts = {}
    problems = []
    for table in tables or POSIT_KEYS:
        found = loaded_keys(POSIT_CONNECT, table, POSIT_KEYS[table])
        found_counts[table] = sum(found.values())
        if found != expected[table]:
            problems.append(f"{table}: {diff(expected[table], found)}")
        elif found_counts[table] != expected_counts.get(table, 0):
            problems.append(
                f"{table}: {found_counts[table]} rows, {expected_counts.get(table, 0)} expected"
            )
    assert not problems, "\n".join(problems)
    return found_counts


# -- runs -----------------------------------------------------------------------------------------
def run(
    info: SourceInfo, tables: Sequence[str] | None = None, instance: DagsterInstance | None = None
) -> ExecuteInProcessResult:
    """One materialisation in this process, on the persistent instance of DAGSTER_HOME."""
    if instance is not None:
        return materialize_api(info, tables, instance=instance)
    with DagsterInstance.get() as persistent:
        return materialize_api(info, tables, instance=persistent)


def run_apis(infos: Sequence[SourceInfo], instance: DagsterInstance) -> ExecuteInProcessResult:
    """Every table of several APIs in one run, as the `refresh_all` job does."""
    defs = build_definitions()
    names = {info.name for info in infos}
    api_assets = [a for a in defs.assets if any(k.path[0] in names for k in a.keys)]
    return materialize(
        api_assets, resources=defs.resources, instance=instance, raise_on_error=False
    )


def failure_message(result: ExecuteInProcessResult) -> str:
    """The step failure as the UI shows it: the message first, then the cause chain."""
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures, "the run did not fail"
    return "\n".join(e.step_failure_data.error.to_string() for e in failures)


def headline(result: ExecuteInProcessResult) -> str:
    """Only the first line(s) a user reads: the error's message, without any traceback."""
    failure = next(e for e in result.all_events if e.is_step_failure)
    return failure.step_failure_data.error.message


class Subprocess:
    """A command in a child process, its output kept in a file (scanned for leaks)."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path):
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self._out = log.open("wb")
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._out.close()

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or cleaned up."""
        self.process.send_signal(signal.SIGKILL)
        self.wait()

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


class ForkedRun:
    """`runner.child_main` in a process forked from a server with Dagster and dlt imported
    (see runner.py): the same materialisation as the CLI's, a few seconds cheaper to start."""

    _context = None

    def __init__(self, env: dict[str, str], argv: list[str], log: Path):
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.process = self.context().Process(
            target=runner.child_main, args=(env, argv, str(log), str(REPO_ROOT)), daemon=True
        )
        self.process.start()

    @classmethod
    def context(cls) -> Any:
        if cls._context is None:
            cls._context = multiprocessing.get_context("forkserver")
            cls._context.set_forkserver_preload(runner.PRELOAD)
        return cls._context

    def running(self) -> bool:
        return self.process.is_alive()

    def wait(self, timeout: float = 120) -> int | None:
        self.process.join(timeout)
        return self.process.exitcode

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or cleaned up."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join()

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_runner(
    info: SourceInfo,
    log: Path,
    tables: Sequence[str] = (),
    pause_at: str | None = None,
    marker: Path | None = None,
) -> ForkedRun:
    """A materialisation through Dagster in its own process, optionally pausing at a named
    point of dlt's normalize or load step so that it can be killed exactly there."""
    env = dict(os.environ)
    if pause_at:
        env.update(RELIABILITY_PAUSE_AT=pause_at, RELIABILITY_MARKER=str(marker))
    return ForkedRun(env, [info.name, *tables], log)


def start_cli(selection: str, log: Path) -> Subprocess:
    """`dagster asset materialize`, as an operator or a cron job runs it."""
    dagster = str(Path(sys.executable).with_name("dagster"))
    command = [dagster, "asset", "materialize", "-m", "orchestration.definitions"]
    return Subprocess([*command, "--select", selection], dict(os.environ), log)


def wait_for(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)
