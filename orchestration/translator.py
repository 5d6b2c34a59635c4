"""How a dlt resource becomes a Dagster asset spec: keys `<api>/<table>`, one group per API,
descriptions and lineage from the catalog."""

from __future__ import annotations

from dagster import AssetKey, AssetSpec
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from assets.registry import SourceInfo


class CatalogTranslator(DagsterDltTranslator):
    def __init__(self, info: SourceInfo, destination: str, owners: tuple[str, ...]):
        self.info = info
        self.destination = destination
        self.owners = owners

    def key_for(self, table: str) -> AssetKey:
        return AssetKey([self.info.name, table])

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        table = data.resource.name
        endpoint = self.info.catalog[table]
        parent = [self.key_for(endpoint.parent)] if endpoint.parent else []
        return spec.replace_attributes(
            key=self.key_for(table),
            group_name=self.info.name,
            description=endpoint.description,
            deps=parent,
            owners=list(self.owners),
            kinds={"dlt", self.destination, "rest_api"},
            tags={"api": self.info.name, "load_mode": endpoint.mode},
        )
