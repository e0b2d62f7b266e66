"""Passwords never reach a log or a response; logins are rate-limited (429 with the JSON shape)."""

from __future__ import annotations

import logging
import re

import pytest

SECRET = "Sup3r-Secret-Passw0rd-7d1f"


@pytest.fixture
def all_logs(caplog, app):
    """Capture every logger at DEBUG (the app's, werkzeug's, sqlalchemy's with SQL parameters ...)."""
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)] + [app.logger]
    levels = [(logger, logger.level) for logger in loggers if isinstance(logger, logging.Logger)]
    for logger, _ in levels:
        logger.setLevel(logging.DEBUG)
    yield caplog
    for logger, level in levels:
        logger.setLevel(level)


def _form_token(client, path="/login") -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_rel_passwords_never_logged_or_echoed(app, runner, admin_account, bearer, all_logs, capsys):
    bodies = []
    admin = bearer(admin_account)
    client = app.test_client()
    # create through the API and the CLI, with a weak password too (its error must not echo it)
    bodies.append(
        client.post("/api/v1/users", json={"email": "n@example.com", "password": SECRET, "name": "N"}, headers=admin)
    )
    bodies.append(client.post("/api/v1/users", json={"email": "w@example.com", "password": SECRET[:5]}, headers=admin))
    result = runner.invoke(args=["users", "create", "--email", "cli@example.com", "--password", SECRET])
    assert result.exit_code == 0, result.output
    # log in: JSON and form, right and wrong
    bodies.append(client.post("/login", json={"email": "n@example.com", "password": SECRET}))
    bodies.append(client.post("/login", json={"email": "n@example.com", "password": SECRET + "x"}))
    form_client = app.test_client()
    bodies.append(
        form_client.post(
            "/login",
            data={"email": "cli@example.com", "password": SECRET + "y", "csrf_token": _form_token(form_client)},
        )
    )
    bodies.append(
        form_client.post(
            "/login", data={"email": "cli@example.com", "password": SECRET, "csrf_token": _form_token(form_client)}
        )
    )
    # reset: API, and the admin page's form
    user_id = bodies[0].get_json()["id"]
    bodies.append(client.patch(f"/api/v1/users/{user_id}", json={"password": SECRET + "2"}, headers=admin))
    admin_client = app.test_client()
    admin_client.post("/login", json={"email": admin_account.email, "password": admin_account.password})
    bodies.append(
        admin_client.post(
            f"/admin/users/{user_id}/password",
            data={"password": SECRET + "3", "csrf_token": _form_token(admin_client, "/admin")},
        )
    )
    statuses = [r.status_code for r in bodies]
    assert statuses[0] == 201 and statuses[1] == 422 and statuses[2] == 200 and statuses[3] == 401, statuses
    logged = all_logs.text + capsys.readouterr().err + result.output
    assert all_logs.records, "nothing was logged at all: the capture is not working"
    assert SECRET not in logged and SECRET[:5] not in logged
    for response in bodies:
        assert SECRET[:5] not in response.get_data(as_text=True)


@pytest.mark.app_config(
    RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ACCOUNT="3 per minute", LOGIN_LIMIT_PER_ADDRESS="8 per minute"
)
def test_rel_login_rate_limited(app, clinician_a):
    client = app.test_client()
    statuses = [
        client.post("/login", json={"email": clinician_a.email, "password": "wrong"}).status_code for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    limited = client.post("/login", json={"email": clinician_a.email, "password": clinician_a.password})
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # other accounts from the same address: the per-address limit closes in too, and the page says so
    others = [
        client.post("/login", json={"email": f"x{i}@example.com", "password": "wrong"}).status_code for i in range(6)
    ]
    assert 429 in others
    page = client.post("/login", data={"email": "y@example.com", "password": "p"}, headers={"Accept": "text/html"})
    assert page.status_code == 429 and "<html" in page.get_data(as_text=True).lower()
