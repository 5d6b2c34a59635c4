"""What the read-only webserver (deploy/DEPLOY.md, "Who gets in") lets people do: it shows
status but refuses every change, asked through GraphQL the way the UI asks. (That `tasks.py dev`
listens on this machine only is checked by tests/e2e/test_dagster_dev.py, which starts it.)"""

from __future__ import annotations

import os
import sys

import pytest

from assets.registry import POSIT_CONNECT
from tests.e2e.test_dagster_dev import (
    LAUNCH,
    SELECTOR,
    STARTUP_SECONDS,
    GraphQL,
    free_port,
    location_loaded,
    running,
    wait_for,
)
from tests.helpers import materialize_api

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SCHEDULE = "posit_connect_catalog_schedule"
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
