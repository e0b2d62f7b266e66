"""Account self-service pages (/account, /account/tokens), the first admin's forced password change and the
admin page's confirmation before disabling an account: HTTP level (the browser tests are test_ui_everyday.py)."""

from __future__ import annotations

import re

from tests.ui.conftest import PASSWORD, csrf_from, login, post_form

NEW_PASSWORD = "a-brand-new-secret-7"


def _change(client, current, new, confirm=None):
    return post_form(
        client,
        "/account/password",
        {"current_password": current, "new_password": new, "confirm_password": new if confirm is None else confirm},
        page="/account",
    )


def test_ui_account_page_shows_name_email_role(clinician):
    html = clinician.get("/account").get_data(as_text=True)
    assert "Alice Martin" in html and "alice@clinic.example.org" in html and "Clinician" in html
    assert 'href="/account"' in clinician.get("/").get_data(as_text=True)  # the name in the top bar links here


def test_ui_password_change_needs_the_current_password_and_says_why_in_words(clinician):
    wrong = _change(clinician, "not-my-password", NEW_PASSWORD)
    assert wrong.status_code == 422 and "The current password is not right." in wrong.get_data(as_text=True)
    mismatch = _change(clinician, PASSWORD, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert mismatch.status_code == 422 and "The two new passwords differ." in mismatch.get_data(as_text=True)
    short = _change(clinician, PASSWORD, "short")
    assert short.status_code == 422 and "at least 8 characters" in short.get_data(as_text=True)
    for response in (wrong, mismatch, short):
        messages = re.findall(r'class="field-error"[^>]*>([^<]+)<', response.get_data(as_text=True))
        assert messages and not any("_" in m for m in messages), messages  # words, not field names


def test_ui_password_change_signs_out_other_sessions_and_keeps_this_one(ui_app, clinician, make_user):
    other = ui_app.test_client()
    login(other, "alice@clinic.example.org")
    with ui_app.app_context():
        from ecg_backend.services.tokens import authenticate_token, create_token
        from ecg_backend.services.users import find_by_email

        _, raw = create_token(find_by_email("alice@clinic.example.org"), "script")
    response = _change(clinician, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    page = clinician.get("/account").get_data(as_text=True)
    assert "Password changed" in page and "every other session was signed out" in page and "1 API token" in page
    assert clinician.get("/patients").status_code == 200  # this session stays signed in
    assert "/login" in other.get("/patients").headers["Location"]  # the other one is signed out
    with ui_app.app_context():
        assert authenticate_token(raw) is None  # as on a reset: tokens revoked
    fresh = ui_app.test_client()
    login(fresh, "alice@clinic.example.org", NEW_PASSWORD)


def test_ui_tokens_are_listed_created_once_and_revoked(ui_app, clinician, other_clinician):
    assert "You have no API tokens yet." in clinician.get("/account/tokens").get_data(as_text=True)
    created = post_form(clinician, "/account/tokens", {"name": "ward export"}, page="/account/tokens")
    html = created.get_data(as_text=True)
    assert created.status_code == 201 and 'id="copy-token"' in html
    raw = re.search(r'id="new-token" value="([^"]+)"', html).group(1)
    assert raw.startswith("ecg_")
    assert clinician.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    listing = clinician.get("/account/tokens").get_data(as_text=True)
    assert raw not in listing and "ward export" in listing and "never" not in listing  # used once just now
    token_id = int(re.search(r'data-token="(\d+)"', listing).group(1))
    # Another clinician cannot revoke it (404, like any id that is not theirs).
    assert post_form(other_clinician, f"/account/tokens/{token_id}/revoke", page="/account/tokens").status_code == 404
    revoked = post_form(clinician, f"/account/tokens/{token_id}/revoke", page="/account/tokens")
    assert revoked.status_code == 303
    listing = clinician.get("/account/tokens").get_data(as_text=True)
    assert "revoked" in listing and "can no longer sign in" in listing
    assert clinician.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_ui_token_name_is_required_in_words(clinician):
    response = post_form(clinician, "/account/tokens", {"name": ""}, page="/account/tokens")
    assert response.status_code == 422 and "Name the token" in response.get_data(as_text=True)


def test_ui_generated_first_admin_must_change_password_first(ui_app, monkeypatch):
    from ecg_backend.services import users

    monkeypatch.setattr(users.secrets, "token_urlsafe", lambda n: "generated-at-start")
    ui_app.config["ADMIN_PASSWORD"] = None
    with ui_app.app_context():
        admin = users.ensure_admin(ui_app)
        assert admin.must_change_password is True
        email = admin.email
    client = ui_app.test_client()
    login(client, email, "generated-at-start")
    for page in ("/", "/patients", "/admin", "/account/tokens"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"].endswith("/account"), page
    assert "Choose your own password" in client.get("/account").get_data(as_text=True)
    assert _change(client, "generated-at-start", NEW_PASSWORD).status_code == 303
    assert client.get("/admin").status_code == 200
    with ui_app.app_context():
        assert users.find_by_email(email).must_change_password is False


def test_ui_admin_set_password_does_not_force_a_change(ui_app, make_user):
    email = make_user("root@clinic.example.org", role="admin")
    client = ui_app.test_client()
    login(client, email)
    assert client.get("/patients").status_code == 200


def test_ui_admin_disable_asks_for_confirmation_first(admin, make_user):
    make_user("carl@clinic.example.org")
    html = admin.get("/admin").get_data(as_text=True)
    row = html.split('data-user="carl@clinic.example.org"')[1].split("</tr>")[0]
    # The first "Disable" only opens the confirmation; the button that posts says whom it disables and why.
    assert '<details class="confirm"' in row and "<summary>Disable" in row
    assert "can no longer sign in" in row and ">Disable carl@clinic.example.org</button>" in row
    assert csrf_from(row)


def test_ui_must_change_password_migration_keeps_every_row(tmp_path):
    """Adding and dropping the column leaves users and what hangs off them (SQLite cascades on a table rebuild)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from ecg_backend import create_app
    from ecg_backend.config import TestConfig
    from ecg_backend.extensions import db
    from tests.conftest import dispose_app, untrained_detector

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'old.db'}"
    config.DETECTOR = untrained_detector()
    app = create_app(config)
    try:
        with app.app_context():
            upgrade(revision="7b3e91c4d2a6")
            db.session.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, is_active, created_at)"
                    " VALUES (1, 'a@example.com', '', 'x', 'admin', 1, '2026-01-01')"
                )
            )
            db.session.execute(
                text(
                    "INSERT INTO patients (id, owner_id, name, notes, created_at, updated_at)"
                    " VALUES (1, 1, 'P', '', '2026-01-01', '2026-01-01')"
                )
            )
            db.session.commit()
            upgrade(revision="a7c3e91f0b52")
            flag = db.session.execute(text("SELECT must_change_password FROM users")).scalar_one()
            counts = [db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("users", "patients")]
            downgrade(revision="7b3e91c4d2a6")
            after = [db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("users", "patients")]
        assert not flag and counts == [1, 1] and after == [1, 1]
    finally:
        dispose_app(app)


def test_ui_any_reset_of_the_first_admin_clears_the_flag(ui_app, monkeypatch):
    from ecg_backend.services import users

    ui_app.config["ADMIN_PASSWORD"] = None
    with ui_app.app_context():
        admin = users.ensure_admin(ui_app)
        users.reset_password(admin.id, NEW_PASSWORD)  # e.g. `flask users set-password`
        assert users.get_user(admin.id).must_change_password is False
