"""Small request/response helpers shared by the API modules."""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest

from ecg_backend.errors import InputError
from ecg_backend.models import IDEMPOTENCY_KEY_MAX, MAX_ID
from ecg_backend.services.idempotency import HEADER as IDEMPOTENCY_HEADER
from ecg_backend.signals.input_fields import parse_id


def json_body(required: bool = True) -> dict:
    """The request's JSON object: 415 unless the body is JSON, 400 when malformed, 422 when not an object."""
    if not request.is_json:
        if not required and not request.get_data(cache=True):
            return {}
        raise InputError("send the body as JSON with 'Content-Type: application/json'", kind="unsupported")
    try:
        payload = request.get_json()
    except BadRequest as exc:  # outside debug mode Flask keeps "Failed to decode JSON object: <reason>" as the cause
        cause = exc.__cause__ if isinstance(exc.__cause__, BadRequest) else None
        reason = str(cause.description if cause else "").removeprefix("Failed to decode JSON object: ")
        raise InputError(f"the request body is not valid JSON: {reason}".rstrip(": "), kind="malformed") from None
    if payload is None:
        raise InputError("the request body is not valid JSON", kind="malformed")
    if not isinstance(payload, dict):
        raise InputError("the JSON body must be an object ({...})")
    return payload


def optional_int(value, name: str, kind: str = "invalid") -> int | None:
    """``None`` for absent/empty, else a positive int id (JSON number or ASCII digits) or an InputError of ``kind``."""
    try:
        return parse_id(value, name, MAX_ID)
    except InputError as exc:
        exc.kind = kind
        raise


def idempotency_key() -> str | None:
    """The request's ``Idempotency-Key`` header (``None`` when absent), or a 400 InputError.

    A key is 1 to 255 printable ASCII characters (a UUID is a good choice); surrounding double quotes
    (the structured-header form ``"key"``) are dropped.
    """
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable():
        raise InputError(
            f"the {IDEMPOTENCY_HEADER} header must be 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII "
            "characters, e.g. a UUID",
            kind="malformed",
            details={"header": IDEMPOTENCY_HEADER},
        )
    return key


def no_content():
    """An empty 204 response (for DELETE)."""
    return "", 204
