"""Authentication for API routes: ``Authorization: Bearer <token>`` or the browser session.

Usage in any blueprint::

    from ecg_backend.api.auth import api_login_required, current_api_user

    @bp.get("/api/v1/things")
    @api_login_required
    def list_things():
        user = current_api_user()

CSRF policy (the API blueprints are exempt from Flask-WTF's global check; this decorator decides):

* a request with a Bearer token needs no CSRF token: a browser never attaches that header by itself,
  so another site cannot forge it;
* a request authenticated by the session cookie that changes state (POST, PUT, PATCH, DELETE) must send
  the CSRF token, as the ``X-CSRFToken`` header (JSON clients) or a ``csrf_token`` form field (HTML forms).
  Scripts get the token from the JSON answer of ``POST /login``, pages from ``csrf_token()`` in templates.

A missing or invalid credential answers 401 with the JSON error shape (never a redirect).
"""

from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_login import current_user

from ecg_backend.errors import InputError
from ecg_backend.extensions import csrf
from ecg_backend.models import User
from ecg_backend.services.tokens import authenticate_token

_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _unauthorized(message: str) -> InputError:
    return InputError(message, kind="unauthorized", code="unauthorized")


def authenticate_request() -> User:
    """The user behind this request (Bearer token first, then session); raises 401 InputError."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise _unauthorized("send the token as 'Authorization: Bearer <token>'")
        user = authenticate_token(raw.strip())
        if user is None:
            raise _unauthorized("the API token is invalid or revoked; create a new one")
        g.api_user, g.auth_method = user, "token"
        return user
    if current_user.is_authenticated:
        if request.method in _UNSAFE_METHODS:
            csrf.protect()
        g.api_user, g.auth_method = current_user._get_current_object(), "session"
        return g.api_user
    raise _unauthorized("authentication required: log in or send 'Authorization: Bearer <token>'")


def current_api_user() -> User:
    """The user authenticated by ``api_login_required`` for this request."""
    return g.api_user


def api_login_required(view):
    """Require a valid Bearer token or session (with CSRF for state-changing session requests)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        authenticate_request()
        return view(*args, **kwargs)

    return wrapper


def api_admin_required(view):
    """Like ``api_login_required`` and the user must be an admin (403 otherwise)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not authenticate_request().is_admin:
            raise InputError("this needs an admin account", kind="forbidden")
        return view(*args, **kwargs)

    return wrapper
