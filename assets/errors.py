"""The errors the sources raise: each is one the user can act on, and says what to change.
The orchestration layer reads their types to decide what fails and whether a retry helps."""

from __future__ import annotations


class SourceError(Exception):
    """An error the user can act on. `str(error)` says what to change."""


class ConfigurationError(SourceError):
    """A setting is missing or invalid."""


class AccessDenied(SourceError):
    """The credentials are valid but may not read this endpoint (HTTP 403)."""


class AuthenticationFailed(SourceError):
    """The server rejected the credentials (HTTP 401) on `request`, saying `detail`."""

    def __init__(self, message: str, request: str = "", detail: str = ""):
        super().__init__(message)
        self.request = request
        self.detail = detail


class RouteRefused(AccessDenied):
    """HTTP 401 on one route while the same credentials are accepted on others: that route
    wants another kind of credentials (OSCAR's /system/quotas/user needs an OIDC token and
    answers Basic auth with 401), so only its table is affected."""


class EndpointMissing(SourceError):
    """The server does not have this route (older server version)."""


class ObjectGone(SourceError):
    """A single object vanished between listing it and requesting it (HTTP 404 on a known route)."""


class BadResponse(SourceError):
    """The server answered with something that is not the expected JSON."""


# Raised for an endpoint that cannot be read; the rest of the source goes on without it.
EndpointUnavailable = (AccessDenied, EndpointMissing)
