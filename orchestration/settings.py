"""Settings the orchestration layer reads from the environment, with their defaults.

Source settings (servers, keys, page sizes) live in dlt config (.dlt/, SOURCES__...); the
destination in LOAD_DESTINATION / DUCKDB_DIR (assets/destinations.py). This module is the one
home for everything Dagster-specific; the README's configuration table lists it.
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
    sensor_interval_seconds: int
    freshness_hours: int
    owners: tuple[str, ...]

    @classmethod
    def from_env(cls) -> OrchestrationSettings:
        return cls(
            timezone=_env("REFRESH_TIMEZONE", "UTC"),
            catalog_cron=_env("CATALOG_REFRESH_CRON", "0 * * * *"),
            usage_cron=_env("USAGE_REFRESH_CRON", "15 */6 * * *"),
            sensor_interval_seconds=int(_env("CHANGE_SENSOR_INTERVAL_SECONDS", "300")),
            freshness_hours=int(_env("FRESHNESS_HOURS", "26")),
            owners=tuple(o.strip() for o in _env("ASSET_OWNERS", "team:data-platform").split(",")),
        )
