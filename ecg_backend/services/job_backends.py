"""The two backends behind the job queue (`jobs`): threads of this process, or RQ workers.

Both answer the same two questions: ``submit(app, job_id, runner)`` starts a queued job, and
``lost(app, job)`` says why a queued or running job will never finish (its worker process died, the
queue no longer holds it), or None. Only the sweeper (`jobs.sweep`) asks the second.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from ecg_backend.services.job_workers import (
    WORKER_STOPPED,
    claim,
    keeper,
    worker_stopped,
)

log = logging.getLogger(__name__)
QUEUE_NAME = "ecg"
RQ_ENTRY_POINT = "ecg_backend.services.rq_worker.run_queued_job"  # what RQ imports in the worker
LOST_BY_QUEUE = "the job queue lost this job (it restarted or its worker stopped); upload the recording again"


class ThreadBackend:
    """Jobs in a small thread pool of this process (``JOB_WORKERS`` threads), each claimed with a heartbeat
    (`job_workers.claim`) so another process can tell when this one died."""

    def __init__(self):
        self.executor: ThreadPoolExecutor | None = None
        self.lock = threading.Lock()

    def pool(self, app) -> tuple[ThreadPoolExecutor, bool]:
        """The pool, created on first use; True when it was created now (a new worker process)."""
        with self.lock:
            if self.executor is not None:
                return self.executor, False
            workers = max(int(app.config.get("JOB_WORKERS") or 1), 1)
            self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ecg-job")
            return self.executor, True

    def submit(self, app, job_id: str, runner) -> bool:
        """Claim the job for this process and run ``runner(app, job_id)`` in the pool; True for a new pool."""
        pool, started = self.pool(app)
        claim(app, job_id)
        pool.submit(self._run, app, job_id, runner)
        return started

    @staticmethod
    def _run(app, job_id: str, runner) -> None:
        try:
            runner(app, job_id)
        finally:
            keeper(app).discard(job_id)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool (queued jobs are cancelled); the next job starts a new one."""
        with self.lock:
            pool, self.executor = self.executor, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    @staticmethod
    def lost(app, job) -> str | None:
        return WORKER_STOPPED if worker_stopped(job, app) else None


class RQBackend:
    """Jobs on the ``ecg`` RQ queue, run by `rq_worker.AppWorker` processes (`REDIS_URL`)."""

    def __init__(self, url: str):
        self.url = url

    def connection(self, timeout_s: float = 5.0):
        from redis import Redis

        return Redis.from_url(self.url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)

    def submit(self, app, job_id: str, runner=None) -> bool:
        """Put the job on the queue (RedisError when Redis cannot be reached)."""
        from rq import Queue

        Queue(QUEUE_NAME, connection=self.connection()).enqueue(
            RQ_ENTRY_POINT, job_id, job_timeout=int(app.config.get("JOB_TIMEOUT_S") or 3600), job_id=job_id
        )
        return False

    def lost(self, app, job) -> str | None:
        """The queue no longer holds the job, or ended it without our row knowing; None while Redis is down."""
        from redis.exceptions import RedisError
        from rq.exceptions import NoSuchJobError
        from rq.job import Job as QueuedJob

        if worker_stopped(job, app):  # a row claimed by a thread of a web process (before REDIS_URL was set)
            return WORKER_STOPPED
        try:
            status = QueuedJob.fetch(job.id, connection=self.connection(2.0)).get_status()
        except NoSuchJobError:
            return LOST_BY_QUEUE
        except RedisError:
            return None
        return LOST_BY_QUEUE if str(getattr(status, "value", status)) in ("failed", "stopped", "canceled") else None


_threads = ThreadBackend()


def backend_for(app):
    """The app's backend: RQ when ``REDIS_URL`` is set, else this process's threads."""
    url = app.config.get("REDIS_URL")
    return RQBackend(url) if url else _threads


def thread_backend() -> ThreadBackend:
    """This process's thread backend (tests stop its pool between apps)."""
    return _threads
