"""Run the OSCAR simulator standalone: `python -m simulators.oscar --port 8788 --api v4`."""

from __future__ import annotations

import argparse

from . import DEFAULT_VERSIONS, OscarSimulator


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulators.oscar", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--services", type=int, default=12)
    parser.add_argument("--jobs-per-service", type=int, default=30)
    parser.add_argument("--api", choices=sorted(DEFAULT_VERSIONS), default="v4")
    parser.add_argument("--version", help="server version to report (default per --api)")
    parser.add_argument("--jobs-page-size", type=int, default=70)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    sim = OscarSimulator(
        args.host,
        args.port,
        services=args.services,
        jobs_per_service=args.jobs_per_service,
        api=args.api,
        version=args.version,
        jobs_page_size=args.jobs_page_size,
        latency_ms=args.latency_ms,
        seed=args.seed,
    )
    # Printed on purpose: this is a local test server and these are its throwaway credentials.
    # The URL is printed by serve_forever once the port (maybe 0 = any) is bound.
    print(f"OSCAR {sim.version} ({sim.api}) simulator")
    print(f"  username       {sim.username}")
    print(f"  password       {sim.password}")
    print(f"  bearer token   {sim.bearer_token}")
    print(f"  refresh token  {sim.refresh_token}")
    print(
        f"  token endpoint <url>{sim.token_endpoint_path}  (client_id {sim.client_id})", flush=True
    )
    sim.serve_forever()


if __name__ == "__main__":
    main()
