"""Fixtures for the destination tests: one PostgreSQL server per test session, a fresh database
per test, and each API with its simulator (parametrised over `scenarios.SCENARIOS`)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.destinations.scenarios import SCENARIOS, ApiScenario
from tests.postgres_server import PostgresServer, PostgresUnavailable, running_postgres

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Skipped where PostgreSQL is not installed, except in CI (`CI` set), which must prove
    the PostgreSQL paths and so fails instead."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {missing}", pytrace=False)
        pytest.skip(str(missing))


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty database of its own, owned by the test role (not a superuser)."""
    name = f"test_{os.getpid()}_{next(_databases)}"
    dsn = postgres_server.create_database(name)
    yield dsn
    postgres_server.drop_database(name)


@pytest.fixture
def load_into_postgres(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The project configured the way a user points it at PostgreSQL: two env vars."""
    monkeypatch.setenv("LOAD_DESTINATION", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_dsn)
    return postgres_dsn


@pytest.fixture(params=sorted(SCENARIOS))
def api(request: pytest.FixtureRequest) -> tuple[ApiScenario, Any]:
    """(scenario, running simulator) for each API, its server settings in the environment."""
    scenario = SCENARIOS[request.param]
    return scenario, request.getfixturevalue(scenario.simulator_fixture)
