"""POST /api/v1/recordings with an Idempotency-Key: a retried upload starts one job, never two."""

import glob
import io
import os
import threading

import numpy as np
import pytest

from tests.signals.helpers import synthetic_ecg


@pytest.fixture(scope="module")
def ecg_json():
    signal, _ = synthetic_ecg(seconds=20, fs=250.0, seed=3)
    return {"signal": np.round(signal, 4).tolist(), "sampling_rate": 250}


@pytest.fixture(autouse=True)
def own_upload_area(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")


def _jobs(app):
    from ecg_backend.extensions import db
    from ecg_backend.models import Job

    with app.app_context():
        return db.session.query(Job).count()


def _orphan_leads(app):
    """Saved signals that belong to no job (a job removes its own file when it has run)."""
    from ecg_backend.extensions import db
    from ecg_backend.models import Job
    from ecg_backend.services.storage import job_input_dir

    with app.app_context():
        saved = set(glob.glob(os.path.join(job_input_dir(), "*.ecgsig")))
        return saved - {path for (path,) in db.session.query(Job.input_path)}


def test_same_key_same_recording_starts_one_job(app, client, clinician_a, bearer, ecg_json):
    headers = {**bearer(clinician_a), "Idempotency-Key": "rec-1"}
    first = client.post("/api/v1/recordings", json=ecg_json, headers=headers)
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    again = client.post("/api/v1/recordings", json=ecg_json, headers=headers)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"] and again.headers["Location"] == first.headers["Location"]
    assert _jobs(app) == 1 and not _orphan_leads(app)  # the retry left no second copy of the signal


def test_retry_as_csv_upload_of_the_same_samples_is_replayed(app, client, clinician_a, bearer, ecg_json):
    """The key is matched on the parsed recording, so the same samples sent another way still match."""
    headers = {**bearer(clinician_a), "Idempotency-Key": "rec-csv"}
    csv = "\n".join(f"{v}" for v in ecg_json["signal"]).encode()
    first = client.post(
        "/api/v1/recordings",
        headers=headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(csv), "trace.csv"), "sampling_rate": "250"},
    )
    assert first.status_code == 202, first.get_json()
    again = client.post(
        "/api/v1/recordings",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "file": (io.BytesIO(b"\xef\xbb\xbf" + csv.replace(b"\n", b"\r\n")), "trace.csv"),
            "sampling_rate": "250.0",
        },
    )
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"] and _jobs(app) == 1


def test_same_key_with_another_recording_is_422(app, client, clinician_a, bearer, ecg_json):
    headers = {**bearer(clinician_a), "Idempotency-Key": "rec-2"}
    first = client.post("/api/v1/recordings", json=ecg_json, headers=headers)
    other = {**ecg_json, "signal": [v * 2 for v in ecg_json["signal"]]}
    clash = client.post("/api/v1/recordings", json=other, headers=headers)
    body = clash.get_json()
    assert clash.status_code == 422 and body["error"]["code"] == "idempotency_key_reused"
    assert body["error"]["details"]["job_id"] == first.get_json()["id"] and _jobs(app) == 1


def test_keys_belong_to_one_account_and_bad_keys_are_400(app, client, clinician_a, clinician_b, bearer, ecg_json):
    a = client.post("/api/v1/recordings", json=ecg_json, headers={**bearer(clinician_a), "Idempotency-Key": "k"})
    b = client.post("/api/v1/recordings", json=ecg_json, headers={**bearer(clinician_b), "Idempotency-Key": "k"})
    assert a.status_code == b.status_code == 202 and a.get_json()["id"] != b.get_json()["id"]
    bad = client.post("/api/v1/recordings", json=ecg_json, headers={**bearer(clinician_a), "Idempotency-Key": "é"})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["header"] == "Idempotency-Key"
    assert _jobs(app) == 2


def test_without_a_key_every_upload_starts_a_job(app, client, clinician_a, bearer, ecg_json):
    for _ in range(2):
        assert client.post("/api/v1/recordings", json=ecg_json, headers=bearer(clinician_a)).status_code == 202
    assert _jobs(app) == 2


def test_two_simultaneous_uploads_with_one_key_start_one_job(app, clinician_a, bearer, ecg_json):
    headers = {**bearer(clinician_a), "Idempotency-Key": "race"}
    gate, answers = threading.Barrier(2), []

    def post():
        with app.test_client() as own:
            gate.wait()
            answers.append(own.post("/api/v1/recordings", json=ecg_json, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.status_code for r in answers) == [202, 202]
    assert len({r.get_json()["id"] for r in answers}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in answers) == 1
    assert _jobs(app) == 1 and not _orphan_leads(app)  # the loser's saved lead was removed


def test_openapi_documents_the_header_on_recordings(client):
    post = client.get("/api/openapi.json").get_json()["paths"]["/api/v1/recordings"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])
