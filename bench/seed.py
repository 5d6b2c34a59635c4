"""The `seed` contender: the dltHub page's pipeline (the seed page the product was specified
from: shared/seeds/posit-connect-dlthub-page.txt beside this repository, not in it) as
written, with default settings and DuckDB, fixed only where it cannot run:

- `base_url`: the page's `https://<connect_host>/__api__` placeholder becomes the simulator;
- paths: the page writes `__api__/v1/...` under a base URL that already ends in `/__api__`,
  which requests `/__api__/__api__/v1/...`; the doubled prefix is dropped;
- auth: dlt's `api_key` auth sends the value verbatim, Connect wants `Authorization: Key <key>`.

Workloads add resources "from the resource table using the same name, path, data_selector
pattern", as the page says: `content_item` from its table, `content_visits` with keyset paging.
Runs in an empty working directory so no project `.dlt/config.toml` applies.
"""

from __future__ import annotations

import os
from typing import Any

import dlt
from dlt.sources.rest_api import RESTAPIConfig, rest_api_resources

BASE_URL = os.environ.get("BENCH_SERVER", "") + "/__api__"

# What each workload appends to the page's two resources.
EXTRA_RESOURCES: dict[str, list[dict[str, Any]]] = {
    "content_item": [
        {
            "name": "content_item",
            "endpoint": {
                "path": "v1/content/{content_guid}",
                "params": {
                    "content_guid": {"type": "resolve", "resource": "content", "field": "guid"}
                },
            },
        }
    ],
    "content_visits": [
        {
            "name": "content_visits",
            "endpoint": {
                "path": "v1/instrumentation/content/visits",
                "params": {"limit": 500, "asc_order": "true"},
                "data_selector": "results",
                "paginator": {"type": "json_link", "next_url_path": "paging.next"},
            },
        }
    ],
}
EXTRA = EXTRA_RESOURCES.get(os.environ.get("BENCH_TABLE", ""), [])


@dlt.source
def posit_connect_source(api_key=dlt.secrets.value):
    config: RESTAPIConfig = {
        "client": {
            "base_url": BASE_URL,
            "auth": {
                "type": "api_key",
                "api_key": f"Key {api_key}",
            },
        },
        "resources": [
            {"name": "oauth_integrations", "endpoint": {"path": "v1/oauth/integrations"}},
            {"name": "content", "endpoint": {"path": "v1/content"}},
            *EXTRA,
        ],
    }
    yield from rest_api_resources(config)


def run(tables: list[str]) -> dict[str, Any]:
    """Load `tables` (the page's `get_data()`, with the source narrowed to them)."""
    import time

    pipeline = dlt.pipeline(
        pipeline_name="posit_connect_pipeline",
        destination="duckdb",
        dataset_name="posit_connect_data",
    )
    started = time.perf_counter()
    load_info = pipeline.run(posit_connect_source().with_resources(*tables))
    seconds = time.perf_counter() - started
    load_info.raise_on_failed_jobs()
    with pipeline.sql_client() as client:
        rows = {t: client.execute_sql(f"SELECT count(*) FROM {t}")[0][0] for t in tables}
    return {"seconds": seconds, "rows": rows}
