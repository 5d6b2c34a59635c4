"""One contender run in its own process: `python -m bench.child '<json spec>'`.

The parent (bench.run) reads the process's peak RSS from `wait4` and the timing from the
last stdout line, `BENCH_RESULT {...}`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    spec = json.loads(sys.argv[1])
    contender = spec["contender"]
    if contender == "seed":
        from bench import seed

        result = seed.run(spec["tables"])
    elif contender == "floor":
        from bench import floor

        result = floor.run(spec["url"], spec["api_key"], Path(spec["workdir"]), spec["tables"])
    elif contender == "dlt-arrow":
        from bench import dlt_arrow

        result = dlt_arrow.run(spec["url"], spec["api_key"], Path(spec["workdir"]), spec["tables"])
    elif contender == "ours":
        from bench import ours

        result = ours.run(spec["tables"])
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
