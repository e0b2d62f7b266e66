"""gunicorn settings for ``gunicorn ecg_backend.wsgi:app`` (read automatically from the working directory).

Environment: ``GUNICORN_BIND`` (default ``127.0.0.1:8000``, or ``0.0.0.0:$PORT`` when ``PORT`` is set),
``WEB_CONCURRENCY`` (workers, default 2), ``GUNICORN_THREADS`` (threads per worker, default 4),
``GUNICORN_TIMEOUT`` (s, default 60), ``GUNICORN_HEADER_TIMEOUT`` (s a client may take to send a request's
headers, default 10), ``ECG_TORCH_THREADS`` (torch threads per worker, default 1).

Slow clients: the worker class (``ecg_backend/gunicorn_worker.py``) is gthread with a deadline on request
headers, so a few clients trickling headers cannot hold the service; many of them need a buffering front
proxy (docs/RELIABILITY.md). Errors gunicorn answers itself (400, 408, 414, 431) carry the API's JSON shape.
"""

import os
import sys

_port = os.environ.get("PORT")
bind = os.environ.get("GUNICORN_BIND") or (f"0.0.0.0:{_port}" if _port else "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "ecg_backend.gunicorn_worker.JsonThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# With threads the arbiter's timeout only catches a worker whose main loop hangs; a slow request is bounded
# by the app's own limits (upload size, input budgets, job time limit).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Requests gunicorn refuses before the app sees them (JSON 414 / 431): a request line of at most 8 KiB
# (a URL with a long query), at most 64 header fields of at most 8 KiB each.
limit_request_line = 8190
limit_request_fields = 64
limit_request_field_size = 8190
# Load the app once in the master: migrations and the first-admin bootstrap run exactly once, and the
# detector's weights are shared copy-on-write by the forked workers.
preload_app = True
# Recycle workers now and then so slow growth (allocator fragmentation) cannot accumulate.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# No query string and no Referer: patient searches (/patients?q=<name>) must not land in the log.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def post_fork(server, worker):
    # Files a worker writes (saved recordings, database journals) are readable by the service's user only.
    os.umask(0o077)
    # Each worker scores on its own core(s); torch's default of one thread per core would oversubscribe.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(os.environ.get("ECG_TORCH_THREADS", "1")))
