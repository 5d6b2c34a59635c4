"""The OIDC issuer the simulator also plays: EGI Check-in style access and refresh tokens.

Access tokens are JWTs (RS256 header, random signature) because OSCAR reads the issuer from the
token and GRyCAP's client decides whether to refresh by decoding the `exp` claim.  The server
side does not verify signatures: a token is valid when this issuer handed it out, its lifetime
has not run out and `expire_all` has not ended it early.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from .data import EGI_ISSUER, hex_token, rng_for

ACCESS_TOKEN_LIFETIME_S = 3600  # EGI Check-in access tokens last about an hour
DEFAULT_SCOPE = "openid email profile voperson_id eduperson_entitlement"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segment(claims: dict[str, Any]) -> str:
    return _b64url(json.dumps(claims, separators=(",", ":")).encode())


@dataclass
class _Grant:
    uid: str
    expires_at: float


class TokenIssuer:
    """Issues access tokens for one user and renews them with one refresh token."""

    def __init__(self, seed: int, uid: str, client_id: str):
        self.uid = uid
        self.client_id = client_id
        self._rng = rng_for(seed, "oidc")
        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {}
        self.refresh_token = self._mint(
            {"typ": "Offline", "azp": client_id, "sub": uid}, alg="HS256"
        )

    # -- tokens --------------------------------------------------------------------------------
    def _mint(self, claims: dict[str, Any], alg: str = "RS256") -> str:
        header = {"alg": alg, "typ": "JWT", "kid": "rsa1"}
        body = {"iss": EGI_ISSUER, "jti": hex_token(self._rng, 16), **claims}
        signature = _b64url(self._rng.randbytes(256 if alg == "RS256" else 32))
        return f"{_segment(header)}.{_segment(body)}.{signature}"

    def issue(self, scope: str = DEFAULT_SCOPE) -> str:
        """A fresh access token for the user, valid for an hour from now."""
        now = int(time.time())
        expires_at = now + ACCESS_TOKEN_LIFETIME_S
        with self._lock:
            token = self._mint(
                {
                    "sub": self.uid,
                    "iat": now,
                    "exp": expires_at,
                    "azp": self.client_id,
                    "scope": scope,
                }
            )
            self._grants[token] = _Grant(self.uid, expires_at)
        return token

    def user_of(self, token: str) -> str | None:
        """The uid behind a still-valid access token, None for anything else."""
        with self._lock:
            grant = self._grants.get(token)
        if grant is None or grant.expires_at <= time.time():
            return None
        return grant.uid

    def expire_all(self) -> int:
        """End every access token handed out so far, as if their hour had passed."""
        now = time.time()
        with self._lock:
            live = [grant for grant in self._grants.values() if grant.expires_at > now]
            for grant in live:
                grant.expires_at = now
        return len(live)

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._grants)

    # -- token endpoint ------------------------------------------------------------------------
    def refresh(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a `grant_type=refresh_token` request the way Keycloak (EGI Check-in) does."""
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
        if form.get("client_id") != self.client_id:
            return 401, {
                "error": "invalid_client",
                "error_description": "Invalid client credentials",
            }
        scope = form.get("scope") or DEFAULT_SCOPE
        return 200, {
            "access_token": self.issue(scope),
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_S,
            "refresh_token": self.refresh_token,
            "scope": scope,
        }
