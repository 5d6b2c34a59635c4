"""Event tables: the window a load covers (`EventWindow`), and the incremental cursor of
`_event_rows` (what each load asks the server for), extracted by a real dlt pipeline because
the cursor is dlt state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import dlt
import pytest

from assets._catalog import Endpoint, Events, EventWindow, _windows
from assets.errors import ConfigurationError

VISITS = Endpoint(
    table="content_visits",
    path="/v1/instrumentation/content/visits",
    description="one row per visit",
    load=Events(cursor="time", cursor_param="from", end_param="to"),
    key=("id",),
    string_columns=("id",),
    timestamp_columns=("time",),
)
AUDIT = replace(VISITS, table="audit_logs", load=Events(cursor="time", descending=True))


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=UTC)


def event(number: int, day: int, hour: int = 0) -> dict[str, Any]:
    return {"id": number, "time": at(day, hour).isoformat().replace("+00:00", "Z")}


# -- the window -----------------------------------------------------------------------------
def test_no_window_is_everything_since_the_last_load():
    assert EventWindow().bounds() == (None, None)


def test_a_window_is_read_in_utc_and_a_date_ends_with_its_last_moment():
    assert EventWindow(start="2025-01-02T03:00:00+02:00").bounds() == (at(2, 1), None)
    assert EventWindow(start="2025-01-02", end="2025-01-03").bounds() == (
        at(2),
        datetime(2025, 1, 3, 23, 59, 59, 999999, tzinfo=UTC),
    )
    assert EventWindow(start="2025-01-02", end="2025-01-03T05:00:00Z").bounds()[1] == at(3, 5)
    assert EventWindow(start="2025-01-02", end="2025-01-02").bounds()[0] == at(2)


@pytest.mark.parametrize(
    ("window", "says"),
    [
        (EventWindow(end="2025-01-03"), "end_date '2025-01-03' needs a start_date"),
        (EventWindow(start="2025-01-03", end="2025-01-02"), "is after end_date"),
        (EventWindow(start="last tuesday"), "start_date 'last tuesday' is not an RFC3339"),
        (EventWindow(start="2025-01-01", end="2025-13-01"), "Fix end_date in the source"),
    ],
)
def test_a_window_that_cannot_be_loaded_says_which_setting_to_fix(window, says):
    with pytest.raises(ConfigurationError, match=says):
        window.bounds()


def test_an_invalid_window_fails_the_load_of_the_table_not_the_definition():
    window = EventWindow(end="2025-01-03")
    rows = VISITS.load.rows(None, VISITS, max_concurrency=1, window=window)  # no error yet
    with pytest.raises(ConfigurationError, match="needs a start_date"):
        list(rows())


# -- the cursor -----------------------------------------------------------------------------
class Server:
    """An event log: its pages as the server sends them for a request, counted as read."""

    def __init__(self, events: list[dict[str, Any]], page_size: int = 2, newest_first=False):
        self.events = events
        self.page_size = page_size
        self.newest_first = newest_first
        self.requests: list[dict[str, Any]] = []
        self.pages_read = 0

    def pages(self, endpoint: Endpoint, params: dict[str, Any], **_: Any):
        self.requests.append(dict(params))
        since = params.get("from", "0000")
        until = params.get("to", "9999")
        chosen = [e for e in self.events if since <= e["time"] <= until]
        chosen.sort(key=lambda e: e["time"], reverse=self.newest_first)
        for start in range(0, len(chosen), self.page_size):
            self.pages_read += 1
            yield [dict(e) for e in chosen[start : start + self.page_size]]


INCREMENTAL = EventWindow()


def load_events(load, server: Server, endpoint: Endpoint, window=INCREMENTAL) -> None:
    rows = endpoint.load.rows(server, endpoint, max_concurrency=1, window=window)
    load(dlt.resource(rows, name=endpoint.table, write_disposition="append"))


def test_each_load_asks_for_events_from_the_newest_one_loaded(load):
    server = Server([event(1, 1), event(2, 2), event(3, 3)])
    load_events(load, server, VISITS)
    server.events.append(event(4, 4))
    load_events(load, server, VISITS)
    assert server.requests == [{}, {"from": "2025-01-03T00:00:00Z"}]


def test_the_first_load_starts_at_the_configured_start(load):
    server = Server([event(1, 1), event(2, 2)])
    load_events(load, server, VISITS, EventWindow(start="2025-01-02"))
    assert server.requests == [{"from": "2025-01-02T00:00:00Z"}]


def test_a_backfill_asks_for_its_window_and_leaves_the_cursor_alone(load):
    server = Server([event(1, 1), event(2, 2), event(3, 3)])
    load_events(load, server, VISITS)
    load_events(load, server, VISITS, EventWindow(start="2025-01-01", end="2025-01-01"))
    load_events(load, server, VISITS)
    assert server.requests[1:] == [
        {"from": "2025-01-01T00:00:00Z", "to": "2025-01-01T23:59:59.999999Z"},
        {"from": "2025-01-03T00:00:00Z"},
    ]


def test_newest_first_stops_reading_at_the_first_page_older_than_the_last_load(load):
    server = Server([event(n, n) for n in range(1, 7)], newest_first=True)
    load_events(load, server, AUDIT)
    assert server.pages_read == 3
    server.events += [event(7, 7), event(8, 8)]
    server.pages_read = 0
    load_events(load, server, AUDIT)
    # pages: [8, 7], [6, 5] (reaches before 6: the last), then [4, 3] and [2, 1] are not read
    assert server.pages_read == 2
    assert server.requests == [{}, {}]  # this log takes no start parameter


# -- the windows of a first load ----------------------------------------------------------------
def test_windows_cover_the_rest_of_the_history_on_whole_minutes_as_the_first_page_suggests():
    first_page_from, first = at(1), at(1, 1)  # one page held an hour of events
    windows = _windows(first, at(2), first_page_from, max_concurrency=2)
    assert len(windows) == 4 * 2  # 23 pages to come would make 12 windows: capped per worker
    assert windows[0][0] == first and windows[-1][1] == at(2)
    assert all(stop == start for (_, stop), (start, _) in pairwise(windows))
    assert all(start.second == start.microsecond == 0 for start, _ in windows)

    assert _windows(first, at(1, 5), first_page_from, max_concurrency=8) == [
        (first, at(1, 3)),
        (at(1, 3), at(1, 5)),
    ]  # four pages to come: a window holds about two
    assert _windows(first, None, first_page_from, max_concurrency=8)[-1][1] is None  # open
