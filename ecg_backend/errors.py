"""Errors that carry an HTTP meaning, raised by parsing and services, rendered by the app's error handlers."""
from __future__ import annotations

from typing import Any

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    503: "service_unavailable",
}


class InputError(ValueError):
    """Input a client can fix: the message says what was wrong and what is expected.

    Args:
        message: one sentence for the client, e.g. "row 3 has 139 values; each beat needs 140".
        status: HTTP status the API answers with (400 malformed, 413 too large, 415 wrong type,
            422 well-formed but wrong content).
        code: machine-readable error code; derived from ``status`` when omitted.
        details: optional JSON-serialisable context (row numbers, limits, field names).
    """

    def __init__(self, message: str, status: int = 422, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.details = details

    def to_dict(self) -> dict:
        """The API's error body: ``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def error_code(status: int) -> str:
    """Machine-readable code for an HTTP status (``"not_found"`` for 404, ...)."""
    return _CODES.get(status, "error")
