"""Every secret the OSCAR API hands out (service tokens, storage credentials, remote cluster
accounts, replica headers, secret environment values, MinIO keys) and every credential of the
pipeline (password, refresh and access tokens) is used or dropped, never stored: not in the
DuckDB file, the dlt pipeline's files and state, nor Dagster's event log."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from assets.oscar.redact import CREDENTIAL_KEYS, redact
from assets.registry import OSCAR
from tests.conftest import duckdb_file
from tests.helpers import files_containing, materialize_api
from tests.oscar.support import use_refresh


def database_dump() -> str:
    """Every table of every schema as text, with dlt's compressed pipeline state opened."""
    from dlt.pipeline.state_sync import decompress_state

    parts = []
    with duckdb.connect(str(duckdb_file(OSCAR)), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
        for schema, table in tables:
            parts += map(str, con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall())
            if table == "_dlt_pipeline_state":
                states = con.execute(f'SELECT state FROM "{schema}"."{table}"').fetchall()
                parts += [str(decompress_state(state)) for (state,) in states]
    return "\n".join(parts)


def column_names() -> set[str]:
    with duckdb.connect(str(duckdb_file(OSCAR)), read_only=True) as con:
        rows = con.execute("SELECT column_name FROM information_schema.columns").fetchall()
    return {name for (name,) in rows}


def test_no_secret_lands_anywhere_after_basic_and_refresh_token_runs(
    oscar_sim, monkeypatch, persistent_instance, isolated_env
):
    assert materialize_api(OSCAR, instance=persistent_instance).success
    oscar_sim.mutate("remove_service", {"n": 2})  # their secrets were handed out: still scanned
    oscar_sim.mutate("add_service", {"n": 2, "jobs": 3})
    oscar_sim.mutate("expire_bearer_tokens", {})
    use_refresh(monkeypatch, oscar_sim)
    assert materialize_api(OSCAR, instance=persistent_instance).success

    secrets = oscar_sim.secrets()
    assert len(secrets) > 50 and oscar_sim.refresh_token in secrets
    assert list((isolated_env / "dagster_home").rglob("*.db"))  # the event log was written
    dump = database_dump()
    assert "cowsay" in dump  # the dump really holds the data
    assert [s[:6] for s in secrets if s in dump] == []
    for root in (duckdb_file(OSCAR).parent, Path(os.environ["DLT_DATA_DIR"])):
        assert files_containing(root, secrets) == []
    assert files_containing(isolated_env / "dagster_home", secrets) == []
    credential_columns = {
        name for name in column_names() if name.rsplit("__", 1)[-1] in CREDENTIAL_KEYS
    }
    assert credential_columns == set()


def test_redaction_drops_every_secret_of_a_service_and_keeps_secret_names(oscar_sim):
    for service in oscar_sim.services_snapshot():
        clean = redact(service)
        text = str(clean)
        assert [s[:6] for s in oscar_sim.secrets() if s in text] == []
        assert clean["environment"]["secrets"] == dict.fromkeys(service["environment"]["secrets"])
        assert clean["name"] == service["name"] and "token" not in clean
    assert service["token"]  # the input is left as it was
