"""The real thing: `python3 tasks.py dev` (`tools.load_all --dev`: `dagster dev`, webserver
and daemon) against the simulators, driven through the webserver's GraphQL API the way the UI
drives it.

It listens on this machine only; it finds every asset, check, schedule and sensor the code
defines; launches two
materialisations of the posit_connect group at once (they share one DuckDB file, so the
writer pool must queue them); then lets the change sensor notice a change on the server and
checks that its run loaded it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
import yaml

from assets.destinations import REPO_ROOT
from assets.registry import POSIT_CONNECT
from orchestration.definitions import build_definitions
from tests.conftest import duckdb_file

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

LOCATION = "posit_connect_oscar"  # workspace.yaml's location_name
REPOSITORY = "__repository__"
CHANGE_SENSOR = "posit_connect_change_sensor"
# a webserver, a daemon and a code server: over 60 s on a busy 2-core machine
STARTUP_SECONDS = 180
RUN_SECONDS = 120
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
# Sensors and schedules evaluate in threads, so a slow server never holds up the other ticks.
DAEMON_SETTINGS = {
    "sensors": {"use_threads": True, "num_workers": 4},
    "schedules": {"use_threads": True, "num_workers": 2},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, IPv4 and IPv6 (Linux's /proc)."""
    addresses = set()
    step = -1 if sys.byteorder == "little" else 1
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not Path(table).exists():  # no IPv6 on this machine
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == LISTEN and int(hex_port, 16) == port:
                # the kernel prints each 32-bit word of the address in host byte order
                words = [bytes.fromhex(address[i : i + 8]) for i in range(0, len(address), 8)]
                addresses.add(socket.inet_ntop(family, b"".join(w[::step] for w in words)))
    return addresses


def wait_for(what: str, probe: Callable[[], Any], seconds: float, log: Path) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(1)
    tail = log.read_text(errors="replace")[-4000:]
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}\n{tail}")


class GraphQL:
    def __init__(self, url: str):
        self.url = url

    def __call__(self, query: str, **variables: Any) -> dict:
        response = requests.post(
            self.url, json={"query": query, "variables": variables}, timeout=30
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


@pytest.fixture
def dagster_dev(posit_sim, oscar_sim, isolated_env: Path) -> Iterator[tuple[GraphQL, Path]]:
    """`tasks.py dev` in its own process group, with a DAGSTER_HOME of its own (with servers
    configured it starts no simulator of its own)."""
    home = Path(os.environ["DAGSTER_HOME"])
    instance_config = yaml.safe_load((REPO_ROOT / "dagster_home" / "dagster.yaml").read_text())
    (home / "dagster.yaml").write_text(yaml.safe_dump({**instance_config, **DAEMON_SETTINGS}))
    port = free_port()
    env = {
        # the simulators' URLs and keys, DUCKDB_DIR, DLT_DATA_DIR, DAGSTER_HOME; the default host
        **{k: v for k, v in os.environ.items() if k != "DAGSTER_WEBSERVER_HOST"},
        "CHANGE_SENSOR_INTERVAL_SECONDS": "5",
        # nothing scheduled fires while the test runs
        "CATALOG_REFRESH_CRON": "0 0 1 1 *",
        "USAGE_REFRESH_CRON": "0 0 1 1 *",
        "DAILY_REFRESH_CRON": "0 0 1 1 *",
        "DAGSTER_WEBSERVER_URL": f"http://127.0.0.1:{port}",
    }
    log = isolated_env / "dagster_dev.log"
    command = [sys.executable, "-m", "tools.load_all", "--dev", "--port", str(port)]
    graphql = GraphQL(f"http://127.0.0.1:{port}/graphql")
    with running(command, env, log):
        wait_for("the code location", lambda: location_loaded(graphql), STARTUP_SECONDS, log)
        yield graphql, log


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    """`command` from the repo root in its own process group (a webserver's code server and
    daemon with it), its output in `log`; stopped, group and all, on leaving."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        # A code server that was mid-shutdown once outlived its webserver for good, in the
        # group: whatever of the group is left after a grace period is killed.
        deadline = time.monotonic() + 10
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def location_loaded(graphql: GraphQL, name: str = LOCATION) -> bool:
    try:
        data = graphql(
            """{ workspaceOrError { ... on Workspace { locationEntries {
                 name loadStatus locationOrLoadError { __typename ... on PythonError { message } }
               } } } }"""
        )
    except requests.RequestException:
        return False  # the webserver is not up yet
    entries = data["workspaceOrError"]["locationEntries"]
    location = next((e for e in entries if e["name"] == name), None)
    if location and location["locationOrLoadError"]["__typename"] == "PythonError":
        raise AssertionError(location["locationOrLoadError"]["message"])
    return bool(location) and location["loadStatus"] == "LOADED"


SELECTOR = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}

REPOSITORY_QUERY = """
query ($selector: RepositorySelector!) {
  repositoryOrError(repositorySelector: $selector) {
    ... on Repository {
      assetNodes {
        assetKey { path }
        assetChecksOrError { ... on AssetChecks { checks { name } } }
      }
      schedules { name cronSchedule executionTimezone scheduleState { status } }
      sensors { name minIntervalSeconds sensorState { status } }
    }
  }
}"""

LAUNCH = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}"""

RUN = """
query ($runId: ID!) {
  runOrError(runId: $runId) {
    ... on Run { runId status stepStats { stepKey status startTime endTime } }
  }
}"""

SENSOR = """
query ($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    ... on Sensor {
      sensorState {
        status
        typeSpecificData { ... on SensorData { lastCursor } }
        ticks(limit: 1) { status skipReason error { message } }
      }
    }
  }
}"""

SENSOR_RUNS = """
query ($filter: RunsFilter!) {
  runsOrError(filter: $filter) { ... on Runs { results { runId status } } }
}"""

ONE_ASSET = """
query ($key: AssetKeyInput!) {
  assetNodes(assetKeys: [$key]) {
    description groupName owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    kinds tags { key value } jobNames
    internalFreshnessPolicy { ... on TimeWindowFreshnessPolicy { failWindowSeconds } }
    freshnessStatusInfo { freshnessStatus }
    assetChecksOrError { ... on AssetChecks { checks {
      name description
      executionForLatestMaterialization { status evaluation { description severity } }
    } } }
  }
  assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(limit: 1) { runId metadataEntries { label } } }
  }
}"""


AS_AN_ADMIN_SEES_IT = """
query ($selector: RepositorySelector!) {
  repositoryOrError(repositorySelector: $selector) {
    ... on Repository {
      assetNodes {
        assetKey { path }
        metadataEntries { label }
        assetMaterializations(limit: 1) {
          metadataEntries { label ... on IntMetadataEntry { intValue } }
        }
        assetChecksOrError { ... on AssetChecks { checks {
          name executionForLatestMaterialization { status evaluation { description } }
        } } }
      }
    }
  }
}"""


def launch(graphql: GraphQL, nodes: list[dict]) -> str:
    """What the UI's "Materialize" sends for these assets: their checks run after them."""
    params = {
        "selector": {
            **SELECTOR,
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": n["assetKey"]["path"]} for n in nodes],
            "assetCheckSelection": [
                {"assetKey": {"path": n["assetKey"]["path"]}, "name": check["name"]}
                for n in nodes
                for check in n["assetChecksOrError"]["checks"]
            ],
        },
        "mode": "default",
    }
    launched = graphql(LAUNCH, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def finished_run(graphql: GraphQL, run_id: str, log: Path) -> dict:
    def terminal() -> dict | None:
        run = graphql(RUN, runId=run_id)["runOrError"]
        return run if run["status"] in TERMINAL else None

    return wait_for(f"run {run_id}", terminal, RUN_SECONDS, log)


def current_content_rows() -> int:
    with duckdb.connect(str(duckdb_file(POSIT_CONNECT)), read_only=True) as con:
        table = f"{POSIT_CONNECT.dataset_name}.content"
        return con.execute(f"SELECT count(*) FROM {table} WHERE _dlt_valid_to IS NULL").fetchone()[
            0
        ]


def test_dagster_dev_shows_everything_runs_it_and_refreshes_on_a_change(dagster_dev, posit_sim):
    graphql, log = dagster_dev
    started = time.monotonic()

    # 0. The UI answers on this machine and on no other address (Linux's socket table).
    if Path("/proc/net/tcp").exists():
        port = int(graphql.url.split(":")[-1].split("/")[0])
        assert listening_addresses(port) == {"127.0.0.1"}

    # 1. Everything the code defines is in the running Dagster, with its settings.
    shown = graphql(REPOSITORY_QUERY, selector=SELECTOR)["repositoryOrError"]
    repository = build_definitions().get_repository_def()
    assert {"/".join(n["assetKey"]["path"]) for n in shown["assetNodes"]} == {
        key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()
    }
    assert {
        ("/".join(n["assetKey"]["path"]), check["name"])
        for n in shown["assetNodes"]
        for check in n["assetChecksOrError"]["checks"]
    } == {(c.asset_key.to_user_string(), c.name) for c in repository.asset_graph.asset_check_keys}
    assert {
        s["name"]: (s["cronSchedule"], s["scheduleState"]["status"]) for s in shown["schedules"]
    } == {s.name: ("0 0 1 1 *", "RUNNING") for s in repository.schedule_defs}
    sensors = {s["name"]: s for s in shown["sensors"]}
    assert set(sensors) == {s.name for s in repository.sensor_defs}
    assert sensors[CHANGE_SENSOR]["minIntervalSeconds"] == 5
    assert all(s["sensorState"]["status"] == "RUNNING" for s in sensors.values())

    # 2. The posit_connect group, and at the same time one of its tables: both write the same
    #    DuckDB file, so the writer pool must queue one load behind the other.
    posit = [n for n in shown["assetNodes"] if n["assetKey"]["path"][0] == "posit_connect"]
    tags = [n for n in posit if n["assetKey"]["path"][1] == "tags"]
    runs = [
        finished_run(graphql, run_id, log)
        for run_id in (launch(graphql, posit), launch(graphql, tags))
    ]
    assert [run["status"] for run in runs] == ["SUCCESS", "SUCCESS"], runs
    writes = sorted(
        (step["startTime"], step["endTime"])
        for run in runs
        for step in run["stepStats"]
        if step["stepKey"]
        in ("posit_connect_tables", "posit_connect_table_checks", "posit_connect_insights")
    )
    assert all(a[1] <= b[0] for a, b in pairwise(writes)), f"overlapped: {writes}"
    assert current_content_rows() == posit_sim.expected_counts()["content"]

    # 2b. What an admin reads after a clean demo load: a row count on every table, no
    #     unserializable dlt objects or load-file dumps, and no check that warns or fails.
    nodes = graphql(AS_AN_ADMIN_SEES_IT, selector=SELECTOR)["repositoryOrError"]["assetNodes"]
    for node in (n for n in nodes if n["assetKey"]["path"][0] == "posit_connect"):
        name = "/".join(node["assetKey"]["path"])
        assert not [e for e in node["metadataEntries"] if "dagster_dlt" in e["label"]], name
        (materialization,) = node["assetMaterializations"]
        labels = {e["label"]: e.get("intValue") for e in materialization["metadataEntries"]}
        assert labels["dagster/row_count"] is not None, name
        if node["assetKey"]["path"][1] == "insights":  # built in the same run, after the loads
            assert {"chart", "top_rows", "as_of"} <= set(labels), name
            continue
        assert labels["rows_loaded"] is not None, name
        assert not {"jobs", "destination_type", "first_run"} & set(labels), name
        checks = node["assetChecksOrError"]["checks"]
        assert {c["executionForLatestMaterialization"]["status"] for c in checks} == {
            "SUCCEEDED"
        }, (name, checks)

    # 3. The change sensor: it has looked at the server once (its cursor), then a change on
    #    the server makes it request a run that loads the change.
    sensor_selector = {**SELECTOR, "sensorName": CHANGE_SENSOR}
    graphql(
        "mutation ($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }",
        s=sensor_selector,
    )

    def sensor_state() -> dict:
        return graphql(SENSOR, selector=sensor_selector)["sensorOrError"]["sensorState"]

    wait_for(
        "the change sensor's first tick",
        lambda: sensor_state()["typeSpecificData"]["lastCursor"],
        30,
        log,
    )
    posit_sim.mutate("add_content", {"n": 2})
    posit_sim.mutate("update_content", {"n": 1})

    def sensor_run() -> dict | None:
        results = graphql(
            SENSOR_RUNS, filter={"tags": [{"key": "dagster/sensor_name", "value": CHANGE_SENSOR}]}
        )["runsOrError"]["results"]
        return results[0] if results and results[0]["status"] in TERMINAL else None

    run = wait_for("a run requested by the change sensor", sensor_run, RUN_SECONDS, log)
    assert run["status"] == "SUCCESS", run
    assert current_content_rows() == posit_sim.expected_counts()["content"] == 42

    # 4. What the UI shows for one asset (printed for the record).
    content = graphql(ONE_ASSET, key={"path": ["posit_connect", "content"]})
    node = content["assetNodes"][0]
    checks = {c["name"]: c for c in node["assetChecksOrError"]["checks"]}
    assert node["internalFreshnessPolicy"] == {"failWindowSeconds": 3 * 3600}
    assert set(checks) == {
        "key_is_unique",
        "key_is_not_null",
        "has_current_rows",
        "schema_unchanged",
    }
    assert all(
        c["executionForLatestMaterialization"]["status"] == "SUCCEEDED" for c in checks.values()
    )
    print(json.dumps(content, indent=1))
    print(f"e2e after start-up: {time.monotonic() - started:.1f} s")
