"""Fixtures for the dashboard tests: logged-in clients for two clinicians and an admin on the shared
``app`` fixture, and helpers that post forms the way a browser does (with the page's CSRF token)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

PASSWORD = "correct-horse-9"
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample_beats.csv"


@pytest.fixture
def ui_app(app):
    """The shared ``app`` fixture (tests/conftest.py): temp SQLite, tables created, untrained detector."""
    return app


@pytest.fixture
def make_user(ui_app):
    """Create an account and return its email: ``make_user("a@x.org", role="admin")``."""
    from ecg_backend.services.users import create_user

    def make(email: str, role: str = "clinician", name: str | None = None, password: str = PASSWORD) -> str:
        with ui_app.app_context():
            create_user(email, password, name=name or email.split("@")[0].title(), role=role)
        return email

    return make


def csrf_from(html: str) -> str:
    """The csrf_token hidden field's value in a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no csrf_token field in the page"
    return match.group(1)


def post_form(client, url: str, data: dict | None = None, page: str = "/", **kwargs):
    """POST like the browser's form would: with the csrf_token of a page the client has loaded."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


def login(client, email: str, password: str = PASSWORD):
    """Log in through the HTML form, as a browser would."""
    page = client.get("/login")
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def clinician(ui_app, make_user):
    """A logged-in test client for clinician A."""
    email = make_user("alice@clinic.example.org", name="Alice Martin")
    client = ui_app.test_client()
    login(client, email)
    return client


@pytest.fixture
def other_clinician(ui_app, make_user):
    """A logged-in test client for clinician B."""
    email = make_user("bob@clinic.example.org", name="Bob Stone")
    client = ui_app.test_client()
    login(client, email)
    return client


@pytest.fixture
def admin(ui_app, make_user):
    """A logged-in test client for an admin."""
    email = make_user("root@clinic.example.org", role="admin", name="Ada Admin")
    client = ui_app.test_client()
    login(client, email)
    return client


def create_patient(client, name="Dana Whitfield", **fields) -> int:
    """Create a patient through the New patient form; returns its id."""
    response = post_form(client, "/patients/new", {"name": name, **fields}, page="/patients/new")
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def upload_csv(client, data: bytes, patient_id="", filename="beats.csv", xhr=True):
    """Post the Analyse form: as the page's script does (``xhr``, JSON answer) or as a plain form."""
    token = csrf_from(client.get("/analyse").get_data(as_text=True))
    headers = {"X-Requested-With": "XMLHttpRequest", "Accept": "application/json"} if xhr else {}
    return client.post(
        "/analyse",
        data={"csrf_token": token, "patient_id": str(patient_id), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers=headers,
    )


def analysis_id_of(response) -> int:
    """The new analysis id from the Analyse form's JSON answer."""
    assert response.status_code == 201, response.get_data(as_text=True)[:400]
    return response.get_json()["analysis_id"]
