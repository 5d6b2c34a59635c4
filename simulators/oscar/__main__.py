"""Run the OSCAR simulator standalone: `python -m simulators.oscar --port 8788 --api v4`."""

from __future__ import annotations

from simulators._server import command_line

from . import DEFAULT_VERSIONS, OscarSimulator


def _api_options(parser) -> None:
    parser.add_argument("--api", choices=sorted(DEFAULT_VERSIONS), default="v4")
    parser.add_argument("--version", help="server version to report (default per --api)")


def main() -> None:
    sizes = {"services": 12, "jobs_per_service": 30, "jobs_page_size": 70}
    sim = OscarSimulator(
        **command_line("python -m simulators.oscar", __doc__, 8788, sizes, _api_options)
    )
    # Printed on purpose: this is a local test server and these are its throwaway credentials.
    sim.serve_until_interrupted(
        lambda: [
            f"  OSCAR {sim.version} ({sim.api})",
            f"  username       {sim.username}",
            f"  password       {sim.password}",
            f"  bearer token   {sim.bearer_token}",
            f"  refresh token  {sim.refresh_token}",
            f"  token endpoint {sim.url}{sim.token_endpoint_path}  (client_id {sim.client_id})",
        ]
    )


if __name__ == "__main__":
    main()
