"""Personal API tokens: shown once at creation, stored as a SHA-256 hash, revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import ApiToken, User, is_valid_id, utcnow

TOKEN_PREFIX = "ecg_"  # nosec B105 - a public marker for token scanners, not a secret
# last_used_at is a convenience, not an audit log: write it at most once a minute per token.
_LAST_USED_RESOLUTION = timedelta(seconds=60)
# The user's columns and the token's id and last use, for an active token of an active account.
_USER_ATTRIBUTES = tuple((attr.key, attr.columns[0]) for attr in inspect(User).column_attrs)
_TOKEN_OWNER = (
    select(*(column for _, column in _USER_ATTRIBUTES), ApiToken.id.label("token_id"),
           ApiToken.last_used_at.label("token_last_used_at"))
    .select_from(User.__table__.join(ApiToken.__table__, ApiToken.user_id == User.id))
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None),
           User.is_active.is_(True))
)


def _digest(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no dictionary to attack, unlike passwords).
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the plaintext token (never stored)."""
    name = (name or "").strip()
    if len(name) > 80:
        raise InputError("token name must be at most 80 characters", details={"field": "name"})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name or "token", token_hash=_digest(raw), prefix=raw[:12])
    db.session.add(token)
    db.session.commit()
    return token, raw


def authenticate_token(raw: str) -> User | None:
    """The active owner of an active token, or ``None``.

    One query joins the token to its user and filters out revoked tokens and disabled accounts, so a
    revocation (or a disabled account) counts from the very next request, in every process. It runs
    on every token request, so it is a plain column query: the user is built from the row and attached
    to the session as if the ORM had loaded it, which costs a fraction of loading two ORM entities.
    """
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    # The statement object is reused, so SQLAlchemy computes its cache key once per process.
    row = db.session.connection().execute(_TOKEN_OWNER, {"token_hash": _digest(raw)}).first()
    if row is None:
        return None
    user = db.session.identity_map.get(identity_key(User, row.id))
    if user is None:
        user = User(**{key: row._mapping[column] for key, column in _USER_ATTRIBUTES})
        make_transient_to_detached(user)  # persistent once added: no INSERT, no history
        db.session.add(user)
    now = utcnow()
    if row.token_last_used_at is None or now - row.token_last_used_at > _LAST_USED_RESOLUTION:
        db.session.execute(update(ApiToken).where(ApiToken.id == row.token_id).values(last_used_at=now))
        db.session.commit()
    return user


def list_tokens(user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(),
                                                                         ApiToken.id.desc())
    return list(db.session.scalars(query))


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens (404 for anyone else's); revoking twice is harmless."""
    query = select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    token = db.session.scalar(query) if is_valid_id(token_id) else None
    if token is None:
        raise InputError(f"token {token_id} not found", status=404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token
