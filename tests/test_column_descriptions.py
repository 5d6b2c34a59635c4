"""Every table of both catalogs has column descriptions for the Dagster UI, and none is blank.

Loads nothing: the descriptions are data, checked against the endpoint catalogs."""

from __future__ import annotations

import pytest

from assets._catalog import DELETED_COLUMN, ROW_KEY_COLUMN, FanOut
from assets.dlt_columns import DLT_COLUMN_DESCRIPTIONS
from assets.oscar import columns as oscar_columns
from assets.oscar import settings as oscar_settings
from assets.posit_connect import columns as posit_columns
from assets.posit_connect import settings as posit_settings

SOURCES = {
    "posit_connect": (posit_settings.ENDPOINTS, posit_columns.COLUMN_DESCRIPTIONS),
    "oscar": (oscar_settings.ENDPOINTS, oscar_columns.COLUMN_DESCRIPTIONS),
}
DLT_COLUMNS = (
    "_dlt_id",
    "_dlt_load_id",
    "_dlt_valid_from",
    "_dlt_valid_to",
    "_dlt_parent_id",
    "_dlt_list_idx",
    "_dlt_root_id",
)


def tables_of(endpoints) -> list[str]:
    """Each endpoint's table and the child tables it declares."""
    tables = []
    for endpoint in endpoints:
        tables.append(endpoint.table)
        tables.extend(nested.table(endpoint.table) for nested in endpoint.nested)
    return tables


@pytest.mark.parametrize("source", SOURCES)
def test_every_table_has_column_descriptions(source: str) -> None:
    endpoints, descriptions = SOURCES[source]
    missing = [table for table in tables_of(endpoints) if not descriptions.get(table)]
    assert not missing, f"{source}: no column descriptions for {missing}"


@pytest.mark.parametrize("source", SOURCES)
def test_declared_columns_are_described(source: str) -> None:
    """The columns a catalog entry types itself (so they exist from the first load) and the
    ones this project adds (deleted_time, row_key) are described for that table."""
    endpoints, descriptions = SOURCES[source]
    undescribed = []
    for endpoint in endpoints:
        declared = set(endpoint.columns) | set(endpoint.key)
        for nested in endpoint.nested:
            table = nested.table(endpoint.table)
            undescribed += [
                f"{table}.{name}"
                for name in nested.columns
                if name not in descriptions.get(table, {}) and name not in DLT_COLUMN_DESCRIPTIONS
            ]
        undescribed += [
            f"{endpoint.table}.{name}"
            for name in declared
            if name not in descriptions.get(endpoint.table, {})
            and name not in DLT_COLUMN_DESCRIPTIONS
        ]
    assert not undescribed, f"{source}: undescribed columns {sorted(undescribed)}"


def test_project_columns_are_described_where_they_land() -> None:
    for source, (endpoints, descriptions) in SOURCES.items():
        for endpoint in endpoints:
            if isinstance(endpoint.load, FanOut):
                assert DELETED_COLUMN in descriptions[endpoint.table], (source, endpoint.table)
            if endpoint.key == (ROW_KEY_COLUMN,):
                assert ROW_KEY_COLUMN in descriptions[endpoint.table], (source, endpoint.table)


@pytest.mark.parametrize("source", SOURCES)
def test_no_description_is_blank_and_dlt_columns_are_described_once(source: str) -> None:
    _, descriptions = SOURCES[source]
    for table, columns in descriptions.items():
        for column, text in columns.items():
            assert text.strip(), f"{source}: {table}.{column} has an empty description"
            assert not column.startswith("_dlt_"), (
                f"{source}: {table}.{column} belongs in assets/dlt_columns.py, not per table"
            )


def test_dlt_columns_are_described() -> None:
    for column in DLT_COLUMNS:
        assert DLT_COLUMN_DESCRIPTIONS.get(column, "").strip(), column
