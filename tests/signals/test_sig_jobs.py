"""Recording jobs over HTTP: 202 + polling, ownership, failures, and the RQ path against a real Redis."""

import io
import os

import numpy as np
import pytest

from tests.signals.helpers import synthetic_ecg, wait_for_job


@pytest.fixture(scope="module")
def ecg_json():
    signal, _ = synthetic_ecg(seconds=30, fs=250.0, seed=1)
    return {"signal": np.round(signal, 4).tolist(), "sampling_rate": 250}


def test_sig_job_runs_in_process_and_stores_analysis(client, clinician_a, clinician_b, bearer, ecg_json):
    headers = bearer(clinician_a)
    response = client.post("/api/v1/recordings", json=ecg_json, headers=headers)
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["state"] in ("queued", "running", "finished") and response.headers["Location"] == job["url"]
    done = wait_for_job(client, job["url"], headers)
    assert done["state"] == "finished" and done["progress"] == 100.0 and done["error"] is None
    analysis = client.get(done["result_url"], headers=headers).get_json()
    assert analysis["kind"] == "recording" and analysis["n_beats"] > 25
    summary = analysis["result"]["summary"]
    assert summary["duration_s"] == pytest.approx(30.0) and "burden_percent" in summary
    assert analysis["result"]["episodes"] == [] and summary["flutter_s"] == 0.0
    assert len(analysis["result"]["beats"]["r_peak"]) == analysis["n_beats"]
    # another clinician sees neither the job nor the analysis
    other = bearer(clinician_b)
    assert client.get(job["url"], headers=other).status_code == 404
    assert client.get(done["result_url"], headers=other).status_code == 404
    # the dashboard page and its data load for the owner
    assert done["page_url"].startswith("/recordings/")


def test_sig_recording_page_for_owner_only(client, auth, clinician_a, clinician_b, bearer, ecg_json):
    headers = bearer(clinician_a)
    job = client.post("/api/v1/recordings", json=ecg_json, headers=headers).get_json()
    done = wait_for_job(client, job["url"], headers)
    auth.login(clinician_a)
    page = client.get(done["page_url"])
    assert page.status_code == 200 and b"Recording" in page.data and b"plotly" in page.data.lower()
    data = client.get(done["page_url"] + "/overview.json").get_json()
    assert set(data) >= {"heart_rate_bpm", "counts", "flagged_s", "events", "duration_s"}
    assert client.get("/recordings/new").status_code == 200
    auth.logout()
    auth.login(clinician_b)
    assert client.get(done["page_url"]).status_code == 404


def test_sig_multipart_csv_upload(client, clinician_a, bearer, ecg_json):
    csv = "ecg\n" + "\n".join(str(v) for v in ecg_json["signal"])
    response = client.post(
        "/api/v1/recordings",
        headers=bearer(clinician_a),
        data={"file": (io.BytesIO(csv.encode()), "rec.csv"), "sampling_rate": "250"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()


@pytest.mark.parametrize(
    "payload,status",
    [
        ({"signal": [1, 2, 3], "sampling_rate": 250}, 422),
        ({"signal": [0.0] * 5000, "sampling_rate": 20}, 422),
        ({"sampling_rate": 250}, 422),
    ],
)
def test_sig_bad_input_is_4xx_json(client, clinician_a, bearer, payload, status):
    response = client.post("/api/v1/recordings", json=payload, headers=bearer(clinician_a))
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


def test_sig_openapi_documents_recording_routes(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/recordings"] and "get" in paths["/api/v1/jobs/{job_id}"]


def test_sig_unauthenticated_and_unknown_job(client, clinician_a, bearer):
    assert client.post("/api/v1/recordings", json={}).status_code == 401
    assert client.get("/api/v1/jobs/nope", headers=bearer(clinician_a)).status_code == 404
    assert client.post("/api/v1/recordings", data="x", headers=bearer(clinician_a)).status_code == 415


def test_sig_someone_elses_patient_is_404(client, clinician_a, clinician_b, bearer, ecg_json):
    created = client.post("/api/v1/patients", json={"name": "P B"}, headers=bearer(clinician_b))
    assert created.status_code == 201, created.get_json()
    pid = created.get_json()["id"]
    response = client.post("/api/v1/recordings", json={**ecg_json, "patient_id": pid}, headers=bearer(clinician_a))
    assert response.status_code == 404


def test_sig_failed_job_reports_message(app, client, clinician_a, bearer, ecg_json, monkeypatch):
    from ecg_backend.services import recordings

    def boom(*args, **kwargs):
        raise ValueError("the recording could not be analysed: test failure")

    monkeypatch.setattr("ecg_backend.signals.recording.analyze_recording", boom)
    headers = bearer(clinician_a)
    job = client.post("/api/v1/recordings", json=ecg_json, headers=headers).get_json()
    done = wait_for_job(client, job["url"], headers)
    assert done["state"] == "failed" and "test failure" in done["error"]
    assert done["analysis_id"] is None
    assert recordings  # imported for monkeypatch target resolution
    from ecg_backend.extensions import db
    from ecg_backend.models import Job

    with app.app_context():
        saved = db.session.get(Job, job["id"]).input_path
    assert saved and not os.path.exists(saved)  # a failed job's saved signal does not pile up


def test_sig_progress_reporter_writes_rows(app, clinician_a):
    from ecg_backend.extensions import db
    from ecg_backend.models import Job
    from ecg_backend.services import jobs
    from ecg_backend.services.users import get_user

    with app.app_context():
        job = jobs.create_job(get_user(clinician_a.id), "recording", {"sampling_rate": 250})
        reporter = jobs.ProgressReporter(job.id, interval_s=0.0)
        reporter(42.0, "halfway")
        db.session.expire_all()
        row = db.session.get(Job, job.id)
        assert (row.state, row.progress, row.message) == ("queued", 42.0, "halfway")


@pytest.mark.redis
def test_sig_redis_rq_worker_runs_job(app, client, clinician_a, bearer, ecg_json, redis_url):
    from redis import Redis
    from rq import Queue, SimpleWorker

    from ecg_backend.services.jobs import QUEUE_NAME

    app.config["REDIS_URL"] = redis_url
    connection = Redis.from_url(redis_url)
    Queue(QUEUE_NAME, connection=connection).empty()
    headers = bearer(clinician_a)
    job = client.post("/api/v1/recordings", json=ecg_json, headers=headers).get_json()
    assert client.get(job["url"], headers=headers).get_json()["state"] == "queued"
    with app.app_context():
        worker = SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection)
        assert worker.work(burst=True)
    done = client.get(job["url"], headers=headers).get_json()
    assert done["state"] == "finished", done
    assert client.get(done["result_url"], headers=headers).get_json()["kind"] == "recording"


def test_sig_stale_running_job_reports_failed(app, client, clinician_a, bearer):
    from datetime import timedelta

    from ecg_backend.extensions import db
    from ecg_backend.models import Job
    from ecg_backend.services import jobs
    from ecg_backend.services.users import get_user

    with app.app_context():
        job = jobs.create_job(get_user(clinician_a.id), "recording", {"sampling_rate": 250})
        job.state, job.started_at = "running", jobs._now() - timedelta(seconds=jobs.JOB_TIMEOUT_S + 120)
        db.session.commit()
        job_id = job.id
    assert client.get(f"/api/v1/jobs/{job_id}", headers=bearer(clinician_a)).get_json()["state"] == "running"
    assert jobs.sweep(app) == 1  # the sweeper, not the read, ends it
    body = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(clinician_a)).get_json()
    assert body["state"] == "failed" and "time limit" in body["error"]
    with app.app_context():
        assert db.session.get(Job, job_id).state == "failed"


def test_sig_flutter_and_runs_shown_on_the_recording_page(client, auth, clinician_a, bearer):
    from tests.signals.test_sig_rhythm import _with_flutter

    signal, _, _, _ = _with_flutter(250.0)
    headers = bearer(clinician_a)
    job = client.post(
        "/api/v1/recordings", json={"signal": np.round(signal, 4).tolist(), "sampling_rate": 250}, headers=headers
    ).get_json()
    done = wait_for_job(client, job["url"], headers)
    result = client.get(done["result_url"], headers=headers).get_json()["result"]
    assert [e["rhythm"] for e in result["episodes"]] == ["ventricular_flutter"]
    assert result["summary"]["flutter_episodes"] == 1 and isinstance(result["runs"], list)
    auth.login(clinician_a)
    page = client.get(done["page_url"]).data.decode()
    assert "Ventricular flutter" in page and 'id="sum-flutter"' in page


@pytest.mark.redis
def test_sig_rq_app_worker_builds_the_app_once(app, client, clinician_a, bearer, ecg_json, redis_url, monkeypatch):
    """The worker class runs every job in the app it built at start: no app (and no model load) per job."""
    from redis import Redis
    from rq import Queue

    import ecg_backend
    from ecg_backend.services.jobs import QUEUE_NAME
    from ecg_backend.services.rq_worker import AppWorker

    app.config["REDIS_URL"] = redis_url
    connection = Redis.from_url(redis_url)
    Queue(QUEUE_NAME, connection=connection).empty()
    headers = bearer(clinician_a)
    urls = [client.post("/api/v1/recordings", json=ecg_json, headers=headers).get_json()["url"] for _ in range(2)]
    worker = AppWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection, app=app)
    monkeypatch.setattr(ecg_backend, "create_app", lambda *a, **k: pytest.fail("an app was built for a job"))
    assert worker.work(burst=True)
    assert [client.get(url, headers=headers).get_json()["state"] for url in urls] == ["finished", "finished"]
