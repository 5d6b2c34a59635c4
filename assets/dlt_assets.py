"""One multi-asset per API: a single dlt run loads the selected tables into one destination.

A table the credentials may not read (403) or the server does not have (old version) fails
alone: the other tables of the run are loaded and reported as materialised first.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Backoff,
    Config,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)
from dagster_dlt import DagsterDltResource, build_dlt_asset_specs
from dlt.pipeline.pipeline import Pipeline
from pydantic import Field

from assets._catalog import EndpointFailures, Events
from assets._http import progress_log
from assets.all_servers import all_servers_dataset, refresh_all_servers_views
from assets.dagster_settings import OrchestrationSettings
from assets.destination_errors import causes
from assets.destination_errors import explain as explain_destination_error
from assets.destinations import (
    count_current_rows,
    destination_name,
    exclusive_load,
    loader_file_format,
    make_pipeline,
    published_after_load,
)
from assets.duckdb_files import DestinationBusy
from assets.errors import (
    AccessDenied,
    AuthenticationFailed,
    ConfigurationError,
    EndpointMissing,
    SourceError,
)
from assets.materialization import (
    admin_metadata,
    history_changes,
    summaries_by_table,
    without_dlt_objects,
)
from assets.registry import SourceInfo
from assets.translator import CatalogTranslator

# Destinations without SQL views (files), where `<api>_all` is not kept.
NO_VIEWS = ("filesystem",)
# Errors no retry can fix: a setting, a credential, a role or the server's version must change,
# or a process that holds the DuckDB file past DUCKDB_LOCK_TIMEOUT_SECONDS must let go of it.
NOT_RETRYABLE = (
    ConfigurationError,
    AuthenticationFailed,
    AccessDenied,
    EndpointMissing,
    DestinationBusy,
)


class _ToDagsterLog(logging.Handler):
    def __init__(self, context: AssetExecutionContext):
        super().__init__(logging.INFO)
        self.context = context
        self.summaries: list[tuple[str, int, int, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.context.log.info(record.getMessage())
        summary = getattr(record, "progress_summary", None)
        if summary is not None:
            self.summaries.append(summary)


@contextmanager
def progress_in_run_log(
    context: AssetExecutionContext,
) -> Iterator[list[tuple[str, int, int, float]]]:
    """Rows and pages so far, from the sources' logger into Dagster's run log; yields the
    tables' summaries (table, rows, requests, seconds) as they come."""
    handler = _ToDagsterLog(context)
    progress_log.addHandler(handler)
    previous = progress_log.level
    progress_log.setLevel(logging.INFO)
    try:
        yield handler.summaries
    finally:
        progress_log.removeHandler(handler)
        progress_log.setLevel(previous)


class EventBackfill(Config):
    """Run config that reloads a time range of the event tables (Posit Connect audit_logs,
    content_visits, shiny_usage) without touching their incremental cursors. Rows already
    loaded are not duplicated: event tables merge insert-only on their key."""

    start_date: str | None = Field(
        default=None, description="RFC3339 timestamp or date: the first event to reload."
    )
    end_date: str | None = Field(
        default=None, description="RFC3339 timestamp or date: the last event to reload."
    )

    def source_args(self, info: SourceInfo) -> dict[str, str]:
        pairs = (("start_date", self.start_date), ("end_date", self.end_date))
        window = {name: value for name, value in pairs if value}
        if window and not any(isinstance(e.load, Events) for e in info.endpoints):
            raise Failure(
                description=f"{info.title} has no event tables: start_date and end_date in the "
                "run config apply to Posit Connect's audit_logs, content_visits and shiny_usage.",
                allow_retries=False,
            )
        if window and "end_date" not in window:
            raise Failure(
                description="A backfill needs both start_date and end_date in the run config "
                "(for the first load's lower bound, set start_date in the source settings).",
                allow_retries=False,
            )
        return window


def writer_pool(info: SourceInfo) -> str:
    """Steps that open the API's destination (loads and checks) queue on this pool, limit 1
    in dagster.yaml: DuckDB allows one writing process per file."""
    return f"duckdb_{info.name}"


def refresh_retry_policy(settings: OrchestrationSettings) -> RetryPolicy | None:
    """Retries a whole load after dlt's per-request retries gave up (an outage, a restart)."""
    if settings.refresh_retries <= 0:
        return None
    return RetryPolicy(
        max_retries=settings.refresh_retries,
        delay=settings.refresh_retry_delay_seconds,
        backoff=Backoff.EXPONENTIAL,
        jitter=Jitter.PLUS_MINUS,
    )


def source_error_in(error: BaseException) -> SourceError | None:
    """The source's own error inside what dlt raised (it wraps extract errors twice)."""
    return next((cause for cause in causes(error) if isinstance(cause, SourceError)), None)


def with_admin_metadata(
    info: SourceInfo,
    pipeline: Pipeline,
    results: list[MaterializeResult],
    summaries: list[tuple[str, int, int, float]],
    started: datetime,
    load_seconds: float,
    notes: dict[str, str],
) -> Iterator[MaterializeResult]:
    """Each table's result with the metadata an admin reads (assets.materialization),
    read from the destination in one connection; `notes` says why a table loaded with a part
    the server withheld."""
    requests = summaries_by_table(summaries)
    with pipeline.sql_client() as client:
        for result in results:
            endpoint = info.catalog[result.asset_key.path[-1]]
            rows = count_current_rows(client, endpoint)
            created = rows is not None  # a table nothing was ever loaded into does not exist
            yield result._replace(
                metadata=admin_metadata(
                    result,
                    current_rows=rows or 0,
                    requests=requests.get(endpoint.table),
                    load_seconds=load_seconds,
                    changes=history_changes(client, endpoint, started) if created else None,
                    descriptions=info.column_descriptions,
                    note=notes.get(endpoint.table),
                )
            )


def build_api_assets(info: SourceInfo, settings: OrchestrationSettings) -> AssetsDefinition:
    translator = CatalogTranslator(info, destination_name(), settings)

    # `@dlt_assets` is this multi_asset without a retry policy.
    @multi_asset(
        # Built without credentials: the real source is made at run time, so a missing or
        # wrong setting shows as a failed run with a clear message, not a broken code location.
        specs=[
            without_dlt_objects(spec)
            for spec in build_dlt_asset_specs(
                dlt_source=info.offline_source(),
                dlt_pipeline=make_pipeline(info),
                dagster_dlt_translator=translator,
            )
        ],
        name=f"{info.slug}_tables",
        can_subset=True,
        pool=writer_pool(info),
        retry_policy=refresh_retry_policy(settings),
    )
    def api_tables(context: AssetExecutionContext, dlt: DagsterDltResource, config: EventBackfill):
        failures = EndpointFailures()
        backfill = config.source_args(info)
        try:
            # the file lock queues loads that Dagster's pools cannot see (another instance,
            # the CLI without DAGSTER_HOME)
            with (
                progress_in_run_log(context) as summaries,
                exclusive_load(info, progress_log),
                published_after_load(info, progress_log),
            ):
                pipeline = make_pipeline(info)
                started, clock = datetime.now(UTC), time.monotonic()
                results = [
                    result
                    for result in dlt.run(
                        context,
                        dlt_source=info.make_source(failures=failures, **backfill),
                        dlt_pipeline=pipeline,
                        dagster_dlt_translator=translator,
                        loader_file_format=loader_file_format(),
                    )
                    if result.asset_key.path[-1] not in failures.by_table
                ]
                load_seconds = time.monotonic() - clock
                yield from with_admin_metadata(
                    info, pipeline, results, summaries, started, load_seconds, failures.notes
                )
                if destination_name() not in NO_VIEWS:
                    views = refresh_all_servers_views(pipeline, info.configured_servers())
                    context.log.info(
                        f"{all_servers_dataset(info)}: {len(views)} views over every server"
                    )
        except Exception as error:
            cause = source_error_in(error) or explain_destination_error(
                error, destination_name(), info.dataset_name
            )
            if cause is not None:  # the source's own message first, not dlt's wrapping
                retry = not isinstance(cause, NOT_RETRYABLE)
                raise Failure(
                    description=info.in_own_terms(str(cause)), allow_retries=retry
                ) from error
            raise
        if failures:
            raise Failure(
                description=info.in_own_terms(
                    "; ".join(str(error) for error in failures.by_table.values())
                ),
                metadata={
                    table: MetadataValue.text(str(error))
                    for table, error in failures.by_table.items()
                },
                allow_retries=False,
            )

    return api_tables
