"""Sensors: refresh an API's catalog as soon as its server changed, and report failed runs.

A change sensor asks the server one cheap question per tick (its `ChangeProbe`: every row of
the primary list with a version, e.g. content guid -> last_deployed_time) and compares the
answer with the one stored in its cursor. The cursor holds a digest, not the list, so it stays
a few bytes however big the server is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from assets._catalog import row_key
from assets._http import plural
from assets.cadence import CATALOG, cadence_name
from assets.dagster_settings import OrchestrationSettings
from assets.registry import ChangeProbe, SourceInfo
from assets.translator import table_key

CHANGE_TAG = "connect_oscar/change"
WEBHOOK_TIMEOUT_SECONDS = 10


def change_sensor_name(info: SourceInfo) -> str:
    return f"{info.slug}_change_sensor"


def refreshed_on_change(info: SourceInfo, probe: ChangeProbe) -> list[AssetKey]:
    """The probed table and the catalog tables built from its rows (one request per row)."""
    children = [
        e.table
        for e in info.endpoints
        if e.load.parent == probe.table and cadence_name(e) == CATALOG
    ]
    return [table_key(info, table) for table in (probe.table, *children)]


def build_change_sensor(info: SourceInfo, settings: OrchestrationSettings) -> SensorDefinition:
    probe = info.change_probe
    assert probe is not None, f"{info.name} has no change probe"
    targets = refreshed_on_change(info, probe)

    @sensor(
        name=change_sensor_name(info),
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        target=targets,
        description=(
            f"Every {settings.sensor_interval_seconds} s, one list request to {info.server_title} asks "
            f"whether any row of {probe.table} is new, changed or gone; if so it refreshes "
            f"{', '.join(k.to_user_string() for k in targets)}."
        ),
    )
    def change_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
        try:
            versions = info.probe_versions()
        except Exception as error:  # a tick that cannot ask the server waits for the next one
            return SkipReason(
                f"Could not ask {info.server_title} whether {probe.table} changed: "
                + info.in_own_terms(str(error)).removeprefix(f"{info.server_title}: ")
            )
        digest = row_key(versions)  # the canonical-JSON hash the event tables key rows by
        items = plural(len(versions), "item")
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        cursor = json.dumps({"digest": digest, "rows": len(versions), "since": now})
        if context.cursor is None:
            return SensorResult(
                skip_reason=SkipReason(
                    f"First look at {info.server_title}: {len(versions)} rows of {probe.table} "
                    "recorded; a change from now on requests a refresh."
                ),
                cursor=cursor,
            )
        before = json.loads(context.cursor)
        if before["digest"] == digest:
            # cursors written before "since" existed say nothing of when
            since = f" since {before['since']}" if "since" in before else ""
            return SkipReason(
                f"No {probe.table} changed on {info.server_title}{since} ({items}): "
                "nothing to refresh."
            )
        change = (
            f"{probe.table} changed on {info.server_title}: "
            f"{before['rows']} -> {len(versions)} rows"
        )
        context.log.info(change)
        return SensorResult(
            run_requests=[
                RunRequest(
                    # the same change seen twice (a tick retried) requests one run
                    run_key=f"{before['digest'][:16]}->{digest[:16]}",
                    asset_selection=targets,
                    tags={CHANGE_TAG: change},
                )
            ],
            cursor=cursor,
        )

    return change_sensor


def unrefreshed_assets(instance: DagsterInstance, run_id: str) -> list[AssetKey]:
    """The assets the run set out to materialise and did not (all it planned, if it did)."""

    def keys(event_type: DagsterEventType) -> set[AssetKey]:
        records = instance.get_records_for_run(run_id, of_type=event_type).records
        return {r.event_log_entry.dagster_event.asset_key for r in records}

    planned = keys(DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    failed = planned - keys(DagsterEventType.ASSET_MATERIALIZATION)
    return sorted(failed or planned, key=lambda key: key.path)


def failure_message(
    run: DagsterRun,
    assets: Sequence[AssetKey],
    step_errors: Sequence[str],
    run_error: str,
    webserver_url: str,
) -> str:
    """Plain text that reads well in Slack, e-mail or a log."""
    names = ", ".join(key.to_user_string() for key in assets) or "none (the run failed first)"
    errors = "\n".join(f"- {error}" for error in step_errors) or f"- {run_error}"
    return (
        f"Refresh failed: run {run.run_id[:8]} of {run.job_name}\n"
        f"Assets not refreshed: {names}\n"
        f"Error:\n{errors}\n"
        f"Run: {webserver_url}/runs/{run.run_id}"
    )


def post_to_webhook(url: str, message: str) -> None:
    """Slack-compatible JSON. The URL is a secret (Slack puts the token in it): errors name
    its host only."""
    host = urlsplit(url).hostname
    try:
        response = requests.post(url, json={"text": message}, timeout=WEBHOOK_TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise RuntimeError(
            f"FAILURE_WEBHOOK_URL (host {host}) could not be reached: {type(error).__name__}"
        ) from None
    if response.status_code >= 400:
        raise RuntimeError(
            f"FAILURE_WEBHOOK_URL (host {host}) answered HTTP {response.status_code}"
        )


def build_failure_sensor(settings: OrchestrationSettings) -> SensorDefinition:
    @run_failure_sensor(
        name="refresh_failure_sensor",
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Reports every failed run of this code location with its assets, error and a link "
            "to the run: in the sensor's log, and as {'text': ...} JSON to FAILURE_WEBHOOK_URL "
            "(a Slack incoming webhook, or anything that accepts it) when that is set."
        ),
    )
    def refresh_failure_sensor(context: RunFailureSensorContext) -> None:
        step_errors = [
            f"{event.step_key}: {event.step_failure_data.error.message.strip()}"
            for event in context.get_step_failure_events()
            if event.step_failure_data.error is not None
        ]
        message = failure_message(
            context.dagster_run,
            unrefreshed_assets(context.instance, context.dagster_run.run_id),
            step_errors,
            context.failure_event.message or "the run failed",
            settings.webserver_url,
        )
        context.log.error(message)
        if settings.failure_webhook_url:
            post_to_webhook(settings.failure_webhook_url, message)

    return refresh_failure_sensor


def build_sensors(
    sources: Sequence[SourceInfo], settings: OrchestrationSettings
) -> list[SensorDefinition]:
    change_sensors = [build_change_sensor(info, settings) for info in sources if info.change_probe]
    return [*change_sensors, build_failure_sensor(settings)]
