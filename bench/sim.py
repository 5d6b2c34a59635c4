"""The Posit Connect simulator in its own process, so its CPU and memory are not the client's."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from simulators._server import SimulatorClient

REPO_ROOT = Path(__file__).resolve().parents[1]


class SimulatorProcess:
    """`python -m simulators.posit_connect` on a free port; `url`, `api_key` and `client`."""

    def __init__(self, latency_ms: float = 0.0, **sizes: int):
        self.latency_ms = latency_ms
        self.sizes = sizes
        self.url = ""
        self.api_key = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SimulatorProcess:
        args = [sys.executable, "-m", "simulators.posit_connect", "--port", "0"]
        args += ["--latency-ms", str(self.latency_ms)]
        for name, value in self.sizes.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        self._process = subprocess.Popen(
            args, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self._process.stdout is not None
        started = time.monotonic()
        for line in self._process.stdout:
            if line.startswith("CONNECT_SERVER="):
                self.url = line.split("=", 1)[1].strip()
            elif line.startswith("CONNECT_API_KEY="):
                self.api_key = line.split("=", 1)[1].strip()
                break
        if not self.api_key:
            raise RuntimeError(f"the simulator did not start: {self._process.poll()=}")
        self.startup_seconds = time.monotonic() - started
        self.client = SimulatorClient(self.url)
        return self

    def requests(self) -> dict[str, Any]:
        return self.client.stats()["requests"]

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
