"""The configuration names users already know, and clear errors for bad ones."""

from __future__ import annotations

import pytest

from assets._http import validate_base_url
from assets.errors import ConfigurationError
from assets.posit_connect import api_base_url
from assets.registry import POSIT_CONNECT
from tests.conftest import current_count
from tests.helpers import materialize_api


def test_posit_conventions_connect_server_and_api_key_work(posit_sim, monkeypatch):
    monkeypatch.delenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL")
    monkeypatch.delenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY")
    monkeypatch.setenv("CONNECT_SERVER", posit_sim.url)
    monkeypatch.setenv("CONNECT_API_KEY", posit_sim.api_key)

    assert materialize_api(POSIT_CONNECT, ["content"]).success
    assert current_count(POSIT_CONNECT, "content") == posit_sim.expected_counts()["content"]


def test_server_url_with_api_suffix_and_trailing_slash_works(posit_sim, monkeypatch):
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", posit_sim.url + "/__api__/")

    assert materialize_api(POSIT_CONNECT, ["tags"]).success


@pytest.mark.parametrize(
    "given",
    ["https://connect.example.com", "https://connect.example.com/__api__", "https://c.io/__api__/"],
)
def test_api_base_url_is_normalised(given):
    assert api_base_url(given).endswith("/__api__")
    assert "__api__/__api__" not in api_base_url(given)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("connect.example.com", "scheme"),
        ("", "No server URL"),
        ("http://connect.example.com", "plain http"),
    ],
)
def test_bad_urls_name_the_setting_to_fix(url, says):
    with pytest.raises(ConfigurationError) as error:
        validate_base_url(url, "SOURCES__X__BASE_URL", allow_insecure_http=False)
    assert says in str(error.value)
    assert "SOURCES__X__BASE_URL" in str(error.value)


def test_plain_http_is_allowed_to_loopback_or_when_explicitly_allowed():
    assert validate_base_url("http://127.0.0.1:1234/", "S", False) == "http://127.0.0.1:1234"
    assert validate_base_url("http://intranet:80", "S", True) == "http://intranet:80"


def test_a_url_without_scheme_fails_the_run_with_the_setting_name(posit_sim, monkeypatch):
    monkeypatch.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", "connect.example.com")

    result = materialize_api(POSIT_CONNECT, ["content"])

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "SOURCES__POSIT_CONNECT_SOURCE__BASE_URL" in failure.step_failure_data.error.to_string()
