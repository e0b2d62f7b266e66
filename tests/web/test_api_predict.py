"""POST /predict: JSON and CSV inputs, storage with a patient, and every error status."""

import io

import pytest


def _csv(rows, header=True, sep=","):
    lines = [sep.join(f"s{i}" for i in range(1, 141))] if header else []
    lines += [sep.join(f"{v:.5f}" for v in row) for row in rows]
    return "\n".join(lines).encode()


def _stored_count(app):
    from ecg_backend.extensions import db
    from ecg_backend.models import Analysis

    with app.app_context():
        return db.session.scalar(db.select(db.func.count(Analysis.id)))


def test_json_beats_return_every_field_per_beat(client, clinician_a, bearer, beats):
    response = client.post("/predict", json={"beats": beats(3)}, headers=bearer(clinician_a))
    assert response.status_code == 200
    body = response.get_json()
    assert body["summary"]["n_beats"] == 3 and body["summary"]["n_anomalous"] == sum(
        b["is_anomaly"] for b in body["beats"]
    )
    for index, beat in enumerate(body["beats"]):
        assert beat["index"] == index
        assert {"score", "threshold", "is_anomaly", "confidence", "reconstruction", "sample_error"} <= set(beat)
        assert len(beat["reconstruction"]) == 140 and len(beat["sample_error"]) == 140
        assert 0.0 <= beat["confidence"] <= 1.0
        assert beat["is_anomaly"] == (beat["score"] > beat["threshold"])
    assert body["model_version"] == "untrained-0" and "analysis_id" not in body


def test_single_beat_matches_the_detector(app, client, clinician_a, bearer, beats):
    beat = beats(1)[0]
    body = client.post("/predict", json={"beat": beat}, headers=bearer(clinician_a)).get_json()
    expected = app.extensions["ecg_detector"].score([beat])
    assert body["beats"][0]["score"] == pytest.approx(float(expected.scores[0]), rel=1e-6)


def test_csv_upload_with_header(client, clinician_a, bearer, beats):
    data = {"file": (io.BytesIO(_csv(beats(4))), "beats.csv")}
    response = client.post("/predict", data=data, headers=bearer(clinician_a), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["summary"]["n_beats"] == 4


def test_csv_upload_gives_the_same_scores_as_json(client, clinician_a, bearer, beats):
    headers = bearer(clinician_a)
    rows = beats(2)
    from_json = client.post("/predict", json={"beats": rows}, headers=headers).get_json()
    upload = {"file": (io.BytesIO(_csv(rows, header=False, sep=";")), "b.csv")}
    from_csv = client.post("/predict", data=upload, headers=headers).get_json()
    assert [b["score"] for b in from_csv["beats"]] == pytest.approx([b["score"] for b in from_json["beats"]], rel=1e-5)


def test_text_csv_body(client, clinician_a, bearer, beats):
    response = client.post("/predict", data=_csv(beats(2)), headers={**bearer(clinician_a), "Content-Type": "text/csv"})
    assert response.status_code == 200 and len(response.get_json()["beats"]) == 2


def test_shipped_sample_file_is_accepted(client, clinician_a, bearer):
    from tests.conftest import REPO_ROOT

    sample = (REPO_ROOT / "data" / "sample_beats.csv").read_bytes()
    response = client.post(
        "/predict", data={"file": (io.BytesIO(sample), "sample_beats.csv")}, headers=bearer(clinician_a)
    )
    assert response.status_code == 200 and response.get_json()["summary"]["n_beats"] == 12


def test_patient_id_stores_the_analysis(app, client, clinician_a, bearer, beats):
    headers = bearer(clinician_a)
    patient = client.post("/api/v1/patients", json={"name": "Ann"}, headers=headers).get_json()
    body = client.post("/predict", json={"beats": beats(2), "patient_id": patient["id"]}, headers=headers).get_json()
    stored = client.get(f"/api/v1/analyses/{body['analysis_id']}", headers=headers).get_json()
    assert stored["patient_id"] == patient["id"] and stored["n_beats"] == 2 and stored["source"] == "api"
    assert stored["result"]["beats"] == body["beats"]
    assert len(stored["input"]["beats"]) == 2
    upload = {"file": (io.BytesIO(_csv(beats(1))), "x.csv"), "patient_id": str(patient["id"])}
    from_csv = client.post("/predict", data=upload, headers=headers).get_json()
    assert client.get(f"/api/v1/analyses/{from_csv['analysis_id']}", headers=headers).get_json()["filename"] == "x.csv"
    assert _stored_count(app) == 2


def test_store_flag_without_patient(client, clinician_a, bearer, beats):
    body = client.post("/predict", json={"beats": beats(1), "store": True}, headers=bearer(clinician_a)).get_json()
    assert body["analysis_id"]


def test_someone_elses_patient_is_404_and_nothing_is_stored(app, client, clinician_a, clinician_b, bearer, beats):
    patient = client.post("/api/v1/patients", json={"name": "Ann"}, headers=bearer(clinician_a)).get_json()
    response = client.post(
        "/predict", json={"beats": beats(1), "patient_id": patient["id"]}, headers=bearer(clinician_b)
    )
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert _stored_count(app) == 0


def test_anonymous_is_401(client, beats):
    response = client.post("/predict", json={"beats": beats(1)})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_malformed_json_is_400(client, clinician_a, bearer):
    response = client.post(
        "/predict", data="{beats: [", headers={**bearer(clinician_a), "Content-Type": "application/json"}
    )
    assert response.status_code == 400 and "not valid JSON" in response.get_json()["error"]["message"]


def test_wrong_beat_length_is_422_with_the_row(client, clinician_a, bearer, beats):
    rows = beats(3)
    rows[2] = rows[2][:139]
    response = client.post("/predict", json={"beats": rows}, headers=bearer(clinician_a))
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == "beat 3 has 139 values; each beat needs 140"
    bad_csv = _csv(beats(2), header=False) + b"\n" + b",".join([b"1"] * 139)
    response = client.post("/predict", data={"file": (io.BytesIO(bad_csv), "b.csv")}, headers=bearer(clinician_a))
    assert response.status_code == 422
    assert response.get_json()["error"]["message"].startswith("row 3 has 139 values; each beat needs 140")


@pytest.mark.parametrize("patient_id", ["abc", -1, 1.5, True])
def test_bad_patient_id_is_422(client, clinician_a, bearer, beats, patient_id):
    response = client.post("/predict", json={"beats": beats(1), "patient_id": patient_id}, headers=bearer(clinician_a))
    assert response.status_code == 422 and response.get_json()["error"]["details"] == {"field": "patient_id"}


def test_unsupported_types_are_415(client, clinician_a, bearer):
    headers = bearer(clinician_a)
    response = client.post("/predict", data=b"\x00\x01", headers={**headers, "Content-Type": "image/png"})
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "unsupported_media_type"
    response = client.post("/predict", data={"file": (io.BytesIO(b"x"), "scan.png")}, headers=headers)
    assert response.status_code == 415


def test_upload_without_file_field_is_400(client, clinician_a, bearer):
    response = client.post(
        "/predict", data={"other": "1"}, headers=bearer(clinician_a), content_type="multipart/form-data"
    )
    assert response.status_code == 400 and "'file'" in response.get_json()["error"]["message"]


@pytest.mark.app_config(MAX_BEATS_PER_REQUEST=3)
def test_too_many_beats_is_413(client, clinician_a, bearer, beats):
    response = client.post("/predict", json={"beats": beats(4)}, headers=bearer(clinician_a))
    assert response.status_code == 413
    assert response.get_json()["error"]["details"]["max_beats"] == 3


@pytest.mark.app_config(MAX_CONTENT_LENGTH=20_000)
def test_body_over_max_content_length_is_413(client, clinician_a, bearer, beats):
    headers = bearer(clinician_a)
    response = client.post("/predict", json={"beats": beats(30)}, headers=headers)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "payload_too_large"
    assert "19.5 KB limit" in response.get_json()["error"]["message"]
    upload = {"file": (io.BytesIO(_csv(beats(30))), "big.csv")}
    assert client.post("/predict", data=upload, headers=headers).status_code == 413


def test_no_model_loaded_is_503(app, client, clinician_a, bearer, beats):
    app.extensions["ecg_detector"] = None
    response = client.post("/predict", json={"beats": beats(1)}, headers=bearer(clinician_a))
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "model_unavailable"


def test_session_predict_needs_csrf_header(client, clinician_a, auth, beats):
    auth.login(clinician_a)
    assert client.post("/predict", json={"beats": beats(1)}).status_code == 400
    assert client.post("/predict", json={"beats": beats(1)}, headers=auth.csrf_headers()).status_code == 200


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),  # nesting bomb
        ('{"beat": [' + ",".join(["1"] * 139 + ["1" + "0" * 400]) + "]}", "application/json", 422),  # huge int
        ('{"beat": [' + ",".join(["1"] * 139 + ["1e400"]) + "]}", "application/json", 422),
        ("a" * 200_000, "text/csv", 422),  # field over csv's limit
        ("1,2\x00,3\n", "text/csv", 422),
        (",".join(["1"] * 200_000), "text/csv", 422),  # very wide row
        ("é;" * 140, "text/csv; charset=latin-1", 422),
    ],
)
def test_hostile_bodies_get_4xx_not_500(client, clinician_a, bearer, body, content_type, status):
    data = body.encode("latin-1") if "latin-1" in content_type else body.encode()
    response = client.post("/predict", data=data, headers={**bearer(clinician_a), "Content-Type": content_type})
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["message"]


def test_nested_json_login_is_400(client):
    response = client.post("/login", data="[" * 100_000, content_type="application/json")
    assert response.status_code == 400
