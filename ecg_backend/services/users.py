"""User accounts: create, authenticate, disable, reset passwords, and the first-start admin."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import ROLES, ApiToken, User, UserSession, is_valid_id, utcnow
from ecg_backend.signals.input_fields import check_unicode

MIN_PASSWORD_LENGTH = 8


def normalise_email(email: str) -> str:
    """Validate an address (no DNS lookup) and return it lower-cased; 422 with the reason otherwise."""
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InputError(f"'{email}' is not a valid email address: {exc}", details={"field": "email"}) from None


def hash_password(password: str) -> str:
    """Hash with the configured werkzeug method after checking the minimum length."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters", details={"field": "password"})
    check_unicode(password, "password")
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def create_user(email: str, password: str, name: str = "", role: str = "clinician") -> User:
    """Create and commit an account; 409 when the email is taken, 422 on a bad email/password/role."""
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}", details={"field": "role"})
    email = normalise_email(email)
    check_unicode(name or "", "name")
    if find_by_email(email) is not None:
        raise InputError(f"an account for {email} already exists", kind="conflict", details={"field": "email"})
    user = User(
        email=email,
        name=(name or "").strip() or email.split("@")[0],
        role=role,
        password_hash=hash_password(password),
        is_active=True,
    )
    db.session.add(user)
    db.session.commit()
    return user


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else ``None`` (same work either way)."""
    try:
        check_unicode(email or "", "email")
        check_unicode(password or "", "password")
    except InputError:  # a lone surrogate (e.g. from a command line) matches no account
        return None
    user = find_by_email(email)
    valid = check_password_hash(user.password_hash if user else _dummy_hash(), password or "")
    return user if user is not None and valid and user.is_active else None


@lru_cache(maxsize=4)
def _hash_for_unknown(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def _dummy_hash() -> str:
    # Checked when the email is unknown, so a wrong email costs as much time as a wrong password.
    return _hash_for_unknown(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.created_at, User.id)))


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id) if is_valid_id(user_id) else None
    if user is None:
        raise InputError(f"user {user_id} not found", kind="not_found")
    return user


def set_active(user_id: int, active: bool, acting_user: User | None = None) -> User:
    """Enable or disable an account (an admin cannot disable themself and lock everyone out).

    Disabling ends every session of the account and revokes its API tokens in the same commit, so that
    enabling it again later brings none of them back: the owner signs in and creates tokens anew.
    """
    user = get_user(user_id)
    if acting_user is not None and acting_user.id == user.id and not active:
        raise InputError("you cannot disable your own account", kind="conflict")
    user.is_active = active
    if not active:
        db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        _revoke_tokens(user.id)
    db.session.commit()
    return user


def _revoke_tokens(user_id: int) -> int:
    revoked = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return revoked.rowcount or 0


class PasswordReset(NamedTuple):
    user: User
    tokens_revoked: int

    def summary(self) -> str:
        """One sentence on what the reset cut off, for the API answer, the admin page and the CLI."""
        tokens = f"{self.tokens_revoked} API token{'' if self.tokens_revoked == 1 else 's'}"
        return f"Every other session of {self.user.email} was signed out and {tokens} revoked."


def reset_password(user_id: int, password: str) -> PasswordReset:
    """Set a new password and cut every credential issued under the old one.

    Sessions are bound to the password hash (``ecg_backend/auth/sessions.py``), so every session and
    remember-me cookie of the account ends with the change; the caller may re-bind the one session that
    made it. The account's API tokens are revoked too, in the same commit: a reset is what people do after
    a compromise, and a token stolen with the password would otherwise outlive it. The owner creates new
    tokens after signing in.
    """
    user = get_user(user_id)
    user.password_hash = hash_password(password)
    user.must_change_password = False  # the password generated at first start is no longer in use
    revoked = _revoke_tokens(user.id)
    db.session.commit()
    return PasswordReset(user, revoked)


def change_password(user: User, current: str, new: str) -> PasswordReset:
    """A person changing their own password: the current one first, then a reset (``reset_password``).

    Every other session of the account is signed out and its API tokens are revoked, exactly as on a
    reset (which also clears ``must_change_password``); the caller re-binds its own session.
    """
    if not check_password_hash(user.password_hash or _dummy_hash(), current or ""):
        raise InputError("The current password is not right.", status=422, details={"field": "current_password"})
    if new == current:
        raise InputError(
            "Choose a new password that differs from the current one.", status=422, details={"field": "new_password"}
        )
    return reset_password(user.id, new)


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def ensure_admin(app) -> User | None:
    """On an empty database, create the first admin from ECG_ADMIN_EMAIL / ECG_ADMIN_PASSWORD.

    Without ECG_ADMIN_PASSWORD a random password is generated and written to the log once: there is no
    default password shared by every install. Returns the new admin, or ``None`` when users exist.
    """
    if count_users() > 0:
        return None
    password = app.config.get("ADMIN_PASSWORD")
    generated = not password
    if generated:
        password = secrets.token_urlsafe(12)
    try:
        user = create_user(
            app.config.get("ADMIN_EMAIL") or "admin@example.com", password, name="Administrator", role="admin"
        )
    except IntegrityError:  # another process created the first account at the same moment
        db.session.rollback()
        return None
    except InputError as exc:
        raise RuntimeError(
            f"cannot create the first admin from ECG_ADMIN_EMAIL/ECG_ADMIN_PASSWORD: {exc.message}"
        ) from None
    if generated:
        user.must_change_password = True
        db.session.commit()
        app.logger.warning(
            "Created the first admin account: email %s password %s (shown once; change it or set ECG_ADMIN_PASSWORD)",
            user.email,
            password,
        )
    else:
        app.logger.warning("Created the first admin account %s from ECG_ADMIN_EMAIL/ECG_ADMIN_PASSWORD", user.email)
    return user
