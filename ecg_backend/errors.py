"""The web layer's errors: the one place that maps an input error's kind to an HTTP status, and the
error responses (one JSON shape for API clients, HTML pages for people)."""

from __future__ import annotations

from typing import Any

from ecg_backend import input_errors
from ecg_backend.input_errors import InputError
from ecg_backend.signals.input_fields import human_bytes

__all__ = ["KIND_STATUS", "InputError", "error_body", "error_response", "http_status", "json_error"]

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    431: "request_header_fields_too_large",
    500: "internal_error",
    503: "service_unavailable",
}
# The one mapping of input error kinds to HTTP statuses.
KIND_STATUS = {
    input_errors.MALFORMED: 400,
    input_errors.UNAUTHORIZED: 401,
    input_errors.FORBIDDEN: 403,
    input_errors.NOT_FOUND: 404,
    input_errors.CONFLICT: 409,
    input_errors.TOO_LARGE: 413,
    input_errors.UNSUPPORTED: 415,
    input_errors.INVALID: 422,
    input_errors.TOO_MANY: 429,
    input_errors.UNAVAILABLE: 503,
}


def kind_for_status(status: int) -> str:
    """The input error kind answered with ``status`` (422's ``invalid`` for a status without one)."""
    return next((kind for kind, code in KIND_STATUS.items() if code == status), input_errors.INVALID)


def http_status(exc: InputError) -> int:
    """The HTTP status an input error is answered with (from its kind)."""
    return KIND_STATUS.get(exc.kind, 422)


def error_body(exc: InputError) -> dict:
    """The API's error body of an input error: ``{"error": {"code", "message", "details"}}``."""
    status = http_status(exc)
    return {"error": {"code": exc.code or error_code(status), "message": exc.message, "details": exc.details}}


def error_code(status: int) -> str:
    """Machine-readable code for an HTTP status (``"not_found"`` for 404, ...)."""
    return _CODES.get(status, "error")


input_errors.register_web_mapping(kind_for_status=kind_for_status, http_status=http_status, error_body=error_body)


# --- rendering: one JSON shape for API clients, HTML pages for people ------------------------------

_JSON_PREFIXES = ("/api/", "/predict", "/healthz")


def wants_json() -> bool:
    """True when the current request should get a JSON error rather than an HTML page.

    API paths (``/api/``, ``/predict``, ``/healthz``) always do; elsewhere a JSON body or an Accept
    header that prefers JSON over HTML does.
    """
    from flask import request

    if request.path.startswith(_JSON_PREFIXES) or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def json_error(status: int, message: str, code: str | None = None, details: Any = None, headers=None):
    """A Flask response carrying ``{"error": {"code", "message", "details"}}`` with ``status``."""
    from flask import jsonify

    response = jsonify({"error": {"code": code or error_code(status), "message": message, "details": details}})
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def error_response(status: int, message: str, code: str | None = None, details: Any = None, headers=None):
    """JSON for API clients, otherwise the ``errors/<status>.html`` page (or a plain fallback)."""
    if wants_json():
        return json_error(status, message, code, details, headers)
    from flask import render_template
    from jinja2 import TemplateNotFound
    from markupsafe import escape

    try:
        body = render_template(f"errors/{status}.html", status=status, message=message, code=code)
    except TemplateNotFound:
        body = (
            f"<!doctype html><title>{status}</title><h1>{status}</h1>"
            f'<p>{escape(message)}</p><p><a href="/">Back to the dashboard</a></p>'
        )
    return body, status, headers or {}


_MESSAGES = {
    400: "The request is malformed.",
    401: "Log in or send 'Authorization: Bearer <token>'.",
    403: "You are not allowed to do this.",
    404: "Nothing here: check the URL or the id.",
    405: "This method is not allowed here.",
    413: "The request is too large.",
    415: "Unsupported content type.",
    429: "Too many requests; wait a moment and try again.",
    500: "Something went wrong on our side; the error was logged.",
    503: "The service is temporarily unavailable; try again shortly.",
}


def register_errorhandlers(app) -> None:
    """Route every error through ``error_response`` so API clients always get the JSON shape."""
    from flask import flash, g, redirect, request
    from flask_limiter.errors import RateLimitExceeded
    from flask_wtf.csrf import CSRFError
    from sqlalchemy.exc import DataError, OperationalError
    from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

    @app.errorhandler(InputError)
    def handle_input_error(exc: InputError):
        status = http_status(exc)
        return error_response(status, exc.message, exc.code or error_code(status), exc.details)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(exc: CSRFError):
        message = f"CSRF check failed: {exc.description} Reload the page (or send the X-CSRFToken header)."
        if wants_json():
            return json_error(400, message, "csrf_failed")
        flash("Your form expired or was sent from elsewhere; please try again.", "error")
        return redirect(request.referrer if _same_origin(request.referrer) else request.path)

    @app.errorhandler(RateLimitExceeded)
    def handle_rate_limit(exc: RateLimitExceeded):
        message = f"Too many requests (limit {exc.description}); wait and try again."
        return error_response(429, message, "rate_limited", {"limit": exc.description}, _retry_after(exc))

    @app.errorhandler(RequestEntityTooLarge)
    def handle_too_large(exc):
        limit = app.config.get("MAX_CONTENT_LENGTH")
        message = (
            f"The request is larger than the {human_bytes(limit)} limit; send a smaller file."
            if limit
            else _MESSAGES[413]
        )
        return error_response(413, message, details={"max_bytes": limit})

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        status = exc.code or 500
        message = (
            exc.description
            if exc.description and status not in (401, 404, 405)
            else _MESSAGES.get(status, exc.description or "")
        )
        if status == 405 and exc.valid_methods:
            allowed = sorted(set(exc.valid_methods) - {"HEAD", "OPTIONS"})
            message = f"Method {request.method} is not allowed here; use {' or '.join(allowed)}."
        headers = dict(exc.get_headers()) if status == 405 else None
        if headers:
            headers.pop("Content-Type", None)
        return error_response(status, message, headers=headers)

    @app.errorhandler(DataError)
    def handle_out_of_range(exc: DataError):
        _rollback(app)
        return error_response(400, "A value is out of range or of the wrong type; check the numbers and ids sent.")

    @app.errorhandler(OperationalError)
    def handle_database_down(exc: OperationalError):
        _rollback(app)
        app.logger.error("database unavailable: %s", exc.orig)
        # Flask-Login puts current_user into every template context, loading it from the database that is
        # down: settle it as anonymous first, or rendering the error page raises again (a bare 500).
        if "_login_user" not in g:
            g._login_user = app.login_manager.anonymous_user()
        return error_response(
            503, "The database is unavailable; try again shortly.", "database_unavailable", headers={"Retry-After": "5"}
        )

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        _rollback(app)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, _MESSAGES[500], "internal_error")


def _rollback(app) -> None:
    # The error page must go out even when the connection is gone and the rollback itself fails.
    from sqlalchemy.exc import SQLAlchemyError

    from ecg_backend.extensions import db

    try:
        db.session.rollback()
    except SQLAlchemyError as exc:
        app.logger.warning("rollback failed: %s", exc)


def _same_origin(url: str | None) -> bool:
    from flask import request

    return bool(url) and url.startswith(request.host_url)


def _retry_after(exc) -> dict:
    try:
        return {"Retry-After": str(int(exc.limit.limit.get_expiry()))}
    except AttributeError:
        return {}
