"""The insights on DuckDB: their numbers against Python's over the simulators' data, their
charts and previews in the Dagster UI, pseudonyms, and failures that name the setting (over
several servers: tests/test_several_servers.py)."""

from __future__ import annotations

import base64
import re
import secrets
import struct

import duckdb

from assets.destinations import duckdb_path
from assets.insights.catalog import INSIGHTS
from assets.insights.charts import HEIGHT_PX, WIDTH_PX
from assets.insights.pseudonyms import KEY_SETTING, PSEUDONYMS_SETTING, pseudonym
from assets.registry import OSCAR, POSIT_CONNECT
from tests.helpers import files_containing, materialize_api
from tests.insights.expected import (
    check_oscar,
    check_posit_connect,
    insight_tables,
    materialize_insights,
)
from tools.report import write_report

PNG_DATA = re.compile(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)")


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", png[16:24])


def test_posit_connect_insights_match_the_simulators_data(loaded):
    tables = insight_tables("posit_connect")
    check_posit_connect(loaded.posit, tables)
    usage = tables["content_usage"].records()  # the windows hold something to count
    assert any(row["visits_7d"] for row in usage) and any(row["shiny_hours_30d"] for row in usage)


def test_oscar_insights_match_the_simulators_data(loaded):
    tables = insight_tables("oscar")
    check_oscar(loaded.oscar, tables)
    assert any(row["failed"] for row in tables["job_stats_daily"].records())
    assert any(row["failure_rate_7d"] for row in tables["service_usage"].records())


def test_each_insight_shows_a_chart_and_its_top_rows(loaded):
    for info in (POSIT_CONNECT, OSCAR):
        result = loaded.results[info.name]
        tables = insight_tables(info.name)
        shown = {
            event.asset_key.path[-1]: event.materialization.metadata
            for event in result.get_asset_materialization_events()
        }
        assert set(shown) == {insight.name for insight in INSIGHTS[info.name]}
        for name, metadata in shown.items():
            (encoded,) = PNG_DATA.findall(metadata["chart"].value)
            assert png_size(base64.b64decode(encoded)) == (WIDTH_PX, HEIGHT_PX), name
            assert metadata["dagster/row_count"].value == len(tables[name].rows), name
            assert metadata["top_rows"].value.startswith("| server |"), name
            assert metadata["pseudonyms"].value is False


def test_pseudonyms_replace_names_and_emails_in_the_insights_only(
    posit_sim, oscar_sim, monkeypatch, persistent_instance, tmp_path
):
    key = secrets.token_hex(24)
    monkeypatch.setenv(PSEUDONYMS_SETTING, "true")
    monkeypatch.setenv(KEY_SETTING, key)
    users = {user["guid"]: user for user in posit_sim.data.users}
    names = {u["username"] for u in users.values()} | {u["email"] for u in users.values()}
    names |= {service["owner"] for service in oscar_sim.services_snapshot()}
    shown = []
    for info in (POSIT_CONNECT, OSCAR):
        assert materialize_api(info, instance=persistent_instance).success
        # the pseudonyms below are the keyed function's, so any later run gives the same
        result = materialize_insights(info.name, persistent_instance)
        assert result.success
        shown += [
            value.value
            for event in result.get_asset_materialization_events()
            for value in event.materialization.metadata.values()
            if isinstance(value.value, str)
        ]

    owners = {
        row["content_guid"]: (row["owner"], row["owner_email"])
        for row in insight_tables("posit_connect")["content_usage"].records()
    }
    for item in posit_sim.data.live_content():
        owner = users[item["owner_guid"]]
        assert owners[item["guid"]] == (
            pseudonym(key.encode(), owner["username"]),
            pseudonym(key.encode(), owner["email"]),
        )
    service_owners = {
        row["service"]: row["owner"] for row in insight_tables("oscar")["service_usage"].records()
    }
    assert service_owners == {
        s["name"]: pseudonym(key.encode(), s["owner"]) for s in oscar_sim.services_snapshot()
    }
    # the raw tables keep what the API returned
    with duckdb.connect(str(duckdb_path(POSIT_CONNECT)), read_only=True) as con:
        raw = {
            row[0] for row in con.sql("SELECT username FROM posit_connect_data.users").fetchall()
        }
    assert raw == {u["username"] for u in users.values()}
    # no name in any insight table, metadata (previews) or the report; the key nowhere stored
    report = write_report().read_text()
    for api in ("posit_connect", "oscar"):
        for table in insight_tables(api).values():
            cells = {str(value) for row in table.rows for value in row}
            assert not cells & names
    assert not [name for name in names if any(name in text for text in shown)]
    assert not [name for name in names if name in report]
    assert files_containing(tmp_path, [key]) == []


def test_pseudonyms_without_a_key_fail_naming_the_setting(posit_sim, monkeypatch):
    monkeypatch.setenv(PSEUDONYMS_SETTING, "true")
    assert materialize_api(POSIT_CONNECT).success

    result = materialize_insights("posit_connect")

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert KEY_SETTING in message and "not set" in message
