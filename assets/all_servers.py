"""Cross-server queries: the dataset `<api>_all` (`posit_connect_all`, `oscar_all`) holds one
view per table that unions the table over every configured server of the API, with a
`server` column naming the server. A column some servers lack is NULL for them; a column
whose type differs between servers is text. Views are plain SQL over the servers' datasets,
so they cost nothing to keep and always show the latest load; they are rebuilt after every
load of a server, in step with the servers' schemas (dlt adds columns as servers send them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dlt.pipeline.pipeline import Pipeline

from assets.registry import SourceInfo
from assets.row_versions import sql_literal

SERVER_COLUMN = "server"
# The destination's SQL name for text, used where servers disagree on a column's type.
TEXT = "varchar"


def all_servers_dataset(info: SourceInfo) -> str:
    return f"{info.name}_all"


def refresh_all_servers_views(pipeline: Pipeline, servers: Sequence[SourceInfo]) -> list[str]:
    """(Re)create the views of `<api>_all` over `servers` (all of one API, loaded into the
    database `pipeline` writes to); returns the tables that have a view."""
    with pipeline.sql_client() as client:
        escape = client.capabilities.escape_identifier
        # {table: {server: {column: type}}}, in the servers' column order
        tables: dict[str, dict[str, dict[str, str]]] = {}
        for server in servers:
            rows = client.execute_sql(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                f"WHERE table_schema = {sql_literal(server.dataset_name)} "
                "ORDER BY table_name, ordinal_position"
            )
            for table, column, data_type in rows:
                if not table.startswith("_dlt"):
                    columns = tables.setdefault(table, {}).setdefault(server.server, {})
                    columns[column] = data_type
        dataset = all_servers_dataset(servers[0])
        with client.with_alternative_dataset_name(dataset):
            if tables and not client.has_dataset():
                client.create_dataset()
            for table, by_server in sorted(tables.items()):
                view = client.make_qualified_table_name(table)
                select = _union(table, by_server, servers, escape)
                try:
                    client.execute_sql(f"CREATE OR REPLACE VIEW {view} AS {select}")
                except Exception:  # PostgreSQL replaces a view only if its columns stay
                    client.execute_sql(f"DROP VIEW IF EXISTS {view}")
                    client.execute_sql(f"CREATE VIEW {view} AS {select}")
        return sorted(tables)


def _union(
    table: str,
    by_server: dict[str, dict[str, str]],
    servers: Sequence[SourceInfo],
    escape: Callable[[str], str],
) -> str:
    types: dict[str, set[str]] = {}
    for columns in by_server.values():
        for column, data_type in columns.items():
            types.setdefault(column, set()).add(data_type.lower())
    selects = []
    for server in servers:
        columns = by_server.get(server.server)
        if columns is None:  # not loaded from this server (yet)
            continue
        values = [f"{sql_literal(server.server)} AS {escape(SERVER_COLUMN)}"]
        for column, kinds in types.items():
            name = escape(column)
            kind = next(iter(kinds)) if len(kinds) == 1 else TEXT
            if column not in columns:
                values.append(f"CAST(NULL AS {kind}) AS {name}")
            elif len(kinds) > 1:
                values.append(f"CAST({name} AS {TEXT}) AS {name}")
            else:
                values.append(name)
        source = f"{escape(server.dataset_name)}.{escape(table)}"
        selects.append(f"SELECT {', '.join(values)} FROM {source}")
    return " UNION ALL ".join(selects)
