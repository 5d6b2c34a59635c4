"""Rows of the tables that describe the Connect server itself rather than its content.

`runtimes` and `server_info` each come from several requests (one per runtime; the server's
settings and its nodes), so they are derived here instead of being one request's rows; a part
the server does not have (an older version) or the key may not read leaves a note on the
table instead of failing it. `hit_row` keeps a content hit free of query-string values.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from assets._http import progress_log
from assets.errors import ConfigurationError, EndpointMissing, EndpointUnavailable

if TYPE_CHECKING:  # the API's client imports the settings that import this module
    from assets.posit_connect import ConnectApi

# GET /v1/server_settings/{runtime}; R and Python exist on every server with the v1 API, the
# others only from a version on (connectapi `get_runtimes`: quarto 2021.08.0, tensorflow
# 2024.05.0; Node.js is newer still).
RUNTIMES = ("r", "python", "quarto", "tensorflow", "nodejs")
ALWAYS_INSTALLED = ("r", "python")
HOSTS_PATH = "/v1/system/hosts"


def _missing_part(api: ConnectApi, table: str, part: str, path: str, error: Exception) -> None:
    """A part of a derived table the server has not (or the key may not read): noted on the
    table's materialisation and logged; the rest of the table loads."""
    if isinstance(error, EndpointMissing | ConfigurationError):
        why = f"Posit Connect {api.version} has no GET {path}; a newer server has it"
    else:
        why = str(error)
    note = f"{part} left out: {why}"
    api.notes[table] = f"{api.notes[table]}; {note}" if table in api.notes else note
    progress_log.warning("%s: %s", table, note)


def derive_runtimes(api: ConnectApi) -> list[dict[str, Any]]:
    """One row per runtime, version, cluster and image that the server has installed."""
    endpoint = api.catalog["runtimes"]
    rows = []
    for runtime in RUNTIMES:
        path = endpoint.path.replace("{runtime}", runtime)
        try:
            pages = list(api.pages(endpoint, path=path, quiet=True))
        # a server that hides its version answers a route it lacks as if it were no Connect
        # at all (ConfigurationError); here R and Python have already shown it is one
        except (*EndpointUnavailable, ConfigurationError) as error:
            if runtime in ALWAYS_INSTALLED:
                raise
            _missing_part(api, "runtimes", runtime, path, error)
            continue
        for body in (body for page in pages for body in page):
            for installation in body.get("installations") or ():
                rows.append({"runtime": runtime, **installation})
    return rows


def derive_server_info(api: ConnectApi) -> list[dict[str, Any]]:
    """The server as it reports itself (GET /__api__/server_settings: its version, NULL where
    the administrator hides it) and each node of the cluster (GET /v1/system/hosts). A node's
    `last_seen` moves with every heartbeat, so it is left out: kept, it would add a version of
    every node on every run; what changes a row is a version or a node coming or going."""
    settings = api.server_settings()
    rows = [
        {
            "scope": "server",
            "hostname": settings.get("hostname") or None,
            "version": settings.get("version") or None,
            "build": settings.get("build") or None,
        }
    ]
    hosts = replace(api.catalog["server_info"], path=HOSTS_PATH)
    try:
        nodes = [node for page in api.pages(hosts, quiet=True) for node in page]
    except EndpointUnavailable as error:
        _missing_part(api, "server_info", "the cluster's nodes", HOSTS_PATH, error)
        return rows
    rows.extend(
        {
            "scope": "node",
            "hostname": node.get("hostname"),
            "version": node.get("version") or None,
            "build": None,
        }
        for node in nodes
    )
    return rows


def query_parameter_names(query: Any) -> str | None:
    """`?access_token=abc&page=2` -> `access_token,page`: what a visitor asked for, never the
    values (shared links carry tokens in them)."""
    if not query:
        return None
    text = str(query).lstrip("?")
    return ",".join(name for name, _ in parse_qsl(text, keep_blank_values=True)) or None


def hit_row(hit: dict[str, Any]) -> list[dict[str, Any]]:
    """A content hit with its `data` object as columns (path, user_agent, sec_fetch_dest,
    ...), its query string reduced to parameter names."""
    data = hit.pop("data", None) or {}
    row = {**hit, **{name: value for name, value in data.items() if name != "query"}}
    row["query_parameters"] = query_parameter_names(data.get("query"))
    return [row]


ENVIRONMENT_RUNTIMES = ("python", "r", "quarto", "tensorflow", "nodejs")


def environment_row(environment: dict[str, Any]) -> list[dict[str, Any]]:
    """An execution environment with the runtimes its image holds as `<runtime>_versions`
    (comma-separated; NULL where the image has none) and its volume mounts as JSON text: one
    row per image, no child table per runtime."""
    row = dict(environment)
    for runtime in ENVIRONMENT_RUNTIMES:
        installed = row.pop(runtime, None) or {}
        versions = [i.get("version") for i in installed.get("installations") or () if i]
        row[f"{runtime}_versions"] = ",".join(v for v in versions if v) or None
    mounts = row.pop("volume_mounts", None)
    row["volume_mounts"] = json.dumps(mounts, sort_keys=True) if mounts else None
    return [row]
