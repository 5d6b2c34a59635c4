"""Unit tests: plain functions with stubbed fetchers, and where a mechanic lives in dlt's
resource state, a tiny resource extracted by a real dlt pipeline (DuckDB destination, in a
temporary directory)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dlt
import pytest


@pytest.fixture
def load(tmp_path: Path) -> Callable[[Any], Any]:
    """Extract a resource in one pipeline: its state is committed when the extraction succeeds
    and kept between calls, as between loads (what is loaded after that is not under test)."""
    pipeline = dlt.pipeline(
        pipeline_name="unit",
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(tmp_path / "loaded.duckdb")),
        dataset_name="unit",
    )

    def run(resource: Any) -> Any:
        return pipeline.extract(resource)

    return run
