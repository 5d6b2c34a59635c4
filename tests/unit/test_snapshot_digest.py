"""The snapshot digest skip: a table whose server sent exactly what the last successful load
stored is left out of the load. The digest is dlt resource state, so each case is extracted by
a real dlt pipeline."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from assets._catalog import Custom, Endpoint, unchanged_since_last_load

USERS = Endpoint(
    table="users",
    path="/v1/users",
    description="one row per user",
    key=("guid",),
    timestamp_columns=("created_time",),
)
ALICE = {"guid": "a", "username": "alice", "created_time": "2025-01-01T00:00:00Z"}
BOB = {"guid": "b", "username": "bob", "created_time": "2025-01-02T00:00:00Z"}


def skipped(load, current: list[dict[str, Any]], endpoint: Endpoint = USERS, fail=False) -> bool:
    """Whether a load of `current` is skipped as unchanged."""
    answers = []

    @dlt.resource(name=endpoint.table, write_disposition="append")
    def rows():
        answers.append(unchanged_since_last_load(endpoint, current))
        if fail:
            raise RuntimeError("the load failed after the digest")
        yield {"loaded": True}

    load(rows)
    return answers[0]


def test_the_same_rows_again_are_skipped_and_a_change_is_not(load):
    assert not skipped(load, [ALICE, BOB])
    assert skipped(load, [ALICE, BOB])
    assert not skipped(load, [ALICE, {**BOB, "username": "robert"}])
    assert skipped(load, [ALICE, {**BOB, "username": "robert"}])
    assert not skipped(load, [ALICE])  # a row gone is a change too


def test_a_changed_table_definition_loads_again(load):
    assert not skipped(load, [ALICE, BOB])
    retyped = replace(USERS, string_columns=("username",))
    assert not skipped(load, [ALICE, BOB], retyped)
    assert skipped(load, [ALICE, BOB], retyped)


def test_a_failed_load_keeps_the_digest_of_the_last_successful_one(load):
    assert not skipped(load, [ALICE])
    with pytest.raises(PipelineStepFailed):
        skipped(load, [ALICE, BOB], fail=True)
    assert not skipped(load, [ALICE, BOB])  # BOB was never stored


def test_tables_that_are_not_merged_are_never_skipped(load):
    appended = replace(USERS, load=Custom())  # append: a skip loses a copy
    assert not skipped(load, [ALICE], appended)
    assert not skipped(load, [ALICE], appended)


def test_outside_a_pipeline_nothing_is_skipped():
    assert not unchanged_since_last_load(USERS, [ALICE])
    assert not unchanged_since_last_load(USERS, [ALICE])


def test_the_digest_is_the_one_earlier_versions_stored(load):
    """The digest covers the table's definition, its load mode's name among it: computed any
    other way, every unchanged table would load again once after an upgrade."""
    digests = []

    @dlt.resource(name=USERS.table, write_disposition="append")
    def rows():
        unchanged_since_last_load(USERS, [ALICE, BOB])
        digests.append(dlt.current.resource_state()["snapshot_digest"])
        yield {"loaded": True}

    load(rows)
    assert digests == ["c87d66cf9df559b39e71f3f60dd31ba4"]
