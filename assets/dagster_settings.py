"""Settings Dagster reads from the environment, with their defaults: the assets' owners,
freshness and retries, and the cron, sensor and alert settings of the orchestration layer.

Source settings (servers, keys, page sizes) live in dlt config (.dlt/, SOURCES__...); the
destination in LOAD_DESTINATION / DUCKDB_DIR (assets/destinations.py). This module is the one
home for everything Dagster-specific; docs/configuration.md lists it. It sits in assets/
because the asset definitions read it, and nothing in assets/ imports orchestration/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class OrchestrationSettings:
    timezone: str
    catalog_cron: str
    usage_cron: str
    per_item_cron: str
    catalog_freshness_hours: float
    usage_freshness_hours: float
    per_item_freshness_hours: float
    sensor_interval_seconds: int
    refresh_retries: int
    refresh_retry_delay_seconds: float
    webserver_url: str
    failure_webhook_url: str | None
    owners: tuple[str, ...]

    @classmethod
    def from_env(cls) -> OrchestrationSettings:
        return cls(
            timezone=_env("REFRESH_TIMEZONE", "UTC"),
            catalog_cron=_env("CATALOG_REFRESH_CRON", "0 * * * *"),
            usage_cron=_env("USAGE_REFRESH_CRON", "15 */6 * * *"),
            per_item_cron=_env("PER_ITEM_REFRESH_CRON", "30 2 * * *"),
            # Two missed runs of the cadence's cron (plus slack) before a table shows as stale.
            catalog_freshness_hours=float(_env("CATALOG_FRESHNESS_HOURS", "3")),
            usage_freshness_hours=float(_env("USAGE_FRESHNESS_HOURS", "13")),
            per_item_freshness_hours=float(_env("PER_ITEM_FRESHNESS_HOURS", "49")),
            sensor_interval_seconds=int(_env("CHANGE_SENSOR_INTERVAL_SECONDS", "300")),
            # On top of dlt's per-request retries: a whole refresh is retried after an outage.
            refresh_retries=int(_env("REFRESH_RETRIES", "2")),
            refresh_retry_delay_seconds=float(_env("REFRESH_RETRY_DELAY_SECONDS", "60")),
            webserver_url=_env("DAGSTER_WEBSERVER_URL", "http://127.0.0.1:3000").rstrip("/"),
            failure_webhook_url=os.environ.get("FAILURE_WEBHOOK_URL", "").strip() or None,
            owners=tuple(o.strip() for o in _env("ASSET_OWNERS", "team:data-platform").split(",")),
        )
