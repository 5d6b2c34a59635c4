"""Building and reading the insight tables in the destination.

Each insight is one SQL file beside this module, a SELECT over the `<api>_all` views (every
server of the API, with a `server` column), written as a table of the dataset
`<api>_insights` in the same database as the API's tables (for DuckDB, the same file). The
SQL is the same on DuckDB and PostgreSQL: standard SQL both run alike (date_trunc, EXTRACT
EPOCH, percentile_cont ... WITHIN GROUP), timestamps compared as timestamptz and cut into days
and months in UTC.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any

from dlt.destinations.sql_client import SqlClientBase

from assets.all_servers import all_servers_dataset
from assets.destinations import (
    destination_name,
    duckdb_path,
    exclusive_load,
    make_pipeline,
    published_after_load,
)
from assets.insights.catalog import Insight
from assets.insights.pseudonyms import pseudonym
from assets.registry import SourceInfo


@dataclass(frozen=True)
class InsightTable:
    """An insight table as read back, in the insight's order."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def insights_dataset(api: str) -> str:
    return f"{api}_insights"


def insights_target(info: SourceInfo) -> SourceInfo:
    """The API as a pipeline that writes its insights dataset, in the API's own database."""
    return replace(
        info,
        pipeline_name=f"{info.name}_insights_pipeline",
        dataset_name=insights_dataset(info.name),
    )


# Not an insight: the current content with its owners, which the content insights share.
CURRENT_CONTENT = Path(__file__).with_name("current_content.sql")


def render_sql(insight: Insight, data: str, as_of: datetime, stale_days: int) -> str:
    """The insight's SELECT with its parameters filled in (none of them a secret)."""
    moment = as_of.astimezone(UTC).isoformat(sep=" ")
    return Template(insight.sql_file.read_text()).substitute(
        data=data,
        as_of=f"CAST('{moment}' AS TIMESTAMP WITH TIME ZONE)",
        stale_days=int(stale_days),
        current_content=Template(CURRENT_CONTENT.read_text()).substitute(data=data),
    )


def build_insights(
    info: SourceInfo,
    insights: Sequence[Insight],
    as_of: datetime,
    stale_days: int,
    key: bytes | None,
    log: logging.Logger,
) -> dict[str, InsightTable]:
    """Write `insights` of the API `info` (every server of it) as of `as_of`, holding the
    API's load lock like a load (and publishing the DuckDB file after, as a load does); with
    `key`, user names and e-mail addresses become pseudonyms. Returns the tables as written."""
    tables = {}
    with exclusive_load(info, log), published_after_load(info, log):
        pipeline = make_pipeline(insights_target(info))
        with pipeline.sql_client() as client:
            if not client.has_dataset():
                client.create_dataset()
            data = client.capabilities.escape_identifier(all_servers_dataset(info))
            for insight in insights:
                select = render_sql(insight, data, as_of, stale_days)
                write_table(client, insight, select, key)
                tables[insight.name] = read_table(client, insight)
    return tables


def write_table(
    client: SqlClientBase[Any], insight: Insight, select: str, key: bytes | None
) -> None:
    """Replace the insight's table in one transaction: readers see the old one or the new one,
    and never the names a pseudonymised table replaces."""
    table = client.make_qualified_table_name(insight.name)
    with client.begin_transaction():
        client.execute_sql(f"DROP TABLE IF EXISTS {table}")
        client.execute_sql(f"CREATE TABLE {table} AS {select}")
        if key is not None:
            for column in insight.personal:
                name = client.capabilities.escape_identifier(column)
                values = client.execute_sql(
                    f"SELECT DISTINCT {name} FROM {table} WHERE {name} IS NOT NULL"
                )
                for (value,) in values or ():
                    client.execute_sql(
                        f"UPDATE {table} SET {name} = %s WHERE {name} = %s",
                        pseudonym(key, str(value)),
                        value,
                    )


def read_table(client: SqlClientBase[Any], insight: Insight) -> InsightTable:
    table = client.make_qualified_table_name(insight.name)
    with client.execute_query(f"SELECT * FROM {table} ORDER BY {insight.order_by}") as cursor:
        columns = [column[0] for column in cursor.native_cursor.description]
        return InsightTable(columns, [tuple(row) for row in cursor.fetchall()])


def read_published(
    info: SourceInfo, insights: Sequence[Insight]
) -> Mapping[str, InsightTable | None]:
    """The insight tables people read (None: not built yet), without holding up a load."""
    if destination_name() == "duckdb" and not duckdb_path(info).exists():
        return dict.fromkeys((insight.name for insight in insights), None)
    pipeline = make_pipeline(insights_target(info), read_only=True)
    found: dict[str, InsightTable | None] = {}
    with pipeline.sql_client() as client:
        for insight in insights:
            try:
                found[insight.name] = read_table(client, insight)
            except Exception:  # the table does not exist (yet)
                found[insight.name] = None
    return found
