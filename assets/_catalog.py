"""The shape of an endpoint catalog entry, and how each load mode becomes a dlt resource.

A source's `settings.py` lists `Endpoint`s as data; `build_resources` turns them into dlt
resources. The load modes are:

- ``snapshot``: the endpoint returns the full current set every time. Written with dlt's
  ``scd2`` merge: unchanged rows are left alone, changed rows get a new version, and rows
  gone from the server are retired (``_dlt_valid_to`` set), never silently kept as current.
- ``fanout``: one request per row of a parent list (e.g. one per content item). Only parents
  that are new or whose ``change_field`` moved since the last successful run are requested;
  a parent that disappeared gets a tombstone row (``deleted_time`` set) that retires its rows.
- ``events``: append-only history (audit logs, visits). Loaded incrementally on ``cursor`` with
  dlt's incremental state, merged ``insert-only`` on ``key`` so a retried run never duplicates.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from assets._http import EndpointUnavailable, Progress, SourceError

DELETED_COLUMN = "deleted_time"
ROW_KEY_COLUMN = "row_key"
FANOUT_BATCH = 200


@dataclass(frozen=True)
class Endpoint:
    table: str
    path: str
    description: str
    mode: str = "snapshot"  # snapshot | fanout | events | custom
    paging: str = "none"  # none | page_number | keyset
    params: dict[str, Any] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    # events: the time column the cursor follows and the request parameter that starts from it
    cursor: str | None = None
    cursor_param: str | None = None
    end_param: str | None = None
    descending: bool = False
    # fanout: the parent list and which of its fields triggers a re-fetch
    parent: str | None = None
    parent_key: str = "guid"
    change_field: str | None = None
    # what a reader needs, said in errors: a role, or a server version
    requires: str = ""
    string_columns: tuple[str, ...] = ()
    timestamp_columns: tuple[str, ...] = ()
    drop_keys: frozenset[str] = frozenset()
    # types of columns that are often null, so the table has them from the first load
    column_types: dict[str, str] = field(default_factory=dict)

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
        if self.mode == "fanout":
            hints[DELETED_COLUMN] = {"data_type": "timestamp", "timezone": True, "nullable": True}
        return hints

    @property
    def current_filter(self) -> str:
        """SQL condition for the rows that describe the server as it is now."""
        if self.mode in ("events", "custom"):
            return "TRUE"
        if self.mode == "fanout":
            return f"_dlt_valid_to IS NULL AND {DELETED_COLUMN} IS NULL"
        return "_dlt_valid_to IS NULL"

    @property
    def write_disposition(self) -> dict[str, Any]:
        if self.mode == "events":
            return {"disposition": "merge", "strategy": "insert-only"}
        if self.mode == "custom":
            return {"disposition": "append"}
        return {"disposition": "merge", "strategy": "scd2"}


def coerce_row(endpoint: Endpoint, row: dict[str, Any]) -> dict[str, Any]:
    """Ids to strings (servers send some as ints), secrets dropped, a row key for events."""
    if endpoint.drop_keys:
        row = {k: v for k, v in row.items() if k not in endpoint.drop_keys}
    for name in endpoint.string_columns:
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            row[name] = str(value)
    for name in endpoint.timestamp_columns:
        if name in row:
            row[name] = parse_timestamp(row[name])
    if endpoint.mode == "events" and endpoint.key == (ROW_KEY_COLUMN,):
        row[ROW_KEY_COLUMN] = row_key(row)
    return row


def row_key(row: dict[str, Any]) -> str:
    """A stable identity for event rows that have no id of their own (visits, sessions)."""
    canonical = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def now_utc() -> str:
    return datetime.now(UTC).isoformat()


class EndpointFailures:
    """Endpoints that could not be read (403, route missing), so the rest still loads.

    The orchestration layer reads this after the run to fail exactly those tables."""

    def __init__(self) -> None:
        self.by_table: dict[str, SourceError] = {}

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
    max_concurrency: int,
    progress: Progress,
) -> Iterator[list[dict[str, Any]]]:
    """Request `fetch(parent_key)` for new or changed parents, `max_concurrency` at a time.

    `fetch` returns None when the parent vanished between the list and the request (404):
    that parent is counted as skipped and tombstoned. Resource state remembers each parent's
    `change_field` so an unchanged parent is never requested again."""
    state = dlt.current.resource_state()
    seen: dict[str, Any] = state.setdefault("seen", {})
    current = {str(p[endpoint.parent_key]): p.get(endpoint.change_field or "") for p in parents}
    # Without a change field nothing tells a changed parent apart: request them all.
    to_fetch = [
        k
        for k, v in current.items()
        if endpoint.change_field is None or k not in seen or seen[k] != v
    ]
    gone = [k for k in seen if k not in current]
    deleted_time = now_utc()
    key_column = endpoint.key[0]

    with ThreadPoolExecutor(max_workers=max(1, max_concurrency)) as pool:
        for start in range(0, len(to_fetch), FANOUT_BATCH):
            batch_keys = to_fetch[start : start + FANOUT_BATCH]
            batch: list[dict[str, Any]] = []
            for parent_key, rows in zip(batch_keys, pool.map(fetch, batch_keys), strict=True):
                if rows is None:
                    progress.skipped += 1
                    gone.append(parent_key)
                    continue
                batch.extend({**coerce_row(endpoint, r), DELETED_COLUMN: None} for r in rows)
                seen[parent_key] = current[parent_key]
            progress.add(len(batch), pages=len(batch_keys))
            if batch:
                yield batch

    tombstones = [{key_column: k, DELETED_COLUMN: deleted_time} for k in gone]
    for parent_key in gone:
        seen.pop(parent_key, None)
    if tombstones:
        yield tombstones


def make_resource(
    endpoint: Endpoint,
    rows: Callable[..., Iterable[Any]],
    failures: EndpointFailures | None,
    **resource_kwargs: Any,
) -> DltResource:
    """Wrap a row generator as a dlt resource with the endpoint's table hints."""
    merge_key = endpoint.key[0] if endpoint.mode == "fanout" and endpoint.key else None
    primary_key = list(endpoint.key) if endpoint.mode == "events" else None

    # functools.wraps keeps `rows`' signature, which dlt reads for incremental arguments.
    @functools.wraps(rows)
    def generate(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from tolerate_unavailable(endpoint.table, failures, iter(rows(*args, **kwargs)))

    return dlt.resource(
        generate,
        name=endpoint.table,
        table_name=endpoint.table,
        write_disposition=endpoint.write_disposition,
        primary_key=primary_key,
        merge_key=merge_key,
        columns=endpoint.columns,
        **resource_kwargs,
    )


def parse_timestamp(value: Any) -> Any:
    """RFC3339 with `Z`, offsets or microseconds -> an aware UTC datetime (None stays None)."""
    if not isinstance(value, str) or not value:
        return value or None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
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


def build_resources(
    api: Any,
    endpoints: Iterable[Endpoint],
    failures: EndpointFailures | None,
    max_concurrency: int,
    window: EventWindow,
) -> list[DltResource]:
    """One dlt resource per catalog entry whose mode is generic (not ``custom``)."""
    builders = {"snapshot": _snapshot_rows, "fanout": _fanout_rows, "events": _event_rows}
    resources = []
    for endpoint in endpoints:
        if endpoint.mode in builders:
            rows = builders[endpoint.mode](api, endpoint, max_concurrency, window)
            resources.append(make_resource(endpoint, rows, failures))
    return resources


def _snapshot_rows(api: Any, endpoint: Endpoint, *_: Any) -> Callable[[], Iterator[Any]]:
    def rows() -> Iterator[list[dict[str, Any]]]:
        current = api.rows(endpoint.table)
        for start in range(0, len(current), 5000):
            yield [coerce_row(endpoint, dict(r)) for r in current[start : start + 5000]]

    return rows


def _fanout_rows(
    api: Any, endpoint: Endpoint, max_concurrency: int, *_: Any
) -> Callable[[], Iterator[Any]]:
    def rows() -> Iterator[list[dict[str, Any]]]:
        progress = Progress(endpoint.table)
        parents = api.rows(endpoint.parent)
        yield from fan_out(
            endpoint,
            parents,
            lambda key: api.children(endpoint, key),
            max_concurrency,
            progress,
        )
        progress.done()

    return rows


def _event_rows(
    api: Any, endpoint: Endpoint, _max_concurrency: int, window: EventWindow
) -> Callable[..., Iterator[Any]]:
    start = parse_timestamp(window.start) if window.start else None
    end = parse_timestamp(window.end) if window.end else None

    def rows(
        since: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008
            endpoint.cursor or "",
            initial_value=start,
            end_value=end,
            range_end="closed",
            row_order="desc" if endpoint.descending else "asc",
            on_cursor_value_missing="include",
        ),
    ) -> Iterator[list[dict[str, Any]]]:
        params = {}
        if endpoint.cursor_param and since.last_value:
            params[endpoint.cursor_param] = rfc3339(since.last_value)
        if endpoint.end_param and end:
            params[endpoint.end_param] = rfc3339(end)
        for page in api.pages(endpoint, params=params):
            yield [coerce_row(endpoint, r) for r in page]

    return rows
