"""Security headers on every kind of response, cookie flags, and no stack traces to clients."""

from __future__ import annotations

import logging

import pytest

from ecg_backend.security import content_security_policy


def assert_security_headers(response, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split("; ") if part}
    assert directives.get("script-src") == ["'self'"], (where, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (where, csp)
    assert directives.get("object-src") == ["'none'"], (where, csp)
    assert "'unsafe-eval'" not in csp and "'unsafe-inline'" not in " ".join(directives["script-src"]), where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") in {"same-origin", "no-referrer", "strict-origin-when-cross-origin"}, where


@pytest.fixture
def boom_app(app):
    """The app with one route that raises, to see what a client gets from an unexpected error."""

    def boom():
        raise RuntimeError("secret internal detail /srv/ecg/db.py line 42")

    app.add_url_rule("/api/v1/boom", "boom_api", boom)
    app.add_url_rule("/boom", "boom_page", boom)
    return app


def test_rel_headers_on_pages_api_static_and_errors(boom_app, clinician_a, auth, bearer):
    client = boom_app.test_client()
    auth.client = client
    cases = {
        "healthz": client.get("/healthz"),
        "login page": client.get("/login"),
        "openapi": client.get("/api/openapi.json"),
        "static css": client.get("/static/css/app.css"),
        "static 404": client.get("/static/nope.js"),
        "plotly bundle": client.get("/assets/plotly.min.js"),
        "page 404": client.get("/no-such-page"),
        "api 404": client.get("/api/v1/no-such"),
        "api 401": client.get("/api/v1/patients"),
        "api 405": client.put("/predict"),
        "anonymous page redirect": client.get("/patients"),
    }
    cases["api 413"] = client.post(
        "/predict",
        data=b"x" * (boom_app.config["MAX_CONTENT_LENGTH"] + 1),
        content_type="text/csv",
        headers=bearer(clinician_a),
    )
    auth.login(clinician_a)
    cases["dashboard page"] = client.get("/")
    cases["api 500"] = client.get("/api/v1/boom")
    cases["page 500"] = client.get("/boom")
    statuses = {name: r.status_code for name, r in cases.items()}
    assert statuses["static css"] == 200 and statuses["plotly bundle"] == 200, statuses
    assert statuses["api 413"] == 413 and statuses["api 500"] == 500 and statuses["page 500"] == 500, statuses
    for name, response in cases.items():
        assert_security_headers(response, name)
    # Health data is never cached by shared caches; static assets keep their own caching rules.
    assert cases["dashboard page"].headers["Cache-Control"] == "no-store"
    assert "no-store" not in cases["plotly bundle"].headers["Cache-Control"]


def test_rel_no_stack_traces_to_clients(boom_app, clinician_a, auth, caplog):
    client = boom_app.test_client()
    auth.client = client
    auth.login(clinician_a)
    with caplog.at_level(logging.ERROR):
        api = client.get("/api/v1/boom")
        page = client.get("/boom", headers={"Accept": "text/html"})
    assert api.status_code == 500 and set(api.get_json()["error"]) == {"code", "message", "details"}
    for response in (api, page):
        body = response.get_data(as_text=True)
        assert "Traceback" not in body and "secret internal detail" not in body and "RuntimeError" not in body
    assert "secret internal detail" in caplog.text  # ... but the operator's log has it


def test_rel_session_cookie_flags_http_and_https(app, clinician_a):
    for base_url, secure in (("http://localhost", False), ("https://localhost", True)):
        client = app.test_client()
        response = client.post(
            "/login",
            json={"email": clinician_a.email, "password": clinician_a.password, "remember": True},
            base_url=base_url,
        )
        assert response.status_code == 200
        cookies = {c.split("=")[0]: c for c in response.headers.getlist("Set-Cookie")}
        assert {"session", "remember_token"} <= set(cookies), cookies
        for cookie in cookies.values():
            flags = {part.strip().lower() for part in cookie.split(";")[1:]}
            assert "httponly" in flags and "samesite=lax" in flags, cookie
            assert ("secure" in flags) is secure, cookie
        assert ("Strict-Transport-Security" in response.headers) is secure


def test_rel_csp_never_allows_eval_or_inline_scripts():
    script_src = next(p for p in content_security_policy().split("; ") if p.startswith("script-src"))
    assert script_src == "script-src 'self'"


def test_rel_dashboard_pages_need_no_inline_script(app, clinician_a, auth, beats):
    """Under script-src 'self' an inline script or handler would not run: pages must have none."""
    import re

    client = auth.client
    auth.login(clinician_a)
    response = client.post("/predict", json={"beats": beats(3), "store": True}, headers=auth.csrf_headers())
    analysis_id = response.get_json()["analysis_id"]
    for path in ("/", "/patients", "/patients/new", "/analyse", "/model", f"/analyses/{analysis_id}"):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            src = re.search(r'src="([^"]+)"', tag)
            assert (src and src.group(1).startswith("/")) or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert "javascript:" not in html.lower(), path


def test_rel_security_hook_registered_once(app):
    from ecg_backend import security

    security.init_app(app)  # a second registration must not stack a second hook or session interface
    hooks = [f for f in app.after_request_funcs.get(None, []) if f is security.set_security_headers]
    assert len(hooks) == 1
    assert type(app.session_interface).__mro__[1].__name__ != type(app.session_interface).__name__
