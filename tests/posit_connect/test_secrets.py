"""The API key and every exchanged token are used, never stored: not in the DuckDB file, the
dlt pipeline's working files and state, nor Dagster's event log."""

from __future__ import annotations

import os
from pathlib import Path

from assets.registry import POSIT_CONNECT
from tests.conftest import duckdb_file, query
from tests.helpers import files_containing, materialize_api, materialized_tables


def test_credential_exchange_loads_and_records_metadata_only(
    posit_sim, monkeypatch, persistent_instance, isolated_env
):
    monkeypatch.delenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY")
    monkeypatch.setenv("CONNECT_CONTENT_SESSION_TOKEN", posit_sim.content_session_token)

    result = materialize_api(POSIT_CONNECT, instance=persistent_instance)

    # the exchanged visitor key acts as the content's owner (a publisher): admin tables fail
    assert {"content", "content_item", "oauth_credentials"} <= materialized_tables(result)
    assert "audit_logs" not in materialized_tables(result)
    assert len(posit_sim.issued_tokens) == 1
    rows = query(
        POSIT_CONNECT,
        "SELECT issued_token_type, requested_token_type, expires_in, expires_at > exchanged_at "
        "FROM oauth_credentials",
    )
    assert rows == [("urn:posit:connect:api-key", "urn:posit:connect:api-key", 3600, True)]
    columns = {
        c for (c,) in query(POSIT_CONNECT, "SELECT column_name FROM information_schema.columns")
    }
    assert "access_token" not in columns

    secrets = posit_sim.secrets()
    assert posit_sim.issued_tokens[0] in secrets
    assert files_containing(duckdb_file(POSIT_CONNECT).parent, secrets) == []
    assert files_containing(Path(os.environ["DLT_DATA_DIR"]), secrets) == []
    assert files_containing(isolated_env / "dagster_home", secrets) == []


def test_no_api_key_anywhere_is_one_clear_error(posit_sim, monkeypatch):
    monkeypatch.delenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY")

    result = materialize_api(POSIT_CONNECT)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error.to_string())
    assert "SOURCES__POSIT_CONNECT_SOURCE__API_KEY" in message
    assert "CONNECT_API_KEY" in message
    assert posit_sim.stats()["requests"].get("total", 0) == 0


def test_no_api_key_hit_token_or_variable_value_lands_anywhere(
    posit_sim, persistent_instance, isolated_env
):
    """One load of every table, and each file it writes searched for the API key and every
    other secret the server hands out. Shared links carry access tokens in their query
    strings, and content hits record the query string: only the parameters' names are kept.
    Of content's environment variables only the names are loaded, never the values."""
    tokens = posit_sim.hit_tokens()
    assert tokens and set(tokens) <= set(posit_sim.secrets())
    values = posit_sim.environment_values()
    assert values and set(values) <= set(posit_sim.secrets())

    result = materialize_api(POSIT_CONNECT, instance=persistent_instance)

    assert result.success
    assert list((isolated_env / "dagster_home").rglob("*.db"))  # the event log was written
    for root in (duckdb_file(POSIT_CONNECT).parent, Path(os.environ["DLT_DATA_DIR"])):
        assert files_containing(root, posit_sim.secrets()) == []
    assert files_containing(isolated_env / "dagster_home", posit_sim.secrets()) == []

    assert "content_hits" in materialized_tables(result)
    (named,) = query(
        POSIT_CONNECT, "SELECT count(*) FROM content_hits WHERE query_parameters LIKE '%token%'"
    )[0]
    assert named > 0  # the parameter's name is kept, its value is not
    for root in (duckdb_file(POSIT_CONNECT).parent, Path(os.environ["DLT_DATA_DIR"])):
        assert files_containing(root, tokens) == []
    assert files_containing(isolated_env / "dagster_home", tokens) == []

    names = {n for (n,) in query(POSIT_CONNECT, "SELECT name FROM environment_variables")}
    assert names  # the names are loaded: the scan below looks where the values would be
    for root in (duckdb_file(POSIT_CONNECT).parent, Path(os.environ["DLT_DATA_DIR"])):
        assert files_containing(root, values) == []
    assert files_containing(isolated_env / "dagster_home", values) == []
