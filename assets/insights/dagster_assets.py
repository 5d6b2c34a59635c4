"""The insights as Dagster assets: one multi-asset per API (one step, one hold of the API's
database) whose assets are `<api>/insights/<name>`, downstream of the tables they read on
every server, refreshed by declarative automation once those tables were loaded."""

import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets.dagster_settings import OrchestrationSettings
from assets.destination_errors import explain as explain_destination_error
from assets.destinations import destination_name
from assets.dlt_assets import writer_pool
from assets.errors import ConfigurationError
from assets.insights.catalog import INSIGHTS, Insight
from assets.insights.present import chart_markdown, preview_markdown
from assets.insights.pseudonyms import pseudonym_key
from assets.insights.tables import InsightTable, build_insights, insights_dataset
from assets.materialization import ROW_COUNT, TABLE_NAME
from assets.registry import SourceInfo
from assets.translator import table_key

STALE_DAYS_SETTING = "STALE_CONTENT_DAYS"
DEFAULT_STALE_DAYS = 90
INSIGHTS_SENSOR = "insights_automation_sensor"


def insight_key(insight: Insight) -> AssetKey:
    return AssetKey([insight.api, "insights", insight.name])


def insights_group(api: str) -> str:
    return f"{api}_insights"


def stale_content_days() -> int:
    value = os.environ.get(STALE_DAYS_SETTING, "").strip()
    if not value:
        return DEFAULT_STALE_DAYS
    if not value.isdigit() or int(value) < 1:
        raise ConfigurationError(f"{STALE_DAYS_SETTING}={value!r} is not a whole number of days")
    return int(value)


def run_start(context: AssetExecutionContext) -> datetime:
    """When the run started: the insights' time windows end there (a retried step counts
    the same windows)."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    if record is not None and record.start_time is not None:
        return datetime.fromtimestamp(record.start_time, UTC)
    return datetime.now(UTC)


def insight_metadata(
    insight: Insight, table: InsightTable, as_of: datetime, pseudonymised: bool
) -> dict[str, object]:
    return {
        ROW_COUNT: len(table.rows),
        TABLE_NAME: f"{insights_dataset(insight.api)}.{insight.name}",
        "as_of": MetadataValue.timestamp(as_of),
        "chart": MetadataValue.md(chart_markdown(insight, insight.chart(table.records()))),
        "top_rows": MetadataValue.md(preview_markdown(insight, table)),
        "pseudonyms": pseudonymised,
    }


def build_insight_assets(
    info: SourceInfo, servers: Sequence[SourceInfo], settings: OrchestrationSettings
) -> AssetsDefinition:
    """The insights of the API `info`, over its `servers` (every configured one)."""
    insights = {insight_key(insight): insight for insight in INSIGHTS[info.name]}
    specs = [
        AssetSpec(
            key=key,
            group_name=insights_group(info.name),
            description=insight.description,
            deps=[table_key(server, table) for server in servers for table in insight.reads],
            # after its tables were loaded, whatever loaded them: no clock of its own
            automation_condition=AutomationCondition.eager(),
            owners=list(settings.owners),
            kinds={"sql", destination_name()},
            tags={"api": info.name},
        )
        for key, insight in insights.items()
    ]

    @multi_asset(specs=specs, name=f"{info.name}_insights", can_subset=True, pool=writer_pool(info))
    def api_insights(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        selected = [insights[key] for key in insights if key in context.selected_asset_keys]
        as_of = run_start(context)
        try:
            key = pseudonym_key()
            tables = build_insights(info, selected, as_of, stale_content_days(), key, context.log)
        except ConfigurationError as error:
            raise Failure(description=str(error), allow_retries=False) from error
        except Exception as error:  # the destination's own words for a role or a disk to fix
            cause = explain_destination_error(
                error, destination_name(), insights_dataset(info.name)
            )
            if cause is None:
                raise
            raise Failure(description=str(cause), allow_retries=False) from error
        for insight in selected:
            yield MaterializeResult(
                asset_key=insight_key(insight),
                metadata=insight_metadata(insight, tables[insight.name], as_of, key is not None),
            )

    return api_insights


def build_insights_sensor(
    assets: Sequence[AssetsDefinition],
) -> AutomationConditionSensorDefinition:
    """Evaluates the insights' automation conditions. Dagster's implicit default sensor
    starts stopped; this one is on from the first start, so loads refresh the insights
    with no click."""
    return AutomationConditionSensorDefinition(
        INSIGHTS_SENSOR,
        target=AssetSelection.assets(*assets),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description=(
            "Refreshes each insight (posit_connect/insights/..., oscar/insights/...) once the "
            "tables it reads were loaded."
        ),
    )
