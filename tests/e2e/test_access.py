"""Who can reach the UI and what they can do there: `tasks.py dev` listens on this machine
only, and the read-only webserver (deploy/DEPLOY.md, "Who gets in") shows status but refuses
every change, asked through GraphQL the way the UI asks."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from assets.registry import POSIT_CONNECT
from tests.e2e.test_dagster_dev import (
    LAUNCH,
    SELECTOR,
    GraphQL,
    free_port,
    location_loaded,
    running,
    wait_for,
)
from tests.helpers import materialize_api

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SCHEDULE = "posit_connect_catalog_schedule"
# dagster dev starts a webserver, a daemon and a code server: on a busy 2-core machine that
# took over 60 s
STARTUP_SECONDS = 180
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


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_tasks_dev_listens_on_this_machine_only(posit_sim, oscar_sim, isolated_env):
    """`python3 tasks.py dev` runs `python -m tools.load_all --dev` (with servers configured it
    starts no simulator): its UI answers on 127.0.0.1 and on no other address."""
    port = free_port()
    log = isolated_env / "tasks_dev.log"
    command = [sys.executable, "-m", "tools.load_all", "--dev", "--port", str(port)]
    graphql = GraphQL(f"http://127.0.0.1:{port}/graphql")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_WEBSERVER_HOST"}
    with running(command, env, log):
        # `dagster dev -m` names the location after the module
        loaded = lambda: location_loaded(graphql, "orchestration.definitions")  # noqa: E731
        wait_for("the code location", loaded, STARTUP_SECONDS, log)

        assert listening_addresses(port) == {"127.0.0.1"}


PERMISSIONS = "{ permissions { permission value } }"

SCHEDULE_STATE = """
query ($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    ... on Schedule { scheduleState { id status } }
  }
}"""

STOP_SCHEDULE = """
mutation ($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on UnauthorizedError { message }
    ... on ScheduleStateResult { scheduleState { status } }
  }
}"""

ASSET_STATUS = """
query ($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    ... on Asset {
      assetMaterializations(limit: 1) { runId metadataEntries { label } }
      definition {
        assetChecksOrError { ... on AssetChecks { checks { name } } }
      }
    }
  }
}"""


def test_read_only_webserver_shows_status_and_refuses_changes(
    posit_sim, persistent_instance, isolated_env
):
    loaded = materialize_api(POSIT_CONNECT, ["tags"], instance=persistent_instance)
    assert loaded.success
    port = free_port()
    log = isolated_env / "read_only_webserver.log"
    command = [
        *(sys.executable, "-m", "dagster_webserver", "--read-only"),
        *("-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)),
    ]
    graphql = GraphQL(f"http://127.0.0.1:{port}/graphql")
    with running(command, dict(os.environ), log):  # DAGSTER_HOME: the instance loaded above
        wait_for("the code location", lambda: location_loaded(graphql), STARTUP_SECONDS, log)

        # Reading works: the table's last load, its metadata and its checks.
        asset = graphql(ASSET_STATUS, key={"path": ["posit_connect", "tags"]})["assetOrError"]
        (materialization,) = asset["assetMaterializations"]
        assert materialization["runId"] == loaded.run_id
        assert "dagster/column_schema" in {e["label"] for e in materialization["metadataEntries"]}
        checks = asset["definition"]["assetChecksOrError"]["checks"]
        assert {"key_is_unique", "schema_unchanged"} <= {c["name"] for c in checks}

        # Launching a run is refused, and nothing runs.
        params = {
            "selector": {
                **SELECTOR,
                "jobName": "__ASSET_JOB",
                "assetSelection": [{"path": ["posit_connect", "tags"]}],
            },
            "mode": "default",
        }
        launched = graphql(LAUNCH, params=params)["launchRun"]
        assert launched["__typename"] == "UnauthorizedError", launched
        assert [r.run_id for r in persistent_instance.get_runs()] == [loaded.run_id]

        # Turning a schedule off is refused, and it stays on.
        selector = {**SELECTOR, "scheduleName": SCHEDULE}
        state = graphql(SCHEDULE_STATE, selector=selector)["scheduleOrError"]["scheduleState"]
        assert state["status"] == "RUNNING"
        stopped = graphql(STOP_SCHEDULE, id=state["id"])["stopRunningSchedule"]
        assert stopped["__typename"] == "UnauthorizedError", stopped
        after = graphql(SCHEDULE_STATE, selector=selector)["scheduleOrError"]["scheduleState"]
        assert after["status"] == "RUNNING"

        # The UI greys out every control: the server grants no permission to change anything.
        permissions = {p["permission"]: p["value"] for p in graphql(PERMISSIONS)["permissions"]}
        assert permissions["launch_pipeline_execution"] is False
        assert permissions["stop_running_schedule"] is False
        assert not any(permissions.values()), permissions
