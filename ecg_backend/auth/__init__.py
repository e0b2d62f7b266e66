"""Log in and out: ``/login`` (HTML form or JSON for scripts) and ``/logout``."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from ecg_backend.auth import views  # noqa: E402,F401  (routes register on import)
