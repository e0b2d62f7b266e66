"""Rate-limit counters in a SQLite file, shared by every worker process of one machine.

Flask-Limiter's ``memory://`` storage counts per process, so with two gunicorn workers a "5 per minute"
login limit let 10 attempts through. Without Redis the app keeps its counters in
``<instance>/ratelimits.sqlite`` instead (URI ``ecgsqlite:///<absolute path>``): each increment is one
atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement, so concurrent workers never lose a
count. Several machines behind one load balancer need a shared server: set ``REDIS_URL`` (or
``RATELIMIT_STORAGE_URI``).

Supports Flask-Limiter's default fixed-window strategy.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from limits.storage import Storage

SCHEME = "ecgsqlite"
_PRUNE_EVERY = 256  # increments between deletions of expired counters

_SCHEMA = "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)"
_INCR = """
INSERT INTO counters (key, value, expires) VALUES (:key, :amount, :expires)
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN counters.expires <= :now THEN excluded.value ELSE counters.value + excluded.value END,
    expires = CASE WHEN counters.expires <= :now THEN excluded.expires ELSE counters.expires END
RETURNING value
"""


def storage_uri(path: str | os.PathLike) -> str:
    """The Flask-Limiter storage URI of a counters file at ``path``."""
    return f"{SCHEME}://{os.path.abspath(path)}"


class SQLiteFileStorage(Storage):
    """A ``limits`` storage on one SQLite file (one connection per process and thread)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri[len(SCHEME) + len("://") :]
        if not self.path.startswith("/"):
            raise ValueError(f"{SCHEME} storage needs an absolute path: {SCHEME}:///path/to/file.sqlite")
        self._local = threading.local()
        self._increments = 0

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        # A connection opened before gunicorn forks must not be used by the children: one per pid and thread.
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_SCHEMA)
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        connection = self._connection()
        row = connection.execute(_INCR, {"key": key, "amount": amount, "expires": now + expiry, "now": now}).fetchone()
        self._increments += 1
        if self._increments % _PRUNE_EVERY == 0:
            connection.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return int(row[0])

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute("SELECT value FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = (
            self._connection()
            .execute("SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))
