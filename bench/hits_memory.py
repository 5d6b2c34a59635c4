"""Content hits: the first load of 1,000,000 hits over two years, then a rerun after new hits.

    python -m bench.hits_memory                  # 1,000,000 hits (about 3 minutes on 2 cores)
    python -m bench.hits_memory --hits 100000    # a smaller history

GET /v1/instrumentation/content/hits has no paging: one response holds every hit of the
requested from/to window, so the loader walks the history in bounded windows (assets/_catalog.py,
`_windowed_event_rows`). Measured as bench.run measures: the simulator in its own process, the
load in a fresh subprocess whose peak RSS `os.wait4` reports. Target: peak RSS under 500 MB,
and the rerun makes one request for hits.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.run import run_contender
from bench.sim import SimulatorProcess

HITS_ROUTE = "GET /__api__/v1/instrumentation/content/hits"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hits_memory", description=__doc__)
    parser.add_argument("--hits", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    options = parser.parse_args()
    sizes = dict(content=200, users=200, visits=0, shiny_sessions=0, audit_logs=0)
    with (
        SimulatorProcess(**sizes, hits=options.hits, hits_span_days=options.days) as sim,
        tempfile.TemporaryDirectory(prefix="bench-hits-") as workdir,
    ):
        first = run_contender("ours", sim, ["content_hits"], Path(workdir))
        print(
            f"first load: {first.rows['content_hits']:,} hits over {options.days} days in "
            f"{first.seconds:.1f} s, {first.by_route.get(HITS_ROUTE, 0)} windows, "
            f"peak RSS {first.rss_mb:.0f} MB"
        )
        added = sim.client.mutate("add_hits", n=1000)["added"]
        rerun = run_contender("ours", sim, ["content_hits"], Path(workdir))
        print(
            f"rerun after {added:,} new hits: {rerun.rows['content_hits']:,} hits in "
            f"{rerun.seconds:.1f} s, {rerun.by_route.get(HITS_ROUTE, 0)} request(s) for hits, "
            f"peak RSS {rerun.rss_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
