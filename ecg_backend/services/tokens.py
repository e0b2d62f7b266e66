"""Personal API tokens: shown once at creation, stored as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import ApiToken, User, is_valid_id, utcnow
from ecg_backend.signals.input_fields import check_unicode

TOKEN_PREFIX = "ecg_"  # nosec B105 - a public marker for token scanners, not a secret
# last_used_at is a convenience, not an audit log: write it at most once a minute per token.
_LAST_USED_RESOLUTION = timedelta(seconds=60)
# The user's columns and the token's id and last use, for an active token of an active account.
_USER_ATTRIBUTES = tuple((attr.key, attr.columns[0]) for attr in inspect(User).column_attrs)
_TOKEN_OWNER = (
    select(
        *(column for _, column in _USER_ATTRIBUTES),
        ApiToken.id.label("token_id"),
        ApiToken.last_used_at.label("token_last_used_at"),
    )
    .select_from(User.__table__.join(ApiToken.__table__, ApiToken.user_id == User.id))
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.is_active.is_(True))
)


def _digest(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no dictionary to attack, unlike passwords).
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the plaintext token (never stored)."""
    name = check_unicode((name or "").strip(), "name")
    if len(name) > 80:
        raise InputError("token name must be at most 80 characters", details={"field": "name"})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name or "token", token_hash=_digest(raw), prefix=raw[:12])
    db.session.add(token)
    db.session.commit()
    return token, raw


def authenticate_token(raw: str) -> User | None:
    """The active owner of an active token, or ``None``.

    One query joins the token to its user and filters out revoked tokens and disabled accounts. It is
    a plain column query (the statement object is reused, so SQLAlchemy computes its cache key once):
    the user is built from the row and attached to the session as if the ORM had loaded it.

    A found owner is remembered in this process for ``CACHE_SECONDS`` (1 s), so a client sending many
    requests costs one query a second per process. Any change to a token or an account written
    through this process's sessions (a revocation, a disabled account, a password reset, a deletion)
    empties the memory at once; a change written by another process (another gunicorn worker, the
    CLI, another machine) is seen within ``CACHE_SECONDS``.
    """
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = _digest(raw)
    cached = _owners.get(digest)
    if cached is not None and cached[0] > time.monotonic():
        values = cached[1]
    else:
        row = db.session.connection().execute(_TOKEN_OWNER, {"token_hash": digest}).first()
        if row is None:
            _owners.pop(digest, None)
            return None
        values = {key: row._mapping[column] for key, column in _USER_ATTRIBUTES}
        _touch_last_used(row.token_id, row.token_last_used_at)  # a token write: empties the memory
        if CACHE_SECONDS > 0:
            if len(_owners) >= _CACHE_MAX_ENTRIES:
                _owners.clear()
            _owners[digest] = (time.monotonic() + CACHE_SECONDS, values)
    user = db.session.identity_map.get(identity_key(User, values["id"]))
    if user is None:
        user = User(**values)
        make_transient_to_detached(user)  # persistent once added: no INSERT, no history
        db.session.add(user)
    return user


def _touch_last_used(token_id: int, last_used_at) -> None:
    now = utcnow()
    if last_used_at is None or now - last_used_at > _LAST_USED_RESOLUTION:
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()


# --- the per-process memory of token owners, and what empties it --------------------------------------

CACHE_SECONDS = 1.0
_CACHE_MAX_ENTRIES = 4096  # only valid tokens are kept; a full memory starts over
_owners: dict[str, tuple[float, dict]] = {}  # token digest -> (monotonic expiry, the owner's column values)
_AUTH_CHANGED = "ecg_auth_changed"


def forget_token_owners() -> None:
    """Empty this process's memory of token owners (the next request of each token queries again)."""
    _owners.clear()


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session, flush_context) -> None:
    if any(isinstance(obj, (User, ApiToken)) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_AUTH_CHANGED] = True
        _owners.clear()


@event.listens_for(Session, "do_orm_execute")
def _forget_on_bulk_write(state) -> None:
    # UPDATE/DELETE statements on tokens or users (a password reset revokes every token of an account)
    if (
        (state.is_update or state.is_delete)
        and state.bind_mapper is not None
        and state.bind_mapper.class_ in (User, ApiToken)
    ):
        state.session.info[_AUTH_CHANGED] = True
        _owners.clear()


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session) -> None:
    # Again once the change is committed: another thread may have read the old rows in between.
    if session.info.pop(_AUTH_CHANGED, False):
        _owners.clear()


@event.listens_for(Session, "after_rollback")
def _drop_change_mark(session) -> None:
    session.info.pop(_AUTH_CHANGED, None)


def list_tokens(user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    return list(db.session.scalars(query))


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens (404 for anyone else's); revoking twice is harmless."""
    query = select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    token = db.session.scalar(query) if is_valid_id(token_id) else None
    if token is None:
        raise InputError(f"token {token_id} not found", kind="not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token
