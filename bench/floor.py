"""The `floor` contender: the fastest plain loader one can reasonably write.

requests, response bodies written to files as they arrive, then one
`CREATE TABLE ... AS SELECT * FROM read_json(...)` per table in DuckDB. Per-item requests run
on 16 threads (one session each). No history, no incremental state, no type hints: a lower
bound for what loading the same responses into DuckDB costs, not a product.
It requests exactly what `ours` requests (`include=owner,tags`, `limit=500`).
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import requests

THREADS = 16
API = "/__api__/v1"


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

    def content_item(self) -> Path:
        guids = [item["guid"] for item in self.get("/content", include="owner,tags").json()]
        path = self.workdir / "content_item.jsonl"
        with path.open("wb") as out, ThreadPoolExecutor(THREADS) as pool:
            for body in pool.map(lambda guid: self.get(f"/content/{guid}").content, guids):
                out.write(body.strip() + b"\n")
        return path

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
ROWS_SQL = {
    "content": "SELECT * FROM read_json('{path}')",
    "content_item": "SELECT * FROM read_json('{path}', format = 'newline_delimited')",
    "content_visits": "SELECT unnest(results, max_depth := 2) FROM read_json('{path}/*.json')",
}


def run(url: str, api_key: str, workdir: Path, tables: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    floor = Floor(url, api_key, workdir)
    rows = {}
    with duckdb.connect(str(workdir / "floor.duckdb")) as con:
        for table in tables:
            path = getattr(floor, table)()
            con.execute(f"CREATE TABLE {table} AS {ROWS_SQL[table].format(path=path)}")
            rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "rows": rows}
