"""Redis gone while jobs are queued (REDIS_URL set): jobs are reported failed, never silently lost.

A private ``redis-server`` (no persistence, like .ci/run's) is started on a free port so the test can stop
and restart it; the RQ worker is never started, so jobs sit in the queue when Redis goes away.
"""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from ecg_backend.services import jobs
from tests.conftest import require_program

pytestmark = pytest.mark.redis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, workdir):
        self.port = _free_port()
        self.workdir = workdir
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    require_program("redis-server", "apt-get install redis-server (.ci/run installs it)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def recording_json():
    import numpy as np

    fs = 250
    t = np.arange(10 * fs) / fs
    signal = np.sin(2 * np.pi * 1.2 * t) ** 63  # a spiky 72 bpm train: valid input, never analysed here
    return {"signal": signal.round(4).tolist(), "sampling_rate": fs}


def _job_state(app, job_id):
    from ecg_backend.extensions import db
    from ecg_backend.models import Job

    with app.app_context():
        row = db.session.get(Job, job_id)
        return row.state, row.error


def test_rel_redis_down_at_submit_answers_503_and_leaves_no_queued_job(
    app, clinician_a, bearer, recording_json, redis_server
):
    from ecg_backend.extensions import db
    from ecg_backend.models import Job

    app.config["REDIS_URL"] = redis_server.url
    redis_server.stop()
    response = app.test_client().post("/api/v1/recordings", json=recording_json, headers=bearer(clinician_a))
    assert response.status_code == 503, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"} and "queue" in error["message"].lower()
    with app.app_context():
        states = [row.state for row in db.session.query(Job).all()]
    assert "queued" not in states, states  # nothing waits for a queue that never got it


def test_rel_jobs_lost_by_a_restarted_redis_are_reported_failed(app, clinician_a, bearer, recording_json, redis_server):
    app.config["REDIS_URL"] = redis_server.url
    headers = bearer(clinician_a)
    client = app.test_client()
    submitted = [client.post("/api/v1/recordings", json=recording_json, headers=headers) for _ in range(3)]
    assert [r.status_code for r in submitted] == [202, 202, 202]
    urls = [r.get_json()["url"] for r in submitted]
    assert {client.get(url, headers=headers).get_json()["state"] for url in urls} == {"queued"}

    redis_server.stop()  # Redis goes away with the queue in memory ...
    assert jobs.sweep(app) == 0  # the sweeper cannot reach the queue: it leaves the rows as they are
    during = [client.get(url, headers=headers) for url in urls]
    assert all(r.status_code == 200 for r in during)  # the job rows still answer
    assert {r.get_json()["state"] for r in during} == {"queued"}  # ... and nobody can tell yet

    redis_server.start()  # ... and comes back empty (no persistence)
    assert jobs.sweep(app) == 3  # the sweeper's next pass (a read alone never changes a job)
    after = [client.get(url, headers=headers).get_json() for url in urls]
    assert {job["state"] for job in after} == {"failed"}, after
    assert all("queue" in job["error"].lower() for job in after), after
    for job in after:
        assert _job_state(app, job["id"]) == ("failed", job["error"])  # stored, not just shown
