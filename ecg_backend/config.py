"""Settings read from the environment.

Every variable is documented in ``.env.example`` and the README's configuration table. Nothing secret or
machine-specific lives here: the only fallbacks are a SQLite file in the instance folder and, where no
``SECRET_KEY`` is set, a random key created once and kept in the instance folder (0600).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import orjson

_TRUE = {"1", "true", "yes", "on"}


def json_column_text(value) -> str:
    """A JSON column's text (orjson; numpy arrays and non-string keys as the standard library would)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode("utf-8")


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in _TRUE


def env_int(name: str, default: int) -> int:
    """Read an integer environment variable; a malformed value stops the app with a clear message."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f"{name} must be an integer, got {value!r}") from None


def env_float(name: str, default: float) -> float:
    """Read a number from the environment; a malformed value stops the app with a clear message."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a number, got {value!r}") from None


def normalise_database_url(url: str) -> str:
    """Accept Heroku-style ``postgres://`` URLs and pick the psycopg 3 driver for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def app_env() -> str:
    """The deployment environment: ``production`` (default), ``development`` or ``testing``."""
    return (os.environ.get("ECG_ENV") or os.environ.get("FLASK_ENV") or "production").strip().lower()


class Config:
    """Production defaults; each value can be overridden by an environment variable.

    Values are read when the object is created (in ``create_app``), not at import, so a test or a
    process that changes the environment first gets what it set.
    """

    def __init__(self) -> None:
        database_url = os.environ.get("DATABASE_URL")
        self.ENV_NAME = app_env()
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or None
        # None -> sqlite:///<instance>/ecg.db, filled in by create_app
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url) if database_url else None
        # JSON columns through orjson: a 24-h recording's stored result is ~10 MB, rewritten on every review
        # change (5x faster to write than the standard library); NaN is stored as null, as JSON allows.
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            "pool_pre_ping": True,
            "json_serializer": json_column_text,
            "json_deserializer": orjson.loads,
        }
        self.AUTO_MIGRATE = env_bool("ECG_AUTO_MIGRATE", True)
        self.BOOTSTRAP_ADMIN = env_bool("ECG_BOOTSTRAP_ADMIN", True)
        self.ADMIN_EMAIL = os.environ.get("ECG_ADMIN_EMAIL") or "admin@example.com"
        self.ADMIN_PASSWORD = os.environ.get("ECG_ADMIN_PASSWORD") or None

        self.MODEL_DIR = os.environ.get("ECG_MODEL_DIR") or None  # None -> the shipped ecg_backend/artifacts/
        self.MODEL_REQUIRED = env_bool("ECG_MODEL_REQUIRED", True)
        # None -> ecg_backend/artifacts/recording/ if shipped, else the beat detector
        self.RECORDING_MODEL_DIR = os.environ.get("ECG_RECORDING_MODEL_DIR") or None
        self.DETECTOR = None  # tests inject an AnomalyDetector here

        self.MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 10 * 1024 * 1024)
        self.MAX_BEATS_PER_REQUEST = env_int("ECG_MAX_BEATS", 5000)
        # Stored signals, readings and job inputs; a volume every web process and worker mounts (README).
        self.ECG_STORAGE_DIR = os.environ.get("ECG_STORAGE_DIR") or None  # None -> <instance>/storage
        self.MAX_JOBS_PER_USER = env_int("ECG_MAX_JOBS_PER_USER", 5)  # queued or running; 0: no limit
        # Background jobs (services/jobs.py): threads per web process, or RQ workers when REDIS_URL is set.
        self.JOB_WORKERS = env_int("ECG_JOB_WORKERS", 1)
        self.JOB_TIMEOUT_S = env_int("ECG_JOB_TIMEOUT_S", 3600)
        self.JOB_STALE_AFTER_S = env_float("ECG_JOB_STALE_AFTER_S", 60.0)  # heartbeat age of a dead job thread
        self.JOB_SWEEP_INTERVAL_S = env_float("ECG_JOB_SWEEP_S", 10.0)  # how often lost jobs are looked for

        secure = env_bool("SESSION_COOKIE_SECURE", False)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = secure
        self.PERMANENT_SESSION_LIFETIME = env_int("ECG_SESSION_HOURS", 12) * 3600
        self.REMEMBER_COOKIE_DURATION = env_int("ECG_REMEMBER_DAYS", 14) * 86400
        self.PREFERRED_URL_SCHEME = "https" if secure else "http"
        self.PROXY_FIX_X_FOR = env_int("ECG_PROXY_FIX_X_FOR", 0)  # trusted proxies in front of the app

        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
        self.PASSWORD_HASH_METHOD = os.environ.get("ECG_PASSWORD_HASH") or "scrypt"

        self.RATELIMIT_ENABLED = env_bool("ECG_RATELIMIT_ENABLED", True)
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        # None -> counters in <instance>/ratelimits.sqlite, shared by the workers (filled in by create_app)
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or self.REDIS_URL or None
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_LIMIT_PER_ADDRESS = os.environ.get("ECG_LOGIN_LIMIT_ADDRESS") or "20 per minute"
        self.LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("ECG_LOGIN_LIMIT_ACCOUNT") or "5 per minute"


class TestConfig(Config):
    """Fast, isolated settings for pytest: the fixture fills in a temp database and a detector."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        super().__init__()
        self.ENV_NAME = "testing"
        self.TESTING = True
        self.SECRET_KEY = secrets.token_hex(32)
        self.SQLALCHEMY_DATABASE_URI = "sqlite://"  # the app fixture points this at a temp file
        self.AUTO_MIGRATE = False
        self.BOOTSTRAP_ADMIN = False
        self.RATELIMIT_ENABLED = False
        self.RATELIMIT_STORAGE_URI = "memory://"
        # a hash method name, not a password: speed, not strength, matters in tests
        self.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # nosec B105
        self.SESSION_COOKIE_SECURE = False
        self.MODEL_DIR = None
        self.MODEL_REQUIRED = True
        self.MAX_JOBS_PER_USER = 100
        self.JOB_SWEEP_INTERVAL_S = 0  # tests run the sweeper themselves (jobs.sweep)


MIN_SECRET_KEY_LENGTH = 32  # characters: 128 bits or more as hex, urlsafe base64 or a long passphrase


def check_secret_key(key: str | bytes, env_name: str) -> None:
    """Refuse a weak SECRET_KEY outside development and testing: it signs every session and CSRF token,
    and a short one can be guessed offline from a single cookie."""
    if env_name in {"development", "testing"}:
        return
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 8:
        raise RuntimeError(
            f"SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_LENGTH} random characters, e.g. "
            "python3 -c 'import secrets; print(secrets.token_hex(32))' (or unset it to have one "
            "generated into the instance folder)"
        )


def resolve_secret_key(instance_path: str, env_name: str) -> str:
    """A secret key for this install when none is configured.

    Development and testing get a random per-process key. Otherwise a random key is created once in
    ``<instance>/secret_key`` (mode 0600) and reused, so sessions survive restarts and every gunicorn
    worker agrees; if that file cannot be written (e.g. a read-only deployment) the app refuses to start.
    """
    if env_name in {"development", "testing"}:
        return secrets.token_hex(32)
    path = Path(instance_path) / "secret_key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
        raise RuntimeError(f"{path} is too short to be a secret key; delete it or set SECRET_KEY") from None
    except OSError as exc:
        raise RuntimeError(
            f"SECRET_KEY is not set and {path} cannot be created ({exc.strerror}); set SECRET_KEY"
        ) from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
