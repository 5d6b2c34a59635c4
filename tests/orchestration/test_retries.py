"""Dagster retries a load that failed on an outage, on top of dlt's per-request retries, and
does not retry what only a person can fix."""

from __future__ import annotations

import pytest
from dagster import DagsterEventType

from assets.registry import POSIT_CONNECT
from tests.conftest import current_count
from tests.helpers import materialize_api


@pytest.fixture
def retries_on(monkeypatch):
    monkeypatch.setenv("REFRESH_RETRIES", "2")
    monkeypatch.setenv("REFRESH_RETRY_DELAY_SECONDS", "0.1")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")


def step_attempts(result) -> int:
    return 1 + sum(
        1 for event in result.all_events if event.event_type == DagsterEventType.STEP_RESTARTED
    )


def test_an_outage_longer_than_dlts_retries_is_retried_by_dagster(posit_sim, retries_on):
    # dlt tries each request twice: the first attempt of the step fails on /v1/tags
    posit_sim.add_fault(kind="status", status=503, route="/v1/tags$", times=2)

    result = materialize_api(POSIT_CONNECT, ["tags", "users"])

    assert result.success
    assert step_attempts(result) == 2
    assert current_count(POSIT_CONNECT, "tags") == posit_sim.expected_counts()["tags"]


def test_a_rejected_key_fails_at_once(posit_sim, retries_on, monkeypatch):
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", "not-a-key")

    result = materialize_api(POSIT_CONNECT, ["users"])

    assert not result.success
    assert step_attempts(result) == 1
    assert posit_sim.stats()["requests"]["GET /__api__/v1/users"] == 1
