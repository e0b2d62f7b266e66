"""The app factory: configuration, secret key, migrations on a fresh database (SQLite and PostgreSQL),
first-start admin, the CLI, and the detector's MODEL_REQUIRED rule."""

import logging
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect

from ecg_backend.config import TestConfig, normalise_database_url, resolve_secret_key
from tests.conftest import REPO_ROOT, dispose_app, untrained_detector

TABLES = {"users", "api_tokens", "patients", "analyses", "jobs"}


def _startup_app(database_uri: str, **overrides):
    """An app as a real start creates it: migrations applied, first admin bootstrapped."""
    from ecg_backend import create_app

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_uri
    config.DETECTOR = untrained_detector()
    config.AUTO_MIGRATE = True
    config.BOOTSTRAP_ADMIN = True
    for key, value in overrides.items():
        setattr(config, key, value)
    return create_app(config)


def _assert_schema_matches_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ecg_backend.extensions import db

    with app.app_context():
        assert TABLES | {"alembic_version"} <= set(inspect(db.engine).get_table_names())
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_normalisation(url, expected):
    assert normalise_database_url(url) == expected


def test_config_reads_the_environment(monkeypatch):
    from ecg_backend.config import Config

    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/ecg")
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "1234")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    config = Config()
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u:p@db/ecg"
    assert config.MAX_CONTENT_LENGTH == 1234 and config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "ten")
    with pytest.raises(RuntimeError, match="MAX_CONTENT_LENGTH must be an integer"):
        Config()


def test_secret_key_is_generated_once_per_install_and_never_shared(tmp_path):
    first = resolve_secret_key(str(tmp_path / "a"), "production")
    assert len(first) >= 32 and first == resolve_secret_key(str(tmp_path / "a"), "production")
    assert oct((tmp_path / "a" / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert resolve_secret_key(str(tmp_path / "b"), "production") != first
    assert resolve_secret_key(str(tmp_path / "c"), "development") != resolve_secret_key(
        str(tmp_path / "c"), "development"
    )
    assert not (tmp_path / "c").exists()


def test_secret_key_missing_on_a_read_only_install_stops_the_app(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(RuntimeError, match="cannot be created .*; set SECRET_KEY"):
        resolve_secret_key(str(tmp_path / "instance"), "production")


def test_migrations_on_a_fresh_sqlite_database(tmp_path):
    app = _startup_app(f"sqlite:///{tmp_path / 'fresh.db'}", BOOTSTRAP_ADMIN=False)
    try:
        _assert_schema_matches_models(app)
    finally:
        dispose_app(app)


def test_first_start_creates_one_admin_with_a_generated_password(tmp_path, caplog):
    uri = f"sqlite:///{tmp_path / 'first.db'}"
    with caplog.at_level(logging.WARNING, logger="ecg_backend"):
        app = _startup_app(uri, ADMIN_EMAIL="boss@example.com", ADMIN_PASSWORD=None)
    messages = [r.getMessage() for r in caplog.records if "first admin" in r.getMessage()]
    assert len(messages) == 1
    password = messages[0].split(" password ")[1].split(" ")[0]
    assert len(password) >= 12
    client = app.test_client()
    login = client.post("/login", json={"email": "boss@example.com", "password": password})
    assert login.status_code == 200 and login.get_json()["user"]["role"] == "admin"
    dispose_app(app)
    caplog.clear()
    again = _startup_app(uri)  # second start: users exist, nothing created or printed
    assert not [r for r in caplog.records if "first admin" in r.getMessage()]
    dispose_app(again)
    other = _startup_app(f"sqlite:///{tmp_path / 'other.db'}", ADMIN_EMAIL="boss@example.com")
    assert (
        other.test_client().post("/login", json={"email": "boss@example.com", "password": password}).status_code == 401
    )
    dispose_app(other)


def test_first_admin_from_the_environment(tmp_path, caplog):
    app = _startup_app(
        f"sqlite:///{tmp_path / 'env.db'}", ADMIN_EMAIL="root@example.com", ADMIN_PASSWORD="from-the-env-1"
    )
    assert "from-the-env-1" not in caplog.text
    assert (
        app.test_client().post("/login", json={"email": "root@example.com", "password": "from-the-env-1"}).status_code
        == 200
    )
    dispose_app(app)


def test_cli_users_and_tokens(app, runner, client):
    result = runner.invoke(
        args=["users", "create", "--email", "Doc@Example.com", "--password", "long-pass-12", "--admin"]
    )
    assert result.exit_code == 0 and "created admin doc@example.com" in result.output
    duplicate = runner.invoke(args=["users", "create", "--email", "doc@example.com", "--password", "long-pass-12"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    short = runner.invoke(args=["users", "create", "--email", "x@example.com", "--password", "short"])
    assert short.exit_code != 0 and "at least 8" in short.output
    token = runner.invoke(args=["tokens", "create", "--email", "doc@example.com"])
    assert token.exit_code == 0
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.output.strip()}"})
    assert me.status_code == 200 and me.get_json()["role"] == "admin"
    assert runner.invoke(args=["tokens", "create", "--email", "ghost@example.com"]).exit_code != 0
    assert "doc@example.com" in runner.invoke(args=["users", "list"]).output


def test_model_required_refuses_to_start_without_a_bundle(tmp_path):
    from ecg_backend import create_app
    from ecg_backend.ml.detector import ModelBundleError

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'm.db'}"
    config.MODEL_DIR = str(tmp_path / "no-bundle")
    with pytest.raises(ModelBundleError):
        create_app(config)
    config.MODEL_REQUIRED = False
    app = create_app(config)
    assert app.extensions["ecg_detector"] is None
    from ecg_backend.extensions import db

    with app.app_context():
        db.create_all()
    assert app.test_client().get("/healthz").status_code == 503
    dispose_app(app)


def test_real_flask_cli_on_a_fresh_database(tmp_path):
    """The documented commands as a newcomer runs them (tokens create is covered in-process)."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "ECG_MODEL_REQUIRED": "0",
        "ECG_MODEL_DIR": str(tmp_path / "no-bundle"),
        "ECG_ENV": "development",
        "ECG_AUTO_MIGRATE": "0",
    }
    env.pop("SECRET_KEY", None)

    def flask(*args):
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "ecg_backend", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    upgrade = flask("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    env["ECG_AUTO_MIGRATE"] = "1"
    created = flask("users", "create", "--email", "first@example.com", "--password", "long-pass-12", "--admin")
    assert created.returncode == 0, created.stderr
    assert "Created the first admin" not in created.stderr  # the CLI does not bootstrap a second admin
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as connection:
        emails = [row[0] for row in connection.exec_driver_sql("SELECT email FROM users")]
    engine.dispose()
    assert emails == ["first@example.com"]


@pytest.fixture
def clean_postgres(postgres_database):
    """A fresh PostgreSQL database of this test's own (tests/conftest.py), as a URL string."""
    return postgres_database.render_as_string(hide_password=False)


@pytest.mark.postgres
def test_migrations_on_a_fresh_postgres_database(clean_postgres):
    app = _startup_app(clean_postgres, ADMIN_EMAIL="pg-admin@example.com", ADMIN_PASSWORD="pg-admin-pass")
    try:
        _assert_schema_matches_models(app)
    finally:
        dispose_app(app)


@pytest.mark.postgres
def test_api_round_trip_on_postgres(clean_postgres, beats):
    app = _startup_app(clean_postgres, ADMIN_EMAIL="pg-admin@example.com", ADMIN_PASSWORD="pg-admin-pass")
    try:
        client = app.test_client()
        login = client.post("/login", json={"email": "pg-admin@example.com", "password": "pg-admin-pass"})
        headers = {"X-CSRFToken": login.get_json()["csrf_token"]}
        token = client.post("/api/v1/tokens", json={"name": "pg"}, headers=headers).get_json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        patient = client.post(
            "/api/v1/patients", json={"name": "Ünïcode Patient", "date_of_birth": "1960-01-31"}, headers=bearer
        ).get_json()
        stored = client.post("/predict", json={"beats": beats(3), "patient_id": patient["id"]}, headers=bearer)
        assert stored.status_code == 200
        analysis = client.get(f"/api/v1/analyses/{stored.get_json()['analysis_id']}", headers=bearer).get_json()
        assert analysis["n_beats"] == 3 and len(analysis["result"]["beats"]) == 3
        assert client.get("/api/v1/patients?q=ünï", headers=bearer).get_json()["total"] == 1
        assert client.delete(f"/api/v1/patients/{patient['id']}", headers=bearer).status_code == 204
        assert client.get("/api/v1/analyses", headers=bearer).get_json()["total"] == 0
    finally:
        dispose_app(app)


@pytest.mark.parametrize(
    "env, bind",
    [
        ({}, "127.0.0.1:8000"),
        ({"PORT": "5001"}, "0.0.0.0:5001"),
        ({"GUNICORN_BIND": "unix:/run/ecg.sock", "PORT": "1"}, "unix:/run/ecg.sock"),
    ],
)
def test_gunicorn_settings(monkeypatch, env, bind):
    import runpy

    for name in ("PORT", "GUNICORN_BIND", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))
    assert settings["bind"] == bind and settings["workers"] == 2 and settings["preload_app"] is True
    assert settings["timeout"] >= 30


def test_vercel_routes_everything_to_the_wsgi_app():
    import json

    config = json.loads((REPO_ROOT / "vercel.json").read_text())
    assert config["builds"][0]["src"] == "ecg_backend/wsgi.py"
    assert config["routes"][-1] == {"src": "/(.*)", "dest": "ecg_backend/wsgi.py"}
    assert "app = create_app()" in (REPO_ROOT / "ecg_backend" / "wsgi.py").read_text()


def test_readme_commands_match_ci():
    readme = (REPO_ROOT / "README.md").read_text()
    run_command = "python3 -m pip install -r requirements.txt && gunicorn ecg_backend.wsgi:app"
    test_command = "python3 -m pip install -r requirements-dev.txt && python3 -m pytest -q"
    assert run_command in readme and test_command in readme
    ci = (REPO_ROOT / ".ci" / "run").read_text().replace("pip install -q ", "pip install ")  # CI is quieter
    assert test_command in ci


def test_a_broken_bundle_stops_the_start_before_the_first_admin_is_made(tmp_path, caplog):
    from ecg_backend.ml.detector import ModelBundleError

    with pytest.raises(ModelBundleError):
        _startup_app(f"sqlite:///{tmp_path / 'b.db'}", DETECTOR=None, MODEL_DIR=str(tmp_path / "missing"))
    assert "first admin" not in caplog.text  # the password will be printed on the start that succeeds


def test_a_bad_first_admin_setting_stops_the_start_with_a_clear_message(tmp_path):
    with pytest.raises(RuntimeError, match="ECG_ADMIN_PASSWORD: passwords need at least 8 characters"):
        _startup_app(f"sqlite:///{tmp_path / 'a.db'}", ADMIN_EMAIL="a@example.com", ADMIN_PASSWORD="short")
