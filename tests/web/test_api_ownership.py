"""Clinician B can never read, list, change or delete clinician A's records, through any route (404)."""

import pytest


@pytest.fixture
def a_records(client, clinician_a, bearer, beats):
    headers = bearer(clinician_a)
    patient = client.post("/api/v1/patients", json={"name": "A's patient"}, headers=headers).get_json()
    analysis = client.post(
        "/predict", json={"beats": beats(1), "patient_id": patient["id"]}, headers=headers
    ).get_json()
    tokens = client.get("/api/v1/tokens", headers=headers).get_json()["items"]
    return {"patient": patient["id"], "analysis": analysis["analysis_id"], "token": tokens[0]["id"], "headers": headers}


ROUTES = [
    ("get", "/api/v1/patients/{patient}", None),
    ("patch", "/api/v1/patients/{patient}", {"name": "stolen"}),
    ("delete", "/api/v1/patients/{patient}", None),
    ("get", "/api/v1/analyses/{analysis}", None),
    ("delete", "/api/v1/analyses/{analysis}", None),
    ("get", "/api/v1/analyses?patient_id={patient}", None),
    ("post", "/predict", "predict"),
    ("delete", "/api/v1/tokens/{token}", None),
]


@pytest.mark.parametrize("method, template, body", ROUTES)
@pytest.mark.parametrize("via", ["token", "session"])
def test_b_gets_404_for_a_records(client, clinician_b, bearer, auth, a_records, beats, method, template, body, via):
    url = template.format(**a_records)
    if body == "predict":
        body = {"beats": beats(1), "patient_id": a_records["patient"]}
    if via == "token":
        headers = bearer(clinician_b)
    else:
        auth.login(clinician_b)
        headers = auth.csrf_headers()
    response = getattr(client, method)(url, json=body, headers=headers)
    assert response.status_code == 404, (url, response.get_json())
    assert response.get_json()["error"]["code"] == "not_found"
    client.post("/logout", headers=auth.csrf_headers())
    # A's records are untouched
    a = a_records["headers"]
    assert client.get(f"/api/v1/patients/{a_records['patient']}", headers=a).get_json()["name"] == "A's patient"
    assert client.get(f"/api/v1/analyses/{a_records['analysis']}", headers=a).status_code == 200
    assert client.get("/api/v1/me", headers=a).status_code == 200


def test_b_lists_show_none_of_a_records(client, clinician_b, bearer, a_records):
    headers = bearer(clinician_b)
    assert client.get("/api/v1/patients", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/analyses", headers=headers).get_json()["total"] == 0
    assert [t["name"] for t in client.get("/api/v1/tokens", headers=headers).get_json()["items"]] == ["test"]


def test_admin_does_not_see_clinicians_records(client, admin_account, bearer, a_records):
    headers = bearer(admin_account)
    assert client.get(f"/api/v1/patients/{a_records['patient']}", headers=headers).status_code == 404
    assert client.get("/api/v1/analyses", headers=headers).get_json()["total"] == 0
