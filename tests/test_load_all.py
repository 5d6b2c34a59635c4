"""The README's main command (`python3 tasks.py load` runs `python -m tools.load_all`): with
no server configured it serves both simulators, materialises every asset through the Dagster
CLI and prints each table's current rows."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assets.destinations import REPO_ROOT
from assets.registry import OSCAR, POSIT_CONNECT
from simulators.posit_connect import PositConnectSimulator
from tests.conftest import query

# The OSCAR simulator's defaults: 12 services of 30 jobs each.
OSCAR_ROWS = {
    "services": 12,
    "users": 7,
    "projects": 4,
    "sites": 11,
    "attributes": 85,  # 69 + the credential-named keys of every third service
    "jobs": 360,
    "buckets": 15,
    "cluster_info": 1,
    "cluster_config": 1,
    "cluster_status": 1,
}

pytestmark = pytest.mark.e2e
# Where `load` serves the simulators when the ports are free (tools/load_all.py)
USUAL_PORTS = (8787, 8788)


@pytest.fixture
def usual_ports_taken() -> Iterator[None]:
    """Something else listens on the simulators' usual ports (`tasks.py dev`, another test):
    `load` must not depend on them. A port already taken by someone else serves as well."""
    with contextlib.ExitStack() as held:
        for port in USUAL_PORTS:
            listener = held.enter_context(socket.socket())
            try:
                listener.bind(("127.0.0.1", port))
                listener.listen()
            except OSError:
                pass
        yield


def load_all(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.load_all"],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def printed_rows(output: str) -> dict[str, int]:
    counts = re.finditer(r"^  (\S+/\S+)\s+([\d,]+)$", output, re.M)
    return {m[1]: int(m[2].replace(",", "")) for m in counts}


def test_load_serves_the_simulators_and_prints_every_tables_rows_twice_the_same(
    usual_ports_taken,
):
    expected = {f"oscar/{t}": n for t, n in OSCAR_ROWS.items()}
    posit = PositConnectSimulator().expected_counts()
    expected |= {f"posit_connect/{t}": n for t, n in posit.items() if t != "oauth_credentials"}

    first = load_all()
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert printed_rows(first.stdout) == expected
    # no exchange with an API key, and the table says why it is empty
    assert "needs CONNECT_CONTENT_SESSION_TOKEN" in first.stdout
    assert "Done in" in first.stdout and "python3 tasks.py dev" in first.stdout
    # it ends with the insights' three answers and where the report is
    last = first.stdout.strip().splitlines()[-4:]
    assert re.match(r"  Active users in \w+ \d{4}: \d+ on Posit Connect$", last[0]), last
    assert re.match(r'  Most visited content \(30 days\): ".+" by \S+, \d+ visits$', last[1]), last
    assert re.match(r"  OSCAR job failure rate \(7 days\): [\d.]+% \(\d+ of \d+ finished", last[2])
    report = last[3].removeprefix("  Report: ").split(" (")[0]
    assert (REPO_ROOT / report if not os.path.isabs(report) else Path(report)).exists(), last
    # progress reaches the terminal; the event-by-event DEBUG lines do not
    assert "content_item: 50 rows from 50 requests" in first.stderr
    assert " DEBUG " not in first.stderr

    second = load_all()  # the same server data: nothing new, nothing duplicated
    assert second.returncode == 0, second.stderr[-3000:]
    assert printed_rows(second.stdout) == expected
    assert (
        "content_item: none of the 50 content rows is new or changed since the last load (0 requests"
        in second.stderr
    )
    # not even a new scd2 version: the simulators serve the same rows at the same URLs
    assert query(POSIT_CONNECT, "SELECT count(*) FROM content") == [(posit["content"],)]
    assert query(OSCAR, "SELECT count(*) FROM sites") == [(OSCAR_ROWS["sites"],)]


def test_a_misspelt_api_stops_before_anything_starts():
    wrong = load_all(ENABLED_APIS="posit")
    assert wrong.returncode == 2
    assert "ENABLED_APIS names 'posit'" in wrong.stderr


def test_load_loads_every_configured_server_prints_its_rows_and_ends_with_what_to_change():
    """Two servers answer, a third refuses connections: the two load and print their rows,
    and the run ends with what to change for the third (each a run through the CLI costs two
    Python start-ups, so one run shows both)."""
    with (
        PositConnectSimulator(content=4, users=3, visits=10, audit_logs=5, seed=1) as prod,
        PositConnectSimulator(content=7, users=6, visits=10, audit_logs=5, seed=2) as staging,
    ):
        env = {
            "ENABLED_APIS": "posit_connect",
            "SOURCES__POSIT_CONNECT_SOURCE__SERVERS": "prod,staging,old",
            "SOURCES__POSIT_CONNECT_SOURCE__OLD__BASE_URL": "http://127.0.0.1:1",
            "SOURCES__POSIT_CONNECT_SOURCE__OLD__API_KEY": "not-checked",
            "RUNTIME__REQUEST_MAX_ATTEMPTS": "1",
        }
        for name, sim in (("PROD", prod), ("STAGING", staging)):
            env[f"SOURCES__POSIT_CONNECT_SOURCE__{name}__BASE_URL"] = sim.url
            env[f"SOURCES__POSIT_CONNECT_SOURCE__{name}__API_KEY"] = sim.api_key
        loaded = load_all(**env)

    assert loaded.returncode != 0
    assert f"Posit Connect server 'prod': loading from {prod.url}" in loaded.stdout
    assert "Posit Connect server 'old': loading from http://127.0.0.1:1" in loaded.stdout
    rows = printed_rows(loaded.stdout)
    assert rows["posit_connect/prod/content"] == 4
    assert rows["posit_connect/staging/content"] == 7
    assert rows["posit_connect/staging/users"] == staging.expected_counts()["users"]
    assert not any(label.startswith("posit_connect/content") for label in rows)
    summary = loaded.stdout.split("The run failed. What to change:")[1]
    assert "connection refused" in summary
    assert "SOURCES__POSIT_CONNECT_SOURCE__OLD__BASE_URL" in summary
    assert "prod" not in summary and "staging" not in summary
    assert "Traceback" not in summary
