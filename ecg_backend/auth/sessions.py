"""Sessions held on the server and bound to the account's password.

Flask-Login keeps a user id in the session (and in the remember-me cookie) and asks ``load_user`` for
the user on each request. Here that id is ``"<user id>:<fingerprint>:<session id>"``:

* the session id is random and its SHA-256 is a ``user_sessions`` row: logout deletes the row and
  disabling the account deletes all of its rows, so a copied session or remember-me cookie stops working
  (the cookie is signed, but a signature alone cannot be taken back);
* the fingerprint is an HMAC (keyed with SECRET_KEY) of the stored password hash: a new password gives a
  new hash, so sessions and remember-me cookies issued before it no longer load anyone. The session that
  made the change is re-bound to the new password (``rebind_session``) and stays signed in.

Session cookies are signed, not encrypted: the HMAC keeps the hash itself out of them. Sessions from before
this scheme are signed out once. A session row lives at most as long as the longer of the session and
remember-me lifetimes; older rows are deleted when their user signs in again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app, g, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import delete

from ecg_backend.extensions import db
from ecg_backend.models import User, UserSession, is_valid_id, utcnow

_FINGERPRINT_CHARS = 32  # 128 bits


def password_fingerprint(user: User) -> str:
    """A short keyed digest of ``user``'s password hash; changes whenever the password does."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, b"session-password:" + (user.password_hash or "").encode(), hashlib.sha256)
    return digest.hexdigest()[:_FINGERPRINT_CHARS]


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _max_age() -> timedelta:
    config = current_app.config
    seconds = max(_seconds(config.get("PERMANENT_SESSION_LIFETIME")), _seconds(config.get("REMEMBER_COOKIE_DURATION")))
    return timedelta(seconds=seconds or 86400)


def _seconds(value) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value or 0)


def session_user_id(user: User, session_id: str) -> str:
    """What the session and the remember-me cookie hold for ``user`` in session ``session_id``."""
    return f"{user.id}:{password_fingerprint(user)}:{session_id}"


def start_session(user: User, remember: bool) -> None:
    """Sign ``user`` in (a permanent session, expiring after PERMANENT_SESSION_LIFETIME).

    A new server-side session row is stored, and the CSRF token is renewed: one seen before login (on the
    login page, by anyone who shared the browser) is no good afterwards.
    """
    _renew_csrf_token()
    session_id = secrets.token_urlsafe(32)
    db.session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.created_at < utcnow() - _max_age())
    )
    db.session.add(UserSession(id_hash=_id_hash(session_id), user_id=user.id))
    db.session.commit()
    session.permanent = True
    login_user(user, remember=remember)
    # login_user stored user.get_id() (the bare id); the remember cookie is written from this value too.
    session["_user_id"] = session_user_id(user, session_id)


def end_session() -> None:
    """Sign out: delete this session's row (its cookies stop working everywhere), then clear the cookie."""
    parsed = _parse(session.get("_user_id"))
    if parsed is not None:
        db.session.execute(delete(UserSession).where(UserSession.id_hash == _id_hash(parsed[2])))
        db.session.commit()
    logout_user()
    _renew_csrf_token()


def _renew_csrf_token() -> None:
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(field, None)  # the raw token Flask-WTF signs; generate_csrf() makes a new one
    g.pop(field, None)  # and its per-request copy


def rebind_session(user: User) -> bool:
    """Keep this request's session signed in after ``user`` (its own account) got a new password.

    Returns whether there was such a session; a remember-me cookie it carried is issued again.
    """
    parsed = _parse(session.get("_user_id"))
    if not current_user.is_authenticated or current_user.id != user.id or parsed is None:
        return False
    session["_user_id"] = session_user_id(user, parsed[2])
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        session["_remember"] = "set"
    return True


def _parse(value) -> tuple[int, str, str] | None:
    """(user id, fingerprint, session id) from a session value, or None when malformed or of an old scheme."""
    parts = str(value or "").split(":")
    if len(parts) != 3:
        return None
    user_id, fingerprint, session_id = parts
    if not (user_id.isascii() and user_id.isdigit()) or len(user_id) > 10 or not is_valid_id(int(user_id)):
        return None
    if not session_id or len(session_id) > 64:
        return None
    return int(user_id), fingerprint, session_id


def load_session_user(session_value: str) -> User | None:
    """The user a session or remember-me cookie names, or ``None`` (signed out).

    ``None`` when the value is malformed or from before this scheme, the account is gone or disabled, the
    password changed since the session began, or the session was ended (logout, disabled account) or expired.
    """
    parsed = _parse(session_value)
    if parsed is None:
        return None
    user_id, fingerprint, session_id = parsed
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(fingerprint.encode(), password_fingerprint(user).encode()):
        return None
    row = db.session.get(UserSession, _id_hash(session_id))
    if row is None or row.user_id != user.id or row.created_at < utcnow() - _max_age():
        return None
    return user
