"""OSCAR authentication on `/system/*`.

Three ways in, chosen by what is configured under [sources.oscar_source]:
- `refresh_token` with `token_endpoint` and `client_id` (and optional `scopes`): an EGI
  Check-in style OIDC refresh. A fresh access token is requested once per run, before the
  first request, and once more if the server answers 401; as oscar-python's
  `get_access_token()` does, with the same default scopes.
- `bearer_token`: an OIDC access token used as it is (they last about an hour).
- `username` and `password`: HTTP Basic with the deployment's OSCAR_USERNAME / OSCAR_PASSWORD.

Tokens live in memory for one run and are never written anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from requests import PreparedRequest, Response
from requests.auth import AuthBase, _basic_auth_str

from assets.errors import ConfigurationError

ENV = "SOURCES__OSCAR_SOURCE__"
DEFAULT_SCOPES = ("openid", "email", "profile", "voperson_id", "eduperson_entitlement")
MISSING = (
    "No OSCAR credentials are configured. Under [sources.oscar_source] in .dlt/secrets.toml "
    f"(or as env vars) set either username and password ({ENV}USERNAME, {ENV}PASSWORD: the "
    f"deployment's OSCAR_USERNAME and OSCAR_PASSWORD), or bearer_token ({ENV}BEARER_TOKEN: an "
    f"OIDC access token), or refresh_token with token_endpoint and client_id ({ENV}REFRESH_TOKEN, "
    f"{ENV}TOKEN_ENDPOINT, {ENV}CLIENT_ID) to renew the access token on every run."
)


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_endpoint: str | None = None
    client_id: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES

    @property
    def scheme(self) -> str:
        """refresh | bearer | basic; a ConfigurationError names what is missing."""
        if self.refresh_token:
            missing = [
                f"{ENV}{n.upper()}" for n in ("token_endpoint", "client_id") if not getattr(self, n)
            ]
            if missing:
                raise ConfigurationError(
                    f"refresh_token is set but {' and '.join(missing)} is not: the refresh needs "
                    "the issuer's token endpoint and the client id the token was issued to."
                )
            return "refresh"
        if self.bearer_token:
            return "bearer"
        if self.username or self.password:
            if not (self.username and self.password):
                missing_one = "PASSWORD" if self.username else "USERNAME"
                raise ConfigurationError(
                    f"HTTP Basic needs both username and password: set {ENV}{missing_one}."
                )
            return "basic"
        raise ConfigurationError(MISSING)

    def rejected(self) -> str:
        """What a 401 says about the credentials and which setting to fix."""
        return {
            "refresh": (
                "an access token freshly renewed from refresh_token, twice: the token's user "
                f"may not use this cluster, or {ENV}TOKEN_ENDPOINT names another issuer"
            ),
            "bearer": (
                f"the bearer token: it may have expired (EGI Check-in tokens last about an "
                f"hour). Set a new {ENV}BEARER_TOKEN, or set {ENV}REFRESH_TOKEN, "
                f"{ENV}TOKEN_ENDPOINT and {ENV}CLIENT_ID to renew it on every run"
            ),
            "basic": (
                f"the username and password: set the deployment's OSCAR_USERNAME and "
                f"OSCAR_PASSWORD in {ENV}USERNAME and {ENV}PASSWORD"
            ),
        }[self.scheme]

    def refresh_form(self) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token or "",
            "client_id": self.client_id or "",
            "scope": " ".join(self.scopes),
        }


def parse_scopes(scopes: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Scopes as a list or one space- or comma-separated string; oscar-python's by default."""
    if not scopes:
        return DEFAULT_SCOPES
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    return tuple(s.strip() for s in scopes if s.strip())


class OscarAuth(AuthBase):
    """Basic or Bearer on every request. With a refresh token, `renew()` is called before the
    first request and at most once more when the server answers 401 (then the 401 stands)."""

    def __init__(self, credentials: Credentials, renew: Callable[[], str]):
        self.scheme = credentials.scheme  # raises ConfigurationError before any request
        self._credentials = credentials
        self._renew = renew
        self._token: str | None = credentials.bearer_token if self.scheme == "bearer" else None
        self._renewals_left = 1
        self._lock = threading.Lock()

    def _authorization(self) -> str:
        if self.scheme == "basic":
            return _basic_auth_str(self._credentials.username, self._credentials.password)
        with self._lock:
            if self._token is None:
                self._token = self._renew()
            return f"Bearer {self._token}"

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = self._authorization()
        if self.scheme == "refresh":
            request.register_hook("response", self._renew_on_401)
        return request

    def _renew_on_401(self, response: Response, **kwargs: Any) -> Response:
        """Resend once with a renewed token (the way requests' digest auth answers a 401)."""
        if response.status_code != 401:
            return response
        sent = response.request.headers.get("Authorization")
        with self._lock:
            if sent == f"Bearer {self._token}":  # nobody renewed since this request was sent
                if self._renewals_left == 0:
                    return response
                self._renewals_left -= 1
                self._token = self._renew()
            authorization = f"Bearer {self._token}"
        response.content  # noqa: B018 - read the body so the connection can be reused
        response.close()
        retry = response.request.copy()
        retry.headers["Authorization"] = authorization
        again = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again
