"""Case 10: people reading the DuckDB files while loads run.

A load writes the loader's working file (`DUCKDB_DIR/.loader/<api>.duckdb`) and publishes a
copy as `DUCKDB_DIR/<api>.duckdb` after each successful load (`assets/duckdb_files.py`).
Readers are real processes holding a read-only DuckDB connection
(`tests/reliability/duckdb_reader.py`), which is what blocks a DuckDB writer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dlt
from dagster import DagsterEventType

from assets._http import progress_log
from assets.destinations import make_pipeline
from assets.duckdb_files import LOCK_POLL_SECONDS, LOCK_TIMEOUT_SETTING, working_path
from assets.registry import POSIT_CONNECT
from tests.conftest import duckdb_file
from tests.reliability.duckdb_reader import Reader
from tests.reliability.support import assert_posit_exact, failure_message, headline, query, run

CURRENT_CONTENT = "SELECT count(*) FROM posit_connect_data.content WHERE _dlt_valid_to IS NULL"
# The holder lets go this many of the loader's polls after the load said it waits: enough
# polls that a message repeated on every poll would show, and no fixed hold that a slow start
# of the run could outlast.
HELD_POLLS = 6


def step_attempts(result) -> int:
    return 1 + sum(1 for e in result.all_events if e.event_type == DagsterEventType.STEP_RESTARTED)


def run_log(instance, result) -> list[str]:
    return [entry.message or "" for entry in instance.all_logs(result.run_id)]


def loaders_file():
    return working_path(duckdb_file(POSIT_CONNECT))


def test_a_reader_open_for_the_whole_run_neither_blocks_nor_fails_the_load(posit, instance):
    assert run(POSIT_CONNECT, instance=instance).success
    before = posit.expected_counts()["content"]

    with Reader(duckdb_file(POSIT_CONNECT)) as reader:
        posit.mutate("add_content", {"n": 3})
        result = run(POSIT_CONNECT, instance=instance)

        assert result.success, failure_message(result)
        # still connected, still reading the whole load it opened, untouched
        assert reader.ask(CURRENT_CONTENT) == f"({before},)"
    assert not any("is held by" in m for m in run_log(instance, result))
    # a new connection sees the new rows
    assert posit.expected_counts()["content"] == before + 3
    assert_posit_exact(posit)


class _ReleaseOnceWaitedFor(logging.Handler):
    def __init__(self, holder: Reader):
        super().__init__()
        self.let_go = threading.Timer(HELD_POLLS * LOCK_POLL_SECONDS, holder.close)
        self.waited = False

    def emit(self, record: logging.LogRecord) -> None:
        if "is held by" in record.getMessage() and not self.waited:
            self.waited = True
            self.let_go.start()


@contextmanager
def released_after_the_load_waited(holder: Reader) -> Iterator[None]:
    """`holder` closes the file HELD_POLLS polls after the load logged that it waits for it."""
    handler = _ReleaseOnceWaitedFor(holder)
    progress_log.addHandler(handler)
    try:
        yield
    finally:
        progress_log.removeHandler(handler)
        handler.let_go.cancel()
        if handler.waited:
            handler.let_go.join()  # not two threads closing the holder at once
        holder.close()


def test_a_process_holding_the_loaders_file_is_waited_for_and_past_the_timeout_fails_the_load_once(
    posit, instance, monkeypatch
):
    """One flow: a hold the load outwaits, then one longer than it waits."""
    # a bound on the wait, so that a holder never let go fails the test in a minute, not five
    monkeypatch.setenv(LOCK_TIMEOUT_SETTING, "60")
    assert run(POSIT_CONNECT, instance=instance).success
    posit.mutate("add_content", {"n": 2})
    holder = Reader(loaders_file())
    with released_after_the_load_waited(holder):
        result = run(POSIT_CONNECT, instance=instance)

    assert result.success, failure_message(result)
    waits = [m for m in run_log(instance, result) if "is held by" in m]
    assert len(waits) == 1, waits  # said once, not every poll
    assert f"PID {holder.pid}" in waits[0] and LOCK_TIMEOUT_SETTING in waits[0]
    published = assert_posit_exact(posit)

    monkeypatch.setenv(LOCK_TIMEOUT_SETTING, "2")
    monkeypatch.setenv("REFRESH_RETRIES", "2")
    monkeypatch.setenv("REFRESH_RETRY_DELAY_SECONDS", "0.1")
    posit.mutate("add_content", {"n": 2})
    with Reader(loaders_file()) as holder:
        result = run(POSIT_CONNECT, instance=instance)

    assert not result.success
    assert step_attempts(result) == 1  # not retried as if it were a network error
    message = headline(result)
    assert f"PID {holder.pid}" in message and f"ps -fp {holder.pid}" in message
    assert str(loaders_file()) in message and LOCK_TIMEOUT_SETTING in message
    assert "credentials" not in message
    assert len([m for m in run_log(instance, result) if "is held by" in m]) == 1
    # people still read the last complete load
    assert query(POSIT_CONNECT, CURRENT_CONTENT.replace("posit_connect_data.", "")) == [
        (published["content"],)
    ]


def test_an_install_with_only_the_published_file_keeps_its_history(posit, instance):
    """Before the working file, the loader wrote DUCKDB_DIR/posit_connect.duckdb itself: the
    first load after the upgrade starts from that file (tables, scd2 history, incremental
    state) instead of loading afresh."""
    published = duckdb_file(POSIT_CONNECT)
    published.parent.mkdir(parents=True)
    old_loader = dlt.pipeline(
        POSIT_CONNECT.pipeline_name,
        destination=dlt.destinations.duckdb(str(published)),
        dataset_name=POSIT_CONNECT.dataset_name,
    )
    old_loader.run(POSIT_CONNECT.source(), loader_file_format="parquet")
    assert not loaders_file().exists()
    posit.mutate("update_content", {"n": 2})
    posit.mutate("add_visits", {"n": 10})
    posit.reset_counters()

    result = run(POSIT_CONNECT, instance=instance)

    assert result.success, failure_message(result)
    requests = posit.stats()["requests"]
    assert requests.get("GET /__api__/v1/content/{guid}", 0) == 2  # the state came along
    retired = query(POSIT_CONNECT, "SELECT count(*) FROM content WHERE _dlt_valid_to IS NOT NULL")
    assert retired == [(2,)]  # the first load's versions of the two updated items
    assert query(POSIT_CONNECT, "SELECT count(*) FROM _dlt_loads WHERE status = 0") == [(2,)]
    assert_posit_exact(posit)
    # the loader's file and the published one are the same database
    with make_pipeline(POSIT_CONNECT).sql_client() as client:
        loads = client.execute_sql("SELECT count(*) FROM _dlt_loads")
    assert loads == [(2,)]
