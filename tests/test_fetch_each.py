"""`fetch_each`, the bounded thread pool behind every per-item table (unit level: a stub
`fetch`; tests/reliability covers it over real sockets)."""

from __future__ import annotations

import threading
import time

import pytest

from assets._catalog import FANOUT_BATCH, fetch_each


class Recorder:
    def __init__(self, delay: float = 0.0, fail_on: str | None = None):
        self.delay = delay
        self.fail_on = fail_on
        self.started: dict[str, float] = {}
        self.active = self.most_active = 0
        self.lock = threading.Lock()

    def __call__(self, key: str) -> list[dict[str, str]]:
        with self.lock:
            self.started[key] = time.monotonic()
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            time.sleep(self.delay)
            if key == self.fail_on:
                raise RuntimeError(f"refused {key}")
            return [{"key": key}]
        finally:
            with self.lock:
                self.active -= 1


def test_every_key_in_order_in_batches_with_bounded_concurrency():
    keys = [str(i) for i in range(2 * FANOUT_BATCH + 7)]
    fetch = Recorder(delay=0.001)
    batches = list(fetch_each(keys, fetch, max_concurrency=4))
    assert [len(b) for b in batches] == [FANOUT_BATCH, FANOUT_BATCH, 7]
    assert [key for batch in batches for key, _ in batch] == keys
    assert all(rows == [{"key": key}] for batch in batches for key, rows in batch)
    assert fetch.most_active <= 4


def test_the_next_batch_is_requested_while_the_caller_works_on_one():
    keys = [str(i) for i in range(2 * FANOUT_BATCH)]
    fetch = Recorder()
    batches = fetch_each(keys, fetch, max_concurrency=8)
    next(batches)
    handed_over = time.monotonic()
    time.sleep(0.3)  # the caller processes the first batch
    second = next(batches)
    assert all(fetch.started[key] < handed_over + 0.3 for key, _ in second)


def test_a_failed_request_stops_the_requests_not_yet_started():
    keys = [str(i) for i in range(3 * FANOUT_BATCH)]
    fetch = Recorder(delay=0.002, fail_on="3")
    with pytest.raises(RuntimeError, match="refused 3"):
        list(fetch_each(keys, fetch, max_concurrency=2))
    assert len(fetch.started) < FANOUT_BATCH  # the queued ones were cancelled, not made
