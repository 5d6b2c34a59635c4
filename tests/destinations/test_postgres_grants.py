"""docs/access.md's PostgreSQL grants, run as written on a real server: a loader with exactly
those grants loads and reloads each API, and a reader with exactly theirs can SELECT every
table and write nothing."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg2
import pytest
from psycopg2 import errors, sql

from assets.destinations import REPO_ROOT
from assets.insights.catalog import INSIGHTS
from tests.helpers import materialize_api, materialized_tables
from tests.insights.expected import materialize_insights
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.postgres

ACCESS_DOC = REPO_ROOT / "docs" / "access.md"
# The names the documented SQL uses, made unique per test: roles belong to the whole server.
DOC_NAMES = ("analytics", "loader", "analysts", "alice")


def documented_sql(block: str) -> str:
    """The ```sql block of docs/access.md whose first line is `-- <block>: ...`."""
    blocks = re.findall(r"```sql\n(.*?)```", ACCESS_DOC.read_text(), flags=re.DOTALL)
    (found,) = [b for b in blocks if b.startswith(f"-- {block}:")]
    return found


@dataclass
class Warehouse:
    server: PostgresServer
    names: dict[str, str]
    password: str

    def dsn(self, role: str) -> str:
        name, database = self.names[role], self.names["analytics"]
        return (
            f"postgresql://{name}:{self.password}@{self.server.host}:{self.server.port}/{database}"
        )

    def run_as_admin(self, statements: str) -> None:
        for doc_name, name in self.names.items():
            statements = re.sub(rf"\b{doc_name}\b", name, statements)
        statements = statements.replace("'change-me'", f"'{self.password}'")
        con = psycopg2.connect(self.server.dsn(self.names["analytics"], admin=True))
        con.autocommit = True
        try:
            with con.cursor() as cur:
                cur.execute(statements)
        finally:
            con.close()


@pytest.fixture
def warehouse(postgres_server: PostgresServer) -> Iterator[Warehouse]:
    """A database owned by the administrator (not by the loader), and no roles yet."""
    suffix = f"{os.getpid()}_{secrets.token_hex(3)}"
    names = {doc_name: f"{doc_name}_{suffix}" for doc_name in DOC_NAMES}
    with postgres_server.admin_connection() as con, con.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(names["analytics"])))
    try:
        yield Warehouse(postgres_server, names, secrets.token_urlsafe(12))
    finally:
        postgres_server.drop_database(names["analytics"])
        with postgres_server.admin_connection() as con, con.cursor() as cur:
            for role in ("alice", "analysts", "loader"):
                cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(names[role])))


def dataset_tables(cur, dataset: str) -> list[str]:
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (dataset,)
    )
    return sorted(row[0] for row in cur.fetchall())


def refused(cur, statement: str) -> bool:
    """Whether PostgreSQL refuses `statement` for lack of a privilege."""
    cur.execute("SAVEPOINT attempt")
    try:
        cur.execute(statement)
    except errors.InsufficientPrivilege:
        cur.execute("ROLLBACK TO SAVEPOINT attempt")
        return True
    cur.execute("ROLLBACK TO SAVEPOINT attempt")
    return False


def test_the_documented_grants_let_the_loader_load_and_readers_only_read(
    api, warehouse, monkeypatch
):
    scenario, sim = api
    warehouse.run_as_admin(documented_sql("loader"))
    warehouse.run_as_admin(documented_sql("readers"))
    monkeypatch.setenv("LOAD_DESTINATION", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", warehouse.dsn("loader"))

    first = materialize_api(scenario.info)
    scenario.change(sim)
    again = materialize_api(scenario.info)  # merges the change in, through the staging schema

    insights = materialize_insights(scenario.info.name)  # the loader writes them too

    assert first.success and again.success and insights.success
    assert materialized_tables(first) == set(scenario.info.catalog)
    dataset = scenario.info.dataset_name
    with psycopg2.connect(warehouse.dsn("alice")) as con, con.cursor() as cur:
        tables = dataset_tables(cur, dataset)
        assert set(scenario.info.catalog) - {"oauth_credentials"} <= set(tables)
        for table in tables:  # the loader's tables, child and _dlt_ tables included
            cur.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(*map(sql.Identifier, (dataset, table)))
            )
        main = f'{dataset}."{next(iter(scenario.info.catalog))}"'  # content, services
        cur.execute(f"SELECT count(*) FROM {main}")
        rows = cur.fetchone()[0]
        assert rows > 0
        # the cross-server views too (one server here: the same rows, with its name)
        first_table = next(iter(scenario.info.catalog))
        cur.execute(f'SELECT count(*), min(server) FROM {scenario.info.name}_all."{first_table}"')
        assert cur.fetchone() == (rows, "default")
        # and the insights, one table per insight
        insight = INSIGHTS[scenario.info.name][0].name
        cur.execute(f"SELECT count(*) FROM {scenario.info.name}_insights.{insight}")
        assert cur.fetchone()[0] > 0
        assert refused(cur, f"DELETE FROM {scenario.info.name}_insights.{insight}")
        writes = [
            f"INSERT INTO {main} DEFAULT VALUES",
            f"UPDATE {main} SET _dlt_id = _dlt_id",
            f"DELETE FROM {main}",
            f"TRUNCATE {main}",
            f"DROP TABLE {main}",
            f"CREATE TABLE {dataset}.mine (x int)",
            f"CREATE TABLE {dataset}_staging.mine (x int)",
            f"SELECT count(*) FROM {dataset}_staging._dlt_version",
            "CREATE SCHEMA mine",
        ]
        assert [w for w in writes if not refused(cur, w)] == []
    con.close()
