"""Open dlt's web dashboard (`dlt pipeline <pipeline> show`) on one API's pipeline.

    python3 tasks.py dashboard posit_connect      # or: oscar

The dashboard needs dlt's `hub` extra, marimo and ibis (the `dashboard` dependency group,
which `tasks.py dashboard` installs). dlt keeps a DuckDB file's path with the destination's
credentials, not in the pipeline, so this points it at the file `load` wrote.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from assets.destinations import destination_name, duckdb_path
from assets.registry import SOURCES, SourceInfo


def dashboard_command(info: SourceInfo) -> tuple[list[str], dict[str, str]]:
    """The command and the environment it needs (marimo is started from PATH)."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if destination_name() == "duckdb":
        env["DESTINATION__DUCKDB__CREDENTIALS"] = str(duckdb_path(info))
    return [str(bin_dir / "dlt"), "pipeline", info.pipeline_name, "show"], env


def main() -> int:
    names = {info.name: info for info in SOURCES}
    if len(sys.argv) != 2 or sys.argv[1] not in names:
        print(f"usage: python3 tasks.py dashboard {{{','.join(names)}}}", file=sys.stderr)
        return 2
    info = names[sys.argv[1]]
    if destination_name() == "duckdb" and not duckdb_path(info).exists():
        print(f"{duckdb_path(info)} does not exist yet: run `python3 tasks.py load` first.")
        return 1
    command, env = dashboard_command(info)
    os.execve(command[0], command, env)


if __name__ == "__main__":
    sys.exit(main())
