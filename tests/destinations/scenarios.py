"""Per API, what the destination tests need from its simulator: the rows a complete load holds,
and a change on the server with the rows the next run must add. The tests themselves are
generic over these; a new API in `assets.registry.SOURCES` is one `ApiScenario` here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assets.registry import OSCAR, POSIT_CONNECT, SOURCES, SourceInfo


@dataclass(frozen=True)
class ApiScenario:
    info: SourceInfo
    simulator_fixture: str  # the fixture in tests/conftest.py that serves this API
    # current rows per table a complete load of the server holds now
    expected_counts: Callable[[Any], dict[str, int]]
    # changes the server; returns {table: rows the next run adds, history included} for the
    # tables whose growth is exactly known (0: the change must not touch the table)
    change: Callable[[Any], dict[str, int]]


def posit_change(sim: Any) -> dict[str, int]:
    sim.mutate("add_content", {"n": 3})
    sim.mutate("update_content", {"n": 2})
    sim.mutate("delete_content", {"n": 1})
    sim.mutate("add_visits", {"n": 25})
    sim.mutate("add_audit_logs", {"n": 7})
    return {
        "content": 3 + 2,  # new items and new versions; the deleted one is retired in place
        "content_visits": 25,
        "audit_logs": 7,
        "users": 0,
        "groups": 0,
        "tags": 0,
        "oauth_integrations": 0,
        "shiny_usage": 0,
    }


def oscar_counts(sim: Any) -> dict[str, int]:
    from tests.oscar.support import expected_keys

    return {table: len(keys) for table, keys in expected_keys(sim).items()}


def oscar_change(sim: Any) -> dict[str, int]:
    sim.mutate("add_service", {"n": 1, "jobs": 4})
    sim.mutate("update_service", {"n": 1})
    sim.mutate("change_job_status", {"n": 3})
    return {
        "services": 1 + 1,  # the new service and the updated one's new version
        "jobs": 4,  # a changed job replaces its row (latest): only the new service's jobs add
        "cluster_info": 0,
    }


SCENARIOS: dict[str, ApiScenario] = {
    POSIT_CONNECT.name: ApiScenario(
        POSIT_CONNECT, "posit_sim", lambda sim: sim.expected_counts(), posit_change
    ),
    OSCAR.name: ApiScenario(OSCAR, "oscar_sim", oscar_counts, oscar_change),
}

# Every API the project loads must be covered.
assert set(SCENARIOS) == {info.name for info in SOURCES}, "add an ApiScenario for each API"
