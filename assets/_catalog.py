"""The shape of an endpoint catalog entry, and how each load mode becomes a dlt resource.

A source's `settings.py` lists `Endpoint`s as data; `build_resources` turns them into dlt
resources, each as its `load` says: one of the `LoadMode` types below.

Any mode can take its rows from ``derive(api)`` instead of a request: a table computed from
other endpoints' lists, which are requested once per run however many tables use them.

Why not dlt's `rest_api` for the simple lists and events: its resources hand dicts to dlt's
JSON normalizer row by row, the slowest step of a load (dltHub's `rest_api` example took 17 s
for 20,000 content items where these resources take 2.5 s, docs/performance.md), and it has no
place for what most entries need beside the request: fan-out only over changed parents with
tombstones, skipping an unchanged snapshot, time windows read in parallel, derived tables and
errors that name the role or server version a table needs. Requests, paging and retries are
in `assets._http`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, ClassVar

import dlt
import orjson
from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.storages.exceptions import CurrentLoadPackageStateNotAvailable
from dlt.extract.resource import DltResource

from assets._arrow import (
    DLT_ID,
    DLT_LIST_IDX,
    DLT_LOAD_ID,
    DLT_PARENT_ID,
    PATH_SEPARATOR,
    ROW_VERSION,
    as_arrow,
    column_path,
    concat_tables,
    conflicts_with,
    dlt_types,
    for_json_normalizer,
    nested_rows,
    row_id_kind,
    row_versions,
)
from assets._http import (
    Progress,
    RestApi,
    cycle_collection_paused,
    progress_log,
    read_concurrently,
)
from assets.errors import ConfigurationError, EndpointUnavailable, SourceError
from assets.row_versions import ensure_row_versions

DELETED_COLUMN = "deleted_time"
ROW_KEY_COLUMN = "row_key"
FANOUT_BATCH = 200
# Rows of a fan-out table without a change field held back to see whether they changed.
FANOUT_HELD_ROWS = 50_000
# Rows per Arrow table handed to dlt: dlt's per-item cost (schema merge, incremental: ~10 ms)
# is fixed, so fewer, larger tables are cheaper; ~6 MB of visits each, memory stays flat.
ARROW_BATCH_ROWS = 20_000
# Part of the digest of an unchanged snapshot: bump it when rows are coerced differently.
SNAPSHOT_DIGEST_VERSION = 1
# How the source's own nested tables merge: each row's `_dlt_id` hashes its parent version and
# position, so a merge on it only adds the rows of new versions (what dlt's scd2 does for the
# nested tables it makes), and every destination that merges has delete-insert.
NESTED_DISPOSITION = {"disposition": "merge", "strategy": "delete-insert"}


@dataclass(frozen=True)
class NestedList:
    """A list in each row whose items make the nested table `<table>__<field>`, as dlt's JSON
    normalizer would make it (same columns, ids and links). The source builds it, as Arrow, so
    the parent's rows need not go through that normalizer, the slowest step of a load."""

    field: str
    timestamp_columns: tuple[str, ...] = ()

    def table(self, parent: str) -> str:
        return f"{parent}{PATH_SEPARATOR}{self.field}"

    @property
    def columns(self) -> dict[str, dict[str, Any]]:
        hints: dict[str, dict[str, Any]] = {
            name: {"data_type": "timestamp", "timezone": True} for name in self.timestamp_columns
        }
        hints[DLT_PARENT_ID] = {"data_type": "text", "nullable": False}
        hints[DLT_LIST_IDX] = {"data_type": "bigint", "nullable": False}
        # dlt's normalizer gave nested rows no load id; a table it made before gains one
        hints[DLT_LOAD_ID] = {"data_type": "text", "nullable": True}
        return hints


Rows = Callable[..., Iterator[Any]]  # what a mode hands dlt: a function that yields the rows


class LoadMode:
    """How a table is loaded, one type per mode. `name` is as tags, docs and stored snapshot
    digests have it (never rename); `parent`, where a mode has one: the table its rows come from."""

    name: ClassVar[str]
    write_disposition: ClassVar[dict[str, Any]] = {
        "disposition": "merge",
        "strategy": "scd2",
        "row_version_column_name": ROW_VERSION,
    }
    current_filter: ClassVar[str] = "_dlt_valid_to IS NULL"  # SQL: the rows describing now
    merges_on_key: ClassVar[bool] = False  # on `key` (dlt's primary key), not versions (scd2)

    @property
    def keeps_versions(self) -> bool:
        """Whether the table keeps every version of a row (dlt's ``scd2`` merge)."""
        return self.merge_strategy == "scd2"

    @property
    def merge_strategy(self) -> str | None:
        """The dlt merge strategy the table is written with; None when it is appended to."""
        if self.write_disposition["disposition"] != "merge":
            return None
        return self.write_disposition.get("strategy", "delete-insert")  # dlt's default


@dataclass(frozen=True)
class Snapshot(LoadMode):
    """The endpoint returns the full current set every time. Written with dlt's ``scd2`` merge:
    unchanged rows are left alone, changed rows get a new version, and rows gone from the
    server are retired (``_dlt_valid_to`` set), never silently kept as current."""

    name = "snapshot"
    parent: str | None = None  # a derived table's (`Endpoint.derive`) source list

    def rows(
        self, api: RestApi, endpoint: Endpoint, max_concurrency: int, window: EventWindow
    ) -> Rows:
        return _snapshot_rows(api, endpoint)


@dataclass(frozen=True)
class FanOut(LoadMode):
    """One request per row of the ``parent`` list (its ``parent_key`` in the path): only for
    parents new or whose ``change_field`` moved since the last successful run (without one, all
    of them); a parent that disappeared gets a tombstone row (``deleted_time`` set)."""

    name = "fanout"
    current_filter = f"_dlt_valid_to IS NULL AND {DELETED_COLUMN} IS NULL"
    parent: str
    parent_key: str = "guid"
    change_field: str | None = None

    def rows(
        self, api: RestApi, endpoint: Endpoint, max_concurrency: int, window: EventWindow
    ) -> Rows:
        return _fanout_rows(api, endpoint, max_concurrency)


@dataclass(frozen=True)
class Events(LoadMode):
    """Append-only history (audit logs, visits), loaded incrementally on the time column
    ``cursor`` (request parameters ``cursor_param``, ``end_param``; ``descending``: newest first)
    and merged ``insert-only`` on ``key``, so a retried run never duplicates."""

    name = "events"
    write_disposition: ClassVar = {"disposition": "merge", "strategy": "insert-only"}
    current_filter = "TRUE"
    merges_on_key = True
    parent: ClassVar[None] = None
    cursor: str
    cursor_param: str | None = None
    end_param: str | None = None
    descending: bool = False

    def rows(
        self, api: RestApi, endpoint: Endpoint, max_concurrency: int, window: EventWindow
    ) -> Rows:
        return _event_rows(api, endpoint, max_concurrency, window)


@dataclass(frozen=True)
class Latest(LoadMode):
    """Rows that change in place and later vanish from the server for reasons that are not
    deletions (OSCAR jobs, removed after a TTL). Every run lists them all (one request per
    ``parent`` row when a parent is set); each row is replaced by its newest version on
    ``key`` (merge ``delete-insert``) and a row gone from the server is kept as last seen."""

    name = "latest"
    write_disposition: ClassVar = {"disposition": "merge", "strategy": "delete-insert"}
    current_filter = "TRUE"
    merges_on_key = True
    parent: str | None = None
    parent_key: str = "guid"

    def rows(
        self, api: RestApi, endpoint: Endpoint, max_concurrency: int, window: EventWindow
    ) -> Rows:
        if self.parent is None:
            return _snapshot_rows(api, endpoint)
        return _latest_rows(api, endpoint, max_concurrency)


@dataclass(frozen=True)
class Custom(LoadMode):
    """Rows the source writes itself (its own generator given to `make_resource`), appended."""

    name = "custom"
    write_disposition: ClassVar = {"disposition": "append"}
    current_filter = "TRUE"
    parent: ClassVar[None] = None


@dataclass(frozen=True)
class Endpoint:
    table: str
    path: str
    description: str
    load: Snapshot | FanOut | Events | Latest | Custom = Snapshot()
    # none | page_number | page_number_until_empty | keyset | next_page (_http.PAGING_STYLES)
    paging: str = "none"
    params: dict[str, Any] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    # what a reader needs, said in errors: a role, or a server version
    requires: str = ""
    string_columns: tuple[str, ...] = ()
    timestamp_columns: tuple[str, ...] = ()
    # types of columns that are often null, so the table has them from the first load
    column_types: dict[str, str] = field(default_factory=dict)
    # lists in each row that make nested tables (scd2 versions them with the row)
    nested: tuple[NestedList, ...] = ()
    # one response body -> rows, where a data selector cannot say it (a map keyed by name)
    unpack: Callable[[Any], Iterable[dict[str, Any]]] | None = None
    # rows computed from other endpoints' lists (`api.rows(table)`) instead of requested
    derive: Callable[[RestApi], Iterable[dict[str, Any]]] | None = None
    # asset checks: the columns that identify one current row when `key` does not (a fan-out
    # table's key is its parent's), and whether a server may have no rows at all (an empty
    # table is then a warning, not an error)
    unique_key: tuple[str, ...] = ()
    may_be_empty: bool = False
    # the environment variable without which the table cannot have rows (its check passes)
    empty_unless: str = ""
    # the refresh cadence (assets/cadence.py) when the mode's does not fit: "daily" for a
    # per-item table without a change signal (it requests every item each run) and for a list
    # that grows with the content but changes only on deploys, so the hourly catalog's cost
    # does not grow with the items
    cadence: str = ""

    @property
    def columns(self) -> dict[str, dict[str, Any]]:
        hints: dict[str, dict[str, Any]] = {
            name: {"data_type": data_type, "nullable": True}
            for name, data_type in self.column_types.items()
        }
        for name in self.string_columns:
            hints[name] = {"data_type": "text"}
        for name in self.timestamp_columns:
            hints[name] = {"data_type": "timestamp", "timezone": True}
        if isinstance(self.load, FanOut):
            hints[DELETED_COLUMN] = {"data_type": "timestamp", "timezone": True, "nullable": True}
        if self.load.keeps_versions:
            # nullable: rows stored before the column existed have none (assets.row_versions)
            hints[ROW_VERSION] = {"data_type": "text", "nullable": True}
        return hints

    @property
    def empty_by_design(self) -> bool:
        """Whether the table cannot have rows with this install's settings: the environment
        variable it needs (`empty_unless`) is not set."""
        return bool(self.empty_unless) and not os.environ.get(self.empty_unless)

    @property
    def json_columns(self) -> frozenset[str]:
        """Columns stored as one JSON value, as dlt names them."""
        return frozenset(
            column_path(name) for name, kind in self.column_types.items() if kind == "json"
        )

    @property
    def primary_key(self) -> tuple[str, ...]:
        """dlt's primary key: `key` where the table merges on it, none where it keeps versions."""
        return self.key if self.load.merges_on_key else ()

    @property
    def merge_key(self) -> str | None:
        """dlt's merge key of a fan-out table, its parent's key: a load replaces the rows of
        the parents in it only."""
        return self.key[0] if isinstance(self.load, FanOut) and self.key else None

    @property
    def row_identity(self) -> tuple[str, ...]:
        """Columns no two current rows share."""
        return self.unique_key or self.key

    @property
    def newest_first(self) -> bool:
        """Whether the server sends the newest events first: a load stops at the first page
        that reaches what it already has, so no page is requested ahead of it."""
        return isinstance(self.load, Events) and self.load.descending


def coerce_row(endpoint: Endpoint, row: dict[str, Any]) -> dict[str, Any]:
    """Ids to strings (servers send some as ints), timestamps parsed, a row key for events."""
    for name in endpoint.string_columns:
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            row[name] = str(value)
    for name in endpoint.timestamp_columns:
        if name in row:
            row[name] = parse_timestamp(row[name])
    for nested in endpoint.nested:  # before the row's version is taken (assets._arrow)
        items = row.get(nested.field)
        if nested.timestamp_columns and type(items) is list:
            row[nested.field] = [_with_timestamps(item, nested.timestamp_columns) for item in items]
    if isinstance(endpoint.load, Events) and endpoint.key == (ROW_KEY_COLUMN,):
        row[ROW_KEY_COLUMN] = row_key(row)
    return row


def _with_timestamps(item: Any, columns: tuple[str, ...]) -> Any:
    if not isinstance(item, dict):
        return item
    return {**item, **{name: parse_timestamp(item[name]) for name in columns if name in item}}


def coerce_rows(endpoint: Endpoint, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`coerce_row` of each row, with the cycle collector paused (it would walk the whole
    response again and again as the rows are copied)."""
    with cycle_collection_paused():
        return [coerce_row(endpoint, row) for row in rows]


def row_key(row: dict[str, Any]) -> str:
    """A stable identity for event rows that have no id of their own (visits, sessions): the
    BLAKE2b-128 hex digest of the row as JSON with sorted keys and no spaces, values JSON
    cannot write as `str()` gives them (a timestamp: `2025-01-31 12:00:00+00:00`). Stored
    keys depend on these exact bytes: the insert-only merge adds an event whose key is new."""
    canonical = _ROW_KEY_ENCODER.encode(row)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


# `json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)`, with the encoder built
# once instead of for every row (a third of the key's time on 200,000 visits)
_ROW_KEY_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


class EndpointFailures:
    """Endpoints that could not be read (403, route missing), so the rest still loads, and
    notes on tables that loaded with a part missing (`notes`: table -> why).

    The orchestration layer reads this after the run to fail exactly those tables and to
    attach the notes to the others' materialisations."""

    def __init__(self) -> None:
        self.by_table: dict[str, SourceError] = {}
        self.notes: dict[str, str] = {}

    def record(self, table: str, error: SourceError) -> None:
        self.by_table[table] = error

    def __bool__(self) -> bool:
        return bool(self.by_table)


def tolerate_unavailable(
    table: str, failures: EndpointFailures | None, rows: Iterator[Any]
) -> Iterator[Any]:
    """Record an unreadable endpoint instead of failing every other table with it."""
    if failures is None:
        yield from rows
        return
    try:
        yield from rows
    except EndpointUnavailable as error:
        failures.record(table, error)


def fan_out(
    endpoint: Endpoint,
    parents: list[dict[str, Any]],
    fetch: Callable[[str], list[dict[str, Any]] | None],
    *,
    max_concurrency: int,
    progress: Progress,
) -> Iterator[list[dict[str, Any]]]:
    """Request `fetch(parent_key)` for new or changed parents, `max_concurrency` at a time.

    `fetch` returns None when the parent vanished between the list and the request (404):
    that parent is counted as skipped and tombstoned. Resource state remembers each parent's
    `change_field` so an unchanged parent is never requested again. A parent that had rows
    and now answers none (its last environment variable removed) is tombstoned too: the
    merge on the parent key retires only the rows of parents in the load."""
    state = dlt.current.resource_state()
    seen, with_rows = _remembered_parents(state)
    try:
        yield from _fan_out(endpoint, parents, fetch, seen, with_rows, max_concurrency, progress)
    finally:
        _remember_parents(state, seen, with_rows)


def _remembered_parents(state: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Each parent the last successful load saw (its key -> its change field), and those whose
    answer had rows. The state keeps them as JSON text: dlt walks every value of a pipeline's
    state each time it reads it (several times a run), and as dicts the parents of a server
    with 20,000 items took about 0.1 s a read. Earlier versions kept dicts: read as they are."""
    seen = state.get("seen", {})
    with_rows = state.get("with_rows", {})
    seen = orjson.loads(seen) if isinstance(seen, str) else dict(seen)
    # a list as text; earlier versions kept {key: True} (iterating it gives the keys)
    with_rows = set(orjson.loads(with_rows) if isinstance(with_rows, str) else with_rows)
    return seen, with_rows


def _remember_parents(state: dict[str, Any], seen: dict[str, Any], with_rows: set[str]) -> None:
    # sorted: the same parents give the same text, so an unchanged run leaves the state unchanged
    state["seen"] = orjson.dumps(seen, option=orjson.OPT_SORT_KEYS).decode()
    state["with_rows"] = orjson.dumps(sorted(with_rows)).decode()


def _fan_out(
    endpoint: Endpoint,
    parents: list[dict[str, Any]],
    fetch: Callable[[str], list[dict[str, Any]] | None],
    seen: dict[str, Any],
    with_rows: set[str],
    max_concurrency: int,
    progress: Progress,
) -> Iterator[list[dict[str, Any]]]:
    fanout = endpoint.load
    current = {str(p[fanout.parent_key]): p.get(fanout.change_field or "") for p in parents}
    # Without a change field nothing tells a changed parent apart: request them all.
    to_fetch = [
        k
        for k, v in current.items()
        if fanout.change_field is None or k not in seen or seen[k] != v
    ]
    gone = [k for k in seen if k not in current]
    emptied = []
    deleted_time = datetime.now(UTC)  # a timestamp, as the column is typed
    key_column = endpoint.key[0]
    # Every parent is requested on every run: if the server answered exactly what the last
    # load stored, the table is left out of the load as an unchanged snapshot is. Until then
    # the rows are held, up to FANOUT_HELD_ROWS.
    held: list[list[dict[str, Any]]] | None = [] if fanout.change_field is None else None
    held_rows = 0
    answers: list[tuple[str, list[dict[str, Any]]]] = []

    for results in fetch_each(to_fetch, fetch, max_concurrency):
        batch: list[dict[str, Any]] = []
        for parent_key, rows in results:
            if rows is None:
                progress.skipped += 1
                gone.append(parent_key)
                continue
            if rows:
                with_rows.add(parent_key)
            elif parent_key in with_rows:
                with_rows.remove(parent_key)
                emptied.append(parent_key)
            if held is not None:
                answers.append((parent_key, rows))
            batch.extend({**r, DELETED_COLUMN: None} for r in coerce_rows(endpoint, rows))
            seen[parent_key] = current[parent_key]
        progress.add(len(batch), pages=len(results))
        if held is not None:
            held.append(batch)
            held_rows += len(batch)
            if held_rows <= FANOUT_HELD_ROWS:
                continue
            forget_last_load()  # this load is not the one the digest describes
            yield from (b for b in held if b)
            held = None
        elif batch:
            yield batch

    if held is not None:
        if gone or emptied:  # tombstones follow: not the load the digest describes
            forget_last_load()
        elif unchanged_since_last_load(endpoint, answers):
            progress_log.info("%s: unchanged since the last load, nothing written", endpoint.table)
            held = []
        yield from (b for b in held if b)

    tombstones = [{key_column: k, DELETED_COLUMN: deleted_time} for k in (*gone, *emptied)]
    for parent_key in gone:
        seen.pop(parent_key, None)
        with_rows.discard(parent_key)
    if tombstones:
        yield tombstones


def fetch_each(
    keys: list[str],
    fetch: Callable[[str], list[dict[str, Any]] | None],
    max_concurrency: int,
) -> Iterator[list[tuple[str, list[dict[str, Any]] | None]]]:
    """`fetch(key)` for every key, `max_concurrency` at a time, in batches of FANOUT_BATCH (in
    the order of `keys`). The requests of the next batch are already running while the caller
    processes one, so the pool never waits for it; at most two batches are held."""
    waiting = iter(keys)
    running: deque[tuple[str, Future[Any]]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, max_concurrency)) as pool:

        def submit(count: int) -> None:
            running.extend((key, pool.submit(fetch, key)) for key in islice(waiting, count))

        try:
            submit(2 * FANOUT_BATCH)
            while running:
                count = min(FANOUT_BATCH, len(running))
                results = [(key, future.result()) for key, future in islice(running, count)]
                for _ in range(count):  # only now: on a failure all are still there to cancel
                    running.popleft()
                submit(FANOUT_BATCH)
                yield results
        finally:  # a failed request or a stopped load: requests not started are not made
            for _, future in running:
                future.cancel()


def from_one_server(api: RestApi, rows: Callable[..., Any]) -> Callable[..., Any]:
    """`rows`, refused when the tables were loaded from another server (see below)."""

    # functools.wraps keeps `rows`' signature, which dlt reads for incremental arguments.
    @functools.wraps(rows)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        ensure_same_server(api)
        return rows(*args, **kwargs)

    return guarded


_SERVER_STATE_LOCK = threading.Lock()


def ensure_same_server(api: RestApi) -> None:
    """Tables hold one server's rows. Loading a second server into them would mix the two
    and skip the new one's history (the incremental cursors are the first server's), as
    after the demo's simulators when a real server is configured. A server is known by the
    name the user gave it (`default` for the single-server settings, `demo` for the local
    simulators), kept in dlt's source state in the destination; its URL may change (a new
    host name, a load balancer, https), which is logged once and loads into the same tables.
    Destinations loaded before names existed recorded the URL alone: the same URL adopts
    the name, another one is refused as before."""
    name, url = api.server.name, api.base_url
    with _SERVER_STATE_LOCK:  # the resources of one source run on several threads
        state = dlt.current.source_state()
        recorded = state.setdefault("server", {"name": name, "url": url})
        if isinstance(recorded, str):  # before names: the URL alone
            recorded = {"name": name if recorded == url else None, "url": recorded}
            state["server"] = recorded
        if recorded["name"] != name:
            loaded_from = f"server {recorded['name']!r}" if recorded["name"] else "a server"
            raise ConfigurationError(
                f"These {api.api_name} tables were loaded from {loaded_from} at "
                f"{recorded['url']}; this run is configured for server {name!r} at {url}. "
                "Loading another server into them would mix the two servers' rows and skip "
                "the new server's history. Load it into a new destination: another "
                "DUCKDB_DIR for DuckDB (or delete the old file, such as the demo's in data/), "
                "or another database or dataset; or list it under its own name in `servers` "
                "(docs/configuration.md, Several servers). Nothing was loaded."
            )
        if recorded["url"] != url:
            progress_log.warning(
                "%s server %r moved from %s to %s: loading into the same tables, history kept",
                api.api_name,
                name,
                recorded["url"],
                url,
            )
            recorded["url"] = url


def make_resource(
    endpoint: Endpoint,
    rows: Callable[..., Iterable[Any]],
    failures: EndpointFailures | None,
    **resource_kwargs: Any,
) -> DltResource:
    """Wrap a row generator as a dlt resource with the endpoint's table hints."""

    # functools.wraps keeps `rows`' signature, which dlt reads for incremental arguments.
    @functools.wraps(rows)
    def generate(*args: Any, **kwargs: Any) -> Iterator[Any]:
        writer = TableWriter(endpoint)
        if writer.row_id == "row_hash":
            ensure_row_versions(endpoint.table, writer.json_columns)
        for page in tolerate_unavailable(endpoint.table, failures, iter(rows(*args, **kwargs))):
            yield from writer.write(page)
        yield from writer.finish()

    resource = dlt.resource(
        generate,
        name=endpoint.table,
        table_name=endpoint.table,
        write_disposition=endpoint.load.write_disposition,
        primary_key=list(endpoint.primary_key) or None,
        merge_key=endpoint.merge_key,
        columns=endpoint.columns,
        **resource_kwargs,
    )
    for nested in endpoint.nested:
        table = nested.table(endpoint.table)
        # a variant starts from the resource's hints: its columns are the parent's, cleared first
        resource.apply_hints(table_name=table, columns={}, create_table_variant=True)
        resource.apply_hints(
            table_name=table,
            write_disposition=NESTED_DISPOSITION,
            primary_key=DLT_ID,
            columns=nested.columns,
            create_table_variant=True,
        )
    return resource


class TableWriter:
    """What dlt is handed for one run of an endpoint's resource, one page of rows at a time
    (`write`, then `finish`): the items of the nested tables the source builds, the rows as
    Arrow tables, which dlt loads the same way, only faster, or, where only dlt's JSON
    normalizer handles them alike, as rows made ready for it (assets._arrow). Each page is
    converted as it arrives, while its rows are still in the CPU cache, and handed to dlt in
    tables of about ARROW_BATCH_ROWS rows. Outside a pipeline (no load package) rows stay rows.

    Each row identity (`endpoint.row_identity`) is written once per load, however often the
    server sent it (a paging bug, a row on both sides of a page boundary): dlt's merges would
    store every copy. The first copy is kept. In tables merged on a primary key (events,
    latest) a row without its key is dropped too: dlt refuses a NULL key, which would fail
    every load from then on. Both are counted in the run log. Event tables, which can be huge,
    remember the keys of the current and the previous page only."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.row_id = row_id_kind(endpoint.load.write_disposition)
        merge_key = [endpoint.merge_key] if endpoint.merge_key else []
        self.not_null = (*endpoint.primary_key, *merge_key)  # NOT NULL in dlt's schema
        self.columns = endpoint.columns
        self.typed_columns = frozenset(self.columns)
        self.json_columns = endpoint.json_columns
        self.nested_tables = {
            nested: (nested.table(endpoint.table), frozenset(nested.columns))
            for nested in endpoint.nested
        }
        self.identity = endpoint.row_identity
        self.single_key = self.identity[0] if len(self.identity) == 1 else None
        self.drops_keyless = endpoint.load.merges_on_key
        self.forgets_old_pages = isinstance(endpoint.load, Events)
        self.seen: set[Any] = set()
        self.previous: set[Any] = set()
        self.repeated = self.keyless = 0
        self.load_id: str | None = None
        self.known_types: dict[str, str] = {}  # learnt from each table; read on the first page
        self.tables: list[Any] = []
        self.pending_rows = 0

    def write(self, page: Any) -> Iterator[Any]:
        """What dlt is handed for `page`; anything but a list of rows passes as it is."""
        if not (isinstance(page, list) and page and isinstance(page[0], dict)):
            yield from self._flush()
            yield page
            return
        rows = self._unique(page)
        if not rows:
            return
        if self.load_id is None:
            self.load_id = _current_load_id()
            if self.load_id is None:
                yield rows
                return
            self.known_types = _known_types(self.endpoint.table, self.columns)
        with cycle_collection_paused():
            nested_items, table, rows = self._items(rows)
        yield from nested_items
        if table is None:
            yield from self._flush()
            yield rows
            return
        self.tables.append(table)
        self.pending_rows += table.num_rows
        if self.pending_rows >= ARROW_BATCH_ROWS:
            yield from self._flush()

    def finish(self) -> Iterator[Any]:
        """The tables still buffered, after the rows dropped are counted in the run log."""
        columns = ", ".join(self.identity)
        for count, message in (
            (
                self.keyless,
                "skipped %d row%s without %s (a row the server sent without its key cannot "
                "be merged)",
            ),
            (self.repeated, "dropped %d row%s repeating the %s of a row already in this load"),
        ):
            if count:
                plural = "" if count == 1 else "s"
                progress_log.warning("%s: " + message, self.endpoint.table, count, plural, columns)
        yield from self._flush()

    def _flush(self) -> Iterator[Any]:
        tables, self.tables, self.pending_rows = self.tables, [], 0
        if tables:
            yield from concat_tables(tables)

    def _unique(self, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
        identity, single, drops_keyless = self.identity, self.single_key, self.drops_keyless
        if not identity:
            return page
        seen, previous = self.seen, self.previous
        kept = []
        repeated = keyless = 0  # counted in locals: this loop runs once per row
        for row in page:
            key = row.get(single) if single else tuple(row.get(c) for c in identity)
            if key is None or (not single and None in key):
                if drops_keyless:
                    keyless += 1
                else:
                    kept.append(row)
                continue
            try:
                if key in seen or key in previous:
                    repeated += 1
                    continue
                seen.add(key)
            except TypeError:  # a list or an object where an id belongs: kept as sent
                pass
            kept.append(row)
        if self.forgets_old_pages:
            self.previous, self.seen = seen, set()
        self.repeated += repeated
        self.keyless += keyless
        return kept

    def _items(self, rows: list[dict[str, Any]]) -> tuple[list[Any], Any, list[dict[str, Any]]]:
        """The items of the page's nested tables; an Arrow table of its rows, or None where
        Arrow would load them differently; and the rows, made ready for dlt's JSON normalizer
        when there is no table."""
        nested_items = []
        ids = None
        if self.row_id == "row_hash":  # a version covers the row's lists: taken before they go
            detected = frozenset(n for n, kind in self.known_types.items() if kind == "timestamp")
            ids = row_versions(rows, self.json_columns, detected - self.typed_columns)
            for nested in self.endpoint.nested:
                item = self._nested_item(nested, rows, ids)
                if item is not None:
                    nested_items.append(item)
                for row in rows:  # this load's own copies (coerce_row changed them too)
                    if type(row.get(nested.field)) is list:
                        del row[nested.field]
        # no primary key apart: `not_null` has it, and NOT NULL is all `as_arrow` makes of it
        table = as_arrow(
            rows, self.row_id, (), self.typed_columns, self.load_id, self.not_null, ids
        )
        # a value whose type changed (schema drift) goes the JSON way: a variant column
        if table is None or conflicts_with(table, self.known_types):
            return nested_items, None, for_json_normalizer(rows, self.row_id, ids)
        self.known_types.update((k, v) for k, v in dlt_types(table).items() if v)
        return nested_items, table, rows

    def _nested_item(self, nested: NestedList, rows: list[dict[str, Any]], ids: list[str]) -> Any:
        """The nested table of `nested` for these parent rows (`ids`: theirs) as one Arrow
        table, or as rows for dlt's JSON normalizer where Arrow would load them differently;
        None when no row has items. Its known types are read from the schema each time: dlt
        adds those of each Arrow table it is handed, including types `dlt_types` does not name."""
        table, typed = self.nested_tables[nested]
        children, child_ids = nested_rows(rows, nested.field, ids, table)
        if not children:
            return None
        _adopt_nested_table(table)
        not_null = (DLT_PARENT_ID, DLT_LIST_IDX)
        arrow = as_arrow(
            children, "given", (), typed, self.load_id, not_null, child_ids, nullable_load_id=True
        )
        if arrow is not None and conflicts_with(arrow, _known_types(table, nested.columns)):
            arrow = None
        item = arrow if arrow is not None else for_json_normalizer(children, "given", child_ids)
        return dlt.mark.with_table_name(item, table)


def _adopt_nested_table(table: str) -> None:
    """Versions before 2026-12 left `table` to dlt's JSON normalizer, so a schema stored then
    has it as a nested table, which dlt lets no resource write to. It becomes a table of the
    resource, as a new schema has it: same name, columns and rows."""
    try:
        schema = dlt.current.source_schema()
    except Exception:  # outside an extraction there is no stored schema
        return
    stored = schema.tables.get(table)
    if stored is not None and stored.pop("parent", None) is not None:
        progress_log.info("%s: now built by the source, no longer by dlt's normalizer", table)


def _known_types(table: str, hints: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Column types dlt already has for the table: from the schema being extracted (restored
    from the destination: earlier loads) and from the resource's hints."""
    known = {name: hint["data_type"] for name, hint in hints.items()}
    try:
        columns = dlt.current.source_schema().tables.get(table, {}).get("columns", {})
    except Exception:  # outside an extraction: the hints are all there is
        return known
    known.update((name, c["data_type"]) for name, c in columns.items() if c.get("data_type"))
    return known


def _current_load_id() -> str | None:
    """The load package being extracted; None when the resource runs outside a pipeline (its
    rows then stay rows, as a caller iterating the resource expects)."""
    try:
        return dlt.current.load_package_state()["load_id"]
    except CurrentLoadPackageStateNotAvailable:
        return None


def parse_timestamp(value: Any) -> Any:
    """RFC3339 with `Z`, offsets or microseconds -> an aware UTC datetime (None stays None)."""
    if not isinstance(value, str) or not value:
        return value or None
    parsed = datetime.fromisoformat(value)  # Python 3.11+ reads `Z` and offsets itself
    if parsed.tzinfo is UTC:
        return parsed
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class EventWindow:
    """Which events to load. Without `end`: incrementally from the last run (or `start` on the
    first). With `end`: exactly [start, end], a backfill that leaves the incremental cursor
    alone; rows already loaded are not duplicated (insert-only merge on the key)."""

    start: str | None = None
    end: str | None = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end] as UTC datetimes, or a ConfigurationError naming the value to fix."""
        start, end = _window_bound("start_date", self.start), _window_bound("end_date", self.end)
        if end is not None and start is None:
            raise ConfigurationError(
                f"end_date {self.end!r} needs a start_date: a backfill loads exactly "
                "[start_date, end_date]."
            )
        if start is not None and end is not None and start > end:
            raise ConfigurationError(
                f"start_date {self.start!r} is after end_date {self.end!r}: swap them."
            )
        return start, end


def _window_bound(name: str, value: str | None) -> datetime | None:
    try:
        bound = parse_timestamp(value)
    except ValueError:
        raise ConfigurationError(
            f"{name} {value!r} is not an RFC3339 timestamp or date (for example "
            f"2025-01-31T00:00:00Z or 2025-01-31). Fix {name} in the source settings "
            "(.dlt/config.toml or SOURCES__<SOURCE>__...) or in the run's config."
        ) from None
    if name == "end_date" and bound is not None and len(value or "") == len("2025-01-31"):
        return bound + timedelta(days=1, microseconds=-1)  # a date ends with its last moment
    return bound


def build_resources(
    api: RestApi,
    endpoints: Iterable[Endpoint],
    *,
    failures: EndpointFailures | None,
    max_concurrency: int,
    window: EventWindow,
) -> list[DltResource]:
    """One dlt resource per catalog entry whose mode has rows of its own (not `Custom`)."""
    if failures is not None:
        api.notes = failures.notes  # what a table notes about its load reaches the run
    resources = []
    for endpoint in endpoints:
        if not isinstance(endpoint.load, Custom):
            rows = endpoint.load.rows(api, endpoint, max_concurrency, window)
            resources.append(make_resource(endpoint, from_one_server(api, rows), failures))
    return resources


def _snapshot_rows(api: RestApi, endpoint: Endpoint) -> Rows:
    def rows() -> Iterator[list[dict[str, Any]]]:
        current = api.rows(endpoint.table)
        if unchanged_since_last_load(endpoint, current):
            progress_log.info("%s: unchanged since the last load, nothing written", endpoint.table)
            return
        for start in range(0, len(current), 5000):
            yield coerce_rows(endpoint, map(dict, current[start : start + 5000]))

    return rows


def unchanged_since_last_load(endpoint: Endpoint, current: list[Any]) -> bool:
    """Whether the server sent exactly what the last successful load stored (a digest kept in
    resource state, which dlt commits with the load). Loading the same full list again
    changes nothing (scd2 keeps unchanged rows, delete-insert rewrites them as they were), so
    such a table is left out of the load: an unchanged run costs its requests and little
    else. The digest covers the endpoint's hints too, so a changed definition loads again."""
    definition = [
        SNAPSHOT_DIGEST_VERSION,
        endpoint.load.name,
        endpoint.key,
        endpoint.columns,
        endpoint.load.write_disposition,
        endpoint.string_columns,
        endpoint.timestamp_columns,
        [(nested.field, nested.timestamp_columns) for nested in endpoint.nested],
    ]
    try:
        body = orjson.dumps(
            [definition, current], option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS
        )
    except (TypeError, orjson.JSONEncodeError):
        return False
    digest = hashlib.blake2b(body, digest_size=16).hexdigest()
    try:
        state = dlt.current.resource_state()
    except Exception:  # outside a pipeline: nothing to compare with
        return False
    unchanged = state.get("snapshot_digest") == digest
    state["snapshot_digest"] = digest
    return unchanged and _destination_merges(endpoint)


def forget_last_load() -> None:
    """Drop the digest `unchanged_since_last_load` compares with: this load stores something
    else, so the next one must load whatever it finds."""
    with contextlib.suppress(Exception):  # outside a pipeline there is no digest
        dlt.current.resource_state().pop("snapshot_digest", None)


def _destination_merges(endpoint: Endpoint) -> bool:
    """Whether the run's destination merges this table as designed. One that cannot (the
    filesystem destination with LOAD_MERGE_FALLBACK=append) appends a full copy every run
    instead, and a skipped copy would be missing."""
    strategy = endpoint.load.merge_strategy
    load_id = _current_load_id()
    if strategy is None or load_id is None:
        return False
    capabilities = _destination_capabilities(load_id)
    return capabilities is not None and strategy in merge_strategies(capabilities, endpoint.table)


@functools.lru_cache(maxsize=8)
def _destination_capabilities(load_id: str) -> DestinationCapabilitiesContext | None:
    """The capabilities of the destination that load `load_id` goes to, looked up once per
    load, not once per snapshot table: `dlt.current.pipeline()` resolves the pipeline's
    configuration at every call."""
    try:
        destination = dlt.current.pipeline().destination
    except Exception:
        return None
    return None if destination is None else destination.capabilities()


def merge_strategies(capabilities: DestinationCapabilitiesContext, table: str) -> list[str]:
    """The merge strategies a destination with `capabilities` offers for `table` (some offer
    different ones per table): empty when it cannot merge and dlt appends instead."""
    strategies = list(capabilities.supported_merge_strategies or [])
    if capabilities.merge_strategies_selector:
        table_schema = {"name": table, "write_disposition": "merge"}
        strategies = capabilities.merge_strategies_selector(strategies, table_schema=table_schema)
    return list(strategies)


def _fanout_rows(api: RestApi, endpoint: Endpoint, max_concurrency: int) -> Rows:
    def rows() -> Iterator[list[dict[str, Any]]]:
        progress = Progress(endpoint.table)
        parents = api.rows(endpoint.load.parent)
        fetch = functools.partial(api.children, endpoint)
        yield from fan_out(
            endpoint, parents, fetch, max_concurrency=max_concurrency, progress=progress
        )
        listed = f"{len(parents):,} {endpoint.load.parent} rows"
        if endpoint.load.change_field is None:  # every parent was asked
            progress.done(f"no rows for any of the {listed}")
        else:
            progress.done(f"none of the {listed} is new or changed since the last load")

    return rows


def _latest_rows(api: RestApi, endpoint: Endpoint, max_concurrency: int) -> Rows:
    def rows() -> Iterator[list[dict[str, Any]]]:
        progress = Progress(endpoint.table)
        parents = [str(p[endpoint.load.parent_key]) for p in api.rows(endpoint.load.parent)]
        fetch = functools.partial(api.children, endpoint)
        for results in fetch_each(parents, fetch, max_concurrency):
            # a parent gone since the list (None) has nothing to add; its rows are kept
            progress.skipped += sum(found is None for _, found in results)
            batch = coerce_rows(endpoint, (r for _, found in results for r in found or ()))
            progress.add(len(batch), pages=len(results))
            if batch:
                yield batch
        progress.done()

    return rows


def _event_rows(
    api: RestApi, endpoint: Endpoint, max_concurrency: int, window: EventWindow
) -> Rows:
    try:
        start, end = window.bounds()
    except ConfigurationError as error:
        invalid = error  # raised when the table is loaded: the code location still loads

        def refuse() -> Iterator[Any]:
            raise invalid

        return refuse
    if endpoint.paging == "window":
        return _windowed_event_rows(api, endpoint, start, end)
    events = endpoint.load

    def rows(
        since: dlt.sources.incremental[datetime] = event_cursor(  # noqa: B008
            endpoint, start, end, "desc" if events.descending else "asc"
        ),
    ) -> Iterator[list[dict[str, Any]]]:
        if _windowable(events) and (end is not None or since.last_value == start):
            # a backfill, or a first load (the cursor is still where the settings start it)
            yield from windowed_event_pages(
                api, endpoint, lower=since.last_value, end=end, max_concurrency=max_concurrency
            )
            return
        params = {}
        if events.cursor_param and since.last_value:
            params[events.cursor_param] = rfc3339(since.last_value)
        if events.end_param and end:
            params[events.end_param] = rfc3339(end)
        # Newest first: once a page reaches rows older than the last run's newest, every
        # later page is older still; stop requesting instead of leaving it to dlt, which sees
        # the rows only after they are batched (assets._arrow).
        oldest_wanted = since.last_value if events.descending else None
        nothing_new = _nothing_new(since.last_value)
        for page in api.pages(endpoint, params=params, nothing_new=nothing_new):
            batch = coerce_rows(endpoint, page)
            yield batch
            if oldest_wanted is not None and _reaches_before(batch, events.cursor, oldest_wanted):
                return

    return rows


def event_cursor(
    endpoint: Endpoint, start: datetime | None, end: datetime | None, row_order: Any = None
) -> dlt.sources.incremental[datetime]:
    """dlt's incremental state on the event table's cursor column: from `start` on the first
    load, up to and including `end` in a backfill; rows without the column are kept."""
    return dlt.sources.incremental(
        endpoint.load.cursor,
        initial_value=start,
        end_value=end,
        range_end="closed",
        row_order=row_order,
        on_cursor_value_missing="include",
    )


def _reaches_before(rows: list[dict[str, Any]], cursor: str, value: Any) -> bool:
    times = [r.get(cursor) for r in rows if r.get(cursor) is not None]
    try:
        return bool(times) and min(times) < value
    except TypeError:  # values dlt compares its own way (not timestamps): let dlt decide
        return False


# A first load or a backfill reads [from, to] as disjoint time windows at once (keyset paging is
# one request after another within a window). Each window ends on a partial page, so one
# should hold a few pages; more windows than workers lets a quiet window's worker take the
# next while a busy one is still paging.
PAGES_PER_WINDOW = 2
WINDOWS_PER_WORKER = 4
# Window edges fall on whole minutes from the first page's last event, so that data written
# to the minute has events exactly on the edges (tests/posit_connect/test_event_windows.py).
WINDOW_STEP_UNIT = timedelta(minutes=1)


def _windowable(events: Events) -> bool:
    """Whether the endpoint filters on a time range ([cursor_param, end_param], oldest first)."""
    return bool(events.cursor_param and events.end_param and not events.descending)


def windowed_event_pages(
    api: RestApi,
    endpoint: Endpoint,
    *,
    lower: datetime | None,
    end: datetime | None,
    max_concurrency: int,
) -> Iterator[list[dict[str, Any]]]:
    """The events of [lower, end] (either open), oldest first within each window, windows in
    the order they finish; the incremental cursor ends at their newest row, as a sequential
    read's would.

    The first page, one request as a sequential read makes it, tells whether there is more and
    how densely the history starts; the rest, from the first page's last instant `t` to `end`
    (or now, the last window staying open for events that arrive meanwhile), is split into
    windows of equal length read `max_concurrency` at a time. The server's `from`/`to` are
    both inclusive, and a Shiny session is returned by every window it overlaps, so each
    window keeps the rows whose cursor lies in its own [start, stop): an event on an edge, or a
    session spanning one, is loaded once."""
    progress = Progress(endpoint.table)
    cursor, page_size = endpoint.load.cursor, int(endpoint.params.get("limit") or 0)
    params = {}
    if lower is not None:
        params[endpoint.load.cursor_param] = rfc3339(lower)
    if end is not None:
        params[endpoint.load.end_param] = rfc3339(end)
    pages = _window_pages(api, endpoint, params)
    first = next(pages, [])
    times = [row[cursor] for row in first if isinstance(row.get(cursor), datetime)]
    # the last page (or no page size to tell), or nothing to split on: read on
    if not page_size or len(first) < page_size or not times:
        for page in itertools.chain([first], pages):
            progress.add(len(page))
            if page:
                yield page
        progress.done(_nothing_new(lower))
        return
    pages.close()  # the page read ahead, if any, is not needed
    oldest, edge = min(times), max(times)
    # rows on the first page's last instant may continue on the next: its window has them all
    kept = [row for row in first if not isinstance(row.get(cursor), datetime) or row[cursor] < edge]
    progress.add(len(kept))
    if kept:
        yield kept
    windows = _windows(edge, end, oldest, max_concurrency)
    yield from _read_windows(
        api, endpoint, windows, max_concurrency=max_concurrency, progress=progress
    )
    progress.done(_nothing_new(lower))


def _nothing_new(lower: datetime | None) -> str:
    return f"nothing new since {rfc3339(lower)}" if lower else "no events yet"


def _windows(
    first: datetime, end: datetime | None, oldest: datetime, max_concurrency: int
) -> list[tuple[datetime, datetime | None]]:
    """[start, stop) windows from `first` on; the last one's stop is `end` (None: open). Their
    number follows the density of the first page (`oldest` to `first`: one page)."""
    upper = end or datetime.now(UTC)
    span = upper - first
    per_page = max(first - oldest, timedelta(microseconds=1))
    pages = span / per_page if span > timedelta(0) else 0
    count = max(1, min(-(-int(pages) // PAGES_PER_WINDOW), WINDOWS_PER_WORKER * max_concurrency))
    step = max(-(-(span / count) // WINDOW_STEP_UNIT), 1) * WINDOW_STEP_UNIT
    edges = [first + k * step for k in range(count) if k == 0 or first + k * step < upper]
    return list(zip(edges, [*edges[1:], end], strict=True))


def _read_windows(
    api: RestApi,
    endpoint: Endpoint,
    windows: list[tuple[datetime, datetime | None]],
    *,
    max_concurrency: int,
    progress: Progress,
) -> Iterator[list[dict[str, Any]]]:
    """Each window's rows, `max_concurrency` windows at a time, page by page as they arrive;
    one page per worker waits at most, so memory stays flat (a first load of a long history
    is bound by the rows' processing, not by the requests, so more would not help)."""
    events = endpoint.load

    def rows_of(index: int) -> Iterator[list[dict[str, Any]]]:
        start, stop = windows[index]
        params = {events.cursor_param: rfc3339(start)}
        if stop is not None:
            params[events.end_param] = rfc3339(stop)
        last = index == len(windows) - 1
        for page in _window_pages(api, endpoint, params):
            yield [r for r in page if _in_window(r.get(events.cursor), start, stop, last=last)]

    sources = [functools.partial(rows_of, index) for index in range(len(windows))]
    for page in read_concurrently(sources, max_concurrency, depth=max_concurrency):
        progress.add(len(page))
        if page:
            yield page


def _window_pages(
    api: RestApi, endpoint: Endpoint, params: dict[str, Any]
) -> Iterator[list[dict[str, Any]]]:
    """The coerced pages of one request's paging; closing it stops the read-ahead."""
    pages = api.pages(endpoint, params=params, quiet=True)
    try:
        for page in pages:
            yield coerce_rows(endpoint, page)
    finally:
        pages.close()


def _in_window(value: Any, start: datetime, stop: datetime | None, *, last: bool) -> bool:
    """Whether a row's cursor value is in [start, stop), or [start, stop] for the last window."""
    if not isinstance(value, datetime) or value < start:
        return False
    return stop is None or value < stop or (last and value == stop)


# Windows of an endpoint without paging (one response per from/to window): each request is
# sized to about WINDOW_TARGET_ROWS rows by the density of the window before it, so memory
# stays bounded however busy the server was, and a quiet history costs few requests. 5,000:
# at 20,000 a first load of 1,000,000 content hits peaked at 526 MB (bench.hits_memory).
WINDOW_TARGET_ROWS = 5_000
FIRST_WINDOW = timedelta(days=1)
SMALLEST_WINDOW = timedelta(minutes=1)
LARGEST_WINDOW = timedelta(days=31)
LOADED_UNTIL = "loaded_until"


def next_window_span(span: timedelta, rows: int) -> timedelta:
    """The span of the next window after one of `span` held `rows` rows: scaled towards
    WINDOW_TARGET_ROWS, by a factor 4 at most either way (density changes gradually)."""
    factor = min(4.0, max(0.25, WINDOW_TARGET_ROWS / max(rows, 1)))
    return min(LARGEST_WINDOW, max(SMALLEST_WINDOW, span * factor))


def _windowed_event_rows(
    api: RestApi, endpoint: Endpoint, start: datetime | None, end: datetime | None
) -> Callable[..., Iterator[Any]]:
    """Events from an endpoint that answers each from/to window with every row in it (Posit
    Connect's content hits): never one unbounded request. The first load walks from
    `start_date`, or from the earliest moment the server can have events at
    (`api.history_start()`), to now in consecutive windows; later runs start at the newest
    event loaded (inclusive: the insert-only merge drops the repeat), or where the last run's
    windows ended when there was none. With `end_date` it is a backfill of [start, end]."""

    def rows(
        # no row order: the API does not say in which order a window's rows come
        since: dlt.sources.incremental[datetime] = event_cursor(endpoint, start, end),  # noqa: B008
    ) -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        backfill = end is not None
        loaded_until = None if backfill else parse_timestamp(state.get(LOADED_UNTIL))
        first = since.last_value or loaded_until or start or api.history_start()
        if first is None:
            raise ConfigurationError(
                f"{endpoint.table}: {api.api_name} does not tell where its history starts; set "
                "start_date for this source (an RFC3339 timestamp or date)."
            )
        stop = end or datetime.now(UTC)
        progress = Progress(endpoint.table)
        span = FIRST_WINDOW
        window_start = first
        while window_start <= stop:
            window_end = min(window_start + span, stop)
            params = {endpoint.load.cursor_param or "from": rfc3339(window_start)}
            params[endpoint.load.end_param or "to"] = rfc3339(window_end)
            found = 0
            for page in api.pages(endpoint, params=params, quiet=True):
                found += len(page)
                batch = coerce_rows(endpoint, page)
                if batch:
                    yield batch
            progress.add(found)
            if not backfill:
                state[LOADED_UNTIL] = rfc3339(window_end)
            span = next_window_span(span, found)
            window_start = window_end + timedelta(microseconds=1)  # `to` is inclusive
        progress.done(f"nothing new since {rfc3339(first)}")

    return rows
