"""HTTP pieces shared by both API sources: one place for URL/TLS policy, retries, paging,
error messages and progress reporting.

Nothing here knows Dagster. Errors raised here carry a message written for the person who
has to fix the setting, role or server, and never contain a secret.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import (
    BasePaginator,
    JSONLinkPaginator,
    PageNumberPaginator,
    SinglePagePaginator,
)
from requests import Response
from requests.auth import AuthBase

progress_log = logging.getLogger("connect_oscar.progress")
PROGRESS_EVERY_SECONDS = 2.0


class SourceError(Exception):
    """An error the user can act on. `str(error)` says what to change."""


class ConfigurationError(SourceError):
    """A setting is missing or invalid."""


class AccessDenied(SourceError):
    """The credentials are valid but may not read this endpoint (HTTP 403)."""


class AuthenticationFailed(SourceError):
    """The server rejected the credentials (HTTP 401)."""


class EndpointMissing(SourceError):
    """The server does not have this route (older server version)."""


class ObjectGone(SourceError):
    """A single object vanished between listing it and requesting it (HTTP 404 on a known route)."""


class BadResponse(SourceError):
    """The server answered with something that is not the expected JSON."""


# Raised for an endpoint that cannot be read; the rest of the source goes on without it.
EndpointUnavailable = (AccessDenied, EndpointMissing)


@dataclass(frozen=True)
class ServerSettings:
    """Where a source connects and how. `setting` names the config key users edit."""

    base_url: str
    setting: str
    ca_bundle: str | None = None
    allow_insecure_http: bool = False
    timeout: float = 60.0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str | None, setting: str, allow_insecure_http: bool) -> str:
    """Return the URL without a trailing slash, or raise ConfigurationError naming `setting`."""
    if not url or not url.strip():
        raise ConfigurationError(f"No server URL is configured: set {setting}.")
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{setting} = {url!r} is not a URL: write it with its scheme, "
            f"for example https://{url.split('://')[-1] or 'server.example.com'}."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_insecure_http:
        raise ConfigurationError(
            f"{setting} = {url!r} uses plain http to a host that is not this machine, "
            "which would send credentials unencrypted. Use https, or set allow_insecure_http "
            "= true for this source if you really mean it."
        )
    return url


def _body_is_not_json(response: Response | None, exception: BaseException | None) -> bool:
    """Retry a 200 whose body is an HTML error page or cut short (proxies do both)."""
    if response is None or response.status_code != 200 or not response.content:
        return False
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type:
        return True
    tail = response.content.rstrip()[-1:]
    return tail not in (b"}", b"]")


def make_rest_client(server: ServerSettings, auth: AuthBase | None) -> RESTClient:
    """A dlt RESTClient with dlt's retries (429/5xx/connection errors, Retry-After honoured),
    plus retries for 200 responses whose body is not JSON."""
    http = Client(
        request_timeout=server.timeout,
        raise_for_status=False,
        retry_condition=_body_is_not_json,
    )
    session = http.session
    session.verify = server.ca_bundle or True
    return RESTClient(base_url=server.base_url, auth=auth, session=session)


class TotalCountPaginator(PageNumberPaginator):
    """Page-number paging whose `total` counts items, not pages: stop when the items seen
    reach `total` or a page comes back empty, so no extra empty request is made."""

    def __init__(self, page_param: str, total_path: str = "total"):
        super().__init__(base_page=1, page_param=page_param, total_path=None)
        self._total_path = total_path
        self._seen = 0

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        self._seen += len(data or [])
        total = response.json().get(self._total_path)
        super().update_state(response, data)
        if not data or (total is not None and self._seen >= int(total)):
            self._has_next_page = False


PAGING_STYLES: dict[str, Callable[[], BasePaginator]] = {
    "none": SinglePagePaginator,
    "page_number": lambda: TotalCountPaginator(page_param="page_number"),
    "keyset": lambda: JSONLinkPaginator(next_url_path="paging.next"),
}
DATA_SELECTORS = {"none": "$", "page_number": "results", "keyset": "results"}


class Progress:
    """Logs rows and pages so far at most every few seconds, and a summary at the end."""

    def __init__(self, table: str):
        self.table = table
        self.rows = 0
        self.pages = 0
        self.skipped = 0
        self._started = self._last = time.monotonic()

    def add(self, rows: int, pages: int = 1) -> None:
        self.rows += rows
        self.pages += pages
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_SECONDS:
            self._last = now
            progress_log.info("%s: %d rows, %d requests so far", self.table, self.rows, self.pages)

    def done(self) -> None:
        seconds = time.monotonic() - self._started
        extra = f", {self.skipped} skipped (gone meanwhile)" if self.skipped else ""
        progress_log.info(
            "%s: %d rows from %d requests in %.1fs%s",
            self.table,
            self.rows,
            self.pages,
            seconds,
            extra,
        )


def iterate_pages(
    client: RESTClient,
    path: str,
    paging: str,
    params: dict[str, Any] | None,
    describe_error: Callable[[Response], SourceError],
    progress: Progress,
) -> Iterator[list[Any]]:
    """Yield pages of `path` using the paging style's paginator; errors become SourceErrors."""

    def raise_for_status(response: Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code >= 400:
            raise describe_error(response)
        if _body_is_not_json(response, None):
            raise BadResponse(
                f"{response.request.method} {redact_url(response.url)} answered "
                f"{response.headers.get('Content-Type') or 'no content type'} instead of JSON "
                "(a proxy or maintenance page in front of the server?)."
            )

    for page in client.paginate(
        path,
        params=dict(params or {}),
        paginator=PAGING_STYLES[paging](),
        data_selector=DATA_SELECTORS[paging],
        hooks={"response": [raise_for_status]},
    ):
        progress.add(len(page))
        yield list(page)


def redact_url(url: str) -> str:
    """Drop the query string: cursors and filters are noise in messages and may hold tokens."""
    return url.split("?", 1)[0]


def drop_keys(obj: Any, keys: frozenset[str]) -> Any:
    """Remove every key in `keys` at any depth (a copy; the input is left as it is)."""
    if isinstance(obj, dict):
        return {k: drop_keys(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [drop_keys(v, keys) for v in obj]
    return obj


class RestApi:
    """One server: lazily validated settings, a RESTClient, paging, and a per-run cache of
    full lists so a parent list (e.g. content) is requested once however many tables use it.

    Subclasses say how an HTTP error reads to the user (`describe_error`) and how children
    of a parent row are fetched (`children`)."""

    api_name = "API"

    def __init__(self, server: ServerSettings, catalog: dict[str, Any]):
        self.server = server
        self.catalog = catalog
        self._client: RESTClient | None = None
        self._lists: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return validate_base_url(
            self.server.base_url, self.server.setting, self.server.allow_insecure_http
        )

    def make_auth(self) -> AuthBase | None:
        return None

    @property
    def client(self) -> RESTClient:
        with self._lock:
            if self._client is None:
                settings = replace(self.server, base_url=self.base_url)
                self._client = make_rest_client(settings, self.make_auth())
            return self._client

    def describe_error(self, endpoint: Any, response: Response) -> SourceError:
        return SourceError(
            f"{self.api_name} at {self.base_url} answered HTTP {response.status_code} to "
            f"{response.request.method} {redact_url(response.url)}."
        )

    def pages(
        self,
        endpoint: Any,
        path: str | None = None,
        params: dict[str, Any] | None = None,
        quiet: bool = False,
    ) -> Iterator[list[Any]]:
        progress = Progress(endpoint.table)
        yield from iterate_pages(
            self.client,
            path or endpoint.path,
            endpoint.paging,
            {**endpoint.params, **(params or {})},
            lambda response: self.describe_error(endpoint, response),
            progress,
        )
        if not quiet:
            progress.done()

    def rows(self, table: str) -> list[Any]:
        """The full list for `table`, requested once per run."""
        if table not in self._lists:
            endpoint = self.catalog[table]
            self._lists[table] = [row for page in self.pages(endpoint) for row in page]
        return self._lists[table]

    def children(self, endpoint: Any, parent_key: str) -> list[Any] | None:
        """Rows under one parent, each stamped with the parent's key; None if it is gone."""
        path = endpoint.path.replace("{" + endpoint.parent_key + "}", parent_key)
        try:
            rows = [row for page in self.pages(endpoint, path=path, quiet=True) for row in page]
        except ObjectGone:
            return None
        key_column = endpoint.key[0]
        for row in rows:
            row.setdefault(key_column, parent_key)
        return rows
