"""A small threaded HTTP server that the API simulators build on.

Each simulator registers routes (method + regex) and handlers that return a `Response`.
The base adds what every simulator needs for tests, demos and benchmarks:

- request counters per route template (`stats()`, `GET /__sim__/stats`),
- injected faults (`add_fault(...)`, `POST /__sim__/faults`): status codes with Retry-After,
  latency, connection resets mid-body, truncated JSON, HTML error pages with status 200,
  wrong content types,
- a control plane over HTTP (`/__sim__/...`) so a simulator running in another process
  (the demo, `dagster dev`, a benchmark) can be changed between runs.

Standard library only; HTTP/1.1 keep-alive so clients reuse connections as they would against
a real server behind a proxy.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CONTROL_PREFIX = "/__sim__"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


def text(status: int, body: str = "", **headers: str) -> Response:
    return Response(status, body, headers, content_type="text/plain; charset=utf-8")


Handler = Callable[[Request], Response]

FAULT_KINDS = ("status", "slow", "reset", "truncate", "html200", "wrong_content_type")


@dataclass
class Fault:
    """A fault applied to matching requests.

    kind: one of FAULT_KINDS.  `every`: apply to every Nth matching request (1 = all).
    `times`: stop after this many applications (None = unlimited).  `route`: regex on the path.
    """

    kind: str = "status"
    status: int = 503
    every: int = 1
    times: int | None = None
    route: str = ".*"
    retry_after: float | None = None
    delay: float = 0.0
    seen: int = 0
    applied: int = 0

    @property
    def label(self) -> str:
        """How the fault is counted: its status code, or its kind."""
        return str(self.status) if self.kind == "status" else self.kind

    def matches(self, path: str) -> bool:
        if self.times is not None and self.applied >= self.times:
            return False
        if not re.search(self.route, path):
            return False
        self.seen += 1
        if self.seen % self.every:
            return False
        self.applied += 1
        return True


class Simulator:
    """Base class: subclasses call `self.route(...)` in `__init__` and implement `mutate`."""

    name = "simulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_ms: float = 0.0):
        self.host = host
        self.port = port
        self.latency_ms = latency_ms
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self._lock = threading.RLock()
        self.counts: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self.fault_log: Counter[str] = Counter()
        self.requests_log: list[tuple[str, str]] = []
        # Every API request as it arrived, faulted ones included: (time.monotonic(), method,
        # path with query, fault applied or None). Tests read retry timing and counts here.
        self.request_times: list[tuple[float, str, str, str | None]] = []
        # Every API request from arrival to its answer sent: (arrived, answered, path with
        # query), time.monotonic(). Tests see which requests overlapped (ran concurrently).
        self.request_spans: list[tuple[float, float, str]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routing -----------------------------------------------------------------
    def route(self, method: str, template: str, handler: Handler) -> None:
        """Register `handler` for `template`, where `{name}` matches one path segment."""
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append((method, re.compile(f"^{pattern}$"), template, handler))

    def clear_routes(self) -> None:
        """Forget every route, e.g. before registering the set of another server version."""
        self._routes = []

    def not_found(self, request: Request) -> Response:
        return text(404, "404 page not found")

    def error_response(self, status: int, message: str) -> Response:
        """The error body this API sends for `status` (plain text unless a subclass says so)."""
        return text(status, message)

    def authenticate(self, request: Request) -> Response | None:
        """Return an error response when the request is not authorised, None otherwise."""
        return None

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        for method, pattern, template, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                with self._lock:
                    self.counts[f"{method} {template}"] += 1
                    self.counts["total"] += 1
                    self.requests_log.append((method, request.path))
                request.path_params = match.groupdict()
                denied = self.authenticate(request)
                if denied is not None:
                    return denied
                return handler(request)
        with self._lock:
            self.counts["unmatched"] += 1
            self.counts["total"] += 1
        return self.not_found(request)

    # -- control plane ----------------------------------------------------------
    def mutate(self, action: str, params: dict[str, Any]) -> Any:
        raise ValueError(f"unknown action {action!r}")

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": dict(self.counts), "faults": dict(self.fault_log)}

    def reset_counters(self) -> None:
        with self._lock:
            self.counts.clear()
            self.fault_log.clear()
            self.requests_log.clear()
            self.request_times.clear()
            self.request_spans.clear()

    def add_fault(self, **spec: Any) -> Fault:
        fault = Fault(**spec)
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _control(self, request: Request) -> Response:
        action = request.path[len(CONTROL_PREFIX) :].strip("/")
        try:
            if action == "stats":
                return Response(200, self.stats())
            if action == "reset":
                self.reset_counters()
                return Response(200, {"ok": True})
            if action == "faults" and request.method == "POST":
                specs = request.json()
                for spec in specs if isinstance(specs, list) else [specs]:
                    self.add_fault(**spec)
                return Response(200, {"faults": len(self.faults)})
            if action == "faults" and request.method == "DELETE":
                self.clear_faults()
                return Response(200, {"faults": 0})
            if action == "mutate" and request.method == "POST":
                body = request.json() or {}
                result = self.mutate(body.pop("action"), body)
                return Response(200, {"ok": True, "result": result})
        except (ValueError, KeyError, TypeError) as exc:
            return Response(400, {"error": str(exc)})
        return text(404, "unknown control action")

    def _pick_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(path):
                    self.fault_log[fault.label] += 1
                    return fault
        return None

    def _record_arrival(self, method: str, target: str, fault: Fault | None) -> None:
        with self._lock:
            arrived = time.monotonic()
            self.request_times.append((arrived, method, target, fault.label if fault else None))

    # -- lifecycle ----------------------------------------------------------------
    # Set before `start()` to serve HTTPS with this context (e.g. a certificate from a
    # private CA, to test TLS verification and `ca_bundle` settings).
    ssl_context: ssl.SSLContext | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> Simulator:
        simulator = self

        class _Handler(_RequestHandler):
            sim = simulator

        self._httpd = _Server((self.host, self.port), _Handler)
        if self.ssl_context is not None:
            self._httpd.socket = self.ssl_context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name=f"{self.name}-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def serve_until_interrupted(self, details: Callable[[], list[str]]) -> None:
        """Standalone use: the URL first, then `details()` (what a client needs, once the
        port is bound), until Ctrl-C."""
        self.start()
        print(f"{self.name} simulator listening on {self.url}")
        print("\n".join(details()), flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            self.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timed out, was killed, refused our certificate) is normal
        in tests: stay quiet."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle's algorithm on, the body waits
    # for the client's delayed ACK of the headers (~40 ms on Linux) on every request.
    disable_nagle_algorithm = True
    sim: Simulator

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        fault = None
        if not request.path.startswith(CONTROL_PREFIX):
            fault = self.sim._pick_fault(request.path)
            self.sim._record_arrival(request.method, self.path, fault)
            if self.sim.latency_ms:
                time.sleep(self.sim.latency_ms / 1000)
        if fault and fault.kind == "status":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            response = self.sim.error_response(fault.status, "injected fault")
            response.headers.update(headers)
            self._send(response)
            return
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)
        response = self.sim.dispatch(request)
        if fault and fault.kind == "html200":
            response = Response(200, "<html><body>Maintenance</body></html>", {}, "text/html")
        if fault and fault.kind == "wrong_content_type":
            response.content_type = "text/html"
        payload = response.encoded()
        if fault and fault.kind in ("reset", "truncate"):
            self._send_partial(response, payload, reset=fault.kind == "reset")
            return
        self._send(response, payload)

    def _send(self, response: Response, payload: bytes | None = None) -> None:
        payload = response.encoded() if payload is None else payload
        self.send_response(response.status)
        if payload or response.content_type.startswith("text"):
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _send_partial(self, response: Response, payload: bytes, reset: bool) -> None:
        half = payload[: max(1, len(payload) // 2)]
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if reset:
            self.send_header("Content-Length", str(len(payload)))
        else:
            # A body cut short but framed as complete: the client sees invalid JSON.
            self.send_header("Content-Length", str(len(half)))
        self.end_headers()
        self.wfile.write(half)
        self.wfile.flush()
        if reset:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.close_connection = True
            self.connection.close()

    def _handle_timed(self) -> None:
        arrived = time.monotonic()
        self._handle()
        if not self.path.startswith(CONTROL_PREFIX):
            with self.sim._lock:
                self.sim.request_spans.append((arrived, time.monotonic(), self.path))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle_timed


class SimulatorClient:
    """Drive a simulator running in another process through its control plane."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, action: str, payload: Any = None) -> Any:
        import urllib.request

        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            f"{self.base_url}{CONTROL_PREFIX}/{action}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def add_fault(self, **spec: Any) -> None:
        self._call("POST", "faults", spec)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def mutate(self, action: str, **params: Any) -> Any:
        return self._call("POST", "mutate", {"action": action, **params})["result"]


def command_line(
    prog: str, description: str, port: int, sizes: dict[str, int], more: Callable | None = None
) -> dict[str, Any]:
    """A simulator's standalone options, as keyword arguments for its constructor: where it
    listens, latency, seed and the size of each collection (`sizes`: name -> default)."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every response")
    parser.add_argument("--seed", type=int, default=0, help="the generated data's random seed")
    for name, default in sizes.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    if more is not None:
        more(parser)
    return vars(parser.parse_args())
