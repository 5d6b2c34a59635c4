"""Row keys of event rows without an id of their own: the documented definition is a hash of
`json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)` of the coerced row, and
the fast paths (`_canonical_fast`, `_key_text`) must give the very same bytes: any drift would
store every event again under the insert-only merge."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from assets._catalog import (
    ROW_KEY_COLUMN,
    Endpoint,
    _canonical_fast,
    _key_text,
    coerce_row,
    parse_timestamp,
    row_key,
)

VISITS = Endpoint(
    table="content_visits",
    path="/v1/instrumentation/content/visits",
    description="one row per visit",
    mode="events",
    key=(ROW_KEY_COLUMN,),
    cursor="time",
    string_columns=("content_guid", "user_guid", "bundle_id"),
    timestamp_columns=("time",),
)


def documented(row: dict) -> bytes:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), default=str).encode()


def documented_key(row: dict) -> str:
    return hashlib.blake2b(documented(row), digest_size=16).hexdigest()


FLAT_ROWS = [
    {"user_guid": "u1", "content_guid": "c1", "bundle_id": "7", "time": None},
    {"b": 1, "a": True, "c": False, "d": -12, "e": ""},
    {"time": datetime(2025, 1, 31, 10, 11, 12, tzinfo=UTC), "data_version": 3},
    {"time": datetime(2025, 1, 31, 10, 11, 12, 5, tzinfo=UTC)},
    {"time": datetime(2025, 1, 31, 10, 11, 12, tzinfo=timezone(timedelta(hours=2)))},
    {"time": datetime(2025, 1, 31, 10, 11, 12)},
    {"path": 'quotes " and \\ backslashes, tab\t, newline\n, control \x01'},
    {"a key with spaces": "x", "Z": 1, "_": 2},
]


@pytest.mark.parametrize("row", FLAT_ROWS)
def test_the_fast_canonical_form_is_json_dumps_byte_for_byte(row):
    assert _canonical_fast(row) == documented(row)


@pytest.mark.parametrize(
    "row",
    [
        {"path": "café"},
        {"path": "del\x7f"},
        {"share": 0.1},
        {"share": 1e16},
        {"tags": ["a", "b"]},
        {"owner": {"guid": "u1"}},
    ],
)
def test_rows_the_fast_form_would_write_differently_take_json_dumps(row):
    assert _canonical_fast(row) is None
    assert row_key(row) == documented_key(row)


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-31T10:11:12Z",
        "2025-01-31T10:11:12.000000Z",
        "2025-01-31T10:11:12.000123Z",
        "2025-12-31T23:59:59.999999Z",
    ],
)
def test_the_key_text_of_a_utc_timestamp_is_str_of_the_parsed_value(text):
    assert _key_text(text) == str(parse_timestamp(text))


@pytest.mark.parametrize(
    "raw", ["2025-01-31T10:11:12+02:00", "2025-01-31T10:11:12.123Z", "2025-01-31", None, 17]
)
def test_other_timestamps_are_left_to_str(raw):
    assert _key_text(raw) is None


@pytest.mark.parametrize(
    "time",
    [
        "2025-01-31T10:11:12Z",
        "2025-01-31T10:11:12.000000Z",
        "2025-01-31T10:11:12.500000Z",
        "2025-01-31T12:11:12+02:00",
        "2025-01-31T10:11:12.123Z",
        None,
    ],
)
def test_an_event_is_keyed_by_the_documented_hash_of_its_coerced_fields(time):
    sent = {"user_guid": "u1", "content_guid": "c1", "bundle_id": 7, "time": time}
    coerced = coerce_row(VISITS, dict(sent))
    fields = {name: value for name, value in coerced.items() if name != ROW_KEY_COLUMN}
    assert fields["bundle_id"] == "7"
    assert coerced[ROW_KEY_COLUMN] == documented_key(fields)


def test_the_key_tells_events_apart_and_ignores_field_order():
    first = {"user_guid": "u1", "time": "2025-01-31T10:11:12Z"}
    assert row_key(first) == row_key(dict(reversed(first.items())))
    assert row_key(first) != row_key({**first, "user_guid": "u2"})
    assert row_key(first) != row_key({**first, "time": "2025-01-31T10:11:13Z"})


def test_tables_with_their_own_key_get_no_row_key():
    audit = replace(VISITS, key=("id",), string_columns=("id",))
    assert ROW_KEY_COLUMN not in coerce_row(audit, {"id": 1, "time": "2025-01-31T10:11:12Z"})
