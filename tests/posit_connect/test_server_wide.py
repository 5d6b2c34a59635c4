"""The tables that describe the Connect server itself (packages, runtimes, environments,
runtime caches, server info, content hits) and content's vanity URLs, loaded through Dagster
from the simulator over real sockets: on a current server, an older one that lacks some
routes, one that hides its version, and with a key that is not an administrator's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest

from assets._catalog import LARGEST_WINDOW
from assets.registry import POSIT_CONNECT
from tests.conftest import current_count, query
from tests.helpers import materialize_api, materialized_tables

SERVER_WIDE = ["packages", "runtimes", "environments", "runtime_caches", "server_info"]
HITS = "/__api__/v1/instrumentation/content/hits"


@pytest.fixture
def kubernetes_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A server that runs content off-host, so it has execution environments, and two years
    of hits."""
    from simulators.posit_connect import PositConnectSimulator

    with PositConnectSimulator(
        content=30, users=12, environments=3, hits=6000, hits_span_days=730, seed=5
    ) as sim:
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)
        yield sim


def failure_messages(result) -> str:
    return " ".join(
        e.step_failure_data.error.message for e in result.all_events if e.is_step_failure
    )


def hit_windows(sim) -> list[tuple[datetime, datetime]]:
    windows = []
    for _, method, path, _ in sim.request_times:
        if urlsplit(path).path == HITS:
            assert method == "GET"
            params = parse_qs(urlsplit(path).query)
            windows.append(
                (datetime.fromisoformat(params["from"][0]), datetime.fromisoformat(params["to"][0]))
            )
    return windows


def test_every_server_wide_table_loads_with_the_servers_rows(kubernetes_sim):
    result = materialize_api(POSIT_CONNECT, ["content", *SERVER_WIDE, "content_hits"])

    assert result.success, failure_messages(result)
    for table in ["content", *SERVER_WIDE, "content_hits"]:
        assert current_count(POSIT_CONNECT, table) == kubernetes_sim.expected_counts()[table], table
    vanity = dict(query(POSIT_CONNECT, "SELECT guid, vanity_url FROM content"))
    assert vanity == kubernetes_sim.data.vanity_urls and any(vanity.values())
    versions = query(POSIT_CONNECT, "SELECT scope, version FROM server_info ORDER BY scope")
    assert versions == [("node", "2025.09.0"), ("node", "2025.09.0"), ("server", "2025.09.0")]
    assert query(POSIT_CONNECT, "SELECT DISTINCT runtime FROM runtimes ORDER BY 1") == [
        ("python",), ("quarto",), ("r",), ("tensorflow",)
    ]  # fmt: skip
    types = dict(
        query(
            POSIT_CONNECT,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'content_hits'",
        )
    )
    assert types["id"] == "VARCHAR" and types["timestamp"] == "TIMESTAMP WITH TIME ZONE"


def test_the_loader_only_reads(kubernetes_sim):
    """DELETE on /v1/system/caches/runtime empties the server's caches: only GETs are sent."""
    assert materialize_api(POSIT_CONNECT, SERVER_WIDE).success

    methods = {method for _, method, _, _ in kubernetes_sim.request_times}
    assert methods == {"GET"}
    assert kubernetes_sim.stats()["requests"]["GET /__api__/v1/system/caches/runtime"] == 1


def test_hits_first_load_is_bounded_windows_and_a_rerun_loads_only_what_is_new(kubernetes_sim):
    assert materialize_api(POSIT_CONNECT, ["content_hits"]).success

    windows = hit_windows(kubernetes_sim)
    assert len(windows) > 10  # two years are never one request
    assert all(start <= end and end - start <= LARGEST_WINDOW for start, end in windows)
    # consecutive, disjoint (`to` is inclusive) and without gaps
    assert all(b[0] - a[1] == timedelta(microseconds=1) for a, b in pairwise(windows))
    oldest_user = min(datetime.fromisoformat(u["created_time"]) for u in kubernetes_sim.data.users)
    assert windows[0][0] <= oldest_user
    assert current_count(POSIT_CONNECT, "content_hits") == 6000

    added = kubernetes_sim.mutate("add_hits", {"n": 40})["added"]
    kubernetes_sim.reset_counters()
    assert materialize_api(POSIT_CONNECT, ["content_hits"]).success

    rerun = hit_windows(kubernetes_sim)
    assert len(rerun) == 1 and rerun[0][0] >= windows[-1][0]
    assert current_count(POSIT_CONNECT, "content_hits") == 6000 + added


def test_hits_keep_only_the_names_of_query_parameters(kubernetes_sim):
    assert materialize_api(POSIT_CONNECT, ["content_hits"]).success

    names = {
        n for (n,) in query(POSIT_CONNECT, "SELECT DISTINCT query_parameters FROM content_hits")
    }
    assert names == {None, "page,sort", "access_token,page"}
    columns = {
        c
        for (c,) in query(
            POSIT_CONNECT,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'content_hits'",
        )
    }
    assert "query" not in columns and "data__query" not in columns
    tokens = kubernetes_sim.hit_tokens()
    assert tokens
    (leaked,) = query(
        POSIT_CONNECT,
        "SELECT count(*) FROM content_hits WHERE "
        + " OR ".join(f"CAST(COLUMNS(*) AS VARCHAR) LIKE '%{t}%'" for t in tokens[:5]),
    )[0]
    assert leaked == 0


def test_an_older_server_loads_the_rest_and_the_missing_ones_name_their_version(posit_sim):
    posit_sim.mutate("set_version", {"version": "2024.05.0"})

    result = materialize_api(POSIT_CONNECT, ["content", *SERVER_WIDE, "content_hits"])

    loaded = materialized_tables(result)
    assert not result.success
    assert loaded == {"content", "runtimes", "environments", "runtime_caches", "server_info"}
    message = failure_messages(result)
    assert "packages" in message and "2024.11.0" in message
    assert "content_hits" in message and "2025.04.0" in message
    assert "2024.05.0" in message
    # the server predates include=vanity_url: asked without it, content still loads
    assert current_count(POSIT_CONNECT, "content") == 40
    (with_vanity,) = query(POSIT_CONNECT, "SELECT count(vanity_url) FROM content")[0]
    assert with_vanity == 0
    # tensorflow arrived in 2024.05.0, nodejs later: left out with a note
    runtimes = {r for (r,) in query(POSIT_CONNECT, "SELECT DISTINCT runtime FROM runtimes")}
    assert runtimes == {"r", "python", "quarto", "tensorflow"}


def test_a_server_that_hides_its_version_is_not_an_error(monkeypatch):
    from simulators.posit_connect import PositConnectSimulator

    with PositConnectSimulator(content=5, hide_version=True) as sim:
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)
        result = materialize_api(POSIT_CONNECT, ["content", "server_info", "runtimes"])

    assert result.success, failure_messages(result)
    rows = query(POSIT_CONNECT, "SELECT scope, version FROM server_info WHERE scope = 'server'")
    assert rows == [("server", None)]
    (with_vanity,) = query(POSIT_CONNECT, "SELECT count(vanity_url) FROM content")[0]
    assert with_vanity > 0  # a hidden version is taken for a recent server


def test_a_publisher_key_fails_the_admin_table_and_keeps_the_servers_own_row(
    posit_sim, monkeypatch
):
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", posit_sim.publisher_key)

    result = materialize_api(POSIT_CONNECT, SERVER_WIDE)

    assert materialized_tables(result) == set(SERVER_WIDE) - {"runtime_caches"}
    message = failure_messages(result)
    assert "runtime_caches" in message and "administrator" in message
    assert query(POSIT_CONNECT, "SELECT scope FROM server_info") == [("server",)]


def test_server_info_gets_a_new_version_only_when_a_version_changes(posit_sim):
    assert materialize_api(POSIT_CONNECT, ["server_info"]).success
    assert materialize_api(POSIT_CONNECT, ["server_info"]).success  # heartbeats moved
    assert query(POSIT_CONNECT, "SELECT count(*) FROM server_info") == [(3,)]

    posit_sim.mutate("set_version", {"version": "2025.10.0"})
    assert materialize_api(POSIT_CONNECT, ["server_info"]).success

    current = query(
        POSIT_CONNECT, "SELECT DISTINCT version FROM server_info WHERE _dlt_valid_to IS NULL"
    )
    assert current == [("2025.10.0",)]
    assert query(POSIT_CONNECT, "SELECT count(*) FROM server_info") == [(6,)]
