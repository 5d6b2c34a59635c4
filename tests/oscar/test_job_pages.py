"""OSCAR's job listing comes in two shapes; both become one row per job."""

from __future__ import annotations

import pytest

from assets.oscar.tables import job_rows

JOB = {"status": "Succeeded", "creation_time": "2025-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "body",
    [
        {"jobs": {"cowsay-bcd2f": JOB}, "next_page": "token", "remaining_jobs": 3},  # v3.6.4+
        {"jobs": {"cowsay-bcd2f": JOB}, "remaining_jobs": 0},  # the last page
        {"cowsay-bcd2f": JOB},  # before v3.6.4: the bare map
    ],
)
def test_every_shape_gives_one_row_per_job(body):
    assert job_rows(body) == [{"job_name": "cowsay-bcd2f", **JOB}]


@pytest.mark.parametrize("body", [{"jobs": None, "remaining_jobs": 0}, {"jobs": {}}, {}])
def test_a_service_without_jobs_gives_no_rows(body):
    assert job_rows(body) == []
