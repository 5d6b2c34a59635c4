"""Sensor ticks as the daemon runs them, with their cursors, against the simulator."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from dagster import AssetKey, build_sensor_context, instance_for_test

from assets.registry import POSIT_CONNECT
from orchestration.definitions import build_definitions
from orchestration.sensors import CHANGE_TAG, failure_message
from tests.helpers import materialize_api

CHANGE_SENSOR = "posit_connect_change_sensor"
REFRESHED_ON_CONTENT_CHANGE = {
    AssetKey(["posit_connect", table])
    for table in ("content", "content_item", "content_permissions", "bundles")
}


@pytest.fixture
def instance():
    with instance_for_test() as instance:
        yield instance


def tick(defs, instance, cursor: str | None, name: str = CHANGE_SENSOR):
    sensor = defs.get_repository_def().get_sensor_def(name)
    context = build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return sensor.evaluate_tick(context)


def test_first_tick_records_the_server_then_unchanged_ticks_skip(posit_sim, instance):
    defs = build_definitions()

    first = tick(defs, instance, cursor=None)
    assert not first.run_requests
    assert "40 rows of content recorded" in first.skip_message
    assert first.cursor is not None
    assert posit_sim.stats()["requests"]["GET /__api__/v1/content"] == 1

    second = tick(defs, instance, cursor=first.cursor)
    assert not second.run_requests
    since = json.loads(first.cursor)["since"]
    assert second.skip_message == (
        f"No content changed on Posit Connect since {since} (40 items): nothing to refresh."
    )
    assert second.cursor == first.cursor


@pytest.mark.parametrize(
    ("action", "rows_after"), [("add_content", 41), ("update_content", 40), ("delete_content", 39)]
)
def test_a_new_changed_or_deleted_item_requests_the_content_tables(
    posit_sim, instance, action, rows_after
):
    defs = build_definitions()
    cursor = tick(defs, instance, cursor=None).cursor

    posit_sim.mutate(action, {"n": 1})
    result = tick(defs, instance, cursor=cursor)

    (request,) = result.run_requests
    assert set(request.asset_selection) == REFRESHED_ON_CONTENT_CHANGE
    assert f"40 -> {rows_after} rows" in request.tags[CHANGE_TAG]
    assert result.cursor != cursor
    # the next tick sees nothing new
    assert not tick(defs, instance, cursor=result.cursor).run_requests


def test_usage_alone_does_not_trigger_the_content_sensor(posit_sim, instance):
    defs = build_definitions()
    cursor = tick(defs, instance, cursor=None).cursor

    posit_sim.mutate("add_visits", {"n": 10})

    assert not tick(defs, instance, cursor=cursor).run_requests


def test_an_unreachable_server_skips_with_the_reason_and_keeps_the_cursor(
    posit_sim, instance, monkeypatch
):
    defs = build_definitions()
    cursor = tick(defs, instance, cursor=None).cursor
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", "http://127.0.0.1:9")

    result = tick(defs, instance, cursor=cursor)

    assert not result.run_requests
    assert "Could not ask Posit Connect" in result.skip_message
    assert "http://127.0.0.1:9" in result.skip_message
    assert result.cursor == cursor


def test_a_rejected_key_skips_naming_the_setting(posit_sim, instance, monkeypatch):
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", "not-a-key")

    result = tick(build_definitions(), instance, cursor=None)

    assert "rejected the API key" in result.skip_message
    assert "SOURCES__POSIT_CONNECT_SOURCE__API_KEY" in result.skip_message
    assert "not-a-key" not in result.skip_message


OSCAR_SENSOR = "oscar_change_sensor"
REFRESHED_ON_SERVICE_CHANGE = {
    AssetKey(["oscar", table]) for table in ("services", "users", "projects", "sites", "attributes")
}


@pytest.mark.parametrize(
    ("action", "rows_after"),
    [("add_service", 13), ("update_service", 12), ("remove_service", 11)],
)
def test_a_service_added_redefined_or_removed_requests_the_service_tables(
    oscar_sim, instance, action, rows_after
):
    defs = build_definitions()
    first = tick(defs, instance, cursor=None, name=OSCAR_SENSOR)
    assert "12 rows of services recorded" in first.skip_message
    unchanged = tick(defs, instance, cursor=first.cursor, name=OSCAR_SENSOR)
    assert "No services changed on OSCAR since" in unchanged.skip_message
    assert oscar_sim.stats()["requests"] == {"GET /system/services": 2, "total": 2}

    oscar_sim.mutate(action, {"n": 1})
    result = tick(defs, instance, cursor=first.cursor, name=OSCAR_SENSOR)

    (request,) = result.run_requests
    assert set(request.asset_selection) == REFRESHED_ON_SERVICE_CHANGE
    assert f"12 -> {rows_after} rows" in request.tags[CHANGE_TAG]
    assert not tick(defs, instance, cursor=result.cursor, name=OSCAR_SENSOR).run_requests


def test_new_jobs_alone_do_not_trigger_the_services_sensor(oscar_sim, instance):
    defs = build_definitions()
    cursor = tick(defs, instance, cursor=None, name=OSCAR_SENSOR).cursor

    oscar_sim.mutate("add_jobs", {"n": 10})
    oscar_sim.mutate("change_job_status", {"n": 3})

    assert not tick(defs, instance, cursor=cursor, name=OSCAR_SENSOR).run_requests


def test_rejected_oscar_credentials_skip_naming_the_setting(oscar_sim, instance, monkeypatch):
    monkeypatch.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", "wrong-password")

    result = tick(build_definitions(), instance, cursor=None, name=OSCAR_SENSOR)

    assert not result.run_requests
    assert "HTTP 401" in result.skip_message
    assert "SOURCES__OSCAR_SOURCE__PASSWORD" in result.skip_message
    assert "wrong-password" not in result.skip_message


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    status: ClassVar[int] = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Collector.received, _Collector.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/services/T000/B000/secret", _Collector.received
    server.shutdown()


def test_a_failed_refresh_is_reported_with_assets_error_and_link(
    posit_sim, instance, monkeypatch, webhook
):
    url, received = webhook
    monkeypatch.setenv("FAILURE_WEBHOOK_URL", url)
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "https://dagster.example.org/")
    defs = build_definitions()
    failure_sensor = defs.get_repository_def().get_sensor_def("refresh_failure_sensor")
    cursor = failure_sensor.evaluate_tick(
        build_sensor_context(instance=instance, definitions=defs)
    ).cursor  # the first tick starts after the newest failure
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", "not-a-key")

    failed = materialize_api(POSIT_CONNECT, ["users", "groups"], instance=instance)
    assert not failed.success
    failure_sensor.evaluate_tick(
        build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    )

    (message,) = [body["text"] for body in received]
    assert "Assets not refreshed: posit_connect/groups, posit_connect/users" in message
    assert "rejected the API key" in message
    assert f"https://dagster.example.org/runs/{failed.run_id}" in message


def test_a_webhook_that_refuses_fails_the_tick_without_revealing_its_url(
    posit_sim, instance, monkeypatch, webhook
):
    url, _ = webhook
    _Collector.status = 500
    monkeypatch.setenv("FAILURE_WEBHOOK_URL", url)
    defs = build_definitions()
    failure_sensor = defs.get_repository_def().get_sensor_def("refresh_failure_sensor")
    cursor = failure_sensor.evaluate_tick(
        build_sensor_context(instance=instance, definitions=defs)
    ).cursor
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", "not-a-key")
    assert not materialize_api(POSIT_CONNECT, ["tags"], instance=instance).success

    result = failure_sensor.evaluate_tick(
        build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    )

    (reaction,) = result.dagster_run_reactions
    error = reaction.error.to_string()
    assert "FAILURE_WEBHOOK_URL (host 127.0.0.1) answered HTTP 500" in error
    assert "secret" not in error


def test_a_run_that_failed_before_any_step_reports_the_run_error():
    class Run:
        run_id = "0123456789abcdef"
        job_name = "posit_connect_catalog_refresh"

    message = failure_message(Run(), [], [], "the run worker crashed", "http://127.0.0.1:3000")

    assert "Assets not refreshed: none (the run failed first)" in message
    assert "- the run worker crashed" in message
    assert "http://127.0.0.1:3000/runs/0123456789abcdef" in message
