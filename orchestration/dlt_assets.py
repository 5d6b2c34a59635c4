"""One multi-asset per API: a single dlt run loads the selected tables into one destination.

A table the credentials may not read (403) or the server does not have (old version) fails
alone: the other tables of the run are loaded and reported as materialised first.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import AssetExecutionContext, AssetsDefinition, Failure, MetadataValue
from dagster_dlt import DagsterDltResource, dlt_assets

from assets._catalog import EndpointFailures
from assets._http import progress_log
from assets.destinations import destination_name, loader_file_format, make_pipeline
from assets.registry import SourceInfo
from orchestration.settings import OrchestrationSettings
from orchestration.translator import CatalogTranslator


class _ToDagsterLog(logging.Handler):
    def __init__(self, context: AssetExecutionContext):
        super().__init__(logging.INFO)
        self.context = context

    def emit(self, record: logging.LogRecord) -> None:
        self.context.log.info(record.getMessage())


@contextmanager
def progress_in_run_log(context: AssetExecutionContext) -> Iterator[None]:
    """Rows and pages so far, from the sources' logger into Dagster's run log."""
    handler = _ToDagsterLog(context)
    progress_log.addHandler(handler)
    previous = progress_log.level
    progress_log.setLevel(logging.INFO)
    try:
        yield
    finally:
        progress_log.removeHandler(handler)
        progress_log.setLevel(previous)


def writer_pool(info: SourceInfo) -> str:
    """Runs that write the same DuckDB file queue on this pool (limit 1 in dagster.yaml)."""
    return f"duckdb_{info.name}"


def build_api_assets(info: SourceInfo, settings: OrchestrationSettings) -> AssetsDefinition:
    translator = CatalogTranslator(info, destination_name(), settings.owners)

    @dlt_assets(
        # Built without credentials: the real source is made at run time, so a missing or
        # wrong setting shows as a failed run with a clear message, not a broken code location.
        dlt_source=info.source(base_url="", api_key=""),
        dlt_pipeline=make_pipeline(info),
        name=f"{info.name}_tables",
        dagster_dlt_translator=translator,
        pool=writer_pool(info),
    )
    def api_tables(context: AssetExecutionContext, dlt: DagsterDltResource):
        failures = EndpointFailures()
        with progress_in_run_log(context):
            results = dlt.run(
                context,
                dlt_source=info.source(failures=failures),
                dlt_pipeline=make_pipeline(info),
                loader_file_format=loader_file_format(),
            )
            for result in results:
                if result.asset_key.path[-1] not in failures.by_table:
                    yield result
        if failures:
            raise Failure(
                description="; ".join(str(error) for error in failures.by_table.values()),
                metadata={
                    table: MetadataValue.text(str(error))
                    for table, error in failures.by_table.items()
                },
            )

    return api_tables
