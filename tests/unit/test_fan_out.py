"""Fan-out: only new or changed parents are requested, and a parent gone from the server
(from the list, or 404 since it) gets a tombstone. The memory of what was seen is dlt
resource state, so each case is extracted by a real dlt pipeline."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from assets import _catalog
from assets._catalog import DELETED_COLUMN, Endpoint, FanOut, fan_out
from assets._http import Progress

ITEM = Endpoint(
    table="content_item",
    path="/v1/content/{guid}",
    description="one row per content item",
    load=FanOut(parent="content", change_field="last_deployed_time"),
    key=("guid",),
    timestamp_columns=("last_deployed_time",),
)
# nothing tells a changed parent apart: every parent is requested on every run
WITHOUT_CHANGE_FIELD = replace(ITEM, load=FanOut(parent="content"))


class Server:
    """Parents as listed and each parent's rows as its own request answers them (None: 404)."""

    def __init__(self, deployed: dict[str, str]):
        self.deployed = dict(deployed)
        self.missing: set[str] = set()
        self.refuse = False
        self.requested: list[str] = []
        self._lock = threading.Lock()

    def parents(self) -> list[dict[str, Any]]:
        return [{"guid": g, "last_deployed_time": t} for g, t in self.deployed.items()]

    def fetch(self, guid: str) -> list[dict[str, Any]] | None:
        with self._lock:
            self.requested.append(guid)
        if self.refuse:
            raise RuntimeError("the server refused")
        if guid in self.missing:
            return None
        return [{"guid": guid, "last_deployed_time": self.deployed[guid]}]


def load_once(load, server: Server, endpoint: Endpoint = ITEM) -> tuple[list[str], list[dict]]:
    """One load: the parents requested, and the rows written."""
    server.requested = []
    written: list[dict[str, Any]] = []
    progress = Progress(endpoint.table)

    @dlt.resource(name=endpoint.table, write_disposition="append")
    def rows():
        for batch in fan_out(
            endpoint, server.parents(), server.fetch, max_concurrency=2, progress=progress
        ):
            written.extend(batch)
            yield batch

    load(rows)
    return sorted(server.requested), written


def test_the_first_load_requests_every_parent(load):
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})
    requested, written = load_once(load, server)
    assert requested == ["a", "b"]
    assert sorted(r["guid"] for r in written) == ["a", "b"]
    assert all(r[DELETED_COLUMN] is None for r in written)
    assert {r["last_deployed_time"] for r in written} == {
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2025, 1, 2, tzinfo=UTC),
    }


def test_an_unchanged_parent_is_not_requested_again_and_a_changed_one_is(load):
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})
    load_once(load, server)
    assert load_once(load, server) == ([], [])

    server.deployed["b"] = "2025-02-01T00:00:00Z"
    server.deployed["c"] = "2025-02-02T00:00:00Z"
    requested, written = load_once(load, server)
    assert requested == ["b", "c"]
    assert sorted(r["guid"] for r in written) == ["b", "c"]


def test_a_parent_gone_from_the_list_gets_one_tombstone(load):
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})
    load_once(load, server)
    del server.deployed["a"]
    before = datetime.now(UTC)
    requested, written = load_once(load, server)
    assert requested == []
    (tombstone,) = written
    assert tombstone["guid"] == "a"
    assert before <= tombstone[DELETED_COLUMN] <= datetime.now(UTC)
    assert load_once(load, server) == ([], [])  # tombstoned once, then forgotten

    server.deployed["a"] = "2025-01-01T00:00:00Z"  # back: requested as a new parent
    requested, written = load_once(load, server)
    assert requested == ["a"] and written[0][DELETED_COLUMN] is None


def test_a_parent_gone_since_the_list_is_skipped_tombstoned_and_asked_for_again(load):
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})
    load_once(load, server)
    server.deployed["b"] = "2025-03-01T00:00:00Z"
    server.missing = {"b"}
    requested, written = load_once(load, server)
    assert requested == ["b"]
    assert [(r["guid"], r[DELETED_COLUMN] is not None) for r in written] == [("b", True)]

    server.missing = set()  # still listed: not remembered as seen, so requested again
    requested, written = load_once(load, server)
    assert requested == ["b"] and written[0][DELETED_COLUMN] is None


def test_without_a_change_field_every_parent_is_requested_every_load(load):
    endpoint = WITHOUT_CHANGE_FIELD
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})
    load_once(load, server, endpoint)
    assert load_once(load, server, endpoint)[0] == ["a", "b"]


def test_a_failed_load_forgets_what_it_saw(load):
    server = Server({"a": "2025-01-01T00:00:00Z"})
    load_once(load, server)
    server.deployed["a"] = "2025-02-01T00:00:00Z"
    server.refuse = True
    with pytest.raises(PipelineStepFailed):
        load_once(load, server)
    server.refuse = False
    assert load_once(load, server)[0] == ["a"]  # the change is still new


def test_a_parent_whose_rows_are_all_gone_gets_one_tombstone(load):
    endpoint = WITHOUT_CHANGE_FIELD
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})
    empty = {"b"}  # never had rows: nothing to retire, no tombstone
    answer = server.fetch

    def fetch(guid: str) -> list[dict[str, Any]] | None:
        rows = answer(guid)  # counted as requested
        return [] if guid in empty else rows

    server.fetch = fetch
    assert [r["guid"] for r in load_once(load, server, endpoint)[1]] == ["a"]

    empty.add("a")  # its last row removed on the server (a content item's last variable)
    requested, written = load_once(load, server, endpoint)
    assert requested == ["a", "b"]
    assert [(r["guid"], r[DELETED_COLUMN] is not None) for r in written] == [("a", True)]
    assert load_once(load, server, endpoint)[1] == []  # tombstoned once

    empty.clear()
    written = load_once(load, server, endpoint)[1]
    assert sorted((r["guid"], r[DELETED_COLUMN]) for r in written) == [("a", None), ("b", None)]


def test_without_a_change_field_an_unchanged_answer_is_not_written_again(load):
    endpoint = WITHOUT_CHANGE_FIELD
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})
    assert len(load_once(load, server, endpoint)[1]) == 2
    assert load_once(load, server, endpoint) == (["a", "b"], [])

    server.deployed["b"] = "2025-02-01T00:00:00Z"  # one answer changed: every row is written
    requested, written = load_once(load, server, endpoint)
    assert requested == ["a", "b"] and sorted(r["guid"] for r in written) == ["a", "b"]
    assert load_once(load, server, endpoint) == (["a", "b"], [])


def test_without_a_change_field_a_parent_gone_writes_its_tombstone_and_the_rest(load):
    endpoint = WITHOUT_CHANGE_FIELD
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})
    load_once(load, server, endpoint)
    server.missing = {"b"}
    written = load_once(load, server, endpoint)[1]
    assert sorted((r["guid"], r[DELETED_COLUMN] is not None) for r in written) == [
        ("a", False),
        ("b", True),
    ]
    server.missing = set()  # b is back and a unchanged: not the last load's answer, so written
    assert sorted(r["guid"] for r in load_once(load, server, endpoint)[1]) == ["a", "b"]


def test_without_a_change_field_rows_beyond_the_held_ones_are_written_every_load(load, monkeypatch):
    monkeypatch.setattr(_catalog, "FANOUT_BATCH", 1)
    endpoint = WITHOUT_CHANGE_FIELD
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})
    load_once(load, server, endpoint)
    assert load_once(load, server, endpoint)[1] == []
    monkeypatch.setattr(_catalog, "FANOUT_HELD_ROWS", 1)  # too many to hold: streamed
    assert len(load_once(load, server, endpoint)[1]) == 2
    monkeypatch.setattr(_catalog, "FANOUT_HELD_ROWS", 50_000)
    # the digest of the last load but one is forgotten: this load writes its rows again
    assert len(load_once(load, server, endpoint)[1]) == 2
    assert load_once(load, server, endpoint)[1] == []


def resource_state(load) -> dict[str, Any]:
    """What the last successful load left in the fan-out's resource state."""
    state: dict[str, Any] = {}

    @dlt.resource(name=ITEM.table)
    def peek():
        state.update(dlt.current.resource_state())
        yield from ()

    load(peek)
    return state


def test_the_parents_are_kept_as_json_text_and_an_earlier_versions_dicts_are_read(load):
    """dlt walks every value of the state each time it reads it: 20,000 parents as dicts took
    0.1 s a read. Earlier versions kept dicts: the first load after the upgrade reads them,
    requests nothing that did not change, and keeps them as text."""
    server = Server({"a": "2025-01-01T00:00:00Z", "b": "2025-01-02T00:00:00Z"})

    @dlt.resource(name=ITEM.table)
    def earlier_version():
        state = dlt.current.resource_state()
        state["seen"] = dict(server.deployed)
        state["with_rows"] = {"a": True, "b": True}
        yield from ()

    load(earlier_version)
    assert load_once(load, server) == ([], [])

    stored = resource_state(load)
    assert json.loads(stored["seen"]) == server.deployed
    assert json.loads(stored["with_rows"]) == ["a", "b"]
    del server.deployed["a"]  # what the earlier version remembered still tombstones it
    assert [(r["guid"], r[DELETED_COLUMN] is not None) for r in load_once(load, server)[1]] == [
        ("a", True)
    ]
    assert json.loads(resource_state(load)["seen"]) == {"b": "2025-01-02T00:00:00Z"}
