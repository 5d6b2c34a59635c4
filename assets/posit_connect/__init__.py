"""dlt source for the Posit Connect Server API. Runs without any orchestrator:

import dlt
from assets.posit_connect import posit_connect_source

dlt.pipeline("posit_connect_pipeline", destination="duckdb",
             dataset_name="posit_connect_data").run(posit_connect_source())
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import dlt
from dlt import TSecretStrValue
from dlt.common.configuration import known_sections, with_config
from dlt.extract.resource import DltResource
from requests import Response

from assets._catalog import (
    Endpoint,
    EndpointFailures,
    EventWindow,
    build_resources,
    make_resource,
    parse_timestamp,
)
from assets._http import (
    DEFAULT_SERVER,
    RestApi,
    ServerSettings,
)
from assets.posit_connect.auth import (
    EXCHANGE_PATH,
    ConnectKeyAuth,
    exchange_failed,
    exchange_form,
    exchange_record,
)
from assets.posit_connect.settings import (
    API_PREFIX,
    CATALOG,
    DEFAULT_MAX_CONCURRENCY,
    ENDPOINTS,
    INCLUDE_SINCE,
    SECTION,
)

URL_SETTING = (
    "base_url under [sources.posit_connect_source] in .dlt/config.toml "
    "(or SOURCES__POSIT_CONNECT_SOURCE__BASE_URL, or CONNECT_SERVER)"
)
KEY_SETTING = "SOURCES__POSIT_CONNECT_SOURCE__API_KEY (or CONNECT_API_KEY)"


def version_tuple(version: str) -> tuple[int, ...]:
    """'2024.08.0' -> (2024, 8, 0); suffixes such as '-dev+12' are ignored."""
    return tuple(
        int("".join(ch for ch in part if ch.isdigit()) or 0)
        for part in version.split("-")[0].split(".")
    )


def api_base_url(server_url: str | None) -> str | None:
    """Users give the server with or without `/__api__`; requests always go below it."""
    if not server_url:
        return server_url
    server_url = server_url.strip().rstrip("/")
    return server_url if server_url.endswith(API_PREFIX) else server_url + API_PREFIX


def _error_text(response: Response) -> tuple[str, bool]:
    """The server's own error message, and whether it came as Connect's JSON error body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200], False
    if isinstance(body, dict) and "error" in body:
        return str(body["error"]), True
    return str(body)[:200], False


class ConnectApi(RestApi):
    api_name = "Posit Connect"

    def __init__(self, server: ServerSettings, api_key: str | None):
        super().__init__(server, CATALOG)
        self.api_key = api_key
        self.exchanges: list[dict[str, Any]] = []
        self._settings: dict[str, Any] | None = None

    def make_auth(self) -> ConnectKeyAuth:
        return ConnectKeyAuth(self.api_key, self._exchange_session_token)

    def _exchange_session_token(self, session_token: str) -> str:
        response = self.client.session.post(
            self.base_url + EXCHANGE_PATH, data=exchange_form(session_token)
        )
        if response.status_code != 200:
            raise exchange_failed(self.base_url, response.status_code, _error_text(response)[0])
        answer = response.json()
        self.exchanges.append(exchange_record(answer))
        return answer["access_token"]

    def server_settings(self) -> dict[str, Any]:
        """GET /__api__/server_settings, once per run (no key needed): the version decorates
        error messages, picks the `include` values the server knows, and is `server_info`'s."""
        if self._settings is None:
            try:
                body = self.client.session.get(self.base_url + "/server_settings").json()
                self._settings = body if isinstance(body, dict) else {}
            except Exception:  # a server that cannot say: every use has a fallback
                self._settings = {}
        return self._settings

    @property
    def version(self) -> str:
        return str(self.server_settings().get("version") or "unknown")

    def pages(
        self,
        endpoint: Endpoint,
        path: str | None = None,
        params: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Iterator[list[Any]]:
        """Without the `include` values this server's version predates (which it would refuse)."""
        include = {**endpoint.params, **(params or {})}.get("include")
        if include:
            _ = self.client.auth.key  # without a key, fail before asking the server anything
            known = [name for name in include.split(",") if self._knows_include(name)]
            params = {**(params or {}), "include": ",".join(known)}
        return super().pages(endpoint, path, params, **kw)

    def _knows_include(self, name: str) -> bool:
        since = INCLUDE_SINCE.get(name)
        if since is None or self.version == "unknown":  # a hidden version: a recent server
            return True
        return version_tuple(self.version) >= version_tuple(since)

    def history_start(self) -> datetime | None:
        """Nothing on the server predates its first user (the administrator created at
        installation) or its oldest content item: the start of a first load of hits."""
        created = [
            parse_timestamp(row.get("created_time"))
            for table in ("users", "content")
            for row in self.rows(table)
            if row.get("created_time")
        ]
        return min(created, default=None)

    credentials_name = "the API key"

    def error_detail(self, response: Response) -> tuple[str, bool]:
        # Connect answers a gone object with its JSON error body, an unknown route in text.
        return _error_text(response)

    def rejected(self, request: str, detail: str) -> str:
        return (
            f"Posit Connect at {self.base_url} rejected the API key (HTTP 401: {detail}). "
            f"Set a valid key in {KEY_SETTING}."
        )

    def forbidden_advice(self, endpoint: Endpoint) -> str:
        return (
            f"This table needs {endpoint.requires or 'a key with more privileges'}; set such a "
            f"key in {KEY_SETTING}, or leave the table out of the selection."
        )


# `server`: a named server's section below the API's ([sources.posit_connect_source.<server>]),
# whose settings win over the API's own.
@with_config(sections=(known_sections.SOURCES, SECTION), section_arg_name="server")
def connect_api(
    server: str | None = None,
    base_url: str | None = None,
    api_key: TSecretStrValue | None = None,
    request_timeout: float = 60.0,
    ca_bundle: str | None = None,
    allow_insecure_http: bool = False,
    server_name: str = DEFAULT_SERVER,
) -> ConnectApi:
    """The client for the configured server, with Posit's CONNECT_* variables as fallbacks
    (an explicit empty key is no key: a named server never takes CONNECT_API_KEY);
    called without arguments, it reads the settings the way the source does."""
    settings = ServerSettings(
        base_url=api_base_url(base_url or os.environ.get("CONNECT_SERVER")) or "",
        setting=URL_SETTING,
        ca_bundle=ca_bundle,
        allow_insecure_http=allow_insecure_http,
        timeout=request_timeout,
        name=server or server_name,
    )
    return ConnectApi(settings, os.environ.get("CONNECT_API_KEY") if api_key is None else api_key)


@dlt.source(section=SECTION, name="posit_connect")
def posit_connect_source(
    base_url: str | None = None,
    api_key: TSecretStrValue | None = None,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    start_date: str | None = None,
    end_date: str | None = None,
    request_timeout: float = 60.0,
    ca_bundle: str | None = None,
    allow_insecure_http: bool = False,
    server_name: str = DEFAULT_SERVER,
    failures: Any = None,
) -> list[DltResource]:
    """Posit Connect tables (see `settings.ENDPOINTS`).

    Args:
        base_url: the server, with or without /__api__ (falls back to CONNECT_SERVER).
        api_key: a Connect API key (falls back to CONNECT_API_KEY, then to credential
            exchange of CONNECT_CONTENT_SESSION_TOKEN).
        max_concurrency: parallel per-item requests for fan-out tables, and parallel time
            windows of a first load or backfill of event tables that take `from`/`to`.
        start_date: RFC3339 lower bound for the first load of event tables (default: all).
        end_date: with it, event tables load exactly [start_date, end_date] (a backfill) and
            the incremental cursor is left as it was.
        request_timeout: seconds per request; retries follow dlt's [runtime] settings.
        ca_bundle: path to a CA bundle for servers with a private CA (TLS is always verified).
        allow_insecure_http: allow http:// to a host other than this machine.
        server_name: the name the tables know the server by (its URL may change).
        failures: an `EndpointFailures` that collects tables the key may not read, so the
            other tables still load; without one, such a table fails the whole run.
    """
    api = connect_api(
        base_url=base_url,
        api_key=api_key,
        request_timeout=request_timeout,
        ca_bundle=ca_bundle,
        allow_insecure_http=allow_insecure_http,
        server_name=server_name,
    )
    window = EventWindow(start_date, end_date)
    resources = build_resources(
        api, ENDPOINTS, failures=failures, max_concurrency=max_concurrency, window=window
    )

    def oauth_credentials() -> Iterator[dict[str, Any]]:
        _ = api.client.auth.key  # resolves the key, exchanging the session token if needed
        yield from api.exchanges

    resources.append(make_resource(CATALOG["oauth_credentials"], oauth_credentials, failures))
    return resources


# The change sensor's question: "did any content item appear, redeploy or go?"
def content_versions(**server: Any) -> dict[str, str]:
    """Each content item's last_deployed_time, from one GET /v1/content. Without
    `include=owner,tags` the answer is a fraction of the load's. `server`: `connect_api`'s
    arguments for a named server."""
    api = connect_api(**server)
    listing = replace(CATALOG["content"], params={})
    return {
        str(item["guid"]): str(item.get("last_deployed_time"))
        for page in api.pages(listing, quiet=True)
        for item in page
    }


__all__ = ["EndpointFailures", "content_versions", "posit_connect_source"]
