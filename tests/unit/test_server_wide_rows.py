"""How the server-wide tables' rows are made from Connect's bodies, and how the windows of an
endpoint without paging are sized. Loads nothing: the bodies are the API reference's shapes."""

from __future__ import annotations

from datetime import timedelta

from assets._catalog import (
    FIRST_WINDOW,
    LARGEST_WINDOW,
    SMALLEST_WINDOW,
    WINDOW_TARGET_ROWS,
    next_window_span,
)
from assets.posit_connect.server import environment_row, hit_row, query_parameter_names


def test_a_hit_keeps_the_names_of_its_query_parameters_never_their_values():
    hit = {
        "id": 8966707,
        "user_guid": None,
        "content_guid": "475618c9",
        "timestamp": "2025-04-30T12:49:16.269904Z",
        "data": {"path": "/hello", "query": "?access_token=s3cret&page=2", "user_agent": "x"},
    }
    (row,) = hit_row(hit)
    assert row == {
        "id": 8966707,
        "user_guid": None,
        "content_guid": "475618c9",
        "timestamp": "2025-04-30T12:49:16.269904Z",
        "path": "/hello",
        "user_agent": "x",
        "query_parameters": "access_token,page",
    }
    assert "s3cret" not in repr(row)


def test_query_parameter_names():
    assert query_parameter_names(None) is None
    assert query_parameter_names("") is None
    assert query_parameter_names("a=1&b=&c") == "a,b,c"
    assert query_parameter_names("?token=x%26y") == "token"


def test_a_hit_without_data_has_its_own_columns_only():
    (row,) = hit_row({"id": 1, "content_guid": "c", "timestamp": "t"})
    assert row == {"id": 1, "content_guid": "c", "timestamp": "t", "query_parameters": None}


def test_an_environment_lists_the_versions_of_its_runtimes():
    (row,) = environment_row(
        {
            "guid": "25438b83",
            "python": {"installations": [{"version": "3.10.4", "path": "/opt/python/bin"}]},
            "r": {"installations": [{"version": "4.1.3", "path": "/opt/R"}, {"version": "4.2.0"}]},
            "quarto": None,
            "volume_mounts": [{"target": {"path": "/data", "read_only": True}}],
        }
    )
    assert row["python_versions"] == "3.10.4" and row["r_versions"] == "4.1.3,4.2.0"
    assert row["quarto_versions"] is None and row["nodejs_versions"] is None
    assert row["volume_mounts"] == '[{"target": {"path": "/data", "read_only": true}}]'


def test_windows_grow_over_a_quiet_history_and_shrink_over_a_busy_one():
    assert next_window_span(FIRST_WINDOW, 0) == 4 * FIRST_WINDOW
    assert next_window_span(FIRST_WINDOW, WINDOW_TARGET_ROWS) == FIRST_WINDOW
    assert next_window_span(FIRST_WINDOW, 8 * WINDOW_TARGET_ROWS) == FIRST_WINDOW / 4
    assert next_window_span(LARGEST_WINDOW, 0) == LARGEST_WINDOW
    assert next_window_span(SMALLEST_WINDOW, 10**9) == SMALLEST_WINDOW
    assert next_window_span(timedelta(days=2), WINDOW_TARGET_ROWS * 2) == timedelta(days=1)
