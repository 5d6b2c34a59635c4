"""Versions for the current rows of scd2 tables stored before tables had a `row_hash`.

Snapshot and fan-out tables merge with dlt's ``scd2`` on `row_hash`, each row's version as
the source computes it (`assets._arrow.row_versions`: a hash of what the table stores for the
row), which is also the row's `_dlt_id`, the id its nested rows point at. Versions before
2026-12 had no `row_hash`: dlt's own row hash was the `_dlt_id`. Such a table, loaded as it
is, would get a second version of every unchanged row (no current row has the version
the merge looks for). So before the first load of a table that has rows but no `row_hash`,
each current row gets its version computed from what the table stores (its columns and the
rows of its nested tables), as `row_hash` and as `_dlt_id`, in one transaction. Its nested
rows are deleted, unless a retired version shares them: the load writes them again, the same
rows under the new id. A row whose stored form differs from what the server sends (a value
the destination typed otherwise) becomes a new version once, as any change does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.destinations.sql_client import SqlClientBase

from assets._arrow import DLT_ID, DLT_PREFIX, PATH_SEPARATOR, ROW_VERSION, version_of
from assets._http import progress_log

STATE_KEY = "row_versions"
JSON_TYPES = frozenset({"json", "jsonb"})
UPDATE_BATCH = 1000


def ensure_row_versions(table: str, whole: frozenset[str]) -> None:
    """Give the current rows of `table` their versions if they have none yet (see above):
    once per table, in a running pipeline whose destination speaks SQL. `whole`: the table's
    json columns."""
    try:
        state = dlt.current.resource_state()
        if state.get(STATE_KEY):
            return
        # after the state: looking the pipeline up resolves its configuration (~6 ms a table)
        pipeline = dlt.current.pipeline()
    except Exception:  # outside a pipeline: nothing is stored to migrate
        return
    if pipeline.destination is None:
        return
    stored = dlt.current.source_schema().tables.get(table, {}).get("columns", {})
    if not stored or pipeline.destination.destination_name == "filesystem":
        state[STATE_KEY] = True  # never loaded (a new destination), or files with no merge
        return
    with pipeline.sql_client() as client:
        if client.has_dataset():
            adopted = add_row_versions(client, table, whole)
            if adopted:
                progress_log.info(
                    "%s: %d current rows got their row_hash (stored before it existed)",
                    table,
                    adopted,
                )
    state[STATE_KEY] = True


def add_row_versions(client: SqlClientBase[Any], table: str, whole: frozenset[str]) -> int:
    """Add `row_hash` to `table` and fill it for the current rows, if the table exists without
    it; the number of rows given a version."""
    columns = _columns(client, table)
    root = columns.pop(table, None)
    if root is None or ROW_VERSION in root:
        return 0
    nested = {
        name[len(table) + len(PATH_SEPARATOR) :]: types
        for name, types in columns.items()
        if name.startswith(table + PATH_SEPARATOR) and "_dlt_parent_id" in types
    }
    versions = _current_versions(client, table, root, nested, whole)
    qualified = client.make_qualified_table_name(table)
    escape = client.escape_column_name
    with client.begin_transaction():
        client.execute_sql(f"ALTER TABLE {qualified} ADD COLUMN {escape(ROW_VERSION)} VARCHAR")
        pairs = list(versions.items())
        for start in range(0, len(pairs), UPDATE_BATCH):
            values = ", ".join(
                f"({sql_literal(old)}, {sql_literal(new)})"
                for old, new in pairs[start : start + UPDATE_BATCH]
            )
            client.execute_sql(
                f"UPDATE {qualified} AS t SET {escape(ROW_VERSION)} = v.new_id, "
                f"{escape(DLT_ID)} = v.new_id FROM (VALUES {values}) AS v(old_id, new_id) "
                f"WHERE t.{escape(DLT_ID)} = v.old_id AND t._dlt_valid_to IS NULL"
            )
        for field in nested:
            client.execute_sql(
                f"DELETE FROM {client.make_qualified_table_name(table + PATH_SEPARATOR + field)} "
                f"WHERE _dlt_parent_id NOT IN (SELECT {escape(DLT_ID)} FROM {qualified})"
            )
    with client.with_staging_dataset():  # dlt's copy of the last load, altered alike
        staged = _columns(client, table).get(table) if client.has_dataset() else None
        if staged is not None and ROW_VERSION not in staged:
            client.execute_sql(
                f"ALTER TABLE {client.make_qualified_table_name(table)} "
                f"ADD COLUMN {escape(ROW_VERSION)} VARCHAR"
            )
    return len(pairs)


def _columns(client: SqlClientBase[Any], table: str) -> dict[str, dict[str, str]]:
    """{table: {column: data type}} of `table` and the tables named after it."""
    rows = client.execute_sql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = {sql_literal(client.dataset_name)} "
        "ORDER BY table_name, ordinal_position"
    )
    columns: dict[str, dict[str, str]] = {}
    for name, column, data_type in rows:
        if name == table or name.startswith(table + PATH_SEPARATOR):
            columns.setdefault(name, {})[column] = data_type.lower()
    return columns


def _current_versions(
    client: SqlClientBase[Any],
    table: str,
    root: dict[str, str],
    nested: dict[str, dict[str, str]],
    whole: frozenset[str],
) -> dict[str, str]:
    """{stored `_dlt_id`: version} of the table's current rows, from what it stores."""
    current = "_dlt_valid_to IS NULL"
    qualified = client.make_qualified_table_name(table)
    forms = {
        row_id: form for row_id, form in _forms(client, qualified, DLT_ID, root, current, whole)
    }
    for field, types in nested.items():
        items = _forms(
            client,
            client.make_qualified_table_name(table + PATH_SEPARATOR + field),
            "_dlt_parent_id",
            types,
            f"_dlt_parent_id IN (SELECT {client.escape_column_name(DLT_ID)} FROM {qualified} "
            f"WHERE {current})",
            frozenset(),
            order="_dlt_parent_id, _dlt_list_idx",
        )
        for parent_id, item in items:
            if parent_id in forms:
                forms[parent_id].setdefault(field, []).append(item)
    return {row_id: version_of(form) for row_id, form in forms.items()}


def _forms(
    client: SqlClientBase[Any],
    qualified: str,
    id_column: str,
    types: dict[str, str],
    where: str,
    whole: frozenset[str],
    order: str | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, stored form) of each row of `qualified` matching `where` (see `stored_form`)."""
    data = [c for c in types if not c.startswith(DLT_PREFIX) and c != ROW_VERSION]
    json_columns = {c for c in data if types[c] in JSON_TYPES or c in whole}
    escape = client.escape_column_name
    listed = ", ".join([escape(id_column), *map(escape, data)])
    query = f"SELECT {listed} FROM {qualified} WHERE {where}"
    if order:
        query += f" ORDER BY {order}"
    for row_id, *values in client.execute_sql(query):
        yield row_id, _form(data, values, json_columns)


def _form(names: Sequence[str], values: Sequence[Any], json_columns: set[str]) -> dict[str, Any]:
    form = {}
    for name, value in zip(names, values, strict=True):
        if value is None or value == "":
            continue
        if name in json_columns and isinstance(value, str):
            value = json.loads(value)  # DuckDB gives JSON back as its text
        elif isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC)  # in the session's time zone otherwise
        form[name] = value
    return form


def sql_literal(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
