"""Login and logout views. Login is rate-limited per address and, for failed attempts, per account."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ecg_backend.auth import bp
from ecg_backend.auth.forms import LoginForm
from ecg_backend.auth.sessions import end_session, load_session_user, start_session
from ecg_backend.errors import InputError
from ecg_backend.extensions import csrf, limiter, login_manager
from ecg_backend.services.users import authenticate
from ecg_backend.signals.input_fields import check_unicode

BAD_CREDENTIALS = "Wrong email or password (or the account is disabled)."


def _submitted_email() -> str:
    if request.is_json:
        payload = request.get_json(silent=True)
        email = payload.get("email") if isinstance(payload, dict) else None
    else:
        email = request.form.get("email")
    return str(email or "").strip().lower()[:254]


def _account_key() -> str:
    return "account:" + _submitted_email()


def safe_next(target: str | None) -> str | None:
    """A same-site relative path to go to after login, or None (no open redirects, no header injection).

    Only a printable ASCII path starting with one "/" is kept: control characters (a newline would split
    the Location header), backslashes and anything with a scheme or host are dropped.
    """
    if not target or len(target) > 2048 or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or not all(" " < char < "\x7f" for char in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    return None if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own csrf_token; JSON bodies cannot be sent cross-site without CORS
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    key_func=get_remote_address,
    error_message="too many login attempts from this address",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_account_key,
    deduct_when=lambda response: g.get("login_failed", False),
    error_message="too many failed logins for this account",
)
def login():
    """GET: the form. POST form: log in and redirect. POST JSON {email, password}: JSON answer."""
    if request.method == "POST" and request.is_json:
        return _login_json()
    form = LoginForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            start_session(user, bool(form.remember.data))
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
        g.login_failed = True
        return render_template("auth/login.html", form=form, error=BAD_CREDENTIALS), 200
    if request.method == "POST":
        error = (
            "The form expired or came from another site; please sign in again."
            if form.errors.get("csrf_token")
            else "Enter your email and password."
        )
        return render_template("auth/login.html", form=form, error=error), 400
    return render_template("auth/login.html", form=form)


def _login_json():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise InputError('send {"email": ..., "password": ...} as a JSON object', kind="malformed")
    email, password = payload.get("email"), payload.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise InputError('"email" and "password" are required strings', details={"fields": ["email", "password"]})
    check_unicode(email, "email")
    check_unicode(password, "password")
    user = authenticate(email, password)
    if user is None:
        g.login_failed = True
        raise InputError(BAD_CREDENTIALS, kind="unauthorized")
    start_session(user, bool(payload.get("remember") is True))
    return jsonify({"user": user.to_dict(), "csrf_token": generate_csrf()})


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """End the session on POST (the page's form carries the CSRF token).

    GET changes nothing: a signed-in user gets a page with a sign-out button, so a link or image on
    another site cannot sign anyone out.
    """
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return render_template("auth/logout.html")
    end_session()
    if request.is_json:
        return jsonify({"status": "logged out"})
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@login_manager.unauthorized_handler
def unauthorized():
    """API clients get 401 JSON; people are sent to the login page and come back afterwards."""
    from ecg_backend.errors import error_response, wants_json

    if wants_json():
        return error_response(401, "authentication required: log in or send 'Authorization: Bearer <token>'")
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


@login_manager.user_loader
def load_user(user_id: str):
    """The session's user, or None (signed out) when the account is gone or disabled, or its password changed."""
    return load_session_user(user_id)
