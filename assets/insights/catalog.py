"""The insights, as data: what each answers, the tables it reads, its columns and chart.

The SQL of an insight is the file `<name>.sql` beside this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from assets.insights import charts

SERVER = "the server (its name in `servers`, `default` for the API's own section)"
AS_OF = "the run's start: the time windows end here"
CONTENT = {
    "server": SERVER,
    "content_guid": "the content item's guid",
    "name": "the item's name (unique on its server)",
    "title": "the item's title",
    "owner": "the owner's user name (a pseudonym with INSIGHTS_PSEUDONYMS)",
    "owner_email": "the owner's e-mail address (a pseudonym with INSIGHTS_PSEUDONYMS)",
    "app_mode": "what kind of content it is (shiny, rmd-static, python-api, ...)",
}


@dataclass(frozen=True)
class Insight:
    api: str
    name: str
    description: str
    reads: tuple[str, ...]  # the API's tables it reads: its upstream assets
    order_by: str  # the order it is read in (preview, charts, report)
    columns: Mapping[str, str]
    chart: charts.Chart
    preview: tuple[str, ...]  # the columns of the preview in the Dagster UI and the report
    personal: tuple[str, ...] = ()  # user names and e-mail addresses: pseudonymised on request

    @property
    def sql_file(self) -> Path:
        return Path(__file__).with_name(f"{self.name}.sql")


POSIT_CONNECT_INSIGHTS = (
    Insight(
        api="posit_connect",
        name="active_users_monthly",
        description=(
            "Active users per calendar month (UTC): distinct users who visited content or "
            "started a Shiny session that month, and how many of them are administrators, "
            "publishers and viewers now."
        ),
        reads=("content_visits", "shiny_usage", "users"),
        order_by="month DESC, server",
        columns={
            "server": SERVER,
            "month": "the month's first day",
            "active_users": "distinct signed-in users with a visit or Shiny session",
            "administrators": "of them, administrators now",
            "publishers": "of them, publishers now",
            "viewers": "of them, viewers now",
            "as_of": AS_OF,
        },
        chart=charts.active_users,
        preview=("server", "month", "active_users", "administrators", "publishers", "viewers"),
    ),
    Insight(
        api="posit_connect",
        name="content_usage",
        description=(
            "Each current content item's use: visits in the last 7, 30 and 90 days, distinct "
            "viewers and Shiny session hours in the last 30, and its last visit."
        ),
        reads=("content", "users", "content_visits", "shiny_usage"),
        order_by="visits_30d DESC, visits_90d DESC, server, content_guid",
        columns={
            **CONTENT,
            "visits_7d": "visits in the 7 days before as_of",
            "visits_30d": "visits in the 30 days before as_of",
            "visits_90d": "visits in the 90 days before as_of",
            "viewers_30d": "distinct signed-in visitors in the 30 days before as_of",
            "shiny_hours_30d": "hours of the Shiny sessions started in the 30 days before as_of that have ended",
            "last_visit": "the latest visit (empty: never visited)",
            "as_of": AS_OF,
        },
        chart=charts.top_content,
        preview=("server", "title", "owner", "visits_7d", "visits_30d", "viewers_30d"),
        personal=("owner", "owner_email"),
    ),
    Insight(
        api="posit_connect",
        name="stale_content",
        description=(
            "The clean-up list: current content items with no visit in the last "
            "STALE_CONTENT_DAYS days (default 90), or never visited, the oldest first."
        ),
        reads=("content", "users", "content_visits"),
        order_by="last_visit NULLS FIRST, last_deployed_time, server, content_guid",
        columns={
            **CONTENT,
            "last_deployed_time": "when the item was last deployed",
            "last_visit": "the latest visit (empty: never visited)",
            "as_of": AS_OF,
        },
        chart=charts.stale_by_owner,
        preview=("server", "title", "owner", "app_mode", "last_deployed_time", "last_visit"),
        personal=("owner", "owner_email"),
    ),
    Insight(
        api="posit_connect",
        name="open_access",
        description=(
            "Current content items anyone can open without logging in (access_type 'all') or "
            "every signed-in user can (access_type 'logged_in'), with their visits in the "
            "last 30 days: connectapi's audit_access_open, with usage."
        ),
        reads=("content", "users", "content_visits"),
        order_by="access_type, visits_30d DESC, server, content_guid",
        columns={
            **CONTENT,
            "access_type": "'all' (anyone, no login) or 'logged_in' (every signed-in user)",
            "visits_30d": "visits in the 30 days before as_of",
            "as_of": AS_OF,
        },
        chart=charts.open_access,
        preview=("server", "access_type", "title", "owner", "visits_30d"),
        personal=("owner", "owner_email"),
    ),
    Insight(
        api="posit_connect",
        name="runtime_versions",
        description=(
            "Runtime versions current content was deployed with or the server has installed: "
            "how many items use each, and whether it is installed (a version in use but not "
            "installed is content that will not run again as deployed)."
        ),
        reads=("content", "runtimes"),
        order_by="server, runtime, version",
        columns={
            "server": SERVER,
            "runtime": "r, python, quarto, tensorflow or nodejs",
            "version": "the version content was deployed with or the server has installed",
            "content_items": "current content items deployed with it (0: installed, unused)",
            "installed": "whether the server has the version installed (the runtimes table)",
            "as_of": AS_OF,
        },
        chart=charts.runtime_versions,
        preview=("server", "runtime", "version", "content_items", "installed"),
    ),
)

OSCAR_INSIGHTS = (
    Insight(
        api="oscar",
        name="job_stats_daily",
        description=(
            "OSCAR jobs per day of creation (UTC) and service: how many, how they ended, "
            "median and 95th-percentile run seconds (finish - start) and median queue "
            "seconds (start - creation). Only the jobs OSCAR still lists (its TTL)."
        ),
        reads=("jobs",),
        order_by="day DESC, server, service",
        columns={
            "server": SERVER,
            "day": "the day the jobs were created (UTC)",
            "service": "the service the jobs ran",
            "jobs": "jobs created that day",
            "succeeded": "of them, Succeeded",
            "failed": "of them, Failed",
            "running_or_pending": "of them, still Running or Pending",
            "median_run_seconds": "median finish - start of the finished ones",
            "p95_run_seconds": "95th percentile (interpolated) of finish - start",
            "median_queue_seconds": "median start - creation of the started ones",
            "as_of": AS_OF,
        },
        chart=charts.jobs_per_day,
        preview=("server", "day", "service", "jobs", "succeeded", "failed", "running_or_pending"),
    ),
    Insight(
        api="oscar",
        name="service_usage",
        description=(
            "Each current OSCAR service: owner, VO, jobs created in the last 7 and 30 days "
            "and the share of finished ones that failed, and its newest job."
        ),
        reads=("services", "jobs"),
        order_by="jobs_30d DESC, server, service",
        columns={
            "server": SERVER,
            "service": "the service's name",
            "owner": "who created it (a pseudonym with INSIGHTS_PSEUDONYMS)",
            "vo": "its virtual organisation",
            "jobs_7d": "jobs created in the 7 days before as_of",
            "succeeded_7d": "of them, Succeeded",
            "failed_7d": "of them, Failed",
            "failure_rate_7d": "failed / (succeeded + failed), 7 days; empty: none finished",
            "jobs_30d": "jobs created in the 30 days before as_of",
            "succeeded_30d": "of them, Succeeded",
            "failed_30d": "of them, Failed",
            "failure_rate_30d": "failed / (succeeded + failed), 30 days; empty: none finished",
            "last_job": "when its newest listed job was created",
            "as_of": AS_OF,
        },
        chart=charts.service_jobs,
        preview=("server", "service", "owner", "jobs_7d", "failure_rate_7d", "jobs_30d"),
        personal=("owner",),
    ),
)

INSIGHTS: dict[str, tuple[Insight, ...]] = {
    "posit_connect": POSIT_CONNECT_INSIGHTS,
    "oscar": OSCAR_INSIGHTS,
}
