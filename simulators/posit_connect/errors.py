"""Connect's JSON error bodies: `{"code": int, "error": str, "payload": null}`.

Only unknown routes answer in plain text (`404 page not found`, from the router); everything
a handler rejects carries one of these bodies, and posit-sdk turns them into `ClientError`.
"""

from __future__ import annotations

from simulators._server import Response

# Connect's error codes for the statuses the simulator sends. Codes 4 and 277 are Connect's
# own (ObjectNotFound, RateLimitExceeded); the others follow the project's api notes.
CODE_INTERNAL = 1
CODE_INVALID = 3
CODE_NOT_FOUND = 4
CODE_FORBIDDEN = 14
CODE_RATE_LIMITED = 277

STATUS_CODES = {
    400: CODE_INVALID,
    401: CODE_INVALID,
    403: CODE_FORBIDDEN,
    404: CODE_NOT_FOUND,
    405: CODE_INVALID,
    429: CODE_RATE_LIMITED,
}

MESSAGE_UNAUTHORIZED = "Key is not valid"
MESSAGE_FORBIDDEN = "You do not have permission to perform this operation."
MESSAGE_NOT_FOUND = "The requested object does not exist."


def error_body(code: int, message: str) -> dict:
    return {"code": code, "error": message, "payload": None}


def json_error(status: int, message: str) -> Response:
    """The JSON error response for `status`, with the code Connect uses for it."""
    return Response(status, error_body(STATUS_CODES.get(status, CODE_INTERNAL), message))


class ApiError(Exception):
    """Raised by a handler to answer with a JSON error instead of a result."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        return json_error(self.status, self.message)


def unauthorized(message: str = MESSAGE_UNAUTHORIZED) -> ApiError:
    return ApiError(401, message)


def forbidden() -> ApiError:
    return ApiError(403, MESSAGE_FORBIDDEN)


def not_found() -> ApiError:
    return ApiError(404, MESSAGE_NOT_FOUND)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def method_not_allowed() -> ApiError:
    return ApiError(405, "This method is not allowed on this path.")
