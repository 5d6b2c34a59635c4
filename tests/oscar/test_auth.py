"""The configuration names of issue 4, the three ways to authenticate, and clear errors."""

from __future__ import annotations

import pytest

from assets.oscar.auth import DEFAULT_SCOPES, parse_scopes
from assets.registry import OSCAR
from tests.conftest import query
from tests.helpers import materialize_api, materialized_tables
from tests.oscar.support import ENV, use_refresh, use_token_auth

TOKEN_ROUTE = "POST /oidc/token"


def failure_message(result) -> str:
    failure = next(e for e in result.all_events if e.is_step_failure)
    return failure.step_failure_data.error.to_string()


def loaded_services() -> set[str]:
    return {n for (n,) in query(OSCAR, "SELECT name FROM services WHERE _dlt_valid_to IS NULL")}


def test_a_bearer_token_sees_only_its_users_services_and_their_jobs(oscar_sim, monkeypatch):
    use_token_auth(monkeypatch, bearer_token=oscar_sim.bearer_token)

    result = materialize_api(OSCAR)

    assert result.success
    visible = oscar_sim.bearer_visible_services()
    assert loaded_services() == visible
    jobs = set(query(OSCAR, "SELECT service, job_name FROM jobs"))
    assert jobs == {job for job in oscar_sim.expected_jobs() if job[0] in visible}
    assert query(OSCAR, "SELECT user_id FROM users WHERE is_caller") == [(oscar_sim.bearer_uid,)]


def test_refresh_token_renews_the_access_token_once_per_run(oscar_sim, monkeypatch):
    oscar_sim.mutate("expire_bearer_tokens", {})
    use_refresh(monkeypatch, oscar_sim)

    for _run in range(2):
        oscar_sim.reset_counters()
        assert materialize_api(OSCAR).success
        assert oscar_sim.stats()["requests"][TOKEN_ROUTE] == 1
    assert loaded_services() == oscar_sim.bearer_visible_services()


def test_a_401_mid_run_renews_the_token_once_and_goes_on(oscar_sim, monkeypatch):
    use_refresh(monkeypatch, oscar_sim)
    oscar_sim.add_fault(kind="status", status=401, times=1, route="^/system/logs/")

    result = materialize_api(OSCAR, ["services", "jobs"])

    assert result.success
    assert oscar_sim.stats()["requests"][TOKEN_ROUTE] == 2
    visible = oscar_sim.bearer_visible_services()
    (jobs,) = query(OSCAR, "SELECT count(DISTINCT service) FROM jobs")[0]
    assert jobs == len(visible)


def test_a_token_refused_after_renewal_fails_with_one_clear_error(oscar_sim, monkeypatch):
    use_refresh(monkeypatch, oscar_sim)
    oscar_sim.add_fault(kind="status", status=401, route="^/system/")

    result = materialize_api(OSCAR)

    assert not result.success
    assert oscar_sim.stats()["requests"][TOKEN_ROUTE] == 2  # the first token, one renewal
    assert "rejected an access token freshly renewed" in failure_message(result)


def test_a_wrong_password_is_one_clear_error_without_a_retry_storm(oscar_sim, monkeypatch):
    monkeypatch.setenv(f"{ENV}PASSWORD", "not-the-password")

    result = materialize_api(OSCAR)

    assert not result.success
    assert materialized_tables(result) == set()
    message = failure_message(result)
    assert f"{ENV}PASSWORD" in message and oscar_sim.url in message
    assert "not-the-password" not in message
    assert oscar_sim.stats()["requests"]["total"] == 1  # the first request, not retried


def test_a_route_refusing_credentials_accepted_elsewhere_fails_its_table_alone(
    oscar_sim, monkeypatch
):
    """A 401 on one route is that route's business when the same credentials open the
    others: the table fails naming what the server said, everything else loads."""
    oscar_sim.add_fault(kind="status", status=401, route="^/system/buckets$")

    result = materialize_api(OSCAR)

    assert not result.success
    assert materialized_tables(result) == set(OSCAR.catalog) - {"buckets"}
    message = failure_message(result)
    assert "buckets: GET" in message and "answered HTTP 401" in message
    assert "although the same credentials were accepted on /system/" in message
    assert oscar_sim.password not in message
    buckets = [t for _, _, t, _ in oscar_sim.request_times if t == "/system/buckets"]
    assert len(buckets) == 1  # refused once, not asked again


def test_an_expired_bearer_token_says_how_to_renew_it(oscar_sim, monkeypatch):
    use_token_auth(monkeypatch, bearer_token=oscar_sim.bearer_token)
    oscar_sim.mutate("expire_bearer_tokens", {})

    result = materialize_api(OSCAR, ["services"])

    assert not result.success
    message = failure_message(result)
    assert f"{ENV}BEARER_TOKEN" in message and f"{ENV}REFRESH_TOKEN" in message


def test_a_revoked_refresh_token_names_the_setting(oscar_sim, monkeypatch):
    use_refresh(monkeypatch, oscar_sim)
    monkeypatch.setenv(f"{ENV}REFRESH_TOKEN", "revoked")

    result = materialize_api(OSCAR, ["services"])

    assert not result.success
    message = failure_message(result)
    assert f"{ENV}REFRESH_TOKEN" in message and "invalid_grant" in message
    assert oscar_sim.stats()["requests"].get("GET /system/services", 0) == 0


def test_no_credentials_is_one_clear_error_before_any_request(oscar_sim, monkeypatch):
    use_token_auth(monkeypatch)

    result = materialize_api(OSCAR)

    assert not result.success
    message = failure_message(result)
    for setting in ("USERNAME", "PASSWORD", "BEARER_TOKEN", "REFRESH_TOKEN", "TOKEN_ENDPOINT"):
        assert f"{ENV}{setting}" in message
    assert oscar_sim.stats()["requests"].get("total", 0) == 0


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        ({"refresh_token": "x"}, ["TOKEN_ENDPOINT", "CLIENT_ID"]),
        ({"username": "oscar"}, ["PASSWORD"]),
    ],
)
def test_incomplete_credentials_name_what_is_missing(oscar_sim, monkeypatch, settings, names):
    use_token_auth(monkeypatch, **settings)

    result = materialize_api(OSCAR, ["services"])

    assert not result.success
    assert all(f"{ENV}{name}" in failure_message(result) for name in names)
    assert oscar_sim.stats()["requests"].get("total", 0) == 0


def test_a_missing_base_url_names_the_setting(oscar_sim, monkeypatch):
    monkeypatch.delenv(f"{ENV}BASE_URL")

    result = materialize_api(OSCAR, ["services"])

    assert not result.success
    assert f"{ENV}BASE_URL" in failure_message(result)


@pytest.mark.parametrize(
    ("given", "scopes"),
    [
        (None, DEFAULT_SCOPES),
        ("openid email", ("openid", "email")),
        ("openid,profile", ("openid", "profile")),
        (["openid", "eduperson_entitlement"], ("openid", "eduperson_entitlement")),
    ],
)
def test_scopes_as_a_list_or_a_string(given, scopes):
    assert parse_scopes(given) == scopes
