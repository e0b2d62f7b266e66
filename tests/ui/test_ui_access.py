"""Who may see what on the dashboard: anonymous visitors, two clinicians and an admin."""

from __future__ import annotations

import re

import pytest

from tests.ui.conftest import PASSWORD, SAMPLE, analysis_id_of, create_patient, csrf_from, login, post_form, upload_csv

PAGES = ["/", "/patients", "/patients/new", "/analyse", "/model", "/admin"]


@pytest.mark.parametrize("path", PAGES + ["/patients/1", "/analyses/1", "/analyses/1/results.csv"])
def test_ui_anonymous_visits_redirect_to_login(ui_app, path):
    response = ui_app.test_client().get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"] and "next=" in response.headers["Location"]


def test_ui_other_clinicians_records_answer_404(clinician, other_clinician):
    patient_id = create_patient(clinician, "Private Person")
    analysis_id = analysis_id_of(upload_csv(clinician, SAMPLE.read_bytes(), patient_id=patient_id))
    for path in (
        f"/patients/{patient_id}",
        f"/patients/{patient_id}/edit",
        f"/patients/{patient_id}/delete",
        f"/analyses/{analysis_id}",
        f"/analyses/{analysis_id}/beats/1",
        f"/analyses/{analysis_id}/results.csv",
        f"/analyses/{analysis_id}/results.json",
    ):
        assert other_clinician.get(path).status_code == 404, path
    for path in (f"/patients/{patient_id}/delete", f"/patients/{patient_id}/edit", f"/analyses/{analysis_id}/delete"):
        assert post_form(other_clinician, path, {"name": "Hijacked"}).status_code == 404, path
    # B's lists do not show A's records, and B cannot file an upload under A's patient.
    assert "Private Person" not in other_clinician.get("/patients").get_data(as_text=True)
    assert "Private Person" not in other_clinician.get("/").get_data(as_text=True)
    refused = upload_csv(other_clinician, SAMPLE.read_bytes(), patient_id=patient_id)
    assert refused.status_code == 404 and "not found" in refused.get_json()["error"]["message"]
    # Everything of A's is intact.
    assert clinician.get(f"/analyses/{analysis_id}").status_code == 200
    assert "Private Person" in clinician.get(f"/patients/{patient_id}").get_data(as_text=True)


def test_ui_admin_pages_are_404_for_clinicians(clinician):
    assert clinician.get("/admin").status_code == 404
    assert (
        post_form(
            clinician, "/admin/users", {"email": "x@y.example.org", "name": "X", "password": "x" * 10, "role": "admin"}
        ).status_code
        == 404
    )
    assert post_form(clinician, "/admin/users/1/active").status_code == 404
    assert post_form(clinician, "/admin/users/1/password", {"password": "y" * 10}).status_code == 404
    assert "/admin" not in clinician.get("/").get_data(as_text=True)


def test_ui_admin_manages_accounts(admin, ui_app):
    page = admin.get("/admin")
    assert page.status_code == 200 and 'id="count-users"' in page.get_data(as_text=True)
    created = post_form(
        admin,
        "/admin/users",
        {"email": "newdoc@clinic.example.org", "name": "New Doc", "password": "first-pass-1", "role": "clinician"},
        page="/admin",
    )
    assert created.status_code == 303
    html = admin.get("/admin").get_data(as_text=True)
    assert "newdoc@clinic.example.org" in html
    assert re.search(r'id="count-users">2<', html)
    duplicate = post_form(
        admin,
        "/admin/users",
        {"email": "newdoc@clinic.example.org", "name": "Again", "password": "first-pass-1", "role": "clinician"},
        page="/admin",
    )
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)

    from ecg_backend.services.users import find_by_email

    with ui_app.app_context():
        user_id = find_by_email("newdoc@clinic.example.org").id
    newcomer = ui_app.test_client()
    login(newcomer, "newdoc@clinic.example.org", "first-pass-1")

    assert (
        post_form(admin, f"/admin/users/{user_id}/password", {"password": "second-pass-2"}, page="/admin").status_code
        == 303
    )
    assert post_form(admin, f"/admin/users/{user_id}/active", page="/admin").status_code == 303
    with ui_app.app_context():
        assert find_by_email("newdoc@clinic.example.org").is_active is False
    assert newcomer.get("/").status_code == 302  # the disabled account's session no longer works
    page = ui_app.test_client()
    refused = page.post(
        "/login",
        data={
            "email": "newdoc@clinic.example.org",
            "password": "second-pass-2",
            "csrf_token": csrf_from(page.get("/login").get_data(as_text=True)),
        },
    )
    assert refused.status_code == 200 and "Wrong email or password" in refused.get_data(as_text=True)
    assert post_form(admin, f"/admin/users/{user_id}/active", page="/admin").status_code == 303
    login(ui_app.test_client(), "newdoc@clinic.example.org", "second-pass-2")


def test_ui_admin_password_reset_refuses_a_short_password(admin, make_user, ui_app):
    from ecg_backend.services.users import authenticate, find_by_email

    make_user("short@clinic.example.org")
    with ui_app.app_context():
        user_id = find_by_email("short@clinic.example.org").id
    response = post_form(admin, f"/admin/users/{user_id}/password", {"password": "abc"}, page="/admin")
    assert response.status_code == 303
    assert "at least 8 characters" in admin.get("/admin").get_data(as_text=True)
    with ui_app.app_context():
        assert authenticate("short@clinic.example.org", PASSWORD) is not None  # unchanged


def test_ui_forms_without_csrf_token_are_refused(clinician, ui_app):
    from ecg_backend.extensions import db
    from ecg_backend.models import Patient

    response = clinician.post("/patients/new", data={"name": "No Token"})
    assert response.status_code in (302, 400)
    with ui_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Patient.id))) == 0
