"""Tables loaded by the code before `row_hash` existed (dlt's row hash was the version, in
`_dlt_id`) upgrade in place on their first load: no unchanged row gets a second version,
nested rows keep joining their parent, and later changes version as usual. The old tables are
made by the old code itself: the last commit before the change, run from `git archive`
through Dagster against the same simulator, destination and dlt directory."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from assets._arrow import ROW_VERSION
from assets.destinations import make_pipeline
from assets.registry import SourceInfo
from tests.helpers import materialize_api

REPO_ROOT = Path(__file__).resolve().parents[2]
# The last commit whose scd2 tables had no row_hash.
BEFORE_ROW_HASH = "ccf4e3ef44a5234a9226772fec046ab4300874e4"
# scd2 tables with nested tables, and the join a reader makes between them
NESTED_JOINS = {
    "posit_connect": ("content", "content__tags"),
    "oscar": ("services", "services__input"),
}


@pytest.fixture(scope="session")
def old_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("before_row_hash")
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", BEFORE_ROW_HASH],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def load_with_old_code(tree: Path, info: SourceInfo) -> None:
    script = (
        "import assets.registry as r; from tests.helpers import materialize_api; "
        f"assert materialize_api(r.{info.name.upper()}).success"
    )
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tree, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def table_state(info: SourceInfo) -> dict[str, object]:
    """Rows per table (history included), current rows without a version, and the current
    parent-child pairs of the API's nested join."""
    parent, child = NESTED_JOINS[info.name]
    with make_pipeline(info).sql_client() as client:
        tables = [
            name
            for (name,) in client.execute_sql(
                "SELECT table_name FROM information_schema.tables "
                f"WHERE table_schema = '{client.dataset_name}'"
            )
            if not name.startswith("_dlt")
        ]
        state: dict[str, object] = {
            table: client.execute_sql(
                f"SELECT count(*) FROM {client.make_qualified_table_name(table)}"
            )[0][0]
            for table in tables
        }
        parent_table = client.make_qualified_table_name(parent)
        (state["joined"],) = client.execute_sql(
            f"SELECT count(*) FROM {parent_table} p "
            f"JOIN {client.make_qualified_table_name(child)} c ON c._dlt_parent_id = p._dlt_id "
            "WHERE p._dlt_valid_to IS NULL"
        )[0]
        columns = {
            name
            for (name,) in client.execute_sql(
                "SELECT column_name FROM information_schema.columns "
                f"WHERE table_schema = '{client.dataset_name}' AND table_name = '{parent}'"
            )
        }
        if ROW_VERSION in columns:
            (state["unversioned"],) = client.execute_sql(
                f"SELECT count(*) FROM {parent_table} "
                f"WHERE _dlt_valid_to IS NULL AND {ROW_VERSION} IS NULL"
            )[0]
    return state


# Each API and each destination once: the upgrade is the same SQL for every table of an API,
# and the same tables on either destination (all four pairs cost two minutes of loads).
@pytest.mark.parametrize(
    ("api", "destination"),
    [
        ("posit_connect", "duckdb"),
        pytest.param("oscar", "postgres", marks=pytest.mark.postgres),
    ],
    indirect=["api"],
)
def test_an_upgrade_versions_the_stored_rows_in_place(
    old_code: Path, api: tuple, destination: str, request: pytest.FixtureRequest
) -> None:
    if destination == "postgres":
        request.getfixturevalue("load_into_postgres")
    scenario, sim = api
    load_with_old_code(old_code, scenario.info)
    before = table_state(scenario.info)
    assert before["joined"], "the old load made no nested rows to keep"

    # the tables the old code loaded (tables added since have nothing to upgrade)
    old_tables = [table for table in before if table != "joined" and "__" not in table]
    assert materialize_api(scenario.info, old_tables).success
    upgraded = table_state(scenario.info)
    assert upgraded.pop("unversioned") == 0
    expected = {**before, **newly_asked_for(scenario.info, before)}
    assert {table: upgraded[table] for table in expected} == expected

    assert materialize_api(scenario.info, old_tables).success
    again = table_state(scenario.info)
    again.pop("unversioned")
    assert {table: again[table] for table in expected} == expected

    added = scenario.change(sim)
    assert materialize_api(scenario.info, old_tables).success
    after = table_state(scenario.info)
    assert {table: after[table] - expected[table] for table in added} == added


def newly_asked_for(info: SourceInfo, before: dict[str, object]) -> dict[str, object]:
    """Versions the upgrade adds because the new code asks for more than the old did: Posit
    Connect's content with its vanity URL (`include=vanity_url`), a new version of each item
    that has one, and nothing else."""
    if info.name != "posit_connect":
        return {}
    with make_pipeline(info).sql_client() as client:
        content = client.make_qualified_table_name("content")
        (with_vanity_url,) = client.execute_sql(
            f"SELECT count(*) FROM {content} WHERE _dlt_valid_to IS NULL AND vanity_url IS NOT NULL"
        )[0]
    return {"content": before["content"] + with_vanity_url}
