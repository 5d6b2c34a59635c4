"""What each column of the OSCAR tables means, for the Dagster UI: table -> column -> text.

Texts from GRyCAP's OSCAR server (github.com/grycap/oscar): the comments of its Go types in
`pkg/types` (service.go, storage.go, cluster.go, replica.go, federation.go, minio.go
MinIOBucket, jobinfo.go, info.go, config.go, status.go StatusInfo of v4) and the handlers that
fill them (`pkg/handlers/status.go`: CPU in millicores, memory in bytes; grycap/oscar-dashboard
for what "schedulable" means). The derived tables (users, projects, sites, attributes) and the
columns this project adds (jobs.service, jobs.job_name) are described from
`assets/oscar/tables.py`; what is removed before writing is in `assets/oscar/redact.py`.
Nested objects land flattened with `__`; lists become child tables (services__input).
dlt's own `_dlt_*` columns are described once in `assets/dlt_columns.py`.
"""

STORAGE_PATH = {
    "storage_provider": (
        "Storage provider as <type>.<id>, e.g. minio.default or s3.my_bucket_store."
    ),
    "path": (
        "Bucket and folder, as bucket/folder: new files there trigger the service (input) or "
        "results go there (output)."
    ),
}
SUFFIX = {"value": "A file-name suffix: only files ending so are processed or uploaded."}
PREFIX = {"value": "A file-name prefix: only files starting so are processed or uploaded."}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "services": {
        "name": "Name of the service (1 to 39 characters); unique on the cluster.",
        "cluster_id": (
            "Id of this cluster in the service's definition, used when delegating jobs; empty if "
            "unset."
        ),
        "memory": "Memory limit of each job, as a Kubernetes quantity (e.g. 256Mi, the default).",
        "cpu": "CPU limit of each job in cores, as a Kubernetes quantity (e.g. 0.5; default 0.2).",
        "total_memory": (
            "Memory limit for all the service's jobs at once (needs YuniKorn), Kubernetes "
            "quantity; empty if unset."
        ),
        "total_cpu": (
            "CPU limit for all the service's jobs at once (needs YuniKorn), in cores; empty if "
            "unset."
        ),
        "enable_gpu": "True when the service's jobs request a GPU.",
        "enable_sgx": "True when jobs run with the SCONE plugin (Intel SGX enclaves).",
        "image_prefetch": "True when the image is pre-pulled onto the nodes (image cache).",
        "rescheduler_threshold": (
            "Seconds a job with replicas may wait queued before it is delegated to a replica."
        ),
        "log_level": "Log level of the FaaS Supervisor inside the jobs (default INFO).",
        "image": "Container image the service runs.",
        "alpine": (
            "True when the image is Alpine-based (an Alpine build of the FaaS Supervisor is used)."
        ),
        "file_stage_in": (
            "True when the FaaS Supervisor does not download the input file before the script runs."
        ),
        "script": "The user script each invocation runs.",
        "vo": (
            "EGI virtual organisation the service was created under; joins projects.name; empty if"
            " none."
        ),
        "owner": (
            "EGI uid of the user who created it, or cluster_admin when created with Basic auth; "
            "joins users.user_id."
        ),
        "interlink_node_name": (
            "interLink virtual node that runs the jobs elsewhere (e.g. HPC); empty if none."
        ),
        "visibility": (
            "Who may use it: private (owner only), public (every user) or restricted (owner and "
            "allowed_users)."
        ),
        "isolation_level": (
            "Bucket isolation: SERVICE (shared buckets) or USER (a private bucket per allowed "
            "user, see bucket_list)."
        ),
        "namespace": "Kubernetes namespace of the service's resources (v4 servers).",
        "delegation": (
            "v3 servers: how jobs are delegated to replicas: static (by priority), random or load-"
            "based."
        ),
        "allowed_users": "EGI uids allowed to use a restricted service (JSON list).",
        "bucket_list": (
            "Private buckets generated for the allowed users when isolation_level is USER (JSON "
            "list)."
        ),
        "environment": (
            "Environment: variables (name: value) and secrets (names only, values removed), as "
            "JSON."
        ),
        "labels": "Kubernetes labels put on the service's jobs (JSON map).",
        "annotations": "Kubernetes annotations put on the service's jobs (JSON map).",
        "storage_providers": (
            "Storage providers by type and id (minio, s3, onedata, webdav, rucio) without "
            "credentials (JSON)."
        ),
        "clusters": (
            "Remote OSCAR clusters by id: endpoint and ssl_verify; auth_user and auth_password "
            "removed (JSON)."
        ),
        "expose": (
            "Long-running HTTP exposure: min/max_scale, api_port (int on v3, list on v4), "
            "cpu_threshold, health_path (JSON)."
        ),
        "replicas": (
            "v3 servers: clusters or endpoints jobs may be delegated to: type, cluster_id, "
            "service_name, url, priority (JSON)."
        ),
        "federation": (
            "v4 servers: the federation: group_id, topology (none, tree, mesh), delegation, "
            "members (JSON)."
        ),
        "synchronous__min_scale": (
            "Knative: fewest replicas (pods) kept for synchronous invocations (default 0)."
        ),
        "synchronous__max_scale": (
            "Knative: most replicas (pods) for synchronous invocations; 0 means unlimited."
        ),
        "mount__storage_provider": (
            "Storage provider mounted as a folder in the job container (e.g. minio.default); empty"
            " if none."
        ),
        "mount__path": "Bucket path mounted in the job container; empty if none.",
        "volume__name": "Name of the managed persistent volume the service uses; NULL if none.",
        "volume__size": (
            "Requested size of the managed volume, as a Kubernetes quantity (e.g. 1Gi)."
        ),
        "volume__mount_path": (
            "Absolute path where the managed volume is mounted in the job container."
        ),
        "volume__lifecycle_policy": (
            "Whether a volume the service created is deleted with the service."
        ),
        "volume_status__enabled": "True when a managed persistent volume is attached (v4 servers).",
        "volume_status__name": "Name of the attached managed volume.",
        "volume_status__phase": (
            "Phase of the attached volume's Kubernetes claim (e.g. Bound, Pending)."
        ),
        "volume_status__error": "Why the volume could not be attached; NULL if it was.",
    },
    "services__input": STORAGE_PATH,
    "services__output": STORAGE_PATH,
    "services__input__suffix": SUFFIX,
    "services__input__prefix": PREFIX,
    "services__output__suffix": SUFFIX,
    "services__output__prefix": PREFIX,
    "services__image_pull_secrets": {
        "value": "Name of a Kubernetes secret used to pull the image from a private registry.",
    },
    "users": {
        "user_id": (
            "EGI Check-in uid of a service owner or allowed user, or cluster_admin (Basic auth)."
        ),
        "owner_of": "Services this user owns (JSON list of names).",
        "allowed_on": "Restricted services this user is allowed on (JSON list of names).",
        "is_caller": (
            "True for the identity this pipeline authenticates as (v4 servers); false otherwise "
            "and on v3."
        ),
        "membership": (
            "The user's virtual organisation from the last 30 days' metrics (v4); NULL on v3 or "
            "without usage."
        ),
    },
    "projects": {
        "name": "Name of the virtual organisation (EGI VO).",
        "services": "Services created under this VO (JSON list of names).",
        "is_oidc_group": (
            "True when the VO is one of the groups allowed to log in (/system/config oidc_groups)."
        ),
    },
    "sites": {
        "site_id": (
            "This cluster's name (config name), a remote cluster's id, or an endpoint's URL."
        ),
        "kind": (
            "this_cluster, oscar_cluster (a remote OSCAR cluster) or endpoint (a plain URL jobs "
            "are sent to)."
        ),
        "endpoint": (
            "API URL of the site; NULL for a federation member known only by its cluster id."
        ),
        "version": "OSCAR version of this cluster (/system/info); NULL for remote sites.",
        "kubernetes_version": (
            "Kubernetes version of this cluster (/system/info); NULL for remote sites."
        ),
        "architecture": "CPU architecture of this cluster (/system/info); NULL for remote sites.",
        "ssl_verify": (
            "Whether TLS certificates are verified when delegating to the site; NULL for this "
            "cluster."
        ),
        "services": "Services that run here or delegate here (JSON list of service names).",
    },
    "attributes": {
        "service": "The service; joins services.name.",
        "kind": (
            "label, annotation, variable (environment variable) or secret (environment secret)."
        ),
        "name": "Key of the label or annotation, or name of the variable or secret.",
        "value": (
            "Value of a label or annotation; NULL for variables and secrets (values are not kept)."
        ),
    },
    "jobs": {
        "service": "The service that ran the job; joins services.name (added by this pipeline).",
        "job_name": "Name of the Kubernetes job, <service>-<5 characters>.",
        "status": "State of the job as OSCAR reports it: Pending, Running, Succeeded or Failed.",
        "creation_time": "When the job was created (UTC).",
        "start_time": "When the job's pod started (UTC); NULL while pending.",
        "finish_time": "When the job finished (UTC); NULL until it succeeds or fails.",
    },
    "buckets": {
        "bucket_name": "Name of the MinIO bucket.",
        "visibility": (
            "Who may use it: private (owner only), public (every user) or restricted (owner and "
            "allowed_users)."
        ),
        "allowed_users": "EGI uids allowed on a restricted bucket (JSON list); NULL otherwise.",
        "owner": "EGI uid of the bucket's owner, or cluster_admin.",
        "metadata": "Key-value metadata of the bucket (JSON map), e.g. the service it belongs to.",
        "storage_quota__max": (
            "Storage quota of the bucket, as a Kubernetes quantity (e.g. 10Gi); NULL if none."
        ),
        "storage_quota__max_bytes": "Storage quota of the bucket in bytes; NULL if none.",
        "storage_quota__source": "Where the bucket's quota comes from.",
        "storage_usage__used": "Space the bucket uses, as a Kubernetes quantity.",
        "storage_usage__used_bytes": "Space the bucket uses, in bytes.",
        "storage_usage__objects": "Number of objects in the bucket.",
    },
    "cluster_info": {
        "version": "OSCAR server version, e.g. v3.6.4; devel for a build without a release tag.",
        "git_commit": "Git commit the OSCAR server was built from.",
        "architecture": (
            "CPU architecture the OSCAR server binary was built for (e.g. amd64, arm64)."
        ),
        "platform": "Older servers' name for architecture: what the OSCAR binary was built for.",
        "kubernetes_version": (
            "Version of the cluster's Kubernetes; empty if OSCAR could not read it."
        ),
        "serverless_backend__name": (
            "Serverless backend for synchronous calls: Knative or OpenFaaS; NULL if none (async "
            "only)."
        ),
        "serverless_backend__version": "Version of the serverless backend; NULL if none.",
    },
    "cluster_config": {
        "config__name": (
            "Kubernetes name of the OSCAR deployment and service (default oscar); names this "
            "cluster in sites."
        ),
        "config__namespace": "Kubernetes namespace of the OSCAR deployment (default oscar).",
        "config__services_namespace": (
            "Kubernetes namespace where services and jobs run (default oscar-svc)."
        ),
        "config__gpu_available": "True when the cluster has NVIDIA GPUs.",
        "config__inter_link_available": (
            "True when interLink virtual nodes can run jobs elsewhere (e.g. HPC)."
        ),
        "config__yunikorn_enable": (
            "True when Apache YuniKorn schedules jobs (needed for services' total_cpu / "
            "total_memory)."
        ),
        "config__serverless_backend": (
            "knative or openfaas; NULL when only asynchronous invocations are possible."
        ),
        "config__oidc_groups": (
            "EGI Check-in groups (eduperson_entitlement) whose members may log in (JSON list)."
        ),
        "minio_provider__endpoint": "URL of the cluster's MinIO (S3) storage.",
        "minio_provider__verify": "True when MinIO's TLS certificate is verified.",
        "minio_provider__region": "MinIO region (default us-east-1).",
    },
    "cluster_config__config__allowed_image_repositories": {
        "value": (
            "An image repository services may use (registry[/path]); no rows means any image is "
            "allowed."
        ),
    },
    "cluster_status": {
        "cluster__nodes_count": "Worker nodes counted (control-plane nodes are left out).",
        "cluster__metrics__cpu__total_free_cores": (
            "CPU not in use, summed over worker nodes, in millicores (allocatable minus usage)."
        ),
        "cluster__metrics__cpu__max_free_on_node_cores": (
            "Most CPU not in use on any one worker node, in millicores."
        ),
        "cluster__metrics__cpu__total_schedulable_cores": (
            "CPU still free to reserve (allocatable minus pods' requests), summed over nodes, in "
            "millicores."
        ),
        "cluster__metrics__cpu__total_schedulable_on_node_cores": (
            "Most CPU free to reserve on any one node, in millicores (OSCAR's name for this "
            "maximum)."
        ),
        "cluster__metrics__memory__total_free_bytes": (
            "Memory not in use, summed over worker nodes, in bytes (allocatable minus usage)."
        ),
        "cluster__metrics__memory__max_free_on_node_bytes": (
            "Most memory not in use on any one worker node, in bytes."
        ),
        "cluster__metrics__memory__total_schedulable_bytes": (
            "Memory still free to reserve (allocatable minus pods' requests), summed over nodes, "
            "in bytes."
        ),
        "cluster__metrics__memory__max_schedulable_on_node_bytes": (
            "Most memory free to reserve on any one node, in bytes."
        ),
        "cluster__metrics__gpu__total_gpu": "NVIDIA GPUs allocatable across the worker nodes.",
        "cluster__nodes": (
            "Each worker node (JSON): name, cpu (millicores) and memory (bytes) capacity and "
            "usage, gpu, is_interlink, status, conditions."
        ),
        "oscar__deployment_name": "Name of the OSCAR server's Kubernetes deployment.",
        "oscar__ready": "True when every replica of the OSCAR deployment is ready.",
        "oscar__deployment__replicas": "Replicas the OSCAR deployment asks for.",
        "oscar__deployment__ready_replicas": "Replicas of the OSCAR deployment that are ready.",
        "oscar__deployment__available_replicas": (
            "Replicas of the OSCAR deployment that are available."
        ),
        "oscar__deployment__creation_timestamp": "When the OSCAR deployment was created (UTC).",
        "oscar__deployment__strategy": (
            "Update strategy of the OSCAR deployment (e.g. RollingUpdate)."
        ),
        "oscar__deployment__labels": "Kubernetes labels of the OSCAR deployment (JSON map).",
        "oscar__jobs_count": (
            "Jobs in the services namespace (active + succeeded + failed); 0 when the caller is "
            "not an admin."
        ),
        "oscar__pods__total": "Pods in the services namespace; 0 when the caller is not an admin.",
        "oscar__pods__states": (
            "Pods by phase (JSON: Pending, Running, Succeeded, Failed, Unknown: count); zeros for "
            "non-admin callers."
        ),
        "oscar__oidc__enabled": "True when users may log in with OIDC (EGI Check-in) tokens.",
        "oscar__oidc__issuers": "OIDC issuers whose tokens the cluster accepts (JSON list).",
        "oscar__oidc__groups": "OIDC groups whose members may log in (JSON list).",
        "minio__buckets_count": (
            "Buckets in the cluster's MinIO; 0 when the caller is not an admin or MinIO could not "
            "be read."
        ),
        "minio__total_objects": (
            "Files (non-empty objects) across all MinIO buckets; 0 for non-admin callers or "
            "unreadable MinIO."
        ),
    },
}
