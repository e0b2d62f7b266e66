"""Liveness of in-process jobs: which process holds a job, its heartbeat, and failing jobs whose worker died.

An in-process job dies with its process (a gunicorn worker killed or recycled mid-job). When such a job is
queued, ``claim`` records in ``params["worker"]`` who holds it: a host id, the process id and a heartbeat
that a keeper thread of that process refreshes every few seconds while the job is queued or running.
``worker_stopped`` then tells, from any process, that the worker is gone: its process has ended on this
host, or its heartbeat is older than ``JOB_STALE_AFTER_S`` (``ECG_JOB_STALE_AFTER_S``, default 60 s; other
hosts, reused pids). Jobs without a worker record (RQ jobs, rows from older versions) are left to the other
checks of the sweeper (``jobs.sweep``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from ecg_backend.extensions import db
from ecg_backend.models import Job

log = logging.getLogger(__name__)
DEFAULT_STALE_AFTER_S = 60.0
ACTIVE_STATES = ("queued", "running")
WORKER_STOPPED = "the worker running this job stopped; submit the recording again"
_keepers_lock = threading.Lock()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def stale_after_s(app=None) -> float:
    """Seconds without a heartbeat after which an in-process job counts as abandoned (``JOB_STALE_AFTER_S``)."""
    from flask import current_app

    value = float((app or current_app).config.get("JOB_STALE_AFTER_S") or DEFAULT_STALE_AFTER_S)
    return value if value > 0 else DEFAULT_STALE_AFTER_S


@functools.lru_cache(maxsize=1)  # a forked child shares all three with its parent
def host_id() -> str:
    """Who can see this process's pid: the kernel boot and pid namespace (containers differ), and the host name."""
    parts = [socket.gethostname()]
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            parts.append(fh.read().strip())
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:  # no /proc (macOS): the host name alone
        pass
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _worker_record() -> dict:
    return {"host": host_id(), "pid": os.getpid(), "heartbeat": _now().isoformat(timespec="milliseconds") + "Z"}


class _Keeper:
    """This process's in-process jobs (queued or running) and the thread that keeps their heartbeats fresh."""

    def __init__(self, app):
        self.app, self.pid, self.jobs = app, os.getpid(), set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, job_id: str) -> None:
        with self.lock:
            self.jobs.add(job_id)
            if self.thread is None:
                self.thread = threading.Thread(target=self._beat, name="ecg-job-heartbeat", daemon=True)
                self.thread.start()

    def discard(self, job_id: str) -> None:
        with self.lock:
            self.jobs.discard(job_id)

    def holds(self, job_id: str) -> bool:
        with self.lock:
            return job_id in self.jobs

    def _beat(self) -> None:
        interval = min(10.0, max(0.1, stale_after_s(self.app) / 6))
        while True:
            time.sleep(interval)
            with self.lock:
                ids = sorted(self.jobs)
                if not ids:  # idle: stop; the next job starts a new thread
                    self.thread = None
                    return
            with self.app.app_context():
                try:
                    for job in db.session.scalars(select(Job).where(Job.id.in_(ids), Job.state.in_(ACTIVE_STATES))):
                        job.params = {**(job.params or {}), "worker": _worker_record()}
                    db.session.commit()
                except SQLAlchemyError as exc:  # a busy or unreachable database: try again next beat
                    db.session.rollback()
                    log.warning("job heartbeat not written: %s", exc)


def keeper(app) -> _Keeper:
    """This process's keeper of ``app``'s in-process jobs."""
    with _keepers_lock:
        found = app.extensions.get("ecg_job_keeper")
        if found is None or found.pid != os.getpid():  # none yet, or inherited across a fork
            found = app.extensions["ecg_job_keeper"] = _Keeper(app)
        return found


def claim(app, job_id: str) -> None:
    """Record this process as the job's worker and keep its heartbeat until the job ends."""
    holder = keeper(app)
    holder.add(job_id)  # first: a reader in this process must never see the record without the claim
    try:
        job = db.session.get(Job, job_id)
        job.params = {**(job.params or {}), "worker": _worker_record()}
        db.session.commit()
    except BaseException:
        holder.discard(job_id)
        raise


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # no cheap check: the heartbeat decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: a process with that id exists
        return True
    return True


def worker_stopped(job: Job, app=None) -> bool:
    """Whether an in-process job's worker is gone: its process has ended on this host, or its heartbeat is stale.

    Jobs without a worker record (RQ jobs, rows from older versions) are left to the other checks.
    """
    from flask import current_app

    worker = (job.params or {}).get("worker")
    if job.state not in ACTIVE_STATES or not isinstance(worker, dict):
        return False
    pid = worker.get("pid")
    if worker.get("host") == host_id() and isinstance(pid, int) and pid > 0:
        if pid == os.getpid():  # this very process: it holds the job, unless it is a new process reusing the id
            return not keeper(app or current_app._get_current_object()).holds(job.id)
        if not _pid_alive(pid):
            return True
        # alive, but the id may have been reused by another process since: the heartbeat decides
    try:
        beat = datetime.fromisoformat(str(worker.get("heartbeat")).rstrip("Z"))
    except ValueError:
        return True
    return (_now() - beat).total_seconds() > stale_after_s(app)


def discard_input(path: str | None) -> bool:
    """Remove a job's saved input (nobody will read it again); True when a file was removed."""
    if not path:
        return False
    try:
        os.remove(path)
    except OSError:  # already gone, or never written
        return False
    return True


def fail_lost(job_id: str, reason: str) -> bool:
    """Mark the job failed with ``reason`` unless it ended meanwhile (a finished job keeps its result); True
    when it was. The saved input of a job failed here is removed: its worker never ran the job's own clean-up.
    """
    path = db.session.scalar(select(Job.input_path).where(Job.id == job_id))
    result = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_(ACTIVE_STATES))
        .values(state="failed", error=reason, message="failed", finished_at=_now())
    )
    db.session.commit()
    if result.rowcount:
        log.warning("job %s failed: %s", job_id, reason)
        discard_input(path)
    return bool(result.rowcount)


def fail_abandoned(job_id: str) -> bool:
    """`fail_lost` for a job whose worker process stopped."""
    return fail_lost(job_id, WORKER_STOPPED)


def fail_orphaned_jobs(app=None) -> int:
    """Mark failed every queued or running in-process job whose worker stopped; returns how many."""
    from flask import current_app, has_app_context

    if app is None and not has_app_context():
        return 0
    app = app or current_app._get_current_object()
    with app.app_context():
        try:
            active = list(db.session.scalars(select(Job).where(Job.state.in_(ACTIVE_STATES))))
            return sum(fail_abandoned(job.id) for job in active if worker_stopped(job, app))
        except SQLAlchemyError as exc:  # start-up must not fail over housekeeping
            db.session.rollback()
            log.warning("could not check for abandoned jobs: %s", exc)
            return 0


def sweep_stray_inputs(folder: str, min_age_s: float = 3600.0) -> int:
    """Remove saved job inputs in ``folder`` that no queued or running job refers to; returns how many.

    Such files are left by a process that died between saving an upload and creating its job, or by
    jobs that ended before their inputs were cleaned up. Files younger than ``min_age_s`` are kept: their
    job row may not be committed yet. Needs an app context.
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    active = set(
        db.session.scalars(select(Job.input_path).where(Job.state.in_(ACTIVE_STATES), Job.input_path.is_not(None)))
    )
    active = {os.path.realpath(p) for p in active}
    cutoff = time.time() - min_age_s
    removed = 0
    for name in names:
        path = os.path.join(folder, name)
        try:
            if not os.path.isfile(path) or os.path.getmtime(path) > cutoff:
                continue
        except OSError:
            continue
        if os.path.realpath(path) not in active:
            removed += discard_input(path)
    if removed:
        log.info("removed %d saved job inputs that no active job refers to", removed)
    return removed
