"""The insights' numbers computed in Python from what the simulators serve, independently of
the SQL, and compared with the insight tables as written (on DuckDB or PostgreSQL)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from dagster import DagsterInstance, materialize

from assets.insights.catalog import INSIGHTS
from assets.insights.tables import InsightTable, read_published
from assets.registry import API_BY_NAME
from orchestration.definitions import build_definitions
from simulators.posit_connect.server_wide import RUNTIME_SINCE, runtime_settings

SERVER = "default"
STALE_DAYS = 90


def materialize_insights(api: str, instance: DagsterInstance | None = None) -> Any:
    """Every insight of `api` in-process, like the automation sensor's run would."""
    defs = build_definitions()
    insights = [a for a in defs.assets if a.node_def.name == f"{api}_insights"]
    return materialize(
        insights,
        resources=defs.resources,
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def insight_tables(api: str) -> dict[str, InsightTable]:
    tables = read_published(API_BY_NAME[api], INSIGHTS[api])
    missing = [name for name, table in tables.items() if table is None]
    assert not missing, f"not built: {missing}"
    return tables  # type: ignore[return-value]


def as_of(table: InsightTable) -> datetime:
    moments = {row["as_of"] for row in table.records()}
    assert len(moments) == 1, moments
    return moments.pop().astimezone(UTC)


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def _within(moment: datetime, end: datetime, days: int) -> bool:
    return end - timedelta(days=days) < moment <= end


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks, as SQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _by(table: InsightTable, *key: str) -> dict[tuple, dict[str, Any]]:
    return {tuple(row[k] for k in key): row for row in table.records()}


def _assert_rows(actual: dict[tuple, dict[str, Any]], expected: dict[tuple, dict[str, Any]]):
    assert set(actual) == set(expected)
    for key, values in expected.items():
        row = {column: actual[key][column] for column in values}
        # floats (sums, ratios, percentiles) to rounding; everything else exactly
        wanted = {c: pytest.approx(v) if isinstance(v, float) else v for c, v in values.items()}
        assert row == wanted, key


# -- Posit Connect ---------------------------------------------------------------------------
def _posit_events(sim: Any) -> tuple[list[dict], list[dict]]:
    data = sim.data
    visits = [data.render_visit(p) for p in range(len(data.visits))]
    shiny = [data.render_shiny(p) for p in range(len(data.shiny))]
    for visit in visits:
        visit["time"] = _when(visit["time"])
    for session in shiny:
        session["started"], session["ended"] = _when(session["started"]), _when(session["ended"])
    return visits, shiny


def on_server(tables: dict[str, InsightTable], server: str) -> dict[str, InsightTable]:
    """The insights' rows of one server."""
    return {
        name: InsightTable(
            table.columns,
            [row for row in table.rows if row[table.columns.index("server")] == server],
        )
        for name, table in tables.items()
    }


def check_posit_connect(sim: Any, tables: dict[str, InsightTable], server: str = SERVER) -> None:
    tables = on_server(tables, server)
    data = sim.data
    end = as_of(tables["content_usage"])
    visits, shiny = _posit_events(sim)
    visits = [v for v in visits if v["time"] <= end]
    users = {user["guid"]: user for user in data.users}
    content = data.live_content()

    # active_users_monthly
    active: dict[date, set[str]] = defaultdict(set)
    for guid, moment in [(v["user_guid"], v["time"]) for v in visits] + [
        (s["user_guid"], s["started"]) for s in shiny if s["started"] <= end
    ]:
        if guid is not None:
            active[date(moment.year, moment.month, 1)].add(guid)
    roles = {
        month: Counter(users[g]["user_role"] for g in guids) for month, guids in active.items()
    }
    _assert_rows(
        _by(tables["active_users_monthly"], "server", "month"),
        {
            (server, month): {
                "active_users": len(guids),
                "administrators": roles[month]["administrator"],
                "publishers": roles[month]["publisher"],
                "viewers": roles[month]["viewer"],
            }
            for month, guids in active.items()
        },
    )

    # content_usage
    visits_of: dict[str, list[dict]] = defaultdict(list)
    for visit in visits:
        visits_of[visit["content_guid"]].append(visit)
    hours: Counter[str] = Counter()
    for session in shiny:
        # a session still open has no length yet (`ended` is null)
        if _within(session["started"], end, 30) and session["ended"] is not None:
            seconds = (session["ended"] - session["started"]).total_seconds()
            hours[session["content_guid"]] += seconds / 3600
    expected_usage = {}
    for item in content:
        seen = visits_of[item["guid"]]
        expected_usage[(server, item["guid"])] = {
            "title": item["title"],
            "owner": users[item["owner_guid"]]["username"],
            "owner_email": users[item["owner_guid"]]["email"],
            **{
                f"visits_{days}d": sum(_within(v["time"], end, days) for v in seen)
                for days in (7, 30, 90)
            },
            "viewers_30d": len(
                {v["user_guid"] for v in seen if v["user_guid"] and _within(v["time"], end, 30)}
            ),
            "shiny_hours_30d": hours[item["guid"]],
            "last_visit": max((v["time"] for v in seen), default=None),
        }
    _assert_rows(_by(tables["content_usage"], "server", "content_guid"), expected_usage)

    # stale_content
    stale_before = end - timedelta(days=STALE_DAYS)
    _assert_rows(
        _by(tables["stale_content"], "server", "content_guid"),
        {
            key: {"owner": row["owner"], "last_visit": row["last_visit"]}
            for key, row in expected_usage.items()
            if row["last_visit"] is None or row["last_visit"] <= stale_before
        },
    )

    # open_access
    _assert_rows(
        _by(tables["open_access"], "server", "content_guid"),
        {
            (server, item["guid"]): {
                "access_type": item["access_type"],
                "visits_30d": expected_usage[(server, item["guid"])]["visits_30d"],
            }
            for item in content
            if item["access_type"] in ("all", "logged_in")
        },
    )

    # runtime_versions
    runtimes = Counter(
        (runtime, item[field])
        for item in content
        for runtime, field in (
            ("r", "r_version"),
            ("python", "py_version"),
            ("quarto", "quarto_version"),
        )
        if item[field] is not None
    )
    installed = {
        (runtime, installation["version"])
        for runtime in RUNTIME_SINCE
        if sim.has_route(f"/__api__/v1/server_settings/{runtime}")
        for installation in runtime_settings(runtime)["installations"]
    }
    _assert_rows(
        _by(tables["runtime_versions"], "server", "runtime", "version"),
        {
            (server, *key): {"content_items": runtimes.get(key, 0), "installed": key in installed}
            for key in runtimes.keys() | installed
        },
    )


# -- OSCAR -----------------------------------------------------------------------------------
def check_oscar(sim: Any, tables: dict[str, InsightTable], server: str = SERVER) -> None:
    tables = on_server(tables, server)
    end = as_of(tables["service_usage"])
    jobs = [
        {
            "service": service,
            "status": job["status"],
            "created": _when(job["creation_time"]),
            "started": _when(job["start_time"]),
            "finished": _when(job["finish_time"]),
        }
        for service, listed in sim.jobs_snapshot().items()
        for job in listed.values()
    ]
    jobs = [job for job in jobs if job["created"] <= end]

    # job_stats_daily
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for job in jobs:
        groups[(server, job["created"].date(), job["service"])].append(job)
    expected_days = {}
    for key, day_jobs in groups.items():
        statuses = Counter(job["status"] for job in day_jobs)
        runs = [
            (j["finished"] - j["started"]).total_seconds()
            for j in day_jobs
            if j["finished"] and j["started"]
        ]
        queues = [(j["started"] - j["created"]).total_seconds() for j in day_jobs if j["started"]]
        expected_days[key] = {
            "jobs": len(day_jobs),
            "succeeded": statuses["Succeeded"],
            "failed": statuses["Failed"],
            "running_or_pending": statuses["Running"] + statuses["Pending"],
            "median_run_seconds": percentile(runs, 0.5),
            "p95_run_seconds": percentile(runs, 0.95),
            "median_queue_seconds": percentile(queues, 0.5),
        }
    _assert_rows(_by(tables["job_stats_daily"], "server", "day", "service"), expected_days)

    # service_usage
    expected_services = {}
    for service in sim.services_snapshot():
        own = [job for job in jobs if job["service"] == service["name"]]
        row: dict[str, Any] = {"owner": service["owner"], "vo": service["vo"]}
        for days in (7, 30):
            recent = [job for job in own if _within(job["created"], end, days)]
            statuses = Counter(job["status"] for job in recent)
            finished = statuses["Succeeded"] + statuses["Failed"]
            row |= {
                f"jobs_{days}d": len(recent),
                f"succeeded_{days}d": statuses["Succeeded"],
                f"failed_{days}d": statuses["Failed"],
                f"failure_rate_{days}d": statuses["Failed"] / finished if finished else None,
            }
        row["last_job"] = max((job["created"] for job in own), default=None)
        expected_services[(server, service["name"])] = row
    _assert_rows(_by(tables["service_usage"], "server", "service"), expected_services)
