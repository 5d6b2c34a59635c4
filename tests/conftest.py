"""Shared fixtures: every test gets its own DuckDB dir, dlt data dir and Dagster home, and
no credentials leak in from the developer's shell."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from assets.registry import SourceInfo

CREDENTIAL_ENV_PREFIXES = ("SOURCES__", "DESTINATION__", "CONNECT_", "OSCAR_")
# environments: a server that runs content on Kubernetes, so every table has rows
POSIT_SIM_SIZES = {"content": 40, "users": 25, "visits": 300, "audit_logs": 120, "environments": 2}
# a v4 cluster whose job lists take three pages per service
OSCAR_SIM_SIZES = {"services": 12, "jobs_per_service": 30, "jobs_page_size": 12}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_environment(tmp_path, monkeypatch)
    return tmp_path


def isolate_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What every test runs in (and a load several tests share: tests/helpers.py)."""
    for name in list(os.environ):
        if name.startswith(CREDENTIAL_ENV_PREFIXES) or name in ("LOAD_DESTINATION", "ENABLED_APIS"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DUCKDB_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    # Retries stay on (they are under test) but back off quickly.
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "2")
    # Dagster's retry of a whole failed load would repeat every failure test's run; the
    # orchestration tests that are about it turn it back on.
    monkeypatch.setenv("REFRESH_RETRIES", "0")


@pytest.fixture
def persistent_instance() -> Iterator:
    """A Dagster instance that writes its event log under DAGSTER_HOME, for leak scans."""
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:  # DAGSTER_HOME from the isolated_env fixture
        yield instance


@pytest.fixture
def posit_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    from simulators.posit_connect import PositConnectSimulator

    with PositConnectSimulator(**POSIT_SIM_SIZES) as sim:
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)
        yield sim


@pytest.fixture
def oscar_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A v4 OSCAR cluster whose job lists take three pages per service, with Basic auth set."""
    from simulators.oscar import OscarSimulator

    with OscarSimulator(**OSCAR_SIM_SIZES) as sim:
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__USERNAME", sim.username)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", sim.password)
        yield sim


def duckdb_file(info: SourceInfo) -> Path:
    from assets.destinations import duckdb_path

    return duckdb_path(info)


def query(info: SourceInfo, sql: str) -> list[tuple]:
    """Run `sql` read-only against the API's DuckDB file, with its dataset as search path."""
    with duckdb.connect(str(duckdb_file(info)), read_only=True) as con:
        con.execute(f"SET schema = '{info.dataset_name}'")
        return con.execute(sql).fetchall()


def current_count(info: SourceInfo, table: str) -> int:
    endpoint = info.catalog[table]
    return query(info, f"SELECT count(*) FROM {table} WHERE {endpoint.load.current_filter}")[0][0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests, the longest (up to a minute each), are handed out first: handed
    out last, one of them keeps a worker busy while the other has nothing left to run."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


def pytest_configure(config: pytest.Config) -> None:
    """Started as a shell's background job, pytest inherits SIGINT ignored, and each Dagster run
    in-process then points SIGTERM at that (Dagster maps SIGTERM to SIGINT): every process a test
    starts afterwards would ignore `terminate()`, and its test would hang. Python's own handler
    is reset to the default in those processes."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the machine's cores. With one per core a fifth of the
    cores idled (25 CPU minutes in a 15-minute run on 2 cores) while tests waited on their
    servers, Dagster subprocesses and the holds and timeouts they are about."""
    return (os.cpu_count() or 1) + 1
