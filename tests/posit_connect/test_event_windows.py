"""A first load (and a backfill) of a long usage history reads disjoint time windows at once
(`assets._catalog.windowed_event_pages`). Against the simulator, whose `from`/`to` are
inclusive as Connect's are and whose Shiny `from` also returns sessions still running at it:
events exactly on a window edge and sessions spanning one are loaded once, the windows ran
concurrently, and the rows and the incremental cursor are those of a sequential load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from assets import _catalog
from assets.registry import POSIT_CONNECT
from tests.conftest import query
from tests.helpers import materialize_api

VISITS, SHINY = "content_visits", "shiny_usage"
ROUTES = {
    VISITS: "/__api__/v1/instrumentation/content/visits",
    SHINY: "/__api__/v1/instrumentation/shiny/usage",
}
EVENTS = 3_000  # six pages of 500: the first page and a few windows
CONCURRENCY = 4


@pytest.fixture
def history(monkeypatch):
    """A server whose visits and Shiny sessions start on each of EVENTS whole minutes ending
    shortly before now: window edges fall on whole minutes, so every edge has events on it."""
    from simulators.posit_connect import PositConnectSimulator

    with PositConnectSimulator(content=20, users=10, visits=0, shiny_sessions=0) as sim:
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__MAX_CONCURRENCY", str(CONCURRENCY))
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        minutes = [now - timedelta(minutes=EVENTS + 10 - k) for k in range(EVENTS)]
        sim.minutes = minutes
        sim.mutate("add_visits_at", {"times": [rfc3339(m) for m in minutes]})
        sim.mutate(
            "add_shiny_sessions_at",
            {"times": [rfc3339(m) for m in minutes], "open": [rfc3339(m) for m in minutes[::200]]},
        )
        yield sim


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def server_rows(sim, table: str) -> list[tuple]:
    """Every row the server holds, read page by page without a time filter (each once)."""
    rows, url = [], f"{sim.url}{ROUTES[table]}?limit=500"
    while url:
        body = requests.get(url, headers={"Authorization": f"Key {sim.api_key}"}, timeout=30).json()
        rows += body["results"]
        url = body["paging"]["next"]
    if table == VISITS:
        return sorted(((r["content_guid"], r["user_guid"], utc(r["time"])) for r in rows), key=repr)
    return sorted(
        ((r["content_guid"], r["user_guid"], utc(r["started"]), utc(r["ended"])) for r in rows),
        key=repr,
    )


def utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def loaded_rows(table: str) -> list[tuple]:
    columns = (
        "content_guid, user_guid, time"
        if table == VISITS
        else ("content_guid, user_guid, started, ended")
    )
    return sorted(
        (
            tuple(v.astimezone(UTC) if isinstance(v, datetime) else v for v in row)
            for row in query(POSIT_CONNECT, f"SELECT {columns} FROM {table}")
        ),
        key=repr,
    )


def stored_rows(table: str) -> list[tuple]:
    """Every stored column but dlt's load ids, as a set to compare two loads by."""
    return sorted(
        query(POSIT_CONNECT, f"SELECT COLUMNS(lambda c: NOT starts_with(c, '_dlt')) FROM {table}"),
        key=repr,
    )


def requested(sim, table: str) -> list[tuple[float, float, dict[str, str]]]:
    """(arrived, answered, query) of each request for `table` since the counters' reset."""
    return [
        (arrived, answered, {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()})
        for arrived, answered, target in sim.request_spans
        if urlsplit(target).path == ROUTES[table]
    ]


def next_from(sim, table: str) -> str:
    """An unchanged rerun: one request, from the incremental cursor, and no new row."""
    before = len(loaded_rows(table))
    sim.reset_counters()
    assert materialize_api(POSIT_CONNECT, [table]).success
    asked = requested(sim, table)
    assert len(asked) == 1, asked
    assert len(loaded_rows(table)) == before
    return asked[0][2]["from"]


def load_both_ways(sim, table: str, monkeypatch, tmp_path) -> tuple[list[tuple], str]:
    """A windowed first load checked against the server, then a sequential one (the path of
    incremental runs) into another DuckDB file: the same stored rows and the same cursor."""
    sim.latency_ms = 20  # a request is in flight long enough for the others to overlap it
    sim.reset_counters()
    assert materialize_api(POSIT_CONNECT, [table]).success
    sim.latency_ms = 0
    windows = requested(sim, table)
    assert loaded_rows(table) == server_rows(sim, table)
    assert query(POSIT_CONNECT, f"SELECT count(*) = count(DISTINCT row_key) FROM {table}")[0][0]
    windowed, cursor = stored_rows(table), next_from(sim, table)

    monkeypatch.setenv("DUCKDB_DIR", str(tmp_path / "sequential"))
    monkeypatch.setattr(_catalog, "_windowable", lambda endpoint: False)
    sim.reset_counters()
    assert materialize_api(POSIT_CONNECT, [table]).success
    assert len(requested(sim, table)) == EVENTS // 500
    assert stored_rows(table) == windowed
    assert next_from(sim, table) == cursor
    return windows, cursor


def overlapping(spans: list[tuple[float, float, dict[str, str]]]) -> bool:
    """Whether two requests of different windows were in flight at the same time."""
    return any(
        a[2].get("from") != b[2].get("from") and a[0] < b[1] and b[0] < a[1]
        for i, a in enumerate(spans)
        for b in spans[i + 1 :]
    )


def test_visits_on_window_edges_load_once_and_as_a_sequential_load(history, monkeypatch, tmp_path):
    windows, cursor = load_both_ways(history, VISITS, monkeypatch, tmp_path)

    edges = {utc(q["from"]) for _, _, q in windows if "from" in q}
    assert len(edges) >= 3  # the first page's last instant and at least two more edges
    assert edges <= set(history.minutes)  # each edge has a visit exactly on it
    assert all("to" in q for _, _, q in windows if "from" in q and utc(q["from"]) != max(edges))
    assert overlapping(windows)
    assert utc(cursor) == history.minutes[-1]


def test_shiny_sessions_spanning_edges_and_still_open_load_once(history, monkeypatch, tmp_path):
    windows, cursor = load_both_ways(history, SHINY, monkeypatch, tmp_path)

    edges = sorted({utc(q["from"]) for _, _, q in windows if "from" in q})
    spanning = [r for r in server_rows(history, SHINY) if r[3] and r[2] < edges[1] < r[3]]
    assert spanning  # sessions the server returned to two windows, stored once (above)
    still_open = query(POSIT_CONNECT, f"SELECT count(*) FROM {SHINY} WHERE ended IS NULL")[0][0]
    assert still_open == len(history.minutes[::200])
    assert overlapping(windows)
    assert utc(cursor) == history.minutes[-1]


def test_sessions_open_at_the_first_load_that_close_later_are_kept_as_first_loaded(history):
    """As before windows: an insert-only table keeps the row of a session first seen open;
    its end, reported later, adds no second row for it (the cursor is `started`)."""
    assert materialize_api(POSIT_CONNECT, [SHINY]).success
    first = loaded_rows(SHINY)
    assert history.mutate("close_shiny_sessions", {"n": EVENTS})["closed"] == len(first) // 200

    assert materialize_api(POSIT_CONNECT, [SHINY]).success
    assert loaded_rows(SHINY) == first


def test_a_backfill_reads_its_range_in_windows_and_adds_nothing_loaded(history):
    assert materialize_api(POSIT_CONNECT, [VISITS]).success
    loaded = loaded_rows(VISITS)
    history.reset_counters()

    start, end = history.minutes[100], history.minutes[2_900]
    backfill = {"start_date": rfc3339(start), "end_date": rfc3339(end)}
    assert materialize_api(POSIT_CONNECT, [VISITS], config=backfill).success

    asked = requested(history, VISITS)
    assert len({q["from"] for _, _, q in asked}) >= 3
    assert all(utc(q["to"]) <= end for _, _, q in asked)
    assert loaded_rows(VISITS) == loaded
    assert utc(next_from(history, VISITS)) == history.minutes[-1]  # the cursor did not move


def test_a_failed_window_fails_the_load_and_the_next_run_loads_everything_once(history):
    # the 3rd and the 6th request: the 3rd may be the page read ahead of the first page, which
    # the windows do not need (its failure loses nothing); the 6th is a window's own
    history.add_fault(kind="status", status=400, route="visits", every=3, times=2)
    assert not materialize_api(POSIT_CONNECT, [VISITS]).success
    history.clear_faults()

    assert materialize_api(POSIT_CONNECT, [VISITS]).success
    assert loaded_rows(VISITS) == server_rows(history, VISITS)
