"""How an insight's rows are shown to people: cells as text, the top rows as a markdown
table, a chart as a data: URI. The Dagster UI's metadata and the HTML report share these."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

from assets.insights.catalog import Insight
from assets.insights.tables import InsightTable

PREVIEW_ROWS = 10


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def preview(insight: Insight, table: InsightTable, limit: int = PREVIEW_ROWS) -> list[list[str]]:
    """The insight's preview columns of its first `limit` rows, as text."""
    positions = [table.columns.index(column) for column in insight.preview]
    return [[cell(row[i]) for i in positions] for row in table.rows[:limit]]


def preview_markdown(insight: Insight, table: InsightTable) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    lines = [line(list(insight.preview)), line(["---"] * len(insight.preview))]
    lines += [line(row) for row in preview(insight, table)]
    shown = min(len(table.rows), PREVIEW_ROWS)
    return "\n".join([*lines, "", f"{shown} of {len(table.rows)} rows."])


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def chart_markdown(insight: Insight, png: bytes | None) -> str:
    if png is None:
        return f"No rows to chart yet for {insight.name}."
    return f"![{insight.name}]({data_uri(png)})"
