"""Which server a destination was loaded from (`assets._catalog.ensure_same_server`), for
destinations loaded before servers had names: their state holds the URL alone. The named
cases go through real loads in tests/posit_connect/test_load.py."""

from __future__ import annotations

from types import SimpleNamespace

import dlt
import pytest

from assets._catalog import ensure_same_server
from assets._http import ServerSettings
from assets.errors import ConfigurationError

URL = "https://connect.example.com/__api__"


def api(url: str, name: str = "default") -> SimpleNamespace:
    server = ServerSettings(base_url=url, setting="base_url", name=name)
    return SimpleNamespace(server=server, base_url=url, api_name="Posit Connect")


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch) -> dict:
    stored: dict = {}
    monkeypatch.setattr(dlt.current, "source_state", lambda: stored)
    return stored


def test_the_first_load_records_the_servers_name_and_url(state):
    ensure_same_server(api(URL, "prod"))
    assert state["server"] == {"name": "prod", "url": URL}


def test_a_destination_that_recorded_the_same_url_adopts_the_name(state):
    state["server"] = URL
    ensure_same_server(api(URL))
    assert state["server"] == {"name": "default", "url": URL}


def test_a_destination_that_recorded_another_url_is_refused_as_before(state):
    state["server"] = "http://127.0.0.1:40213/__api__"
    with pytest.raises(ConfigurationError, match=r"loaded from a server at http://127\.0\.0\.1"):
        ensure_same_server(api(URL))
    assert state["server"]["name"] is None  # refused again on the next run
