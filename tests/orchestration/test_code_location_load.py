"""What loading the code location leaves behind in the processes that run the loads."""

from __future__ import annotations

import subprocess
import sys

from assets.destinations import REPO_ROOT


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
