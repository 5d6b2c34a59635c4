"""The insights on PostgreSQL: the same SQL gives the numbers Python computes from the
simulators' data, as on DuckDB (tests/insights/test_insights.py; several servers:
tests/destinations/test_several_servers_postgres.py)."""

from __future__ import annotations

import secrets

import pytest

from assets.insights.pseudonyms import KEY_SETTING, PSEUDONYMS_SETTING, pseudonym
from assets.registry import OSCAR, POSIT_CONNECT
from tests.helpers import materialize_api
from tests.insights.expected import (
    check_oscar,
    check_posit_connect,
    insight_tables,
    materialize_insights,
)
from tools.report import write_report

pytestmark = pytest.mark.postgres


def test_insights_match_the_simulators_data_on_postgres(posit_sim, oscar_sim, load_into_postgres):
    for info in (POSIT_CONNECT, OSCAR):
        assert materialize_api(info).success
        assert materialize_insights(info.name).success

    check_posit_connect(posit_sim, insight_tables("posit_connect"))
    check_oscar(oscar_sim, insight_tables("oscar"))
    report = write_report().read_text()
    assert report.count('<img class="chart" src="data:image/png;base64,') == 7


def test_pseudonyms_on_postgres(posit_sim, load_into_postgres, monkeypatch):
    key = secrets.token_hex(24)
    monkeypatch.setenv(PSEUDONYMS_SETTING, "true")
    monkeypatch.setenv(KEY_SETTING, key)
    assert materialize_api(POSIT_CONNECT).success
    assert materialize_insights("posit_connect").success

    users = {user["guid"]: user for user in posit_sim.data.users}
    owners = {
        row["content_guid"]: (row["owner"], row["owner_email"])
        for row in insight_tables("posit_connect")["stale_content"].records()
    }
    assert owners
    for guid, shown in owners.items():
        owner = users[posit_sim.data.find_live_content(guid)["owner_guid"]]
        assert shown == (
            pseudonym(key.encode(), owner["username"]),
            pseudonym(key.encode(), owner["email"]),
        )
