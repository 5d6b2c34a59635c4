#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+ and pip on the machine.

    python3 tasks.py load     # set up, then load every table of every API through Dagster
    python3 tasks.py test     # set up, then run the test suite
    python3 tasks.py dev      # set up, then start `dagster dev` (UI on http://127.0.0.1:3000)
    python3 tasks.py setup    # only create .venv from uv.lock
    python3 tasks.py report   # write data/report.html from the insight tables (after a load)
    python3 tasks.py dashboard posit_connect   # dlt's web dashboard on a pipeline (or oscar)

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
VENV = ROOT / ".venv"
UV_VERSION = "0.13.8"


def _bin(env: Path, name: str) -> str:
    return str(env / ("Scripts" if os.name == "nt" else "bin") / name)


def run(*command: str, env: dict[str, str] | None = None, echo: bool = True) -> None:
    if echo:
        print("+", " ".join(command), flush=True)
    completed = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})})
    if completed.returncode:
        sys.exit(completed.returncode)


def setup(*groups: str) -> None:
    """Install uv in .tools/, then the locked dependencies in .venv/ (idempotent, fast), with
    the optional dependency `groups` of pyproject.toml. Inexact: a group installed once stays."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before the venv exists
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    uv = _bin(TOOLS, "uv")
    fresh = not VENV.exists()
    if fresh:
        print("Setting up .venv from uv.lock (once; about a minute)...", flush=True)
    if not Path(uv).exists():
        venv.create(TOOLS, with_pip=True)
        pip = (_bin(TOOLS, "python"), "-m", "pip", "install", "-qq", "--disable-pip-version-check")
        run(*pip, f"uv=={UV_VERSION}", echo=False)
    # --quiet: errors only, not uv's list of every package installed
    run(
        uv,
        "sync",
        "--quiet",
        "--frozen",
        "--inexact",
        # Compiled once here, as nothing else may: where PYTHONDONTWRITEBYTECODE is set (CI,
        # containers) every Dagster process would compile dagster, dlt and pandas anew (~8 s).
        "--compile-bytecode",
        *(f"--group={group}" for group in groups),
        "--python",
        sys.executable,
        env={"UV_PYTHON_DOWNLOADS": "never", "UV_PROJECT_ENVIRONMENT": str(VENV)},
        echo=False,
    )
    print(
        f".venv {'created' if fresh else 'up to date'} (uv.lock, Python {sys.version.split()[0]})"
    )


def python(*args: str) -> None:
    run(_bin(VENV, "python"), *args, env={"RUNTIME__DLTHUB_TELEMETRY": "false"})


def test(*args: str) -> None:
    """pytest, its temporary files in memory where the machine has /dev/shm: every test writes
    DuckDB files and a Dagster instance whose SQLite commits wait on the disk (6% of a run)."""
    memory = Path("/dev/shm")
    if "TMPDIR" not in os.environ and os.access(memory, os.W_OK):
        os.environ["TMPDIR"] = str(memory)
    python("-m", "pytest", *args)


COMMANDS = {
    "setup": lambda args: None,
    "load": lambda args: python("-m", "tools.load_all", *args),
    "test": lambda args: test(*args),
    "dev": lambda args: python("-m", "tools.load_all", "--dev", *args),
    "dashboard": lambda args: python("-m", "tools.dashboard", *args),
    "report": lambda args: python("-m", "tools.report", *args),
    "lint": lambda args: (
        run(_bin(VENV, "ruff"), "format", "--check", "."),
        run(_bin(VENV, "ruff"), "check", "."),
    ),
}


# Optional dependency groups of pyproject.toml a command needs besides the default ones.
GROUPS = {"dashboard": ("dashboard",)}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    setup(*GROUPS.get(sys.argv[1], ()))
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
