"""REST resources under /api/v1: patients, analyses, me, users; pagination and validation."""

import pytest


@pytest.fixture
def a_headers(clinician_a, bearer):
    return bearer(clinician_a)


def _patient(client, headers, **fields):
    response = client.post("/api/v1/patients", json={"name": "Ann Smith", **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_patient_crud(client, a_headers):
    created = _patient(
        client, a_headers, date_of_birth="1950-02-03", sex="Female", external_id="MRN-1", notes="follow-up"
    )
    assert created["id"] and created["date_of_birth"] == "1950-02-03" and created["sex"] == "female"
    url = f"/api/v1/patients/{created['id']}"
    assert client.get(url, headers=a_headers).get_json() == created
    patched = client.patch(url, json={"notes": "seen again", "external_id": ""}, headers=a_headers).get_json()
    assert patched["notes"] == "seen again" and patched["external_id"] is None and patched["name"] == "Ann Smith"
    assert client.delete(url, headers=a_headers).status_code == 204
    assert client.get(url, headers=a_headers).status_code == 404


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "A", "date_of_birth": "03/02/1950"}, "date_of_birth"),
        ({"name": "A", "date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"name": "A", "sex": "x"}, "sex"),
        ({"name": 5}, "name"),
        ({"name": "A", "colour": "red"}, "colour"),
        ({"name": "A" * 201}, "name"),
    ],
)
def test_patient_validation_is_422_per_field(client, a_headers, payload, field):
    response = client.post("/api/v1/patients", json=payload, headers=a_headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert field in error["details"]["fields"] and field in error["message"]


def test_patient_body_must_be_json(client, a_headers):
    assert (
        client.post(
            "/api/v1/patients",
            data="name=x",
            headers={**a_headers, "Content-Type": "application/x-www-form-urlencoded"},
        ).status_code
        == 415
    )
    assert (
        client.post("/api/v1/patients", data="{", headers={**a_headers, "Content-Type": "application/json"}).status_code
        == 400
    )
    assert client.post("/api/v1/patients", json=[1], headers=a_headers).status_code == 422


def test_patient_list_pages_and_searches(client, a_headers):
    for i in range(5):
        _patient(client, a_headers, name=f"Patient {i}", external_id=f"MRN-{i}")
    page = client.get("/api/v1/patients?per_page=2&page=2", headers=a_headers).get_json()
    assert page["total"] == 5 and page["page"] == 2 and page["per_page"] == 2
    assert [p["name"] for p in page["items"]] == ["Patient 2", "Patient 1"]  # newest first
    found = client.get("/api/v1/patients?q=mrn-3", headers=a_headers).get_json()
    assert [p["name"] for p in found["items"]] == ["Patient 3"]
    assert client.get("/api/v1/patients?q=%25", headers=a_headers).get_json()["total"] == 0


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=101", "per_page=-1"])
def test_bad_paging_is_400(client, a_headers, query):
    response = client.get(f"/api/v1/patients?{query}", headers=a_headers)
    assert response.status_code == 400 and response.get_json()["error"]["details"]["field"] in query


def test_analyses_list_filter_get_delete(client, a_headers, beats):
    ann = _patient(client, a_headers)
    bob = _patient(client, a_headers, name="Bob")
    first = client.post("/predict", json={"beats": beats(2), "patient_id": ann["id"]}, headers=a_headers)
    client.post("/predict", json={"beats": beats(1), "patient_id": bob["id"]}, headers=a_headers)
    listed = client.get("/api/v1/analyses", headers=a_headers).get_json()
    assert listed["total"] == 2 and "result" not in listed["items"][0]
    mine = client.get(f"/api/v1/analyses?patient_id={ann['id']}", headers=a_headers).get_json()
    assert [a["id"] for a in mine["items"]] == [first.get_json()["analysis_id"]]
    assert mine["items"][0]["summary"]["n_beats"] == 2
    assert client.get("/api/v1/analyses?kind=recording", headers=a_headers).get_json()["total"] == 0
    assert client.get("/api/v1/analyses?kind=x", headers=a_headers).status_code == 400
    assert client.get("/api/v1/analyses?patient_id=abc", headers=a_headers).status_code == 400
    url = f"/api/v1/analyses/{mine['items'][0]['id']}"
    assert client.delete(url, headers=a_headers).status_code == 204
    assert client.get(url, headers=a_headers).status_code == 404


def test_deleting_a_patient_deletes_their_analyses(client, a_headers, beats):
    ann = _patient(client, a_headers)
    stored = client.post("/predict", json={"beats": beats(1), "patient_id": ann["id"]}, headers=a_headers)
    client.delete(f"/api/v1/patients/{ann['id']}", headers=a_headers)
    assert client.get(f"/api/v1/analyses/{stored.get_json()['analysis_id']}", headers=a_headers).status_code == 404


def test_me(client, clinician_a, a_headers):
    me = client.get("/api/v1/me", headers=a_headers).get_json()
    assert me["email"] == clinician_a.email and me["role"] == "clinician" and "password_hash" not in me


def test_users_admin_routes(client, admin_account, clinician_a, bearer):
    admin = bearer(admin_account)
    created = client.post(
        "/api/v1/users", json={"email": "New@Example.com", "password": "long-enough-1"}, headers=admin
    )
    assert created.status_code == 201 and created.get_json()["email"] == "new@example.com"
    assert (
        client.post(
            "/api/v1/users", json={"email": "new@example.com", "password": "long-enough-1"}, headers=admin
        ).status_code
        == 409
    )
    assert (
        client.post("/api/v1/users", json={"email": "bad", "password": "long-enough-1"}, headers=admin).status_code
        == 422
    )
    assert (
        client.post("/api/v1/users", json={"email": "c@example.com", "password": "short"}, headers=admin).status_code
        == 422
    )
    user_id = created.get_json()["id"]
    assert (
        client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin).get_json()["is_active"]
        is False
    )
    assert client.post("/login", json={"email": "new@example.com", "password": "long-enough-1"}).status_code == 401
    client.patch(f"/api/v1/users/{user_id}", json={"is_active": True, "password": "another-pass-2"}, headers=admin)
    assert client.post("/login", json={"email": "new@example.com", "password": "another-pass-2"}).status_code == 200
    assert (
        client.patch(f"/api/v1/users/{admin_account.id}", json={"is_active": False}, headers=admin).status_code == 409
    )
    assert client.patch("/api/v1/users/999", json={"is_active": False}, headers=admin).status_code == 404
    assert len(client.get("/api/v1/users", headers=admin).get_json()["items"]) == 3


def test_clinicians_cannot_use_admin_routes(client, clinician_a, clinician_b, a_headers):
    assert client.get("/api/v1/users", headers=a_headers).status_code == 403
    assert (
        client.post(
            "/api/v1/users", json={"email": "x@example.com", "password": "long-enough-1"}, headers=a_headers
        ).status_code
        == 403
    )
    assert (
        client.patch(f"/api/v1/users/{clinician_b.id}", json={"is_active": False}, headers=a_headers).status_code == 403
    )
