"""Background jobs: a small in-process thread pool by default, RQ workers when ``REDIS_URL`` is set.

A job is a ``Job`` row (state queued -> running -> finished | failed, progress 0-100, message, error)
plus a function that does the work. Workers report progress through a callback that writes the row
at most every half second, so polling clients see it move without hammering the database.

In-process jobs die with their process (a gunicorn worker killed or recycled mid-job): they record the
process that holds them and a heartbeat (``job_workers``), and a job read here whose worker is gone is
reported failed at once; a process sweeps such jobs when it starts its pool. RQ jobs are checked against
the queue instead (``_check_queue``).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import Job, User
from ecg_backend.services import add_and_commit, storage
from ecg_backend.services.job_workers import (ACTIVE_STATES, claim, discard_input, fail_abandoned, fail_orphaned_jobs,
                                              keeper, sweep_stray_inputs, worker_stopped)

log = logging.getLogger(__name__)
QUEUE_NAME = "ecg"
JOB_TIMEOUT_S = 3600
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _pool(app) -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            workers = app.config.get("JOB_WORKERS") or os.environ.get("ECG_JOB_WORKERS") or 1
            _executor = ThreadPoolExecutor(max_workers=max(int(workers), 1), thread_name_prefix="ecg-job")
            started = True
        else:
            started = False
    if started:  # a new worker process: jobs that a previous one left behind are reported now
        fail_orphaned_jobs(app)
        _sweep_stray_inputs(app)
    return _executor


def job_input_dir() -> str:
    """Where uploads wait for their job: ``<storage root>/jobs`` (needs an app context)."""
    return storage.job_input_dir()


def _sweep_stray_inputs(app) -> int:
    """Remove saved recordings in the upload area that no active job will read (start-up housekeeping)."""
    with app.app_context():
        try:
            return sweep_stray_inputs(job_input_dir(), min_age_s=JOB_TIMEOUT_S)
        except SQLAlchemyError as exc:  # start-up must not fail over housekeeping
            db.session.rollback()
            log.warning("could not sweep saved job inputs: %s", exc)
            return 0


def create_job(owner: User, kind: str, params: dict, input_path: str | None = None,
               patient_id: int | None = None, idempotency_key: str | None = None,
               request_hash: str | None = None) -> Job:
    """Insert a queued Job row for ``owner`` (IntegrityError when ``idempotency_key`` is already used)."""
    job = Job(owner_id=owner.id, patient_id=patient_id, kind=kind, state="queued", progress=0.0,
              message="waiting for a worker", params=params, input_path=input_path,
              idempotency_key=idempotency_key, request_hash=request_hash)
    return add_and_commit(job)


def check_job_limit(owner: User, idempotency_key: str | None = None) -> None:
    """A 429 when ``owner`` already has ``MAX_JOBS_PER_USER`` jobs queued or running (one user's batch must
    not delay everyone's jobs). A retry under an ``Idempotency-Key`` that already has its job passes."""
    from flask import current_app

    if idempotency_key is not None and db.session.scalar(
            select(Job.id).where(Job.owner_id == owner.id, Job.idempotency_key == idempotency_key)) is not None:
        return
    limit = int(current_app.config.get("MAX_JOBS_PER_USER") or 0)
    active = db.session.scalar(select(func.count(Job.id)).where(Job.owner_id == owner.id,
                                                                Job.state.in_(ACTIVE_STATES)))
    if limit and active >= limit:
        raise InputError(f"you have {active} recordings queued or running; at most {limit} at a time are accepted, "
                         "so wait for one to finish and upload again", kind="too_many", code="too_many_jobs",
                         details={"active_jobs": active, "max_jobs": limit})


def enqueue(app, job_id: str, func_path: str) -> None:
    """Start ``func_path(job_id)`` (dotted path of a function taking the job id) in the background."""
    url = app.config.get("REDIS_URL")
    if url:
        from redis import Redis
        from redis.exceptions import RedisError
        from rq import Queue

        try:
            queue = Queue(QUEUE_NAME, connection=Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5))
            queue.enqueue("ecg_backend.services.jobs.run_in_worker", job_id, func_path,
                          job_timeout=JOB_TIMEOUT_S, job_id=job_id)
        except RedisError as exc:  # the row must not wait for a queue that never got the job
            log.error("job %s could not be queued: %s", job_id, exc)
            error = InputError("the job queue is unavailable, so nothing was analysed; try again shortly",
                               kind="unavailable", code="queue_unavailable")
            _fail(job_id, error)
            raise error from None
    else:
        pool = _pool(app)
        claim(app, job_id)
        pool.submit(_run_here, app, job_id, func_path)


def run_in_worker(job_id: str, func_path: str) -> None:
    """RQ entry point: runs the job inside the current app context, or a fresh app built from the environment."""
    from flask import current_app, has_app_context

    if has_app_context():
        run_job(current_app._get_current_object(), job_id, func_path)
        return
    from ecg_backend import create_app

    run_job(create_app(), job_id, func_path)


def _import(func_path: str):
    import importlib

    module, _, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


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


def run_job(app, job_id: str, func_path: str) -> None:
    """Run one job to completion, recording success (``analysis_id``) or failure (``error``)."""
    with app.app_context():
        job = db.session.get(Job, job_id)
        if job is None:
            log.warning("job %s vanished before it ran", job_id)
            return
        job.state, job.started_at, job.message = "running", _now(), "started"
        db.session.commit()
        try:
            analysis_id = _import(func_path)(job, ProgressReporter(job_id))
        except Exception as exc:  # every failure must end as a 'failed' row, never a stuck job
            db.session.rollback()
            _fail(job_id, exc)
            return
        job = db.session.get(Job, job_id)
        job.state, job.progress, job.message = "finished", 100.0, "done"
        job.analysis_id, job.finished_at = analysis_id, _now()
        db.session.commit()


def _run_here(app, job_id: str, func_path: str) -> None:
    try:
        run_job(app, job_id, func_path)
    finally:
        keeper(app).discard(job_id)


def _fail(job_id: str, exc: Exception) -> None:
    if isinstance(exc, (InputError, ValueError)):
        message = str(exc)
    else:
        log.exception("job %s failed", job_id)
        message = "the analysis failed unexpectedly; the error was logged"
    job = db.session.get(Job, job_id)
    if job is not None:
        job.state, job.error, job.finished_at = "failed", message[:1000], _now()
        job.message = "failed"
        db.session.commit()
        discard_input(job.input_path)  # a failed job is submitted again as a new upload


def get_job(owner: User, job_id: str) -> Job:
    """The owner's job, or 404 (also for other users' ids)."""
    job = db.session.scalar(select(Job).where(Job.id == str(job_id), Job.owner_id == owner.id))
    if job is None:
        raise InputError(f"job {job_id} not found", kind="not_found")
    if job.state in ACTIVE_STATES:
        _check_queue(job)
        _check_worker(job)
        _expire_if_stale(job)
    return job


def _expire_if_stale(job: Job) -> None:
    """A job past its time limit (its worker process stopped or restarted) is reported failed, not 'running' forever."""
    from flask import current_app

    in_process = not current_app.config.get("REDIS_URL")  # an RQ queue may legitimately be long
    since = job.started_at if job.state == "running" else (
        job.created_at if job.state == "queued" and in_process else None)
    if since is None or (_now() - since).total_seconds() <= JOB_TIMEOUT_S + 60:
        return
    _fail(job.id, InputError("the job did not finish within its time limit (its worker may have stopped); "
                             "upload the recording again"))
    db.session.refresh(job)


def _check_worker(job: Job) -> None:
    if worker_stopped(job):
        fail_abandoned(job.id)
        db.session.refresh(job)


def _check_queue(job: Job) -> None:
    """With RQ, fail a waiting job that the queue no longer holds (Redis restarted empty, worker died).

    While Redis cannot be reached nothing can be known, so the row is left as it is.
    """
    from flask import current_app

    url = current_app.config.get("REDIS_URL")
    if not url:
        return
    from redis import Redis
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as QueuedJob

    try:
        status = QueuedJob.fetch(job.id, connection=Redis.from_url(url, socket_timeout=2,
                                                                   socket_connect_timeout=2)).get_status()
    except NoSuchJobError:
        status = None
    except RedisError:
        return
    if status is None or str(getattr(status, "value", status)) in ("failed", "stopped", "canceled"):
        db.session.refresh(job)
        if job.state in ("queued", "running"):  # the worker may have finished it meanwhile
            _fail(job.id, InputError("the job queue lost this job (it restarted or its worker stopped); "
                                     "upload the recording again"))
            db.session.refresh(job)
