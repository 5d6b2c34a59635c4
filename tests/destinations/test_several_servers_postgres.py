"""Several servers into one PostgreSQL database: each server's schema, the `<api>_all`
views over them and the insights over every server (the DuckDB case is
tests/test_several_servers.py)."""

from __future__ import annotations

import pytest

from assets.destinations import current_row_counts
from assets.registry import OSCAR, POSIT_CONNECT
from tests.test_several_servers import (  # noqa: F401 - `estate` is a fixture
    assert_all_views_union_every_server,
    assert_insights_cover_every_server,
    estate,
    materialize_everything,
)

pytestmark = pytest.mark.postgres


def test_two_servers_of_each_api_load_side_by_side_with_views_over_both(
    estate,  # noqa: F811
    load_into_postgres,
):
    assert materialize_everything().success
    assert_all_views_union_every_server()
    assert_insights_cover_every_server(estate)

    servers = [server for api in (POSIT_CONNECT, OSCAR) for server in api.configured_servers()]
    before = {server.label: current_row_counts(server) for server in servers}
    assert before["posit_connect/prod"]["content"] == 6

    assert materialize_everything(tables_only=True).success  # adds nothing; views rebuilt
    assert {server.label: current_row_counts(server) for server in servers} == before
    assert_all_views_union_every_server()
