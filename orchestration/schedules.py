"""Schedules: each API's tables refresh on their cadence (assets/cadence.py), with no
click needed on a fresh deployment. One job per API, server and cadence, so one server's
outage fails only its own runs and the two APIs' files load in parallel."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    define_asset_job,
)

from assets.cadence import cadence_name, cadences
from assets.dagster_settings import OrchestrationSettings
from assets.registry import SourceInfo
from assets.translator import table_key


def build_refresh_schedules(
    sources: Sequence[SourceInfo], settings: OrchestrationSettings
) -> list[ScheduleDefinition]:
    """One schedule per API, server and cadence; each carries its job, which `Definitions`
    takes from it."""
    schedules = []
    for info in sources:
        for cadence in cadences(settings).values():
            tables = [e.table for e in info.endpoints if cadence_name(e) == cadence.name]
            if not tables:
                continue
            job = define_asset_job(
                f"{info.slug}_{cadence.name}_refresh",
                # the tables' checks run in the same job, after the load
                selection=AssetSelection.assets(*(table_key(info, t) for t in tables)),
                description=(
                    f"{info.server_title}: {cadence.description}. Tables: {', '.join(tables)}."
                ),
            )
            schedules.append(
                ScheduleDefinition(
                    name=f"{info.slug}_{cadence.name}_schedule",
                    job=job,
                    cron_schedule=cadence.cron,
                    execution_timezone=settings.timezone,
                    default_status=DefaultScheduleStatus.RUNNING,
                    description=(
                        f"Refreshes {info.server_title}'s {cadence.name} tables ({cadence.cron})."
                    ),
                )
            )
    return schedules
