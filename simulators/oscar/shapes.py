"""The JSON bodies of the OSCAR API, built from the simulator's records.

Field names follow OSCAR's Go types (`pkg/types`), including their quirks: Go's `omitempty`
drops zero values (an unexposed service has no `expose.api_port`), nil maps and slices are
written as null, and one status field is spelled `total_schedulable_on_node_cores` although it
holds the largest per-node value.  Shapes that no public source pins down are marked
"invented".
"""

from __future__ import annotations

import copy
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .data import ADMIN_OWNER, COUNTRIES, EGI_ISSUER, rfc3339

Job = Mapping[str, Any]
Jobs = Mapping[str, Mapping[str, Job]]  # service -> job name -> job record

# Api-neutral record keys that each API version renders differently.
_NEUTRAL_KEYS = ("expose", "delegation", "topology", "members")
SERVICES_NAMESPACE = "oscar-svc"
BUCKET_NAME_SINCE = (3, 6, 4)
POD_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")


# -- services --------------------------------------------------------------------------------
def render_service(record: Mapping[str, Any], api: str) -> dict[str, Any]:
    """A service definition as `/system/services` returns it on a v3 or v4 server."""
    service = {}
    for key, value in record.items():
        if key == "expose":
            service[key] = _render_expose(value, api)
        elif key not in _NEUTRAL_KEYS:
            service[key] = copy.deepcopy(value)
    members = copy.deepcopy(record["members"])
    if api == "v3":
        if members:  # `replicas,omitempty`
            service["replicas"] = members
        service["delegation"] = record["delegation"]
        return service
    service["namespace"] = service_namespace(record)
    service["volume_status"] = {"enabled": False}
    service["federation"] = {
        "group_id": f"fed-{record['name']}" if members else "",
        "topology": record["topology"],
        "delegation": record["delegation"],
        **({"members": members} if members else {}),
    }
    return service


def _render_expose(expose: Mapping[str, Any], api: str) -> dict[str, Any]:
    """`api_port` is an int on v3 and a list on v4; zero / empty is omitted on both."""
    rendered = {k: v for k, v in expose.items() if k != "api_ports"}
    ports = list(expose["api_ports"])
    if ports:
        rendered["api_port"] = ports[0] if api == "v3" else ports
    return rendered


def service_namespace(record: Mapping[str, Any]) -> str:
    owner = record["owner"]
    return SERVICES_NAMESPACE if owner == ADMIN_OWNER else f"{SERVICES_NAMESPACE}-{owner[:12]}"


def may_see(record: Mapping[str, Any], uid: str | None) -> bool:
    """OSCAR's visibility rule; `uid` None is the basic-auth administrator, who sees all."""
    if uid is None or record["visibility"] == "public" or record["owner"] == uid:
        return True
    return uid in (record["allowed_users"] or ())


def deployment_status(record: Mapping[str, Any], anchor: datetime) -> dict[str, Any]:
    """`/system/services/{name}/deployment` (v4)."""
    exposed = bool(record["expose"]["api_ports"])
    instances = record["expose"]["min_scale"] if exposed else record["synchronous"]["min_scale"]
    return {
        "service_name": record["name"],
        "namespace": service_namespace(record),
        "state": "ready",
        "last_transition_time": rfc3339(anchor),
        "active_instances": instances,
        "affected_instances": 0,
        "resource_kind": "exposed_service" if exposed else "knative_service",
    }


def deployment_summary(record: Mapping[str, Any], anchor: datetime) -> dict[str, Any]:
    """The `deployment` object `/system/services?include=deployment` adds to each service."""
    status = deployment_status(record, anchor)
    return {k: v for k, v in status.items() if k not in ("service_name", "namespace")}


# -- jobs ------------------------------------------------------------------------------------
def render_job(job: Job) -> dict[str, Any]:
    return {
        "status": job["status"],
        "creation_time": rfc3339(job["creation_time"]),
        "start_time": rfc3339(job["start_time"]),
        "finish_time": rfc3339(job["finish_time"]),
    }


def render_jobs(jobs: Mapping[str, Job], names: Iterable[str]) -> dict[str, Any]:
    return {name: render_job(jobs[name]) for name in names}


def job_log(service: str, name: str, job: Job) -> str:
    """What the FaaS Supervisor prints inside a job's container."""
    started = rfc3339(job["start_time"])
    lines = [
        f"{started} - supervisor - INFO - Received event for service '{service}'",
        f"{started} - supervisor - INFO - Downloading input file '{service}/input/{name}.dat'",
        f"{started} - supervisor - INFO - Executing user script",
    ]
    if job["finish_time"] is not None:
        outcome = (
            "INFO - Uploading output" if job["status"] == "Succeeded" else "ERROR - Script failed"
        )
        lines.append(f"{rfc3339(job['finish_time'])} - supervisor - {outcome}")
    return "\n".join(lines) + "\n"


# -- cluster ---------------------------------------------------------------------------------
def cluster_info(version: str, seed_commit: str) -> dict[str, Any]:
    return {
        "version": version,
        "git_commit": seed_commit,
        "architecture": "amd64",
        "kubernetes_version": "v1.31.4+k3s1",
        "serverless_backend": {"name": "Knative", "version": "1.16.0"},
    }


def cluster_config(minio: Mapping[str, Any], oidc_groups: list[str], gpu: bool) -> dict[str, Any]:
    return {
        "config": {
            "name": "oscar",
            "namespace": "oscar",
            "services_namespace": SERVICES_NAMESPACE,
            "gpu_available": gpu,
            "interLink_available": False,
            "yunikorn_enable": False,
            "serverless_backend": "knative",
            "oidc_groups": list(oidc_groups),
        },
        "minio_provider": dict(minio),
    }


def cluster_status(
    nodes: list[Mapping[str, Any]],
    jobs: Jobs,
    buckets: int,
    oidc_groups: list[str],
    anchor: datetime,
) -> dict[str, Any]:
    """`/system/status` (types.StatusInfo); CPU figures are millicores, memory bytes."""
    free_cpu = [n["cpu_capacity"] - n["cpu_usage"] for n in nodes]
    free_memory = [n["memory_capacity"] - n["memory_usage"] for n in nodes]
    states = Counter(job["status"] for by_name in jobs.values() for job in by_name.values())
    return {
        "cluster": {
            "nodes_count": len(nodes),
            "metrics": {
                "cpu": {
                    "total_free_cores": sum(free_cpu),
                    "max_free_on_node_cores": max(free_cpu),
                    "total_schedulable_cores": sum(n["cpu_capacity"] for n in nodes),
                    "total_schedulable_on_node_cores": max(n["cpu_capacity"] for n in nodes),
                },
                "memory": {
                    "total_free_bytes": sum(free_memory),
                    "max_free_on_node_bytes": max(free_memory),
                    "total_schedulable_bytes": sum(n["memory_capacity"] for n in nodes),
                    "max_schedulable_on_node_bytes": max(n["memory_capacity"] for n in nodes),
                },
                "gpu": {"total_gpu": sum(n["gpu"] for n in nodes)},
            },
            "nodes": [_node_detail(node) for node in nodes],
        },
        "oscar": {
            "deployment_name": "oscar",
            "ready": True,
            "deployment": {
                "available_replicas": 1,
                "ready_replicas": 1,
                "replicas": 1,
                "creation_timestamp": rfc3339(anchor.replace(month=1, day=1)),
                "strategy": "RollingUpdate",
                "labels": {"app": "oscar"},
            },
            "jobs_count": sum(states.values()),
            "pods": {"total": sum(states.values()), "states": dict(sorted(states.items()))},
            "oidc": {"enabled": True, "issuers": [EGI_ISSUER], "groups": list(oidc_groups)},
        },
        "minio": {
            "buckets_count": buckets,
            "total_objects": sum(len(j) for j in jobs.values()) * 2,
        },
    }


def cluster_status_v3(
    nodes: list[Mapping[str, Any]],
    jobs: Jobs,
    buckets: list[Mapping[str, Any]],
    oidc_groups: list[str],
    anchor: datetime,
) -> dict[str, Any]:
    """`/system/status` of OSCAR v3.x (grycap/oscar pkg/handlers/status.go, `GeneralInfo`):
    camelCase totals, per-node figures as strings in `detail`, `OSCAR` and `MinIO` sections.

    The v3 handler skips the first node Kubernetes lists (`if id > 0`: the front end), so
    `nodes`, the workers, are the nodes after it; both versions report the same workers."""
    free_cpu = [n["cpu_capacity"] - n["cpu_usage"] for n in nodes]
    free_memory = [n["memory_capacity"] - n["memory_usage"] for n in nodes]
    states = Counter(job["status"] for by_name in jobs.values() for job in by_name.values())
    gpus = sum(n["gpu"] for n in nodes)
    return {
        "numberNodes": len(nodes),
        "cpuFreeTotal": sum(free_cpu),
        "cpuMaxFree": max(free_cpu),
        "memoryFreeTotal": sum(free_memory),
        "memoryMaxFree": max(free_memory),
        "hasGPU": gpus > 0,
        "gpusTotal": gpus,
        "detail": [_node_info_v3(node) for node in nodes],
        "OSCAR": {
            "deploymentName": "oscar",
            "deploymentReady": True,
            "deploymentInfo": {
                "replicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "unavailableReplicas": 0,
                "strategy": "RollingUpdate",
                "labels": {"app": "oscar"},
                "creationTimestamp": rfc3339(anchor.replace(month=1, day=1)),
            },
            "jobsCount": {
                "active": states["Running"] + states["Pending"],
                "succeeded": states["Succeeded"],
                "failed": states["Failed"],
            },
            "podsInfo": {
                "pods": [],
                "total": sum(states.values()),
                "states": {s: states[s] for s in POD_PHASES},
            },
            "OIDC": {"enabled": True, "issuers": [EGI_ISSUER], "groups": list(oidc_groups)},
        },
        "MinIO": {
            "buckets": [
                {
                    "name": bucket["bucket_name"],
                    "policy_type": bucket["visibility"],
                    "policy_json": "",
                    "owner": bucket["owner"],
                    "size": 0,
                    # the same object count v4 reports: two objects per job, in service buckets
                    "num_objects": 2 * len(jobs.get(bucket["bucket_name"], {})),
                }
                for bucket in buckets
            ]
        },
    }


def _node_info_v3(node: Mapping[str, Any]) -> dict[str, Any]:
    conditions = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
    return {
        "nodeName": node["name"],
        "cpuCapacity": str(node["cpu_capacity"]),
        "cpuUsage": str(node["cpu_usage"]),
        "cpuPercentage": f"{100 * node['cpu_usage'] / node['cpu_capacity']:.2f}",
        "memoryCapacity": str(node["memory_capacity"]),
        "memoryUsage": str(node["memory_usage"]),
        "memoryPercentage": f"{100 * node['memory_usage'] / node['memory_capacity']:.2f}",
        "conditions": [{"type": c, "status": str(c == "Ready")} for c in conditions],
    }


def _node_detail(node: Mapping[str, Any]) -> dict[str, Any]:
    conditions = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
    return {
        "name": node["name"],
        "cpu": {"capacity_cores": node["cpu_capacity"], "usage_cores": node["cpu_usage"]},
        "memory": {"capacity_bytes": node["memory_capacity"], "usage_bytes": node["memory_usage"]},
        "gpu": node["gpu"],
        "is_interlink": False,
        "status": "Ready",
        "conditions": [{"type": c, "status": c == "Ready"} for c in conditions],
    }


def render_bucket(bucket: Mapping[str, Any], version: tuple[int, ...]) -> dict[str, Any]:
    """A `/system/buckets` item: the name is `bucket_path` before v3.6.4 (pkg/utils/minio.go
    `MinIOBucket.BucketPath`; the v3 status handler still builds `MinIOBucket{BucketPath:
    ...}`), `bucket_name` from v3.6.4 on."""
    if version >= BUCKET_NAME_SINCE:
        return dict(bucket)
    return {"bucket_path" if k == "bucket_name" else k: v for k, v in bucket.items()}


def service_buckets(record: Mapping[str, Any]) -> dict[str, Any]:
    """The MinIO bucket OSCAR creates for a service's input/output paths."""
    restricted = record["visibility"] == "restricted"
    return {
        "bucket_name": record["name"],
        "visibility": record["visibility"],
        "allowed_users": list(record["allowed_users"]) if restricted else None,
        "owner": record["owner"],
        "metadata": {"service": record["name"]},
    }


def user_quota(uid: str, records: Iterable[Mapping[str, Any]], jobs: Jobs) -> dict[str, Any]:
    """`/system/quotas/user` (types.QuotaResponse): usage = the user's running jobs."""
    running = [
        record
        for record in records
        if record["owner"] == uid
        for job in jobs.get(record["name"], {}).values()
        if job["status"] == "Running"
    ]
    cpu_used = sum(int(float(r["cpu"]) * 1000) for r in running)
    memory_used = sum(_memory_bytes(r["memory"]) for r in running)
    return {
        "user_id": uid,
        "cluster_queue": f"cq-{uid[:12]}",
        "resources": {
            "cpu": {"max": 8000, "used": cpu_used},
            "memory": {"max": 16 * 1024**3, "used": memory_used},
        },
        "volumes": {
            "disk": {"max": "50Gi", "used": "6Gi"},
            "volumes": {"max": "5", "used": "2"},
            "max_disk_per_volume": "20Gi",
            "min_disk_per_volume": "1Gi",
        },
    }


def _memory_bytes(quantity: str) -> int:
    units = {"Mi": 1024**2, "Gi": 1024**3}
    return int(quantity[:-2]) * units[quantity[-2:]]


# -- metrics (v4) ----------------------------------------------------------------------------
BREAKDOWN_GROUPS = ("service", "user", "country")
_SOURCES = [
    {"name": "kubernetes", "status": "ok"},
    {"name": "prometheus", "status": "ok"},
    {"name": "ingress-logs", "status": "ok"},
]


@dataclass(frozen=True)
class Usage:
    """One request counted by the metrics: who called which service, from where, how."""

    service: str
    user: str
    country: str
    kind: str  # async | sync | exposed
    cpu_hours: float = 0.0
    gpu_hours: float = 0.0


def country_of(uid: str) -> str:
    return COUNTRIES[zlib.crc32(uid.encode()) % len(COUNTRIES)]


def usage_in_window(
    records: Iterable[Mapping[str, Any]], jobs: Jobs, start: datetime, end: datetime
) -> list[Usage]:
    """Requests in [start, end], derived from the jobs so that metrics agree with /system/logs.

    Each job is one async execution by one of the service's users (owner first, then the
    allowed users in turn).  Invented: services that scale synchronously also get one sync
    request per job, exposed services one exposed request per job.
    """
    usage = []
    for record in records:
        users = [record["owner"], *(record["allowed_users"] or ())]
        in_window = sorted(
            (name, job)
            for name, job in jobs.get(record["name"], {}).items()
            if start <= job["creation_time"] <= end
        )
        for position, (_, job) in enumerate(in_window):
            user = users[position % len(users)]
            usage.extend(_requests_for_job(record, job, user))
    return usage


def _requests_for_job(record: Mapping[str, Any], job: Job, user: str) -> list[Usage]:
    hours = _job_hours(job)
    cpu_hours = hours * float(record["cpu"])
    gpu_hours = hours if record["enable_gpu"] else 0.0
    base = {"service": record["name"], "user": user, "country": country_of(user)}
    requests = [Usage(**base, kind="async", cpu_hours=cpu_hours, gpu_hours=gpu_hours)]
    if record["synchronous"]["max_scale"]:
        requests.append(Usage(**base, kind="sync"))
    if record["expose"]["api_ports"]:
        requests.append(Usage(**base, kind="exposed"))
    return requests


def _job_hours(job: Job) -> float:
    if job["start_time"] is None or job["finish_time"] is None:
        return 0.0
    return (job["finish_time"] - job["start_time"]).total_seconds() / 3600


def _countries(usage: list[Usage]) -> list[dict[str, Any]]:
    counts = Counter(u.country for u in usage)
    return [{"country": c, "request_count": n} for c, n in sorted(counts.items())]


def _request_counts(usage: list[Usage]) -> dict[str, int]:
    kinds = Counter(u.kind for u in usage)
    return {
        "requests_count_total": len(usage),
        "requests_count_sync": kinds["sync"],
        "requests_count_async": kinds["async"],
        "requests_count_exposed": kinds["exposed"],
    }


def metrics_summary(
    usage: list[Usage], services_total: int, start: datetime, end: datetime
) -> dict[str, Any]:
    users = sorted({u.user for u in usage})
    countries = _countries(usage)
    return {
        "start": rfc3339(start),
        "end": rfc3339(end),
        "totals": {
            "services_count_active": len({u.service for u in usage}),
            "services_count_total": services_total,
            "cpu_hours_total": round(sum(u.cpu_hours for u in usage), 3),
            "gpu_hours_total": round(sum(u.gpu_hours for u in usage), 3),
            **_request_counts(usage),
            "countries_count": len(countries),
            "countries": countries,
            "users_count": len(users),
            "users": users,
        },
        "sources": _SOURCES,
    }


def metrics_breakdown(
    usage: list[Usage], group_by: str, start: datetime, end: datetime, vo_of_user: Mapping[str, str]
) -> dict[str, Any]:
    """`/system/metrics/breakdown`: one item per service, user or country (not paged)."""
    groups: dict[str, list[Usage]] = {}
    for u in usage:
        groups.setdefault(getattr(u, group_by), []).append(u)
    items = [
        _user_item(key, rows, vo_of_user) if group_by == "user" else _group_item(key, rows)
        for key, rows in sorted(groups.items())
    ]
    return {"start": rfc3339(start), "end": rfc3339(end), "group_by": group_by, "items": items}


def _group_item(key: str, rows: list[Usage]) -> dict[str, Any]:
    counts = _request_counts(rows)
    item = {
        "key": key,
        "executions_count": counts["requests_count_async"],
        **counts,
        "unique_users_count": len({u.user for u in rows}),
        "users": sorted({u.user for u in rows}),
        "countries": _countries(rows),
    }
    # Go's `omitempty` drops zero counts, so a service never called synchronously has no key.
    return {k: v for k, v in item.items() if v or k in ("key", "unique_users_count", "countries")}


def _user_item(uid: str, rows: list[Usage], vo_of_user: Mapping[str, str]) -> dict[str, Any]:
    item = {
        "key": uid,
        "membership": vo_of_user.get(uid, ""),  # invented: the VO the user's services belong to
        "executions_count": sum(u.kind == "async" for u in rows),
        "countries": _countries(rows),
    }
    return {k: v for k, v in item.items() if k != "membership" or v}


def service_metrics(
    usage: list[Usage], name: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """`/system/metrics/{service}` (types.ServiceMetricsResponse)."""
    rows = [u for u in usage if u.service == name]
    counts = _request_counts(rows)
    values = [
        ("cpu-hours", round(sum(u.cpu_hours for u in rows), 3), "hours"),
        ("gpu-hours", round(sum(u.gpu_hours for u in rows), 3), "hours"),
        ("requests-sync-per-service", counts["requests_count_sync"], "requests"),
        ("requests-async-per-service", counts["requests_count_async"], "requests"),
        ("requests-exposed-per-service", counts["requests_count_exposed"], "requests"),
        ("users-per-service", len({u.user for u in rows}), "users"),
    ]
    return {
        "service_name": name,
        "start": rfc3339(start),
        "end": rfc3339(end),
        "metrics": [
            {"metric": key, "value": value, "unit": unit, "sources": _SOURCES}
            for key, value, unit in values
        ],
    }
