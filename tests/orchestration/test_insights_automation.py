"""The insights refresh themselves after a scheduled load, with no schedule of their own:
Dagster's declarative automation (eager: an upstream table was updated and none is missing),
evaluated here with Dagster's public test helper as the insights' automation sensor would."""

from __future__ import annotations

from dagster import AssetSelection, DagsterInstance, evaluate_automation_conditions

from orchestration.definitions import build_definitions

INSIGHTS = AssetSelection.groups("posit_connect_insights", "oscar_insights")


def requested(defs, result) -> set[str]:
    return {
        key.path[-1]
        for key in INSIGHTS.resolve(defs.resolve_asset_graph())
        if result.get_num_requested(key)
    }


def test_a_scheduled_load_triggers_the_insights_that_read_its_tables(posit_sim):
    defs = build_definitions()
    repository = defs.get_repository_def()
    instance = DagsterInstance.ephemeral()

    def scheduled_run(schedule: str) -> None:
        job = repository.get_job(repository.get_schedule_def(schedule).job_name)
        assert job.execute_in_process(instance=instance).success

    tick = evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=INSIGHTS)
    assert requested(defs, tick) == set()  # nothing loaded yet

    scheduled_run("posit_connect_catalog_schedule")
    tick = evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=INSIGHTS, cursor=tick.cursor
    )
    # the catalog tables are in; the usage insights wait for the event tables
    assert requested(defs, tick) == {"runtime_versions"}

    scheduled_run("posit_connect_usage_schedule")
    tick = evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=INSIGHTS, cursor=tick.cursor
    )
    assert requested(defs, tick) == {
        "active_users_monthly",
        "content_usage",
        "stale_content",
        "open_access",
    }

    tick = evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=INSIGHTS, cursor=tick.cursor
    )
    assert requested(defs, tick) == set()  # no load since: nothing to refresh
