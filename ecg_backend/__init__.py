"""ECG anomaly detection: the Flask application factory."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path

import click
import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ecg_backend import security
from ecg_backend.config import Config, check_secret_key, resolve_secret_key
from ecg_backend.extensions import csrf, db, limiter, login_manager, migrate

REPO_ROOT = Path(__file__).resolve().parent.parent
FRONTEND = REPO_ROOT / "ecg_frontend"
MIGRATIONS_DIR = REPO_ROOT / "migrations"
_STARTUP_LOCK_ID = 0x4543_4731  # arbitrary constant shared by every process of this app ("ECG1")


def create_app(config=None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error pages, CLI, schema, detector.

    Args:
        config: ``None`` (environment only), a dict of overrides, or a config class/object.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(FRONTEND / "templates"),
        static_folder=str(FRONTEND / "static"),
    )
    app.json = SafeJSONProvider(app)
    configure(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security(app)
    register_static_assets(app)
    register_commands(app)
    # The model first: a broken bundle stops the start before the database or the first admin is touched.
    app.extensions["ecg_detector"] = load_detector(app)
    app.extensions["ecg_recording_detector"] = load_recording_detector(app)
    prepare_database(app)
    security.protect_files(app)
    return app


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with absurdly nested input treated as malformed (400) instead of a RecursionError.

    JSON responses (``jsonify``) are encoded with orjson: a /predict answer carries 280 floats per
    beat, which the standard library encodes about ten times slower. The output is the same JSON
    (sorted keys, compact; dates and dataclasses through Flask's own ``default``), except that non-ASCII
    text is sent as UTF-8 instead of ``\\u`` escapes and NaN/Infinity become ``null``. Anything orjson
    refuses (integers beyond 64 bits, nesting deeper than 255) falls back to the standard library.
    Parsing and ``dumps`` (templates' ``tojson``) stay on the standard library.
    """

    _ORJSON_OPTIONS = (
        orjson.OPT_SORT_KEYS
        | orjson.OPT_NON_STR_KEYS
        | orjson.OPT_SERIALIZE_NUMPY
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
    )

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        if self._app.debug:  # pretty-printed, as Flask does in debug mode
            return super().response(obj)
        try:
            body = orjson.dumps(obj, default=self.default, option=self._ORJSON_OPTIONS) + b"\n"
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return super().response(obj)
        return self._app.response_class(body, mimetype=self.mimetype)


def configure(app: Flask, config) -> None:
    """Environment defaults, then ``config`` on top; fill in the instance-folder fallbacks."""
    if isinstance(config, type):
        config = config()
    app.config.from_object(config if config is not None and not isinstance(config, dict) else Config())
    if isinstance(config, dict):
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'ecg.db'}"
    from ecg_backend.auth.ratelimit_storage import (
        storage_uri,  # also registers the ecgsqlite:// scheme
    )

    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = storage_uri(Path(app.instance_path) / "ratelimits.sqlite")
    env_name = app.config.get("ENV_NAME", "production")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = resolve_secret_key(app.instance_path, env_name)
    check_secret_key(app.config["SECRET_KEY"], env_name)
    app.debug = False  # never the interactive debugger, whatever the environment says
    if not app.logger.handlers or app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)
    if app.config.get("PROXY_FIX_X_FOR"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)


def register_blueprints(app: Flask) -> None:
    from ecg_backend.api import bp as api_bp
    from ecg_backend.api.recordings import bp as recordings_bp
    from ecg_backend.auth import bp as auth_bp
    from ecg_backend.dashboard import bp as dashboard_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(recordings_bp)
    app.register_blueprint(dashboard_bp)
    # API blueprints check CSRF themselves: session requests need the token, Bearer requests do not.
    csrf.exempt(api_bp)
    csrf.exempt(recordings_bp)
    from ecg_backend.services import jobs

    jobs.init_app(app)  # the job sweeper of each serving process


def register_errorhandlers(app: Flask) -> None:
    from ecg_backend.errors import register_errorhandlers as register

    register(app)


def register_security(app: Flask) -> None:
    """Security headers on every response; HTTPS-aware Secure cookies (ecg_backend/security.py)."""
    security.init_app(app)


def register_static_assets(app: Flask) -> None:
    """Static files under content-hashed URLs, gzip-compressed once (ecg_backend/static_assets.py)."""
    from ecg_backend import static_assets
    from ecg_backend.dashboard.views import plotly_bundle

    static_assets.init_app(app)
    plotly_bundle()  # hashed and compressed here, once per process, not on the first page


def register_commands(app: Flask) -> None:
    from ecg_backend.cli import register_commands as register

    register(app)


def prepare_database(app: Flask) -> None:
    """Apply migrations (``AUTO_MIGRATE``) and create the first admin on an empty database.

    The first admin is not created for CLI commands other than ``flask run`` (so that
    ``flask users create --admin`` on a fresh install does not also make a generated admin).
    """
    with app.app_context(), _startup_lock():
        if app.config.get("AUTO_MIGRATE"):
            from flask_migrate import upgrade

            upgrade(directory=str(MIGRATIONS_DIR))
        if app.config.get("BOOTSTRAP_ADMIN") and not _running_cli_command():
            from ecg_backend.services.users import ensure_admin

            ensure_admin(app)
        db.session.remove()
        # Drop pooled connections so forked gunicorn workers (preload_app) each open their own.
        for engine in db.engines.values():
            engine.dispose()


@contextmanager
def _startup_lock():
    """On PostgreSQL, serialise start-up work between processes (several machines may start at once)."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    with db.engine.connect() as connection:
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({_STARTUP_LOCK_ID})")
        connection.commit()
        try:
            yield
        finally:
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_STARTUP_LOCK_ID})")
            connection.commit()


def _running_cli_command() -> bool:
    # `flask <group> ...` loads the app while its click context is current; `flask run` loads it from
    # the run command's own context. gunicorn and tests have no click context at all.
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.info_name != "run"


def load_detector(app: Flask):
    from ecg_backend.services.detection import load_detector as load

    detector = load(app)
    if detector is not None:
        app.logger.info("detector %s loaded (threshold %.6g)", detector.version, detector.threshold)
    return detector


def load_recording_detector(app: Flask):
    from ecg_backend.services.detection import load_recording_detector as load

    detector = load(app, app.extensions["ecg_detector"])
    if detector is not None and detector is not app.extensions["ecg_detector"]:
        app.logger.info("recording detector %s loaded", detector.version)
    return detector


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite settings for a multi-worker server; PostgreSQL needs none of this.

    foreign_keys: SQLite ignores ON DELETE rules unless asked. WAL: readers and the writer of several
    gunicorn workers no longer block each other. synchronous=NORMAL (with WAL): a commit survives a
    killed worker or server process, and only an OS crash or power cut can undo the last few commits, in
    exchange for no fsync per commit (5 ms each here); deployments that need more use PostgreSQL.
    busy_timeout: a writer waits for the lock instead of failing at once with "database is locked".
    """
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        security.protect_sqlite_file(dbapi_connection)
