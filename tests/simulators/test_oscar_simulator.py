"""The OSCAR simulator answers like a real OSCAR server (v3 and v4), over real sockets."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
from collections.abc import Iterator

import pytest
import requests
from oscar_python.client import Client

from simulators._server import SimulatorClient
from simulators.oscar import OscarSimulator

WINDOW = {"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}
SEED_ROUTES = ("/services", "/users", "/projects", "/sites", "/attributes")
V4_ONLY = (
    "/system/metrics?start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z",
    "/system/metrics/breakdown?group_by=service",
    "/system/volumes",
    "/system/quotas/user",
    "/system/federation/cowsay",
    "/system/services/cowsay/deployment",
)


@pytest.fixture(scope="module")
def v4() -> Iterator[OscarSimulator]:
    with OscarSimulator(services=12, jobs_per_service=25, jobs_page_size=10, api="v4") as sim:
        yield sim


@pytest.fixture(scope="module")
def v3() -> Iterator[OscarSimulator]:
    with OscarSimulator(services=8, jobs_per_service=25, jobs_page_size=10, api="v3") as sim:
        yield sim


@pytest.fixture
def fresh() -> Iterator[OscarSimulator]:
    """A small simulator of its own, for tests that change the cluster."""
    with OscarSimulator(services=4, jobs_per_service=5, jobs_page_size=3) as sim:
        yield sim


def get(sim: OscarSimulator, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("auth", (sim.username, sim.password))
    return requests.get(f"{sim.url}{path}", timeout=10, **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def all_job_pages(sim: OscarSimulator, service: str) -> list[dict]:
    pages, token = [], ""
    while True:
        body = get(sim, f"/system/logs/{service}", params={"page": token}).json()
        pages.append(body)
        if "next_page" not in body:
            return pages
        token = body["next_page"]


def refresh(sim: OscarSimulator, refresh_token: str) -> requests.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": sim.client_id,
        "scope": "openid email profile eduperson_entitlement",
    }
    return requests.post(f"{sim.url}{sim.token_endpoint_path}", data=form, timeout=10)


# -- routes and shapes -----------------------------------------------------------------------
def test_health_needs_no_auth(v4):
    response = requests.get(f"{v4.url}/health", timeout=10)
    assert (response.status_code, response.text) == (200, "Ok")


def test_info_and_config_v4(v4):
    info = get(v4, "/system/info").json()
    assert info["version"] == "v4.1.2"
    assert {"git_commit", "architecture", "kubernetes_version"} <= info.keys()
    assert info["serverless_backend"].keys() == {"name", "version"}
    config = get(v4, "/system/config").json()
    assert {"name", "namespace", "services_namespace", "gpu_available", "interLink_available",
            "yunikorn_enable", "oidc_groups"} <= config["config"].keys()  # fmt: skip
    assert config["minio_provider"]["secret_key"] in v4.secrets()


def test_status_reports_nodes_deployment_and_minio(v4):
    status = get(v4, "/system/status").json()
    assert status["cluster"]["nodes_count"] == len(status["cluster"]["nodes"]) >= 3
    assert {"cpu", "memory"} <= status["cluster"]["nodes"][0].keys()
    assert status["oscar"]["jobs_count"] == len(v4.expected_jobs())
    assert status["minio"]["buckets_count"] == len(get(v4, "/system/buckets").json())


def test_v4_services_carry_every_field_and_secret(v4):
    services = get(v4, "/system/services").json()
    assert [s["name"] for s in services] == sorted(s["name"] for s in services) and len(
        services
    ) == 12
    assert services == v4.services_snapshot()
    for service in services:
        assert {"name", "memory", "cpu", "image", "token", "input", "output", "environment", "vo",
                "owner", "visibility", "allowed_users", "storage_providers", "federation",
                "synchronous", "expose", "isolation_level", "bucket_list"} <= service.keys()  # fmt: skip
        assert "replicas" not in service
        assert service["token"] in v4.secrets()
    exposed = [s["expose"]["api_port"] for s in services if "api_port" in s["expose"]]
    assert exposed and all(isinstance(ports, list) for ports in exposed)
    assert {s["visibility"] for s in services} == {"private", "public", "restricted"}
    assert len({s["vo"] for s in services}) > 1
    providers = {kind for s in services for kind in s["storage_providers"]}
    assert providers >= {"minio", "s3", "onedata", "webdav", "rucio"}
    federated = [s for s in services if s["federation"].get("members")]
    assert federated and all(s["clusters"] for s in federated)


def test_every_advertised_secret_is_really_served(v4):
    served = get(v4, "/system/services").text + get(v4, "/system/config").text
    tokens = {v4.password, v4.refresh_token, v4.bearer_token}
    missing = [s for s in v4.secrets() if s not in served and s not in tokens]
    assert not missing


def test_single_service_and_unknown_service(v4):
    assert get(v4, "/system/services/cowsay").json()["name"] == "cowsay"
    missing = get(v4, "/system/services/no-such-service")
    assert (missing.status_code, missing.content) == (404, b"")


def test_v3_shapes_replicas_int_port_and_bare_job_map(v3):
    assert get(v3, "/system/info").json()["version"] == "v3.6.3"
    services = get(v3, "/system/services").json()
    assert all("federation" not in s for s in services)
    assert any(s.get("replicas") for s in services)
    exposed = [s["expose"]["api_port"] for s in services if "api_port" in s["expose"]]
    assert exposed and all(isinstance(port, int) for port in exposed)
    jobs = get(v3, "/system/logs/cowsay").json()
    assert "jobs" not in jobs and len(jobs) == 25  # the old bare map, all jobs at once
    assert set(next(iter(jobs.values()))) == {
        "status",
        "creation_time",
        "start_time",
        "finish_time",
    }
    assert get(v3, "/system/status").status_code == 200
    assert get(v3, "/system/buckets").status_code == 200


@pytest.mark.parametrize("path", V4_ONLY)
def test_v4_only_routes_are_missing_on_v3(v3, path):
    response = get(v3, path, auth=None)  # a missing route never reaches auth
    assert (response.status_code, response.text) == (404, "404 page not found")


@pytest.mark.parametrize("path", SEED_ROUTES)
def test_marketing_page_routes_do_not_exist(v4, path):
    response = get(v4, path)
    assert (response.status_code, response.text) == (404, "404 page not found")


def test_v4_extras(v4):
    assert get(v4, "/system/federation/cowsay").json().keys() == {"topology", "members"}
    assert get(v4, "/system/services/cowsay/deployment").json()["service_name"] == "cowsay"
    assert isinstance(get(v4, "/system/volumes").json(), list)
    assert (
        get(v4, "/system/quotas/user", headers=bearer(v4.bearer_token), auth=None).json()["user_id"]
        == v4.bearer_uid
    )
    breakdown = get(
        v4, "/system/metrics/breakdown", params={**WINDOW, "group_by": "service"}
    ).json()
    assert breakdown.keys() == {"start", "end", "group_by", "items"}
    assert {item["key"] for item in breakdown["items"]} == {
        s["name"] for s in v4.services_snapshot()
    }
    summary = get(v4, "/system/metrics", params=WINDOW).json()
    assert summary["totals"]["requests_count_async"] == len(v4.expected_jobs())
    no_window = get(v4, "/system/metrics")
    assert no_window.status_code == 400 and "error" in no_window.json()


# -- auth ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "credentials",
    [
        {"auth": None},
        {"auth": ("oscar", "wrong")},
        {"auth": None, "headers": bearer("not-a-token")},
    ],
)
def test_unauthorised_requests_get_an_empty_401(v4, credentials):
    response = get(v4, "/system/services", **credentials)
    assert (response.status_code, response.content) == (401, b"")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Authorization Required"'


def test_a_service_token_does_not_open_system_routes(v4):
    token = get(v4, "/system/services/cowsay").json()["token"]
    assert get(v4, "/system/services", auth=None, headers=bearer(token)).status_code == 401


def test_bearer_user_sees_only_own_public_and_shared_services(v4):
    seen = get(v4, "/system/services", auth=None, headers=bearer(v4.bearer_token)).json()
    names = {s["name"] for s in seen}
    assert names == v4.bearer_visible_services()
    assert 0 < len(names) < 12
    for service in seen:
        assert (
            service["owner"] == v4.bearer_uid
            or service["visibility"] == "public"
            or v4.bearer_uid in service["allowed_users"]
        )
    assert v4.bearer_uid.endswith("@egi.eu")
    hidden = sorted({s["name"] for s in v4.services_snapshot()} - names)[0]
    for path in (f"/system/services/{hidden}", f"/system/logs/{hidden}"):
        response = get(v4, path, auth=None, headers=bearer(v4.bearer_token))
        assert response.status_code == 403 and "permission" in response.text


def test_refresh_token_flow_and_expiry():
    with OscarSimulator(services=3, jobs_per_service=1) as sim:
        old = sim.bearer_token
        assert sim.mutate("expire_bearer_tokens", {}) == {"expired": 1}
        assert get(sim, "/system/services", auth=None, headers=bearer(old)).status_code == 401
        grant = refresh(sim, sim.refresh_token)
        assert grant.status_code == 200
        body = grant.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        assert body["refresh_token"] == sim.refresh_token and body["access_token"] != old
        fresh_token = body["access_token"]
        assert (
            get(sim, "/system/services", auth=None, headers=bearer(fresh_token)).status_code == 200
        )
        assert fresh_token in sim.secrets()
        bad = refresh(sim, "not-the-refresh-token")
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid_grant")


# -- jobs paging -----------------------------------------------------------------------------
def test_job_pages_return_every_job_exactly_once(v4):
    pages = all_job_pages(v4, "cowsay")
    names = [name for page in pages for name in page["jobs"]]
    assert [len(page["jobs"]) for page in pages] == [10, 10, 5]
    assert [page["remaining_jobs"] for page in pages] == [15, 5, 0]
    assert len(names) == len(set(names))
    assert {("cowsay", name) for name in names} == {
        j for j in v4.expected_jobs() if j[0] == "cowsay"
    }
    assert all(name.startswith("cowsay-") and len(name) == len("cowsay-") + 5 for name in names)
    statuses = {job["status"] for page in pages for job in page["jobs"].values()}
    assert statuses <= {"Pending", "Running", "Succeeded", "Failed"}
    running = [
        j for p in pages for j in p["jobs"].values() if j["status"] in ("Pending", "Running")
    ]
    assert running and all(j["finish_time"] is None for j in running)
    assert all(j["creation_time"].endswith("Z") for p in pages for j in p["jobs"].values())


def test_bad_or_foreign_page_token_is_an_empty_404(v4):
    other_service_token = get(v4, "/system/logs/cowsay").json()["next_page"]
    for service, token in (("cowsay", "bm90LWEtdG9rZW4"), ("body-pose", other_service_token)):
        response = get(v4, f"/system/logs/{service}", params={"page": token})
        assert (response.status_code, response.content) == (404, b"")
    assert get(v4, "/system/logs/no-such-service").status_code == 404


def test_job_log_text(v4):
    name, _ = next(
        (n, j)
        for n, j in all_job_pages(v4, "cowsay")[0]["jobs"].items()
        if j["status"] == "Succeeded"
    )
    response = get(v4, f"/system/logs/cowsay/{name}")
    assert response.status_code == 200 and "supervisor" in response.text


# -- mutations, faults, counters -------------------------------------------------------------
def test_mutations_change_what_the_api_serves(fresh):
    assert fresh.mutate("add_service", {"n": 2})["added"] == [
        "whisper-transcribe",
        "fish-detection",
    ]
    assert fresh.mutate("remove_service", {"name": "cowsay"}) == {"removed": ["cowsay"]}
    names = {s["name"] for s in get(fresh, "/system/services").json()}
    assert "cowsay" not in names and "fish-detection" in names
    assert all(service != "cowsay" for service, _ in fresh.expected_jobs())

    updated = fresh.mutate("update_service", {"name": "plant-classification"})["updated"]
    service = get(fresh, "/system/services/plant-classification").json()
    assert updated == ["plant-classification"] and "revision" in service["labels"]

    added = fresh.mutate("add_jobs", {"service": "fish-detection", "n": 4})["added"]
    jobs = {n for page in all_job_pages(fresh, "fish-detection") for n in page["jobs"]}
    assert jobs == {name for _, name in added}

    first = fresh.mutate("change_job_status", {"service": "fish-detection", "n": 4})["changed"]
    second = fresh.mutate("change_job_status", {"service": "fish-detection", "n": 4})["changed"]
    assert {c[3] for c in first} == {"Running"} and {c[3] for c in second} == {"Succeeded"}
    finished = get(fresh, "/system/logs/fish-detection").json()["jobs"]
    assert all(j["finish_time"] for j in finished.values())

    before = fresh.expected_jobs()
    expired = fresh.mutate("expire_jobs", {"n": 3})["expired"]
    assert before - fresh.expected_jobs() == {tuple(pair) for pair in expired}


def test_mutations_over_http_and_api_switch(fresh):
    control = SimulatorClient(fresh.url)
    assert control.mutate("set_api", api="v3") == {"api": "v3", "version": "v3.6.3"}
    assert get(fresh, "/system/metrics", params=WINDOW).status_code == 404
    assert "jobs" not in get(fresh, "/system/logs/cowsay").json()
    assert control.mutate("set_api", api="v4")["version"] == "v4.1.2"
    assert "jobs" in get(fresh, "/system/logs/cowsay").json()
    with pytest.raises(urllib.error.HTTPError, match="400"):
        control.mutate("no_such_action")


def test_injected_503_and_request_counters(fresh):
    fresh.reset_counters()
    fresh.add_fault(kind="status", status=503, times=1, route=r"^/system/services$")
    assert get(fresh, "/system/services").status_code == 503
    assert get(fresh, "/system/services").status_code == 200
    get(fresh, "/users")
    stats = fresh.stats()
    assert stats["faults"] == {"503": 1}
    assert stats["requests"]["GET /system/services"] == 1  # the faulted request never dispatched
    assert stats["requests"]["unmatched"] == 1


def test_same_seed_same_cluster():
    one = OscarSimulator(services=5, jobs_per_service=4, seed=7)
    two = OscarSimulator(services=5, jobs_per_service=4, seed=7)
    other = OscarSimulator(services=5, jobs_per_service=4, seed=8)
    assert one.services_snapshot() == two.services_snapshot()
    assert one.expected_jobs() == two.expected_jobs() != other.expected_jobs()
    assert one.password == two.password != other.password


# -- GRyCAP's own client ---------------------------------------------------------------------
def test_oscar_python_client_with_basic_auth(v4):
    client = Client(
        {
            "cluster_id": "sim",
            "endpoint": v4.url,
            "user": v4.username,
            "password": v4.password,
            "ssl": "False",
        }
    )
    assert client.get_cluster_info().json()["version"] == v4.version
    assert client.get_cluster_config().json()["config"]["name"] == "oscar"
    services = client.list_services()
    assert services.status_code == 200 and len(services.json()) == 12
    jobs = client.list_jobs("cowsay")
    assert jobs.status_code == 200 and len(jobs.json()["jobs"]) == 10
    next_page = client.list_jobs("cowsay", jobs.json()["next_page"])
    assert not set(next_page.json()["jobs"]) & set(jobs.json()["jobs"])


def test_oscar_python_client_refreshes_its_token(v4):
    client = Client(
        {
            "cluster_id": "sim",
            "endpoint": v4.url,
            "refresh_token": v4.refresh_token,
            "token_endpoint": f"{v4.url}{v4.token_endpoint_path}",
            "client_id": v4.client_id,
            "ssl": "False",
        }
    )
    services = client.list_services()  # no access token yet: the client refreshes first
    assert services.status_code == 200
    assert {s["name"] for s in services.json()} == v4.bearer_visible_services()


def test_runs_standalone():
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.oscar", "--port", "0", "--services", "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(7)]  # the URL, then what to log in with
        url = lines[0].split("listening on ")[1].strip()
        password = next(line.split()[-1] for line in lines if "password" in line)
        response = requests.get(f"{url}/system/services", auth=("oscar", password), timeout=10)
        assert response.status_code == 200 and len(response.json()) == 2
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- version profiles: clusters as they are deployed ----------------------------------------
@pytest.mark.parametrize("profile", ["v4-kueue", "fresh"])
def test_the_quota_route_answers_basic_auth_401_in_plain_text_and_a_token_its_quota(profile):
    with OscarSimulator(profile=profile, services=2, jobs_per_service=2) as sim:
        basic = get(sim, "/system/quotas/user")
        token = get(sim, "/system/quotas/user", auth=None, headers=bearer(sim.bearer_token))
        services = get(sim, "/system/services")

    assert services.status_code == 200  # the same Basic credentials are good elsewhere
    assert basic.status_code == 401
    assert basic.text == "missing user identificator: missing user identificator"
    assert basic.headers["Content-Type"].startswith("text/plain")
    assert token.status_code == 200 and token.json()["user_id"] == sim.bearer_uid


def test_v4_without_kueue_and_volumes_has_neither_route():
    with OscarSimulator(profile="v4-plain", services=2, jobs_per_service=2) as sim:
        answers = [get(sim, path) for path in ("/system/quotas/user", "/system/volumes")]
        breakdown = get(sim, "/system/metrics/breakdown", params={**WINDOW, "group_by": "user"})

    assert [(a.status_code, a.text) for a in answers] == [(404, "404 page not found")] * 2
    assert breakdown.status_code == 200


def test_v3_6_3_names_buckets_bucket_path_and_reports_status_in_the_v3_shape():
    with OscarSimulator(profile="v3.6.3", services=3, jobs_per_service=2) as sim:
        buckets = get(sim, "/system/buckets").json()
        status = get(sim, "/system/status").json()
        jobs = get(sim, "/system/logs/cowsay").json()

    assert buckets and all("bucket_path" in b and "bucket_name" not in b for b in buckets)
    assert {b["bucket_path"] for b in buckets} == sim.expected_buckets()
    assert "cluster" not in status
    assert status["numberNodes"] == len(status["detail"]) == len(sim.nodes)
    node = status["detail"][0]
    assert node["cpuCapacity"] == str(sim.nodes[0]["cpu_capacity"])  # figures as strings
    assert status["cpuFreeTotal"] == sum(n["cpu_capacity"] - n["cpu_usage"] for n in sim.nodes)
    assert {"deploymentName", "jobsCount", "podsInfo", "OIDC"} <= status["OSCAR"].keys()
    assert len(status["MinIO"]["buckets"]) == len(buckets)
    assert "jobs" not in jobs and len(jobs) == 2  # the bare job map of servers before v3.6.4


def test_a_fresh_cluster_lists_no_services_and_null_buckets():
    with OscarSimulator(profile="fresh") as sim:
        services = get(sim, "/system/services")
        buckets = get(sim, "/system/buckets")
        status = get(sim, "/system/status").json()

    assert services.json() == []
    assert buckets.status_code == 200 and buckets.text == "null"  # Go's nil slice
    assert status["minio"]["buckets_count"] == 0 and status["oscar"]["jobs_count"] == 0
