"""The JSON API: ``/predict``, ``/healthz``, ``/api/openapi.json`` and the REST resources under ``/api/v1/``.

Other API modules (e.g. ``api/recordings.py``) build on:

* ``ecg_backend.api.auth.api_login_required`` / ``api_admin_required`` and ``current_api_user()``;
* ``ecg_backend.api.helpers``: ``json_body()``, ``optional_int()``, ``no_content()``;
* ``ecg_backend.api.openapi.add_paths({...})`` to document their routes.
"""

from flask import Blueprint

bp = Blueprint("api", __name__)
# Long recordings (``api/recordings.py`` and its data, export and report routes) have their own blueprint, so
# their upload can have its own size limit; its route modules import it from here.
recordings_bp = Blueprint("recordings", __name__, url_prefix="/api/v1")

from ecg_backend.api import (  # noqa: E402,F401  (routes register on the blueprints above)
    account,
    analyses,
    health,
    patients,
    predict,
    recording_data,
    recording_exports,
    recording_report,
    recordings,
)
