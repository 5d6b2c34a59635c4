"""The insights' charts: matplotlib figures drawn off-screen (Agg) into PNG bytes, one size
for all, for the Dagster UI (markdown metadata) and the HTML report alike.

Each chart takes the insight's rows (dicts, in the insight's order) and returns None when
there is nothing to draw.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_PX, HEIGHT_PX, DPI = 800, 450, 100
TOP = 20
PALETTE_COLOURS = 64
Rows = Sequence[dict[str, Any]]
Chart = Callable[[Rows], bytes | None]
# outcome -> colour, the same in every chart
OUTCOME_COLOURS = {
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "running or pending": "#f9a825",
}


def _figure() -> Figure:
    # Imported when a chart is drawn, not with the code location: matplotlib and Pillow add
    # about 50 MB to every process that loads the definitions, loads included.
    from matplotlib.figure import Figure

    # A Figure of its own, not pyplot's global state: safe in a run's threads, no display.
    return Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")


def _png(figure: Figure) -> bytes:
    from PIL import Image

    drawn = io.BytesIO()
    figure.savefig(drawn, format="png", dpi=DPI)  # the figure's size exactly: no tight bbox
    # 64 colours are plenty for flat bars and lines and make the PNG a third of the size:
    # every materialisation keeps its chart in Dagster's event log.
    image = Image.open(drawn).convert("RGB").quantize(colors=PALETTE_COLOURS)
    small = io.BytesIO()
    image.save(small, format="png", optimize=True)
    return small.getvalue()


def _several_servers(rows: Rows) -> bool:
    return len({row["server"] for row in rows}) > 1


def _content_label(row: dict[str, Any], with_server: bool) -> str:
    label = row.get("title") or row.get("name") or row["content_guid"]
    label = label if len(label) <= 40 else label[:39] + "…"
    return f"{label} ({row['server']})" if with_server else label


def _barh(title: str, labels: list[str], values: list[float], xlabel: str) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    positions = range(len(labels))
    axes.barh(positions, values, color="#1565c0")
    axes.set_yticks(positions, labels, fontsize=8)
    axes.invert_yaxis()  # the largest first, at the top
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    return _png(figure)


def active_users(rows: Rows) -> bytes | None:
    if not rows:
        return None
    figure = _figure()
    axes = figure.add_subplot()
    by_server: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_server[row["server"]].append(row)
    for server, months in sorted(by_server.items()):
        axes.plot(
            [row["month"] for row in months],
            [row["active_users"] for row in months],
            marker="o",
            label=server,
        )
    axes.set_ylabel("distinct users")
    axes.set_ylim(bottom=0)
    axes.set_title("Active users per month (visits and Shiny sessions)")
    if len(by_server) > 1:
        axes.legend(title="server")
    figure.autofmt_xdate()
    return _png(figure)


def top_content(rows: Rows) -> bytes | None:
    visited = [row for row in rows if row["visits_30d"]][:TOP]
    if not visited:
        return None
    with_server = _several_servers(rows)
    return _barh(
        f"Top {len(visited)} content by visits in the last 30 days",
        [_content_label(row, with_server) for row in visited],
        [row["visits_30d"] for row in visited],
        "visits (30 days)",
    )


def stale_by_owner(rows: Rows) -> bytes | None:
    if not rows:
        return None
    owners = Counter(row["owner"] or "(owner unknown)" for row in rows).most_common(TOP)
    return _barh(
        "Stale content by owner",
        [owner for owner, _ in owners],
        [count for _, count in owners],
        "content items with no recent visit",
    )


def open_access(rows: Rows) -> bytes | None:
    if not rows:
        return None
    visited = sorted(rows, key=lambda row: -row["visits_30d"])[:TOP]
    with_server = _several_servers(rows)
    figure = _figure()
    axes = figure.add_subplot()
    colours = {"all": "#c62828", "logged_in": "#f9a825"}
    positions = range(len(visited))
    axes.barh(
        positions,
        [row["visits_30d"] for row in visited],
        color=[colours.get(row["access_type"], "#757575") for row in visited],
    )
    axes.set_yticks(positions, [_content_label(row, with_server) for row in visited], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("visits (30 days)")
    counts = Counter(row["access_type"] for row in rows)
    axes.set_title(
        "Open content: " + ", ".join(f"{n} open to {kind}" for kind, n in sorted(counts.items()))
    )
    return _png(figure)


def runtime_versions(rows: Rows) -> bytes | None:
    if not rows:
        return None
    with_server = _several_servers(rows)
    in_use = [row for row in rows if row["content_items"]]
    top = sorted(in_use, key=lambda row: -row["content_items"])[:TOP]
    labels = [
        f"{row['runtime']} {row['version']}"
        + (f" ({row['server']})" if with_server else "")
        + ("" if row["installed"] else ", not installed")
        for row in top
    ]
    return _barh(
        "Runtime versions in use",
        labels,
        [row["content_items"] for row in top],
        "content items deployed with it",
    )


def _stacked_outcomes(
    axes: Any, positions: Sequence[Any], outcomes: dict[str, list[int]], width: float
) -> None:
    bottom = [0] * len(positions)
    for outcome, values in outcomes.items():
        axes.bar(
            positions,
            values,
            width,
            bottom=bottom,
            label=outcome,
            color=OUTCOME_COLOURS[outcome],
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize=8)  # beside, not on, the bars


def jobs_per_day(rows: Rows) -> bytes | None:
    if not rows:
        return None
    days: dict[Any, Counter[str]] = defaultdict(Counter)
    for row in rows:
        days[row["day"]].update(
            {
                "succeeded": row["succeeded"],
                "failed": row["failed"],
                "running or pending": row["running_or_pending"],
            }
        )
    ordered = sorted(days)
    figure = _figure()
    axes = figure.add_subplot()
    _stacked_outcomes(
        axes,
        ordered,
        {outcome: [days[day][outcome] for day in ordered] for outcome in OUTCOME_COLOURS},
        width=0.8,
    )
    axes.set_ylabel("jobs created that day")
    axes.set_title("OSCAR jobs per day by outcome")
    figure.autofmt_xdate()
    return _png(figure)


def service_jobs(rows: Rows) -> bytes | None:
    busy = [row for row in rows if row["jobs_30d"]]
    if not busy:
        return None
    top = sorted(busy, key=lambda row: -row["jobs_30d"])[:TOP]
    with_server = _several_servers(rows)
    labels = [row["service"] + (f" ({row['server']})" if with_server else "") for row in top]
    figure = _figure()
    axes = figure.add_subplot()
    _stacked_outcomes(
        axes,
        labels,
        {
            "succeeded": [row["succeeded_30d"] for row in top],
            "failed": [row["failed_30d"] for row in top],
            "running or pending": [
                row["jobs_30d"] - row["succeeded_30d"] - row["failed_30d"] for row in top
            ],
        },
        width=0.8,
    )
    axes.tick_params(axis="x", labelrotation=60, labelsize=8)
    axes.set_ylabel("jobs (30 days)")
    axes.set_title(f"Jobs of the {len(top)} busiest services in the last 30 days")
    return _png(figure)
