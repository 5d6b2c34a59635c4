"""`python3 tasks.py dashboard <api>`: dlt's own `dlt pipeline <name> show`, pointed at the
DuckDB file the load wrote (dlt keeps that path with the credentials, not the pipeline)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from assets.registry import OSCAR, POSIT_CONNECT
from tools.dashboard import dashboard_command, main


def test_the_dashboard_opens_the_pipeline_on_the_loaded_file(isolated_env):
    command, env = dashboard_command(POSIT_CONNECT)

    assert command[1:] == ["pipeline", "posit_connect_pipeline", "show"]
    assert env["DESTINATION__DUCKDB__CREDENTIALS"] == str(
        isolated_env / "data" / "posit_connect.duckdb"
    )
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)  # marimo
    assert dashboard_command(OSCAR)[0][2] == "oscar_pipeline"


def test_before_any_load_it_says_what_to_run(isolated_env, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["tools/dashboard.py", "oscar"])

    assert main() == 1
    assert "run `python3 tasks.py load` first" in capsys.readouterr().out
