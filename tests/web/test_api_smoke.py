"""First end-to-end check: log in, score a beat with a token, healthz."""


def test_login_then_predict_with_token(client, clinician_a, bearer, beats):
    response = client.post("/predict", json={"beats": beats(2)}, headers=bearer(clinician_a))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert len(body["beats"]) == 2 and body["summary"]["n_beats"] == 2
    assert "analysis_id" not in body


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
