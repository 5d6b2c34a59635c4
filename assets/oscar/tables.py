"""How the seed's tables come out of the real OSCAR API.

The dltHub page promises `/users`, `/projects`, `/sites` and `/attributes`; no OSCAR server has
them. Here they are derived, once per run, from lists the source requests anyway (already
redacted, see `redact.py`): the services, `/system/info` and `/system/config`, plus two extras
of v4 servers that are skipped where the route is missing. Also here: OSCAR's job map as rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from assets._catalog import rfc3339
from assets._http import progress_log

if TYPE_CHECKING:  # the API's client imports the settings that import this module
    from assets.oscar import OscarApi

ADMIN_OWNER = "cluster_admin"  # owner of services created with Basic auth
METRICS_DAYS = 30  # the window of the v4 per-user metrics: OSCAR's default job TTL
PAGED_JOB_KEYS = frozenset({"jobs", "next_page", "remaining_jobs"})


def job_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """One page of `GET /system/logs/{service}` as rows with `job_name`.

    Since v3.6.4: `{"jobs": {name: job}, "next_page": token, "remaining_jobs": n}`; before,
    the bare `{name: job}` map (no job name can equal an envelope key: names are
    `<service>-<5 chars>`)."""
    paged = "jobs" in body and body.keys() <= PAGED_JOB_KEYS
    jobs = (body["jobs"] or {}) if paged else body
    return [{"job_name": name, **job} for name, job in jobs.items()]


def bucket_rows(bucket: dict[str, Any]) -> list[dict[str, Any]]:
    """One item of `GET /system/buckets` with its name in `bucket_name`.

    OSCAR v3.6.0 to v3.6.3 call the field `bucket_path` (grycap/oscar pkg/utils/minio.go,
    `MinIOBucket.BucketPath`), v3.6.4 and later `bucket_name`. (A cluster without buckets
    answers `null`, Go's nil slice, which dlt's data selector turns into no items.)"""
    if "bucket_name" not in bucket and "bucket_path" in bucket:
        bucket = {"bucket_name": bucket["bucket_path"]} | {
            k: v for k, v in bucket.items() if k != "bucket_path"
        }
    return [bucket]


def status_rows(status: dict[str, Any]) -> list[dict[str, Any]]:
    """`GET /system/status` in the v4 shape, whichever version answered.

    v4 (pkg/types/status.go `StatusInfo`): `cluster{nodes_count, metrics{cpu, memory, gpu},
    nodes[]}`, `oscar{...}`, `minio{buckets_count, total_objects}`: kept as it is. v3
    (pkg/handlers/status.go `GeneralInfo`): `numberNodes`, `cpuFreeTotal`, `cpuMaxFree`,
    `memoryFreeTotal`, `memoryMaxFree`, `gpusTotal`, `detail[]` (per node, figures as
    strings), `OSCAR{...}` and `MinIO{buckets[]}`: mapped onto the same fields."""
    if "cluster" in status or "numberNodes" not in status:
        return [status]
    nodes = [_v3_node(node) for node in status.get("detail") or ()]
    cpu = [node["cpu"]["capacity_cores"] for node in nodes]
    memory = [node["memory"]["capacity_bytes"] for node in nodes]
    oscar = status.get("OSCAR") or {}
    deployment = oscar.get("deploymentInfo") or {}
    pods = oscar.get("podsInfo") or {}
    buckets = (status.get("MinIO") or {}).get("buckets") or []
    return [
        {
            "cluster": {
                "nodes_count": status.get("numberNodes"),
                "metrics": {
                    "cpu": {
                        "total_free_cores": status.get("cpuFreeTotal"),
                        "max_free_on_node_cores": status.get("cpuMaxFree"),
                        "total_schedulable_cores": sum(cpu) if cpu else None,
                        "total_schedulable_on_node_cores": max(cpu, default=None),
                    },
                    "memory": {
                        "total_free_bytes": status.get("memoryFreeTotal"),
                        "max_free_on_node_bytes": status.get("memoryMaxFree"),
                        "total_schedulable_bytes": sum(memory) if memory else None,
                        "max_schedulable_on_node_bytes": max(memory, default=None),
                    },
                    "gpu": {"total_gpu": status.get("gpusTotal")},
                },
                "nodes": nodes,
            },
            "oscar": {
                "deployment_name": oscar.get("deploymentName"),
                "ready": oscar.get("deploymentReady"),
                "deployment": {
                    "available_replicas": deployment.get("availableReplicas"),
                    "ready_replicas": deployment.get("readyReplicas"),
                    "replicas": deployment.get("replicas"),
                    "creation_timestamp": deployment.get("creationTimestamp"),
                    "strategy": deployment.get("strategy"),
                    "labels": deployment.get("labels"),
                },
                "jobs_count": sum((oscar.get("jobsCount") or {}).values()),
                "pods": {"total": pods.get("total"), "states": pods.get("states")},
                "oidc": oscar.get("OIDC"),
            },
            "minio": {
                "buckets_count": len(buckets),
                "total_objects": sum(b.get("num_objects") or 0 for b in buckets),
            },
        }
    ]


def _v3_node(node: dict[str, Any]) -> dict[str, Any]:
    """A v3 `detail[]` node (strings of millicores and bytes) as a v4 `nodes[]` node."""
    return {
        "name": node.get("nodeName"),
        "cpu": {
            "capacity_cores": _integer(node.get("cpuCapacity")),
            "usage_cores": _integer(node.get("cpuUsage")),
        },
        "memory": {
            "capacity_bytes": _integer(node.get("memoryCapacity")),
            "usage_bytes": _integer(node.get("memoryUsage")),
        },
        "conditions": [
            {"type": c.get("type"), "status": c.get("status") == "True"}
            for c in node.get("conditions") or ()
        ],
    }


def _integer(figure: Any) -> int | None:
    try:
        return int(figure)
    except (TypeError, ValueError):
        return None


def metrics_window() -> dict[str, str]:
    """The last METRICS_DAYS, ending at the start of today (UTC): the same all day long."""
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"start": rfc3339(end - timedelta(days=METRICS_DAYS)), "end": rfc3339(end)}


def derive_users(api: OscarApi) -> list[dict[str, Any]]:
    """Service owners and allowed users; the caller and per-user metrics on v4. is_caller is
    NULL on every row when the server would not say who the credentials belong to (v3; v4
    under Basic auth, see settings.CALLER_NEEDS)."""
    users: dict[str, dict[str, Any]] = {}

    def user(uid: str) -> dict[str, Any]:
        blank = {"owner_of": [], "allowed_on": [], "is_caller": False, "membership": None}
        return users.setdefault(uid, {"user_id": uid, **blank})

    for service in api.rows("services"):
        if service.get("owner"):
            user(service["owner"])["owner_of"].append(service["name"])
        for uid in service.get("allowed_users") or ():
            user(uid)["allowed_on"].append(service["name"])
    callers = api.optional_rows("caller")
    for caller in callers or ():
        if caller.get("user_id"):
            user(caller["user_id"])["is_caller"] = True
    for item in api.optional_rows("user_metrics", metrics_window()) or ():
        if item.get("key"):
            user(item["key"])["membership"] = item.get("membership") or None
    if callers is None:
        api.notes["users"] = f"is_caller is NULL (unknown): {api.skipped['caller']}"
        progress_log.warning("users: %s", api.notes["users"])
        for row in users.values():
            row["is_caller"] = None
    return [users[uid] for uid in sorted(users)]


def derive_projects(api: OscarApi) -> list[dict[str, Any]]:
    """Virtual organisations: each service's `vo` and the groups allowed to log in."""
    projects: dict[str, dict[str, Any]] = {}

    def project(name: str) -> dict[str, Any]:
        return projects.setdefault(name, {"name": name, "services": [], "is_oidc_group": False})

    for service in api.rows("services"):
        if service.get("vo"):
            project(service["vo"])["services"].append(service["name"])
    for config in api.rows("cluster_config"):
        for group in (config.get("config") or {}).get("oidc_groups") or ():
            project(group)["is_oidc_group"] = True
    return [projects[name] for name in sorted(projects)]


def derive_sites(api: OscarApi) -> list[dict[str, Any]]:
    """This cluster, and every remote cluster or endpoint its services delegate to."""
    info = next(iter(api.rows("cluster_info")), {})
    config = next(iter(api.rows("cluster_config")), {}).get("config") or {}
    services = api.rows("services")
    here = {
        "site_id": config.get("name") or "oscar",
        "kind": "this_cluster",
        "endpoint": api.base_url,
        "version": info.get("version"),
        "kubernetes_version": info.get("kubernetes_version"),
        "architecture": info.get("architecture"),
        "ssl_verify": None,
        "services": [s["name"] for s in services],
    }
    sites: dict[str, dict[str, Any]] = {here["site_id"]: here}

    def site(site_id: str, kind: str, endpoint: str | None, ssl_verify: Any) -> None:
        blank = dict.fromkeys(("version", "kubernetes_version", "architecture"))
        found = sites.setdefault(
            site_id,
            {"site_id": site_id, "kind": kind, "endpoint": endpoint, **blank, "services": []},
        )
        found["endpoint"] = found["endpoint"] or endpoint
        found.setdefault("ssl_verify", ssl_verify)

    for service in services:
        used = set()
        for cluster_id, cluster in (service.get("clusters") or {}).items():
            site(cluster_id, "oscar_cluster", cluster.get("endpoint"), cluster.get("ssl_verify"))
            used.add(cluster_id)
        for member in _members(service):
            if member.get("cluster_id"):
                site(member["cluster_id"], "oscar_cluster", None, member.get("ssl_verify"))
                used.add(member["cluster_id"])
            elif member.get("url"):
                site(member["url"], "endpoint", member["url"], member.get("ssl_verify"))
                used.add(member["url"])
        for site_id in sorted(used):
            sites[site_id]["services"].append(service["name"])
    return [sites[site_id] for site_id in sorted(sites)]


def _members(service: dict[str, Any]) -> list[dict[str, Any]]:
    """Replicas (v3) or federation members (v4)."""
    federation = service.get("federation") or {}
    return list(service.get("replicas") or federation.get("members") or ())


def derive_attributes(api: OscarApi) -> Iterator[dict[str, Any]]:
    """Key-value rows: labels, annotations, environment variable and secret names."""
    for service in api.rows("services"):
        environment = service.get("environment") or {}
        kinds: Iterable[tuple[str, dict[str, Any], bool]] = (
            ("label", service.get("labels") or {}, True),
            ("annotation", service.get("annotations") or {}, True),
            ("variable", environment.get("variables") or {}, False),
            ("secret", environment.get("secrets") or {}, False),
        )
        for kind, pairs, with_value in kinds:
            for name in sorted(pairs):
                value = pairs[name] if with_value else None
                yield {"service": service["name"], "kind": kind, "name": name, "value": value}
