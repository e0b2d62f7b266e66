"""Sessions bound to the account's password: changing the password signs out every other session.

Flask-Login keeps a user id in the session (and in the remember-me cookie) and asks ``load_user`` for
the user on each request. Here that id is ``"<user id>:<fingerprint>"``, the fingerprint being an HMAC
(keyed with SECRET_KEY) of the stored password hash: a new password gives a new hash, so sessions and
remember-me cookies issued before it no longer load anyone and the browser is sent to the login page.
The session that made the change is re-bound to the new password (``rebind_session``) and stays signed in.
Session cookies are signed, not encrypted: the HMAC keeps the hash itself out of them. Sessions from
before this scheme (a plain id) are signed out once.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request, session
from flask_login import current_user, login_user

from ecg_backend.models import User, is_valid_id

_FINGERPRINT_CHARS = 32  # 128 bits


def password_fingerprint(user: User) -> str:
    """A short keyed digest of ``user``'s password hash; changes whenever the password does."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, b"session-password:" + (user.password_hash or "").encode(), hashlib.sha256)
    return digest.hexdigest()[:_FINGERPRINT_CHARS]


def session_user_id(user: User) -> str:
    """What the session and the remember-me cookie hold for ``user``."""
    return f"{user.id}:{password_fingerprint(user)}"


def start_session(user: User, remember: bool) -> None:
    """Sign ``user`` in (a permanent session, expiring after PERMANENT_SESSION_LIFETIME)."""
    session.permanent = True
    login_user(user, remember=remember)
    # login_user stored user.get_id() (the bare id); the remember cookie is written from this value too.
    session["_user_id"] = session_user_id(user)


def rebind_session(user: User) -> bool:
    """Keep this request's session signed in after ``user`` (its own account) got a new password.

    Returns whether there was such a session; a remember-me cookie it carried is issued again.
    """
    if not current_user.is_authenticated or current_user.id != user.id or "_user_id" not in session:
        return False
    session["_user_id"] = session_user_id(user)
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        session["_remember"] = "set"
    return True


def load_session_user(session_id: str) -> User | None:
    """The user a session or remember-me cookie names, or ``None`` (signed out).

    ``None`` when the value is malformed or from before this scheme, the account is gone or disabled, or
    the password changed since the session began.
    """
    from ecg_backend.extensions import db

    user_id, sep, fingerprint = str(session_id).partition(":")
    if not sep or not (user_id.isascii() and user_id.isdigit()) or len(user_id) > 10 or not is_valid_id(int(user_id)):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(fingerprint.encode(), password_fingerprint(user).encode()):
        return None
    return user
