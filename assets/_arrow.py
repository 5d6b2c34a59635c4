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

When a batch holds anything only the JSON normalizer handles the same way (lists, which
become nested tables; values of mixed types; strings the schema would detect as timestamps),
`as_arrow` returns None and the caller yields the rows as they are (`for_json_normalizer`
makes them cheaper to normalize, with the same result). tests/posit_connect/test_arrow_path.py
loads every table both ways and compares them.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any

# With the code location rather than in the middle of the first run: pyarrow imports pandas on
# its first conversion of Python objects, and dlt's Parquet writer pyarrow.parquet (together
# ~1.5 s that every run would otherwise spend before loading its first row).
import pandas  # noqa: F401
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet
from dlt.common.json import json as dlt_json
from dlt.common.normalizers.json.helpers import get_row_hash
from dlt.common.normalizers.utils import DLT_ID_LENGTH_BYTES
from dlt.common.schema.detections import is_iso_timestamp
from dlt.common.utils import digest128b

DLT_ID = "_dlt_id"
DLT_LOAD_ID = "_dlt_load_id"
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
        first = next((v for v in column.drop_null().to_pylist()[:1]), None)
        if first is not None and is_iso_timestamp(str, first):
            return True
    return False


def _row_hashes(rows: Sequence[dict[str, Any]]) -> list[str]:
    """dlt's scd2 row hash of each row, as its JSON normalizer computes it: `get_row_hash` of
    the row read back from the extracted file (datetimes there are dlt's typed strings).
    Dumping the row typed and sorted gives those very bytes in one step."""
    typed_dumpb = dlt_json.typed_dumpb
    hashes = []
    for row in rows:
        if any(key.startswith(DLT_PREFIX) for key in row):  # get_row_hash leaves these out
            hashes.append(get_row_hash(dlt_json.loadb(typed_dumpb(row))))
        else:
            hashes.append(digest128b(typed_dumpb(row, sort_keys=True), DLT_ID_LENGTH_BYTES))
    return hashes


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
) -> pa.Table | None:
    """`rows` as one Arrow table loaded like the JSON path would load them, or None.

    `row_id` is `row_id_kind(...)` of the table; `typed_columns` the columns whose type the
    resource's hints fix (their strings are never timestamp-detected); `load_id` the package
    being extracted, written to `_dlt_load_id` as the JSON normalizer does; `not_null` the
    columns dlt makes NOT NULL besides the primary key (a merge key).
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
    ids = pa.array(_row_hashes(rows), pa.string()) if row_id == "row_hash" else None
    for key in dict.fromkeys((*primary_key, *not_null)):  # NOT NULL in dlt's schema too
        index = flat.schema.get_field_index(key)
        if index < 0 or flat.column(index).null_count:
            return None
        flat = flat.set_column(index, flat.schema.field(index).with_nullable(False), flat[key])
    if load_id is not None:
        flat = flat.append_column(
            pa.field(DLT_LOAD_ID, pa.string(), nullable=False),
            pa.repeat(pa.scalar(load_id, pa.string()), flat.num_rows),
        )
    return flat.append_column(
        pa.field(DLT_ID, pa.string(), nullable=False),
        ids if ids is not None else _random_ids(flat.num_rows),
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
    """A list at the top of any row: a nested table, which only the JSON path makes. (Lists
    deeper down are found when the table is flattened.)"""
    return any(type(value) is list for row in rows for value in row.values())


def for_json_normalizer(rows: list[dict[str, Any]], row_id: str) -> list[dict[str, Any]]:
    """Rows that must take dlt's JSON path, with less for it to do and the same result: the
    row hash an ``scd2`` table needs computed here (the normalizer keeps a `_dlt_id` it
    finds, and nested rows point at it alike), and null values left out (a missing value and
    a null load the same; typed columns exist from the hints either way)."""
    if row_id != "row_hash" or any(DLT_ID in row for row in rows):
        return rows
    hashes = _row_hashes(rows)
    return [
        {**{k: v for k, v in row.items() if v is not None}, DLT_ID: row_hash}
        for row, row_hash in zip(rows, hashes, strict=True)
    ]
