"""HTTP pieces shared by both API sources: one place for URL/TLS policy, retries, paging,
error messages and progress reporting.

Nothing here knows Dagster. Errors raised here carry a message written for the person who
has to fix the setting, role or server, and never contain a secret.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import ipaddress
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from urllib.request import getproxies

import orjson
from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.specs import RuntimeConfiguration
from dlt.common.jsonpath import JSONPath, compile_path
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.requests.retry import DEFAULT_RETRY_EXCEPTIONS
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import (
    BasePaginator,
    JSONLinkPaginator,
    JSONResponseCursorPaginator,
    PageNumberPaginator,
    SinglePagePaginator,
)
from requests import HTTPError, RequestException, Response, Session
from requests.auth import AuthBase
from requests.exceptions import ChunkedEncodingError, SSLError, Timeout

from assets.errors import (
    AccessDenied,
    AuthenticationFailed,
    BadResponse,
    ConfigurationError,
    EndpointMissing,
    ObjectGone,
    RouteRefused,
    SourceError,
)

if TYPE_CHECKING:  # the catalog builds on this module
    from assets._catalog import Endpoint

progress_log = logging.getLogger("connect_oscar.progress")
PROGRESS_EVERY_SECONDS = 2.0


# The name of the server configured directly in an API's section (the single-server form).
DEFAULT_SERVER = "default"


@dataclass(frozen=True)
class ServerSettings:
    """Where a source connects and how. `setting` names the config key users edit."""

    base_url: str
    setting: str
    ca_bundle: str | None = None
    allow_insecure_http: bool = False
    timeout: float = 60.0
    # What the tables know the server by (see `_catalog.ensure_same_server`): its URL may change.
    name: str = DEFAULT_SERVER


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


RETRY_STATUSES = frozenset((429, *range(500, 600)))


def _body_is_not_json(response: Response | None, exception: BaseException | None = None) -> bool:
    """A 200 whose body does not parse as JSON: an HTML error page, or a body cut short
    (proxies do both). The body is parsed once here and `response.json()` returns that
    parse, so dlt's data selector and paginators do not parse it again. A JSON body with a
    wrong content type is accepted: the data is intact."""
    if response is None or response.status_code != 200 or not response.content:
        return False
    if "json" in vars(response):  # parsed already
        return False
    try:
        parsed = parse_json(response.content)
    except ValueError:
        return True
    response.json = lambda **_: parsed  # type: ignore[method-assign]
    return False


class _RetryableResponse(HTTPError):
    """Raised for a response worth another attempt (429, 5xx, a 200 that is not JSON) inside
    dlt's retry loop, whose conditions and Retry-After handling read `.response`."""


def _should_retry(response: Response | None, exception: BaseException | None) -> bool:
    if isinstance(exception, SSLError):
        return False  # a certificate that fails verification fails the same way again
    if isinstance(exception, DEFAULT_RETRY_EXCEPTIONS):
        return True  # connection refused or reset, timeouts, bodies cut off
    if response is None:
        return False  # an error the source raised itself (401, 403, 404): final
    return response.status_code in RETRY_STATUSES or _body_is_not_json(response)


def retry_settings() -> RuntimeConfiguration:
    """dlt's [runtime] request_max_attempts, request_backoff_factor, request_max_retry_delay
    (RUNTIME__REQUEST_MAX_ATTEMPTS, ...)."""
    return resolve_configuration(RuntimeConfiguration())


def make_rest_client(server: ServerSettings, auth: AuthBase | None) -> RESTClient:
    """A dlt RESTClient with dlt's retry loop: 429, 5xx, connection errors, timeouts and 200
    responses whose body is not JSON are retried (Retry-After honoured); TLS failures and
    the errors the source raises for 4xx are not."""
    runtime = retry_settings()
    http = Client(
        request_timeout=server.timeout,
        raise_for_status=False,
        status_codes=(),
        exceptions=(),
        retry_condition=_should_retry,
        request_max_attempts=runtime.request_max_attempts,
        request_backoff_factor=runtime.request_backoff_factor,
        request_max_retry_delay=runtime.request_max_retry_delay,
    )
    session = http.session
    session.verify = server.ca_bundle or True
    _read_environment_once(session)
    if server.ca_bundle and session.trust_env:
        _ca_bundle_setting_wins(session, server.ca_bundle)
    return RESTClient(base_url=server.base_url, auth=auth, session=session)


def _ca_bundle_setting_wins(session: Session, ca_bundle: str) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace `session.verify` whenever it
    reads the environment (behind a proxy it must): the source's own ca_bundle wins."""
    merge = session.merge_environment_settings

    def merge_keeping_ca_bundle(url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = merge(url, proxies, stream, verify, cert)
        if verify is None or verify is True:
            settings["verify"] = ca_bundle
        return settings

    session.merge_environment_settings = merge_keeping_ca_bundle  # type: ignore[method-assign]


def _read_environment_once(session: Session) -> None:
    """requests reads proxy variables, netrc and REQUESTS_CA_BUNDLE from the environment on
    every request; scanning os.environ twice is a quarter of a small request's CPU. Without
    proxy variables or a netrc file only the CA bundle matters: read it once, stop looking."""
    if getproxies() or _netrc_file_exists():
        return
    if session.verify is True:
        session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
    session.trust_env = False


def _netrc_file_exists() -> bool:
    names = [os.environ["NETRC"]] if os.environ.get("NETRC") else ["~/.netrc", "~/_netrc"]
    return any(os.path.exists(os.path.expanduser(name)) for name in names)


def _gave_up(response: Response, table: str) -> SourceError:
    """What a response that was retried to the last attempt tells the user."""
    attempts = retry_settings().request_max_attempts
    request = f"{response.request.method} {redact_url(response.url)}"
    if response.status_code != 200:
        return SourceError(
            f"{table}: {request} failed with HTTP {response.status_code} "
            f"({response.text.strip()[:200]}) on all {attempts} attempts: the server, or a proxy "
            "in front of it, is overloaded or failing. The next run tries again."
        )
    content_type = response.headers.get("Content-Type") or "no content type"
    if "json" not in content_type:
        return BadResponse(
            f"{table}: {request} answered {content_type} instead of JSON on all {attempts} "
            "attempts (a proxy or maintenance page in front of the server?)."
        )
    return BadResponse(
        f"{table}: {request} answered {len(response.content)} bytes that are not valid JSON on "
        f"all {attempts} attempts (cut short by a proxy or the network?)."
    )


def _connection_problem(error: RequestException) -> str:
    text = str(error)
    for needle, problem in (
        ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed"),
        ("Connection refused", "connection refused"),
        ("Name or service not known", "host name not found"),
        ("nodename nor servname", "host name not found"),
        ("Temporary failure in name resolution", "host name not found"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
        ("Connection reset", "connection reset"),
    ):
        if needle in text:
            if needle == "CERTIFICATE_VERIFY_FAILED" and "verify failed:" in text:
                detail = text.split("verify failed:", 1)[1].split("(_ssl", 1)[0].strip(" ')\"")
                return f"{problem}: {detail}" if detail else problem
            return problem
    return type(error).__name__


def describe_transport_error(
    table: str, server: str, setting: str, timeout: float, error: RequestException
) -> SourceError:
    """A request that got no usable answer after dlt's retries, said for the user: which
    table and server, what went wrong, what to change."""
    attempts = retry_settings().request_max_attempts
    request = error.request
    what = f"{request.method} {redact_url(request.url)}" if request is not None else "a request"
    if isinstance(error, SSLError) and "WRONG_VERSION_NUMBER" in str(error):
        return ConfigurationError(
            f"{table}: {server} did not answer {what} with TLS: that port serves plain http "
            f"(or something else). Check {setting} (the scheme or the port)."
        )
    if isinstance(error, SSLError):
        return ConfigurationError(
            f"{table}: {server}: TLS verification failed for {what} "
            f"({_connection_problem(error)}). If the server's certificate comes from a private "
            "CA, set ca_bundle for this source to that CA's certificate (a PEM file); "
            "verification is never switched off."
        )
    if isinstance(error, Timeout) and "connect" not in type(error).__name__.lower():
        return SourceError(
            f"{table}: {server} did not answer within {timeout:g}s to {what}, on all {attempts} "
            "attempts. If the server is only slow, raise request_timeout for this source."
        )
    if isinstance(error, ChunkedEncodingError) or "Connection broken" in str(error):
        return SourceError(
            f"{table}: {server} closed the connection in the middle of the answer to {what}, on all "
            f"{attempts} attempts (a proxy or load balancer cutting responses short?)."
        )
    return SourceError(
        f"{table}: could not connect to {server} ({_connection_problem(error)}) after {attempts} "
        f"attempts. Check {setting}, and that the server is up and reachable from here."
    )


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
    # an opaque token in the body's `next_page`, sent back as `?page=`; absent on the last page
    "next_page": lambda: JSONResponseCursorPaginator(cursor_path="next_page", cursor_param="page"),
    # no paging at all: one response holds everything in the request's from/to window, so
    # the loader bounds each request by the window it asks for (assets/_catalog.py)
    "window": SinglePagePaginator,
    # `page_number` over a bare array with no total (Connect's bundles): only an empty page
    # says it was the last, since a server may send fewer than `page_size` rows per page
    "page_number_until_empty": lambda: PageNumberPaginator(
        base_page=1, page_param="page_number", total_path=None
    ),
}
DATA_SELECTORS = {
    "none": "$",
    "page_number": "results",
    "keyset": "results",
    "next_page": "$",
    "window": "$",
    "page_number_until_empty": "$",
}


@functools.cache
def compiled_selector(selector: str) -> JSONPath:
    """A data selector compiled once: dlt compiles a string selector on every response, which
    builds a new JSONPath parser each time (~1 ms, the bulk of a small request's cost)."""
    return compile_path(selector)


@contextlib.contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Python's cycle collector paused while rows parsed from JSON are built or transformed.
    They hold no reference cycles (refcounting frees them), yet with a big response alive the
    collector walks every one of its objects again and again: coercing 20,000 content items
    took 0.39 s with it and 0.07 s without. Held for one batch, never across a `yield`. With
    threads, the one that found it on turns it back on as it leaves, even while another is
    still inside (which then finishes with the collector running: slower, never wrong)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_json(body: bytes) -> Any:
    """orjson, several times faster than json, for what it reads; json for what it refuses
    (integers beyond 64 bits, NaN), so both accept the same bodies."""
    with cycle_collection_paused():
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return json.loads(body)


def plural(count: int, word: str) -> str:
    """`1 request`, `12 requests`: run logs read as sentences."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


class Progress:
    """Logs rows and pages so far at most every few seconds, and a summary at the end.

    The summary's record carries `progress_summary` (table, rows, requests, seconds), so the
    orchestration layer can put each table's request count in its materialisation."""

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
            progress_log.info(
                "%s: %s, %s so far",
                self.table,
                plural(self.rows, "row"),
                plural(self.pages, "request"),
            )

    def done(self, nothing_new: str = "nothing new") -> None:
        """The table's summary line; `nothing_new` says what no rows means for this table."""
        seconds = time.monotonic() - self._started
        requests = plural(self.pages, "request")
        if self.rows:
            summary = f"{plural(self.rows, 'row')} from {requests} in {seconds:.1f} s"
        else:
            summary = f"{nothing_new} ({requests}, {seconds:.1f} s)"
        if self.skipped:
            summary += f", {self.skipped:,} skipped (gone meanwhile)"
        progress_log.info(
            "%s: %s",
            self.table,
            summary,
            extra={"progress_summary": (self.table, self.rows, self.pages, seconds)},
        )


def iterate_pages(
    client: RESTClient,
    path: str,
    paging: str,
    params: dict[str, Any] | None,
    describe_error: Callable[[Response], SourceError],
    progress: Progress,
    *,
    ahead: bool = True,
    unpack: Callable[[Any], Iterable[Any]] | None = None,
) -> Iterator[list[Any]]:
    """Yield pages of `path` using the paging style's paginator; errors become SourceErrors.
    With `ahead`, the next page is requested while the caller works on this one; a caller
    that may stop early (newest-first event logs) says `ahead=False`, so no page is
    requested that it does not read. `unpack` turns each item of a page into rows (counted
    as rows, not the bodies they came from)."""

    def raise_for_status(response: Response, *args: Any, **kwargs: Any) -> None:
        # Runs inside dlt's retry loop: what is worth another attempt is raised with the
        # response attached, the rest as the source's own error, which ends the loop.
        if response.status_code in RETRY_STATUSES or _body_is_not_json(response):
            raise _RetryableResponse(response=response)
        if response.status_code >= 400:
            raise describe_error(response)

    pages = client.paginate(
        path,
        params=dict(params or {}),
        paginator=PAGING_STYLES[paging](),
        data_selector=compiled_selector(DATA_SELECTORS[paging]),
        hooks={"response": [raise_for_status]},
    )
    try:
        for page in read_ahead(pages) if ahead and paging not in ("none", "window") else pages:
            rows = list(page) if unpack is None else [r for item in page for r in unpack(item)]
            progress.add(len(rows))
            yield rows
    except _RetryableResponse as error:
        raise _gave_up(error.response, progress.table) from None


_END = object()


def read_ahead(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """`items`, iterated on a worker thread up to `depth` items ahead: the next page is being
    requested while the caller works on this one. An exception reaches the caller where it
    happened, after the items before it; closing this generator stops the worker."""
    return read_concurrently([lambda: items], workers=1, depth=depth)


def read_concurrently(
    sources: Sequence[Callable[[], Iterable[Any]]], workers: int, depth: int
) -> Iterator[Any]:
    """The items of every source, as they arrive: each source is iterated whole by one of
    `workers` threads, and up to `depth` items wait for the caller. An exception reaches the
    caller where it happened; closing this generator (or the exception) stops the workers, and
    a source not started by then is not started."""
    ready: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    waiting = iter(sources)
    take = threading.Lock()

    def put(entry: tuple[Any, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        while not stop.is_set():
            with take:
                source = next(waiting, None)
            if source is None:
                return
            try:
                for item in source():
                    if not put((item, None)):
                        return
                put((_END, None))
            except BaseException as error:
                put((_END, error))

    for _ in range(max(1, min(workers, len(sources)))):
        threading.Thread(target=work, name="read-ahead", daemon=True).start()
    try:
        remaining = len(sources)
        while remaining:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _END:
                remaining -= 1
                continue
            yield item
    finally:
        stop.set()


def redact_url(url: str) -> str:
    """Drop the query string: cursors and filters are noise in messages and may hold tokens."""
    return url.split("?", 1)[0]


class RestApi:
    """One server: lazily validated settings, a RESTClient, paging, and a per-run cache of
    full lists so a parent list (e.g. content) is requested once however many tables use it.

    Subclasses word HTTP errors for their users (`error_detail`, `rejected`,
    `forbidden_advice`) and may change how children of a parent row are fetched
    (`children`)."""

    api_name = "API"
    # The server's version, "unknown" when it does not say (subclasses ask it lazily).
    version: str | None = None

    def __init__(self, server: ServerSettings, catalog: dict[str, Endpoint]):
        self.server = server
        self.catalog = catalog
        self._client: RESTClient | None = None
        self._lists: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        # Once the server rejected the credentials, no further request is sent with them
        # (a per-item table would otherwise ask once per remaining item).
        self._rejected: AuthenticationFailed | None = None
        # The first request the credentials were accepted on: a later 401 elsewhere is
        # checked against it before the credentials are called wrong.
        self._accepted_path: str | None = None
        # Tables whose route refused the credentials that other routes accept: not asked again.
        self._refused: dict[str, RouteRefused] = {}
        # Why a table loaded with a part missing (table -> note), for the run's metadata.
        self.notes: dict[str, str] = {}

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

    # How the API's errors read: what the credentials are called, the server's own error
    # text, and what to do about a 401 or a 403.
    credentials_name = "the credentials"

    def error_detail(self, response: Response) -> tuple[str, bool]:
        """The server's own error text, and whether a 404 is about an object (gone since it
        was listed) rather than a route the server does not have."""
        return response.text.strip()[:200], True

    def rejected(self, request: str, detail: str) -> str:
        return f"{self.api_name} at {self.base_url} rejected {self.credentials_name} (HTTP 401)."

    def forbidden_advice(self, endpoint: Endpoint) -> str:
        return "Use credentials with more privileges, or leave the table out of the selection."

    def describe_error(self, endpoint: Endpoint, response: Response) -> SourceError:
        status = response.status_code
        detail, object_gone = self.error_detail(response)
        request = f"{response.request.method} {redact_url(response.url)}"
        if status == 401:
            return AuthenticationFailed(self.rejected(request, detail), request, detail)
        if status == 403:
            return AccessDenied(
                f"{endpoint.table}: {self.credentials_name} may not read {request} (HTTP 403: "
                f"{detail}). {self.forbidden_advice(endpoint)}"
            )
        if status == 404 and object_gone:
            return ObjectGone(f"{endpoint.table}: {request} no longer exists.")
        if status == 404:
            return EndpointMissing(
                f"{endpoint.table}: {self.api_name} at {self.base_url} (version {self.version}) "
                f"has no {request}. This table needs "
                f"{endpoint.requires or 'a newer ' + self.api_name}; upgrade the server or "
                "leave the table out of the selection."
            )
        return SourceError(
            f"{endpoint.table}: {request} failed with HTTP {status} ({detail}) after retries."
        )

    def pages(
        self,
        endpoint: Endpoint,
        path: str | None = None,
        params: dict[str, Any] | None = None,
        quiet: bool = False,
        nothing_new: str = "nothing new",
    ) -> Iterator[list[Any]]:
        if self._rejected is not None:
            raise AuthenticationFailed(str(self._rejected))
        if endpoint.table in self._refused:
            raise RouteRefused(str(self._refused[endpoint.table]))
        progress = Progress(endpoint.table)
        try:
            for page in iterate_pages(
                self.client,
                path or endpoint.path,
                endpoint.paging,
                {**endpoint.params, **(params or {})},
                lambda response: self.describe_error(endpoint, response),
                progress,
                ahead=not endpoint.newest_first,
                unpack=endpoint.unpack,
            ):
                if self._accepted_path is None:
                    self._accepted_path = path or endpoint.path
                yield page
        except RequestException as error:
            server = f"{self.api_name} at {self.base_url}"
            raise describe_transport_error(
                endpoint.table, server, self.server.setting, self.server.timeout, error
            ) from error
        except AuthenticationFailed as error:
            if endpoint.table in self._refused:  # another request of this table found out
                raise RouteRefused(str(self._refused[endpoint.table])) from None
            if self._accepted_path is not None and self._still_accepted():
                self._refused[endpoint.table] = self.route_refused(endpoint, error)
                raise RouteRefused(str(self._refused[endpoint.table])) from None
            self._rejected = error
            raise
        except EndpointMissing as error:
            if self.version != "unknown":
                raise
            # Not an old server but not this API at all: the wrong host or port.
            raise ConfigurationError(
                f"{self.base_url} does not look like {self.api_name}: it has no "
                f"{path or endpoint.path} and does not tell its {self.api_name} version. Check "
                f"{self.server.setting} (another server, or the wrong port?)."
            ) from error
        if not quiet:
            progress.done(nothing_new)

    def history_start(self) -> datetime | None:
        """The earliest moment the server can have events at, for the first load of an event
        table that has no paging (each request is one bounded from/to window); None when the
        API cannot tell."""
        return None

    def _still_accepted(self) -> bool:
        """After a 401: do the credentials still open the route they opened before? Only
        then is the 401 about the route; otherwise they were revoked or expired meanwhile."""
        try:
            response = self.client.get(self._accepted_path or "")
        except RequestException:
            return False
        return response.status_code != 401

    def route_refused(self, endpoint: Endpoint, error: AuthenticationFailed) -> RouteRefused:
        return RouteRefused(
            f"{endpoint.table}: {error.request} answered HTTP 401 ({error.detail or 'no body'}) "
            f"although the same credentials were accepted on {self._accepted_path} in this "
            f"run: this route wants other credentials. {self.forbidden_advice(endpoint)}"
        )

    def rows(self, table: str) -> list[Any]:
        """The full list for `table`, requested (or derived from other lists) once per run."""
        if table not in self._lists:
            endpoint = self.catalog[table]
            if endpoint.derive is not None:
                self._lists[table] = list(endpoint.derive(self))
            else:
                self._lists[table] = [row for page in self.pages(endpoint) for row in page]
        return self._lists[table]

    def children(self, endpoint: Endpoint, parent_key: str) -> list[Any] | None:
        """Rows under one parent, each stamped with the parent's key; None if it is gone."""
        path = endpoint.path.replace("{" + endpoint.load.parent_key + "}", parent_key)
        try:
            rows = [row for page in self.pages(endpoint, path=path, quiet=True) for row in page]
        except ObjectGone:
            return None
        key_column = endpoint.key[0]
        for row in rows:
            row.setdefault(key_column, parent_key)
        return rows
