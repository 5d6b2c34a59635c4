"""Row keys of event rows without an id of their own: a hash of
`json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)` of the coerced row. The
keys already stored depend on these exact bytes (a changed key stores the event again under
the insert-only merge), so the tests pin keys that earlier versions stored."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assets._catalog import ROW_KEY_COLUMN, Endpoint, Events, coerce_row, row_key

VISITS = Endpoint(
    table="content_visits",
    path="/v1/instrumentation/content/visits",
    description="one row per visit",
    load=Events(cursor="time"),
    key=(ROW_KEY_COLUMN,),
    string_columns=("content_guid", "user_guid", "bundle_id"),
    timestamp_columns=("time",),
)


@pytest.mark.parametrize(
    ("time", "stored_key"),
    [
        ("2025-01-31T10:11:12Z", "790540854ead968e3c58be3b8bccb821"),
        ("2025-01-31T12:11:12+02:00", "790540854ead968e3c58be3b8bccb821"),  # the same moment
        ("2025-01-31T10:11:12.500000Z", "e60d4eb382888e4c39ba893a8431f980"),
        (None, "ec4d87787c23d772563f11ff25edf87f"),
    ],
)
def test_an_event_keeps_the_key_earlier_versions_stored(time, stored_key):
    sent = {"user_guid": "u1", "content_guid": "c1", "bundle_id": 7, "time": time}
    coerced = coerce_row(VISITS, sent)
    assert coerced["bundle_id"] == "7"
    assert coerced[ROW_KEY_COLUMN] == stored_key


def test_values_beyond_flat_ascii_keep_their_stored_key_too():
    row = {"path": "café", "share": 0.1, "owner": {"guid": "u1"}, "tags": ["a"]}
    assert row_key(row) == "1e8224fad88c6e223e305eebda214510"


def test_the_key_tells_events_apart_and_ignores_field_order():
    first = {"user_guid": "u1", "time": "2025-01-31T10:11:12Z"}
    assert row_key(first) == row_key(dict(reversed(first.items())))
    assert row_key(first) != row_key({**first, "user_guid": "u2"})
    assert row_key(first) != row_key({**first, "time": "2025-01-31T10:11:13Z"})


def test_tables_with_their_own_key_get_no_row_key():
    audit = replace(VISITS, key=("id",), string_columns=("id",))
    assert ROW_KEY_COLUMN not in coerce_row(audit, {"id": 1, "time": "2025-01-31T10:11:12Z"})
