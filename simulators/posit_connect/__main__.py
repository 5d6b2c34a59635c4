"""Run the Posit Connect simulator standalone.

    python -m simulators.posit_connect --port 8787 --content 200 --latency-ms 0 --seed 0

Prints the URL and the admin API key in the variables posit-sdk and rsconnect read.
"""

from __future__ import annotations

from simulators._server import command_line

from . import PositConnectSimulator

SIZES = {
    "content": 50,
    "users": 30,
    "groups": 5,
    "visits": 500,
    "shiny_sessions": 200,
    "audit_logs": 300,
    "oauth_integrations": 3,
    "oauth_sessions": 6,
    "usage_days": 180,  # how far back visits and Shiny sessions go
    "hits": 400,
    "hits_span_days": 180,
    "environments": 0,
}


def _version_option(parser) -> None:
    parser.add_argument("--version", default="2025.09.0", help="Connect version to pretend to be")


def main() -> None:
    prog, description = "python -m simulators.posit_connect", __doc__.split("\n")[0]
    simulator = PositConnectSimulator(
        **command_line(prog, description, 8787, SIZES, _version_option)
    )
    simulator.serve_until_interrupted(
        lambda: [f"CONNECT_SERVER={simulator.url}", f"CONNECT_API_KEY={simulator.api_key}"]
    )


if __name__ == "__main__":
    main()
