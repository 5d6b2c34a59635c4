"""How often each table is refreshed, and when it counts as stale: one place for both.

Catalog tables (what is on the server now: content, users, services, ...) change at any time
and are cheap to re-check, so they refresh often. Activity tables (usage, audit logs, jobs)
record what happened and are loaded incrementally or are large, so they refresh less often.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from dagster import FreshnessPolicy

from assets._catalog import Endpoint, Events, Latest
from assets.dagster_settings import OrchestrationSettings

CATALOG = "catalog"
USAGE = "usage"
DAILY = "daily"


@dataclass(frozen=True)
class Cadence:
    name: str
    cron: str
    fresh_for: timedelta
    description: str

    @property
    def freshness_policy(self) -> FreshnessPolicy:
        return FreshnessPolicy.time_window(fail_window=self.fresh_for)


# Modes whose rows record activity (events appended, jobs that come and go) rather than what
# the server holds: see assets/_catalog.py.
ACTIVITY_MODES = (Events, Latest)


def cadence_name(endpoint: Endpoint) -> str:
    if endpoint.cadence:
        return endpoint.cadence
    return USAGE if isinstance(endpoint.load, ACTIVITY_MODES) else CATALOG


def cadences(settings: OrchestrationSettings) -> dict[str, Cadence]:
    return {
        CATALOG: Cadence(
            CATALOG,
            settings.catalog_cron,
            timedelta(hours=settings.catalog_freshness_hours),
            "what is on the server now (snapshot and per-item tables)",
        ),
        USAGE: Cadence(
            USAGE,
            settings.usage_cron,
            timedelta(hours=settings.usage_freshness_hours),
            "append-only history (usage, audit and job tables), loaded incrementally",
        ),
        DAILY: Cadence(
            DAILY,
            settings.daily_cron,
            timedelta(hours=settings.daily_freshness_hours),
            "tables whose requests grow with the content items and nothing says have changed "
            "(one request per item and table; packages), kept off the hourly catalog so its "
            "cost does not grow with the items",
        ),
    }


def cadence_of(endpoint: Endpoint, settings: OrchestrationSettings) -> Cadence:
    return cadences(settings)[cadence_name(endpoint)]
