"""Asset checks generated from the catalog: every table is asked the same questions, in the
destination, through dlt's SQL client (so DuckDB and PostgreSQL alike).

- `key_is_unique`, `key_is_not_null`: among current rows (`LoadMode.current_filter`), no two
  share the row identity (`Endpoint.row_identity`) and none lacks it.
- `has_current_rows`: the server's table is not empty. A warning for tables a server may
  legitimately leave empty (`Endpoint.may_be_empty`), an error otherwise.
- `schema_unchanged`: the destination's columns, in dlt's types, against dlt's own schema (a
  table changed behind dlt's back) and against the previous evaluation of this check (an API
  that dropped a field, or sent a new type: dlt then adds a variant column `<name>__v_<type>`).
  Added columns pass and are listed.

Checks run in the API's writer pool, after the load when both are in one run, and open DuckDB
read-only: a destination that cannot be read fails the checks with the reason, never the code
location.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DagsterEventType,
    MetadataValue,
    multi_asset_check,
)

from assets._catalog import Endpoint, FanOut
from assets._http import progress_log
from assets.destinations import exclusive_load, make_pipeline
from assets.dlt_assets import writer_pool
from assets.registry import SourceInfo
from assets.translator import table_key

KEY_IS_UNIQUE = "key_is_unique"
KEY_IS_NOT_NULL = "key_is_not_null"
HAS_CURRENT_ROWS = "has_current_rows"
SCHEMA_UNCHANGED = "schema_unchanged"
COLUMNS_METADATA = "columns"
DUPLICATE_SAMPLE = 5
VARIANT_COLUMN = re.compile(r"^(?P<column>.+)__v_(?P<type>\w+)$")


def current_rows_in_words(endpoint: Endpoint) -> str:
    """Which rows a check looks at, as an admin would say it (`LoadMode.current_filter`)."""
    if isinstance(endpoint.load, FanOut):
        return "current rows (the newest version of each item not deleted on the server)"
    if endpoint.load.keeps_versions:
        return "current rows (the newest version of each item still on the server)"
    return "rows"


def check_specs(info: SourceInfo, endpoint: Endpoint) -> list[AssetCheckSpec]:
    asset = table_key(info, endpoint.table)
    current = current_rows_in_words(endpoint)
    specs = []
    if endpoint.row_identity:
        identity = ", ".join(endpoint.row_identity)
        specs += [
            AssetCheckSpec(
                KEY_IS_UNIQUE, asset=asset, description=f"No two {current} share ({identity})."
            ),
            AssetCheckSpec(
                KEY_IS_NOT_NULL, asset=asset, description=f"No {current} lack {identity}."
            ),
        ]
    if endpoint.empty_unless:
        empty = f"Without {endpoint.empty_unless} it has none, and that passes."
    elif endpoint.may_be_empty:
        empty = "None is a warning: a server may have none."
    else:
        empty = "None is an error."
    specs += [
        AssetCheckSpec(
            HAS_CURRENT_ROWS,
            asset=asset,
            description=f"The table exists and has {current}. {empty}",
        ),
        AssetCheckSpec(
            SCHEMA_UNCHANGED,
            asset=asset,
            description=(
                "The table's columns and types match dlt's schema and the previous check; "
                "a removed or retyped column warns, added columns are listed."
            ),
        ),
    ]
    return specs


@dataclass
class TableState:
    """What the destination holds for one table (a table never loaded does not exist)."""

    exists: bool
    columns: dict[str, str] = field(default_factory=dict)  # name -> dlt data type
    schema_columns: dict[str, str] = field(default_factory=dict)  # what dlt's schema expects
    current_rows: int = 0
    null_keys: int = 0
    duplicated_keys: int = 0
    duplicate_sample: list[str] = field(default_factory=list)


def read_table_states(info: SourceInfo, endpoints: list[Endpoint]) -> dict[str, TableState]:
    """One connection for all tables; raises when the destination cannot be opened."""
    states = {}
    # the load's file lock: a load of another instance or process must not be writing
    with (
        exclusive_load(info, progress_log),
        make_pipeline(info, read_only=True).destination_client() as client,
    ):
        stored = client.get_stored_schema()
        schema_tables = json.loads(stored.schema)["tables"] if stored else {}
        for endpoint in endpoints:
            exists, columns = client.get_storage_table(endpoint.table)
            state = TableState(
                exists=exists,
                columns=_data_types(columns),
                schema_columns=_data_types(
                    schema_tables.get(endpoint.table, {}).get("columns", {})
                ),
            )
            if exists:
                _count_rows(client.sql_client, endpoint, state)
            states[endpoint.table] = state
    return states


def _data_types(columns: dict[str, dict[str, Any]]) -> dict[str, str]:
    # columns dlt has seen only as nulls have no type and no column in the destination yet
    return {name: c["data_type"] for name, c in columns.items() if c.get("data_type")}


def _count_rows(sql: Any, endpoint: Endpoint, state: TableState) -> None:
    table = sql.make_qualified_table_name(endpoint.table)
    current = endpoint.load.current_filter
    identity = [sql.escape_column_name(c) for c in endpoint.row_identity]
    any_null = " OR ".join(f"{c} IS NULL" for c in identity) or "FALSE"
    ((rows, nulls),) = sql.execute_sql(
        f"SELECT count(*), sum(CASE WHEN {any_null} THEN 1 ELSE 0 END) FROM {table} WHERE {current}"
    )
    state.current_rows, state.null_keys = int(rows), int(nulls or 0)
    if not identity:
        return
    key_list = ", ".join(identity)
    none_null = " AND ".join(f"{c} IS NOT NULL" for c in identity)
    duplicated = (
        f"SELECT {key_list}, count(*) AS n FROM {table} WHERE {current} AND {none_null} "
        f"GROUP BY {key_list} HAVING count(*) > 1"
    )
    ((state.duplicated_keys,),) = sql.execute_sql(f"SELECT count(*) FROM ({duplicated}) d")
    sample = sql.execute_sql(f"{duplicated} ORDER BY n DESC LIMIT {DUPLICATE_SAMPLE}")
    state.duplicate_sample = [f"{', '.join(map(str, row[:-1]))} ({row[-1]} rows)" for row in sample]


@dataclass(frozen=True)
class ColumnChanges:
    added: dict[str, str]
    removed: dict[str, str]
    retyped: dict[str, str]  # column -> "old -> new"

    @property
    def breaking(self) -> bool:
        return bool(self.removed or self.retyped)

    def describe(self) -> str:
        parts = [
            f"{label}: " + ", ".join(f"{name} ({what})" for name, what in sorted(changes.items()))
            for label, changes in (
                ("removed", self.removed),
                ("retyped", self.retyped),
                ("added", self.added),
            )
            if changes
        ]
        return "; ".join(parts) or "no change"


def column_changes(before: dict[str, str], after: dict[str, str]) -> ColumnChanges:
    """What changed between two {column: dlt data type} maps. A new variant column
    `<name>__v_<type>` means `<name>` arrived with another type: dlt's way to keep both."""
    added = {name: kind for name, kind in after.items() if name not in before}
    retyped = {
        name: f"{before[name]} -> {after[name]}"
        for name in before.keys() & after.keys()
        if before[name] != after[name]
    }
    for name in list(added):
        variant = VARIANT_COLUMN.match(name)
        if variant and variant["column"] in after:
            retyped[variant["column"]] = f"{after[variant['column']]} -> also {variant['type']}"
            added.pop(name)
    removed = {name: kind for name, kind in before.items() if name not in after}
    return ColumnChanges(added, removed, retyped)


def previous_columns(context: AssetCheckExecutionContext, key: AssetCheckKey) -> dict | None:
    """The columns the last completed evaluation of `key` recorded (None: never evaluated).
    A completed evaluation is one with an evaluation event: a planned, running or crashed one
    (this very run's, for a start) has only its planned event."""
    storage = context.instance.event_log_storage
    cursor = None
    while history := storage.get_asset_check_execution_history(key, limit=20, cursor=cursor):
        for record in history:
            event = record.event
            if event and event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                recorded = event.dagster_event.event_specific_data.metadata.get(COLUMNS_METADATA)
                return recorded.value if recorded is not None else None
        cursor = history[-1].id
    return None


def table_results(
    context: AssetCheckExecutionContext,
    info: SourceInfo,
    endpoint: Endpoint,
    state: TableState,
    selected: set[AssetCheckKey],
) -> Iterator[AssetCheckResult]:
    asset = table_key(info, endpoint.table)
    identity = ", ".join(endpoint.row_identity)
    absent = "the table was never loaded" if not state.exists else None
    wanted = {key.name for key in selected if key.asset_key == asset}
    if KEY_IS_UNIQUE in wanted:
        yield AssetCheckResult(
            asset_key=asset,
            check_name=KEY_IS_UNIQUE,
            passed=state.duplicated_keys == 0,
            description=absent
            or (
                f"{state.duplicated_keys} values of ({identity}) are on more than one current row"
                if state.duplicated_keys
                else f"every current row has its own ({identity})"
            ),
            metadata={
                "duplicated_keys": state.duplicated_keys,
                "sample": MetadataValue.json(state.duplicate_sample),
            },
        )
    if KEY_IS_NOT_NULL in wanted:
        yield AssetCheckResult(
            asset_key=asset,
            check_name=KEY_IS_NOT_NULL,
            passed=state.null_keys == 0,
            description=absent or f"{state.null_keys or 'no'} current rows lack {identity}",
            metadata={"rows_without_key": state.null_keys},
        )
    if HAS_CURRENT_ROWS in wanted:
        yield has_rows_result(asset, endpoint, state, absent)
    if SCHEMA_UNCHANGED in wanted and not state.exists:
        # dlt's schema may list the columns of a table it never created (no rows yet): no
        # column was removed, there is nothing to compare yet
        yield AssetCheckResult(
            asset_key=asset,
            check_name=SCHEMA_UNCHANGED,
            passed=True,
            description="not loaded yet: the table has no rows and was never created",
        )
    elif SCHEMA_UNCHANGED in wanted:
        yield schema_result(context, AssetCheckKey(asset, SCHEMA_UNCHANGED), state)


def has_rows_result(
    asset: AssetKey, endpoint: Endpoint, state: TableState, absent: str | None
) -> AssetCheckResult:
    """Rows or not; a table that cannot have rows with this install's settings passes."""
    rows = state.current_rows
    expected_empty = not rows and endpoint.empty_by_design
    if expected_empty:
        description = f"No rows, as expected: {endpoint.empty_unless} is not set on this install."
    else:
        description = absent or f"{rows:,} {current_rows_in_words(endpoint)}"
    return AssetCheckResult(
        asset_key=asset,
        check_name=HAS_CURRENT_ROWS,
        passed=rows > 0 or bool(expected_empty),
        severity=AssetCheckSeverity.WARN if endpoint.may_be_empty else AssetCheckSeverity.ERROR,
        description=description,
        metadata={"current_rows": rows},
    )


def schema_result(
    context: AssetCheckExecutionContext, key: AssetCheckKey, state: TableState
) -> AssetCheckResult:
    previous = previous_columns(context, key)
    behind_dlt = column_changes(state.schema_columns, state.columns)
    since_last = column_changes(previous, state.columns) if previous is not None else None
    findings = [
        f"against dlt's schema: {behind_dlt.describe()}",
        f"since the last check: {since_last.describe()}" if since_last else "first check",
    ]
    return AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=not behind_dlt.breaking and not (since_last and since_last.breaking),
        severity=AssetCheckSeverity.WARN,
        description="; ".join(findings),
        metadata={COLUMNS_METADATA: MetadataValue.json(state.columns)},
    )


def unreadable_results(
    selected: set[AssetCheckKey], info: SourceInfo, error: Exception
) -> Iterator[AssetCheckResult]:
    reason = (
        f"The {info.server_title} destination could not be read: {type(error).__name__}: {error}"
    )
    for key in sorted(selected, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        yield AssetCheckResult(
            asset_key=key.asset_key, check_name=key.name, passed=False, description=reason
        )


def build_table_checks(info: SourceInfo) -> AssetChecksDefinition:
    specs = [spec for endpoint in info.endpoints for spec in check_specs(info, endpoint)]

    @multi_asset_check(
        name=f"{info.slug}_table_checks",
        specs=specs,
        can_subset=True,
        pool=writer_pool(info),
        description=f"Keys, row counts and schema of every {info.server_title} table.",
    )
    def table_checks(context: AssetCheckExecutionContext) -> Iterator[AssetCheckResult]:
        selected = set(context.selected_asset_check_keys)
        checked_assets = {key.asset_key for key in selected}
        endpoints = [e for e in info.endpoints if table_key(info, e.table) in checked_assets]
        try:
            states = read_table_states(info, endpoints)
        except Exception as error:  # missing file, unreachable server: say so in every check
            yield from unreadable_results(selected, info, error)
            return
        for endpoint in endpoints:
            yield from table_results(context, info, endpoint, states[endpoint.table], selected)

    return table_checks
