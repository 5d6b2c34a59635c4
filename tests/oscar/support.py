"""What each OSCAR table should hold, read from the simulator the way a user would check it
(its own listing, `services_snapshot` and `expected_jobs`, and plain requests to its API), and
the settings of each way to authenticate."""

from __future__ import annotations

from typing import Any

import requests

from assets.registry import OSCAR
from tests.conftest import query

ENV = "SOURCES__OSCAR_SOURCE__"

# The columns that identify a current row of each table.
KEYS = {
    "services": "name",
    "users": "user_id",
    "projects": "name",
    "sites": "site_id",
    "attributes": "service, kind, name",
    "jobs": "service, job_name",
    "buckets": "bucket_name",
    "cluster_info": "version",
    "cluster_config": "config__name",
    "cluster_status": "cluster__nodes_count",
}


def get(sim: Any, path: str) -> Any:
    response = requests.get(f"{sim.url}{path}", auth=(sim.username, sim.password), timeout=10)
    response.raise_for_status()
    return response.json()


def members(service: dict[str, Any]) -> list[dict[str, Any]]:
    return service.get("replicas") or (service.get("federation") or {}).get("members") or []


def expected_keys(sim: Any, services: list[dict[str, Any]] | None = None) -> dict[str, set]:
    """Row identities per table for what Basic auth sees now (or for `services`)."""
    services = sim.services_snapshot() if services is None else services
    config = get(sim, "/system/config")["config"]
    attributes = set()
    for s in services:
        env = s["environment"]
        for kind, names in (
            ("label", s["labels"] or {}),
            ("annotation", s["annotations"] or {}),
            ("variable", env["variables"]),
            ("secret", env["secrets"]),
        ):
            attributes |= {(s["name"], kind, name) for name in names}
    return {
        "services": {s["name"] for s in services},
        "users": {s["owner"] for s in services}
        | {uid for s in services for uid in s["allowed_users"] or ()},
        "projects": {s["vo"] for s in services} | set(config["oidc_groups"]),
        "sites": {config["name"]}
        | {cluster for s in services for cluster in s["clusters"]}
        | {m["cluster_id"] or m["url"] for s in services for m in members(s)},
        "attributes": attributes,
        "jobs": sim.expected_jobs(),
        "buckets": sim.expected_buckets(),
        "cluster_info": {sim.version},
        "cluster_config": {config["name"]},
        "cluster_status": {len(sim.nodes)},
    }


def loaded_keys(table: str) -> list:
    """Identities of the current rows of `table`, duplicates kept (none if dlt never created
    the table: a table without rows)."""
    endpoint = OSCAR.catalog[table]
    if not query(OSCAR, f"SELECT 1 FROM information_schema.tables WHERE table_name = '{table}'"):
        return []
    rows = query(OSCAR, f"SELECT {KEYS[table]} FROM {table} WHERE {endpoint.load.current_filter}")
    return [row[0] if len(row) == 1 else row for row in rows]


def assert_tables_match(sim: Any, tables: dict[str, set] | None = None) -> None:
    for table, expected in (tables or expected_keys(sim)).items():
        loaded = loaded_keys(table)
        assert len(loaded) == len(set(loaded)), f"{table} has duplicate current rows"
        assert set(loaded) == expected, table


def total_rows() -> dict[str, int]:
    """Every row of every table, history included."""
    return {t: query(OSCAR, f"SELECT count(*) FROM {t}")[0][0] for t in KEYS}


def use_token_auth(monkeypatch: Any, **settings: str) -> None:
    """Drop the Basic-auth settings of the `oscar_sim` fixture; set `settings` instead."""
    monkeypatch.delenv(f"{ENV}USERNAME")
    monkeypatch.delenv(f"{ENV}PASSWORD")
    for name, value in settings.items():
        monkeypatch.setenv(f"{ENV}{name.upper()}", value)


def use_refresh(monkeypatch: Any, sim: Any) -> None:
    use_token_auth(
        monkeypatch,
        refresh_token=sim.refresh_token,
        token_endpoint=sim.token_endpoint,
        client_id=sim.client_id,
    )
