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


jobs.register("test-block", block_until_released)


def _swept(app, client, job_id, headers) -> dict:
    """The job as a client reads it after the sweeper's next pass (a read alone never changes a job)."""
    jobs.sweep(app)
    return client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _make_job(app, account, state="running", worker=None, started_ago_s=5.0, input_path=None):
    from ecg_backend.extensions import db
    from ecg_backend.services.users import get_user

    with app.app_context():
        job = jobs.create_job(get_user(account.id), "recording", {"sampling_rate": 250}, input_path=input_path)
        job.state = state
        job.started_at = jobs._now() - timedelta(seconds=started_ago_s) if state == "running" else None
        if worker is not None:
            job.params = {**job.params, "worker": worker}
        db.session.commit()
        return job.id


def _worker(host=None, pid=None, beat_ago_s=1.0) -> dict:
    beat = jobs._now() - timedelta(seconds=beat_ago_s)
    return {
        "host": host or job_workers.host_id(),
        "pid": os.getpid() if pid is None else pid,
        "heartbeat": beat.isoformat(timespec="milliseconds") + "Z",
    }


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
    body = _swept(app, client, job_id, bearer(clinician_a))
    assert body["state"] == "failed" and body["error"] == job_workers.WORKER_STOPPED
    assert body["finished_at"] is not None
    assert _state(app, job_id) == ("failed", job_workers.WORKER_STOPPED)


@pytest.mark.app_config(JOB_STALE_AFTER_S=30)
def test_jobs_stale_heartbeat_from_another_host_fails(app, client, clinician_a, bearer):
    headers = bearer(clinician_a)
    fresh = _make_job(app, clinician_a, worker=_worker(host="another-host", pid=1, beat_ago_s=5))
    stale = _make_job(app, clinician_a, worker=_worker(host="another-host", pid=1, beat_ago_s=45))
    assert _swept(app, client, fresh, headers)["state"] == "running"
    body = _swept(app, client, stale, headers)
    assert body["state"] == "failed" and "submit the recording again" in body["error"]


def test_jobs_live_workers_are_left_alone(app, client, clinician_a, bearer):
    """No false alarms: a live process on this host, a job without a worker record (RQ, older rows)."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = _make_job(app, clinician_a, worker=_worker(pid=sleeper.pid))
        legacy = _make_job(app, clinician_a, worker=None, started_ago_s=600)
        headers = bearer(clinician_a)
        for job_id in (live, legacy):
            assert _swept(app, client, job_id, headers)["state"] == "running"
    finally:
        sleeper.kill()
        sleeper.wait()
    # the same row once that process is gone
    assert _swept(app, client, live, headers)["state"] == "failed"


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
        job = jobs.create_job(get_user(clinician_a.id), "test-block", {"sampling_rate": 250})
        jobs.enqueue(app, job.id)
        job_id = job.id
    headers = bearer(clinician_a)
    try:
        seen = set()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            body = _swept(app, client, job_id, headers)
            assert body["state"] in ("queued", "running"), body
            assert "worker" not in (body["params"] or {})
            seen.add(_runner_record(app, job_id)["heartbeat"])
            time.sleep(0.2)
        assert _runner_record(app, job_id)["pid"] == os.getpid()
        assert len(seen) >= 5  # the heartbeat moved while the job made no progress
    finally:
        RELEASE.set()
    deadline = time.monotonic() + 10
    while _swept(app, client, job_id, headers)["state"] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert "released on purpose" in _swept(app, client, job_id, headers)["error"]


CHILD = textwrap.dedent("""
    import sys, time
    from tests.conftest import make_test_app
    from ecg_backend.services import job_workers, jobs
    from ecg_backend.services.users import get_user
    import tests.reliability.test_jobs_orphans  # registers the "test-block" kind

    app = make_test_app(sys.argv[1])
    with open(sys.argv[3], "wb") as saved:
        saved.write(b"a saved recording")
    with app.app_context():
        job = jobs.create_job(get_user(int(sys.argv[2])), "test-block", {"sampling_rate": 250}, input_path=sys.argv[3])
        jobs.enqueue(app, job.id)
        print(job.id, flush=True)
    time.sleep(120)
""")


def test_jobs_sigkilled_worker_process_is_detected(app, client, clinician_a, bearer, tmp_path):
    """A real process runs the job in its thread pool and is SIGKILLed; the next read reports the job failed."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    saved = tmp_path / "saved.npy"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, uri, str(clinician_a.id), str(saved)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ECG_JOB_WORKERS": "1"},
    )
    headers = bearer(clinician_a)
    try:
        job_id = child.stdout.readline().strip()
        assert job_id, child.stderr.read()[-2000:]
        deadline = time.monotonic() + 60
        while (body := _swept(app, client, job_id, headers))["progress"] < 5.0:
            assert body["state"] in ("queued", "running") and time.monotonic() < deadline, body
            time.sleep(0.1)
        assert body["state"] == "running" and _runner_record(app, job_id)["pid"] == child.pid
        assert saved.exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    started = time.monotonic()
    body = _swept(app, client, job_id, headers)
    assert body["state"] == "failed" and body["error"] == job_workers.WORKER_STOPPED
    assert time.monotonic() - started < 5
    assert not saved.exists()  # the dead worker never cleaned up; failing its job removed the saved recording


def _saved(path: Path, age_s: float = 0.0) -> str:
    path.write_bytes(b"a saved recording")
    if age_s:
        then = time.time() - age_s
        os.utime(path, (then, then))
    return str(path)


def test_jobs_failing_an_abandoned_job_removes_its_saved_input(app, client, clinician_a, bearer, tmp_path):
    dead = _make_job(app, clinician_a, worker=_worker(pid=_dead_pid()), input_path=_saved(tmp_path / "dead.npy"))
    live = _make_job(
        app, clinician_a, worker=_worker(host="another-host", pid=1), input_path=_saved(tmp_path / "live.npy")
    )
    headers = bearer(clinician_a)
    assert _swept(app, client, dead, headers)["state"] == "failed"
    assert _swept(app, client, live, headers)["state"] == "running"
    assert not (tmp_path / "dead.npy").exists() and (tmp_path / "live.npy").exists()


def test_jobs_a_job_past_its_time_limit_loses_its_saved_input(app, client, clinician_a, bearer, tmp_path):
    job_id = _make_job(
        app, clinician_a, started_ago_s=jobs.JOB_TIMEOUT_S + 120, input_path=_saved(tmp_path / "late.npy")
    )
    body = _swept(app, client, job_id, bearer(clinician_a))
    assert body["state"] == "failed" and "time limit" in body["error"]
    assert not (tmp_path / "late.npy").exists()


def test_jobs_sweep_removes_only_old_inputs_no_active_job_reads(app, clinician_a, tmp_path):
    from ecg_backend.extensions import db
    from ecg_backend.models import Job

    folder = tmp_path / "inputs"
    folder.mkdir()
    hour = 3600.0
    stray = _saved(folder / "stray.npy", age_s=2 * hour)  # no job refers to it
    young = _saved(folder / "young.npy", age_s=60)  # its job row may not be committed yet
    queued = _saved(folder / "queued.npy", age_s=2 * hour)
    ended = _saved(folder / "ended.npy", age_s=2 * hour)
    _make_job(app, clinician_a, state="queued", input_path=queued)
    ended_id = _make_job(app, clinician_a, input_path=ended)
    with app.app_context():
        db.session.get(Job, ended_id).state = "finished"
        db.session.commit()
        assert job_workers.sweep_stray_inputs(str(folder), min_age_s=hour) == 2
        assert job_workers.sweep_stray_inputs(str(tmp_path / "missing"), min_age_s=hour) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["queued.npy", "young.npy"]
    assert not os.path.exists(stray) and not os.path.exists(ended) and os.path.exists(young)


def test_jobs_pool_start_sweeps_the_upload_area(app, clinician_a):
    from ecg_backend.services.users import get_user

    with app.app_context():
        folder = Path(jobs.job_input_dir())
    folder.mkdir(parents=True, exist_ok=True)
    stray = _saved(folder / "left-behind.npy", age_s=jobs.JOB_TIMEOUT_S + 60)
    jobs.stop_threads()  # the next job starts this process's pool, as in a new worker process
    RELEASE.set()
    with app.app_context():
        jobs.enqueue(app, jobs.create_job(get_user(clinician_a.id), "test-block", {}).id)
    jobs.stop_threads()
    assert not os.path.exists(stray)


def test_jobs_reading_a_job_never_changes_it(app, client, clinician_a, bearer, tmp_path):
    """GET /api/v1/jobs/<id> only reads: the sweeper fails a dead worker's job and removes its input."""
    job_id = _make_job(app, clinician_a, worker=_worker(pid=_dead_pid()), input_path=_saved(tmp_path / "in.npy"))
    headers = bearer(clinician_a)
    for _ in range(2):
        assert client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()["state"] == "running"
    assert (tmp_path / "in.npy").exists()
    assert jobs.sweep(app) == 1
    assert client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()["state"] == "failed"
    assert not (tmp_path / "in.npy").exists()


@pytest.mark.app_config(JOB_SWEEP_INTERVAL_S=0.2)
def test_jobs_sweeper_runs_periodically(app, client, clinician_a, bearer):
    job_id = _make_job(app, clinician_a, worker=_worker(pid=_dead_pid()))
    assert jobs.start_sweeper(app) and not jobs.start_sweeper(app)  # one per app and process
    deadline = time.monotonic() + 5
    while _state(app, job_id)[0] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.mark.app_config(JOB_SWEEP_INTERVAL_S=0.2)
def test_jobs_a_serving_process_starts_its_sweeper_with_its_first_request(app, client, clinician_a):
    job_id = _make_job(app, clinician_a, worker=_worker(pid=_dead_pid()))
    client.get("/healthz")
    deadline = time.monotonic() + 5
    while _state(app, job_id)[0] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
