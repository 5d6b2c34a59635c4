"""The fast path (assets._arrow: Arrow tables) loads exactly what dlt's JSON normalizer loads
from the rows as the resources make them, and the source's nested tables are those dlt makes.

Every table is loaded twice from the same simulator, once with the fast path and once with
it switched off, over a first run and a run after the server changed; the tables must hold
the same rows, ids, versions and column types. (No timing here: see bench/.)
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import dlt
import duckdb
import pytest

from assets import _catalog
from assets._arrow import as_arrow, for_json_normalizer, row_versions, stored_form
from assets._catalog import coerce_row, parse_timestamp, row_key
from assets.posit_connect.settings import ENDPOINTS
from assets.registry import POSIT_CONNECT
from simulators.posit_connect import PositConnectSimulator

# Differ by design between two loads: the load id, and the times of the load itself (when
# a version became current or was retired, when a deletion was noticed).
VOLATILE = {"_dlt_load_id", "_dlt_valid_from"}
LOAD_TIMES = {"_dlt_valid_to", "deleted_time"}
# Tables whose `_dlt_id` is only unique (not a row hash): events and latest rows (content_jobs),
# merged on their own key.
RANDOM_IDS = {
    e.table
    for e in POSIT_CONNECT.endpoints
    if isinstance(e.load, _catalog.Events | _catalog.Latest | _catalog.Custom)
}


def _pipeline(path: Path, name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(credentials=str(path)),
        dataset_name="data",
        pipelines_dir=str(path.parent / "pipelines"),
    )


def _load(sim: PositConnectSimulator, path: Path, name: str) -> None:
    source = POSIT_CONNECT.source(base_url=sim.url, api_key=sim.api_key)
    _pipeline(path, name).run(source, loader_file_format="parquet").raise_on_failed_jobs()


def _json_path_only(*args: object, **kwargs: object) -> None:
    """In place of `as_arrow`: no batch becomes an Arrow table, every one takes dlt's JSON
    normalizer (with the versions and nested tables the source gives it)."""
    return None


def _lists_to_dlt(_: object, page: list[dict]) -> object:
    """In place of `TableWriter.write`: rows with their versions and their lists, from which
    dlt's JSON normalizer makes the nested tables."""
    yield for_json_normalizer(page, "row_hash")


def _snapshot(
    path: Path, ignored: frozenset[str] = frozenset()
) -> dict[str, tuple[dict[str, str], list[tuple]]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'data' "
                "AND table_name NOT LIKE '_dlt%'"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            types = dict(
                con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    f"WHERE table_schema = 'data' AND table_name = '{table}'"
                ).fetchall()
            )
            columns = sorted(c for c in types if c not in VOLATILE | ignored)
            listed = ", ".join(f'"{c}" IS NULL' if c in LOAD_TIMES else f'"{c}"' for c in columns)
            if "deleted_time" in types:  # a tombstone's version includes when it was noticed
                for column in ('"_dlt_id"', '"row_hash"'):
                    listed = listed.replace(
                        column, f"CASE WHEN deleted_time IS NULL THEN {column} END"
                    )
            if table in RANDOM_IDS:  # a unique id on either path, not the same one
                listed = listed.replace('"_dlt_id"', '"_dlt_id" IS NOT NULL')
            rows = con.execute(f"SELECT {listed} FROM data.{table} ORDER BY ALL").fetchall()
            out[table] = ({c: types[c] for c in columns}, rows)
        return out


def test_fast_and_json_paths_load_the_same_tables(tmp_path, monkeypatch):
    fast, slow = tmp_path / "fast.duckdb", tmp_path / "slow.duckdb"
    as_tables: list[bool] = []

    def counting_as_arrow(*args, **kwargs):
        table = as_arrow(*args, **kwargs)
        as_tables.append(table is not None)
        return table

    monkeypatch.setattr(_catalog, "as_arrow", counting_as_arrow)
    with PositConnectSimulator(content=60, users=40, visits=700, audit_logs=150) as sim:
        for step in range(2):
            _load(sim, fast, "fast")
            assert any(as_tables), "the fast path was not taken"
            with monkeypatch.context() as patch:
                patch.setattr(_catalog, "as_arrow", _json_path_only)
                _load(sim, slow, "slow")
            got, expected = _snapshot(fast), _snapshot(slow)
            assert got.keys() == expected.keys()
            for table in expected:
                assert got[table][0] == expected[table][0], f"{table} columns (run {step})"
                assert got[table][1] == expected[table][1], f"{table} rows (run {step})"
            sim.mutate("add_content", {"n": 3})
            sim.mutate("update_content", {"n": 2})
            sim.mutate("delete_content", {"n": 1})
            sim.mutate("add_visits", {"n": 40})
            sim.mutate("add_audit_logs", {"n": 9})
            sim.mutate("add_users", {"n": 2})


TAGGED = [
    {"id": "1", "name": "a", "tags": [{"id": "t1", "at": "2024-01-01T00:00:00Z"}, {"id": "t2"}]},
    {"id": "2", "tags": []},
    {"id": "3"},
    {"id": "4", "tags": None},
    {"id": "5", "tags": [{"id": "t3", "meta": {"color": "red"}, "at": "2024-01-03T10:00:00Z"}]},
    {"id": "6", "tags": ["x", "y"]},
]
RETAGGED = [{**TAGGED[0], "tags": [{"id": "t2"}]}, *TAGGED[1:4], TAGGED[5]]
DEEPER = [{"id": "7", "tags": [{"id": "t4", "path": ["a", "b"], "at": "2024-02-01T00:00:00Z"}]}]


@pytest.mark.parametrize("runs", [[TAGGED, RETAGGED], [DEEPER, TAGGED]], ids=["flat", "deeper"])
def test_nested_tables_the_source_builds_are_those_dlt_makes(tmp_path, monkeypatch, runs):
    """Any list an endpoint declares nested: objects, scalars, objects with objects in them,
    and objects with lists (which dlt's normalizer then takes), over two versions. The ids of
    nested rows are the source's own (a hash of parent, table and position), so they and the
    links to them are left out; a table below the built one has one column more,
    `_dlt_root_id`: dlt links it to the built table's rows, which merge on their own."""
    endpoint = _catalog.Endpoint(
        table="items",
        path="/items",
        description="",
        key=("id",),
        nested=(_catalog.NestedList("tags", timestamp_columns=("at",)),),
    )
    server: list[list[dict]] = []

    def rows():
        yield [dict(row) for row in server[-1]]

    def load(path: Path) -> None:
        resource = _catalog.make_resource(endpoint, rows, None)
        _pipeline(path, path.stem).run(resource, loader_file_format="parquet")

    built, made = tmp_path / "built.duckdb", tmp_path / "made.duckdb"
    for run in runs:
        server.append(run)
        load(built)
        with monkeypatch.context() as patch:
            patch.setattr(_catalog.TableWriter, "write", _lists_to_dlt)
            load(made)
        own_ids = frozenset({"_dlt_id", "_dlt_parent_id"})
        got, expected = _snapshot(built, own_ids | {"_dlt_root_id"}), _snapshot(made, own_ids)
        assert got == expected
        assert got["items"][1], "no rows"
    assert _pipeline(built, "built").default_schema.tables["items__tags"].get("parent") is None


def test_the_fast_path_leaves_to_dlt_what_only_its_normalizer_handles_alike():
    rows = [{"id": "1", "tags": [{"name": "a"}]}]
    assert as_arrow(rows, "random", load_id="1") is None  # a list: a nested table
    assert as_arrow([{"id": "0"}, *rows], "random", load_id="1") is None  # in any row
    assert as_arrow([{"id": 1}, {"id": "x"}], "random", load_id="1") is None  # mixed types
    when = [{"id": "1", "when": "2024-05-01T10:00:00Z"}]
    assert as_arrow(when, "random", load_id="1") is None  # dlt would detect a timestamp
    later = [{"id": "0", "when": None}, {"id": "2", "when": "note"}, *when]
    assert as_arrow(later, "random", load_id="1") is not None  # dlt types it by "note"
    assert as_arrow(later[:1] + when, "random", load_id="1") is None  # its first value
    table = as_arrow(when, "random", typed_columns=frozenset({"when"}), load_id="1")
    assert table is not None and table.column_names == ["id", "when", "_dlt_load_id", "_dlt_id"]
    nested = as_arrow([{"a": {"b": 1, "c": None}, "d": None}], "random", load_id="1")
    assert nested is not None and nested.column_names == ["a__b", "_dlt_load_id", "_dlt_id"]


def test_a_version_is_a_hash_of_what_the_table_stores_for_the_row():
    row = {
        "guid": "c1",
        "Title": "",  # loaded as CSV into PostgreSQL an empty string is a null
        "note": None,
        "owner": {"guid": "u1", "firstName": "Ann", "gone": None},
        "tags": [{"id": "t1", "at": datetime(2024, 1, 1, tzinfo=UTC)}, {"id": "t2"}],
        "scalars": ["x"],
        "empty": [],
        "meta": {"keep": [1, {"a": None}]},
        "seen": "2024-05-01T10:00:00+02:00",
        "_dlt_load_id": "1",
    }
    assert stored_form(row, whole=frozenset({"meta"}), timestamps=frozenset({"seen"})) == {
        "guid": "c1",
        "owner__guid": "u1",
        "owner__first_name": "Ann",
        "tags": [{"id": "t1", "at": datetime(2024, 1, 1, tzinfo=UTC)}, {"id": "t2"}],
        "scalars": [{"value": "x"}],
        "meta": {"keep": [1, {"a": None}]},
        "seen": datetime(2024, 5, 1, 8, tzinfo=UTC),
    }
    # stored versions depend on these exact digests: a change versions every row again
    assert row_versions([{"guid": "c1", "at": datetime(2024, 1, 1, tzinfo=UTC)}]) == [
        "3b4a67559a4f6e76c75df2c4f52f7419"
    ]
    assert row_versions([dict(reversed(row.items()))]) == row_versions([row])


@pytest.mark.parametrize(
    "row",
    [
        {"a": "plain", "b": 1, "c": None, "d": True, "t": datetime(2024, 1, 2, 3, 4, 5, 6, UTC)},
        {"a": "ünïcode", "b": -5},
        {"a": 'ctrl \x00\x1f \x7f " \\ /', "z": False},
        {"a": 1.5, "b": 1e16, "c": float("nan")},
        {"a": 2**70},
        {"nested": {"x": [1, 2]}, "t": datetime(2024, 1, 1, tzinfo=UTC)},
    ],
)
def test_row_keys_match_the_json_module_byte_for_byte(row):
    canonical = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)

    assert row_key(row) == hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


@pytest.mark.parametrize(
    "time",
    [
        "2026-06-06T15:28:06.475176Z",
        "2026-06-06T15:28:06.000000Z",  # str() of the parsed value leaves zero microseconds out
        "2026-06-06T15:28:06Z",
        "2026-06-06T15:28:06.123Z",
        "2026-06-06T17:28:06.475176+02:00",
        "2026-06-06T15:28:06,475176Z",
        "2026-06-06 15:28:06Z",
        "2026-W23-6T15:28:06Z",
        "2026-06-06T15:28:06",
        "",
        None,
    ],
)
def test_event_row_keys_are_those_of_the_parsed_row_whatever_the_time_format(time):
    """The key hashes the row as coerced, datetimes as `str()` writes them, whatever the
    server's way of writing the time."""
    visits = next(e for e in ENDPOINTS if e.table == "content_visits")
    raw = {"content_guid": "c1", "user_guid": "u1", "time": time, "bundle_id": 7, "path": "/"}

    coerced = coerce_row(visits, dict(raw))

    as_parsed = {**raw, "bundle_id": "7", "time": parse_timestamp(time)}
    canonical = json.dumps(as_parsed, sort_keys=True, separators=(",", ":"), default=str)
    assert coerced["row_key"] == hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
