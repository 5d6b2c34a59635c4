"""What a Connect server says about itself rather than its content: installed runtimes, runtime
caches, cluster nodes, execution environments, the package dependencies of every deployed
bundle, and the unified hits log (GET /v1/instrumentation/content/hits).

Shapes follow Posit's API reference (`RuntimeInfo`, `RuntimeCaches`, `Host`, `Environment`,
`Package`, `Hit`) and posit-sdk / connectapi fixtures; see ../shared/api-notes-posit-admin.md.
Everything is derived from the seed and the content list at request time, so it needs no state
of its own beyond the hits log.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from typing import Any

from . import timestamps as ts
from .events import NO_INDEX, EventLog

# The runtimes GET /v1/server_settings/{runtime} describes, and the first server version that
# answers each (connectapi `get_runtimes` guards quarto at 2021.08.0 and tensorflow at
# 2024.05.0; Node.js arrived as an early-access feature much later).
RUNTIME_SINCE = {
    "r": "1.8.6",
    "python": "1.8.6",
    "quarto": "2021.08.0",
    "tensorflow": "2024.05.0",
    "nodejs": "2026.01.0",
}
INSTALLED = {
    "r": ("4.2.3", "4.3.3", "4.4.1", "4.5.0"),
    "python": ("3.10.14", "3.11.9", "3.12.4", "3.13.1"),
    "quarto": ("1.4.557", "1.5.57", "1.6.40"),
    "tensorflow": ("2.16.1",),
    "nodejs": ("22.18.0", "24.3.0"),
}
R_PACKAGES = ("askpass", "cli", "dplyr", "ggplot2", "glue", "httr", "jsonlite", "rlang", "shiny")
PY_PACKAGES = ("anyio", "certifi", "fastapi", "numpy", "pandas", "pydantic", "requests", "uvicorn")
HOSTNAMES = ("connect-01", "connect-02")
HIT_ID_BASE = 8_966_707  # an integer on real servers, though the reference types it string
HIT_PATHS = ("/", "/hello", "/predict", "/docs", "/_dash-update-component", "/__sockjs__/")
FETCH_DESTS = ("document", "empty", "iframe", None)
FETCH_SITES = ("same-origin", "none", "cross-site", None)
# One hit in QUERY_EVERY carries a query string; half of those hold a token (a shared link
# with an access token, as real servers see): what the loader must never store.
QUERY_EVERY = 5


def runtime_settings(runtime: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "installations": [
            {"version": version, "cluster_name": "Local", "image_name": "Local"}
            for version in INSTALLED[runtime]
        ]
    }
    if runtime == "python":
        body["api_enabled"] = True
    if runtime == "nodejs":
        body["enabled"] = True
    return body


def runtime_caches() -> dict[str, Any]:
    """connectapi's 2024.08.0 fixture writes the language capitalised (`R`, `Python`)."""
    return {
        "caches": [
            {"language": language, "version": version, "image_name": "Local"}
            for language, runtime in (("R", "r"), ("Python", "python"))
            for version in INSTALLED[runtime][-2:]
        ]
    }


def hosts(version: str, now_us: int) -> list[dict[str, Any]]:
    """Every node of the cluster: each reports its heartbeat (`last_seen`) every few seconds."""
    return [
        {
            "hostname": hostname,
            "version": version,
            "last_seen": ts.UTC_MICROS.format(now_us - number * 7 * ts.MICROS_PER_SECOND),
        }
        for number, hostname in enumerate(HOSTNAMES)
    ]


def environments(count: int, seed: int, created_us: int) -> list[dict[str, Any]]:
    """Kubernetes execution environments (SDK fixture `v1/environments.json`); none on a
    server that runs content locally, which is the simulator's default."""
    rng = random.Random(f"{seed}/environments")
    rows = []
    for number in range(1, count + 1):
        r, py = rng.choice(INSTALLED["r"]), rng.choice(INSTALLED["python"])
        created = ts.UTC_SECONDS.format(ts.truncate_to_second(created_us + number))
        rows.append(
            {
                "id": str(300 + number),
                "guid": str(
                    uuid.UUID(hex=hashlib.md5(f"{seed}/env/{number}".encode()).hexdigest())
                ),
                "created_time": created,
                "updated_time": created,
                "title": f"Project {number} (R {r}, Python {py})",
                "description": None,
                "cluster_name": "Kubernetes",
                "name": f"ghcr.io/rstudio/content-base:r{r}-py{py}-ubuntu2204",
                "environment_type": "Kubernetes",
                "matching": rng.choice(("any", "exact", "none")),
                "supervisor": None,
                "python": {"installations": [{"version": py, "path": "/opt/python/bin/python"}]},
                "quarto": None,
                "r": {"installations": [{"version": r, "path": "/opt/R/bin/R"}]},
                "tensorflow": None,
            }
        )
    return rows


def packages_of(item: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """The packages of an item's active bundle (REF `Package`); none for content without an R
    or Python environment."""
    language = "r" if item.get("r_version") else "python" if item.get("py_version") else None
    if language is None:
        return []
    bundle_id = str(item["bundle_id"])
    rng = random.Random(f"{seed}/packages/{item['guid']}/{bundle_id}")
    names = R_PACKAGES if language == "r" else PY_PACKAGES
    chosen = sorted(rng.sample(names, rng.randint(2, len(names))))
    rows = []
    for name in chosen:
        version = f"{rng.randint(0, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        rows.append(
            {
                "language": language,
                "language_version": item["r_version"] or item["py_version"],
                "name": name,
                "version": version,
                "hash": hashlib.md5(f"{name}{version}".encode()).hexdigest()
                if language == "r"
                else None,
                "bundle_id": bundle_id,
                "app_id": item["id"],
                "app_guid": item["guid"],
                "content_id": item["id"],
                "content_guid": item["guid"],
            }
        )
    return rows


def _bits(value: int, shift: int, width: int) -> int:
    return (value >> shift) & ((1 << width) - 1)


def hit_token(bits: int) -> str | None:
    """The access token a hit's query string carries, if it carries one."""
    if _bits(bits, 40, 8) % QUERY_EVERY or not _bits(bits, 48, 1):
        return None
    return f"hittok{bits:016x}"


def render_hit(
    log: EventLog, position: int, content: list[dict], users: list[dict]
) -> dict[str, Any]:
    bits, user = log.bits[position], log.user[position]
    data: dict[str, Any] = {
        "path": HIT_PATHS[_bits(bits, 0, 8) % len(HIT_PATHS)],
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    }
    if not _bits(bits, 40, 8) % QUERY_EVERY:
        token = hit_token(bits)
        data["query"] = f"?access_token={token}&page=2" if token else "?page=2&sort=desc"
    dest = FETCH_DESTS[_bits(bits, 8, 8) % len(FETCH_DESTS)]
    if dest is not None:
        data["sec_fetch_dest"] = dest
        data["sec_fetch_site"] = FETCH_SITES[_bits(bits, 16, 8) % len(FETCH_SITES)]
    return {
        "id": HIT_ID_BASE + position,
        "user_guid": None if user == NO_INDEX else users[user]["guid"],
        "content_guid": content[log.content[position]]["guid"],
        "timestamp": ts.UTC_MICROS.format(log.times[position]),
        "data": data,
    }
