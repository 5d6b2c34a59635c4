"""The one redaction pass: every body the OSCAR API returns goes through `redact` before any
table, derived table, log line or error message sees it.

OSCAR hands out credentials in its answers (api-notes, "Secrets"): a service's own `token`,
the credentials of its storage providers (`storage_providers.<kind>.<id>.access_key`, ...),
the basic-auth accounts of remote clusters (`clusters.<id>.auth_user` / `auth_password`), the
`headers` replicas and federation members send upstream, the values of
`environment.secrets`, and the MinIO keys in `/system/config`. Keys are dropped, not blanked,
so they never become columns; secret environment variables keep their names with null values.
"""

from __future__ import annotations

from typing import Any

from assets._http import drop_keys

CREDENTIAL_KEYS = frozenset(
    {
        "token",  # a service's own token; onedata tokens
        "access_key",  # s3 and MinIO (storage_providers, /system/config minio_provider)
        "secret_key",
        "login",  # webdav
        "password",
        "refresh_token",  # rucio
        "auth_user",  # clusters.<id>
        "auth_password",
        "headers",  # replicas (v3) and federation members (v4)
    }
)


def redact(body: Any) -> Any:
    """A copy of `body` without credentials, at any depth."""
    clean = drop_keys(body, CREDENTIAL_KEYS)
    environment = clean.get("environment") if isinstance(clean, dict) else None
    if isinstance(environment, dict) and isinstance(environment.get("secrets"), dict):
        environment["secrets"] = dict.fromkeys(environment["secrets"])
    return clean


DROPPED = (
    "the service token, every storage-provider credential (access_key, secret_key, token, "
    "login, password, refresh_token), clusters' auth_user and auth_password, the headers of "
    "replicas and federation members, and the values of environment.secrets (names kept)"
)
