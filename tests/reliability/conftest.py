"""Fixtures of the reliability suite: simulators registered for the leak scan, a persistent
Dagster instance (event log and compute logs on disk), and the opt-in soak marker.

Every test here ends with a scan of everything it wrote (DuckDB files, the dlt pipelines dir
with state and traces, DAGSTER_HOME with event and compute logs, subprocess output) for every
secret value its simulators handed out: case 9 runs across all the other cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from tests.helpers import files_containing
from tests.orchestration.test_sensors import webhook  # noqa: F401 - an endpoint that collects posts

# Small enough for a run of about a second, big enough for several requests per table.
POSIT_SIZES = {"content": 40, "users": 25, "visits": 300, "audit_logs": 120}


@pytest.fixture(autouse=True)
def _soak_is_opt_in(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("soak") and "soak" not in (
        request.config.getoption("markexpr") or ""
    ):
        pytest.skip("long-running: run with -m soak")


@pytest.fixture
def simulators() -> list:
    """Every simulator a test starts; their secrets are scanned for when the test ends."""
    return []


@pytest.fixture(autouse=True)
def no_secret_anywhere(simulators: list, isolated_env: Path) -> Iterator[None]:
    yield
    secrets = sorted({s for sim in simulators for s in sim.secrets()})
    if secrets:
        assert files_containing(isolated_env, secrets) == []


@pytest.fixture
def posit(simulators: list, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    from simulators.posit_connect import PositConnectSimulator

    with PositConnectSimulator(**POSIT_SIZES) as sim:
        simulators.append(sim)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)
        yield sim


@pytest.fixture
def oscar(simulators: list, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    from simulators.oscar import OscarSimulator

    with OscarSimulator(services=12, jobs_per_service=30, jobs_page_size=12) as sim:
        simulators.append(sim)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__USERNAME", sim.username)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", sim.password)
        yield sim


@pytest.fixture
def instance(isolated_env: Path) -> Iterator[DagsterInstance]:
    """The instance of DAGSTER_HOME, so runs leave event and compute logs to scan."""
    with DagsterInstance.get() as dagster_instance:
        yield dagster_instance
