"""Personal API tokens: shown once at creation, stored as a SHA-256 hash, revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import ApiToken, User, is_valid_id, utcnow

TOKEN_PREFIX = "ecg_"  # nosec B105 - a public marker for token scanners, not a secret
# last_used_at is a convenience, not an audit log: write it at most once a minute per token.
_LAST_USED_RESOLUTION = timedelta(seconds=60)


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
    """The active owner of an active token, or ``None``."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token.user


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
