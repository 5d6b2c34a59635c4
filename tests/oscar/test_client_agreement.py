"""GRyCAP's own client, oscar-python, and this source see the same services."""

from __future__ import annotations

import json

from oscar_python.client import Client

from assets.registry import OSCAR
from tests.conftest import query
from tests.helpers import materialize_api

COLUMNS = ("name", "image", "memory", "cpu", "owner", "vo", "visibility", "allowed_users")


def test_oscar_python_and_the_services_table_agree(oscar_sim):
    client = Client(
        {
            "cluster_id": "sim",
            "endpoint": oscar_sim.url,
            "user": oscar_sim.username,
            "password": oscar_sim.password,
            "ssl": "False",
        }
    )
    listed = client.list_services().json()

    assert materialize_api(OSCAR, ["services"]).success

    rows = query(
        OSCAR,
        f"SELECT {', '.join(COLUMNS)} FROM services WHERE _dlt_valid_to IS NULL ORDER BY name",
    )
    loaded = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
    for row in loaded:
        row["allowed_users"] = json.loads(row["allowed_users"])
    assert loaded == [{c: s[c] for c in COLUMNS} for s in sorted(listed, key=lambda s: s["name"])]
