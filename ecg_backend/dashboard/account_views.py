"""Account self-service: one's own details, password and API tokens.

A password change signs out the account's other sessions and revokes its API tokens, as an admin's reset
does (``services.users.change_password`` -> ``reset_password``); this session is re-bound to the new password
(``auth.sessions.rebind_session``). An account whose password was generated at first start is sent here
before any other page until it has chosen its own.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ecg_backend.auth.sessions import rebind_session
from ecg_backend.dashboard import bp
from ecg_backend.dashboard.forms import ConfirmForm, PasswordChangeForm, TokenCreateForm
from ecg_backend.errors import InputError
from ecg_backend.services import tokens as tokens_service
from ecg_backend.services import users as users_service

# Pages an account that must change its password may still open.
_ALLOWED_BEFORE_CHANGE = {"dashboard.account", "dashboard.account_password", "static", "dashboard.plotly_js"}


@bp.before_app_request
def _send_to_password_change():
    """Until a generated first-start password is replaced, every page leads to the account page."""
    endpoint = request.endpoint or ""
    if not endpoint.startswith("dashboard.") or endpoint in _ALLOWED_BEFORE_CHANGE:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    flash(
        "Your password was generated when the product was installed. Choose your own password to continue.", "warning"
    )
    return redirect(url_for("dashboard.account"))


def _render_account(form: PasswordChangeForm | None = None, status: int = 200):
    return render_template("account/index.html", form=form or PasswordChangeForm(formdata=None)), status


@bp.route("/account")
@login_required
def account():
    """Name, email and role, and the change-password form."""
    return _render_account()


@bp.route("/account/password", methods=["POST"])
@login_required
def account_password():
    """Change one's own password (the current one first); other sessions end, API tokens are revoked."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        if form.errors.get("csrf_token"):
            form.form_errors.append("The form expired; please enter the passwords again.")
        return _render_account(form, status=422)
    try:
        reset = users_service.change_password(current_user, form.current_password.data, form.new_password.data)
    except InputError as exc:
        target = form.current_password if (exc.details or {}).get("field") == "current_password" else form.new_password
        target.errors = list(target.errors) + [exc.message[:1].upper() + exc.message[1:]]
        return _render_account(form, status=422)
    rebind_session(reset.user)
    tokens = reset.tokens_revoked
    revoked = f" {tokens} API token{'' if tokens == 1 else 's'} revoked; create new ones below." if tokens else ""
    flash(f"Password changed. You stay signed in here; every other session was signed out.{revoked}", "success")
    return redirect(url_for(".account"), code=303)


def _render_tokens(form: TokenCreateForm | None = None, new_token: str | None = None, status: int = 200):
    return render_template(
        "account/tokens.html",
        tokens=tokens_service.list_tokens(current_user),
        form=form or TokenCreateForm(formdata=None),
        revoke_form=ConfirmForm(),
        new_token=new_token,
    ), status


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def account_tokens():
    """List one's API tokens; POST creates one and shows it once (it is stored only as a hash)."""
    if request.method == "GET":
        return _render_tokens()
    form = TokenCreateForm()
    if not form.validate_on_submit():
        return _render_tokens(form, status=422)
    try:
        _, raw = tokens_service.create_token(current_user, form.name.data)
    except InputError as exc:
        form.name.errors = list(form.name.errors) + [exc.message[:1].upper() + exc.message[1:]]
        return _render_tokens(form, status=422)
    return _render_tokens(new_token=raw, status=201)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def account_token_revoke(token_id: int):
    """Revoke one of one's own tokens (another account's id answers 404)."""
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; nothing was revoked. Please try again.", "error")
        return redirect(url_for(".account_tokens"), code=303)
    try:
        token = tokens_service.revoke_token(current_user, token_id)
    except InputError:
        abort(404)
    flash(f"Token “{token.name}” revoked: programs using it can no longer sign in.", "success")
    return redirect(url_for(".account_tokens"), code=303)
