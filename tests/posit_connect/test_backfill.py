"""Event tables: a first load from start_date, and backfills of a time range through the run
config, against the simulator. The incremental cursor must not move and no row may repeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from assets.registry import POSIT_CONNECT
from tests.conftest import query
from tests.helpers import materialize_api, materialized_tables

VISITS = "content_visits"
VISITS_ROUTE = "GET /__api__/v1/instrumentation/content/visits"


def server_visit_times(sim) -> list[datetime]:
    """Every visit's time as the server reports it, in UTC (the time zone date bounds are in;
    the server writes some with other offsets), oldest first (one unpaged read)."""
    response = requests.get(
        f"{sim.url}/__api__/v1/instrumentation/content/visits",
        params={"limit": 100_000},
        headers={"Authorization": f"Key {sim.api_key}"},
        timeout=30,
    )
    times = sorted(
        datetime.fromisoformat(v["time"]).astimezone(UTC) for v in response.json()["results"]
    )
    assert len(times) == sim.expected_counts()[VISITS]  # one page held them all
    return times


def loaded_visits() -> tuple[int, int]:
    """(rows, distinct row keys) in content_visits."""
    return query(POSIT_CONNECT, f"SELECT count(*), count(DISTINCT row_key) FROM {VISITS}")[0]


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_backfill_over_loaded_rows_adds_none_and_leaves_the_cursor(posit_sim):
    assert materialize_api(POSIT_CONNECT, [VISITS]).success
    total = len(server_visit_times(posit_sim))
    assert loaded_visits() == (total, total)
    times = server_visit_times(posit_sim)
    posit_sim.reset_counters()

    window = {"start_date": rfc3339(times[0]), "end_date": rfc3339(times[len(times) // 2])}
    result = materialize_api(POSIT_CONNECT, [VISITS], config=window)

    assert result.success, result.all_events
    assert loaded_visits() == (total, total)
    asked = [path for _, _, path, _ in posit_sim.request_times if "visits" in path]
    assert asked and all("from=" in path and "to=" in path for path in asked)

    # the cursor did not move back: new visits load, and only they
    posit_sim.mutate("add_visits", {"n": 7})
    assert materialize_api(POSIT_CONNECT, [VISITS]).success
    assert loaded_visits() == (total + 7, total + 7)


def test_a_first_load_from_start_date_then_a_backfill_of_the_gap(posit_sim, monkeypatch):
    times = server_visit_times(posit_sim)
    middle = times[len(times) // 2]
    newer = sum(1 for t in times if t >= middle)
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__START_DATE", rfc3339(middle))

    assert materialize_api(POSIT_CONNECT, [VISITS]).success
    assert loaded_visits() == (newer, newer)

    gap = {"start_date": rfc3339(times[0] - timedelta(days=1)), "end_date": rfc3339(middle)}
    assert materialize_api(POSIT_CONNECT, [VISITS], config=gap).success
    assert loaded_visits() == (len(times), len(times))

    posit_sim.reset_counters()
    assert materialize_api(POSIT_CONNECT, [VISITS]).success
    assert loaded_visits() == (len(times), len(times))
    assert posit_sim.stats()["requests"][VISITS_ROUTE] == 1


def failure_text(result) -> str:
    return " ".join(
        event.step_failure_data.error.message
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data.error
    )


def test_a_bad_window_fails_naming_what_to_fix_and_loads_nothing(posit_sim):
    cases = [
        ({"start_date": "yesterday", "end_date": "2025-01-31"}, "start_date 'yesterday' is not"),
        ({"start_date": "2025-02-01", "end_date": "2025-01-01"}, "is after end_date"),
        ({"start_date": "2025-01-01"}, "needs both start_date and end_date"),
    ]
    for config, message in cases:
        result = materialize_api(POSIT_CONNECT, [VISITS], config=config)
        assert not result.success
        assert message in failure_text(result), failure_text(result)
    assert posit_sim.stats()["requests"].get(VISITS_ROUTE, 0) == 0


def test_a_bad_start_date_setting_fails_the_event_tables_not_the_code_location(
    posit_sim, monkeypatch
):
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__START_DATE", "last tuesday")

    result = materialize_api(POSIT_CONNECT, ["tags", VISITS])

    assert not result.success
    assert "start_date 'last tuesday' is not an RFC3339" in failure_text(result)
    assert "SOURCES__" in failure_text(result)


def test_an_api_without_event_tables_refuses_a_window(oscar_sim):
    from assets.registry import OSCAR

    result = materialize_api(OSCAR, ["services"], config={"start_date": "2025-01-01"})

    assert not result.success
    assert "OSCAR has no event tables" in failure_text(result)
    assert materialized_tables(result) == set()


def test_a_date_as_end_date_includes_that_whole_day(posit_sim, monkeypatch):
    times = server_visit_times(posit_sim)
    last_day = times[len(times) // 2].date()
    next_day = last_day + timedelta(days=1)
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__START_DATE", next_day.isoformat())
    assert materialize_api(POSIT_CONNECT, [VISITS]).success
    assert loaded_visits()[0] == sum(1 for t in times if t.date() >= next_day)

    gap = {"start_date": times[0].date().isoformat(), "end_date": last_day.isoformat()}
    assert materialize_api(POSIT_CONNECT, [VISITS], config=gap).success
    assert loaded_visits() == (len(times), len(times))
