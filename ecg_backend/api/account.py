"""``/api/v1/me``, ``/api/v1/tokens`` (own tokens) and ``/api/v1/users`` (admins only)."""

from __future__ import annotations

from flask import g, jsonify

from ecg_backend.api import bp
from ecg_backend.api.auth import api_admin_required, api_login_required, current_api_user
from ecg_backend.api.helpers import json_body, no_content
from ecg_backend.auth.sessions import rebind_session
from ecg_backend.errors import InputError
from ecg_backend.services import tokens, users


@bp.get("/api/v1/me")
@api_login_required
def me():
    return jsonify({**current_api_user().to_dict(), "auth": g.auth_method})


@bp.get("/api/v1/tokens")
@api_login_required
def list_tokens():
    items = [token.to_dict() for token in tokens.list_tokens(current_api_user())]
    return jsonify({"items": items, "total": len(items), "page": 1, "per_page": max(len(items), 1)})


@bp.post("/api/v1/tokens")
@api_login_required
def create_token():
    payload = json_body(required=False)
    name = payload.get("name", "")
    if not isinstance(name, str):
        raise InputError("'name' must be a string", details={"field": "name"})
    token, raw = tokens.create_token(current_api_user(), name)
    return jsonify({**token.to_dict(), "token": raw}), 201


@bp.delete("/api/v1/tokens/<int:token_id>")
@api_login_required
def revoke_token(token_id: int):
    tokens.revoke_token(current_api_user(), token_id)
    return no_content()


@bp.get("/api/v1/users")
@api_admin_required
def list_users():
    items = [user.to_dict() for user in users.list_users()]
    return jsonify({"items": items, "total": len(items), "page": 1, "per_page": max(len(items), 1)})


@bp.post("/api/v1/users")
@api_admin_required
def create_user():
    payload = json_body()
    fields = {k: payload.get(k) for k in ("email", "password", "name", "role")}
    if any(v is not None and not isinstance(v, str) for v in fields.values()):
        raise InputError("email, password, name and role must be strings")
    user = users.create_user(
        fields["email"] or "", fields["password"] or "", fields["name"] or "", fields["role"] or "clinician"
    )
    return jsonify(user.to_dict()), 201


@bp.patch("/api/v1/users/<int:user_id>")
@api_admin_required
def update_user(user_id: int):
    """Disable/enable an account (``is_active``) or reset its password (``password``).

    A reset signs out the account's sessions (all but the caller's own, when admins reset their own
    password) and revokes its API tokens; the answer says so in ``password_reset``.
    """
    payload = json_body()
    unknown = set(payload) - {"is_active", "password"}
    if unknown or not payload:
        raise InputError("send 'is_active' (true/false) and/or 'password'", details={"fields": sorted(unknown)})
    user = users.get_user(user_id)
    if "is_active" in payload:
        if not isinstance(payload["is_active"], bool):
            raise InputError("'is_active' must be true or false", details={"field": "is_active"})
        user = users.set_active(user_id, payload["is_active"], acting_user=current_api_user())
    if "password" in payload:
        if not isinstance(payload["password"], str):
            raise InputError("'password' must be a string", details={"field": "password"})
        reset = users.reset_password(user_id, payload["password"])
        kept = g.auth_method == "session" and rebind_session(reset.user)
        return jsonify(
            {
                **reset.user.to_dict(),
                "password_reset": {
                    "other_sessions_signed_out": True,
                    "this_session_kept": kept,
                    "api_tokens_revoked": reset.tokens_revoked,
                    "message": reset.summary(),
                },
            }
        )
    return jsonify(user.to_dict())
