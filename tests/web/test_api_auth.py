"""Login, logout, sessions, tokens, CSRF and login rate limits."""

import re
from datetime import UTC

import pytest

from ecg_backend.auth.views import safe_next


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_login_form_renders_fields_and_csrf(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html and _csrf(html)


def test_form_login_redirects_to_next_and_sets_secure_cookie_flags(client, clinician_a):
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=/patients",
        data={"email": clinician_a.email, "password": clinician_a.password, "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/patients"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/v1/me").get_json()["email"] == clinician_a.email


def test_form_login_wrong_password_shows_message(client, clinician_a):
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": clinician_a.email, "password": "nope-nope", "csrf_token": token})
    assert response.status_code == 200
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401


def test_form_login_without_csrf_token_is_rejected(client, clinician_a):
    response = client.post("/login", data={"email": clinician_a.email, "password": clinician_a.password})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil", "javascript:x"])
def test_login_never_redirects_off_site(target):
    assert safe_next(target) is None
    assert safe_next("/analyses/3?x=1") == "/analyses/3?x=1"


def test_json_login_returns_user_and_csrf_token(client, clinician_a):
    response = client.post("/login", json={"email": clinician_a.email.upper(), "password": clinician_a.password})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["email"] == clinician_a.email and body["csrf_token"]


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"email": "alice@example.com", "password": "wrong-password"}, 401),
        ({"email": "nobody@example.com", "password": "whatever-123"}, 401),
        ({"email": "alice@example.com"}, 422),
        ([1, 2], 400),
    ],
)
def test_json_login_errors(client, clinician_a, payload, status):
    response = client.post("/login", json=payload)
    assert response.status_code == status
    assert set(response.get_json()["error"]) == {"code", "message", "details"}


def test_disabled_account_cannot_log_in_and_loses_its_session(app, client, clinician_a, auth):
    from ecg_backend.services.users import set_active

    auth.login(clinician_a)
    with app.app_context():
        set_active(clinician_a.id, False)
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/login", json={"email": clinician_a.email, "password": clinician_a.password}).status_code == 401


def test_logout_ends_the_session(client, clinician_a, auth):
    auth.login(clinician_a)
    assert client.get("/api/v1/me").status_code == 200
    response = client.post("/logout", headers=auth.csrf_headers())
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401


def test_logout_by_get_only_asks_and_keeps_the_session(client, clinician_a, auth):
    auth.login(clinician_a)
    page = client.get("/logout")
    assert page.status_code == 200 and b'action="/logout"' in page.data and b'name="csrf_token"' in page.data
    assert client.get("/api/v1/me").status_code == 200
    client.post("/logout", headers=auth.csrf_headers())
    anonymous = client.get("/logout")
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/login"


def test_anonymous_page_redirects_to_login_but_api_answers_401_json(client):
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    api = client.get("/api/v1/patients")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "unauthorized"


def test_session_writes_need_the_csrf_header(client, clinician_a, auth):
    auth.login(clinician_a)
    rejected = client.post("/api/v1/patients", json={"name": "P"})
    assert rejected.status_code == 400 and rejected.get_json()["error"]["code"] == "csrf_failed"
    accepted = client.post("/api/v1/patients", json={"name": "P"}, headers=auth.csrf_headers())
    assert accepted.status_code == 201
    assert client.get("/api/v1/patients").status_code == 200  # reads need no token


def test_bearer_requests_need_no_csrf_and_set_no_cookie(client, clinician_a, bearer):
    response = client.post("/api/v1/patients", json={"name": "P"}, headers=bearer(clinician_a))
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers
    me = client.get("/api/v1/me", headers=bearer(clinician_a)).get_json()
    assert me["auth"] == "token" and me["email"] == clinician_a.email


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer ecg_not-a-real-token", "Token x"])
def test_bad_authorization_header_is_401(client, clinician_a, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["message"]


def test_token_create_list_revoke(client, clinician_a, clinician_b, bearer):
    headers = bearer(clinician_a)
    created = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=headers)
    assert created.status_code == 201
    new = created.get_json()
    assert new["token"].startswith("ecg_") and new["active"]
    new_headers = {"Authorization": f"Bearer {new['token']}"}
    assert client.get("/api/v1/me", headers=new_headers).status_code == 200
    listed = client.get("/api/v1/tokens", headers=headers).get_json()
    assert {t["name"] for t in listed["items"]} == {"test", "laptop"}
    assert all("token" not in t and "token_hash" not in t for t in listed["items"])
    # B cannot revoke A's token; A can, and it stops working at once.
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=bearer(clinician_b)).status_code == 404
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=new_headers).status_code == 401
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_tokens_are_stored_hashed(app, clinician_a, bearer):
    from ecg_backend.extensions import db
    from ecg_backend.models import ApiToken

    raw = bearer(clinician_a)["Authorization"].split()[1]
    with app.app_context():
        stored = db.session.scalars(db.select(ApiToken)).one()
        assert raw not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64


@pytest.mark.app_config(
    RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ACCOUNT="3 per minute", LOGIN_LIMIT_PER_ADDRESS="100 per minute"
)
def test_failed_logins_are_limited_per_account(client, clinician_a, clinician_b):
    for _ in range(3):
        assert client.post("/login", json={"email": clinician_a.email, "password": "bad-guess"}).status_code == 401
    limited = client.post("/login", json={"email": clinician_a.email, "password": clinician_a.password})
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited.headers
    # another account from the same address is not affected
    assert client.post("/login", json={"email": clinician_b.email, "password": clinician_b.password}).status_code == 200


@pytest.mark.app_config(
    RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ACCOUNT="100 per minute", LOGIN_LIMIT_PER_ADDRESS="4 per minute"
)
def test_logins_are_limited_per_address(client, clinician_a):
    statuses = [
        client.post("/login", json={"email": f"u{i}@example.com", "password": "x-y-z-w"}).status_code for i in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    other = client.post(
        "/login",
        json={"email": clinician_a.email, "password": clinician_a.password},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 200
    page = client.post("/login", data={"email": "x@example.com", "password": "y"})
    assert page.status_code == 429 and "text/html" in page.content_type


def test_page_form_without_csrf_token_is_refused_with_a_message(client, clinician_a, auth):
    auth.login(clinician_a)
    response = client.post("/patients/new", data={"name": "No token"}, headers={"Accept": "text/html"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "form expired" in page
    assert client.get("/api/v1/patients").get_json()["total"] == 0


def test_sessions_expire_and_remember_me_is_bounded(client, clinician_a):
    from datetime import datetime, timedelta
    from email.utils import parsedate_to_datetime

    response = client.post(
        "/login", json={"email": clinician_a.email, "password": clinician_a.password, "remember": True}
    )
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    now = datetime.now(UTC)

    def expires(cookie):
        value = next(p.split("=", 1)[1] for p in cookie.split("; ") if p.lower().startswith("expires="))
        return parsedate_to_datetime(value) - now

    assert timedelta(hours=11) < expires(cookies["session"]) <= timedelta(hours=12, minutes=1)
    assert timedelta(days=13) < expires(cookies["remember_token"]) <= timedelta(days=14, minutes=1)
    assert "HttpOnly" in cookies["remember_token"]


@pytest.mark.redis
def test_login_limits_are_shared_through_redis(redis_url, tmp_path):
    """With REDIS_URL every worker (here: two separate apps) counts against the same limit."""
    import secrets

    import redis

    from tests.conftest import dispose_app, make_test_app

    prefix = "ecg-test-" + secrets.token_hex(4)
    settings = dict(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_KEY_PREFIX=prefix,
        LOGIN_LIMIT_PER_ADDRESS="3 per minute",
        LOGIN_LIMIT_PER_ACCOUNT="100 per minute",
    )
    first = make_test_app(f"sqlite:///{tmp_path / 'one.db'}", **settings)
    second = make_test_app(f"sqlite:///{tmp_path / 'two.db'}", **settings)
    try:
        body = {"email": "x@example.com", "password": "wrong-guess"}
        statuses = [app.test_client().post("/login", json=body).status_code for app in (first, second, first, second)]
        assert statuses == [401, 401, 401, 429]
    finally:
        connection = redis.Redis.from_url(redis_url)
        keys = list(connection.scan_iter(f"*{prefix}*"))
        assert keys, "the limiter wrote nothing to Redis"
        connection.delete(*keys)
        dispose_app(first)
        dispose_app(second)


def test_logout_by_post_needs_the_csrf_token(client, clinician_a, auth):
    auth.login(clinician_a)
    assert client.post("/logout", json={}).status_code == 400  # POST goes through the global CSRF check
    assert client.get("/api/v1/me").status_code == 200
    assert auth.logout().get_json() == {"status": "logged out"}
    assert client.get("/api/v1/me").status_code == 401
