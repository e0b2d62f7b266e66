"""Security headers on every response, and cookies that turn Secure when the request came over HTTPS.

Registered once by ``create_app`` (``security.init_app(app)``). The headers are set in an
``after_request`` hook, which Flask runs for views, error handlers (404, 413, 500 ...) and static files
alike, so no response leaves without them.

Content-Security-Policy, and why each part is what it is:

* ``script-src 'self'``: only the app's own script files (``/static/js/*``, ``/assets/plotly.min.js``).
  Pages carry no inline scripts or event handlers; chart data travels in
  ``<script type="application/json">`` blocks, which are data, not code, and are not executed.
  The SVG traces the dashboard draws (scatter, bar) need no ``eval``. plotly.js compiles shaders with
  ``Function(...)`` only for its WebGL traces (scattergl, splom, parcoords, 3-D), which no page uses: the
  recording strip is drawn on a canvas by our own script, so no page needs ``'unsafe-eval'``.
* ``style-src 'self' 'unsafe-inline'``: plotly.js injects ``<style>`` rules and sets ``style=""``
  attributes while drawing; styles cannot run code, and scripts stay strict.
* ``img-src 'self' data: blob:``: plotly's "download as PNG" and its modebar icons use data/blob URLs.
* ``frame-ancestors 'none'`` (with ``X-Frame-Options: DENY`` for older browsers): no clickjacking.
* ``form-action 'self'``, ``base-uri 'self'``, ``object-src 'none'``: forms post only here, no
  ``<base>`` hijack, no plugins.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, has_request_context, request

CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Same-origin requests keep the Referer (Flask-WTF's HTTPS CSRF check needs it); other sites get nothing.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

HSTS = "max-age=31536000; includeSubDomains"
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
log = logging.getLogger(__name__)


def content_security_policy() -> str:
    """The policy string every response carries unless a view set a stricter one."""
    return "; ".join(f"{name} {value}" for name, value in CSP_DIRECTIVES.items())


def set_security_headers(response):
    """``after_request`` hook: add the headers (a view may have set its own stricter CSP first)."""
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    if "Cache-Control" not in response.headers:
        # Pages and API answers carry health data: no shared or disk caches. Static files set their own.
        response.headers["Cache-Control"] = "no-store"
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
        _secure_cookies(response)
    return response


def _secure_cookies(response) -> None:
    """Over HTTPS every cookie gets ``Secure``, even where SESSION_COOKIE_SECURE was left unset."""
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies or all("; secure" in c.lower() for c in cookies):
        return
    response.headers.remove("Set-Cookie")
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie if "; secure" in cookie.lower() else cookie + "; Secure")


def _session_interface(base):
    """The app's session interface, made to mark the session cookie Secure on HTTPS requests.

    The session cookie is written after every ``after_request`` hook has run, so the hook cannot add
    the flag; the interface decides it per request instead.
    """

    class HttpsAwareSessionInterface(type(base)):
        def get_cookie_secure(self, app) -> bool:
            return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

        def save_session(self, app, session, response) -> None:
            # Static assets (ecg_backend/static_assets.py) are the same for everyone: no session cookie and
            # no "Vary: Cookie" on them, or browsers revalidate them whenever the session cookie changes.
            if getattr(response, "static_asset", False):
                return None
            return super().save_session(app, session, response)

    return HttpsAwareSessionInterface()


def init_app(app: Flask) -> None:
    """Register the headers hook and make sure the session cookies are HttpOnly, SameSite and (HTTPS) Secure.

    Idempotent: a second call on the same app changes nothing.
    """
    if app.extensions.get("ecg_security"):
        return
    app.extensions["ecg_security"] = True
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = _session_interface(app.session_interface)
    # App-level after_request hooks run in reverse order of registration: first in the list runs last,
    # after Flask-Login has set its remember cookie, so that cookie gets the Secure flag too.
    app.after_request_funcs.setdefault(None, []).insert(0, set_security_headers)


# --- files: patients' data stays readable by the service's own user only ----------------------------


def protect_files(app: Flask) -> None:
    """Make the instance folder, the upload area and the recordings' storage root 0700 (created if
    missing): the SQLite database, the secret key and saved recordings inside them are unreadable to other
    users of the machine, whatever the umask. Folders owned by someone else (a mounted volume) are left
    as they are."""
    from ecg_backend.services.recordings import upload_dir
    from ecg_backend.services.storage import storage_root

    with app.app_context():
        folders = (app.instance_path, upload_dir(), storage_root())
    for folder in folders:
        os.makedirs(folder, mode=PRIVATE_DIR, exist_ok=True)
        _chmod_own(folder, PRIVATE_DIR)


def protect_sqlite_file(dbapi_connection) -> None:
    """Mode 0600 for the database file of a SQLite connection (its -wal and -shm files follow its mode)."""
    for _, name, path in dbapi_connection.execute("PRAGMA database_list").fetchall():
        if name == "main" and path:
            _chmod_own(path, PRIVATE_FILE)


def _chmod_own(path: str, mode: int) -> None:
    try:
        info = os.stat(path)
        if info.st_uid == os.geteuid() and info.st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except OSError as exc:
        log.warning("could not make %s private: %s", path, exc.strerror)
