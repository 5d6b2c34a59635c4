"""The three answers `load` ends with, from insight tables made here by hand."""

from __future__ import annotations

from datetime import date

import pytest

from assets.errors import ConfigurationError
from assets.insights.dagster_assets import STALE_DAYS_SETTING, stale_content_days
from assets.insights.tables import InsightTable
from tools.report import answers


def table(**columns: list) -> InsightTable:
    return InsightTable(list(columns), list(zip(*columns.values(), strict=True)))


TABLES = {
    "posit_connect": {
        "active_users_monthly": table(
            server=["a", "b", "a"],
            month=[date(2025, 12, 1), date(2025, 12, 1), date(2026, 1, 1)],
            active_users=[3, 4, 9],
        ),
        "content_usage": table(
            title=[None, "Other"],
            name=["sales-app", "other"],
            owner=["ann", "bob"],
            visits_30d=[7, 2],
        ),
    },
    "oscar": {
        "service_usage": table(failed_7d=[1, 2, 0], succeeded_7d=[3, 4, 0]),
    },
}


def test_the_answers_cover_last_month_across_servers_the_top_content_and_job_failures():
    # January: last month is December of the year before
    assert answers(TABLES, date(2026, 1, 15)) == [
        "Active users in December 2025: 7 on Posit Connect",
        'Most visited content (30 days): "sales-app" by ann, 7 visits',
        "OSCAR job failure rate (7 days): 30.0% (3 of 10 finished jobs failed)",
    ]


def test_without_insights_the_answers_say_so():
    assert answers({}, date(2026, 3, 1)) == [
        "Active users in February 2026: no Posit Connect insights yet",
        "Most visited content (30 days): no visits",
        "OSCAR job failure rate (7 days): no OSCAR insights yet",
    ]


@pytest.mark.parametrize("value", ["ninety", "0", "-5", "1.5"])
def test_a_stale_content_days_that_is_not_a_number_of_days_is_refused(value, monkeypatch):
    monkeypatch.setenv(STALE_DAYS_SETTING, value)
    with pytest.raises(ConfigurationError, match=STALE_DAYS_SETTING):
        stale_content_days()
