"""The insights as one self-contained HTML page, for people who do not use Dagster: every
chart (PNG, inline), the top rows of every insight table, and three answers. It needs no
network to view: no scripts, fonts or styles from elsewhere.

    python3 tasks.py report     # writes data/report.html (DUCKDB_DIR/report.html)

It reads the insight tables as last built (the published DuckDB files, or PostgreSQL), so
it shows what the Dagster UI shows; with INSIGHTS_PSEUDONYMS on, the pseudonyms.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from assets.destinations import destination_name, duckdb_dir
from assets.insights.catalog import INSIGHTS, Insight
from assets.insights.present import data_uri, preview
from assets.insights.tables import InsightTable, read_published
from assets.registry import API_BY_NAME, enabled_sources

REPORT_FILE = "report.html"
REPORT_ROWS = 25
Tables = Mapping[str, Mapping[str, InsightTable | None]]  # api -> insight -> table


@dataclass(frozen=True)
class Section:
    insight: Insight
    table: InsightTable | None
    chart: str | None  # a data: URI

    @property
    def rows(self) -> list[list[str]]:
        return preview(self.insight, self.table, REPORT_ROWS) if self.table else []


def report_path() -> Path:
    """Beside the data: DUCKDB_DIR (default data/) whatever the destination."""
    return duckdb_dir() / REPORT_FILE


def read_insights() -> dict[str, Mapping[str, InsightTable | None]]:
    return {info.name: read_published(info, INSIGHTS[info.name]) for info in enabled_sources()}


def answers(tables: Tables, today: date) -> list[str]:
    """Three questions admins ask, answered from the insight tables."""
    lines = []
    posit, oscar = tables.get("posit_connect", {}), tables.get("oscar", {})
    last_month = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    month_name = last_month.strftime("%B %Y")
    monthly = posit.get("active_users_monthly")
    if monthly is None:
        lines.append(f"Active users in {month_name}: no Posit Connect insights yet")
    else:
        active = sum(r["active_users"] for r in monthly.records() if r["month"] == last_month)
        lines.append(f"Active users in {month_name}: {active} on Posit Connect")
    usage = posit.get("content_usage")
    top = usage.records()[0] if usage and usage.rows else None
    if top is None or not top["visits_30d"]:
        lines.append("Most visited content (30 days): no visits")
    else:
        title = top["title"] or top["name"]
        lines.append(
            f'Most visited content (30 days): "{title}" by {top["owner"] or "an unknown owner"}, '
            f"{top['visits_30d']} visits"
        )
    services = oscar.get("service_usage")
    if services is None:
        lines.append("OSCAR job failure rate (7 days): no OSCAR insights yet")
    else:
        rows = services.records()
        failed = sum(row["failed_7d"] for row in rows)
        finished = failed + sum(row["succeeded_7d"] for row in rows)
        rate = f"{failed / finished:.1%} ({failed} of {finished} finished jobs failed)"
        lines.append(f"OSCAR job failure rate (7 days): {rate if finished else 'no finished jobs'}")
    return lines


def render(tables: Tables, generated: datetime) -> str:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    apis = []
    for api, by_name in tables.items():
        sections = []
        for insight in INSIGHTS[api]:
            table = by_name.get(insight.name)
            png = insight.chart(table.records()) if table else None
            sections.append(Section(insight, table, data_uri(png) if png else None))
        apis.append((API_BY_NAME[api].title, sections))
    return environment.get_template("report.html.j2").render(
        apis=apis,
        answers=answers(tables, generated.date()),
        generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
        destination=destination_name(),
    )


def write_report(tables: Tables | None = None, path: Path | None = None) -> Path:
    path = path or report_path()
    html = render(read_insights() if tables is None else tables, datetime.now(UTC))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(path)  # a browser reloading it never sees half a page
    return path


def main() -> int:
    path = write_report()
    print(f"Report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
