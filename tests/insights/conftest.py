"""The insights' tests and the report's read one load of both APIs with their insights, once
per worker (tests/helpers.py, `shared_load_fixtures`)."""

from __future__ import annotations

from typing import Any

from assets.registry import OSCAR, POSIT_CONNECT
from tests.helpers import materialize_api, shared_load_fixtures
from tests.insights.expected import materialize_insights


def load_both_apis_and_their_insights() -> dict[str, Any]:
    """Each API's insights run (for the metadata it showed), after its tables' load."""
    insights_runs = {}
    for info in (POSIT_CONNECT, OSCAR):
        assert materialize_api(info).success
        insights_runs[info.name] = materialize_insights(info.name)
        assert insights_runs[info.name].success
    return insights_runs


shared_load_once, loaded = shared_load_fixtures(load_both_apis_and_their_insights, scope="package")
