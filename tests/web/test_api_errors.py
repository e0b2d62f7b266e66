"""One JSON error shape on API routes, HTML pages elsewhere, and an OpenAPI document covering every route."""

import re

import pytest
from sqlalchemy.exc import OperationalError


def _shape(response):
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and _shape(response)["code"] == "not_found"


def test_unknown_page_is_html_404(client):
    response = client.get("/nothing-here", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "text/html" in response.content_type


def test_page_404_is_json_when_the_client_prefers_json(client):
    response = client.get("/nothing-here", headers={"Accept": "application/json"})
    assert response.status_code == 404 and _shape(response)


def test_wrong_method_is_json_405_with_allow(client):
    response = client.get("/predict")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert "use POST" in _shape(response)["message"]


def test_unexpected_exception_is_500_without_a_stack_trace(app, client, caplog):
    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/api/v1/boom")
    error = _shape(response)
    assert response.status_code == 500 and error["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text  # logged for the operator


def test_database_down_is_503_and_the_app_recovers(app, client, clinician_a, bearer, monkeypatch):
    headers = bearer(clinician_a)
    from ecg_backend.services import patients

    def unavailable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(patients, "paginate", unavailable)
    response = client.get("/api/v1/patients", headers=headers)
    assert response.status_code == 503 and _shape(response)["code"] == "database_unavailable"
    monkeypatch.undo()
    assert client.get("/api/v1/patients", headers=headers).status_code == 200


def test_healthz_reports_a_missing_database_as_503(app, client, monkeypatch):
    from ecg_backend.extensions import db

    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", broken, raising=False)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert _shape(response)["details"]["checks"]["database"] == "unavailable"


def test_healthz_writes_nothing_and_needs_no_auth(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["checks"] == {"model": "ok", "database": "ok"}
    assert "Set-Cookie" not in response.headers


def test_openapi_document_describes_every_api_route(app, client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/predict", "/healthz")):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} missing from /api/openapi.json"


def test_openapi_refs_resolve(client):
    doc = client.get("/api/openapi.json").get_json()
    text = str(doc)
    for ref in set(re.findall(r"#/components/(\w+)/(\w+)", text)):
        assert ref[1] in doc["components"][ref[0]], ref


@pytest.mark.parametrize("path", ["/predict", "/api/v1/patients"])
def test_every_documented_error_status_uses_the_shape(client, path):
    response = client.post(path, json={})
    assert response.status_code == 401 and _shape(response)["code"] == "unauthorized"


def test_out_of_range_numbers_are_4xx(client, clinician_a, bearer, beats):
    headers = bearer(clinician_a)
    assert client.get("/api/v1/patients/99999999999999999999999", headers=headers).status_code == 404
    assert client.delete("/api/v1/analyses/99999999999999999999999", headers=headers).status_code == 404
    assert client.get("/api/v1/patients?page=99999999999999999999", headers=headers).status_code == 400
    response = client.post("/predict", json={"beats": beats(1), "patient_id": 10**30}, headers=headers)
    assert response.status_code == 422


def test_openapi_document_is_valid_openapi(client):
    validator = pytest.importorskip("openapi_spec_validator", reason="openapi-spec-validator not installed")
    validator.validate(client.get("/api/openapi.json").get_json())


def test_error_answer_survives_a_failing_rollback(app, client, clinician_a, bearer, monkeypatch):
    headers = bearer(clinician_a)
    from ecg_backend.extensions import db
    from ecg_backend.services import patients

    def gone(*args, **kwargs):
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection"))

    monkeypatch.setattr(patients, "paginate", gone)
    monkeypatch.setattr(db.session, "rollback", gone, raising=False)
    response = client.get("/api/v1/patients", headers=headers)
    assert response.status_code == 503 and _shape(response)["code"] == "database_unavailable"
