"""The shipped server setup (``gunicorn ecg_backend.wsgi:app`` with gunicorn.conf.py, two workers) under
slow clients, oversized requests and repeated wrong passwords; what it logs and the files it writes.

One server is started for the module (SQLite in a temp folder) and stopped when the module ends.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEADER_TIMEOUT_S = 10  # the shipped default (GUNICORN_HEADER_TIMEOUT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(port: int, raw: bytes, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """Send raw HTTP bytes on a new connection; (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _get(port: int, path: str, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    return _request(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(), timeout)


def _post_json(port: int, path: str, body: dict) -> tuple[int, dict, bytes]:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    return _request(port, head + data)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    log_path = workdir / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'served.db'}",
        "SECRET_KEY": secrets.token_hex(32),
        "ECG_ADMIN_EMAIL": "admin@example.org",
        "ECG_ADMIN_PASSWORD": "a-long-admin-password",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "ECG_ENV": "production",
        "ECG_STORAGE_DIR": str(workdir / "store"),
    }
    for name in (
        "WEB_CONCURRENCY",
        "GUNICORN_THREADS",
        "GUNICORN_HEADER_TIMEOUT",
        "GUNICORN_ACCESSLOG",
        "REDIS_URL",
        "RATELIMIT_STORAGE_URI",
        "ECG_RATELIMIT_ENABLED",
        "FLASK_APP",
    ):
        env.pop(name, None)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "ecg_backend.wsgi:app"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not answer /healthz within 120 s"
            try:
                if _get(port, "/healthz", timeout=5)[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        yield {"port": port, "log": log_path, "workdir": workdir}
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_rel_gunicorn_healthz_answers_while_slow_clients_trickle_headers(server):
    port = server["port"]
    slow = []
    for _ in range(6):
        sock = socket.create_connection(("127.0.0.1", port), timeout=HEADER_TIMEOUT_S + 10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(sock)
    stop = threading.Event()

    def trickle():  # one more header line now and then, never the blank line that ends them
        while not stop.wait(0.5):
            for sock in slow:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        started, answers = time.monotonic(), []
        while time.monotonic() - started < HEADER_TIMEOUT_S + 2:
            sent = time.monotonic()
            status, _, _ = _get(port, "/healthz", timeout=15)
            answers.append((status, time.monotonic() - sent))
            time.sleep(0.25)
        assert all(status == 200 for status, _ in answers), answers
        slowest = max(seconds for _, seconds in answers)
        assert slowest < 3.0, (slowest, len(answers))
        # the slow clients were answered 408 (JSON) once their headers were overdue, and disconnected
        for sock in slow:
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), data[:200]
            assert json.loads(body)["error"]["code"] == "request_timeout"
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in slow:
            sock.close()


def test_rel_gunicorn_own_errors_are_json(server):
    port = server["port"]
    status, headers, body = _get(port, "/api/v1/patients?q=" + "a" * 9000)
    assert status == 414 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "uri_too_long"
    many = "".join(f"X-Header-{i}: {i}\r\n" for i in range(80))
    status, headers, body = _request(port, f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}\r\n".encode())
    assert status == 431 and json.loads(body)["error"]["code"] == "request_header_fields_too_large"
    status, headers, body = _request(
        port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n"
    )
    assert status in (400, 431) and headers["content-type"] == "application/json"
    assert set(json.loads(body)["error"]) == {"code", "message", "details"}


def test_rel_gunicorn_login_limit_holds_across_workers(server):
    email = f"nobody-{secrets.token_hex(4)}@example.org"
    statuses = [_post_json(server["port"], "/login", {"email": email, "password": "wrong-guess"})[0] for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3, statuses  # LOGIN_LIMIT_PER_ACCOUNT: 5 per minute


def test_rel_gunicorn_access_log_leaves_out_query_strings(server):
    port = server["port"]
    status, headers, _ = _get(port, "/patients?q=Whitfield-Secret")
    assert status == 302  # to the login page, which carries the search in next=
    _get(port, "/api/v1/patients?q=Whitfield-Secret")
    time.sleep(0.5)
    log = server["log"].read_text()
    assert '"GET /patients HTTP/1.1" 302' in log and '"GET /api/v1/patients HTTP/1.1" 401' in log
    assert "Whitfield-Secret" not in log


def test_rel_gunicorn_database_is_private(server):
    database = server["workdir"] / "served.db"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE((server["workdir"] / "store").stat().st_mode) == 0o700
