"""Run the Posit Connect simulator standalone.

    python -m simulators.posit_connect --port 8787 --content 200 --latency-ms 0 --seed 0

Prints the URL and the admin API key in the variables posit-sdk and rsconnect read.
"""

from __future__ import annotations

import argparse
import threading

from . import PositConnectSimulator


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.posit_connect", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--version", default="2025.09.0", help="Connect version to pretend to be")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    for name, default in (
        ("content", 50), ("users", 30), ("groups", 5), ("visits", 500), ("shiny-sessions", 200),
        ("audit-logs", 300), ("oauth-integrations", 3), ("oauth-sessions", 6),
    ):  # fmt: skip
        parser.add_argument(f"--{name}", type=int, default=default)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    simulator = PositConnectSimulator(
        args.host,
        args.port,
        content=args.content,
        users=args.users,
        groups=args.groups,
        visits=args.visits,
        shiny_sessions=args.shiny_sessions,
        audit_logs=args.audit_logs,
        oauth_integrations=args.oauth_integrations,
        oauth_sessions=args.oauth_sessions,
        version=args.version,
        latency_ms=args.latency_ms,
        seed=args.seed,
    ).start()
    print(f"{simulator.name} simulator (Connect {simulator.version}) listening on {simulator.url}")
    print(f"CONNECT_SERVER={simulator.url}")
    print(f"CONNECT_API_KEY={simulator.api_key}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        simulator.stop()


if __name__ == "__main__":
    main()
