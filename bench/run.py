"""Benchmark the seed page's pipeline, a plain floor loader and this project's assets.

    python -m bench.run                       # every workload, 3 repetitions (seed: 1)
    python -m bench.run -w a,b,c -r 5         # some workloads, more repetitions
    python -m bench.run -w e --contenders ours

Each workload starts the Posit Connect simulator in its own process, then runs each contender
in a fresh subprocess and working directory, so the peak RSS (from `wait4`) is the contender's
alone. Prints one table of medians, ratios to `floor` and peak RSS. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.floor import THREADS as FLOOR_THREADS
from bench.sim import REPO_ROOT, SimulatorProcess

CONTENDERS = ("seed", "floor", "dlt-arrow", "ours")
WORKLOADS = ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
# Contenders that measure some workloads only: a bound for them, not a loader of every table;
# the seed takes minutes and gigabytes from 200,000 visits on, so it stays out of (g).
ONLY_IN = {"dlt-arrow": ("a", "c"), "seed": ("a", "b", "c")}

# Small everything-else, so a workload's time is its table's.
SMALL = {"users": 30, "groups": 5, "visits": 0, "shiny_sessions": 0, "audit_logs": 0}


@dataclass
class Measurement:
    seconds: float
    rss_mb: float
    rows: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    by_route: dict[str, int] = field(default_factory=dict)
    dlt_seconds: float | None = None
    dlt_one_row_seconds: float | None = None


@dataclass
class Row:
    workload: str
    contender: str
    runs: list[Measurement]
    reference: str = "floor"  # what the ratio column divides by
    note: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(m.seconds for m in self.runs)

    @property
    def rss_mb(self) -> float:
        return max(m.rss_mb for m in self.runs)


@dataclass
class Workload:
    key: str
    title: str
    sim: dict[str, Any]
    tables: list[str] | None
    ours_env: dict[str, str] = field(default_factory=dict)  # settings for `ours` only


TABLE_WORKLOADS = {
    "a": Workload("a", "(a) 20,000 content items", {**SMALL, "content": 20_000}, ["content"]),
    "b": Workload(
        "b",
        "(b) content_item, 2,000 items, 10 ms",
        {**SMALL, "content": 2_000, "latency_ms": 10},
        ["content_item"],
        # the floor's 16 threads; the project's default bound is 12
        {"SOURCES__POSIT_CONNECT_SOURCE__MAX_CONCURRENCY": str(FLOOR_THREADS)},
    ),
    "c": Workload(
        "c",
        "(c) 200,000 visits, keyset 500",
        {**SMALL, "content": 200, "visits": 200_000},
        ["content_visits"],
    ),
}
# (g): a first load of a long usage history at real latency (`--scale` shrinks the visits).
HISTORY_VISITS, HISTORY_DAYS, HISTORY_LATENCY_MS = 1_000_000, 730, 50
# (h): the first load of the per-item tables of a big catalog at real latency.
BIG_CATALOG_ITEMS, BIG_CATALOG_LATENCY_MS = 20_000, 50
PER_ITEM_TABLES = ("content_item", "content_permissions", "bundles")  # those in the catalog
# (i): the first load of (g)'s history, ten times as many visits, against the same at (g)'s size.
LONG_HISTORY_VISITS = (1_000_000, 10_000_000)
# (j): the hourly (catalog) tables of a big server, loaded once, then rerun unchanged.
QUIET_SERVER = {"content": 20_000, "users": 2_000, "groups": 50}
# (d): every table, sized so each load mode has real work.
RERUN_SIM = {
    "content": 2_000,
    "users": 2_000,
    "groups": 20,
    "visits": 200_000,
    "shiny_sessions": 20_000,
    "audit_logs": 20_000,
}
MEMORY_SIZES = (100_000, 1_000_000)


# -- running one contender -------------------------------------------------------------------
def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOURCES__", "DESTINATION__", "CONNECT_", "OSCAR_"))
        and k not in ("LOAD_DESTINATION", "DUCKDB_DIR", "DLT_DATA_DIR", "DAGSTER_HOME")
    }
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    env.update(extra)
    return env


def run_child(
    args: list[str], env: dict[str, str], cwd: Path, logs: Path
) -> tuple[int, float, str, float]:
    """Run a process to its end: (exit status, peak RSS in MB, stdout, wall seconds)."""
    out, err = logs / "stdout.txt", logs / "stderr.txt"
    started = time.perf_counter()
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(args, env=env, cwd=cwd, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        tail = err.read_text()[-3000:]
        raise RuntimeError(f"{' '.join(args[:4])} failed ({process.returncode}):\n{tail}")
    return process.returncode, usage.ru_maxrss / 1024, out.read_text(), wall


def run_contender(
    contender: str,
    sim: SimulatorProcess,
    tables: list[str] | None,
    workdir: Path,
    profile: Path | None = None,
    ours_env: dict[str, str] | None = None,
) -> Measurement:
    workdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "contender": contender,
        "url": sim.url,
        "api_key": sim.api_key,
        "workdir": str(workdir),
        "tables": tables,
    }
    if contender == "seed":
        assert tables and len(tables) == 1
        cwd = workdir  # no project .dlt/config.toml: dlt's defaults
        extra = {
            "BENCH_SERVER": sim.url,
            "BENCH_TABLE": tables[0],
            "SOURCES__POSIT_CONNECT_SOURCE__API_KEY": sim.api_key,
            "DLT_DATA_DIR": str(workdir / "dlt"),
        }
    elif contender == "ours":
        cwd = REPO_ROOT
        (workdir / "dagster_home").mkdir(exist_ok=True)
        extra = {
            "SOURCES__POSIT_CONNECT_SOURCE__BASE_URL": sim.url,
            "SOURCES__POSIT_CONNECT_SOURCE__API_KEY": sim.api_key,
            "DUCKDB_DIR": str(workdir / "data"),
            "DLT_DATA_DIR": str(workdir / "dlt"),
            "DAGSTER_HOME": str(workdir / "dagster_home"),
            **(ours_env or {}),
        }
    else:
        cwd, extra = workdir, {}
    logs = workdir / f"logs-{contender}-{time.monotonic_ns()}"
    logs.mkdir()
    command = [sys.executable, "-m", "bench.child", json.dumps(spec)]
    if (
        profile is not None
    ):  # a pyinstrument session (render: pyinstrument --load F); timings then include its overhead
        profile.mkdir(parents=True, exist_ok=True)
        report = profile / f"{workdir.name}-{contender}.pyisession"
        command[1:2] = ["-m", "pyinstrument", "-r", "pyisession", "-o", str(report), "-m"]
    sim.client.reset()
    _, rss_mb, stdout, _ = run_child(command, child_env(extra), cwd, logs)
    by_route = sim.requests()
    result = json.loads(stdout.rsplit("BENCH_RESULT ", 1)[1])
    return Measurement(
        result["seconds"],
        rss_mb,
        result["rows"],
        by_route.pop("total", 0),
        by_route,
        result.get("dlt_seconds"),
        result.get("dlt_one_row_seconds"),
    )


# -- workloads ---------------------------------------------------------------------------------
class Bench:
    def __init__(self, options: argparse.Namespace):
        self.options = options
        self.rows: list[Row] = []
        self.extra_lines: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="bench-"))

    def repeats(self, contender: str, label: str = "") -> int:
        if contender == "seed":
            return self.options.seed_repeat
        return self.options.memory_repeat if label in ("e", "i-memory") else self.options.repeat

    def workdir(self, label: str) -> Path:
        return self.root / f"{label}-{time.monotonic_ns()}"

    def progress(self, text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    def measure(
        self,
        contender: str,
        sim: SimulatorProcess,
        tables: list[str] | None,
        label: str,
        ours_env: dict[str, str] | None = None,
    ) -> list[Measurement]:
        runs = []
        for _ in range(self.repeats(contender, label)):
            workdir = self.workdir(label)
            runs.append(
                run_contender(contender, sim, tables, workdir, self.options.profile, ours_env)
            )
            shutil.rmtree(workdir, ignore_errors=True)
            m = runs[-1]
            self.progress(
                f"{label} {contender}: {m.seconds:.2f}s, {m.rss_mb:.0f} MB, "
                f"{m.requests} requests, rows {m.rows}"
            )
        return runs

    def table_workload(self, workload: Workload) -> None:
        sim_args = dict(workload.sim)
        latency = sim_args.pop("latency_ms", 0)
        with SimulatorProcess(latency, **sim_args) as sim:
            for contender in self.options.contenders:
                if workload.key not in ONLY_IN.get(contender, (workload.key,)):
                    continue
                runs = self.measure(
                    contender, sim, workload.tables, workload.key, workload.ours_env
                )
                note = f"{runs[-1].requests} requests"
                if runs[-1].dlt_seconds is not None:
                    dlt_seconds = statistics.median(m.dlt_seconds or 0 for m in runs)
                    one_row = statistics.median(m.dlt_one_row_seconds or 0 for m in runs)
                    note += f", {dlt_seconds:.2f} s in pipeline.run ({one_row:.2f} s for 1 row)"
                self.rows.append(Row(workload.title, contender, runs, note=note))

    def rerun(self) -> None:
        """(d) every asset twice against an unchanged server."""
        if "ours" not in self.options.contenders:
            return
        with SimulatorProcess(**RERUN_SIM) as sim:
            first_runs, reruns = self.load_twice("d", sim, None)
        routes = self.rerun_rows("(d) every asset, unchanged rerun", first_runs, reruns)
        self.extra_lines.append(
            f"(d) requests of the unchanged run, by route: {routes} "
            f"({RERUN_SIM['users']:,} users, {RERUN_SIM['groups']} groups; events need one "
            "request each whatever their history)"
        )

    def load_twice(
        self, label: str, sim: SimulatorProcess, tables: list[str] | None
    ) -> tuple[list[Measurement], list[Measurement]]:
        """`ours` loading `tables` (None: every asset) twice into the same fresh directory,
        `repeat` times: the first loads and the unchanged reruns."""
        first_runs, reruns = [], []
        for _ in range(self.options.repeat):
            workdir = self.workdir(label)
            profile = self.options.profile
            first_runs.append(run_contender("ours", sim, tables, workdir, profile))
            reruns.append(run_contender("ours", sim, tables, workdir, profile))
            shutil.rmtree(workdir, ignore_errors=True)
            self.progress(
                f"{label} ours: first {first_runs[-1].seconds:.2f}s "
                f"({first_runs[-1].requests} requests), rerun {reruns[-1].seconds:.2f}s "
                f"({reruns[-1].requests} requests)"
            )
        return first_runs, reruns

    def rerun_rows(
        self, title: str, first_runs: list[Measurement], reruns: list[Measurement]
    ) -> str:
        """The table's rows for a first load and its unchanged rerun; the rerun's requests by
        route, as text."""
        self.rows += [
            Row(title, "ours 1st run", first_runs, "", f"{first_runs[-1].requests} requests"),
            Row(title, "ours rerun", reruns, "ours 1st run", f"{reruns[-1].requests} requests"),
        ]
        return ", ".join(
            f"{route.split('/v1/', 1)[-1]} {count}"
            for route, count in sorted(reruns[-1].by_route.items())
        )

    def first_history_load(self) -> None:
        """(g) the first load of two years of visits, at 50 ms a request."""
        visits = int(HISTORY_VISITS * self.options.scale)
        workload = Workload(
            "g",
            f"(g) {visits:,} visits over {HISTORY_DAYS} days, {HISTORY_LATENCY_MS} ms",
            {**SMALL, "content": 200, "visits": visits, "usage_days": HISTORY_DAYS},
            ["content_visits"],
        )
        workload.sim["latency_ms"] = HISTORY_LATENCY_MS
        self.table_workload(workload)

    def big_catalog(self) -> None:
        """(h) the per-item tables of 20,000 content items, at 50 ms a request."""
        from assets.posit_connect.settings import ENDPOINTS

        in_catalog = {e.table for e in ENDPOINTS}
        tables = [t for t in PER_ITEM_TABLES if t in in_catalog]
        items = max(1, int(BIG_CATALOG_ITEMS * self.options.scale))
        workload = Workload(
            "h",
            f"(h) {', '.join(tables)}: {items:,} items, {BIG_CATALOG_LATENCY_MS} ms",
            {**SMALL, "content": items, "latency_ms": BIG_CATALOG_LATENCY_MS},
            tables,
            # the floor's 16 threads: both have 16 requests in flight, one table after another
            {"SOURCES__POSIT_CONNECT_SOURCE__MAX_CONCURRENCY": str(FLOOR_THREADS)},
        )
        self.table_workload(workload)
        for row in self.rows:
            if row.workload == workload.title:
                run = row.runs[-1]
                in_flight = run.requests * BIG_CATALOG_LATENCY_MS / 1000 / run.seconds
                row.note += f", {in_flight:.1f} requests in flight on average"

    def long_history(self) -> None:
        """(i) peak RSS and time of the first load of 1,000,000 and 10,000,000 visits."""
        if "ours" not in self.options.contenders:
            return
        rows = []
        for size in LONG_HISTORY_VISITS:
            visits = int(size * self.options.scale)
            sim = {
                **SMALL,
                "content": 200,
                "visits": visits,
                "usage_days": HISTORY_DAYS,
                "latency_ms": HISTORY_LATENCY_MS,
            }
            title = f"(i) {visits:,} visits over {HISTORY_DAYS} days, {HISTORY_LATENCY_MS} ms"
            latency = sim.pop("latency_ms")
            with SimulatorProcess(latency, **sim) as simulator:
                runs = self.measure("ours", simulator, ["content_visits"], "i-memory")
            rows.append(Row(title, "ours", runs, "", f"{runs[-1].requests} requests"))
        if len(rows) == 2:
            small, large = rows
            ratio = LONG_HISTORY_VISITS[1] / LONG_HISTORY_VISITS[0]
            self.extra_lines.append(
                f"(i) ours, {ratio:.0f}x the visits: {large.seconds / small.seconds:.2f}x the "
                f"time, {large.rss_mb / small.rss_mb:.2f}x the peak RSS "
                f"({large.rss_mb:.0f} / {small.rss_mb:.0f} MB)"
            )
        self.rows += rows

    def hourly_rerun(self) -> None:
        """(j) every hourly-scheduled table rerun against a big server that did not change."""
        if "ours" not in self.options.contenders:
            return
        from assets.cadence import CATALOG, cadence_name
        from assets.posit_connect.settings import ENDPOINTS

        hourly = [e.table for e in ENDPOINTS if cadence_name(e) == CATALOG]
        sizes = {k: max(1, int(v * self.options.scale)) for k, v in QUIET_SERVER.items()}
        sizes["groups"] = QUIET_SERVER["groups"]
        with SimulatorProcess(**{**SMALL, **sizes}) as sim:
            first_runs, reruns = self.load_twice("j", sim, hourly)
        title = (
            f"(j) hourly tables, {sizes['content']:,} items, {sizes['users']:,} users, "
            f"{sizes['groups']} groups"
        )
        routes = self.rerun_rows(title, first_runs, reruns)
        self.extra_lines.append(
            f"(j) requests of the unchanged hourly run, by route: {routes} ({', '.join(hourly)})"
        )

    def memory(self) -> None:
        """(e) peak RSS at 100,000 and 1,000,000 visits."""
        for visits in MEMORY_SIZES:
            title = f"(e) {visits:,} visits"
            with SimulatorProcess(**{**SMALL, "content": 200, "visits": visits}) as sim:
                for contender in self.options.contenders:
                    if contender == "seed" or contender in ONLY_IN:
                        continue  # the seed: minutes and gigabytes; (c) already shows it
                    runs = self.measure(contender, sim, ["content_visits"], "e")
                    self.rows.append(Row(title, contender, runs, note=f"{visits:,} rows"))
        ours = [r for r in self.rows if r.workload.startswith("(e)") and r.contender == "ours"]
        if len(ours) == 2:
            small, large = ours
            self.extra_lines.append(
                f"(e) ours peak RSS, 1,000,000 / 100,000 visits: {large.rss_mb:.0f} / "
                f"{small.rss_mb:.0f} MB = {large.rss_mb / small.rss_mb:.2f}x"
            )

    def code_location(self) -> None:
        """(f) `dagster definitions validate`: the project vs an empty Definitions."""
        modules = {
            "empty Definitions": "bench.empty_definitions",
            "ours": "orchestration.definitions",
        }
        timings: dict[str, list[Measurement]] = {name: [] for name in modules}
        home = self.root / "dagster_home_f"
        home.mkdir(exist_ok=True)
        dagster = str(Path(sys.executable).with_name("dagster"))
        for _ in range(self.options.repeat):
            for name, module in modules.items():  # interleaved, so drift hits both alike
                logs = self.workdir("f")
                logs.mkdir()
                _, rss, _, wall = run_child(
                    [dagster, "definitions", "validate", "-m", module],
                    child_env({"DAGSTER_HOME": str(home)}),
                    REPO_ROOT,
                    logs,
                )
                timings[name].append(Measurement(wall, rss))
                self.progress(f"f {name}: {wall:.2f}s")
        title = "(f) dagster definitions validate"
        self.rows.append(Row(title, "empty Definitions", timings["empty Definitions"], ""))
        self.rows.append(Row(title, "ours", timings["ours"], "empty Definitions"))

    # -- report ----------------------------------------------------------------------------
    def ratio(self, row: Row) -> str:
        if not row.reference:
            return ""
        reference = next(
            (r for r in self.rows if r.workload == row.workload and r.contender == row.reference),
            None,
        )
        if reference is None or reference is row:
            return ""
        return f"{row.seconds / reference.seconds:.2f}x {row.reference}"

    def report(self) -> str:
        header = ("workload", "contender", "median s", "ratio", "peak RSS", "runs", "notes")
        lines = [header]
        for row in self.rows:
            ratio = self.ratio(row) if row.contender != row.reference else ""
            lines.append(
                (
                    row.workload,
                    row.contender,
                    f"{row.seconds:.2f}",
                    ratio,
                    f"{row.rss_mb:.0f} MB",
                    str(len(row.runs)),
                    row.note,
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = []
        for index, line in enumerate(lines):
            out.append(
                "| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |"
            )
            if index == 0:
                out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join([*out, "", *self.extra_lines])


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "-w",
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)} (default: all)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="size of (g)-(i)'s visits or items and (j)'s items and users against the "
        "targets' (default 1)",
    )
    parser.add_argument(
        "-r", "--repeat", type=int, default=3, help="runs per contender (median; default 3)"
    )
    parser.add_argument(
        "--seed-repeat",
        type=int,
        default=1,
        help="runs of the slow seed contender (default 1)",
    )
    parser.add_argument(
        "--memory-repeat",
        type=int,
        default=1,
        help="runs per contender in workload e, 1,000,000 visits (default 1; RSS is a maximum)",
    )
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="comma-separated subset of " + ",".join(CONTENDERS),
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="write a pyinstrument report per contender run into this directory",
    )
    options = parser.parse_args()
    options.workloads = [w.strip() for w in options.workloads.split(",") if w.strip()]
    options.contenders = [c.strip() for c in options.contenders.split(",") if c.strip()]
    unknown = set(options.workloads) - set(WORKLOADS)
    if unknown or set(options.contenders) - set(CONTENDERS):
        parser.error(f"workloads are {', '.join(WORKLOADS)}; contenders {', '.join(CONTENDERS)}")
    return options


def main() -> None:
    options = _arguments()
    bench = Bench(options)
    steps: dict[str, Callable[[], None]] = {
        **{key: (lambda w=w: bench.table_workload(w)) for key, w in TABLE_WORKLOADS.items()},
        "d": bench.rerun,
        "e": bench.memory,
        "f": bench.code_location,
        "g": bench.first_history_load,
        "h": bench.big_catalog,
        "i": bench.long_history,
        "j": bench.hourly_rerun,
    }
    started = time.monotonic()
    try:
        for key in options.workloads:
            print(f"workload {key}", file=sys.stderr, flush=True)
            steps[key]()
    finally:
        shutil.rmtree(bench.root, ignore_errors=True)
    print(bench.report())
    print(f"\n{len(bench.rows)} rows in {time.monotonic() - started:.0f}s; ", end="")
    print(f"python -m bench.run {' '.join(sys.argv[1:])}".strip())


if __name__ == "__main__":
    main()
