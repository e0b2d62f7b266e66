"""Access-control matrix: every route of the app x six identities, each with its expected status.

Routes are enumerated from ``app.url_map``, so a new route without an entry in ``EXPECTED`` fails the
test until someone decides who may call it. Every record a route touches belongs to clinician A; the
other identities try to reach it:

    anonymous        no credentials at all
    clinician_a      the owner (Bearer token on API routes, a session on pages)
    clinician_b      another clinician (must get 404 on A's records: ids do not leak)
    admin            an admin (manages accounts, does not read clinicians' patients)
    revoked_token    A's API token after A revoked it
    expired_session  A's session cookie signed longer ago than PERMANENT_SESSION_LIFETIME

The table of outcomes is written to ``test-artifacts/access_matrix.md`` for docs/RELIABILITY.md.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pytest

from tests.reliability.conftest import ARTIFACTS

IDENTITIES = ("anonymous", "clinician_a", "clinician_b", "admin", "revoked_token", "expired_session")
LOGIN = "login"  # a redirect to /login
CSRF_REFUSED = "csrf"  # 302 back to the page with "your form expired"; nothing changed


def _row(anonymous, a, b, admin, revoked, expired) -> dict:
    return dict(zip(IDENTITIES, (anonymous, a, b, admin, revoked, expired)))


def public(status) -> dict:
    return _row(status, status, status, status, status, status)


def api_own(ok) -> dict:
    """An API route on A's record: the owner only; everyone else 404 (or 401 without credentials)."""
    return _row(401, ok, 404, 404, 401, 401)


def api_user(ok) -> dict:
    """An API route any signed-in user may call, on their own data."""
    return _row(401, ok, ok, ok, 401, 401)


def api_admin(ok) -> dict:
    return _row(401, 403, 403, ok, 401, 401)


def page_own(ok, method="GET") -> dict:
    return _row(LOGIN, ok, 404, 404, LOGIN, _expired(method))


def page_user(ok, method="GET") -> dict:
    return _row(LOGIN, ok, ok, ok, LOGIN, _expired(method))


def page_admin(ok, method="GET") -> dict:
    # The admin pages answer 404 to clinicians, so their existence is not advertised.
    return _row(LOGIN, 404, 404, ok, LOGIN, _expired(method))


def _expired(method: str):
    # A form posted with an expired session fails the CSRF check first: back to the page, nothing done.
    return LOGIN if method == "GET" else CSRF_REFUSED


# (method, rule) -> expected status per identity. "login" = 302 to the login page.
EXPECTED = {
    ("GET", "/healthz"): public(200),
    ("GET", "/api/openapi.json"): public(200),
    ("GET", "/static/<path:filename>"): public(200),
    ("GET", "/assets/plotly.min.js"): public(200),
    ("GET", "/login"): _row(200, 302, 302, 302, 200, 200),
    ("POST", "/login"): public(200),  # each identity logs in as A with JSON credentials
    ("GET", "/logout"): _row(302, 200, 200, 200, 302, 302),  # GET only asks; the POST form signs out
    ("POST", "/logout"): _row(302, 302, 302, 302, 302, 302),
    # API
    ("POST", "/predict"): api_own(200),  # with A's patient_id
    ("GET", "/api/v1/me"): api_user(200),
    ("GET", "/api/v1/patients"): api_user(200),
    ("POST", "/api/v1/patients"): api_user(201),
    ("GET", "/api/v1/patients/<int:patient_id>"): api_own(200),
    ("PATCH", "/api/v1/patients/<int:patient_id>"): api_own(200),
    ("DELETE", "/api/v1/patients/<int:patient_id>"): api_own(204),
    ("GET", "/api/v1/analyses"): api_user(200),
    ("GET", "/api/v1/analyses/<int:analysis_id>"): api_own(200),
    ("DELETE", "/api/v1/analyses/<int:analysis_id>"): api_own(204),
    ("GET", "/api/v1/tokens"): api_user(200),
    ("POST", "/api/v1/tokens"): api_user(201),
    ("DELETE", "/api/v1/tokens/<int:token_id>"): api_own(204),
    ("GET", "/api/v1/users"): api_admin(200),
    ("POST", "/api/v1/users"): api_admin(201),
    ("PATCH", "/api/v1/users/<int:user_id>"): api_admin(200),
    ("POST", "/api/v1/recordings"): api_own(202),  # with A's patient_id
    ("GET", "/api/v1/jobs/<job_id>"): api_own(200),
    ("GET", "/api/v1/jobs"): api_user(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/signal"): api_own(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/families"): api_own(200),
    ("PATCH", "/api/v1/recordings/<int:analysis_id>/families/<int:family>"): api_own(200),
    ("PATCH", "/api/v1/recordings/<int:analysis_id>/beats/<int:index>"): api_own(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/labels"): api_own(200),
    ("DELETE", "/api/v1/recordings/<int:analysis_id>/labels/<int:change_id>"): api_own(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/events"): api_own(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/beats"): api_own(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/reference"): api_own(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/beats.csv"): api_own(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/events.csv"): api_own(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/annotations.zip"): api_own(200),
    ("GET", "/api/v1/recordings/<int:analysis_id>/report.pdf"): api_own(200),
    # Pages
    ("GET", "/"): page_user(200),
    ("GET", "/patients"): page_user(200),
    ("GET", "/patients/new"): page_user(200),
    ("POST", "/patients/new"): page_user(303, "POST"),
    ("GET", "/patients/<int:patient_id>"): page_own(200),
    ("GET", "/patients/<int:patient_id>/edit"): page_own(200),
    ("POST", "/patients/<int:patient_id>/edit"): page_own(303, "POST"),
    ("GET", "/patients/<int:patient_id>/delete"): page_own(200),
    ("POST", "/patients/<int:patient_id>/delete"): page_own(303, "POST"),
    ("GET", "/analyse"): page_user(200),
    ("POST", "/analyse"): page_own(303, "POST"),  # uploads for A's patient
    ("POST", "/analyses/sample"): page_user(303, "POST"),
    ("GET", "/analyses/<int:analysis_id>"): page_own(200),
    ("GET", "/analyses/<int:analysis_id>/beats/<int:number>"): page_own(200),
    ("POST", "/analyses/<int:analysis_id>/delete"): page_own(303, "POST"),
    ("GET", "/analyses/<int:analysis_id>/results.csv"): page_own(200),
    ("GET", "/analyses/<int:analysis_id>/results.json"): page_own(200),
    ("GET", "/model"): page_user(200),
    ("GET", "/recordings/new"): page_user(200),
    ("GET", "/recordings/<int:analysis_id>"): page_own(200),
    ("GET", "/recordings/<int:analysis_id>/data.json"): page_own(200),
    ("GET", "/recordings"): page_user(200),
    ("GET", "/recordings/<int:analysis_id>/overview.json"): page_own(200),
    ("GET", "/recordings/<int:analysis_id>/family_shapes.json"): page_own(200),
    ("GET", "/recordings/<int:analysis_id>/reference.json"): page_own(200),
    ("GET", "/recordings/<int:analysis_id>/delete"): page_own(200),
    ("POST", "/recordings/<int:analysis_id>/delete"): page_own(303, "POST"),
    ("GET", "/account"): page_user(200),
    ("POST", "/account/password"): page_user(422, "POST"),  # an empty form: nothing changes for anyone
    ("GET", "/account/tokens"): page_user(200),
    ("POST", "/account/tokens"): page_user(201, "POST"),  # each identity makes its own token
    ("POST", "/account/tokens/<int:token_id>/revoke"): page_own(303, "POST"),
    ("GET", "/admin"): page_admin(200),
    ("POST", "/admin/users"): page_admin(303, "POST"),
    ("POST", "/admin/users/<int:user_id>/active"): page_admin(303, "POST"),
    ("POST", "/admin/users/<int:user_id>/password"): page_admin(303, "POST"),
}

SAMPLE_CSV = Path(__file__).resolve().parents[2] / "data" / "sample_beats.csv"
_unique = count(1)


@dataclass
class World:
    """The accounts, and a factory of fresh records owned by A (one set per route, so deletes don't interfere)."""

    app: object
    a: object
    b: object
    admin: object
    victim: object  # the clinician account the admin routes act on
    tokens: dict = field(default_factory=dict)
    revoked: str = ""

    def records(self, beats, needed, rule: str = "") -> dict:
        from ecg_backend.extensions import db
        from ecg_backend.services.analyses import analyse_beats
        from ecg_backend.services.jobs import create_job
        from ecg_backend.services.patients import create_patient
        from ecg_backend.services.tokens import create_token
        from ecg_backend.services.users import get_user

        with self.app.app_context():
            owner = get_user(self.a.id)
            patient = create_patient(owner, {"name": "Ada Owner"})
            ids = {"patient_id": patient.id, "user_id": self.victim.id, "number": 1, "filename": "css/app.css"}
            if "analysis_id" in needed and rule.startswith(("/api/v1/recordings/", "/recordings/")):
                from tests.web.recording_fixtures import stored_recording

                ids["analysis_id"] = stored_recording(self.app, owner.id, patient_id=patient.id)
                ids.update(family=0, index=0)
                if "change_id" in needed:
                    from ecg_backend.services.review import label_beat

                    ids["change_id"] = label_beat(owner, ids["analysis_id"], 1, {"label": "V"})["change"]["id"]
            elif "analysis_id" in needed:
                ids["analysis_id"] = analyse_beats(owner, beats, patient_id=patient.id, source="api")[1].id
            if "token_id" in needed:
                ids["token_id"] = create_token(owner, "spare")[0].id
            if "job_id" in needed:
                ids["job_id"] = create_job(owner, "recording", {}, patient_id=patient.id).id
            db.session.remove()
        return ids


@pytest.fixture
def world(app, make_account, bearer):
    from ecg_backend.services.tokens import create_token, revoke_token
    from ecg_backend.services.users import get_user

    w = World(
        app,
        make_account("alice@example.com"),
        make_account("bob@example.com"),
        make_account("root@example.org", role="admin"),
        make_account("victim@example.com"),
    )
    for name, account in (("clinician_a", w.a), ("clinician_b", w.b), ("admin", w.admin)):
        w.tokens[name] = bearer(account)
    with app.app_context():
        owner = get_user(w.a.id)
        token, raw = create_token(owner, "to-revoke")
        revoke_token(owner, token.id)
    w.revoked = f"Bearer {raw}"
    return w


def _login(client, account) -> str:
    response = client.post("/login", json={"email": account.email, "password": account.password})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["csrf_token"]


def _anonymous_csrf(client) -> dict:
    """A valid CSRF token for an anonymous session (from the login form), so the login check itself is tested."""
    import re

    html = client.get("/login").get_data(as_text=True)
    return {"X-CSRFToken": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)}


def _expire_session(app, client) -> None:
    """Re-sign the client's session cookie as if it had been issued 13 hours ago."""
    serializer = app.session_interface.get_signing_serializer(app)
    lifetime = app.permanent_session_lifetime.total_seconds()

    class PastSigner(serializer.signer):
        def get_timestamp(self) -> int:
            return int(time.time() - lifetime - 3600)

    with client.session_transaction() as sess:
        data = dict(sess)
    serializer.signer = PastSigner
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], serializer.dumps(data))


def _client_for(world: World, identity: str, api: bool):
    """A fresh test client and the headers this identity sends."""
    client = world.app.test_client()
    account = {"clinician_a": world.a, "clinician_b": world.b, "admin": world.admin}.get(identity)
    if identity == "revoked_token":
        return client, {"Authorization": world.revoked, **({} if api else _anonymous_csrf(client))}
    if identity == "expired_session":
        # The browser still holds the token it was given with the session that has now expired.
        csrf_token = _login(client, world.a)
        _expire_session(world.app, client)
        return client, {"X-CSRFToken": csrf_token}
    if account is None:
        return client, {} if api else _anonymous_csrf(client)
    if api:
        return client, dict(world.tokens[identity])
    return client, {"X-CSRFToken": _login(client, account)}


def _request_args(method: str, rule: str, ids: dict, beat: list) -> dict:
    """Body for a request that would succeed for the owner."""
    n = next(_unique)
    json_bodies = {
        ("POST", "/predict"): {"beat": beat, "patient_id": ids["patient_id"]},
        ("POST", "/login"): None,
        ("POST", "/api/v1/patients"): {"name": f"New patient {n}"},
        ("PATCH", "/api/v1/patients/<int:patient_id>"): {"name": "Renamed"},
        ("POST", "/api/v1/tokens"): {"name": f"t{n}"},
        ("POST", "/api/v1/users"): {
            "email": f"new{n}@example.com",
            "password": "a-long-password-1",
            "name": "New",
            "role": "clinician",
        },
        ("PATCH", "/api/v1/users/<int:user_id>"): {"is_active": True},
        ("POST", "/api/v1/recordings"): {
            "signal": [float(i % 300 == 0) for i in range(3600)],
            "sampling_rate": 360,
            "patient_id": ids["patient_id"],
        },
        ("PATCH", "/api/v1/recordings/<int:analysis_id>/families/<int:family>"): {"label": "V"},
        ("PATCH", "/api/v1/recordings/<int:analysis_id>/beats/<int:index>"): {"label": "V"},
    }
    forms = {
        ("POST", "/patients/new"): {"name": f"Form patient {n}"},
        ("POST", "/patients/<int:patient_id>/edit"): {"name": "Edited"},
        ("POST", "/analyse"): {
            "file": (io.BytesIO(SAMPLE_CSV.read_bytes()), "beats.csv"),
            "patient_id": str(ids["patient_id"]),
        },
        ("POST", "/admin/users"): {
            "email": f"form{n}@example.com",
            "name": "Form",
            "role": "clinician",
            "password": "a-long-password-1",
        },
        ("POST", "/admin/users/<int:user_id>/password"): {"password": "another-long-password-2"},
        ("POST", "/account/tokens"): {"name": f"page token {n}"},
    }
    if (method, rule) in json_bodies and json_bodies[(method, rule)] is not None:
        return {"json": json_bodies[(method, rule)]}
    if (method, rule) in forms:
        return {"data": forms[(method, rule)], "content_type": "multipart/form-data"}
    if method in {"POST", "PATCH", "PUT", "DELETE"} and rule.startswith("/api/"):
        return {"json": {}}
    return {"data": {}} if method == "POST" else {}


def _url(rule, ids: dict) -> str:
    from werkzeug.routing import Map, Rule

    values = {name: ids[name] for name in rule.arguments}
    adapter = Map([Rule(rule.rule, endpoint="x")]).bind("localhost")
    return adapter.build("x", values)


def _outcome(response):
    location = response.headers.get("Location", "")
    if response.status_code in (301, 302, 303) and response.request.path != "/logout":
        if "/login" in location:
            return LOGIN
        if response.request.method == "POST" and location.endswith(response.request.path):
            return CSRF_REFUSED
    return response.status_code


def routes(app) -> list[tuple[str, object]]:
    return sorted(
        ((method, rule) for rule in app.url_map.iter_rules() for method in sorted(rule.methods - {"HEAD", "OPTIONS"})),
        key=lambda mr: (mr[1].rule, mr[0]),
    )


def test_rel_every_route_has_an_expectation(app):
    missing = [f"{m} {r.rule}" for m, r in routes(app) if (m, r.rule) not in EXPECTED]
    assert not missing, f"routes without an access expectation (add them to EXPECTED): {missing}"


def test_rel_access_matrix(world, beats, monkeypatch):
    import numpy as np

    from ecg_backend.services import jobs

    # Access is decided before a job is queued; no background analysis should outlive this test's database.
    monkeypatch.setattr(jobs, "enqueue", lambda *args, **kwargs: None)

    beat = beats(1)[0]
    beat_array = np.asarray(beats(2), dtype=float)
    table, failures = [], []
    for method, rule in routes(world.app):
        expected = EXPECTED.get((method, rule.rule))
        if expected is None:
            continue
        ids = world.records(beat_array, rule.arguments, rule.rule)
        outcomes = {}
        # The owner goes last: their DELETE/POST must not change what the others were tested against.
        for identity in sorted(IDENTITIES, key=lambda i: i == "clinician_a"):
            api = rule.rule.startswith(("/api/", "/predict"))
            client, headers = _client_for(world, identity, api)
            kwargs = _request_args(method, rule.rule, ids, beat)
            if (method, rule.rule) == ("POST", "/login"):
                kwargs = {"json": {"email": world.a.email, "password": world.a.password}}
                headers = {}
            response = client.open(_url(rule, ids), method=method, headers=headers, **kwargs)
            outcomes[identity] = _outcome(response)
            if outcomes[identity] != expected[identity]:
                failures.append(
                    f"{method} {rule.rule} as {identity}: got {outcomes[identity]}, "
                    f"expected {expected[identity]} ({response.get_data(as_text=True)[:160]!r})"
                )
        table.append((method, rule.rule, outcomes))
    _write_table(table)
    assert not failures, "\n".join(failures)


def test_rel_revoked_token_and_disabled_account_lose_access(world, beats):
    """After revoke or disable, the same credential is refused on every API route it used to open."""
    client = world.app.test_client()
    assert client.get("/api/v1/me", headers={"Authorization": world.revoked}).status_code == 401
    headers = world.tokens["clinician_b"]
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    admin = world.tokens["admin"]
    assert client.patch(f"/api/v1/users/{world.b.id}", json={"is_active": False}, headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    session = world.app.test_client()
    response = session.post("/login", json={"email": world.b.email, "password": world.b.password})
    assert response.status_code == 401


def _write_table(table) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    short = {
        "anonymous": "anon",
        "clinician_a": "owner A",
        "clinician_b": "clinician B",
        "admin": "admin",
        "revoked_token": "revoked token",
        "expired_session": "expired session",
    }
    lines = [
        "| method | route | " + " | ".join(short[i] for i in IDENTITIES) + " |",
        "|---|---|" + "---|" * len(IDENTITIES),
    ]
    for method, rule, outcomes in table:
        cells = [str(outcomes.get(i, "")).replace(LOGIN, "→login").replace(CSRF_REFUSED, "csrf✗") for i in IDENTITIES]
        lines.append(f"| {method} | `{rule}` | " + " | ".join(cells) + " |")
    (ARTIFACTS / "access_matrix.md").write_text("\n".join(lines) + "\n")
