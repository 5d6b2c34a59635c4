"""The OSCAR catalog: one entry per table. Adding an endpoint means adding one here.

The seed's `services`, `users`, `projects`, `sites` and `attributes` keep their names but come
from the real `/system/` API (see `tables.py` for the derived ones). Every body passes
`redact.redact` first; the descriptions say what it drops.
"""

from assets._catalog import Endpoint, Latest, Snapshot
from assets.oscar.redact import DROPPED
from assets.oscar.tables import (
    bucket_rows,
    derive_attributes,
    derive_projects,
    derive_sites,
    derive_users,
    job_rows,
    status_rows,
)

SECTION = "oscar_source"
PIPELINE_NAME = "oscar_pipeline"
DATASET_NAME = "oscar_data"
DUCKDB_FILE = "oscar.duckdb"
DEFAULT_MAX_CONCURRENCY = 8

V3_2 = "OSCAR v3.2 or later (the first with /system/status)"
V3_6 = "OSCAR v3.6 or later (the first with /system/buckets)"
V4 = "OSCAR v4.0 or later"
CURRENT = "Current rows: _dlt_valid_to IS NULL; a changed row keeps its old version, retired."
# may_be_empty marks the tables of a cluster that has no services (or buckets, or jobs) yet.

# Maps whose keys users choose, and shapes that differ between v3 and v4, are JSON columns:
# the table has the same columns on every server.
SERVICE_JSON = (
    "allowed_users",
    "bucket_list",
    "environment",
    "labels",
    "annotations",
    "storage_providers",
    "clusters",
    "expose",
    "replicas",
    "federation",
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        table="services",
        path="/system/services",
        key=("name",),
        may_be_empty=True,
        description=(
            "Every service deployed on the cluster: its image, resources, owner, who may use it "
            "and which buckets feed it. One row per service and version (GET /system/services; "
            "a bearer token sees only its user's own, public and shared services). input and output "
            "are child tables services__input and services__output (one row per storage path: "
            "storage_provider, path; join _dlt_parent_id = services._dlt_id) so that which "
            "bucket feeds which service is a plain join. JSON columns, the same on v3 and v4 "
            "servers: environment (variables; secrets as names with null values), labels, "
            "annotations, storage_providers, clusters, allowed_users, bucket_list, expose "
            "(api_port is an int on v3, a list on v4), replicas (v3) and federation (v4). "
            f"Removed before anything is written: {DROPPED}. {CURRENT}"
        ),
        column_types=dict.fromkeys(SERVICE_JSON, "json"),
    ),
    Endpoint(
        table="users",
        path="",
        load=Snapshot(parent="services"),
        derive=derive_users,
        key=("user_id",),
        may_be_empty=True,
        description=(
            "Everyone who owns or may use a service on the cluster: one row per user, with "
            "their services. Derived, as OSCAR has no users route: every "
            "service owner (an EGI Check-in uid, or cluster_admin for services created with "
            "Basic auth) and allowed user in /system/services; owner_of and allowed_on list "
            "their services (JSON). On v4 servers is_caller marks the identity this pipeline "
            "authenticates as (GET /system/quotas/user), and membership is the virtual "
            "organisation from the per-user metrics of the last 30 days (GET "
            "/system/metrics/breakdown?group_by=user), which also adds users who only call "
            "public services; v3 servers have neither. is_caller is NULL (unknown) where the "
            "server would not say who the credentials belong to: on v3, and on v4 under Basic "
            "auth (/system/quotas/user answers 401 'missing user identificator': it needs an "
            f"OIDC token); the run's log says why. One row per user. {CURRENT}"
        ),
        column_types={
            "owner_of": "json",
            "allowed_on": "json",
            "is_caller": "bool",
            "membership": "text",
        },
    ),
    Endpoint(
        table="projects",
        path="",
        load=Snapshot(parent="services"),
        derive=derive_projects,
        key=("name",),
        may_be_empty=True,
        description=(
            "Every virtual organisation (EGI VO) that has services on the cluster or may log "
            "in to it: one row per VO, with its services. Derived: the vo of each service in "
            "/system/services (services lists them, JSON) and the groups allowed to log in "
            f"(/system/config oidc_groups: is_oidc_group). One row per VO. {CURRENT}"
        ),
        column_types={"services": "json", "is_oidc_group": "bool"},
    ),
    Endpoint(
        table="sites",
        path="",
        load=Snapshot(parent="services"),
        derive=derive_sites,
        key=("site_id",),
        description=(
            "Every cluster or endpoint this cluster's services run on or hand work to: one row "
            "per site. Derived: this cluster (kind this_cluster, named after "
            "/system/config name, with the version, Kubernetes version and architecture of "
            "/system/info) and every remote OSCAR cluster (kind oscar_cluster, from services' "
            "clusters, replicas and federation members) or plain endpoint (kind endpoint) "
            "that services delegate to; services lists them (JSON). Remote clusters' "
            f"credentials and members' headers are never read. {CURRENT}"
        ),
        column_types={"services": "json", "ssl_verify": "bool"},
    ),
    Endpoint(
        table="attributes",
        path="",
        load=Snapshot(parent="services"),
        derive=derive_attributes,
        key=("service", "kind", "name"),
        may_be_empty=True,
        description=(
            "Every label, annotation, environment variable and secret name of every service: "
            "one row per service, kind and name, derived from /system/services. kind label "
            "and annotation carry their value; kind "
            "variable (environment variables) and secret (environment secrets) carry only the "
            f"name, value NULL. {CURRENT}"
        ),
        column_types={"value": "text"},
    ),
    Endpoint(
        table="jobs",
        path="/system/logs/{name}",
        load=Latest(parent="services", parent_key="name"),
        paging="next_page",
        key=("service", "job_name"),
        may_be_empty=True,
        unpack=job_rows,
        description=(
            "Every job every service ran: its status and when it was created, started and "
            "finished. One row per service and job_name (GET /system/logs/{service}, paged "
            "with page / next_page since v3.6.4, one map before). Re-listed every run; a job whose "
            "status changed is updated in place, and a job the server deleted after its TTL "
            "(30 days by default) stays as last seen: the table keeps the history the server "
            "forgets. All rows are current."
        ),
        timestamp_columns=("creation_time", "start_time", "finish_time"),
    ),
    Endpoint(
        table="buckets",
        path="/system/buckets",
        key=("bucket_name",),
        may_be_empty=True,
        requires=V3_6,
        unpack=bucket_rows,
        description=(
            "Every storage bucket on the cluster's MinIO that the credentials may see: its "
            "owner, visibility and who may use it. One row per bucket (GET /system/buckets), "
            "with bucket_name (sent as bucket_path by v3.6.0 to v3.6.3), visibility, owner, "
            f"allowed_users and metadata (JSON). {CURRENT}"
        ),
        column_types={"allowed_users": "json", "metadata": "json"},
    ),
    Endpoint(
        table="cluster_info",
        path="/system/info",
        description=(
            "Which OSCAR and Kubernetes versions the cluster runs: one row, a new version on "
            "every upgrade (GET /system/info): OSCAR version, git commit, "
            f"architecture, Kubernetes version and serverless backend. {CURRENT}"
        ),
    ),
    Endpoint(
        table="cluster_config",
        path="/system/config",
        description=(
            "How the cluster is set up: its name, namespaces, features and who may log in. One "
            "row (GET /system/config): name, namespaces, GPU / "
            "interLink / YuniKorn flags, oidc_groups (JSON) and the MinIO endpoint and region. "
            f"The MinIO access_key and secret_key are removed before anything is written. {CURRENT}"
        ),
        column_types={"config__oidc_groups": "json"},
    ),
    Endpoint(
        table="cluster_status",
        path="/system/status",
        requires=V3_2,
        unpack=status_rows,
        description=(
            "How busy the cluster is: nodes, free CPU and memory, jobs and buckets. One row, a "
            "new version whenever a figure changes (GET /system/status), the same columns "
            "whichever version answered "
            "(v3's numberNodes / cpuFreeTotal / detail[] ... are mapped onto v4's names): "
            "cluster__nodes_count; CPU in millicores, cluster__metrics__cpu__total_free_cores, "
            "__max_free_on_node_cores, __total_schedulable_cores (capacity), "
            "__total_schedulable_on_node_cores (largest node); memory in bytes, "
            "cluster__metrics__memory__total_free_bytes, __max_free_on_node_bytes, "
            "__total_schedulable_bytes, __max_schedulable_on_node_bytes; "
            "cluster__metrics__gpu__total_gpu; cluster__nodes (JSON: name, cpu{capacity_cores, "
            "usage_cores}, memory{capacity_bytes, usage_bytes}, conditions); the OSCAR "
            "deployment (oscar__deployment_name, oscar__ready, oscar__deployment__*), "
            "oscar__jobs_count, oscar__pods__total and __states (JSON), oscar__oidc__* and "
            "minio__buckets_count, minio__total_objects. A new row version whenever a figure "
            f"changes: the table is the status history. {CURRENT}"
        ),
        column_types={
            "cluster__nodes": "json",
            "oscar__pods__states": "json",
            "oscar__deployment__labels": "json",
            "oscar__oidc__issuers": "json",
            "oscar__oidc__groups": "json",
        },
    ),
)

# Requested only to enrich `users` on v4 servers; skipped where the route is missing or
# refuses the credentials.
EXTRAS: tuple[Endpoint, ...] = (
    Endpoint(
        table="caller",
        path="/system/quotas/user",
        requires=f"{V4} with quotas on (the deployment's KUEUE_ENABLE, true by default)",
        description="Who the credentials belong to (user_id).",
    ),
    Endpoint(
        table="user_metrics",
        path="/system/metrics/breakdown",
        params={"group_by": "user"},
        unpack=lambda body: body.get("items") or [],
        requires=V4,
        description="Per-user usage in a window: membership (VO).",
    ),
)

# What an extra needs beyond the cluster's admin account, said when its route answers 401.
CREDENTIALS_NEEDED = {
    "caller": (
        "/system/quotas/user needs an OIDC bearer token (bearer_token, or refresh_token with "
        "token_endpoint and client_id): Basic auth carries no user id, so the cluster cannot "
        "say whose quota it is, and is_caller in users stays NULL. Everything else loads "
        "with Basic auth."
    )
}

CATALOG = {endpoint.table: endpoint for endpoint in ENDPOINTS + EXTRAS}
