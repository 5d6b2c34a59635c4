"""The Posit Connect simulator over real sockets: shapes, paging, auth, versions, mutations,
faults, and fidelity with Posit's own client (posit-sdk)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests
from posit import connect
from posit.connect.errors import ClientError

from simulators._server import SimulatorClient
from simulators.posit_connect import ROUTE_MIN_VERSION, PositConnectSimulator
from simulators.posit_connect.simulator import version_tuple

API = "/__api__"
CONTENT_FIELDS = [
    "guid",
    "name",
    "title",
    "description",
    "access_type",
    "locked",
    "locked_message",
    "connection_timeout",
    "read_timeout",
    "init_timeout",
    "idle_timeout",
    "max_processes",
    "min_processes",
    "max_conns_per_process",
    "load_factor",
    "memory_request",
    "memory_limit",
    "cpu_request",
    "cpu_limit",
    "amd_gpu_limit",
    "nvidia_gpu_limit",
    "service_account_name",
    "default_image_name",
    "created_time",
    "last_deployed_time",
    "bundle_id",
    "app_mode",
    "content_category",
    "parameterized",
    "cluster_name",
    "image_name",
    "r_version",
    "py_version",
    "quarto_version",
    "run_as",
    "run_as_current_user",
    "owner_guid",
    "content_url",
    "dashboard_url",
    "app_role",
    "id",
]
SIZES = dict(
    content=60,
    users=510,  # more than one 500-row page, so posit-sdk's paginator must turn a page
    groups=6,
    visits=1234,
    shiny_sessions=345,
    audit_logs=321,
    oauth_integrations=3,
    oauth_sessions=6,
)


@pytest.fixture(scope="module")
def sim() -> Iterator[PositConnectSimulator]:
    """A shared server for read-only tests."""
    with PositConnectSimulator(**SIZES, seed=7) as simulator:
        yield simulator


@pytest.fixture
def fresh() -> Iterator[PositConnectSimulator]:
    """A small server of its own, for tests that change it."""
    with PositConnectSimulator(
        content=20, users=10, visits=300, audit_logs=50, seed=3
    ) as simulator:
        yield simulator


def get(sim: PositConnectSimulator, path: str, key: str | None = "", **params) -> requests.Response:
    """GET `path` (relative or absolute) with the admin key unless `key` says otherwise."""
    key = sim.api_key if key == "" else key
    headers = {"Authorization": f"Key {key}"} if key else {}
    url = path if path.startswith("http") else sim.url + path
    return requests.get(url, headers=headers, params=params, timeout=10)


def ok(response: requests.Response):
    assert response.status_code == 200, response.text
    return response.json()


def assert_json_error(response: requests.Response, status: int, code: int) -> None:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "error", "payload"}
    assert body["code"] == code and body["error"] and body["payload"] is None


def follow_keyset(sim: PositConnectSimulator, path: str, **params) -> list[dict]:
    """Every row of a keyset endpoint, following `paging.next` (an absolute URL) to null."""
    page = ok(get(sim, path, **params))
    rows = list(page["results"])
    while page["paging"]["next"]:
        assert page["paging"]["next"].startswith(sim.url)
        page = ok(get(sim, page["paging"]["next"]))
        rows.extend(page["results"])
    return rows


def follow_pages(sim: PositConnectSimulator, path: str, **params) -> list[dict]:
    """Every row of a page-number endpoint, stopping as posit-sdk does."""
    rows: list[dict] = []
    for number in range(1, 1000):
        page = ok(get(sim, path, page_number=number, **params))
        assert set(page) == {"results", "current_page", "total"}
        assert page["current_page"] == number
        rows.extend(page["results"])
        if not page["results"] or len(rows) >= page["total"]:
            return rows
    raise AssertionError("paging never ended")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- auth and errors -----------------------------------------------------------------------
def test_server_settings_needs_no_key(sim):
    settings = ok(get(sim, f"{API}/server_settings", key=None))
    assert settings["version"] == "2025.09.0"
    assert len(settings) > 3


def test_missing_or_unknown_key_is_401_json(sim):
    for key in (None, "not-a-key"):
        response = get(sim, f"{API}/v1/content", key=key)
        assert_json_error(response, 401, 3)
        assert response.json()["error"] == "Key is not valid"


def test_unknown_route_is_plain_text_404(sim):
    response = get(sim, f"{API}/v1/no_such_thing")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "404 page not found"


def test_roles_are_enforced_with_403_json(sim):
    assert_json_error(get(sim, f"{API}/v1/audit_logs", key=sim.publisher_key), 403, 14)
    assert_json_error(get(sim, f"{API}/v1/oauth/integrations", key=sim.viewer_key), 403, 14)
    assert_json_error(
        get(sim, f"{API}/v1/instrumentation/content/visits", key=sim.viewer_key), 403, 14
    )
    ok(get(sim, f"{API}/v1/instrumentation/content/visits", key=sim.publisher_key))
    ok(get(sim, f"{API}/v1/oauth/integrations", key=sim.publisher_key))


def test_keys_look_real_and_follow_the_seed(sim):
    keys = {sim.api_key, sim.publisher_key, sim.viewer_key}
    assert len(keys) == 3
    assert all(len(key) == 32 and key.startswith("sim") and key.isalnum() for key in keys)
    twin = PositConnectSimulator(**SIZES, seed=7)
    other = PositConnectSimulator(content=1, users=3, seed=8)
    assert twin.api_key == sim.api_key and other.api_key != sim.api_key
    assert [u["guid"] for u in twin.data.users] == [u["guid"] for u in sim.data.users]
    assert [c["guid"] for c in twin.data.content] == [c["guid"] for c in sim.data.content]


def test_current_user_is_the_key_holder(sim):
    assert ok(get(sim, f"{API}/v1/user"))["user_role"] == "administrator"
    assert ok(get(sim, f"{API}/v1/user", key=sim.viewer_key))["user_role"] == "viewer"


# -- content -------------------------------------------------------------------------------
def test_content_list_has_every_field_and_realistic_drift(sim):
    items = ok(get(sim, f"{API}/v1/content"))
    assert len(items) == sim.expected_counts()["content"] == SIZES["content"]
    for item in items:
        assert list(item) == CONTENT_FIELDS
        assert isinstance(item["id"], str)
        assert instant(item["created_time"]) <= instant(item["last_deployed_time"])
    assert {type(item["bundle_id"]) for item in items} == {int, str}
    times = [item["created_time"] for item in items]
    assert any(t.endswith("Z") for t in times) and any(t[-6] in "+-" for t in times)
    assert any("." in t for t in times) and any("." not in t for t in times)
    assert len({item["app_mode"] for item in items}) > 4
    owners = {user["guid"] for user in sim.data.users}
    assert {item["owner_guid"] for item in items} <= owners


def test_content_include_and_filters(sim):
    items = ok(get(sim, f"{API}/v1/content", include="owner,tags,vanity_url"))
    assert all(list(item)[-3:] == ["owner", "tags", "vanity_url"] for item in items)
    assert {type(item["vanity_url"]) for item in items} == {str, type(None)}
    assert all(
        set(item["owner"]) == {"guid", "username", "first_name", "last_name"} for item in items
    )
    assert all(item["owner"]["guid"] == item["owner_guid"] for item in items)
    tags = [tag for item in items for tag in item["tags"]]
    assert tags and set(tags[0]) == {"id", "name", "parent_id", "created_time", "updated_time"}
    first = items[0]
    owned = ok(get(sim, f"{API}/v1/content", owner_guid=first["owner_guid"]))
    assert owned and all(item["owner_guid"] == first["owner_guid"] for item in owned)
    assert [item["guid"] for item in ok(get(sim, f"{API}/v1/content", name=first["name"]))] == [
        first["guid"]
    ]


def test_content_item_matches_the_list_and_404s_when_unknown(sim):
    listed = ok(get(sim, f"{API}/v1/content"))[5]
    assert ok(get(sim, f"{API}/v1/content/{listed['guid']}")) == listed
    missing = get(sim, f"{API}/v1/content/00000000-0000-4000-8000-000000000000")
    assert_json_error(missing, 404, 4)
    assert missing.json()["error"] == "The requested object does not exist."


def test_permissions_are_bare_arrays_with_int_ids(sim):
    total = 0
    for item in ok(get(sim, f"{API}/v1/content")):
        permissions = ok(get(sim, f"{API}/v1/content/{item['guid']}/permissions"))
        total += len(permissions)
        for permission in permissions:
            assert isinstance(permission["id"], int)
            assert permission["content_guid"] == item["guid"]
            assert permission["principal_type"] in ("user", "group")
            assert permission["role"] in ("owner", "viewer")
    assert total == sim.expected_counts()["content_permissions"] > 0


# -- page-number paging --------------------------------------------------------------------
def test_users_page_by_number_until_total(sim):
    users = follow_pages(sim, f"{API}/v1/users", page_size=50)
    assert len(users) == len({u["guid"] for u in users}) == sim.expected_counts()["users"]
    assert {u["user_role"] for u in users} == {"administrator", "publisher", "viewer"}
    beyond = ok(get(sim, f"{API}/v1/users", page_number=99, page_size=50))
    assert beyond["results"] == [] and beyond["total"] == len(users)
    default = ok(get(sim, f"{API}/v1/users"))
    assert len(default["results"]) == 20
    clamped = ok(get(sim, f"{API}/v1/users", page_size=1000))
    assert len(clamped["results"]) == 500


def test_users_prefix_filter(sim):
    username = sim.data.users[0]["username"]
    matches = follow_pages(sim, f"{API}/v1/users", prefix=username[:4].upper())
    assert username in {u["username"] for u in matches}
    assert all(
        any(u[f].lower().startswith(username[:4]) for f in ("username", "first_name", "last_name"))
        for u in matches
    )


def test_groups_and_members_page_by_number(sim):
    groups = follow_pages(sim, f"{API}/v1/groups", page_size=4)
    assert len(groups) == sim.expected_counts()["groups"]
    assert all({"guid", "name", "owner_guid"} <= set(group) for group in groups)
    members = [
        member
        for group in groups
        for member in follow_pages(sim, f"{API}/v1/groups/{group['guid']}/members", page_size=3)
    ]
    assert len(members) == sim.expected_counts()["group_members"]
    assert_json_error(get(sim, f"{API}/v1/groups/nope/members"), 404, 4)


def test_tags_are_a_bare_array(sim):
    tags = ok(get(sim, f"{API}/v1/tags"))
    assert len(tags) == sim.expected_counts()["tags"]
    ids = {tag["id"] for tag in tags}
    assert all(tag["parent_id"] is None or tag["parent_id"] in ids for tag in tags)


# -- keyset paging ---------------------------------------------------------------------------
def test_audit_logs_follow_next_to_the_end(sim):
    rows = follow_keyset(sim, f"{API}/v1/audit_logs", limit=50)
    assert len(rows) == len({row["id"] for row in rows}) == sim.expected_counts()["audit_logs"]
    assert set(rows[0]) == {
        "id", "time", "user_id", "user_guid", "user_description", "action", "event_description",
    }  # fmt: skip
    times = [instant(row["time"]) for row in rows]
    assert times == sorted(times)
    newest_first = follow_keyset(sim, f"{API}/v1/audit_logs", limit=77, ascOrder="false")
    assert newest_first == rows[::-1]


def test_keyset_envelope_links_and_previous_cursor(sim):
    path = f"{API}/v1/audit_logs"
    first = ok(get(sim, path, limit=10))
    paging = first["paging"]
    assert set(paging) == {"cursors", "first", "previous", "next", "last"}
    assert paging["cursors"]["previous"] is None and paging["previous"] is None
    assert "ascOrder=false" in paging["last"] and "limit=10" in paging["next"]
    second = ok(get(sim, paging["next"]))
    back = ok(get(sim, path, limit=10, previous=second["paging"]["cursors"]["previous"]))
    assert back["results"] == first["results"]
    assert_json_error(get(sim, path, next="garbage!"), 400, 3)


def test_visits_and_shiny_usage_page_every_row_once(sim):
    counts = sim.expected_counts()
    visits = follow_keyset(sim, f"{API}/v1/instrumentation/content/visits", limit=500)
    assert len(visits) == counts["content_visits"] == SIZES["visits"]
    assert set(visits[0]) == {
        "content_guid", "user_guid", "variant_key", "time", "rendering_id", "bundle_id", "path",
        "data_version", "user_agent",
    }  # fmt: skip
    assert all(isinstance(v["bundle_id"], int) and v["data_version"] == 1 for v in visits)
    times = [instant(v["time"]) for v in visits]
    assert times == sorted(times)
    content_guids = {item["guid"] for item in sim.data.content}
    assert {v["content_guid"] for v in visits} <= content_guids
    shiny = follow_keyset(sim, f"{API}/v1/instrumentation/shiny/usage", limit=100)
    assert len(shiny) == counts["shiny_usage"]
    assert all(instant(s["started"]) <= instant(s["ended"]) for s in shiny)


def test_instrumentation_from_to_are_inclusive(sim):
    path = f"{API}/v1/instrumentation/content/visits"
    visits = follow_keyset(sim, path, limit=500)
    start, end = visits[100]["time"], visits[900]["time"]
    window = follow_keyset(sim, path, limit=64, **{"from": start, "to": end})
    expected = [v for v in visits if instant(start) <= instant(v["time"]) <= instant(end)]
    assert window == expected and window[0] == visits[100] and window[-1] == visits[900]
    guid = visits[0]["content_guid"]
    mine = follow_keyset(sim, path, limit=7, content_guid=guid, asc_order="false")
    assert mine == [v for v in visits if v["content_guid"] == guid][::-1]
    assert_json_error(get(sim, path, **{"from": "yesterday"}), 400, 3)


def test_shiny_from_returns_sessions_still_running_and_to_those_started_by_it(sim):
    """connectapi's get_usage_shiny: `from` drops sessions that ended before it, `to` those
    that started after it; a session spanning an instant is in the windows on both sides."""
    path = f"{API}/v1/instrumentation/shiny/usage"
    sessions = follow_keyset(sim, path, limit=500)
    # a second after two sessions started (each lasts five seconds at least): both still run
    start, end = (instant(sessions[n]["started"]) + timedelta(seconds=1) for n in (50, 150))
    window = follow_keyset(
        sim, path, limit=37, **{"from": start.isoformat(), "to": end.isoformat()}
    )
    expected = [
        s for s in sessions if instant(s["ended"]) >= start and instant(s["started"]) <= end
    ]
    assert window == expected
    assert any(instant(s["started"]) < start for s in window)  # running at `from`
    later = follow_keyset(sim, path, limit=500, **{"from": end.isoformat()})
    assert {json.dumps(s) for s in window} & {json.dumps(s) for s in later}  # in both


def test_sessions_stay_open_until_closed_and_events_land_at_given_instants(fresh):
    path = f"{API}/v1/instrumentation/shiny/usage"
    times = ["2031-01-01T00:00:00Z", "2031-01-01T00:01:00Z", "2031-01-01T00:02:00Z"]
    fresh.mutate("add_shiny_sessions_at", {"times": times, "open": times[:1]})
    fresh.mutate("add_visits_at", {"times": times})
    visits = follow_keyset(fresh, f"{API}/v1/instrumentation/content/visits", limit=500)
    assert [instant(v["time"]) for v in visits[-3:]] == [instant(t) for t in times]

    opened = follow_keyset(fresh, path, limit=500, **{"from": "2031-06-01T00:00:00Z"})
    assert [(s["started"], s["ended"]) for s in opened] == [("2031-01-01T00:00:00Z", None)]
    assert fresh.mutate("close_shiny_sessions", {"n": 5}) == {"closed": 1}
    assert not follow_keyset(fresh, path, limit=500, **{"from": "2031-06-01T00:00:00Z"})


def test_keyset_cursor_survives_appends(fresh):
    path = f"{API}/v1/instrumentation/content/visits"
    page = ok(get(fresh, path, limit=100))
    rows = list(page["results"])
    added = fresh.mutate("add_visits", {"n": 250})
    assert added == {"added": 250, "total": 550}
    while page["paging"]["next"]:
        page = ok(get(fresh, page["paging"]["next"]))
        rows.extend(page["results"])
    assert len(rows) == 550 == fresh.expected_counts()["content_visits"]
    times = [instant(row["time"]) for row in rows]
    assert times == sorted(times)


# -- OAuth and versions ------------------------------------------------------------------------
def test_oauth_integrations_and_sessions(sim):
    integrations = ok(get(sim, f"{API}/v1/oauth/integrations"))
    assert len(integrations) == sim.expected_counts()["oauth_integrations"]
    assert set(integrations[0]) == {
        "id", "guid", "created_time", "updated_time", "name", "description", "template",
        "auth_type", "config", "permissions",
    }  # fmt: skip
    everyone = ok(get(sim, f"{API}/v1/oauth/sessions", all="true"))
    assert len(everyone) == sim.expected_counts()["oauth_sessions"]
    publisher_guid = sim.data.users[1]["guid"]
    own = ok(get(sim, f"{API}/v1/oauth/sessions", key=sim.publisher_key, all="true"))
    assert len(own) >= 2 and {s["user_guid"] for s in own} == {publisher_guid}


def test_routes_appear_with_the_server_version(fresh):
    client = SimulatorClient(fresh.url)
    assert client.mutate("set_version", version="2022.01.0")["version"] == "2022.01.0"
    newer = [t for t, since in ROUTE_MIN_VERSION.items() if version_tuple(since) > (2022, 1, 0)]
    assert len(newer) >= 10
    for template in newer:
        path = template.replace("{guid}", "abc").replace("{key}", "def")
        method = "POST" if path.endswith("credentials") else "GET"
        response = requests.request(
            method, fresh.url + path, headers={"Authorization": f"Key {fresh.api_key}"}
        )
        assert (response.status_code, response.text) == (404, "404 page not found")
    assert ok(get(fresh, f"{API}/server_settings"))["version"] == "2022.01.0"
    guid = fresh.data.content[0]["guid"]
    client.mutate("set_version", version="2022.10.0")
    ok(get(fresh, f"{API}/v1/content/{guid}/jobs"))
    client.mutate("set_version", version="2024.08.0")
    ok(get(fresh, f"{API}/v1/oauth/integrations"))
    ok(get(fresh, f"{API}/v1/content/{guid}/oauth/integrations/associations"))


def exchange(sim: PositConnectSimulator, **fields: str) -> requests.Response:
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": sim.content_session_token,
        "subject_token_type": "urn:posit:connect:content-session-token",
        **fields,
    }
    return requests.post(f"{sim.url}{API}/v1/oauth/integrations/credentials", data=form, timeout=10)


def test_credential_exchange_issues_working_keys_and_tokens(fresh):
    first = ok(exchange(fresh, requested_token_type="urn:posit:connect:api-key"))
    second = ok(exchange(fresh, requested_token_type="urn:posit:connect:api-key"))
    assert first["access_token"] != second["access_token"]
    assert first["token_type"] == "Key" and first["expires_in"] == 3600
    assert first["issued_token_type"] == "urn:posit:connect:api-key"
    assert len(ok(get(fresh, f"{API}/v1/content", key=first["access_token"]))) == 20
    audience = fresh.data.integrations[0]["guid"]
    token = ok(
        exchange(
            fresh,
            requested_token_type="urn:ietf:params:oauth:token-type:access_token",
            audience=audience,
        )
    )
    assert token["token_type"] == "Bearer"
    issued = [first["access_token"], second["access_token"], token["access_token"]]
    assert fresh.issued_tokens == issued
    assert set(issued) | {fresh.api_key, fresh.content_session_token} <= set(fresh.secrets())
    assert_json_error(exchange(fresh, subject_token="stolen"), 401, 3)
    assert_json_error(exchange(fresh, grant_type="password"), 400, 3)
    assert_json_error(exchange(fresh, audience="not-an-integration"), 400, 3)


# -- per content item ----------------------------------------------------------------------------
BUNDLE_FIELDS = {
    "id", "content_guid", "created_by", "created_time", "environment_guid", "cluster_name",
    "image_name", "r_version", "r_environment_management", "py_version",
    "py_environment_management", "quarto_version", "active", "size", "metadata",
}  # fmt: skip
JOB_FIELDS = {
    "id", "ppid", "pid", "key", "remote_id", "app_id", "content_id", "content_guid",
    "variant_id", "bundle_id", "start_time", "end_time", "last_heartbeat_time", "queued_time",
    "queue_name", "tag", "exit_code", "status", "hostname", "cluster", "image", "run_as",
}  # fmt: skip


def test_bundles_are_a_bare_array_paged_twenty_by_default_newest_first(fresh):
    guid = fresh.data.content[0]["guid"]
    for _ in range(24):
        fresh.mutate("update_content", {"n": len(fresh.data.content)})
    first = ok(get(fresh, f"{API}/v1/content/{guid}/bundles"))
    assert isinstance(first, list) and len(first) == 20
    assert set(first[0]) == BUNDLE_FIELDS
    assert [int(b["id"]) for b in first] == sorted((int(b["id"]) for b in first), reverse=True)
    assert first[0]["active"] and not any(b["active"] for b in first[1:])
    rest = ok(get(fresh, f"{API}/v1/content/{guid}/bundles", page_number=2))
    assert (
        len(rest) == 5 and ok(get(fresh, f"{API}/v1/content/{guid}/bundles", page_number=3)) == []
    )
    assert len(first) + len(rest) == len(fresh.data.deployments[guid])


def test_jobs_follow_the_reference_and_older_servers_send_no_content_ids(fresh):
    guid = fresh.data.content[0]["guid"]
    jobs = ok(get(fresh, f"{API}/v1/content/{guid}/jobs"))
    assert jobs and all(set(job) == JOB_FIELDS for job in jobs)
    assert {job["content_guid"] for job in jobs} == {guid}
    assert all(
        job["status"] in (0, 2) and (job["end_time"] is None) == (job["status"] == 0)
        for job in jobs
    )
    fresh.mutate("set_version", {"version": "2024.12.0"})
    older = ok(get(fresh, f"{API}/v1/content/{guid}/jobs"))
    assert all(set(job) == JOB_FIELDS - {"content_id", "content_guid"} for job in older)


def test_jobs_and_environment_need_an_owner_collaborator_or_admin(fresh):
    others = next(i for i in fresh.data.content if i["owner_guid"] != fresh.data.users[1]["guid"])
    for route in ("jobs", "environment"):
        path = f"{API}/v1/content/{others['guid']}/{route}"
        assert_json_error(get(fresh, path, key=fresh.viewer_key), 403, 14)
        ok(get(fresh, path))


def test_environment_lists_names_only_and_refuses_every_write(fresh):
    guid = next(i["guid"] for i in fresh.data.content if fresh.details.environment(i["guid"]))
    path = f"{fresh.url}{API}/v1/content/{guid}/environment"
    names = ok(get(fresh, path))
    assert names == sorted(fresh.details.environment(guid)) and all(
        isinstance(n, str) for n in names
    )
    headers = {"Authorization": f"Key {fresh.api_key}"}
    for method in ("PUT", "PATCH", "POST", "DELETE"):
        response = requests.request(method, path, headers=headers, json=[], timeout=10)
        assert_json_error(response, 405, 3)
    assert not set(fresh.environment_values()) & set(json.dumps(names))


def test_oauth_associations_are_a_bare_array(fresh):
    rows = [
        row
        for item in fresh.data.content
        for row in ok(
            get(fresh, f"{API}/v1/content/{item['guid']}/oauth/integrations/associations")
        )
    ]
    assert rows and set(rows[0]) == {
        "app_guid", "oauth_integration_guid", "oauth_integration_name",
        "oauth_integration_description", "oauth_integration_template",
        "oauth_integration_auth_type", "created_time",
    }  # fmt: skip
    assert len(rows) == fresh.expected_counts()["oauth_associations"]


def test_never_deployed_content_has_empty_bundles_and_jobs(fresh):
    (guid,) = fresh.mutate("add_undeployed_content", {"n": 1})["added"]
    assert ok(get(fresh, f"{API}/v1/content/{guid}"))["bundle_id"] is None
    # 200 with an empty array, not 204: the reference lists no 204 for either route
    for route in ("bundles", "jobs"):
        response = get(fresh, f"{API}/v1/content/{guid}/{route}")
        assert (response.status_code, response.json()) == (200, [])


# -- mutations, faults, counters -----------------------------------------------------------------
def test_mutations_change_what_the_api_serves(fresh):
    before = ok(get(fresh, f"{API}/v1/content"))  # fills the content cache
    added = fresh.mutate("add_content", {"n": 3})["added"]
    updated = SimulatorClient(fresh.url).mutate("update_content", n=2)["updated"]
    deleted = fresh.mutate("delete_content", {"n": 4})["deleted"]
    after = {item["guid"]: item for item in ok(get(fresh, f"{API}/v1/content"))}
    assert set(added) - set(deleted) <= set(after) and not set(deleted) & set(after)
    assert len(after) == len(before) + 3 - 4 == fresh.expected_counts()["content_item"]
    assert fresh.deleted_content_guids == deleted
    assert_json_error(get(fresh, f"{API}/v1/content/{deleted[0]}"), 404, 4)
    old = {item["guid"]: item for item in before}
    for guid in set(updated) - set(deleted):
        assert instant(after[guid]["last_deployed_time"]) > instant(old[guid]["last_deployed_time"])
        assert after[guid]["title"] != old[guid]["title"]
        assert after[guid]["bundle_id"] != old[guid]["bundle_id"]
    counts = fresh.expected_counts()
    fresh.mutate("add_users", {"n": 2})
    fresh.mutate("add_audit_logs", {"n": 5})
    fresh.mutate("add_shiny_sessions", {"n": 6})
    grown = fresh.expected_counts()
    assert (grown["users"], grown["audit_logs"], grown["shiny_usage"]) == (
        counts["users"] + 2,
        counts["audit_logs"] + 5,
        counts["shiny_usage"] + 6,
    )
    with pytest.raises(ValueError):
        fresh.mutate("explode", {})


def test_injected_429_is_json_with_retry_after_and_counted(fresh):
    fresh.reset_counters()
    fresh.add_fault(kind="status", status=429, retry_after=2, times=1, route="/v1/users")
    limited = get(fresh, f"{API}/v1/users")
    assert_json_error(limited, 429, 277)
    assert limited.headers["Retry-After"] == "2"
    ok(get(fresh, f"{API}/v1/users"))
    get(fresh, f"{API}/v1/nowhere")
    stats = SimulatorClient(fresh.url).stats()
    assert stats["faults"] == {"429": 1}
    assert stats["requests"]["GET /__api__/v1/users"] == 1  # the faulted request never routed
    assert stats["requests"]["unmatched"] == 1


# -- fidelity with Posit's own client ---------------------------------------------------------------
def test_posit_sdk_reads_everything(sim):
    client = connect.Client(url=sim.url, api_key=sim.api_key)
    counts = sim.expected_counts()
    assert client.version == "2025.09.0"
    assert client.me["guid"] == sim.data.users[0]["guid"]
    assert len(client.content.find()) == counts["content"]
    item = client.content.get(sim.data.content[0]["guid"])
    assert item["owner"]["guid"] == item["owner_guid"]
    assert len(item.permissions.find()) == len(sim.data.permissions[item["guid"]])
    assert len(client.users.find()) == counts["users"]
    assert client.users.count() == counts["users"]
    assert len(client.groups.find()) == counts["groups"]
    assert len(client.tags.find()) == counts["tags"]
    assert len(client.oauth.integrations.find()) == counts["oauth_integrations"]
    assert len(client.oauth.sessions.find(all=True)) == counts["oauth_sessions"]
    assert len(item.bundles.find()) == min(20, len(sim.data.deployments[item["guid"]]))
    jobs = item.jobs.fetch()
    assert [job["key"] for job in jobs] == [
        job["key"] for job in sim.details.jobs(item["guid"], (2025, 9, 0))
    ]
    assert item.jobs.find(jobs[0]["key"])["key"] == jobs[0]["key"]
    assert item.environment_variables.find() == sorted(sim.details.environment(item["guid"]))
    associations = [
        association
        for each in client.content.find()
        for association in each.oauth.associations.find()
    ]
    assert len(associations) == counts["oauth_associations"]
    usage = client.metrics.usage.find()
    assert len(usage) == counts["content_visits"] + counts["shiny_usage"]
    with pytest.raises(ClientError) as missing:
        client.content.get("00000000-0000-4000-8000-000000000000")
    assert missing.value.error_code == 4 and missing.value.http_status == 404


def test_posit_sdk_reads_the_server_wide_tables(fresh):
    """posit-sdk's own readers of the server-wide routes: packages (page_number paging up to
    `total`), environments, and the content hits with its start/end window."""
    client = connect.Client(url=fresh.url, api_key=fresh.api_key)
    counts = fresh.expected_counts()
    packages = list(client.packages.fetch())
    assert len(packages) == counts["packages"] > 20  # more than the default page of 20
    assert {p["language"] for p in packages} <= {"r", "python"}
    assert client.packages.find_by(name=packages[0]["name"]) is not None
    assert client.environments.fetch() == []  # content runs locally: no images
    hits = client.metrics.hits.fetch()
    assert len(hits) == counts["content_hits"]
    assert all(isinstance(hit["id"], int) for hit in hits)
    middle = sorted(hit["timestamp"] for hit in hits)[len(hits) // 2]
    later = client.metrics.hits.fetch(start=middle)
    assert 0 < len(later) < len(hits) and min(h["timestamp"] for h in later) == middle
    one = hits[0]["content_guid"]
    assert {h["content_guid"] for h in client.metrics.hits.fetch(content_guid=[one])} == {one}


def test_server_wide_routes_shapes_roles_and_versions(fresh):
    caches = ok(get(fresh, f"{API}/v1/system/caches/runtime"))
    assert set(caches) == {"caches"}
    assert set(caches["caches"][0]) == {"language", "version", "image_name"}
    response = get(fresh, f"{API}/v1/system/caches/runtime", key=fresh.publisher_key)
    assert_json_error(response, 403, 14)
    python = ok(get(fresh, f"{API}/v1/server_settings/python", key=fresh.publisher_key))
    assert python["api_enabled"] is True
    assert set(python["installations"][0]) == {"version", "cluster_name", "image_name"}
    hosts = ok(get(fresh, f"{API}/v1/system/hosts"))
    assert {h["version"] for h in hosts} == {"2025.09.0"} and all(h["last_seen"] for h in hosts)
    page = ok(get(fresh, f"{API}/v1/packages"))
    assert set(page) == {"results", "current_page", "total"} and len(page["results"]) == 20
    # an older server: no vanity_url include, no packages, no hits
    SimulatorClient(fresh.url).mutate("set_version", version="2024.05.0")
    assert get(fresh, f"{API}/v1/content", include="owner,vanity_url").status_code == 400
    ok(get(fresh, f"{API}/v1/content", include="owner,tags"))
    for path in ("/v1/packages", "/v1/instrumentation/content/hits"):
        assert (get(fresh, API + path).status_code, get(fresh, API + path).text) == (
            404,
            "404 page not found",
        )


def test_posit_sdk_reads_the_environments_of_a_kubernetes_server():
    with PositConnectSimulator(content=3, environments=2) as k8s:
        client = connect.Client(url=k8s.url, api_key=k8s.publisher_key)
        environments = client.environments.fetch()
        assert len(environments) == 2
        assert {e["environment_type"] for e in environments} == {"Kubernetes"}
        assert all(e["python"]["installations"][0]["version"] for e in environments)


def test_a_server_may_hide_its_version():
    with PositConnectSimulator(content=3, hide_version=True) as hidden:
        settings = ok(get(hidden, f"{API}/server_settings", key=None))
        assert settings["version"] == "" and settings["build"] == ""


def test_posit_sdk_content_credentials(fresh):
    client = connect.Client(url=fresh.url, api_key=fresh.viewer_key)
    credentials = client.oauth.get_content_credentials(
        fresh.content_session_token, requested_token_type="urn:posit:connect:api-key"
    )
    visitor = connect.Client(url=fresh.url, api_key=credentials["access_token"])
    assert visitor.me["user_role"] == "publisher"
    assert len(visitor.content.find()) == fresh.expected_counts()["content"]


# -- scale and the command line ---------------------------------------------------------------------
def test_a_million_visits_page_newest_first_without_gaps():
    # how fast is the benchmarks' business (bench/); here: the pages are right at that size
    big = PositConnectSimulator(
        content=2000, users=50, visits=1_000_000, shiny_sessions=0, audit_logs=0
    )
    with big:
        path = f"{API}/v1/instrumentation/content/visits"
        newest = ok(get(big, path, limit=500, asc_order="false"))
        page = newest
        for _ in range(5):
            previous_oldest = datetime.fromisoformat(page["results"][-1]["time"])
            page = ok(get(big, page["paging"]["next"]))
            assert len(page["results"]) == 500
            assert datetime.fromisoformat(page["results"][0]["time"]) <= previous_oldest
        latest = newest["results"][0]["time"]
        assert ok(get(big, path, **{"from": latest}))["results"][-1]["time"] == latest


def test_module_runs_standalone_and_prints_url_and_key():
    command = [sys.executable, "-m", "simulators.posit_connect", "--port", "0", "--content", "5"]
    with subprocess.Popen([*command, "--seed", "4"], stdout=subprocess.PIPE, text=True) as process:
        try:
            lines = [process.stdout.readline().strip() for _ in range(3)]
            url = lines[1].removeprefix("CONNECT_SERVER=")
            key = lines[2].removeprefix("CONNECT_API_KEY=")
            assert key == PositConnectSimulator(content=5, seed=4).api_key
            headers = {"Authorization": f"Key {key}"}
            response = requests.get(f"{url}{API}/v1/content", headers=headers, timeout=10)
            assert len(json.loads(response.text)) == 5
        finally:
            process.terminate()
