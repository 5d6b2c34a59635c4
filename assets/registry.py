"""The APIs this project loads. The orchestration layer builds one asset group per entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dlt.extract.source import DltSource

from assets import posit_connect
from assets._catalog import Endpoint
from assets.posit_connect import settings as posit_settings


@dataclass(frozen=True)
class SourceInfo:
    name: str
    title: str
    source: Callable[..., DltSource]
    endpoints: tuple[Endpoint, ...]
    pipeline_name: str
    dataset_name: str
    duckdb_file: str

    @property
    def catalog(self) -> dict[str, Endpoint]:
        return {endpoint.table: endpoint for endpoint in self.endpoints}


POSIT_CONNECT = SourceInfo(
    name="posit_connect",
    title="Posit Connect",
    source=posit_connect.posit_connect_source,
    endpoints=posit_settings.ENDPOINTS,
    pipeline_name=posit_settings.PIPELINE_NAME,
    dataset_name=posit_settings.DATASET_NAME,
    duckdb_file=posit_settings.DUCKDB_FILE,
)

SOURCES: tuple[SourceInfo, ...] = (POSIT_CONNECT,)
