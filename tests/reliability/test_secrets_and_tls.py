"""Case 9: secrets and TLS.

Every test of this suite ends with a scan of all it wrote (DuckDB files, the dlt pipelines
dir with state and traces, DAGSTER_HOME with event and compute logs, subprocess output) for
every secret its simulators handed out (conftest.no_secret_anywhere). The tests here add the
runs that handle the most credentials at once and the TLS settings: verification is on by
default, and `ca_bundle` trusts a private CA.
"""

from __future__ import annotations

import json

import pytest
from dagster import DagsterEventType, DagsterInstance, build_sensor_context, serialize_value

from assets.registry import OSCAR, POSIT_CONNECT
from orchestration.definitions import build_definitions
from tests.helpers import files_containing
from tests.oscar.support import assert_tables_match, use_refresh
from tests.reliability.support import (
    assert_posit_exact,
    failure_message,
    headline,
    run,
    run_apis,
)
from tests.reliability.tls import make_private_ca


@pytest.fixture
def private_ca(tmp_path):
    return make_private_ca(tmp_path / "tls")


def https_posit(simulators, monkeypatch, private_ca):
    from simulators.posit_connect import PositConnectSimulator

    sim = PositConnectSimulator(content=30, users=15, visits=200, audit_logs=60)
    sim.ssl_context = private_ca.server_context
    sim.start()
    simulators.append(sim)
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", sim.url)
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", sim.api_key)
    return sim


def test_tls_is_verified_by_default_and_ca_bundle_trusts_a_private_ca(
    simulators, instance, monkeypatch, private_ca
):
    sim = https_posit(simulators, monkeypatch, private_ca)
    try:
        assert sim.url.startswith("https://")

        refused = run(POSIT_CONNECT, instance=instance)

        assert not refused.success
        message = headline(refused)
        assert "TLS verification failed" in message and "certificate verify failed" in message
        assert "ca_bundle" in message and sim.url in message
        assert sim.request_times == []  # the handshake failed: no request, no key sent

        monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__CA_BUNDLE", str(private_ca.ca_bundle))
        trusted = run(POSIT_CONNECT, instance=instance)

        assert trusted.success, failure_message(trusted)
        assert_posit_exact(sim)  # keyset paging follows the server's https links too
    finally:
        sim.stop()


def test_ca_bundle_wins_over_requests_ca_bundle_behind_a_proxy(
    simulators, instance, monkeypatch, private_ca
):
    """Behind a proxy requests reads the environment on every request, and its
    REQUESTS_CA_BUNDLE (a corporate bundle, here the public CAs) would replace the source's
    ca_bundle setting: the setting wins."""
    import certifi

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # bypassed for local servers
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__CA_BUNDLE", str(private_ca.ca_bundle))
    sim = https_posit(simulators, monkeypatch, private_ca)
    try:
        result = run(POSIT_CONNECT, ["content", "users", "audit_logs"], instance)

        assert result.success, failure_message(result)
        assert_posit_exact(sim, ["content", "users", "audit_logs"])
    finally:
        sim.stop()


def test_oscar_over_tls_with_a_ca_bundle(simulators, instance, monkeypatch, private_ca):
    from simulators.oscar import OscarSimulator

    sim = OscarSimulator(services=5, jobs_per_service=8, jobs_page_size=5)
    sim.ssl_context = private_ca.server_context
    with sim:
        simulators.append(sim)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__BASE_URL", sim.url)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__USERNAME", sim.username)
        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", sim.password)
        refused = run(OSCAR, ["services"], instance)
        assert not refused.success and "ca_bundle" in headline(refused)

        monkeypatch.setenv("SOURCES__OSCAR_SOURCE__CA_BUNDLE", str(private_ca.ca_bundle))
        result = run(OSCAR, instance=instance)

        assert result.success, failure_message(result)
        # the expectations are read from the simulator over TLS as well
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(private_ca.ca_bundle))
        assert_tables_match(sim)


def test_no_secret_lands_anywhere_after_exchanges_refreshes_and_failures(
    posit, oscar, instance, monkeypatch, isolated_env
):
    """Posit's session token exchanged for a visitor key and OSCAR's refresh token renewed
    at its token endpoint, in one run of both APIs; then runs that fail on a wrong key and a
    revoked token. Every value: API keys, session and issued tokens, refresh and bearer
    tokens, Basic passwords, service tokens, storage credentials."""
    monkeypatch.delenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY")
    monkeypatch.setenv("CONNECT_CONTENT_SESSION_TOKEN", posit.content_session_token)
    use_refresh(monkeypatch, oscar)

    both = run_apis([POSIT_CONNECT, OSCAR], instance)

    loaded = {e.asset_key.path[0] for e in both.get_asset_materialization_events()}
    assert loaded == {"posit_connect", "oscar"}  # the publisher's key fails admin tables only
    assert posit.issued_tokens and len(oscar.secrets()) > 20
    wrong = "wrong-key-that-must-not-be-logged-42"
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", wrong)
    monkeypatch.setenv("SOURCES__OSCAR_SOURCE__REFRESH_TOKEN", "revoked-refresh-token-43")
    failed = run_apis([POSIT_CONNECT, OSCAR], instance)

    assert not failed.success
    configured = [wrong, "revoked-refresh-token-43"]
    assert files_containing(isolated_env, configured) == []
    # ... and the simulators' own secrets are scanned for by the suite's fixture


def what_the_ui_shows(instance: DagsterInstance) -> dict[str, str]:
    """The places of the UI a secret could surface in, as text: each run's config and tags,
    and the metadata of every materialisation and check evaluation (the asset pages)."""
    shown = {}
    for dagster_run in instance.get_runs():
        run_id = dagster_run.run_id
        shown[f"run {run_id[:8]} config"] = json.dumps(dagster_run.run_config)
        shown[f"run {run_id[:8]} tags"] = json.dumps(dagster_run.tags)
        for event_type in (
            DagsterEventType.ASSET_MATERIALIZATION,
            DagsterEventType.ASSET_CHECK_EVALUATION,
        ):
            for record in instance.get_records_for_run(run_id, of_type=event_type).records:
                data = record.event_log_entry.dagster_event.event_specific_data
                place = f"run {run_id[:8]} {event_type.value} #{record.storage_id}"
                shown[place] = serialize_value(data)
    return shown


def test_nothing_the_ui_shows_holds_a_secret(posit, oscar, instance, monkeypatch, webhook):
    """Sensor cursors and skip reasons, the run a change sensor requests (its tags), a
    backfill (its run config), every table's metadata and check results, and the failure
    sensor's webhook message for runs that failed on a wrong key."""
    url, received = webhook
    monkeypatch.setenv("FAILURE_WEBHOOK_URL", url)
    defs = build_definitions()
    repository = defs.get_repository_def()
    refresh_all = defs.resolve_job_def("refresh_all")
    failure_sensor = repository.get_sensor_def("refresh_failure_sensor")
    failure_cursor = failure_sensor.evaluate_tick(
        build_sensor_context(instance=instance, definitions=defs)
    ).cursor
    ticks = {}
    for name, sim, change in (
        ("posit_connect_change_sensor", posit, "add_content"),
        ("oscar_change_sensor", oscar, "add_service"),
    ):
        sensor = repository.get_sensor_def(name)
        first = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        sim.mutate(change, {"n": 1})
        changed = sensor.evaluate_tick(
            build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs)
        )
        ticks |= {f"{name} first tick": first.skip_message, f"{name} first cursor": first.cursor}
        ticks[f"{name} cursor after the change"] = changed.cursor
        (request,) = changed.run_requests
        requested = refresh_all.execute_in_process(
            instance=instance, tags=request.tags, asset_selection=request.asset_selection
        )
        assert requested.success
    window = {"start_date": "2020-01-01", "end_date": "2099-12-31"}
    backfill = refresh_all.execute_in_process(  # only Posit Connect has event tables
        instance=instance,
        run_config={"ops": {"posit_connect_tables": {"config": window}}},
        asset_selection=[
            k
            for k in repository.asset_graph.get_all_asset_keys()
            if k.path[0] == POSIT_CONNECT.name
        ],
    )
    assert backfill.success and backfill.get_asset_check_evaluations()

    wrong = "wrong-key-that-must-not-be-shown-44"
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", wrong)
    monkeypatch.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", wrong)
    defs = build_definitions()
    for name in ("posit_connect_change_sensor", "oscar_change_sensor"):
        refused = (
            defs.get_repository_def()
            .get_sensor_def(name)
            .evaluate_tick(
                build_sensor_context(
                    instance=instance, cursor=ticks[f"{name} first cursor"], definitions=defs
                )
            )
        )
        assert "SOURCES__" in refused.skip_message  # names the setting to change
        ticks[f"{name} tick with a wrong key"] = refused.skip_message
    assert (
        not defs.resolve_job_def("refresh_all")
        .execute_in_process(instance=instance, raise_on_error=False)
        .success
    )
    failure_sensor.evaluate_tick(
        build_sensor_context(instance=instance, cursor=failure_cursor, definitions=defs)
    )
    (message,) = [body["text"] for body in received]
    assert "Assets not refreshed:" in message and "rejected the API key" in message

    shown = {**what_the_ui_shows(instance), **ticks, "failure webhook message": message}
    kinds = {place.split()[2] for place in shown if place.startswith("run ")}
    assert {"config", "tags", "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"} <= kinds
    assert any("changed on" in text for place, text in shown.items() if place.endswith("tags"))
    secrets = [*posit.secrets(), *oscar.secrets(), wrong, url]
    found = [(place, s[:6]) for place, text in shown.items() for s in secrets if s in text]
    assert found == []
