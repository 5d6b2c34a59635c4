"""`fetch_each`, the bounded thread pool behind every per-item table (unit level: a stub
`fetch`; tests/reliability covers it over real sockets). Overlap and ordering are observed
with events and barriers, never with the clock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from assets import _catalog
from assets._catalog import FANOUT_BATCH, fetch_each

# how long a test waits for something that must happen before it fails instead of hanging
NEVER = 30


class Recorder:
    """A stub `fetch` that records which keys were requested and how many at once."""

    def __init__(self, fail_on: str | None = None):
        self.fail_on = fail_on
        self.started: list[str] = []
        self.active = self.most_active = 0
        self.lock = threading.Lock()
        self.hold: dict[str, threading.Event | threading.Barrier] = {}
        self.watch: tuple[set[str], threading.Event] | None = None

    def __call__(self, key: str) -> list[dict[str, str]]:
        with self.lock:
            self.started.append(key)
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            if self.watch and self.watch[0] <= set(self.started):
                self.watch[1].set()
        try:
            hold = self.hold.get(key)
            if isinstance(hold, threading.Barrier):
                hold.wait(timeout=NEVER)
            elif hold is not None:
                assert hold.wait(timeout=NEVER)
            if key == self.fail_on:
                raise RuntimeError(f"refused {key}")
            return [{"key": key}]
        finally:
            with self.lock:
                self.active -= 1

    def when_started(self, keys: list[str]) -> threading.Event:
        event = threading.Event()
        self.watch = (set(keys), event)
        return event


def test_every_key_in_order_in_batches_with_bounded_concurrency():
    keys = [str(i) for i in range(2 * FANOUT_BATCH + 7)]
    fetch = Recorder()
    # the first four requests only return once all four run together
    together = threading.Barrier(4)
    fetch.hold = {key: together for key in keys[:4]}
    batches = list(fetch_each(keys, fetch, max_concurrency=4))
    assert [len(b) for b in batches] == [FANOUT_BATCH, FANOUT_BATCH, 7]
    assert [key for batch in batches for key, _ in batch] == keys
    assert all(rows == [{"key": key}] for batch in batches for key, rows in batch)
    assert fetch.most_active == 4


def test_the_next_batch_is_requested_while_the_caller_works_on_one():
    keys = [str(i) for i in range(4 * FANOUT_BATCH)]
    fetch = Recorder()
    third_batch = fetch.when_started(keys[2 * FANOUT_BATCH : 3 * FANOUT_BATCH])
    batches = fetch_each(keys, fetch, max_concurrency=8)
    first = next(batches)
    # the caller holds the first batch: the pool goes on with the two after it, no further
    assert third_batch.wait(timeout=NEVER)
    assert not set(fetch.started) & set(keys[3 * FANOUT_BATCH :])
    rest = list(batches)
    assert [key for batch in [first, *rest] for key, _ in batch] == keys


def test_a_failed_request_stops_the_requests_not_yet_started(monkeypatch):
    keys = [str(i) for i in range(3 * FANOUT_BATCH)]
    fetch = Recorder(fail_on="0")
    # the one worker is held on the second request until the pool is shut down, which
    # fetch_each does only after it has cancelled what was queued
    shutting_down = fetch.hold["1"] = threading.Event()

    class Pool(ThreadPoolExecutor):
        def shutdown(self, *args, **kwargs):
            shutting_down.set()
            super().shutdown(*args, **kwargs)

    monkeypatch.setattr(_catalog, "ThreadPoolExecutor", Pool)
    with pytest.raises(RuntimeError, match="refused 0"):
        list(fetch_each(keys, fetch, max_concurrency=1))
    # What is certain: the failure ends the iteration, and nothing beyond the two batches
    # already queued is ever requested. Which queued requests the worker starts while they
    # are being cancelled (none when it holds "1", a few when "1" was cancelled first)
    # depends on the thread scheduler.
    assert fetch.started[0] == "0"
    assert not set(fetch.started) & set(keys[2 * FANOUT_BATCH :])
