"""Sign-in hardening: sessions ended on the server, CSRF renewed at login, hostile text in credentials,
a redirect target with control characters, login limits shared by workers without Redis, a weak secret
refused in production, private files, and the 405 error code."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.conftest import TEST_PASSWORD, dispose_app, make_test_app
from tests.ui.conftest import csrf_from

LONE = "\ud800"


def _raw_json(body: dict) -> dict:
    # json.dumps escapes a lone surrogate as "\ud800", as a hostile client would send it
    return {"data": json.dumps(body), "content_type": "application/json"}


def _cookie(client, name: str):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _copy_cookies(client, app, names=("session", "remember_token")):
    """A second browser holding copies of ``client``'s cookies (as a thief would)."""
    thief = app.test_client()
    for name in names:
        value = _cookie(client, name)
        if value:
            thief.set_cookie(name, value)
    return thief


# ---------------------------------------------------------------- logout and disabled accounts ------
def test_logout_ends_the_session_on_the_server(app, client, clinician_a):
    login = client.post("/login", json={"email": clinician_a.email, "password": clinician_a.password, "remember": True})
    csrf = {"X-CSRFToken": login.get_json()["csrf_token"]}
    session_copy = _copy_cookies(client, app, names=("session",))
    remember_copy = _copy_cookies(client, app, names=("remember_token",))
    assert session_copy.get("/api/v1/me").status_code == 200
    assert remember_copy.get("/api/v1/me").status_code == 200  # the remember cookie alone signs in
    assert client.post("/logout", headers=csrf).status_code == 302
    for copy in (session_copy, remember_copy, _copy_cookies(client, app)):
        assert copy.get("/api/v1/me").status_code == 401
        page = copy.get("/")
        assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_logout_ends_only_its_own_session(app, clinician_a):
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        assert browser.post("/login", json={"email": clinician_a.email, "password": TEST_PASSWORD}).status_code == 200
    csrf = first.post("/login", json={"email": clinician_a.email, "password": TEST_PASSWORD}).get_json()["csrf_token"]
    first.post("/logout", json={}, headers={"X-CSRFToken": csrf})
    assert first.get("/api/v1/me").status_code == 401
    assert second.get("/api/v1/me").status_code == 200


def test_reenabled_account_gets_no_old_session_or_token_back(app, client, clinician_a, admin_account, auth, bearer):
    browser = app.test_client()
    browser.post("/login", json={"email": clinician_a.email, "password": TEST_PASSWORD, "remember": True})
    remember_copy = _copy_cookies(browser, app, names=("remember_token",))
    token = bearer(clinician_a)
    assert browser.get("/api/v1/me").status_code == 200 and client.get("/api/v1/me", headers=token).status_code == 200
    auth.login(admin_account)
    for active in (False, True):
        response = client.patch(
            f"/api/v1/users/{clinician_a.id}", json={"is_active": active}, headers=auth.csrf_headers()
        )
        assert response.status_code == 200 and response.get_json()["is_active"] is active
    for anyone in (browser, remember_copy):
        assert anyone.get("/api/v1/me").status_code == 401
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 401
    again = app.test_client()  # the account itself works again, with a new sign-in
    assert again.post("/login", json={"email": clinician_a.email, "password": TEST_PASSWORD}).status_code == 200
    assert again.get("/api/v1/me").status_code == 200


# ---------------------------------------------------------------- CSRF renewed at login --------------
def test_csrf_token_is_renewed_at_form_login(app, clinician_a):
    browser = app.test_client()
    before = csrf_from(browser.get("/login").get_data(as_text=True))
    response = browser.post(
        "/login", data={"email": clinician_a.email, "password": TEST_PASSWORD, "csrf_token": before}
    )
    assert response.status_code == 302
    after = csrf_from(browser.get("/patients/new").get_data(as_text=True))
    assert after != before
    # the token seen before login no longer passes; the new one does
    stale = browser.post("/api/v1/patients", json={"name": "Stale Token"}, headers={"X-CSRFToken": before})
    assert stale.status_code == 400 and stale.get_json()["error"]["code"] == "csrf_failed"
    fresh = browser.post("/api/v1/patients", json={"name": "Fresh Token"}, headers={"X-CSRFToken": after})
    assert fresh.status_code == 201


def test_csrf_token_is_renewed_at_json_login(app, clinician_a):
    browser = app.test_client()
    before = csrf_from(browser.get("/login").get_data(as_text=True))
    login = browser.post("/login", json={"email": clinician_a.email, "password": TEST_PASSWORD})
    after = login.get_json()["csrf_token"]
    assert after != before
    assert browser.post("/api/v1/tokens", json={}, headers={"X-CSRFToken": before}).status_code == 400
    assert browser.post("/api/v1/tokens", json={}, headers={"X-CSRFToken": after}).status_code == 201


# ---------------------------------------------------------------- hostile text in credentials --------
@pytest.mark.parametrize("field", ["email", "password"])
def test_lone_surrogate_in_login_is_a_422_naming_the_field(client, clinician_a, field):
    body = {"email": clinician_a.email, "password": TEST_PASSWORD}
    body[field] = body[field][:3] + LONE + body[field][3:]
    response = client.post("/login", **_raw_json(body))
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert "not valid Unicode" in error["message"] and error["details"] == {"field": field}
    assert client.get("/api/v1/me").status_code == 401


def test_lone_surrogate_in_token_name_and_passwords_is_a_422(client, clinician_a, admin_account, auth, app):
    auth.login(admin_account)
    headers = auth.csrf_headers()
    attempts = [
        ("post", "/api/v1/tokens", {"name": "laptop" + LONE}, "name"),
        ("patch", f"/api/v1/users/{clinician_a.id}", {"password": "new-password" + LONE}, "password"),
        ("patch", f"/api/v1/users/{admin_account.id}", {"password": LONE * 12}, "password"),
        ("post", "/api/v1/users", {"email": "new@example.com", "password": "long-password" + LONE}, "password"),
        ("post", "/api/v1/users", {"email": "new@example.com", "password": "long-password", "name": LONE}, "name"),
    ]
    for method, url, body, field in attempts:
        response = getattr(client, method)(url, headers=headers, **_raw_json(body))
        assert response.status_code == 422, (url, body, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert "not valid Unicode" in error["message"] and error["details"] == {"field": field}, error
    # nothing was changed: both passwords still work, no token, no account was made
    for account in (clinician_a, admin_account):
        login = app.test_client().post("/login", json={"email": account.email, "password": TEST_PASSWORD})
        assert login.status_code == 200
    assert client.get("/api/v1/tokens").get_json()["total"] == 0
    assert len(client.get("/api/v1/users").get_json()["items"]) == 2


def test_paired_surrogates_are_ordinary_text(client, clinician_a, auth):
    auth.login(clinician_a)
    response = client.post("/api/v1/tokens", headers=auth.csrf_headers(), **_raw_json({"name": "heart \U0001f493"}))
    assert response.status_code == 201 and response.get_json()["name"] == "heart \U0001f493"


def test_lone_surrogate_passwords_from_the_command_line_are_refused(app, runner, clinician_a):
    result = runner.invoke(
        args=["users", "set-password", "--email", clinician_a.email, "--password", "long-password\udcff"]
    )
    assert result.exit_code != 0 and "not valid Unicode" in result.output
    assert not isinstance(result.exception, UnicodeEncodeError)


# ---------------------------------------------------------------- redirect after login --------------
@pytest.mark.parametrize(
    "target",
    [
        "/patients\nX-Injected: 1",
        "/patients\r\nSet-Cookie: a=b",
        "/a\x00b",
        "/a\tb",
        "/\x7f",
        "http://[",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/" + "a" * 5000,
    ],
)
def test_next_with_control_characters_or_elsewhere_goes_home(app, clinician_a, target):
    from urllib.parse import quote

    browser = app.test_client()
    token = csrf_from(browser.get("/login").get_data(as_text=True))
    response = browser.post(
        "/login?next=" + quote(target, safe=""),
        data={"email": clinician_a.email, "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert response.headers["Location"] == "/"


def test_next_to_a_page_of_this_site_is_kept(app, clinician_a):
    browser = app.test_client()
    token = csrf_from(browser.get("/login").get_data(as_text=True))
    response = browser.post(
        "/login?next=%2Fpatients%3Fq%3Dsmith",
        data={"email": clinician_a.email, "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/patients?q=smith"


# ---------------------------------------------------------------- login limits across workers -------
def test_login_limits_hold_across_workers_without_redis(tmp_path):
    """Two apps (as two gunicorn workers) on the default counters file: the limit is counted once."""
    from ecg_backend.auth.ratelimit_storage import storage_uri

    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": storage_uri(tmp_path / "ratelimits.sqlite"),
        "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
        "LOGIN_LIMIT_PER_ACCOUNT": "3 per minute",
    }
    first = make_test_app(f"sqlite:///{tmp_path / 'one.db'}", **settings)
    second = make_test_app(f"sqlite:///{tmp_path / 'one.db'}", **settings)
    try:
        body = {"email": "x@example.com", "password": "wrong-guess"}
        statuses = [
            app.test_client().post("/login", json=body).status_code for app in (first, second, first, second, first)
        ]
        assert statuses == [401, 401, 401, 429, 429]
        limited = second.test_client().post("/login", json=body)
        assert limited.get_json()["error"]["code"] == "rate_limited" and int(limited.headers["Retry-After"]) > 0
    finally:
        dispose_app(first)
        dispose_app(second)


def test_production_counts_login_limits_in_the_instance_folder(tmp_path, monkeypatch):
    from ecg_backend import create_app

    monkeypatch.setenv("SECRET_KEY", "k3y-" + "0123456789abcdef" * 3)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
            "AUTO_MIGRATE": False,
            "BOOTSTRAP_ADMIN": False,
            "DETECTOR": None,
            "MODEL_REQUIRED": False,
        }
    )
    assert app.config["RATELIMIT_STORAGE_URI"] == f"ecgsqlite://{app.instance_path}/ratelimits.sqlite"


# ---------------------------------------------------------------- secret key, files, 405 ------------
@pytest.mark.parametrize("key", ["x", "short-secret", "a" * 40, "0123456789" * 3])
def test_weak_secret_key_is_refused_in_production(monkeypatch, key):
    from ecg_backend import create_app

    monkeypatch.setenv("SECRET_KEY", key)
    monkeypatch.setenv("ECG_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY is too weak"):
        create_app({"AUTO_MIGRATE": False, "BOOTSTRAP_ADMIN": False, "MODEL_REQUIRED": False})


def test_weak_secret_key_is_allowed_in_development_only(tmp_path):
    from ecg_backend.config import check_secret_key

    check_secret_key("x", "development")
    check_secret_key("x", "testing")
    check_secret_key(os.urandom(24).hex(), "production")
    with pytest.raises(RuntimeError):
        check_secret_key("x", "staging")


def test_database_and_upload_area_are_private(tmp_path):
    from ecg_backend import create_app
    from ecg_backend.config import TestConfig

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'private.db'}"
    config.UPLOAD_DIR = str(tmp_path / "uploads")
    config.AUTO_MIGRATE = True
    from tests.conftest import untrained_detector

    config.DETECTOR = untrained_detector()
    os.chmod(tmp_path, 0o755)
    app = create_app(config)
    try:
        for path, mode in ((tmp_path / "private.db", 0o600), (tmp_path / "uploads", 0o700)):
            assert stat.S_IMODE(path.stat().st_mode) == mode, (path, oct(path.stat().st_mode))
        assert stat.S_IMODE(os.stat(app.instance_path).st_mode) & 0o077 == 0
    finally:
        dispose_app(app)


def test_method_not_allowed_has_its_own_code(client):
    response = client.put("/api/v1/tokens")
    assert response.status_code == 405
    error = response.get_json()["error"]
    assert error["code"] == "method_not_allowed" and "GET or POST" in error["message"]
    assert "GET" in response.headers["Allow"]
