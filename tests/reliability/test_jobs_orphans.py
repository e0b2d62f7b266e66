"""In-process jobs whose worker process died are reported failed at once, not after the 1-hour limit.

The end-to-end case starts a real second process on the same SQLite file, lets it pick up a job,
SIGKILLs it mid-job (as the kernel's OOM killer or gunicorn's timeout would) and reads the job here.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from ecg_backend.services import job_workers, jobs

REPO_ROOT = Path(__file__).resolve().parents[2]
RELEASE = threading.Event()


def block_until_released(job, progress) -> int:
    """Job body for these tests: reports progress, then waits (the other process never releases it)."""
    progress(5.0, "working")
    if not RELEASE.wait(timeout=30):
        raise ValueError("test job was never released")
    raise ValueError("released on purpose")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _make_job(app, account, state="running", worker=None, started_ago_s=5.0):
    from ecg_backend.extensions import db
    from ecg_backend.services.users import get_user

    with app.app_context():
        job = jobs.create_job(get_user(account.id), "recording", {"sampling_rate": 250})
        job.state = state
        job.started_at = jobs._now() - timedelta(seconds=started_ago_s) if state == "running" else None
        if worker is not None:
            job.params = {**job.params, "worker": worker}
        db.session.commit()
        return job.id


def _worker(host=None, pid=None, beat_ago_s=1.0) -> dict:
    beat = jobs._now() - timedelta(seconds=beat_ago_s)
    return {"host": host or job_workers.host_id(), "pid": os.getpid() if pid is None else pid,
            "heartbeat": beat.isoformat(timespec="milliseconds") + "Z"}


def _state(app, job_id):
    from ecg_backend.extensions import db
    from ecg_backend.models import Job

    with app.app_context():
        row = db.session.get(Job, job_id)
        return row.state, row.error


def _runner_record(app, job_id):
    """The runner record the server keeps for its liveness checks (not shown to API clients)."""
    from ecg_backend.extensions import db
    from ecg_backend.models import Job

    with app.app_context():
        return (db.session.get(Job, job_id).params or {}).get("worker")


@pytest.mark.parametrize("state", ["running", "queued"])
def test_jobs_dead_process_on_this_host_fails_at_once(app, client, clinician_a, bearer, state):
    job_id = _make_job(app, clinician_a, state=state, worker=_worker(pid=_dead_pid()))
    body = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(clinician_a)).get_json()
    assert body["state"] == "failed" and body["error"] == job_workers.WORKER_STOPPED
    assert body["finished_at"] is not None
    assert _state(app, job_id) == ("failed", job_workers.WORKER_STOPPED)


@pytest.mark.app_config(JOB_STALE_AFTER_S=30)
def test_jobs_stale_heartbeat_from_another_host_fails(app, client, clinician_a, bearer):
    headers = bearer(clinician_a)
    fresh = _make_job(app, clinician_a, worker=_worker(host="another-host", pid=1, beat_ago_s=5))
    stale = _make_job(app, clinician_a, worker=_worker(host="another-host", pid=1, beat_ago_s=45))
    assert client.get(f"/api/v1/jobs/{fresh}", headers=headers).get_json()["state"] == "running"
    body = client.get(f"/api/v1/jobs/{stale}", headers=headers).get_json()
    assert body["state"] == "failed" and "submit the recording again" in body["error"]


def test_jobs_live_workers_are_left_alone(app, client, clinician_a, bearer):
    """No false alarms: a live process on this host, a job without a worker record (RQ, older rows)."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = _make_job(app, clinician_a, worker=_worker(pid=sleeper.pid))
        legacy = _make_job(app, clinician_a, worker=None, started_ago_s=600)
        headers = bearer(clinician_a)
        for job_id in (live, legacy):
            assert client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()["state"] == "running"
    finally:
        sleeper.kill()
        sleeper.wait()
    # the same row once that process is gone
    assert client.get(f"/api/v1/jobs/{live}", headers=headers).get_json()["state"] == "failed"


def test_jobs_finished_job_is_never_overwritten(app, clinician_a):
    from ecg_backend.extensions import db
    from ecg_backend.models import Job

    job_id = _make_job(app, clinician_a, worker=_worker(pid=_dead_pid()))
    with app.app_context():
        db.session.get(Job, job_id).state = "finished"
        db.session.commit()
        assert job_workers.fail_abandoned(job_id) is False
    assert _state(app, job_id) == ("finished", None)


def test_jobs_sweep_fails_orphans_only(app, clinician_a):
    orphan = _make_job(app, clinician_a, worker=_worker(pid=_dead_pid()))
    alive = _make_job(app, clinician_a, worker=_worker(host="another-host", pid=1))
    assert job_workers.fail_orphaned_jobs(app) == 1
    assert _state(app, orphan)[0] == "failed" and _state(app, alive)[0] == "running"


@pytest.mark.app_config(JOB_STALE_AFTER_S=0.6)
def test_jobs_heartbeat_keeps_a_running_job_alive(app, client, clinician_a, bearer):
    """While a job makes no progress for longer than the bound, its process keeps refreshing the heartbeat."""
    from ecg_backend.services.users import get_user

    RELEASE.clear()
    with app.app_context():
        job = jobs.create_job(get_user(clinician_a.id), "recording", {"sampling_rate": 250})
        jobs.enqueue(app, job.id, f"{__name__}.block_until_released")
        job_id = job.id
    headers = bearer(clinician_a)
    try:
        seen = set()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
            assert body["state"] in ("queued", "running"), body
            assert "worker" not in (body["params"] or {})
            seen.add(_runner_record(app, job_id)["heartbeat"])
            time.sleep(0.2)
        assert _runner_record(app, job_id)["pid"] == os.getpid()
        assert len(seen) >= 5  # the heartbeat moved while the job made no progress
    finally:
        RELEASE.set()
    deadline = time.monotonic() + 10
    while client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()["state"] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert "released on purpose" in client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()["error"]


CHILD = textwrap.dedent("""
    import sys, time
    from tests.conftest import make_test_app
    from ecg_backend.services import job_workers, jobs
    from ecg_backend.services.users import get_user

    app = make_test_app(sys.argv[1])
    with app.app_context():
        job = jobs.create_job(get_user(int(sys.argv[2])), "recording", {"sampling_rate": 250})
        jobs.enqueue(app, job.id, "tests.reliability.test_jobs_orphans.block_until_released")
        print(job.id, flush=True)
    time.sleep(120)
""")


def test_jobs_sigkilled_worker_process_is_detected(app, client, clinician_a, bearer, tmp_path):
    """A real process runs the job in its thread pool and is SIGKILLed; the next read reports the job failed."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    child = subprocess.Popen([sys.executable, "-c", CHILD, uri, str(clinician_a.id)], cwd=REPO_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "ECG_JOB_WORKERS": "1"})
    headers = bearer(clinician_a)
    try:
        job_id = child.stdout.readline().strip()
        assert job_id, child.stderr.read()[-2000:]
        deadline = time.monotonic() + 60
        while (body := client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json())["progress"] < 5.0:
            assert body["state"] in ("queued", "running") and time.monotonic() < deadline, body
            time.sleep(0.1)
        assert body["state"] == "running" and _runner_record(app, job_id)["pid"] == child.pid
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    started = time.monotonic()
    body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert body["state"] == "failed" and body["error"] == job_workers.WORKER_STOPPED
    assert time.monotonic() - started < 5
