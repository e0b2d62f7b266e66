"""Admin pages: site counts and clinician accounts (create, disable/enable, reset password).

Clinicians get 404 here, like any other page they may not see, so the admin surface does not announce itself.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ecg_backend.auth.sessions import rebind_session
from ecg_backend.dashboard import bp, queries
from ecg_backend.dashboard.forms import ConfirmForm, PasswordResetForm, UserCreateForm
from ecg_backend.errors import InputError
from ecg_backend.services import users as users_service


def admin_required(view):
    """Logged-in admins only; everyone else who is logged in gets 404."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if getattr(current_user, "role", None) != "admin":
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def _render(create_form=None, status=200):
    return render_template(
        "admin/index.html",
        counts=queries.site_counts(),
        users=queries.all_users(),
        create_form=create_form or UserCreateForm(formdata=None),
        reset_form=PasswordResetForm(formdata=None),
        toggle_form=ConfirmForm(),
    ), status


@bp.route("/admin")
@admin_required
def admin():
    """Counts of users, patients and analyses; the list of accounts."""
    return _render()


@bp.route("/admin/users", methods=["POST"])
@admin_required
def admin_user_create():
    """Create an account (clinician by default)."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = users_service.create_user(form.email.data, form.password.data, form.name.data, form.role.data)
        except InputError as exc:
            form.email.errors = list(form.email.errors) + [exc.message]
        else:
            flash(f"Account {user.email} created ({user.role}).", "success")
            return redirect(url_for(".admin"), code=303)
    return _render(form, status=422)


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@admin_required
def admin_user_toggle(user_id: int):
    """Disable an active account or enable a disabled one."""
    user = queries.user_or_404(user_id)
    if ConfirmForm().validate_on_submit():
        try:
            users_service.set_active(user.id, not user.is_active, acting_user=current_user)
        except InputError as exc:
            flash(exc.message, "error")
        else:
            flash(f"{user.email} is now {'enabled' if user.is_active else 'disabled'}.", "success")
    return redirect(url_for(".admin"), code=303)


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@admin_required
def admin_user_password(user_id: int):
    """Set a new password for an account (tell the person through a trusted channel).

    The account's other sessions are signed out and its API tokens revoked (``users.reset_password``);
    admins resetting their own password stay signed in here.
    """
    user = queries.user_or_404(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            reset = users_service.reset_password(user.id, form.password.data)
        except InputError as exc:
            flash(exc.message, "error")
        else:
            kept = " You stay signed in here." if rebind_session(reset.user) else ""
            flash(f"Password of {user.email} was reset. {reset.summary()}{kept}", "success")
    else:
        flash("Password not reset: " + " ".join(form.password.errors or ["the form expired; try again."]), "error")
    return redirect(url_for(".admin"), code=303)
