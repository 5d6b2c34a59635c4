"""The code location: everything Dagster shows is assembled here."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job
from dagster_dlt import DagsterDltResource

from assets.registry import SOURCES
from orchestration.dlt_assets import build_api_assets
from orchestration.settings import OrchestrationSettings


def build_definitions(settings: OrchestrationSettings | None = None) -> Definitions:
    settings = settings or OrchestrationSettings.from_env()
    api_assets = [build_api_assets(info, settings) for info in SOURCES]
    refresh_all = define_asset_job(
        "refresh_all", selection=AssetSelection.all(), description="Every table of every API."
    )
    return Definitions(
        assets=api_assets,
        jobs=[refresh_all],
        resources={"dlt": DagsterDltResource()},
    )


defs = build_definitions()
