"""The `floor` contender: the fastest plain loader one can reasonably write.

requests, response bodies written to files as they arrive, then one
`CREATE TABLE ... AS SELECT * FROM read_json(...)` per table in DuckDB. Per-item requests run
on 16 threads (one session each). No history, no incremental state, no type hints: a lower
bound for what loading the same responses into DuckDB costs, not a product.
It requests exactly what `ours` requests (`include=owner,tags`, `limit=500`), and as many at
a time: several per-item tables are fetched one after another, as `ours` fetches them (each
holds its rows until it has ARROW_BATCH_ROWS of them, so dlt's turn-taking between resources
reaches the next table only when one is done), so at most 16 requests are in flight.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import requests

THREADS = 16
API = "/__api__/v1"
# Tables requested once per content item, with their paths in `assets/posit_connect/settings.py`
# (not imported: it would load dlt into the floor's process and its peak RSS).
PER_ITEM_PATHS = {
    "content_item": "/content/{guid}",
    "content_permissions": "/content/{guid}/permissions",
    "bundles": "/content/{guid}/bundles",
}
# Per-item routes paged as `ours` pages them: `page_number` until an empty page (the API gives
# no total), so both make the same requests.
PAGED_UNTIL_EMPTY = {"bundles": 500}


class Floor:
    def __init__(self, url: str, api_key: str, workdir: Path):
        self.url = url + API
        self.headers = {"Authorization": f"Key {api_key}"}
        self.workdir = workdir
        self.session = requests.Session()
        self._local = threading.local()

    def get(self, path: str, **params: Any) -> requests.Response:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        response = session.get(self.url + path, params=params, headers=self.headers)
        response.raise_for_status()
        return response

    def content(self) -> Path:
        path = self.workdir / "content.json"
        path.write_bytes(self.get("/content", include="owner,tags").content)
        return path

    @cached_property
    def guids(self) -> list[str]:
        return [item["guid"] for item in self.get("/content", include="owner,tags").json()]

    def per_item(self, table: str) -> Path:
        """One request per content item, THREADS at a time, each body one line of a file."""
        path = self.workdir / f"{table}.jsonl"
        template = PER_ITEM_PATHS[table]
        page_size = PAGED_UNTIL_EMPTY.get(table)

        def get(guid: str) -> list[bytes]:
            if page_size is None:
                return [self.get(template.format(guid=guid)).content]
            bodies = []
            for page in itertools.count(1):
                body = self.get(template.format(guid=guid), page_number=page, page_size=page_size)
                if not body.json():
                    return bodies
                bodies.append(body.content)

        with path.open("wb") as out, ThreadPoolExecutor(THREADS) as pool:
            for bodies in pool.map(get, self.guids):
                out.writelines(body.strip() + b"\n" for body in bodies)
        return path

    def fetch(self, table: str) -> Path:
        return self.per_item(table) if table in PER_ITEM_PATHS else getattr(self, table)()

    def content_visits(self) -> Path:
        pages = self.workdir / "content_visits"
        pages.mkdir()
        url: str | None = self.url + "/instrumentation/content/visits?limit=500&asc_order=true"
        number = 0
        while url:
            response = self.session.get(url, headers=self.headers)
            response.raise_for_status()
            (pages / f"{number:06d}.json").write_bytes(response.content)
            url = json.loads(response.content)["paging"]["next"]
            number += 1
        return pages


# Each table's rows, as DuckDB's C++ JSON reader makes them from the files written above.
OBJECT_LINES = "SELECT * FROM read_json('{path}', format = 'newline_delimited')"
ARRAY_LINES = (
    "SELECT unnest(json, max_depth := 2) "
    "FROM read_json('{path}', format = 'newline_delimited', records = false)"
)
ROWS_SQL = {
    "content": "SELECT * FROM read_json('{path}')",
    "content_visits": "SELECT unnest(results, max_depth := 2) FROM read_json('{path}/*.json')",
    **{t: ARRAY_LINES for t in PER_ITEM_PATHS},
    "content_item": OBJECT_LINES,  # one object per item, the others a list per item
}


def run(url: str, api_key: str, workdir: Path, tables: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    floor = Floor(url, api_key, workdir)
    rows = {}
    with duckdb.connect(str(workdir / "floor.duckdb")) as con:
        for table in tables:
            path = floor.fetch(table)
            con.execute(f"CREATE TABLE {table} AS {ROWS_SQL[table].format(path=path)}")
            rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "rows": rows}
