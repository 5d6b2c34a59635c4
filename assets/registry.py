"""The APIs this project loads. The orchestration layer builds one asset group per entry."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dlt.extract.source import DltSource

from assets import oscar, posit_connect
from assets._catalog import Endpoint
from assets._http import ConfigurationError
from assets.oscar import columns as oscar_columns
from assets.oscar import settings as oscar_settings
from assets.posit_connect import columns as posit_columns
from assets.posit_connect import settings as posit_settings


@dataclass(frozen=True)
class ChangeProbe:
    """One cheap request that tells whether an API's primary list changed.

    `versions()` returns {row key: version} for every row of `table` (Posit: content guid ->
    last_deployed_time; OSCAR: service name -> digest of its definition), reading its
    settings the way the source does; it raises a SourceError (or a requests error) naming
    the server when it cannot answer."""

    table: str
    versions: Callable[[], dict[str, str]]


@dataclass(frozen=True)
class SourceInfo:
    name: str
    title: str
    source: Callable[..., DltSource]
    endpoints: tuple[Endpoint, ...]
    pipeline_name: str
    dataset_name: str
    duckdb_file: str
    # None: nothing tells cheaply what changed, so only the schedules refresh this API.
    change_probe: ChangeProbe | None = None
    # the source's credential arguments, blanked when it is built outside a run
    credential_args: tuple[str, ...] = ()
    # table -> column -> what the column holds, for the Dagster UI's column schemas
    column_descriptions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def catalog(self) -> dict[str, Endpoint]:
        return {endpoint.table: endpoint for endpoint in self.endpoints}

    def offline_source(self) -> DltSource:
        """The source built without reading any setting or credential (for asset specs)."""
        return self.source(base_url="", **dict.fromkeys(self.credential_args, ""))


POSIT_CONNECT = SourceInfo(
    name="posit_connect",
    title="Posit Connect",
    source=posit_connect.posit_connect_source,
    endpoints=posit_settings.ENDPOINTS,
    pipeline_name=posit_settings.PIPELINE_NAME,
    dataset_name=posit_settings.DATASET_NAME,
    duckdb_file=posit_settings.DUCKDB_FILE,
    change_probe=ChangeProbe("content", posit_connect.content_versions),
    credential_args=("api_key",),
    column_descriptions=posit_columns.COLUMN_DESCRIPTIONS,
)

OSCAR = SourceInfo(
    name="oscar",
    title="OSCAR",
    source=oscar.oscar_source,
    endpoints=oscar_settings.ENDPOINTS,
    pipeline_name=oscar_settings.PIPELINE_NAME,
    dataset_name=oscar_settings.DATASET_NAME,
    duckdb_file=oscar_settings.DUCKDB_FILE,
    change_probe=ChangeProbe("services", oscar.service_versions),
    credential_args=("username", "password", "bearer_token", "refresh_token"),
    column_descriptions=oscar_columns.COLUMN_DESCRIPTIONS,
)

SOURCES: tuple[SourceInfo, ...] = (POSIT_CONNECT, OSCAR)
ENABLED_APIS_ENV = "ENABLED_APIS"


def enabled_sources() -> tuple[SourceInfo, ...]:
    """The APIs named in ENABLED_APIS (comma-separated), else all: a team that runs only one
    of the two products gets no schedules, sensors or failed runs for the other."""
    names = [
        n.strip().lower() for n in os.environ.get(ENABLED_APIS_ENV, "").split(",") if n.strip()
    ]
    known = {info.name: info for info in SOURCES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigurationError(
            f"{ENABLED_APIS_ENV} names {', '.join(map(repr, unknown))}: not an API of this "
            f"project. Use a comma-separated list of {', '.join(known)}, or unset it for all."
        )
    return tuple(info for info in SOURCES if not names or info.name in names)
