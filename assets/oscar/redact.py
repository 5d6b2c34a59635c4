"""The one redaction pass: every body the OSCAR API returns goes through `redact` before any
table, derived table, log line or error message sees it.

OSCAR hands out credentials at known places of its answers (api-notes, "Secrets"; the Go types
in grycap/oscar pkg/types: service.go, storage.go, replica.go / federation.go, config.go):

- a service's own `token` (top level of a service definition);
- the credentials of its storage providers, `storage_providers.<kind>.<id>.<field>`
  (S3 and MinIO `access_key` / `secret_key`, Onedata `token`, WebDAV `login` / `password`,
  Rucio `refresh_token`);
- the basic-auth accounts of remote clusters, `clusters.<id>.auth_user` / `auth_password`;
- the `headers` that replicas (v3, `replicas[]`) and federation members (v4,
  `federation.members[]`) send upstream;
- the values of `environment.secrets`;
- the MinIO keys of `/system/config`, `minio_provider.access_key` / `secret_key`.

Only those places are touched. Names survive: a secret environment variable or a header keeps
its name with a null value, and maps whose keys users choose (labels, annotations, environment
variables, bucket metadata) are left alone whatever their keys are called, so a label named
`token` or a secret named `refresh_token` is still there.
"""

from __future__ import annotations

import copy
from typing import Any

# Fields of a storage provider entry that are credentials (pkg/types/storage.go; Rucio's
# refresh_token from Rucio's client config).
PROVIDER_CREDENTIALS = frozenset(
    {"access_key", "secret_key", "token", "login", "password", "refresh_token"}
)
CLUSTER_CREDENTIALS = frozenset({"auth_user", "auth_password"})
MINIO_CREDENTIALS = frozenset({"access_key", "secret_key"})
# The top-level fields under which credentials can be; a row without any is returned as it is.
HOLDERS = frozenset(
    {
        "token",
        "storage_providers",
        "clusters",
        "replicas",
        "federation",
        "environment",
        "minio_provider",
    }
)


def redact(body: Any) -> Any:
    """A copy of `body` (one row of any OSCAR endpoint) without the credentials OSCAR puts
    in it; the input is left as it is."""
    if not isinstance(body, dict) or not HOLDERS & body.keys():
        return body
    clean = copy.deepcopy(body)
    clean.pop("token", None)
    for by_id in _dicts(clean.get("storage_providers")):
        for provider in _dicts(by_id):
            _drop(provider, PROVIDER_CREDENTIALS)
    for cluster in _dicts(clean.get("clusters")):
        _drop(cluster, CLUSTER_CREDENTIALS)
    federation = clean.get("federation")
    members = federation.get("members") if isinstance(federation, dict) else None
    for member in [*(clean.get("replicas") or ()), *(members or ())]:
        if isinstance(member, dict):
            _names_only(member, "headers")
    environment = clean.get("environment")
    if isinstance(environment, dict):
        _names_only(environment, "secrets")
    if isinstance(clean.get("minio_provider"), dict):
        _drop(clean["minio_provider"], MINIO_CREDENTIALS)
    return clean


def _dicts(mapping: Any) -> list[dict[str, Any]]:
    """The dict values of a map keyed by ids (provider kinds, provider ids, cluster ids)."""
    if not isinstance(mapping, dict):
        return []
    return [value for value in mapping.values() if isinstance(value, dict)]


def _drop(entry: dict[str, Any], fields: frozenset[str]) -> None:
    for name in fields & entry.keys():
        del entry[name]


def _names_only(parent: dict[str, Any], field: str) -> None:
    if isinstance(parent.get(field), dict):
        parent[field] = dict.fromkeys(parent[field])


DROPPED = (
    "the service token, every storage-provider credential (access_key, secret_key, token, "
    "login, password, refresh_token), clusters' auth_user and auth_password, the values of "
    "the headers of replicas and federation members and of environment.secrets (their names "
    "are kept with null values); labels, annotations and variables keep every key"
)
