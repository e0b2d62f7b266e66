"""Background jobs behind one interface: threads of the web process by default, RQ workers when
``REDIS_URL`` is set (`job_backends`).

A job is a ``Job`` row (state queued -> running -> finished | failed, progress 0-100, message, error) of a
registered kind: `register` names the function that does the work (``recordings`` registers
``"recording"``), so the queue never imports the modules that use it. Workers report progress through a
callback that writes the row at most every half second.

Reading a job (`get_job`) only reads. Jobs that will never finish (their worker process died, the queue
lost them, they ran past ``JOB_TIMEOUT_S``) and saved inputs no job will read are found by `sweep`, which
runs when a process starts its job threads or an RQ worker starts, and then every
``JOB_SWEEP_INTERVAL_S`` seconds in a daemon thread of each web process (from its first request, `init_app`)
and worker process (`start_sweeper`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import Job, User
from ecg_backend.services import add_and_commit, storage
from ecg_backend.services.job_backends import QUEUE_NAME, backend_for, thread_backend
from ecg_backend.services.job_workers import (
    ACTIVE_STATES,
    discard_input,
    fail_lost,
    sweep_stray_inputs,
)

log = logging.getLogger(__name__)
JOB_TIMEOUT_S = 3600  # default of Config.JOB_TIMEOUT_S
__all__ = [
    "JOB_TIMEOUT_S",
    "QUEUE_NAME",
    "ProgressReporter",
    "check_job_limit",
    "create_job",
    "enqueue",
    "get_job",
    "init_app",
    "register",
    "run_job",
    "start_sweeper",
    "sweep",
]
_KINDS: dict = {}
_sweepers: dict = {}
_sweepers_lock = threading.Lock()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def register(kind: str, work) -> None:
    """Name the function that does a kind of job: ``work(job, progress) -> analysis id``."""
    _KINDS[kind] = work


def job_input_dir() -> str:
    """Where uploads wait for their job: ``<storage root>/jobs`` (needs an app context)."""
    return storage.job_input_dir()


def create_job(
    owner: User,
    kind: str,
    params: dict,
    input_path: str | None = None,
    patient_id: int | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> Job:
    """Insert a queued Job row for ``owner`` (IntegrityError when ``idempotency_key`` is already used)."""
    job = Job(
        owner_id=owner.id,
        patient_id=patient_id,
        kind=kind,
        state="queued",
        progress=0.0,
        message="waiting for a worker",
        params=params,
        input_path=input_path,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    return add_and_commit(job)


def check_job_limit(owner: User, idempotency_key: str | None = None) -> None:
    """A 429 when ``owner`` already has ``MAX_JOBS_PER_USER`` jobs queued or running (one user's batch must
    not delay everyone's jobs). A retry under an ``Idempotency-Key`` that already has its job passes."""
    from flask import current_app

    if (
        idempotency_key is not None
        and db.session.scalar(select(Job.id).where(Job.owner_id == owner.id, Job.idempotency_key == idempotency_key))
        is not None
    ):
        return
    limit = int(current_app.config.get("MAX_JOBS_PER_USER") or 0)
    active = db.session.scalar(select(func.count(Job.id)).where(Job.owner_id == owner.id, Job.state.in_(ACTIVE_STATES)))
    if limit and active >= limit:
        raise InputError(
            f"you have {active} recordings queued or running; at most {limit} at a time are accepted, "
            "so wait for one to finish and upload again",
            kind="too_many",
            code="too_many_jobs",
            details={"active_jobs": active, "max_jobs": limit},
        )


def enqueue(app, job_id: str) -> None:
    """Start the job (its kind says what runs) on the app's backend; a 503 when the queue is unreachable."""
    from redis.exceptions import RedisError

    try:
        started = backend_for(app).submit(app, job_id, run_job)
    except RedisError as exc:  # the row must not wait for a queue that never got the job
        log.error("job %s could not be queued: %s", job_id, exc)
        error = InputError(
            "the job queue is unavailable, so nothing was analysed; try again shortly",
            kind="unavailable",
            code="queue_unavailable",
        )
        _fail(job_id, error)
        raise error from None
    if started:  # this process just started its job threads: what a previous process left behind goes now
        sweep(app)
        start_sweeper(app)


class ProgressReporter:
    """Callable ``(percent, message)`` that writes the job row, throttled to one write per 0.5 s."""

    def __init__(self, job_id: str, interval_s: float = 0.5):
        self.job_id = job_id
        self.interval_s = interval_s
        self._last = 0.0

    def __call__(self, percent: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s and percent < 100.0:
            return
        self._last = now
        job = db.session.get(Job, self.job_id)
        if job is not None:
            job.progress = round(max(0.0, min(float(percent), 100.0)), 1)
            job.message = message[:500]
            db.session.commit()


def run_job(app, job_id: str) -> None:
    """Run one job to completion with its kind's function, recording success (``analysis_id``) or failure."""
    with app.app_context():
        job = db.session.get(Job, job_id)
        if job is None:
            log.warning("job %s vanished before it ran", job_id)
            return
        job.state, job.started_at, job.message = "running", _now(), "started"
        db.session.commit()
        try:
            work = _KINDS.get(job.kind)
            if work is None:
                raise LookupError(f"no job function is registered for kind {job.kind!r}")
            analysis_id = work(job, ProgressReporter(job_id))
        except Exception as exc:  # noqa: BLE001 - every failure must end as a 'failed' row, never a stuck job
            db.session.rollback()
            _fail(job_id, exc)
            return
        job = db.session.get(Job, job_id)
        job.state, job.progress, job.message = "finished", 100.0, "done"
        job.analysis_id, job.finished_at = analysis_id, _now()
        db.session.commit()


def _fail(job_id: str, exc: Exception) -> None:
    if isinstance(exc, (InputError, ValueError)):
        message = str(exc)
    else:
        log.error("job %s failed", job_id, exc_info=exc)
        message = "the analysis failed unexpectedly; the error was logged"
    job = db.session.get(Job, job_id)
    if job is not None:
        job.state, job.error, job.finished_at = "failed", message[:1000], _now()
        job.message = "failed"
        db.session.commit()
        discard_input(job.input_path)  # a failed job is submitted again as a new upload


def get_job(owner: User, job_id: str) -> Job:
    """The owner's job, or 404 (also for other users' ids). Reads only: `sweep` ends lost jobs."""
    job = db.session.scalar(select(Job).where(Job.id == str(job_id), Job.owner_id == owner.id))
    if job is None:
        raise InputError(f"job {job_id} not found", kind="not_found")
    return job


# ---------------------------------------------------------------------------- the sweeper
def sweep(app) -> int:
    """Fail every queued or running job that will never finish, and remove saved inputs no job will read.

    Returns how many jobs were failed. Safe to run from any process at any time: a job that ended meanwhile
    keeps its result (`job_workers.fail_lost` updates only active rows).
    """
    with app.app_context():
        try:
            backend = backend_for(app)
            failed = sum(
                _sweep_job(app, backend, job)
                for job in db.session.scalars(select(Job).where(Job.state.in_(ACTIVE_STATES))).all()
            )
            limit = float(app.config.get("JOB_TIMEOUT_S") or JOB_TIMEOUT_S)
            sweep_stray_inputs(job_input_dir(), min_age_s=limit)
            return failed
        except SQLAlchemyError as exc:  # housekeeping must never take a process down
            db.session.rollback()
            log.warning("job sweep skipped: %s", exc)
            return 0


def _sweep_job(app, backend, job: Job) -> bool:
    reason = backend.lost(app, job) or _past_time_limit(app, job)
    return bool(reason) and fail_lost(job.id, reason)


def _past_time_limit(app, job: Job) -> str | None:
    """A job past its time limit (its worker stopped or restarted) is failed, not 'running' forever. A queued
    RQ job may legitimately wait long; a queued in-process job may not."""
    limit = float(app.config.get("JOB_TIMEOUT_S") or JOB_TIMEOUT_S)
    since = (
        job.started_at
        if job.state == "running"
        else (job.created_at if job.state == "queued" and not app.config.get("REDIS_URL") else None)
    )
    if since is None or (_now() - since).total_seconds() <= limit + 60:
        return None
    return "the job did not finish within its time limit (its worker may have stopped); upload the recording again"


def start_sweeper(app) -> bool:
    """Run `sweep` every ``JOB_SWEEP_INTERVAL_S`` seconds in a daemon thread of this process (once per app
    and process; 0 turns it off). True when a thread was started."""
    interval = float(app.config.get("JOB_SWEEP_INTERVAL_S") or 0)
    key = (id(app), os.getpid())
    with _sweepers_lock:
        if interval <= 0 or key in _sweepers:
            return False
        stop = threading.Event()
        thread = threading.Thread(target=_sweep_until, args=(app, interval, stop), name="ecg-job-sweeper", daemon=True)
        _sweepers[key] = stop
    thread.start()
    return True


def init_app(app) -> None:
    """Each serving process (a gunicorn worker, forked or not) starts its sweeper with its first request."""

    @app.before_request
    def _sweeper_running() -> None:
        start_sweeper(app)


def _sweep_until(app, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            sweep(app)
        except Exception:  # the sweeper outlives any one bad pass; the next one retries
            log.exception("job sweep failed")


def stop_threads() -> None:
    """Stop this process's job threads (queued ones are cancelled) and sweepers: tests call it between apps."""
    with _sweepers_lock:
        stops = list(_sweepers.values())
        _sweepers.clear()
    for stop in stops:
        stop.set()
    thread_backend().shutdown(wait=True)
