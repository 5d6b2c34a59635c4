"""A throwaway PostgreSQL server for the tests: `initdb` in a temp dir, `pg_ctl -w start` on
127.0.0.1 and a free port, one role with a password, stopped and deleted at the end.

The binaries are looked up on PATH, then in Debian's /usr/lib/postgresql/<version>/bin
(`.ci/run` installs Debian's `postgresql` package when neither has them). PostgreSQL refuses to
run as root: as root, the server runs as the `postgres` system user (created by Debian's
package), else as `nobody`.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from psycopg2 import sql

DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVICE_USERS = ("postgres", "nobody")
ROLE = "loader"
START_TIMEOUT_SECONDS = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine."""


def find_bin_dir() -> Path:
    """The directory with `initdb`, `pg_ctl` and `postgres`: PATH first, then Debian's
    versioned dirs, newest version first."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    debian = sorted(
        Path("/").glob(DEBIAN_BIN_GLOB.lstrip("/")),
        key=lambda p: _version_key(p.parent.name),
        reverse=True,
    )
    for directory in [*candidates, *debian]:
        if all((directory / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); "
        "`.ci/run` installs Debian's postgresql package, or: apt-get install postgresql"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit()) or (0,)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_user() -> pwd.struct_passwd | None:
    """Who runs the server: None (this process's user) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable(
        f"running as root, and none of the users {SERVICE_USERS} exists to run PostgreSQL as"
    )


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    admin_user: str
    admin_password: str
    # `pg_ctl <action> <args>` on this server's data dir, as its user (for fault tests)
    pg_ctl: Callable[..., object] | None = field(default=None, compare=False, repr=False)

    def restart(self) -> None:
        """Stop fast (open connections are terminated), then start again on the same port."""
        self.pg_ctl("stop", "-m", "fast", "-w")
        self.start()

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every server process quits at once, as if killed; the
        next start recovers from the write-ahead log."""
        self.pg_ctl("stop", "-m", "immediate", "-w")

    def start(self) -> None:
        self.pg_ctl("start", "-w", "-t", str(START_TIMEOUT_SECONDS))

    def dsn(self, database: str, *, admin: bool = False) -> str:
        user, password = (
            (self.admin_user, self.admin_password) if admin else (self.user, self.password)
        )
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database owned by the test role; returns its DSN."""
        with self.admin_connection() as con, con.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(self.user)
                )
            )
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        with self.admin_connection() as con, con.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    @contextmanager
    def admin_connection(self) -> Iterator:
        con = psycopg2.connect(self.dsn("postgres", admin=True))
        con.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        try:
            yield con
        finally:
            con.close()


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a server; stop it and delete its files on exit."""
    bin_dir = find_bin_dir()
    runner = service_user()
    root = Path(tempfile.mkdtemp(prefix="pytest-postgres-", dir=_temp_base(runner)))
    data = root / "data"
    admin_password = secrets.token_urlsafe(16)
    password = secrets.token_urlsafe(16)
    pwfile = root / "pwfile"
    pwfile.write_text(admin_password + "\n")
    if runner is not None:  # the server's user must own its files and reach them
        os.chown(root, runner.pw_uid, runner.pw_gid)
        os.chown(pwfile, runner.pw_uid, runner.pw_gid)

    def run(*command: str | Path) -> subprocess.CompletedProcess:
        completed = subprocess.run(
            [str(part) for part in command],
            cwd=root,
            user=runner.pw_uid if runner else None,
            group=runner.pw_gid if runner else None,
            extra_groups=[] if runner else None,
            env={**os.environ, "LC_ALL": "C.UTF-8", "PGTZ": "UTC"},
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS,
        )
        if completed.returncode:
            raise RuntimeError(
                f"{' '.join(map(str, command))} failed ({completed.returncode}):\n"
                f"{completed.stdout}\n{completed.stderr}"
            )
        return completed

    # Throwaway data: durability settings off make schema changes and loads fast.
    options = (
        "-c listen_addresses=127.0.0.1 -c port={port} "
        f"-c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=50 -c timezone=UTC"
    )
    admin_user = "postgres_admin"
    started = False
    try:
        run(
            bin_dir / "initdb",
            "-D", data,
            "-U", admin_user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        )  # fmt: skip
        for _attempt in range(5):  # a free port can be taken between the probe and the start
            port = free_port()
            try:
                run(
                    bin_dir / "pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_SECONDS),
                    "-D", data, "-l", root / "server.log", "-o", options.format(port=port),
                )  # fmt: skip
                started = True
                break
            except RuntimeError:
                if "could not bind" not in _read(root / "server.log"):
                    raise
        if not started:
            raise RuntimeError(f"PostgreSQL did not start:\n{_read(root / 'server.log')}")
        server_options = options.format(port=port)

        def pg_ctl(action: str, *args: str) -> None:
            started_here = ["-l", root / "server.log", "-o", server_options]
            extra = started_here if action == "start" else []
            run(bin_dir / "pg_ctl", action, "-D", data, *extra, *args)

        server = PostgresServer(
            "127.0.0.1", port, ROLE, password, admin_user, admin_password, pg_ctl
        )
        with server.admin_connection() as con, con.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(ROLE)),
                (password,),
            )
        yield server
    finally:
        try:
            # running, or a start that timed out (not a server a fault test left stopped)
            if (data / "postmaster.pid").exists():
                run(bin_dir / "pg_ctl", "stop", "-m", "fast", "-w", "-D", data)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _temp_base(runner: pwd.struct_passwd | None) -> str:
    """The temp dir, or /tmp when the server's user could not reach into it (a TMPDIR
    under root's home)."""
    base = Path(tempfile.gettempdir()).resolve()
    if runner is None:
        return str(base)
    reachable = all(p.stat().st_mode & 0o001 for p in [base, *base.parents])
    return str(base) if reachable else "/tmp"


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
