"""PostgreSQL going wrong, as users meet it: a setting missing or wrong, a role without the
privilege, the server restarted or killed in the middle of a load.

What no retry can fix fails the run at once (one attempt, with Dagster's retries on), its
first line naming the setting, the database or the privilege; a refused connection is
retried as before. A load cut by a restart or a crash converges on the next attempt or run
to exactly the server's rows. No password appears in any file the runs leave (event logs,
compute logs, dlt's pipeline dir).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from dagster import DagsterEventType
from dlt.destinations.job_client_impl import SqlJobClientBase
from dlt.load.load import Load
from psycopg2 import sql

from assets.registry import POSIT_CONNECT
from tests.conftest import CREDENTIAL_ENV_PREFIXES
from tests.helpers import files_containing, materialize_api
from tests.postgres_server import PostgresServer, free_port
from tests.reliability.support import POSIT_KEYS, headline

pytestmark = pytest.mark.postgres
SETTING = "DESTINATION__POSTGRES__CREDENTIALS"
_roles = itertools.count(1)
assert CREDENTIAL_ENV_PREFIXES  # the isolated_env fixture clears the developer's settings


@pytest.fixture
def retries_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFRESH_RETRIES", "2")
    monkeypatch.setenv("REFRESH_RETRY_DELAY_SECONDS", "0.1")


def step_attempts(result) -> int:
    return 1 + sum(1 for e in result.all_events if e.event_type == DagsterEventType.STEP_RESTARTED)


def with_parts(dsn: str, **parts: str | None) -> str:
    """`dsn` with its user, password, port or database replaced (None: left out)."""
    url = urlsplit(dsn)
    user = parts.get("user", url.username)
    password = parts.get("password", url.password)
    port = parts.get("port", url.port)
    database = parts.get("database", url.path.lstrip("/"))
    login = user + (f":{password}" if password else "")
    return urlunsplit((url.scheme, f"{login}@{url.hostname}:{port}", f"/{database}", "", ""))


def load_with(monkeypatch, dsn: str, instance):
    monkeypatch.setenv(SETTING, dsn)
    return materialize_api(POSIT_CONNECT, ["users"], instance=instance)


def assert_no_secret(root: Path, *secrets: str) -> None:
    assert files_containing(root, [s for s in secrets if s]) == []


def test_a_dsn_without_a_password_fails_once_naming_the_setting(
    posit_sim, load_into_postgres, retries_on, monkeypatch, persistent_instance, isolated_env
):
    result = load_with(
        monkeypatch, with_parts(load_into_postgres, password=None), persistent_instance
    )

    assert not result.success
    assert step_attempts(result) == 1
    message = headline(result)
    assert SETTING in message and "password" in message
    assert "ConfigFieldMissingException" not in message and "tried in order" not in message
    assert_no_secret(isolated_env, urlsplit(load_into_postgres).password, posit_sim.api_key)


def test_a_wrong_password_fails_once_naming_the_setting_not_the_password(
    posit_sim, load_into_postgres, retries_on, monkeypatch, persistent_instance, isolated_env
):
    wrong = "not-the-password-7f3a"
    result = load_with(
        monkeypatch, with_parts(load_into_postgres, password=wrong), persistent_instance
    )

    assert not result.success
    assert step_attempts(result) == 1
    message = headline(result)
    assert "refused the password" in message and '"loader"' in message and SETTING in message
    assert_no_secret(isolated_env, wrong, urlsplit(load_into_postgres).password)


def test_a_missing_database_fails_once_naming_it(
    posit_sim, load_into_postgres, retries_on, monkeypatch, persistent_instance
):
    result = load_with(
        monkeypatch, with_parts(load_into_postgres, database="no_such_db"), persistent_instance
    )

    assert not result.success
    assert step_attempts(result) == 1
    assert 'has no database "no_such_db"' in headline(result)
    assert SETTING in headline(result)


def test_a_role_without_create_fails_once_naming_the_privilege(
    posit_sim, postgres_server: PostgresServer, load_into_postgres, retries_on, monkeypatch,
    persistent_instance, isolated_env,
):  # fmt: skip
    database = urlsplit(load_into_postgres).path.lstrip("/")
    role, password = f"reader_{database}_{next(_roles)}", "reader-pw-91c2"
    with postgres_server.admin_connection() as con, con.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), (password,)
        )
        cur.execute(
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database))
        )
        cur.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )

    result = load_with(
        monkeypatch,
        with_parts(load_into_postgres, user=role, password=password),
        persistent_instance,
    )

    assert not result.success
    assert step_attempts(result) == 1
    assert f'GRANT CREATE ON DATABASE {database} TO "{role}"' in headline(result)
    assert POSIT_CONNECT.dataset_name in headline(result)
    assert_no_secret(isolated_env, password)


def test_a_refused_connection_is_retried(posit_sim, load_into_postgres, retries_on, monkeypatch):
    result = load_with(monkeypatch, with_parts(load_into_postgres, port=str(free_port())), None)

    assert not result.success
    assert step_attempts(result) == 3  # the first attempt and REFRESH_RETRIES=2
    assert "Connection refused" in "\n".join(
        e.step_failure_data.error.to_string() for e in result.all_events if e.is_step_failure
    )


# -- the server going away mid-load -----------------------------------------------------------
@pytest.fixture
def server_back_up(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """The session's server, started again if a test left it stopped."""
    yield postgres_server
    try:
        postgres_server.admin_connection().__enter__().close()
    except psycopg2.OperationalError:
        postgres_server.start()


def after_jobs(monkeypatch, jobs: int, action) -> list[int]:
    """Run `action` once, in the load step, as soon as `jobs` load jobs completed."""
    original = Load.complete_jobs
    done, fired = [0], []

    def complete_jobs(self, load_id, running, schema):
        result = original(self, load_id, running, schema)
        done[0] += len(result[1])
        if done[0] >= jobs and not fired:
            fired.append(done[0])
            action()
        return result

    monkeypatch.setattr(Load, "complete_jobs", complete_jobs)
    return fired


def before_load_completes(monkeypatch, action) -> list[int]:
    """Run `action` once with every table of the package loaded, before the load is recorded
    in `_dlt_loads` (with the state that moves the incremental cursors)."""
    original = SqlJobClientBase.complete_load
    fired = []

    def complete_load(self, load_id):
        if not fired:
            fired.append(1)
            action()
        return original(self, load_id)

    monkeypatch.setattr(SqlJobClientBase, "complete_load", complete_load)
    return fired


def keys_in_postgres(dsn: str, table: str) -> dict[tuple, int]:
    """{key: rows} of the current rows of a Posit Connect table, read with psycopg2."""
    endpoint = POSIT_CONNECT.catalog[table]
    columns = ", ".join(f'"{c}"::text' for c in POSIT_KEYS[table])
    with psycopg2.connect(dsn) as con, con.cursor() as cur:
        cur.execute(
            f'SELECT {columns}, count(*) FROM "{POSIT_CONNECT.dataset_name}"."{table}" '
            f"WHERE {endpoint.load.current_filter} GROUP BY {columns}"
        )
        found = {tuple(row[:-1]): row[-1] for row in cur.fetchall()}
    con.close()
    return found


def assert_exactly_the_servers_rows(sim, dsn: str) -> None:
    from tests.reliability.support import posit_expected_keys

    expected = posit_expected_keys(sim)
    for table in POSIT_KEYS:
        want = {tuple(str(v) for v in key): n for key, n in expected[table].items()}
        assert keys_in_postgres(dsn, table) == want, table


def postmaster_started(server: PostgresServer) -> object:
    with server.admin_connection() as con, con.cursor() as cur:
        cur.execute("SELECT pg_postmaster_start_time()")
        return cur.fetchone()[0]


def test_a_server_restarted_during_the_load_step_converges(
    posit_sim, server_back_up, load_into_postgres, retries_on, monkeypatch
):
    """dlt opens a connection per load job and retries a job cut by the restart, so the run
    itself loads everything (on a second attempt at worst)."""
    first_start = postmaster_started(server_back_up)
    restarted = after_jobs(monkeypatch, 3, server_back_up.restart)

    result = materialize_api(POSIT_CONNECT)

    assert restarted, "the load never reached three jobs"
    assert postmaster_started(server_back_up) != first_start
    assert result.success
    assert_exactly_the_servers_rows(posit_sim, load_into_postgres)


@pytest.mark.parametrize("when", ["mid-package", "before the load is recorded"])
def test_a_server_killed_mid_load_converges_on_the_next_run(
    posit_sim, server_back_up, load_into_postgres, monkeypatch, when
):
    assert materialize_api(POSIT_CONNECT).success
    posit_sim.mutate("add_visits", {"n": 30})
    posit_sim.mutate("add_audit_logs", {"n": 8})
    posit_sim.mutate("update_content", {"n": 2})
    with monkeypatch.context() as patch:
        if when == "mid-package":
            killed = after_jobs(patch, 3, server_back_up.crash)
        else:
            killed = before_load_completes(patch, server_back_up.crash)
        cut = materialize_api(POSIT_CONNECT)
    assert killed and not cut.success
    server_back_up.start()
    posit_sim.mutate("add_visits", {"n": 5})  # more events behind the cursor the cut run moved

    result = materialize_api(POSIT_CONNECT)

    assert result.success
    assert_exactly_the_servers_rows(posit_sim, load_into_postgres)
