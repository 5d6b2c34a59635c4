"""Acceptance on PostgreSQL: each API materialised through Dagster with `LOAD_DESTINATION=postgres`
and `DESTINATION__POSTGRES__CREDENTIALS`, into a real server, with the DuckDB tests' checks:
the server's rows, a rerun adds none, and the next run after a change adds exactly the change
(its incremental state coming back from PostgreSQL: dagster-dlt drops the local pipeline dir
before every run)."""

from __future__ import annotations

import psycopg2
import pytest

from assets.destinations import current_row_counts
from assets.registry import SourceInfo
from tests.helpers import materialize_api, materialized_tables

pytestmark = pytest.mark.postgres


def total_rows(dsn: str, info: SourceInfo) -> dict[str, int]:
    """Every row of every table, history included, read with psycopg2 (not through dlt)."""
    with psycopg2.connect(dsn) as con, con.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (info.dataset_name,),
        )
        tables = sorted(row[0] for row in cur.fetchall() if not row[0].startswith("_dlt"))
        counts = {}
        for table in tables:
            cur.execute(f'SELECT count(*) FROM "{info.dataset_name}"."{table}"')
            counts[table] = cur.fetchone()[0]
    con.close()
    return counts


def assert_matches_server(info: SourceInfo, expected: dict[str, int]) -> None:
    loaded = current_row_counts(info)
    assert {t: loaded[t] for t in expected} == expected


def test_first_run_loads_every_table_a_rerun_adds_nothing_and_the_next_adds_the_change(
    api, load_into_postgres
):
    """Three runs of one API (each step's assertions on the state the one before left): the
    server's rows, none added by an unchanged rerun, exactly the change by the next run."""
    scenario, sim = api

    result = materialize_api(scenario.info)

    assert result.success
    assert materialized_tables(result) == set(scenario.info.catalog)
    assert_matches_server(scenario.info, scenario.expected_counts(sim))
    # in PostgreSQL, in the API's dataset (schema), for any client to read
    assert set(scenario.info.catalog) - {"oauth_credentials"} <= set(
        total_rows(load_into_postgres, scenario.info)
    )

    # an unchanged rerun
    before = total_rows(load_into_postgres, scenario.info)

    assert materialize_api(scenario.info).success

    assert total_rows(load_into_postgres, scenario.info) == before

    # the next run after a change on the server
    added = scenario.change(sim)
    assert materialize_api(scenario.info).success

    after = total_rows(load_into_postgres, scenario.info)
    assert {t: after[t] - before[t] for t in added} == added
    assert_matches_server(scenario.info, scenario.expected_counts(sim))


def test_the_pipeline_state_lives_in_postgres(posit_sim, load_into_postgres):
    """A new machine (no local dlt dir) picks up where the last run stopped: the rerun asks
    for no content item again, because the state came back from the destination."""
    from assets.registry import POSIT_CONNECT

    assert materialize_api(POSIT_CONNECT).success
    posit_sim.reset_counters()

    assert materialize_api(POSIT_CONNECT).success

    requests = posit_sim.stats()["requests"]
    assert requests.get("GET /__api__/v1/content/{guid}", 0) == 0
    with psycopg2.connect(load_into_postgres) as con, con.cursor() as cur:
        cur.execute(f'SELECT pipeline_name FROM "{POSIT_CONNECT.dataset_name}"._dlt_pipeline_state')
        assert {row[0] for row in cur.fetchall()} == {POSIT_CONNECT.pipeline_name}
    con.close()
