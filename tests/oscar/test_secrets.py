"""Every secret the OSCAR API hands out (service tokens, storage credentials, remote cluster
accounts, replica and federation member headers, secret environment values, MinIO keys) and
every credential of the pipeline (password, refresh and access tokens) is used or dropped,
never stored: not in the DuckDB file, dlt's state and working dir, nor Dagster's logs and event
log. What is not a credential stays: the names of secrets and headers, and user-chosen keys
that are merely called `token`, `headers`, `login` or `refresh_token`."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from assets.oscar.redact import redact
from assets.registry import OSCAR
from simulators.oscar import OscarSimulator
from tests.conftest import duckdb_file, query
from tests.helpers import files_containing, materialize_api
from tests.oscar.support import get, members, use_refresh

# Columns a credential would have become had it been kept.
CREDENTIAL_COLUMNS = {"token", "minio_provider__access_key", "minio_provider__secret_key"}
# Keys users chose (see simulators.oscar.data._keys_named_like_credentials), still stored.
USER_KEYS = {("label", "token"), ("annotation", "headers"), ("variable", "login")}


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
    assert CREDENTIAL_COLUMNS & column_names() == set()
    # what is not a credential stays: user keys named like one, the names of secrets and of
    # the headers replicas and federation members send
    attributes = set(query(OSCAR, "SELECT kind, name FROM attributes"))
    assert USER_KEYS | {("secret", "refresh_token")} <= attributes
    header_names = {
        n for s in oscar_sim.services_snapshot() for m in members(s) for n in m["headers"]
    }
    assert header_names and all(f'"{name}"' in dump for name in header_names)


@pytest.mark.parametrize("api", ["v3", "v4"])
def test_redaction_removes_every_credential_value_and_keeps_every_name(api):
    with OscarSimulator(services=6, jobs_per_service=0, api=api) as sim:
        services, secrets = sim.services_snapshot(), sim.secrets()
        config = redact(get(sim, "/system/config"))
    for service in services:
        clean = redact(service)
        text = str(clean)
        assert [s[:6] for s in secrets if s in text] == []
        assert "token" not in clean and clean["name"] == service["name"]
        assert clean["environment"]["secrets"] == dict.fromkeys(service["environment"]["secrets"])
        assert clean["labels"] == service["labels"]  # a label named token is the user's
        assert clean["annotations"] == service["annotations"]
        assert clean["environment"]["variables"] == service["environment"]["variables"]
        assert [list(m["headers"]) for m in members(clean)] == [
            list(m["headers"]) for m in members(service)
        ]
        for kind, by_id in clean["storage_providers"].items():
            assert by_id.keys() == service["storage_providers"][kind].keys()
    assert service["token"]  # the input is left as it was
    assert {"access_key", "secret_key"} & config["minio_provider"].keys() == set()
    assert config["minio_provider"]["endpoint"]
