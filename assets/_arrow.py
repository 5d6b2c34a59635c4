"""Rows as Arrow tables that load as dlt's JSON normalizer would load the same rows.

dlt normalizes Python rows one value at a time; an Arrow table goes from extract to the
destination as Parquet with no per-row work, an order of magnitude faster for big tables.
`as_arrow` builds that table for a batch of rows, with the same columns, types and rows the
JSON path would have produced:

- nested objects flattened into `parent__child` columns;
- for ``scd2`` tables the row's version (`row_versions`) in `row_hash`, the column their
  merge compares (dlt's `row_version_column_name`), and as `_dlt_id` too, so that the rows of
  nested tables point at one version whichever path it took; a unique random `_dlt_id`
  otherwise, as dlt's own Arrow path gives; `_dlt_load_id` as the JSON path writes it;
- columns that are null in every row left out, as the JSON path leaves them out until a value
  arrives (typed columns come from the resource's hints either way).

A list an endpoint declares (`NestedList`) makes a nested table that the source builds
itself: `nested_rows` gives its rows the columns and links dlt would. When a batch holds
anything else only the JSON normalizer handles the same way (other lists, which become nested
tables; values of mixed types; strings the schema would detect as timestamps), `as_arrow`
returns None and the caller yields the rows as they are (`for_json_normalizer`
makes them cheaper to normalize, with the same result). tests/posit_connect/test_arrow_path.py
loads every table both ways and compares them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
import orjson

# With the code location rather than in the middle of the first run: pyarrow imports pandas on
# its first conversion of Python objects, and dlt's Parquet writer pyarrow.parquet (together
# ~1.5 s that every run would otherwise spend before loading its first row).
import pandas  # noqa: F401
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet
from dlt.common.schema.detections import is_iso_timestamp

DLT_ID = "_dlt_id"
DLT_LOAD_ID = "_dlt_load_id"
DLT_PARENT_ID = "_dlt_parent_id"
DLT_LIST_IDX = "_dlt_list_idx"
DLT_PREFIX = "_dlt"  # dlt's own columns, no part of a row's version
# The version of an scd2 row, which its merge compares (`row_version_column_name`).
ROW_VERSION = "row_hash"
PATH_SEPARATOR = "__"


def row_id_kind(write_disposition: dict[str, Any] | str) -> str:
    """`row_hash` for an ``scd2`` table, whose rows carry their version; `random` otherwise."""
    if isinstance(write_disposition, dict) and write_disposition.get("strategy") == "scd2":
        return "row_hash"
    return "random"


def _flatten(table: pa.Table) -> pa.Table | None:
    """Struct columns into `parent__child` columns; None if a list column remains."""
    names: list[str] = []
    columns: list[pa.ChunkedArray] = []
    stack = list(zip(table.column_names, table.columns, strict=True))[::-1]
    while stack:
        name, column = stack.pop()
        kind = column.type
        if pa.types.is_struct(kind):
            children = column.flatten()
            stack.extend(
                (f"{name}{PATH_SEPARATOR}{kind.field(i).name}", children[i])
                for i in range(kind.num_fields - 1, -1, -1)
            )
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind):
            return None
        elif pa.types.is_null(kind):
            continue  # no value in any row: the JSON path makes no column either
        else:
            names.append(name)
            columns.append(column)
    return pa.table(columns, names=names)


def _has_detectable_timestamps(table: pa.Table, typed: frozenset[str]) -> bool:
    """Whether dlt's `iso_timestamp` detection would type a new string column as timestamp."""
    for name, column in zip(table.column_names, table.columns, strict=True):
        if name in typed or not pa.types.is_string(column.type):
            continue
        # the first value is all dlt looks at: converting the whole column made a Python
        # string per row (0.8 ms per 5,000 rows, against 0.04 ms)
        first = column.drop_null().slice(0, 1).to_pylist()
        if first and is_iso_timestamp(str, first[0]):
            return True
    return False


_SORTED = orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS
# dlt's default naming convention (snake_case), for column names as the tables have them
_NAMING = dlt.Schema("row_versions").naming
# key -> column name, "" for dlt's own columns (no part of a version): once per key
_COLUMN_NAMES: dict[str, str] = {}


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def column_name(key: str) -> str:
    """`key` as dlt names its column (its default naming convention, snake_case)."""
    return _NAMING.normalize_identifier(key)


def column_path(path: str) -> str:
    """A flattened column `parent__child` as dlt names it."""
    return PATH_SEPARATOR.join(map(column_name, path.split(PATH_SEPARATOR)))


def row_versions(
    rows: Sequence[dict[str, Any]],
    whole: frozenset[str] = frozenset(),
    timestamps: frozenset[str] = frozenset(),
) -> list[str]:
    """The version of each row: the BLAKE2b-128 hex digest of its `stored_form` as orjson
    writes it with sorted keys. Defined on what the table stores, so that a version can be
    computed again from the table itself (assets.row_versions does, once, for rows stored
    before this column existed). `whole`: the json columns, stored as one value;
    `timestamps`: columns the table stores as timestamps, whose text the row may still have
    (dlt detected their type)."""
    return [version_of(stored_form(row, whole, timestamps)) for row in rows]


def version_of(form: dict[str, Any]) -> str:
    try:
        return _digest(orjson.dumps(form, default=str, option=_SORTED))
    except orjson.JSONEncodeError:  # an int beyond 64 bits, a nesting too deep for orjson
        return _digest(json.dumps(form, sort_keys=True, default=str).encode())


def stored_form(
    row: dict[str, Any],
    whole: frozenset[str] = frozenset(),
    timestamps: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """`row` as its table stores it: objects flattened into `parent__child` columns (a json
    column kept whole), names as dlt normalizes them, nulls and empty strings left out (a
    missing value and a null load the same; loaded as CSV into PostgreSQL, an empty string
    is a null), each non-empty list as the rows of its nested table (an item that is
    not an object is `{"value": item}`)."""
    form: dict[str, Any] = {}
    _flatten_into(form, "", row, whole)
    for name in timestamps.intersection(form):
        if type(form[name]) is str:
            form[name] = _as_timestamp(form[name])
    return form


def _as_timestamp(text: str) -> datetime | str:
    """`text` as the UTC timestamp a destination stores for it (a time without zone is UTC)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _flatten_into(
    form: dict[str, Any], prefix: str, row: dict[str, Any], whole: frozenset[str]
) -> None:
    names = _COLUMN_NAMES
    for key, value in row.items():
        if value is None or value == "":
            continue
        name = names.get(key)
        if name is None:
            name = names[key] = "" if key.startswith(DLT_PREFIX) else column_name(key)
        if not name:  # dlt's own column
            continue
        if prefix:
            name = prefix + name
        kind = type(value)
        if kind is dict and name not in whole:
            _flatten_into(form, name + PATH_SEPARATOR, value, whole)
        elif kind is list and name not in whole:
            if value:
                form[name] = [
                    stored_form(item) if type(item) is dict else {"value": item} for item in value
                ]
        else:
            form[name] = value


def nested_rows(
    rows: Sequence[dict[str, Any]], field: str, parent_ids: Sequence[str], table: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The items of each row's list `field` as rows of the nested table `table`, and their
    ids, linked as dlt's JSON normalizer links them: `_dlt_parent_id` is the row's id,
    `_dlt_list_idx` the item's position, `_dlt_id` a hash of the table, both of them (so a
    version's items keep their ids). An item that is not an object becomes
    `{"value": item}`, as in dlt."""
    children: list[dict[str, Any]] = []
    ids: list[str] = []
    for row, parent_id in zip(rows, parent_ids, strict=True):
        items = row.get(field)
        if type(items) is not list:
            continue
        for position, item in enumerate(items):
            child = dict(item) if isinstance(item, dict) else {"value": item}
            child[DLT_PARENT_ID] = parent_id
            child[DLT_LIST_IDX] = position
            children.append(child)
            ids.append(_digest(f"{parent_id}|{table}|{position}".encode()))
    return children, ids


def _random_ids(count: int) -> pa.Array:
    """`count` random row ids in one go (dlt's `generate_dlt_ids` makes them one at a time):
    12 random bytes each, base64, 16 characters."""
    data = base64.b64encode(os.urandom(12 * count))
    offsets = pa.array(range(0, 16 * count + 1, 16), pa.int32())
    return pa.StringArray.from_buffers(count, offsets.buffers()[1], pa.py_buffer(data))


def as_arrow(
    rows: Sequence[dict[str, Any]],
    row_id: str,
    primary_key: Sequence[str] = (),
    typed_columns: frozenset[str] = frozenset(),
    load_id: str | None = None,
    not_null: Sequence[str] = (),
    ids: Sequence[str] | None = None,
    nullable_load_id: bool = False,
) -> pa.Table | None:
    """`rows` as one Arrow table loaded like the JSON path would load them, or None.

    `row_id` is `row_id_kind(...)` of the table; `typed_columns` the columns whose type the
    resource's hints fix (their strings are never timestamp-detected); `load_id` the package
    being extracted, written to `_dlt_load_id` as the JSON normalizer does (a column that
    `nullable_load_id` leaves nullable, for a table whose earlier rows have none); `not_null`
    the columns dlt makes NOT NULL besides the primary key (a merge key); `ids` the rows'
    `_dlt_id`s where the caller has them already.
    """
    if not rows or _has_lists(rows):
        return None
    try:
        table = pa.Table.from_struct_array(pa.array(rows))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return None  # mixed types, huge ints, ...: the JSON path decides what they become
    flat = _flatten(table)
    if flat is None or DLT_ID in flat.column_names or ROW_VERSION in flat.column_names:
        return None
    if _has_detectable_timestamps(flat, typed_columns):
        return None
    # An scd2 table's id is its row hash, the version identity its merge compares. Other
    # tables need a unique id only: dlt's JSON path hashes the primary key for merged tables
    # and draws random ids for the rest; no merge reads them (insert-only and upsert match on
    # the primary key) and rows on this path have no nested rows that point at them, so
    # random ids, as dlt's own Arrow path gives, load the same.
    if ids is None and row_id == "row_hash":
        ids = row_versions(rows)
    for key in dict.fromkeys((*primary_key, *not_null)):  # NOT NULL in dlt's schema too
        index = flat.schema.get_field_index(key)
        if index < 0 or flat.column(index).null_count:
            return None
        flat = flat.set_column(index, flat.schema.field(index).with_nullable(False), flat[key])
    if load_id is not None:
        flat = flat.append_column(
            pa.field(DLT_LOAD_ID, pa.string(), nullable=nullable_load_id),
            pa.repeat(pa.scalar(load_id, pa.string()), flat.num_rows),
        )
    id_column = pa.array(ids, pa.string()) if ids is not None else _random_ids(flat.num_rows)
    if row_id == "row_hash":
        flat = flat.append_column(pa.field(ROW_VERSION, pa.string(), nullable=False), id_column)
    return flat.append_column(pa.field(DLT_ID, pa.string(), nullable=False), id_column)


# dlt's data type of an Arrow column, for the types `as_arrow` produces.
_DLT_TYPES = (
    (pa.types.is_boolean, "bool"),
    (pa.types.is_integer, "bigint"),
    (pa.types.is_floating, "double"),
    (pa.types.is_string, "text"),
    (pa.types.is_large_string, "text"),
    (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_date, "date"),
    (pa.types.is_decimal, "decimal"),
    (pa.types.is_binary, "binary"),
)


def dlt_types(table: pa.Table) -> dict[str, str | None]:
    """The dlt data type of each column of `table` (None where there is no plain one)."""
    return {
        field.name: next((name for is_type, name in _DLT_TYPES if is_type(field.type)), None)
        for field in table.schema
    }


def conflicts_with(table: pa.Table, known: dict[str, str]) -> bool:
    """Whether a column of `table` has another type than the column dlt already has (from a
    hint, an earlier load, or an earlier batch): loaded as Arrow it would fail at the
    destination; as rows dlt's JSON normalizer puts the values in a variant column."""
    return any(name in known and kind != known[name] for name, kind in dlt_types(table).items())


def concat_tables(tables: list[pa.Table]) -> list[pa.Table]:
    """One table of `tables` (a column missing from some is null there, as in the JSON path),
    or the tables as they are when their types do not unify."""
    if len(tables) == 1:
        return tables
    try:
        return [pa.concat_tables(tables, promote_options="default")]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return tables


def _has_lists(rows: Sequence[dict[str, Any]]) -> bool:
    """A list at the top of the first row: a nested table, which only the JSON path makes,
    found before converting the batch. (Lists in other rows or deeper down are found when
    the table is flattened, or fail the conversion; looking at every value costs more.)"""
    return any(type(value) is list for value in rows[0].values())


def for_json_normalizer(
    rows: list[dict[str, Any]], row_id: str, ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Rows that must take dlt's JSON path, with less for it to do and the same result: the
    version an ``scd2`` table needs computed here, as `row_hash` and as `_dlt_id` (the
    normalizer keeps a `_dlt_id` it finds, and nested rows point at it alike), and null
    values left out (a missing value and a null load the same; typed columns exist from the
    hints either way). `ids`, where the caller has them, become the rows' `_dlt_id`s whatever
    the table."""
    versioned = row_id == "row_hash"
    if ids is None:
        if not versioned:
            return rows
        ids = row_versions(rows)
    return [
        {
            **{k: v for k, v in row.items() if v is not None},
            **({ROW_VERSION: dlt_id} if versioned else {}),
            DLT_ID: dlt_id,
        }
        for row, dlt_id in zip(rows, ids, strict=True)
    ]
