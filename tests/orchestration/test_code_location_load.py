"""What loading the code location leaves behind in the processes that run the loads."""

from __future__ import annotations

import gc
import subprocess
import sys

import orchestration.definitions  # noqa: F401  (the import under test)
from assets.destinations import REPO_ROOT


def test_what_the_code_location_imported_is_left_out_of_cycle_collections():
    # Dagster, dlt, pandas and pyarrow are a few hundred thousand objects. Unfrozen, every full
    # collection during a run walks them again (0.2-0.35 s each, bench/README.md).
    assert gc.get_freeze_count() > 100_000


def test_a_process_that_loaded_it_exits_quietly():
    # frozen objects skip the interpreter's last collection unless given back at exit, and
    # DuckDB's bindings then print a leak report at the end of every command
    exited = subprocess.run(
        [sys.executable, "-c", "import orchestration.definitions"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exited.returncode == 0, exited.stderr
    assert "leaked" not in exited.stderr, exited.stderr[-2000:]
