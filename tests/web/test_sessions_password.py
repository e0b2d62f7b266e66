"""A password change ends every other session and remember-me cookie of the account, and its API tokens."""

from __future__ import annotations

import re

import pytest

NEW_PASSWORD = "a-brand-new-password"


def _login(app, account, password=None, remember=False):
    client = app.test_client()
    response = client.post(
        "/login", json={"email": account.email, "password": password or account.password, "remember": remember}
    )
    assert response.status_code == 200, response.get_json()
    return client, {"X-CSRFToken": response.get_json()["csrf_token"]}


def _signed_in(client) -> bool:
    status = client.get("/api/v1/me").status_code
    assert status in (200, 401)
    return status == 200


def test_sessions_admin_reset_signs_out_every_session_and_revokes_tokens(
    app, clinician_a, clinician_b, admin_account, bearer
):
    laptop, _ = _login(app, clinician_a)
    phone, _ = _login(app, clinician_a)
    bystander, _ = _login(app, clinician_b)
    token = bearer(clinician_a)
    assert _signed_in(laptop) and _signed_in(phone)
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 200

    response = app.test_client().patch(
        f"/api/v1/users/{clinician_a.id}", json={"password": NEW_PASSWORD}, headers=bearer(admin_account)
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["email"] == clinician_a.email  # the user's fields are still there
    assert body["password_reset"]["api_tokens_revoked"] == 1
    assert body["password_reset"]["this_session_kept"] is False
    assert (
        "signed out" in body["password_reset"]["message"] and "1 API token revoked" in body["password_reset"]["message"]
    )

    assert not _signed_in(laptop) and not _signed_in(phone)
    assert laptop.get("/").status_code == 302 and "/login" in laptop.get("/").headers["Location"]
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 401
    assert _signed_in(bystander)  # other accounts are untouched
    fresh, _ = _login(app, clinician_a, password=NEW_PASSWORD)
    assert _signed_in(fresh)


def test_sessions_own_change_keeps_this_session_only(app, admin_account):
    here, csrf = _login(app, admin_account, remember=True)
    elsewhere, _ = _login(app, admin_account)
    response = here.patch(f"/api/v1/users/{admin_account.id}", json={"password": NEW_PASSWORD}, headers=csrf)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["password_reset"]["this_session_kept"] is True
    assert _signed_in(here) and not _signed_in(elsewhere)
    # the remember-me cookie was issued again for the new password: it alone signs this browser back in
    here.delete_cookie("session")
    assert here.get_cookie("remember_token") is not None
    assert _signed_in(here)


def test_sessions_old_remember_me_cookie_stops_working(app, clinician_a, admin_account, bearer):
    browser, _ = _login(app, clinician_a, remember=True)
    browser.delete_cookie("session")  # the browser was closed: only the remember-me cookie is left
    assert _signed_in(browser)  # control: it works before the reset
    browser.delete_cookie("session")
    app.test_client().patch(
        f"/api/v1/users/{clinician_a.id}", json={"password": NEW_PASSWORD}, headers=bearer(admin_account)
    )
    assert not _signed_in(browser)
    browser.delete_cookie("session")
    assert not _signed_in(browser)


def _form_token(client, page="/admin") -> str:
    html = client.get(page).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_sessions_dashboard_reset_says_what_it_cut(app, clinician_a, admin_account, bearer):
    victim, _ = _login(app, clinician_a)
    bearer(clinician_a), bearer(clinician_a)
    admin, _ = _login(app, admin_account)
    response = admin.post(
        f"/admin/users/{clinician_a.id}/password",
        follow_redirects=True,
        data={"password": NEW_PASSWORD, "csrf_token": _form_token(admin)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Every other session of alice@example.com was signed out and 2 API tokens revoked." in html
    assert "You stay signed in here" not in html
    assert not _signed_in(victim) and _signed_in(admin)


def test_sessions_dashboard_own_reset_stays_signed_in(app, admin_account):
    admin, _ = _login(app, admin_account)
    other, _ = _login(app, admin_account)
    response = admin.post(
        f"/admin/users/{admin_account.id}/password",
        follow_redirects=True,
        data={"password": NEW_PASSWORD, "csrf_token": _form_token(admin)},
    )
    assert "You stay signed in here." in response.get_data(as_text=True)
    assert admin.get("/admin").status_code == 200
    assert other.get("/admin").status_code == 302


def test_sessions_cli_reset_revokes_too(app, runner, clinician_a, bearer):
    browser, _ = _login(app, clinician_a)
    token = bearer(clinician_a)
    result = runner.invoke(args=["users", "set-password", "--email", clinician_a.email, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "1 API token revoked" in result.output
    assert not _signed_in(browser)
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 401


@pytest.mark.parametrize(
    "stored",
    ["{id}", "{id}:", "{id}:not-the-fingerprint", "abc:def", "99999999999:x", "\u0661:x", ":", "", "{id}:{fp}:extra"],
)
def test_sessions_old_or_forged_ids_sign_out_cleanly(app, client, clinician_a, stored):
    """Plain ids (sessions from before this change) and anything malformed: signed out, never a 500."""
    from ecg_backend.auth.sessions import password_fingerprint
    from ecg_backend.services.users import get_user

    with app.app_context(), app.test_request_context():
        fp = password_fingerprint(get_user(clinician_a.id))
    with client.session_transaction() as session:
        session["_user_id"] = stored.format(id=clinician_a.id, fp=fp)
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_sessions_fingerprint_is_keyed_and_hides_the_hash(app, clinician_a):
    from ecg_backend.auth.sessions import password_fingerprint, session_user_id
    from ecg_backend.services.users import get_user

    with app.app_context():
        user = get_user(clinician_a.id)
        fingerprint = password_fingerprint(user)
        assert session_user_id(user, "sid") == f"{user.id}:{fingerprint}:sid"
        assert fingerprint not in user.password_hash and len(fingerprint) == 32
        app.secret_key = "another-secret-key"
        assert password_fingerprint(user) != fingerprint
