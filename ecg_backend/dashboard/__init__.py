"""The clinician dashboard: server-rendered pages with Plotly charts."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from ecg_backend.dashboard import views  # noqa: E402,F401  (routes register on import)
from ecg_backend.dashboard import account_views, admin_views, patient_views  # noqa: E402,F401
from ecg_backend.dashboard import recordings  # noqa: E402,F401  (long-recording pages)
