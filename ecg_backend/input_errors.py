"""Input errors as the signal and model layers raise them: a message for the client and a kind, no HTTP.

The kind says what is wrong with the input (too large, unsupported, invalid, ...); the web layer
(`ecg_backend.errors`) is the one place that maps a kind to an HTTP status and a code.
"""

from __future__ import annotations

from typing import Any

MALFORMED = "malformed"  # cannot be read at all (not JSON, not a zip, broken framing)
INVALID = "invalid"  # well formed, wrong content (a letter in a sample, a rate out of range)
TOO_LARGE = "too_large"  # over a size, memory or count budget
UNSUPPORTED = "unsupported"  # a file type or format the product does not read
NOT_FOUND = "not_found"
CONFLICT = "conflict"
FORBIDDEN = "forbidden"
UNAUTHORIZED = "unauthorized"
TOO_MANY = "too_many"  # over a rate or a per-user limit
UNAVAILABLE = "unavailable"  # a service the request needs is down
KINDS = (
    MALFORMED,
    INVALID,
    TOO_LARGE,
    UNSUPPORTED,
    NOT_FOUND,
    CONFLICT,
    FORBIDDEN,
    UNAUTHORIZED,
    TOO_MANY,
    UNAVAILABLE,
)


class InputError(ValueError):
    """Input a client can fix: the message says what was wrong and what is expected.

    Args:
        message: one sentence for the client, e.g. "row 3 has 139 values; each beat needs 140".
        kind: what is wrong, one of `KINDS` (default `INVALID`).
        code: machine-readable error code; the web layer derives one from ``kind`` when omitted.
        details: optional JSON-serialisable context (row numbers, limits, field names).
        status: for callers in the web layer only: an HTTP status, turned into its kind by `ecg_backend.errors`.
    """

    def __init__(
        self,
        message: str,
        kind: str = INVALID,
        code: str | None = None,
        details: Any = None,
        *,
        status: int | None = None,
    ):
        if status is not None:  # a web-layer caller naming a status: the web layer's mapping gives the kind
            kind = _web_mapping["kind_for_status"](status)
        if kind not in KINDS:
            raise ValueError(f"unknown input error kind {kind!r}")
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.code = code
        self.details = details

    @property
    def status(self) -> int:
        """The HTTP status the web layer answers with (its mapping, `ecg_backend.errors.http_status`)."""
        return _web_mapping["http_status"](self)

    def to_dict(self) -> dict:
        """The API's error body (`ecg_backend.errors.error_body`)."""
        return _web_mapping["error_body"](self)


# Filled in by the web layer (`ecg_backend.errors`), the one place that knows HTTP; this layer never calls it.
_web_mapping: dict = {}


def register_web_mapping(**functions) -> None:
    """Let the web layer attach its kind <-> HTTP status mapping (``kind_for_status``, ``http_status``,
    ``error_body``) to errors raised below it, without this module importing the web layer."""
    _web_mapping.update(functions)
