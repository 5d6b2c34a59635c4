"""Case 8: bad configuration. Every mistake is one clear message at run time, the first line
the UI shows (not a traceback), naming the setting to fix; the code location still loads, so
the UI stays usable to show it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assets.registry import OSCAR, POSIT_CONNECT
from tests.reliability.support import REPO_ROOT, assert_posit_exact, headline, run

POSIT = "SOURCES__POSIT_CONNECT_SOURCE__"
OSCAR_ENV = "SOURCES__OSCAR_SOURCE__"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# name -> (API, how to break its settings, what the message must say)
Breakage = Callable[[pytest.MonkeyPatch, object, object], None]
CASES: dict[str, tuple[object, Breakage, list[str]]] = {
    "posit: no key": (
        POSIT_CONNECT,
        lambda mp, posit, oscar: mp.delenv(f"{POSIT}API_KEY"),
        [f"{POSIT}API_KEY", "CONNECT_API_KEY"],
    ),
    "posit: empty key": (
        POSIT_CONNECT,
        lambda mp, posit, oscar: mp.setenv(f"{POSIT}API_KEY", "   "),
        [f"{POSIT}API_KEY", "CONNECT_API_KEY"],
    ),
    "posit: no scheme": (
        POSIT_CONNECT,
        lambda mp, posit, oscar: mp.setenv(f"{POSIT}BASE_URL", "connect.example.com"),
        [f"{POSIT}BASE_URL", "scheme", "https://connect.example.com"],
    ),
    "posit: plain http to another host": (
        POSIT_CONNECT,
        lambda mp, posit, oscar: mp.setenv(f"{POSIT}BASE_URL", "http://connect.example.com"),
        [f"{POSIT}BASE_URL", "plain http", "allow_insecure_http"],
    ),
    "posit: unreachable host": (
        POSIT_CONNECT,
        lambda mp, posit, oscar: mp.setenv(f"{POSIT}BASE_URL", "https://connect.invalid"),
        [f"{POSIT}BASE_URL", "could not connect", "host name not found"],
    ),
    "posit: closed port": (
        POSIT_CONNECT,
        lambda mp, posit, oscar: mp.setenv(f"{POSIT}BASE_URL", f"http://127.0.0.1:{closed_port()}"),
        [f"{POSIT}BASE_URL", "could not connect", "connection refused"],
    ),
    "posit: wrong port (another server)": (
        POSIT_CONNECT,
        lambda mp, posit, oscar: mp.setenv(f"{POSIT}BASE_URL", oscar.url),
        [f"{POSIT}BASE_URL", "does not look like Posit Connect", "wrong port"],
    ),
    "posit: https to an http port": (
        POSIT_CONNECT,
        lambda mp, posit, oscar: mp.setenv(
            f"{POSIT}BASE_URL", posit.url.replace("http:", "https:")
        ),
        [f"{POSIT}BASE_URL", "plain http"],
    ),
    "destination: motherduck without its token": (
        POSIT_CONNECT,
        lambda mp, posit, oscar: mp.setenv("LOAD_DESTINATION", "motherduck"),
        ["LOAD_DESTINATION=motherduck", "DESTINATION__MOTHERDUCK__CREDENTIALS__PASSWORD"],
    ),
    "oscar: no password": (
        OSCAR,
        lambda mp, posit, oscar: mp.setenv(f"{OSCAR_ENV}PASSWORD", ""),
        [f"{OSCAR_ENV}PASSWORD"],
    ),
    "oscar: no scheme": (
        OSCAR,
        lambda mp, posit, oscar: mp.setenv(f"{OSCAR_ENV}BASE_URL", "oscar.example.org"),
        [f"{OSCAR_ENV}BASE_URL", "scheme"],
    ),
    "oscar: closed port": (
        OSCAR,
        lambda mp, posit, oscar: mp.setenv(
            f"{OSCAR_ENV}BASE_URL", f"http://127.0.0.1:{closed_port()}"
        ),
        [f"{OSCAR_ENV}BASE_URL", "could not connect", "connection refused"],
    ),
    "oscar: wrong port (another server)": (
        OSCAR,
        lambda mp, posit, oscar: mp.setenv(f"{OSCAR_ENV}BASE_URL", posit.url),
        [f"{OSCAR_ENV}BASE_URL", "does not look like OSCAR"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_setting_fails_the_run_with_one_clear_message(
    posit, oscar, instance, monkeypatch, case
):
    info, breakage, says = CASES[case]
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    breakage(monkeypatch, posit, oscar)
    first_table = info.endpoints[0].table

    result = run(info, [first_table], instance)

    assert not result.success
    message = headline(result)
    assert "Traceback" not in message and "Stack Trace" not in message
    for words in says:
        assert words in message, f"{words!r} not in {message!r}"
    if case.endswith(("key", "scheme", "another host", "password")):
        # refused before anything was sent: no credential went anywhere
        sim = posit if info is POSIT_CONNECT else oscar
        assert sim.request_times == []


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (no packet is sent to find it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_plain_http_to_another_host_loads_when_explicitly_allowed(
    simulators, instance, monkeypatch
):
    from simulators.posit_connect import PositConnectSimulator

    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    with PositConnectSimulator(host="0.0.0.0", content=10, users=5, visits=20) as sim:
        simulators.append(sim)
        monkeypatch.setenv(f"{POSIT}BASE_URL", f"http://{address}:{sim.port}")
        monkeypatch.setenv(f"{POSIT}API_KEY", sim.api_key)
        refused = run(POSIT_CONNECT, ["content"], instance)
        assert not refused.success and "allow_insecure_http" in headline(refused)
        assert sim.request_times == []

        monkeypatch.setenv(f"{POSIT}ALLOW_INSECURE_HTTP", "true")
        allowed = run(POSIT_CONNECT, ["content", "users"], instance)

        assert allowed.success
        assert_posit_exact(sim, ["content", "users"])


def test_the_code_location_loads_with_every_setting_broken(tmp_path: Path):
    """`dagster definitions validate` (what the UI does to load the code location) passes
    with bad URLs, no credentials and an insecure URL for both APIs."""
    env = {
        **os.environ,
        f"{POSIT}BASE_URL": "connect.example.com",
        f"{POSIT}API_KEY": "",
        "CONNECT_SERVER": "not a url",
        f"{OSCAR_ENV}BASE_URL": "http://oscar.example.org",
        f"{OSCAR_ENV}USERNAME": "",
        f"{OSCAR_ENV}REQUEST_TIMEOUT": "0",
    }
    env.pop(f"{OSCAR_ENV}PASSWORD", None)
    dagster = str(Path(sys.executable).with_name("dagster"))

    validated = subprocess.run(
        [dagster, "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert validated.returncode == 0, validated.stdout[-2000:] + validated.stderr[-3000:]
