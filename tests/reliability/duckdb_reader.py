"""A person reading a DuckDB file, as a notebook or the DuckDB CLI does: one read-only
connection, held open until stdin closes.

    python -m tests.reliability.duckdb_reader FILE

Prints "open" once connected; for each line "<sql>" on stdin, prints the first row of its
result, queried on the same connection.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[2]


class Reader:
    """The reader in its own process (the lock DuckDB takes is per process)."""

    def __init__(self, path: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.duckdb_reader", str(path)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        opened = self.process.stdout.readline().strip()
        assert opened == "open", opened + self.process.stdout.read()

    @property
    def pid(self) -> int:
        return self.process.pid

    def ask(self, sql: str) -> str:
        self.process.stdin.write(sql + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(30)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(path: str) -> None:
    with duckdb.connect(path, read_only=True) as con:
        print("open", flush=True)
        for line in sys.stdin:
            print(con.execute(line).fetchone(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
