"""How a dlt resource becomes a Dagster asset spec: keys `<api>/<table>` (a named server's
`<api>/<server>/<table>`), one group per API and server,
descriptions and lineage from the catalog, freshness from the table's cadence."""

from __future__ import annotations

from dagster import AssetKey, AssetSpec
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from assets.cadence import cadence_of
from assets.dagster_settings import OrchestrationSettings
from assets.registry import SourceInfo


def table_key(info: SourceInfo, table: str) -> AssetKey:
    """`<api>/<table>` for the default server, `<api>/<server>/<table>` for a named one."""
    return AssetKey([*info.key_prefix, table])


class CatalogTranslator(DagsterDltTranslator):
    def __init__(self, info: SourceInfo, destination: str, settings: OrchestrationSettings):
        self.info = info
        self.destination = destination
        self.settings = settings

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        table = data.resource.name
        endpoint = self.info.catalog[table]
        parent = [table_key(self.info, endpoint.load.parent)] if endpoint.load.parent else []
        cadence = cadence_of(endpoint, self.settings)
        return spec.replace_attributes(
            key=table_key(self.info, table),
            group_name=self.info.slug,
            description=endpoint.description,
            deps=parent,
            owners=list(self.settings.owners),
            kinds={"dlt", self.destination, "rest_api"},
            tags={
                "api": self.info.name,
                "load_mode": endpoint.load.name,
                "cadence": cadence.name,
                **({"server": self.info.server} if self.info.named else {}),
            },
            freshness_policy=cadence.freshness_policy,
        )
