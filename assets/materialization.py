"""What a table's materialisation shows in the Dagster UI: what an admin reads, not dlt's
bookkeeping.

dagster-dlt reports dlt's load info for every table (its load-file records with local paths,
the destination's Python type, run timestamps) and keeps the source, pipeline and translator
objects in each asset spec. Here that becomes: the current row count (Dagster's standard
`dagster/row_count`, which the catalog shows), rows loaded, requests made, the run's duration,
what changed for history tables, the destination table and its columns (business columns
first, dlt's last, with descriptions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dagster import (
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
)
from dagster_dlt.constants import META_KEY_PIPELINE, META_KEY_SOURCE, META_KEY_TRANSLATOR

from assets._catalog import DELETED_COLUMN, Endpoint, FanOut
from assets.dlt_columns import DLT_COLUMN_DESCRIPTIONS

ROW_COUNT = "dagster/row_count"
COLUMN_SCHEMA = "dagster/column_schema"
TABLE_NAME = "dagster/table_name"
ROWS_LOADED = "rows_loaded"
DLT_PREFIX = "_dlt_"
# dagster-dlt's objects in each spec: unserializable, shown as noise in the UI
SPEC_OBJECTS = (META_KEY_SOURCE, META_KEY_PIPELINE, META_KEY_TRANSLATOR)


def without_dlt_objects(spec: AssetSpec) -> AssetSpec:
    """The spec without dagster-dlt's source, pipeline and translator objects (the run passes
    them to the resource itself)."""
    metadata = {k: v for k, v in spec.metadata.items() if k not in SPEC_OBJECTS}
    return spec.replace_attributes(metadata=metadata)


@dataclass
class TableChanges:
    """Items of a history table that this run added, changed (a new version) or deleted."""

    new: int = 0
    changed: int = 0
    deleted: int = 0

    def as_metadata(self) -> dict[str, Any]:
        return {"new_items": self.new, "changed_items": self.changed, "deleted_items": self.deleted}


def history_changes(sql: Any, endpoint: Endpoint, since: datetime) -> TableChanges | None:
    """New, changed and deleted items of a table that keeps versions (scd2: snapshot and
    fan-out tables), counted by the table's key from the versions this run opened and
    closed; None for other tables. `sql` is dlt's SQL client of the destination."""
    if not endpoint.load.keeps_versions or not endpoint.key:
        return None
    table = sql.make_qualified_table_name(endpoint.table)
    key = ", ".join(sql.escape_column_name(column) for column in endpoint.key)
    boundary = f"TIMESTAMP WITH TIME ZONE '{since.isoformat()}'"
    current = endpoint.load.current_filter
    closed = f"SELECT DISTINCT {key} FROM {table} WHERE _dlt_valid_to >= {boundary}"
    opened = f"SELECT DISTINCT {key} FROM {table} WHERE _dlt_valid_from >= {boundary} AND {current}"
    live = f"SELECT DISTINCT {key} FROM {table} WHERE {current}"
    if isinstance(endpoint.load, FanOut):  # a deletion is a tombstone version opened by this run
        gone = (
            f"SELECT DISTINCT {key} FROM {table} WHERE _dlt_valid_from >= {boundary} "
            f"AND _dlt_valid_to IS NULL AND {DELETED_COLUMN} IS NOT NULL"
        )
    else:  # a snapshot row gone from the server: closed, not reopened
        gone = f"{closed} EXCEPT {live}"
    ((new, changed, deleted),) = sql.execute_sql(
        f"SELECT (SELECT count(*) FROM ({opened} EXCEPT {closed}) n),"
        f" (SELECT count(*) FROM ({opened} INTERSECT {closed}) c),"
        f" (SELECT count(*) FROM ({gone}) d)"
    )
    return TableChanges(int(new), int(changed), int(deleted))


def column_schema(schema: TableSchema, descriptions: Mapping[str, str]) -> TableSchema:
    """Business columns first, dlt's bookkeeping last; dlt's internal hints (x-...) are not
    shown as constraints; each column with its description."""
    ordered = sorted(schema.columns, key=lambda column: column.name.startswith(DLT_PREFIX))
    return TableSchema(
        columns=[
            TableColumn(
                name=column.name,
                type=column.type,
                description=(
                    descriptions.get(column.name)
                    or DLT_COLUMN_DESCRIPTIONS.get(column.name)
                    or column.description
                ),
                constraints=TableColumnConstraints(
                    nullable=column.constraints.nullable,
                    unique=column.constraints.unique,
                    other=[c for c in column.constraints.other if not c.startswith("x-")],
                ),
                tags=column.tags,
            )
            for column in ordered
        ]
    )


def admin_metadata(
    result: MaterializeResult,
    current_rows: int,
    requests: int | None,
    load_seconds: float,
    changes: TableChanges | None,
    descriptions: Mapping[str, Mapping[str, str]],
    note: str | None = None,
) -> dict[str, Any]:
    """The materialisation's metadata as the UI shows it (see the module docstring).
    `descriptions` maps table -> column -> description, for the table and its child tables."""
    table = result.asset_key.path[-1] if result.asset_key else ""
    dlt_metadata = dict(result.metadata or {})
    rows_loaded = dlt_metadata.get(ROWS_LOADED)
    metadata: dict[str, Any] = {
        ROWS_LOADED: MetadataValue.int(int(getattr(rows_loaded, "value", rows_loaded) or 0)),
        "load_seconds": MetadataValue.float(round(load_seconds, 2)),
    }
    metadata[ROW_COUNT] = MetadataValue.int(current_rows)
    if requests is not None:
        metadata["requests"] = MetadataValue.int(requests)
    if changes is not None:
        metadata.update(changes.as_metadata())
    if note:
        metadata["note"] = MetadataValue.text(note)
    if dlt_metadata.get(TABLE_NAME) is not None:
        metadata[TABLE_NAME] = dlt_metadata[TABLE_NAME]
    for name, value in dlt_metadata.items():
        schema = getattr(value, "schema", value)
        if isinstance(schema, TableSchema):  # the table's own and its child tables' columns
            child = name if name != COLUMN_SCHEMA else table
            metadata[name] = MetadataValue.table_schema(
                column_schema(schema, descriptions.get(child, {}))
            )
    return metadata


def summaries_by_table(records: Iterable[tuple[str, int, int, float]]) -> dict[str, int]:
    """Requests per table from the sources' progress summaries (a table may have several)."""
    requests: dict[str, int] = {}
    for table, _rows, pages, _seconds in records:
        requests[table] = requests.get(table, 0) + pages
    return requests
