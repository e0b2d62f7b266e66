"""Bearer-token authentication: one joined query, a 1-second memory per process, emptied by any change."""

from datetime import timedelta

from ecg_backend.extensions import db
from ecg_backend.models import ApiToken, User


def test_token_user_is_the_stored_user(client, clinician_a, bearer):
    me = client.get("/api/v1/me", headers=bearer(clinician_a)).get_json()
    assert (me["id"], me["email"], me["name"], me["role"], me["is_active"]) == (
        clinician_a.id,
        clinician_a.email,
        "Alice Clinician",
        "clinician",
        True,
    )


def test_revoked_token_fails_on_the_next_request(client, clinician_a, bearer):
    headers = bearer(clinician_a)
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # now remembered by this process
    token_id = client.get("/api/v1/tokens", headers=headers).get_json()["items"][0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.post("/predict", json={"beat": [0.0] * 140}, headers=headers).status_code == 401


def _revoke_elsewhere(app):
    import sqlite3

    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as other:
        other.execute("UPDATE api_tokens SET revoked_at = '2026-01-01 00:00:00'")


def test_revocation_by_another_process_counts_within_the_cache_bound(app, client, clinician_a, bearer, monkeypatch):
    """A revocation written elsewhere (another worker, the CLI) is seen within CACHE_SECONDS."""
    from ecg_backend.services import tokens

    clock = [1000.0]
    monkeypatch.setattr(tokens.time, "monotonic", lambda: clock[0])
    headers = bearer(clinician_a)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    _revoke_elsewhere(app)
    clock[0] += tokens.CACHE_SECONDS - 0.01  # still remembered by this process
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock[0] += 0.02
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers=headers).status_code == 401  # a refused token is not remembered


def test_without_the_cache_a_revocation_elsewhere_counts_at_once(app, client, clinician_a, bearer, monkeypatch):
    from ecg_backend.services import tokens

    monkeypatch.setattr(tokens, "CACHE_SECONDS", 0.0)
    tokens.forget_token_owners()
    headers = bearer(clinician_a)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    _revoke_elsewhere(app)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_password_reset_in_this_process_ends_remembered_tokens_at_once(client, clinician_a, admin_account, bearer):
    headers = bearer(clinician_a)
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # now remembered
    answer = client.patch(
        f"/api/v1/users/{clinician_a.id}", json={"password": "a-brand-new-password-9"}, headers=bearer(admin_account)
    )
    assert answer.status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_renamed_user_is_seen_at_once(app, client, clinician_a, bearer):
    headers = bearer(clinician_a)
    assert client.get("/api/v1/me", headers=headers).get_json()["name"] == "Alice Clinician"
    with app.app_context():
        db.session.get(User, clinician_a.id).name = "Alice Renamed"
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).get_json()["name"] == "Alice Renamed"


def test_disabled_account_token_fails_at_once(client, clinician_a, admin_account, bearer):
    headers = bearer(clinician_a)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    answer = client.patch(f"/api/v1/users/{clinician_a.id}", json={"is_active": False}, headers=bearer(admin_account))
    assert answer.status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(app, client, clinician_a, bearer):
    headers = bearer(clinician_a)
    client.get("/api/v1/me", headers=headers)
    with app.app_context():
        first = db.session.scalars(db.select(ApiToken)).one().last_used_at
    assert first is not None
    client.get("/api/v1/me", headers=headers)
    with app.app_context():
        token = db.session.scalars(db.select(ApiToken)).one()
        assert token.last_used_at == first
        token.last_used_at = first - timedelta(minutes=2)
        db.session.commit()
    client.get("/api/v1/me", headers=headers)
    with app.app_context():
        assert db.session.scalars(db.select(ApiToken)).one().last_used_at > first - timedelta(minutes=2)


def test_token_request_inside_an_open_app_context_reuses_the_loaded_user(app, clinician_a, bearer):
    """The request shares the test's session: the user already in it is reused, not added twice."""
    headers = bearer(clinician_a)
    client = app.test_client()
    with app.app_context():
        loaded = db.session.get(User, clinician_a.id)
        assert client.get("/api/v1/me", headers=headers).get_json()["email"] == loaded.email
        created = client.post("/api/v1/tokens", json={"name": "second"}, headers=headers)
        assert created.status_code == 201
        assert db.session.get(User, clinician_a.id) is loaded
