"""The `ours` contender: the project's assets materialised through Dagster, in process, as the
UI's button or `tests.helpers.materialize_api` does. Only the `materialize` call is timed;
building the code location is measured on its own (workload `code_location`).

Settings come from the environment the benchmark sets (simulator URL and key, DUCKDB_DIR,
DLT_DATA_DIR, DAGSTER_HOME) and the project's `.dlt/config.toml` (the working directory is
the repository root).
"""

from __future__ import annotations

import time
from typing import Any


def run(tables: list[str] | None) -> dict[str, Any]:
    from dagster import AssetKey, DagsterInstance, materialize

    from assets.destinations import current_row_counts
    from assets.registry import POSIT_CONNECT
    from orchestration.definitions import build_definitions

    defs = build_definitions()
    api_assets = [a for a in defs.assets if any(k.path[0] == POSIT_CONNECT.name for k in a.keys)]
    selection = [AssetKey([POSIT_CONNECT.name, t]) for t in tables] if tables else None
    with DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = materialize(
            api_assets,
            selection=selection,
            resources=defs.resources,
            instance=instance,
            raise_on_error=False,
        )
        seconds = time.perf_counter() - started
    if not result.success:
        raise RuntimeError(f"materialize failed: {result.all_node_events[-1]}")
    counts = current_row_counts(POSIT_CONNECT)
    rows = {t: counts.get(t) for t in tables} if tables else counts
    return {"seconds": seconds, "rows": rows}
