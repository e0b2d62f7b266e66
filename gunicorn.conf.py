"""gunicorn settings for ``gunicorn ecg_backend.wsgi:app`` (read automatically from the working directory).

Environment: ``GUNICORN_BIND`` (default ``127.0.0.1:8000``, or ``0.0.0.0:$PORT`` when ``PORT`` is set),
``WEB_CONCURRENCY`` (workers, default 2), ``GUNICORN_THREADS`` (default 1), ``GUNICORN_TIMEOUT`` (s, default 60),
``ECG_TORCH_THREADS`` (torch threads per worker, default 1).
"""
import os
import sys

_port = os.environ.get("PORT")
bind = os.environ.get("GUNICORN_BIND") or (f"0.0.0.0:{_port}" if _port else "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Load the app once in the master: migrations and the first-admin bootstrap run exactly once, and the
# detector's weights are shared copy-on-write by the forked workers.
preload_app = True
# Recycle workers now and then so slow growth (allocator fragmentation) cannot accumulate.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def post_fork(server, worker):
    # Each worker scores on its own core(s); torch's default of one thread per core would oversubscribe.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(os.environ.get("ECG_TORCH_THREADS", "1")))
