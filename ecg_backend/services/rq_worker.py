"""RQ workers that build the app and load the model once per worker process, not once per job.

Start one per core beside the app, with the same environment (``DATABASE_URL``, ``REDIS_URL``,
``ECG_STORAGE_DIR``, model settings)::

    rq worker ecg --url "$REDIS_URL" --worker-class ecg_backend.services.rq_worker.AppWorker

`AppWorker` is an RQ ``SimpleWorker``: jobs run in the worker process itself, inside the app built when
the worker starts, so a job pays for its analysis only (RQ's default worker forks a work horse per job, and a
fresh app there reloaded the model each time: 7.1 s per 30-minute record against 0.4 s of analysis). The
worker also sweeps lost jobs (`jobs.sweep`) at start and then periodically.
"""

from __future__ import annotations

from flask import current_app, has_app_context
from rq import SimpleWorker

from ecg_backend.services import jobs


class AppWorker(SimpleWorker):
    """A SimpleWorker holding one app (and its loaded model) for all of its jobs."""

    def __init__(self, *args, app=None, **kwargs):
        super().__init__(*args, **kwargs)
        if app is None:
            from ecg_backend import create_app

            app = create_app()
        self.app = app
        jobs.sweep(app)
        jobs.start_sweeper(app)

    def execute_job(self, job, queue):
        with self.app.app_context():
            return super().execute_job(job, queue)


def run_queued_job(job_id: str) -> None:
    """The function RQ runs for each job (`job_backends.RQ_ENTRY_POINT`): the job's kind says what it does.

    Inside `AppWorker` (or any worker running in an app context) it uses that app; a plain RQ worker gets
    an app built for this job, the slow path the worker class exists to avoid.
    """
    if has_app_context():
        jobs.run_job(current_app._get_current_object(), job_id)
        return
    from ecg_backend import create_app

    jobs.run_job(create_app(), job_id)
