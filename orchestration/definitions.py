"""The code location: everything Dagster shows is assembled here, from the enabled APIs."""

from __future__ import annotations

import atexit
import gc

from dagster import (
    AssetSelection,
    Definitions,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
)
from dagster_dlt import DagsterDltResource

from assets.checks import build_table_checks
from assets.dagster_settings import OrchestrationSettings
from assets.destinations import destination_name
from assets.dlt_assets import NO_VIEWS, build_api_assets
from assets.insights.dagster_assets import build_insight_assets, build_insights_sensor
from assets.registry import enabled_servers, enabled_sources
from orchestration.schedules import build_refresh_schedules
from orchestration.sensors import build_sensors


def build_definitions(settings: OrchestrationSettings | None = None) -> Definitions:
    settings = settings or OrchestrationSettings.from_env()
    refresh_all = define_asset_job(
        "refresh_all",
        selection=AssetSelection.all(),
        description="Every table of every API, the APIs in parallel (one DuckDB file each).",
        executor_def=multiprocess_executor,
    )
    sources = enabled_servers()  # every configured server of every enabled API
    # The insights are SQL over the `<api>_all` views, which file destinations do not have.
    insights = (
        []
        if destination_name() in NO_VIEWS
        else [
            build_insight_assets(api, [s for s in sources if s.name == api.name], settings)
            for api in enabled_sources()
        ]
    )
    return Definitions(
        assets=[*(build_api_assets(info, settings) for info in sources), *insights],
        asset_checks=[build_table_checks(info) for info in sources],
        jobs=[refresh_all],
        schedules=build_refresh_schedules(sources, settings),
        sensors=[
            *build_sensors(sources, settings),
            *([build_insights_sensor(insights)] if insights else []),
        ],
        resources={"dlt": DagsterDltResource()},
        # A run of one API is a load and then its checks, one after the other: running them
        # in the run's own process saves a Python start-up with every import per step.
        executor=in_process_executor,
    )


defs = build_definitions()

# What is imported and built by now (Dagster, dlt, pandas, pyarrow, these definitions) lives as
# long as the process, yet each of Python's full collections walks all of it again: one took
# 0.2-0.35 s in a load's run worker, a tenth of an unchanged rerun of every Posit table.
# Frozen, it is left out of every collection; what runs create later is collected as before.
# (About 40 objects of garbage are left at this point, so no collection is made first.)
gc.freeze()
# Given back at exit, so the interpreter's last collection still finalises it: DuckDB's
# bindings print every object they never saw finalised as a leak.
atexit.register(gc.unfreeze)
