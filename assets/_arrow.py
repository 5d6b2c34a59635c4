"""Rows as Arrow tables that load as dlt's JSON normalizer would load the same rows.

dlt normalizes Python rows one value at a time; an Arrow table goes from extract to the
destination as Parquet with no per-row work, an order of magnitude faster for big tables.
`as_arrow` builds that table for a batch of rows, with the same columns, types and rows the
JSON path would have produced:

- nested objects flattened into `parent__child` columns;
- `_dlt_id`: the row hash for ``scd2`` tables, exactly as dlt computes it (so a row keeps
  its version whichever path it took); a unique random id otherwise, as dlt's own Arrow path
  gives (the JSON path hashes the primary key of merged tables, which nothing reads back);
  `_dlt_load_id` as the JSON path writes it;
- columns that are null in every row left out, as the JSON path leaves them out until a value
  arrives (typed columns come from the resource's hints either way).

A list an endpoint declares (`NestedList`) makes a nested table that the source builds
itself: `nested_rows` gives its rows the columns and ids dlt would. When a batch holds
anything else only the JSON normalizer handles the same way (other lists, which become nested
tables; values of mixed types; strings the schema would detect as timestamps), `as_arrow`
returns None and the caller yields the rows as they are (`for_json_normalizer`
makes them cheaper to normalize, with the same result). tests/posit_connect/test_arrow_path.py
loads every table both ways and compares them.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

# With the code location rather than in the middle of the first run: pyarrow imports pandas on
# its first conversion of Python objects, and dlt's Parquet writer pyarrow.parquet (together
# ~1.5 s that every run would otherwise spend before loading its first row).
import pandas  # noqa: F401
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet
from dlt.common.json import custom_pua_encode
from dlt.common.json import json as dlt_json
from dlt.common.normalizers.json.helpers import get_nested_row_hash, get_row_hash
from dlt.common.normalizers.utils import DLT_ID_LENGTH_BYTES
from dlt.common.schema.detections import is_iso_timestamp
from dlt.common.utils import digest128b

DLT_ID = "_dlt_id"
DLT_LOAD_ID = "_dlt_load_id"
DLT_PARENT_ID = "_dlt_parent_id"
DLT_LIST_IDX = "_dlt_list_idx"
DLT_PREFIX = "_dlt"  # dlt's own columns, which row hashes leave out
PATH_SEPARATOR = "__"
# How dlt's JSON path identifies a root row, by merge strategy (see `get_root_row_id_type` in
# dlt.common.normalizers.json.helpers).
KEY_HASH_STRATEGIES = frozenset({"upsert", "insert-only", "cdc"})


def row_id_kind(write_disposition: dict[str, Any] | str, primary_key: Sequence[str]) -> str:
    """`row_hash`, `key_hash` or `random`: how dlt's JSON normalizer sets `_dlt_id`."""
    if isinstance(write_disposition, str):
        return "random"
    strategy = write_disposition.get("strategy")
    if write_disposition.get("disposition") != "merge":
        return "random"
    if strategy == "scd2" and not write_disposition.get("row_version_column_name"):
        return "row_hash"
    if strategy in KEY_HASH_STRATEGIES and primary_key:
        return "key_hash"
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


# The mark dlt's typed JSON puts before a datetime, taken from its encoder.
_TYPED_DATETIME = custom_pua_encode(datetime(2000, 1, 1, tzinfo=UTC))[0]
_TYPED_SORTED = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS


def _typed_value(value: Any) -> Any:
    """dlt's `custom_pua_encode`, with plain datetimes (most of what it is asked) first: dlt
    tests six other types before them."""
    if type(value) is datetime:
        return _TYPED_DATETIME + value.isoformat()
    return custom_pua_encode(value)


def _typed_sorted(row: dict[str, Any]) -> bytes:
    """`typed_dumpb(row, sort_keys=True)`, byte for byte."""
    return orjson.dumps(row, default=_typed_value, option=_TYPED_SORTED)


def row_hashes(rows: Sequence[dict[str, Any]]) -> list[str]:
    """dlt's scd2 row hash of each row, as its JSON normalizer computes it: `get_row_hash` of
    the row read back from the extracted file (datetimes there are dlt's typed strings).
    Dumping the row typed and sorted gives those very bytes in one step, for a row without
    dlt's own columns (which get_row_hash leaves out)."""
    # rows from an API hardly ever have such columns, and looking once at every key of the
    # batch is cheaper than looking row by row
    any_dlt_columns = any(key.startswith(DLT_PREFIX) for key in set().union(*rows))
    return [
        get_row_hash(dlt_json.loadb(dlt_json.typed_dumpb(row)))
        if any_dlt_columns and any(key.startswith(DLT_PREFIX) for key in row)
        else digest128b(_typed_sorted(row), DLT_ID_LENGTH_BYTES)
        for row in rows
    ]


def nested_rows(
    rows: Sequence[dict[str, Any]], field: str, parent_ids: Sequence[str], table: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The items of each row's list `field` as rows of the nested table `table`, and their
    ids, linked as dlt's JSON normalizer links them: `_dlt_parent_id` is the row's id,
    `_dlt_list_idx` the item's position, `_dlt_id` dlt's hash of both (`get_nested_row_hash`).
    An item that is not an object becomes `{"value": item}`, as in dlt."""
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
            ids.append(get_nested_row_hash(parent_id, table, position))
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
    if flat is None or DLT_ID in flat.column_names:
        return None
    if _has_detectable_timestamps(flat, typed_columns):
        return None
    # An scd2 table's id is its row hash, the version identity its merge compares. Other
    # tables need a unique id only: dlt's JSON path hashes the primary key for merged tables
    # and draws random ids for the rest; no merge reads them (insert-only and upsert match on
    # the primary key) and rows on this path have no nested rows that point at them, so
    # random ids, as dlt's own Arrow path gives, load the same.
    if ids is None and row_id == "row_hash":
        ids = row_hashes(rows)
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
    return flat.append_column(
        pa.field(DLT_ID, pa.string(), nullable=False),
        pa.array(ids, pa.string()) if ids is not None else _random_ids(flat.num_rows),
    )


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
    row hash an ``scd2`` table needs computed here (the normalizer keeps a `_dlt_id` it
    finds, and nested rows point at it alike), and null values left out (a missing value and
    a null load the same; typed columns exist from the hints either way). `ids`, where the
    caller has them, become the rows' `_dlt_id`s whatever the table."""
    if ids is None:
        if row_id != "row_hash" or any(DLT_ID in row for row in rows):
            return rows
        ids = row_hashes(rows)
    return [
        {**{k: v for k, v in row.items() if v is not None}, DLT_ID: dlt_id}
        for row, dlt_id in zip(rows, ids, strict=True)
    ]
