"""Load every table of every API through Dagster, then print each table's row count.

APIs with no server configured are served by the local simulators (the server `demo`), so
a fresh clone shows data with no setup. Configure a real server (README, "Point it at your
servers") or several (docs/configuration.md, "Several servers") and that API is loaded from them instead.

    python -m tools.load_all          # materialise everything once, print row counts
    python -m tools.load_all --dev    # start `dagster dev` with the same environment
    python -m tools.load_all --dev --host 0.0.0.0   # ... reachable from other machines
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt

from assets._catalog import Endpoint
from assets.destinations import (
    REPO_ROOT,
    current_row_counts,
    destination_name,
    duckdb_dir,
    duckdb_path,
)
from assets.dlt_assets import NO_VIEWS
from assets.errors import ConfigurationError
from assets.registry import SourceInfo, enabled_sources

# The simulators are the server `demo` wherever they listen: a `load` while `dev` holds the
# usual ports loads into the same tables. Their content links use one public address, as a
# real Connect's do (its Server.Address), so a second `load` finds the same rows.
DEMO_SERVER = "demo"
DEMO_CONNECT_ADDRESS = "http://connect.demo.invalid"
DEMO_PORTS_FILE = "demo-ports.json"


def _serve(stack: ExitStack, simulator: Callable[[int], Any], api: str, usual_port: int) -> Any:
    """The simulator on its usual port if that is free, else on the port it had last time
    (remembered next to the DuckDB files), else on any. The OSCAR demo's `sites` row holds
    the address it was reached at, so one port from one `load` to the next, even while
    `dev` holds the usual ones, keeps a second `load` from adding a row version."""
    remembered_file = duckdb_dir() / DEMO_PORTS_FILE
    try:
        remembered = json.loads(remembered_file.read_text())
    except (OSError, ValueError):
        remembered = {}
    for port in dict.fromkeys((usual_port, remembered.get(api), 0)):
        if port is None:
            continue
        try:
            sim = stack.enter_context(simulator(port))
            break
        except OSError:
            continue
    remembered_file.parent.mkdir(parents=True, exist_ok=True)
    remembered_file.write_text(json.dumps({**remembered, api: sim.port}))
    return sim


def _simulate_posit_connect(stack: ExitStack) -> dict[str, str]:
    from simulators.posit_connect import PositConnectSimulator

    # History that ends at midnight UTC, like the OSCAR simulator's: a second `load` the same
    # day finds the same rows (nothing new), as against a real server with no activity.
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    generated_at_us = int(midnight.timestamp() * 1e6)
    sim = _serve(
        stack,
        lambda port: PositConnectSimulator(
            port=port, generated_at_us=generated_at_us, address=DEMO_CONNECT_ADDRESS
        ),
        "posit_connect",
        8787,
    )
    return {
        "SOURCES__POSIT_CONNECT_SOURCE__BASE_URL": sim.url,
        "SOURCES__POSIT_CONNECT_SOURCE__API_KEY": sim.api_key,
        "SOURCES__POSIT_CONNECT_SOURCE__SERVER_NAME": DEMO_SERVER,
    }


def _simulate_oscar(stack: ExitStack) -> dict[str, str]:
    from simulators.oscar import OscarSimulator

    sim = _serve(stack, lambda port: OscarSimulator(port=port), "oscar", 8788)
    return {
        "SOURCES__OSCAR_SOURCE__BASE_URL": sim.url,
        "SOURCES__OSCAR_SOURCE__USERNAME": sim.username,
        "SOURCES__OSCAR_SOURCE__PASSWORD": sim.password,
        "SOURCES__OSCAR_SOURCE__SERVER_NAME": DEMO_SERVER,
    }


SIMULATORS: dict[str, Callable[[ExitStack], dict[str, str]]] = {
    "posit_connect": _simulate_posit_connect,
    "oscar": _simulate_oscar,
}
SERVER_FALLBACK_ENV = {"posit_connect": "CONNECT_SERVER"}


def configured_url(server: SourceInfo) -> str | None:
    if server.named:
        return dlt.config.get(f"sources.{server.section}.{server.server}.base_url", str)
    configured = dlt.config.get(f"sources.{server.section}.base_url", str)
    return configured or os.environ.get(SERVER_FALLBACK_ENV.get(server.name, ""), "") or None


def failure_summary() -> list[str]:
    """Each failed step's message from the last run, without the tracebacks around it."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return []
        events = instance.all_logs(runs[0].run_id, of_type=DagsterEventType.STEP_FAILURE)
    messages = []
    for event in events:
        error = event.dagster_event.step_failure_data.error
        if error is not None:
            text = error.message.strip().removeprefix("dagster._core.definitions.events.")
            messages.append(f"- {event.dagster_event.step_key}: {text}")
    return messages


def dagster_env() -> dict[str, str]:
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    return {"DAGSTER_HOME": str(home), "RUNTIME__DLTHUB_TELEMETRY": "false"}


def print_row_counts(servers: list[SourceInfo]) -> None:
    print(f"\nCurrent rows per table in {destination_name()}:")
    for server in servers:
        for table, count in current_row_counts(server).items():
            print(f"  {server.label + '/' + table:<36} {_shown(server.catalog[table], count)}")


def _shown(endpoint: Endpoint, count: int | None) -> str:
    if count:
        return f"{count:>8,}"
    if endpoint.empty_by_design:
        return f"       0  (by design: needs {endpoint.empty_unless}, see its description)"
    return "       0  (nothing on the server yet)" if count == 0 else "no rows yet"


def print_next_steps(servers: list[SourceInfo], seconds: float, ui: str) -> None:
    print(f"\nDone in {seconds:.0f} s. Next:")
    print(f"  python3 tasks.py dev        # the Dagster UI on {ui}")
    if destination_name() == "duckdb":  # one query to try, read-only beside any load
        server = servers[0]
        path = duckdb_path(server)
        shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
        table = f"{server.dataset_name}.{server.endpoints[0].table}"
        sql = f"SELECT * FROM {table} WHERE {server.endpoints[0].load.current_filter} LIMIT 5"
        print(
            '  .venv/bin/python -c "import duckdb; '
            f"print(duckdb.connect('{shown}', read_only=True).sql('{sql}'))\""
        )


def print_answers() -> None:
    """The insights' three answers and the HTML report, last: what people came for."""
    from tools.report import answers, read_insights, write_report

    tables = read_insights()
    path = write_report(tables)
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    print("\nAnswers (from the insights, docs/insights.md):")
    for line in answers(tables, datetime.now(UTC).date()):
        print(f"  {line}")
    print(f"  Report: {shown} (python3 tasks.py report rewrites it)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true", help="start `dagster dev` instead")
    parser.add_argument(
        "--host",
        default=os.environ.get("DAGSTER_WEBSERVER_HOST", "127.0.0.1"),
        help="address the UI of --dev listens on (default: DAGSTER_WEBSERVER_HOST or 127.0.0.1). "
        "The UI has no login: anyone who reaches it can launch runs (docs/operations.md, 'Who gets in').",
    )
    parser.add_argument("--port", type=int, default=3000, help="port of the UI of --dev")
    args = parser.parse_args()
    try:
        apis = [(info, info.configured_servers()) for info in enabled_sources()]
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2

    started = time.monotonic()
    with ExitStack() as stack:
        env = dagster_env()
        for info, servers in apis:
            if servers == (info,) and not configured_url(info):
                env.update(SIMULATORS[info.name](stack))
                print(
                    f"{info.title}: no server configured, serving a local simulator ({DEMO_SERVER})"
                )
                continue
            for server in servers:
                url = configured_url(server) or "no base_url set"
                print(f"{server.server_title}: loading from {url}")
        os.environ.update(env)
        dagster = str(Path(sys.executable).with_name("dagster"))
        if args.dev:
            ui = ["-h", args.host, "-p", str(args.port)]
            # workspace.yaml names the code location (not the module's dotted path)
            return subprocess.call([dagster, "dev", "-w", "workspace.yaml", *ui], cwd=REPO_ROOT)
        # At a terminal a failure is reported at once; schedules keep their retries.
        os.environ.setdefault("REFRESH_RETRIES", "0")
        command = [dagster, "asset", "materialize", "-m", "orchestration.definitions"]
        # INFO: each table's rows and requests as they load, without the event-by-event DEBUG
        quiet = json.dumps({"loggers": {"console": {"config": {"log_level": "INFO"}}}})
        # `dagster asset materialize` is "superseded" by dg, which takes no run config yet
        warnings = "ignore:Function `asset_materialize_command`,ignore:Parameter `include_sources`"
        code = subprocess.call(
            [*command, "--select", "*", "--config-json", quiet],
            env={**os.environ, "PYTHONWARNINGS": warnings},
        )
        loaded = [server for _, servers in apis for server in servers]
        print_row_counts(loaded)
        if code:
            print("\nThe run failed. What to change:", *failure_summary(), sep="\n")
        else:
            ui = f"http://{args.host}:{args.port}"
            print_next_steps(loaded, time.monotonic() - started, ui)
            if destination_name() not in NO_VIEWS:  # insights need SQL (assets/insights)
                print_answers()
        return code


if __name__ == "__main__":
    sys.exit(main())
