"""Posit Connect authentication: `Key` API keys, with credential exchange as the fallback.

Content running on a Connect server has no API key but a session token in
CONNECT_CONTENT_SESSION_TOKEN; it trades that for a short-lived visitor API key with an
RFC 8693 token exchange. The key is used to authenticate and never stored; only the
exchange's metadata (token types, expiry, time) is kept for the oauth_credentials table.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from requests import PreparedRequest
from requests.auth import AuthBase

from assets.errors import AuthenticationFailed, ConfigurationError

SESSION_TOKEN_ENV = "CONNECT_CONTENT_SESSION_TOKEN"
EXCHANGE_PATH = "/v1/oauth/integrations/credentials"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
CONTENT_SESSION_TOKEN = "urn:posit:connect:content-session-token"
VISITOR_API_KEY = "urn:posit:connect:api-key"
MISSING_KEY = (
    "No Posit Connect API key is configured: set api_key under [sources.posit_connect_source] "
    "in .dlt/secrets.toml, or the env var SOURCES__POSIT_CONNECT_SOURCE__API_KEY or "
    "CONNECT_API_KEY. (Content running on Connect may instead rely on "
    "CONNECT_CONTENT_SESSION_TOKEN, which Connect sets.)"
)


class ConnectKeyAuth(AuthBase):
    """Adds `Authorization: Key <key>`, exchanging the session token for a key on first use."""

    def __init__(self, api_key: str | None, exchange: Callable[[str], str]):
        self._api_key = (api_key or "").strip() or None
        self._exchange = exchange
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        with self._lock:
            if self._api_key is None:
                session_token = os.environ.get(SESSION_TOKEN_ENV, "").strip()
                if not session_token:
                    raise ConfigurationError(MISSING_KEY)
                self._api_key = self._exchange(session_token)
            return self._api_key

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Key {self.key}"
        return request


def exchange_form(session_token: str) -> dict[str, str]:
    return {
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "subject_token": session_token,
        "subject_token_type": CONTENT_SESSION_TOKEN,
        "requested_token_type": VISITOR_API_KEY,
    }


def exchange_record(answer: dict[str, Any]) -> dict[str, Any]:
    """What is kept of an exchange: everything but the token itself."""
    now = datetime.now(UTC)
    expires_in = answer.get("expires_in")
    return {
        "exchanged_at": now,
        "subject_token_type": CONTENT_SESSION_TOKEN,
        "requested_token_type": VISITOR_API_KEY,
        "issued_token_type": answer.get("issued_token_type"),
        "token_type": answer.get("token_type"),
        "expires_in": expires_in,
        "expires_at": now + timedelta(seconds=int(expires_in)) if expires_in else None,
    }


def exchange_failed(server: str, status: int, error: str) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"Posit Connect at {server} refused to exchange CONNECT_CONTENT_SESSION_TOKEN for an "
        f"API key (HTTP {status}: {error}). The token may have expired (rerun the content), or "
        "set an API key in SOURCES__POSIT_CONNECT_SOURCE__API_KEY / CONNECT_API_KEY instead."
    )
