"""dlt source for the OSCAR REST API (GRyCAP's serverless platform). Runs without any
orchestrator:

import dlt
from assets.oscar import oscar_source

dlt.pipeline("oscar_pipeline", destination="duckdb", dataset_name="oscar_data").run(oscar_source())
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt import TSecretStrValue
from dlt.common.configuration import known_sections, with_config
from dlt.extract.resource import DltResource
from requests import RequestException, Response

from assets._catalog import Endpoint, EndpointFailures, EventWindow, build_resources, row_key
from assets._http import DEFAULT_SERVER, RestApi, ServerSettings, progress_log, validate_base_url
from assets.errors import AuthenticationFailed, SourceError
from assets.oscar.auth import ENV, Credentials, OscarAuth, parse_scopes
from assets.oscar.redact import redact
from assets.oscar.settings import (
    CATALOG,
    CREDENTIALS_NEEDED,
    DEFAULT_MAX_CONCURRENCY,
    ENDPOINTS,
    SECTION,
)

URL_SETTING = (
    f"base_url under [sources.oscar_source] in .dlt/config.toml (or {ENV}BASE_URL): the "
    "cluster's ingress address"
)
# What gin answers for a route the server does not have; a known route's 404 is empty.
ROUTE_MISSING = "404 page not found"


class OscarApi(RestApi):
    api_name = "OSCAR"

    def __init__(self, server: ServerSettings, credentials: Credentials):
        super().__init__(server, CATALOG)
        self.credentials = credentials
        self._version: str | None = None
        # Why each optional extra was skipped in this run (see `optional_rows`).
        self.skipped: dict[str, SourceError] = {}

    def make_auth(self) -> OscarAuth:
        return OscarAuth(self.credentials, self._renew_access_token)

    def _renew_access_token(self) -> str:
        """A fresh access token from the OIDC issuer (refresh_token grant); never stored."""
        endpoint = validate_base_url(
            self.credentials.token_endpoint, f"{ENV}TOKEN_ENDPOINT", self.server.allow_insecure_http
        )
        try:
            response = self.client.session.post(
                endpoint, data=self.credentials.refresh_form(), timeout=self.server.timeout
            )
        except RequestException as error:
            raise SourceError(
                f"The OIDC token endpoint {endpoint} could not be reached "
                f"({type(error).__name__}); check {ENV}TOKEN_ENDPOINT."
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code != 200 or not answer.get("access_token"):
            reason = ": ".join(
                str(answer[k]) for k in ("error", "error_description") if answer.get(k)
            )
            raise AuthenticationFailed(
                f"The OIDC token endpoint {endpoint} would not renew the access token "
                f"(HTTP {response.status_code}{': ' + reason[:200] if reason else ''}). The "
                f"refresh token may have expired or been revoked: set a new {ENV}REFRESH_TOKEN, "
                f"and check {ENV}CLIENT_ID is the client it was issued to."
            )
        return answer["access_token"]

    def pages(
        self,
        endpoint: Endpoint,
        path: str | None = None,
        params: dict[str, Any] | None = None,
        quiet: bool = False,
        nothing_new: str = "nothing new",
    ) -> Iterator[list[Any]]:
        """Every page, redacted before anyone else sees it."""
        for page in super().pages(endpoint, path, params, quiet, nothing_new):
            yield [redact(row) for row in page]

    def optional_rows(self, table: str, params: dict[str, Any] | None = None) -> list[Any] | None:
        """An extra of newer servers, or None where it is missing, refused or failing (the
        reason logged and kept in `skipped`). Rejected credentials still fail the run."""
        try:
            # quiet: a helper list of `users`, not a table, gets no line of its own in the log
            pages = self.pages(self.catalog[table], params=params, quiet=True)
            return [row for page in pages for row in page]
        except AuthenticationFailed:
            raise
        except SourceError as error:
            progress_log.info("%s skipped: %s", table, error)
            self.skipped[table] = error
            return None

    @property
    def version(self) -> str:
        """The server's version (GET /system/info), for error messages only."""
        if self._version is None:
            self._version = "unknown"  # also stops a failing /system/info from recursing
            try:
                info = self._lists.get("cluster_info") or self.rows("cluster_info")
                self._version = str(info[0].get("version") or "unknown")
            except Exception:  # the version only decorates an error message
                pass
        return self._version

    def error_detail(self, response: Response) -> tuple[str, bool]:
        # A known route's 404 (a service or job gone) is empty; an unknown route's is gin's.
        body = response.text.strip()[:200]
        return body, body != ROUTE_MISSING

    def rejected(self, request: str, detail: str) -> str:
        return (
            f"OSCAR at {self.base_url} answered HTTP 401 to {request}: it rejected "
            f"{self.credentials.rejected()}."
        )

    def forbidden_advice(self, endpoint: Endpoint) -> str:
        if endpoint.table in CREDENTIALS_NEEDED:
            return CREDENTIALS_NEEDED[endpoint.table]
        return (
            "Use the deployment's Basic-auth account (username and password) to load "
            "everything, or leave the table out of the selection."
        )


# `server`: a named cluster's section below the API's ([sources.oscar_source.<server>]), whose
# settings win over the API's own.
@with_config(sections=(known_sections.SOURCES, SECTION), section_arg_name="server")
def oscar_api(
    server: str | None = None,
    base_url: str | None = None,
    username: str | None = None,
    password: TSecretStrValue | None = None,
    bearer_token: TSecretStrValue | None = None,
    refresh_token: TSecretStrValue | None = None,
    token_endpoint: str | None = None,
    client_id: str | None = None,
    scopes: Any = None,
    request_timeout: float = 60.0,
    ca_bundle: str | None = None,
    allow_insecure_http: bool = False,
    server_name: str = DEFAULT_SERVER,
) -> OscarApi:
    """The client for the cluster; called without arguments, it reads the settings the way
    the source does ([sources.oscar_source], SOURCES__OSCAR_SOURCE__...)."""
    credentials = Credentials(
        username=username,
        password=password,
        bearer_token=bearer_token,
        refresh_token=refresh_token,
        token_endpoint=token_endpoint,
        client_id=client_id,
        scopes=parse_scopes(scopes),
    )
    settings = ServerSettings(
        base_url=base_url or "",
        setting=URL_SETTING,
        ca_bundle=ca_bundle,
        allow_insecure_http=allow_insecure_http,
        timeout=request_timeout,
        name=server or server_name,
    )
    return OscarApi(settings, credentials)


@dlt.source(section=SECTION, name="oscar")
def oscar_source(
    base_url: str | None = None,
    username: str | None = None,
    password: TSecretStrValue | None = None,
    bearer_token: TSecretStrValue | None = None,
    refresh_token: TSecretStrValue | None = None,
    token_endpoint: str | None = None,
    client_id: str | None = None,
    scopes: Any = None,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    request_timeout: float = 60.0,
    ca_bundle: str | None = None,
    allow_insecure_http: bool = False,
    server_name: str = DEFAULT_SERVER,
    failures: Any = None,
) -> list[DltResource]:
    """OSCAR tables (see `settings.ENDPOINTS`). Nothing is validated or requested until a
    resource runs, so building the source needs no configuration and no network.

    Args:
        base_url: the cluster's ingress address, e.g. https://oscar.example.org.
        username: HTTP Basic user (the deployment's OSCAR_USERNAME, `oscar` by default).
        password: HTTP Basic password (the deployment's OSCAR_PASSWORD).
        bearer_token: an OIDC access token (EGI Check-in), used as it is.
        refresh_token: an OIDC refresh token; with it a fresh access token is requested from
            `token_endpoint` for `client_id` at the start of every run.
        token_endpoint: the issuer's token endpoint, e.g.
            https://aai.egi.eu/auth/realms/egi/protocol/openid-connect/token.
        client_id: the OIDC client the refresh token was issued to.
        scopes: scopes to request (a list, or one space-separated string); oscar-python's
            `openid email profile voperson_id eduperson_entitlement` by default.
        max_concurrency: parallel `/system/logs/{service}` requests for `jobs`.
        request_timeout: seconds per request; retries follow dlt's [runtime] settings.
        ca_bundle: path to a CA bundle for a cluster with a private CA (TLS is always verified).
        allow_insecure_http: allow http:// to a host other than this machine.
        server_name: the name the tables know the cluster by (its URL may change).
        failures: an `EndpointFailures` that collects tables the server does not have or the
            credentials may not read, so the other tables still load; without one, such a
            table fails the whole run.
    """
    api = oscar_api(
        base_url=base_url,
        username=username,
        password=password,
        bearer_token=bearer_token,
        refresh_token=refresh_token,
        token_endpoint=token_endpoint,
        client_id=client_id,
        scopes=scopes,
        request_timeout=request_timeout,
        ca_bundle=ca_bundle,
        allow_insecure_http=allow_insecure_http,
        server_name=server_name,
    )
    return build_resources(
        api, ENDPOINTS, failures=failures, max_concurrency=max_concurrency, window=EventWindow()
    )


# The change sensor's question: "was any service added, removed or redefined?"
def service_versions(**server: Any) -> dict[str, str]:
    """A digest of each service's definition (redacted: a rotated token is not a change),
    from one GET /system/services. `server`: `oscar_api`'s arguments for a named cluster."""
    services = [
        row for page in oscar_api(**server).pages(CATALOG["services"], quiet=True) for row in page
    ]
    return {str(service["name"]): row_key(service) for service in services}


__all__ = ["EndpointFailures", "oscar_source", "service_versions"]
