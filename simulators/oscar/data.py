"""Deterministic test data for the OSCAR simulator.

Everything here is a pure function of the seed (and, for times, of an anchor instant), so two
simulators built with the same arguments on the same day serve the same cluster.  Each kind of
data draws from its own random stream (`rng_for(seed, "services", i)`), so asking for more
services or jobs never changes the credentials or the jobs of the ones already there.

Services are kept in one api-neutral *record* shape; `shapes.render_service` turns a record into
the v3 or v4 JSON.  Secret values are long random strings on purpose: a leak scan that greps a
database for them must not trip over ordinary words.
"""

from __future__ import annotations

import random
import string
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

ADMIN_OWNER = "cluster_admin"
DEFAULT_MINIO_ID = "default"
EGI_ISSUER = "https://aai.egi.eu/auth/realms/egi"
# Kubernetes' generateName alphabet (no vowels, no ambiguous digits): OSCAR job names are
# `<service>-<5 of these>` because OSCAR creates each async job with GenerateName.
K8S_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
JOB_RETENTION = timedelta(days=29)  # initial jobs stay inside the default 30-day TTL
ALNUM = string.ascii_letters + string.digits

VOS = ("vo.ai4eosc.eu", "vo.imagine-ai.eu", "vo.access.egi.eu", "vo.eosc-synergy.eu")
COUNTRIES = ("ES", "IT", "DE", "FR", "PT", "NL", "GR", "PL")
# (service name, image): real GRyCAP / AI4EOSC images, so the data reads like a real cluster.
CATALOGUE = (
    ("cowsay", "ghcr.io/grycap/cowsay:latest"),
    ("plant-classification", "ai4oshub/plants-classification:latest"),
    ("yolov8-detector", "ai4oshub/ai4os-yolov8-torch:latest"),
    ("imagemagick-grayscale", "ghcr.io/grycap/imagemagick:latest"),
    ("whisper-transcribe", "ghcr.io/grycap/whisper:1.2.0"),
    ("fish-detection", "ai4oshub/fish-detection:latest"),
    ("darknet-yolo", "ghcr.io/grycap/darknet:v3"),
    ("audio-classifier", "deephdc/deep-oc-audio-classification-tf:cpu"),
    ("mask-detector", "ghcr.io/grycap/mask-detector-yolo:mini"),
    ("text-to-speech", "ghcr.io/grycap/text-to-speech:latest"),
    ("body-pose", "ghcr.io/grycap/body-pose-detection:latest"),
    ("satellite-superres", "ai4oshub/satsr:latest"),
    ("cell-counter", "ai4oshub/cell-counter:gpu"),
    ("llm-summarizer", "ghcr.io/grycap/llama-cpp-summarizer:0.3"),
)
MEMORY_SIZES = ("256Mi", "512Mi", "1Gi", "2Gi", "4Gi")
CPU_SIZES = ("0.2", "0.5", "1", "2")
SCRIPT = """#!/bin/bash
echo "SCRIPT: Invoked {name}. File available in $INPUT_FILE_PATH"
FILE_NAME=$(basename "$INPUT_FILE_PATH")
OUTPUT_FILE="$TMP_OUTPUT_DIR/$FILE_NAME"
python3 /srv/predict.py --input "$INPUT_FILE_PATH" --output "$OUTPUT_FILE"
"""


# -- primitives ------------------------------------------------------------------------------
def rng_for(seed: int, *labels: object) -> random.Random:
    """An independent random stream per (seed, purpose): str seeds hash stably across runs."""
    return random.Random(":".join(map(str, (seed, *labels))))


def random_text(rng: random.Random, length: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def hex_token(rng: random.Random, nbytes: int = 32) -> str:
    return f"{rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def egi_uid(rng: random.Random) -> str:
    """EGI Check-in subject ids are 64 hex characters followed by `@egi.eu`."""
    return f"{hex_token(rng)}@egi.eu"


def rfc3339(moment: datetime | None) -> str | None:
    """Kubernetes metav1.Time: second precision, UTC, `Z` suffix."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_anchor(now: datetime | None = None) -> datetime:
    """Start of the current UTC day: generated times stay recent yet identical all day long."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def job_name(rng: random.Random, service: str, taken: Collection[str] = ()) -> str:
    """A new `<service>-<5 chars>` name, drawn again on the rare clash with `taken`."""
    while True:
        name = f"{service}-{random_text(rng, 5, K8S_SUFFIX_ALPHABET)}"
        if name not in taken:
            return name


# -- cluster-wide data -----------------------------------------------------------------------
def make_users(seed: int, count: int = 6) -> list[str]:
    """EGI uids of the cluster's users; the first one is the simulator's bearer-token user."""
    return [egi_uid(rng_for(seed, "user", index)) for index in range(count)]


def make_minio_provider(seed: int) -> dict[str, Any]:
    rng = rng_for(seed, "minio")
    return {
        "endpoint": "https://minio.oscar.grycap.net",
        "verify": True,
        "access_key": f"oscar-minio-{random_text(rng, 16)}",
        "secret_key": random_text(rng, 40),
        "region": "us-east-1",
    }


def make_nodes(seed: int) -> list[dict[str, Any]]:
    """Worker nodes of the simulated Kubernetes cluster (capacities in millicores and bytes)."""
    rng = rng_for(seed, "nodes")
    nodes = []
    for index in range(rng.randint(3, 5)):
        cores = rng.choice((4, 8, 16))
        memory = cores * 4 * 1024**3
        nodes.append(
            {
                "name": f"wn{index + 1}.oscar.grycap.net",
                "cpu_capacity": cores * 1000,
                "cpu_usage": rng.randint(cores * 50, cores * 700),
                "memory_capacity": memory,
                "memory_usage": rng.randint(memory // 10, memory * 7 // 10),
                "gpu": 1 if index == 0 and rng.random() < 0.5 else 0,
            }
        )
    return nodes


# -- services --------------------------------------------------------------------------------
def service_name(index: int) -> str:
    """Unique per index: the catalogue names first, then `<name>-2`, `<name>-3`, ..."""
    base, _ = CATALOGUE[index % len(CATALOGUE)]
    cycle = index // len(CATALOGUE)
    return base if cycle == 0 else f"{base}-{cycle + 1}"


def service_image(index: int) -> str:
    return CATALOGUE[index % len(CATALOGUE)][1]


# Owner and visibility follow a fixed cycle rather than chance, so that whatever the seed a
# bearer user always sees some services (own, public, restricted to them) and not others.
_ACCESS_CYCLE = (
    ("bearer", "private"),
    ("admin", "public"),
    ("other", "private"),
    ("other", "restricted+bearer"),
    ("bearer", "restricted"),
    ("other", "restricted"),
    ("admin", "private"),
)


def _access(index: int, users: list[str], rng: random.Random) -> tuple[str, str, list[str]]:
    who, visibility = _ACCESS_CYCLE[index % len(_ACCESS_CYCLE)]
    bearer, others = users[0], users[1:]
    owner = {"bearer": bearer, "admin": ADMIN_OWNER, "other": rng.choice(others)}[who]
    allowed: list[str] = []
    if visibility.startswith("restricted"):
        allowed = rng.sample(others, 2)
        if visibility.endswith("+bearer"):
            allowed.append(bearer)
        visibility = "restricted"
    return owner, visibility, allowed


# Extra storage providers by service index: any five consecutive services use all kinds.
_EXTRA_PROVIDERS = ((), ("s3",), ("onedata", "webdav"), ("rucio",), ("s3", "webdav"))


def _storage_providers(
    rng: random.Random, index: int, name: str, minio: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The service's providers (credentials included, as OSCAR returns them) and their ids."""
    providers: dict[str, Any] = {"minio": {DEFAULT_MINIO_ID: dict(minio)}}
    for kind in _EXTRA_PROVIDERS[index % len(_EXTRA_PROVIDERS)]:
        providers[kind] = {f"{kind}-{name[:8]}": _credentials(kind, rng)}
    return providers, [f"{kind}.{next(iter(ids))}" for kind, ids in providers.items()]


def _credentials(kind: str, rng: random.Random) -> dict[str, Any]:
    if kind == "s3":
        return {
            "access_key": "AKIA" + random_text(rng, 16, string.ascii_uppercase + string.digits),
            "secret_key": random_text(rng, 40),
            "region": rng.choice(("eu-west-1", "us-east-1", "eu-central-1")),
        }
    if kind == "onedata":
        return {
            "oneprovider_host": "oneprovider.egi.eu",
            "token": "MDAx" + random_text(rng, 80),
            "space": rng.choice(("ai4eosc-data", "imagine-space", "egi-demo")),
        }
    if kind == "webdav":
        return {
            "hostname": "https://dav.cloud.egi.eu/remote.php/dav",
            "login": f"dav-{random_text(rng, 12).lower()}",
            "password": random_text(rng, 24),
        }
    # Rucio's shape is not in OSCAR's Go types we read; invented from Rucio's own client config.
    return {
        "host": "https://rucio.cern.ch",
        "auth_host": "https://rucio-auth.cern.ch",
        "account": f"acc-{random_text(rng, 8).lower()}",
        "rse": "CERN-PROD",
        "refresh_token": "eyJ" + random_text(rng, 120),
    }


def _delegation(
    rng: random.Random, index: int, name: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Remote clusters (with their basic-auth credentials) and the replicas that use them.

    Every other service delegates, so even a small cluster has both kinds.
    """
    if index % 2 == 0:
        return {}, []
    cluster_id = f"oscar-{rng.choice(('upv', 'incd', 'cesga', 'ifca'))}"
    clusters = {
        cluster_id: {
            "endpoint": f"https://{cluster_id}.cloud.ai4eosc.eu",
            "auth_user": f"svc-{random_text(rng, 12).lower()}",
            "auth_password": random_text(rng, 28),
            "ssl_verify": True,
        }
    }
    members = [
        {
            "type": "oscar",
            "cluster_id": cluster_id,
            "service_name": name,
            "url": "",
            "ssl_verify": True,
            "priority": 0,
            "headers": {"Authorization": f"Bearer {hex_token(rng)}"},
        },
        {
            "type": "endpoint",
            "cluster_id": "",
            "service_name": "",
            "url": f"https://inference.{rng.choice(('ai4eosc.eu', 'imagine-ai.eu'))}/{name}",
            "ssl_verify": rng.random() < 0.8,
            "priority": 10,
            "headers": {"X-Api-Key": random_text(rng, 32)},
        },
    ]
    return clusters, members


def _environment(rng: random.Random) -> dict[str, Any]:
    variables = {
        "LOG_LEVEL": rng.choice(("INFO", "DEBUG")),
        "MODEL_VERSION": f"v{rng.randint(1, 4)}",
    }
    secrets = {}
    if rng.random() < 0.6:
        secrets["HF_TOKEN"] = "hf_" + random_text(rng, 34)
    if rng.random() < 0.4:
        secrets["DB_PASSWORD"] = random_text(rng, 20)
    return {"variables": variables, "secrets": secrets}


def _expose(rng: random.Random, index: int) -> dict[str, Any]:
    """Expose settings; `api_ports` is empty for the services (3 in 4) that are not exposed."""
    exposed = index % 4 == 2
    return {
        "min_scale": 1 if exposed else 0,
        "max_scale": rng.choice((3, 5, 10)) if exposed else 0,
        "api_ports": [rng.choice((5000, 8000, 8888))] if exposed else [],
        "cpu_threshold": 80,
        "rewrite_target": False,
        "nodePort": 0,
        "default_command": False,
        "set_auth": exposed and rng.random() < 0.5,
        "health_path": "/",
    }


def make_service(seed: int, index: int, users: list[str], minio: dict[str, Any]) -> dict[str, Any]:
    """One service record (api-neutral; see `shapes.render_service`)."""
    rng = rng_for(seed, "service", index)
    name = service_name(index)
    owner, visibility, allowed = _access(index, users, rng)
    providers, provider_ids = _storage_providers(rng, index, name, minio)
    clusters, members = _delegation(rng, index, name)
    output_provider = rng.choice(provider_ids)
    isolation = rng.choice(("SERVICE", "SERVICE", "USER"))
    record = {
        "name": name,
        "cluster_id": "oscar-cluster",
        "memory": rng.choice(MEMORY_SIZES),
        "cpu": rng.choice(CPU_SIZES),
        "total_memory": "",
        "total_cpu": "",
        "enable_gpu": service_image(index).endswith(":gpu") or rng.random() < 0.1,
        "image_prefetch": False,
        "synchronous": {"min_scale": 0, "max_scale": rng.choice((0, 5, 10))},
        "rescheduler_threshold": 0,
        "log_level": rng.choice(("INFO", "INFO", "DEBUG", "CRITICAL")),
        "image": service_image(index),
        "alpine": False,
        "token": hex_token(rng),
        "file_stage_in": False,
        "input": [{"storage_provider": "minio.default", "path": f"{name}/input"}],
        "output": [{"storage_provider": output_provider, "path": f"{name}/output"}],
        "script": SCRIPT.format(name=name),
        "expose": _expose(rng, index),
        "environment": _environment(rng),
        # Go's encoder writes a nil map as null: some services really send `"annotations": null`.
        "annotations": None if index % 3 == 2 else {"oscar.grycap/created-by": "oscar-dashboard"},
        "vo": rng.choice(VOS),
        "labels": {"app": name, "tier": rng.choice(("inference", "batch"))},
        "storage_providers": providers,
        "clusters": clusters,
        "owner": owner,
        "interlink_node_name": "",
        "visibility": visibility,
        "allowed_users": allowed,
        "isolation_level": isolation,
        "bucket_list": [f"{name}-{user[:8]}" for user in allowed] if isolation == "USER" else [],
        "mount": {"storage_provider": "", "path": ""},
        "delegation": rng.choice(("static", "random", "load-based")),
        "topology": "tree" if members else "none",
        "members": members,
    }
    if index % 3 == 1:
        _keys_named_like_credentials(record, rng)
    return record


def _keys_named_like_credentials(record: dict[str, Any], rng: random.Random) -> None:
    """User-chosen keys that happen to be called like credentials, on every third service:
    a label `token`, an annotation `headers`, a variable `login`, and a secret named
    `refresh_token` (the name OSCAR's federation gives worker services' secrets). The names
    are data to keep; only the secret's value is a credential."""
    record["labels"]["token"] = "ci-pipeline"
    record["annotations"] = {**(record["annotations"] or {}), "headers": "x-request-id"}
    record["environment"]["variables"]["login"] = "guest"
    record["environment"]["secrets"]["refresh_token"] = "rt-" + random_text(rng, 40)


def make_standalone_buckets(seed: int, users: list[str]) -> list[dict[str, Any]]:
    """Buckets created through /system/buckets rather than by a service."""
    rng = rng_for(seed, "buckets")
    buckets = []
    for index, (visibility, owner) in enumerate(
        (("private", users[0]), ("public", users[1]), ("restricted", users[2]))
    ):
        allowed = [users[0], users[3]] if visibility == "restricted" else None
        buckets.append(
            {
                "bucket_name": f"dataset-{random_text(rng, 6).lower()}-{index}",
                "visibility": visibility,
                "allowed_users": allowed,
                "owner": owner,
                "metadata": {"created_by": "oscar-dashboard"},
            }
        )
    return buckets


def make_volumes(seed: int, users: list[str], services: list[str]) -> list[dict[str, Any]]:
    rng = rng_for(seed, "volumes")
    volumes = []
    for index, owner in enumerate((users[0], users[0], ADMIN_OWNER, users[1])):
        creator = services[index % len(services)] if services and index % 2 == 0 else ""
        namespace = "oscar-svc" if owner == ADMIN_OWNER else f"oscar-svc-{owner[:12]}"
        name = f"vol-{random_text(rng, 6).lower()}"
        volumes.append(
            {
                "name": name,
                "namespace": namespace,
                "pvc_name": f"oscar-vol-{name}",
                "size": rng.choice(("1Gi", "5Gi", "20Gi")),
                "owner_user": owner,
                "created_by_service": creator,
                "creation_mode": "service" if creator else "api",
                "lifecycle_policy": "delete" if creator else "retain",
                "status": {
                    "phase": "in_use" if creator else "ready",
                    "attachment_count": int(bool(creator)),
                },
            }
        )
    return volumes


# -- jobs ------------------------------------------------------------------------------------
def make_job(
    rng: random.Random, created: datetime, status: str
) -> dict[str, datetime | str | None]:
    """A job record: Pending jobs have not started, Running ones have not finished."""
    started = None if status == "Pending" else created + timedelta(seconds=rng.randint(2, 40))
    finished = None
    if status in ("Succeeded", "Failed") and started is not None:
        finished = started + timedelta(seconds=rng.randint(5, 1800))
    return {
        "status": status,
        "creation_time": created,
        "start_time": started,
        "finish_time": finished,
    }


def make_jobs(
    seed: int, service: str, count: int, anchor: datetime
) -> dict[str, dict[str, datetime | str | None]]:
    """`count` jobs spread over the retention window before `anchor`; the newest is unfinished."""
    rng = rng_for(seed, "jobs", service)
    ages = sorted(
        (rng.uniform(0, JOB_RETENTION.total_seconds()) for _ in range(count)), reverse=True
    )
    jobs = {}
    for position, age in enumerate(ages):
        newest = position == count - 1
        if newest:
            status = rng.choice(("Pending", "Running"))
        else:
            status = "Failed" if rng.random() < 0.15 else "Succeeded"
        jobs[job_name(rng, service, jobs)] = make_job(rng, anchor - timedelta(seconds=age), status)
    return jobs


# -- secrets ---------------------------------------------------------------------------------
CREDENTIAL_KEYS = frozenset(
    {"access_key", "secret_key", "token", "login", "password", "refresh_token"}
)


def service_secrets(record: dict[str, Any]) -> set[str]:
    """Every secret value a service definition carries (see api-notes, "Secrets")."""
    values = {record["token"], *record["environment"]["secrets"].values()}
    for by_id in record["storage_providers"].values():
        for credentials in by_id.values():
            values.update(v for k, v in credentials.items() if k in CREDENTIAL_KEYS)
    for cluster in record["clusters"].values():
        values.update((cluster["auth_user"], cluster["auth_password"]))
    for member in record["members"]:
        values.update(member["headers"].values())
    return values
