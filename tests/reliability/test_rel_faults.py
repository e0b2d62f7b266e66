"""Faults: a damaged model bundle stops start-up in one line; a locked or vanished database answers 503 and
the app recovers by itself once the database is back."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from ecg_backend.ml.detector import ModelBundleError

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------- model bundle
def _tiny_bundle(directory: Path) -> None:
    from sklearn.preprocessing import StandardScaler

    from ecg_backend.ml.bundle import write_bundle
    from ecg_backend.ml.detector import AnomalyDetector

    scaler = StandardScaler().fit(np.random.default_rng(0).normal(size=(20, 140)))
    write_bundle(
        directory,
        AnomalyDetector.untrained(seed=3).net,
        scaler,
        {"name": "tiny", "threshold": 0.8, "calibration": {"a": 3.0, "b": 0.5}, "scoring": {"position_weights": None}},
    )


def _damage(directory: Path, how: str) -> str:
    """Damage the bundle copy in ``directory``; returns a word the one-line error must contain."""
    card_path = directory / "model.json"
    card = json.loads(card_path.read_text())
    weights = directory / card["files"]["weights"]["name"]
    if how == "wrong checksum":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
        return "sha256"
    if how == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:1000])
        return "truncated"
    if how == "mismatched config":
        card["architecture"]["lstm_hidden"] = card["architecture"]["lstm_hidden"] * 2
        card_path.write_text(json.dumps(card))
        return "architecture"
    if how == "missing scaler":
        (directory / card["files"]["scaler"]["name"]).unlink()
        return "missing"
    if how == "missing folder":
        shutil.rmtree(directory)
        return "not found"
    if how == "card not JSON":
        card_path.write_text("{not json")
        return "JSON"
    raise ValueError(how)


DAMAGE = [
    "wrong checksum",
    "truncated weights",
    "mismatched config",
    "missing scaler",
    "missing folder",
    "card not JSON",
]


@pytest.fixture(scope="module")
def good_bundle(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("bundle") / "good"
    _tiny_bundle(directory)
    return directory


def test_rel_intact_bundle_copy_loads(good_bundle, tmp_path):
    """The control: the same copy, undamaged, starts an app (so the failures below are the damage)."""
    from tests.conftest import make_test_app

    shutil.copytree(good_bundle, tmp_path / "copy")
    app = make_test_app(f"sqlite:///{tmp_path / 'ok.db'}", DETECTOR=None, MODEL_DIR=str(tmp_path / "copy"))
    assert app.extensions["ecg_detector"].threshold == 0.8


@pytest.mark.parametrize("how", DAMAGE)
def test_rel_damaged_bundle_refuses_create_app(good_bundle, tmp_path, how):
    from tests.conftest import make_test_app

    copy = tmp_path / "copy"
    shutil.copytree(good_bundle, copy)
    word = _damage(copy, how)
    with pytest.raises(ModelBundleError) as caught:
        make_test_app(f"sqlite:///{tmp_path / 'x.db'}", DETECTOR=None, MODEL_DIR=str(copy))
    message = str(caught.value)
    assert "\n" not in message and word.lower() in message.lower() and str(copy) in message, message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("how", ["truncated weights", "mismatched config"])
def test_rel_gunicorn_refuses_to_start_with_one_line(good_bundle, tmp_path, how):
    copy = tmp_path / "copy"
    shutil.copytree(good_bundle, copy)
    word = _damage(copy, how)
    port = _free_port()
    env = {
        **os.environ,
        "ECG_MODEL_DIR": str(copy),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "SECRET_KEY": os.urandom(32).hex(),
        "ECG_ADMIN_PASSWORD": "a-long-admin-password",
        "ECG_ENV": "production",
    }
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO / "gunicorn.conf.py"),
            "-b",
            f"127.0.0.1:{port}",
            "ecg_backend.wsgi:app",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    lines = [line for line in (started.stderr + started.stdout).splitlines() if line.strip()]
    bundle_lines = [line for line in lines if "model bundle" in line]
    assert len(bundle_lines) == 1 and word in bundle_lines[0], lines
    assert not any("Traceback" in line for line in lines), lines
    with socket.socket() as sock:  # nothing is serving
        assert sock.connect_ex(("127.0.0.1", port)) != 0


# ---------------------------------------------------------------------------- database
@pytest.fixture
def fault_app(tmp_path, make_account):
    """An app on a SQLite file whose lock wait is short (not 10 s), so a locked database fails fast."""
    from sqlalchemy import event

    from ecg_backend.extensions import db
    from tests.conftest import dispose_app, make_test_app

    app = make_test_app(f"sqlite:///{tmp_path / 'fault.db'}")
    with app.app_context():
        db.engine.dispose()
        # runs after the app's own connect hook (class-level listeners first), so this value wins
        event.listen(db.engine, "connect", lambda connection, _: connection.execute("PRAGMA busy_timeout=200"))
    yield app, tmp_path / "fault.db"
    dispose_app(app)


def _session_and_token(app, tmp_db):
    from ecg_backend.services.tokens import create_token
    from ecg_backend.services.users import create_user

    with app.app_context():
        user = create_user("dora@example.com", "correct-horse-battery")
        _, raw = create_token(user, "t")
    page_client = app.test_client()
    assert (
        page_client.post("/login", json={"email": "dora@example.com", "password": "correct-horse-battery"}).status_code
        == 200
    )
    return page_client, {"Authorization": f"Bearer {raw}"}


def _check_outage(app, page_client, headers, beats, reads_may_work=False):
    """Writes (and reads, unless ``reads_may_work``) answer 503: JSON on the API, a page for people."""
    client = app.test_client()
    api = client.get("/api/v1/patients", headers=headers)
    write = client.post("/api/v1/patients", json={"name": "During outage"}, headers=headers)
    predict = client.post("/predict", json={"beats": beats, "store": True}, headers=headers)
    health = client.get("/healthz")
    page = page_client.get("/patients", headers={"Accept": "text/html"})
    outcome = {
        "api read": api.status_code,
        "api write": write.status_code,
        "predict+store": predict.status_code,
        "healthz": health.status_code,
        "page": page.status_code,
    }
    for response in (write, predict) if reads_may_work else (api, write, predict, health):
        assert response.status_code == 503, outcome
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "details"} and error["message"], error
    if reads_may_work:
        assert {api.status_code, health.status_code, page.status_code} <= {200, 503}, outcome
        return outcome
    assert page.status_code == 503, outcome
    html = page.get_data(as_text=True)
    assert "<html" in html.lower() and "Traceback" not in html and "sqlite" not in html.lower()
    return outcome


def _check_recovered(app, page_client, headers, beats):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/patients", headers=headers).status_code == 200
    assert client.post("/api/v1/patients", json={"name": "After"}, headers=headers).status_code == 201
    assert client.post("/predict", json={"beats": beats, "store": True}, headers=headers).status_code == 200
    assert page_client.get("/patients").status_code == 200


def test_rel_locked_sqlite_answers_503_then_recovers(fault_app, beats):
    app, path = fault_app
    page_client, headers = _session_and_token(app, path)
    _check_recovered(app, page_client, headers, beats(2))  # warm: pooled connections exist
    blocker = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock (e.g. a long migration)
    try:
        # Readers may go on (WAL) while the writer holds the lock; every write must fail cleanly.
        _check_outage(app, page_client, headers, beats(2), reads_may_work=True)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    _check_recovered(app, page_client, headers, beats(2))


def test_rel_vanished_sqlite_answers_503_then_recovers(fault_app, beats):
    """The database file's folder is replaced by something unusable (unmounted volume), then restored."""
    app, path = fault_app
    page_client, headers = _session_and_token(app, path)
    _check_recovered(app, page_client, headers, beats(2))
    from ecg_backend.extensions import db

    with app.app_context():  # the outage also breaks the connections already open
        db.engine.dispose()
    moved = path.with_suffix(".away")
    path.rename(moved)
    path.mkdir()  # a directory where the file was: "unable to open database file"
    try:
        _check_outage(app, page_client, headers, beats(2))
    finally:
        path.rmdir()
        moved.rename(path)
    _check_recovered(app, page_client, headers, beats(2))


# ---------------------------------------------------------------------------- PostgreSQL behind a proxy
class TcpProxy:
    """A loopback TCP forwarder we can cut (all connections dropped, new ones refused) and restore."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = _free_port()
        self.listener = None
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would not
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for a, b in self.pairs:
                for sock in (a, b):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    sock.close()
            self.pairs.clear()


@pytest.mark.postgres
def test_rel_postgres_outage_answers_503_then_recovers(postgres_database, beats):
    """PostgreSQL behind a TCP proxy: cut every connection and refuse new ones, then bring it back."""
    from tests.conftest import dispose_app, make_test_app

    url = postgres_database
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = make_test_app(
        proxied, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}
    )
    try:
        page_client, headers = _session_and_token(app, None)
        _check_recovered(app, page_client, headers, beats(2))
        proxy.cut()
        _check_outage(app, page_client, headers, beats(2))
        proxy.start()
        _check_recovered(app, page_client, headers, beats(2))
    finally:
        dispose_app(app)
        proxy.cut()
