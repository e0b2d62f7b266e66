"""The JSON API: ``/predict``, ``/healthz``, ``/api/openapi.json`` and the REST resources under ``/api/v1/``.

Other API modules (e.g. ``api/recordings.py``) build on:

* ``ecg_backend.api.auth.api_login_required`` / ``api_admin_required`` and ``current_api_user()``;
* ``ecg_backend.api.helpers``: ``json_body()``, ``optional_int()``, ``no_content()``;
* ``ecg_backend.api.openapi.add_paths({...})`` to document their routes.
"""
from flask import Blueprint

bp = Blueprint("api", __name__)

from ecg_backend.api import account, analyses, health, patients, predict  # noqa: E402,F401  (routes register)
