"""The clinician dashboard: server-rendered pages with Plotly charts."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from ecg_backend.dashboard import (  # noqa: E402,F401
    account_views,
    admin_views,
    patient_views,
    recordings,  # noqa: E402,F401  (long-recording pages)
    views,  # noqa: E402,F401  (routes register on import)
)
