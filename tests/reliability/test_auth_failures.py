"""Case 4: 401 and 403. One clear error naming the setting or role to fix, no retry storm,
and everything else (the other API, the tables the key may read) loads exactly."""

from __future__ import annotations

import pytest

from assets.posit_connect import KEY_SETTING
from assets.posit_connect.settings import DEFAULT_MAX_CONCURRENCY
from assets.registry import OSCAR, POSIT_CONNECT
from tests.helpers import files_containing, materialized_tables
from tests.oscar.support import assert_tables_match
from tests.reliability.support import assert_posit_exact, failure_message, run, run_apis

BAD_VALUE = "not-a-valid-credential-0123456789"


def assert_no_retry_storm(sim, max_requests: int) -> None:
    """Nothing was asked twice, and the run gave up after a handful of requests."""
    targets = [(method, target) for _, method, target, _ in sim.request_times]
    assert len(targets) == len(set(targets)), "a request was retried after a 401/403"
    assert len(targets) <= max_requests, f"{len(targets)} requests after the credentials failed"


@pytest.mark.parametrize("broken", ["posit_connect", "oscar"])
def test_rejected_credentials_fail_their_api_alone_with_one_clear_error(
    posit, oscar, instance, monkeypatch, isolated_env, broken
):
    if broken == "posit_connect":
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", BAD_VALUE)
        failed_sim, good_sim, good = posit, oscar, OSCAR
        names = [KEY_SETTING]
    else:
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", BAD_VALUE)
        failed_sim, good_sim, good = oscar, posit, POSIT_CONNECT
        names = ["SOURCES__OSCAR_SOURCE__PASSWORD"]

    result = run_apis([POSIT_CONNECT, OSCAR], instance)

    assert not result.success
    loaded = {e.asset_key.path[0] for e in result.get_asset_materialization_events()}
    assert loaded == {good.name}
    message = failure_message(result)
    assert "401" in message
    assert failed_sim.url in message
    for name in names:
        assert name in message
    assert BAD_VALUE not in message
    assert files_containing(isolated_env, [BAD_VALUE]) == []  # nor logged, nor stored
    # Each table whose extraction had started asked once; nothing was retried.
    assert_no_retry_storm(failed_sim, max_requests=3)
    if good is POSIT_CONNECT:
        assert_posit_exact(good_sim)
    else:
        assert_tables_match(good_sim)


def test_a_key_revoked_mid_run_stops_the_per_item_requests(simulators, instance, monkeypatch):
    """The list works, then every per-item request is refused while the list still accepts
    the key: those tables fail naming the key's setting, and stop asking: at most the
    requests already in flight (max_concurrency per table), not one per remaining item."""
    from simulators.posit_connect import PositConnectSimulator

    with PositConnectSimulator(content=400, users=5, visits=0, audit_logs=0) as sim:
        simulators.append(sim)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)
        sim.add_fault(kind="status", status=401, route=r"/v1/content/[^/]+(/permissions)?$")

        result = run(POSIT_CONNECT, ["content", "content_item", "content_permissions"], instance)

    assert not result.success
    assert KEY_SETTING in failure_message(result)
    refused = [t for _, _, t, fault in sim.request_times if fault == "401"]
    # two per-item tables, each with up to max_concurrency requests in flight when the
    # first 401 comes back (fetch_each cancels the rest); 400 items each without that
    in_flight = 2 * (DEFAULT_MAX_CONCURRENCY + 2)
    assert len(refused) <= in_flight, f"{len(refused)} requests refused with 401"


def test_a_forbidden_table_fails_alone_naming_the_role(posit, instance, monkeypatch):
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", posit.publisher_key)

    result = run(POSIT_CONNECT, instance=instance)

    assert not result.success
    assert "audit_logs" not in materialized_tables(result)
    message = failure_message(result)
    assert "audit_logs" in message and "administrator" in message and KEY_SETTING in message
    audit_requests = [t for _, _, t, _ in posit.request_times if "/v1/audit_logs" in t]
    assert len(audit_requests) == 1  # refused once, not retried
    # The publisher sees its own OAuth sessions and its own content's hits only, and the
    # server without its nodes (an administrator's); everything else is the server's.
    own = ("oauth_sessions", "oauth_credentials", "content_hits", "server_info")
    tables = [t for t in materialized_tables(result) if t not in own]
    assert_posit_exact(posit, tables)
