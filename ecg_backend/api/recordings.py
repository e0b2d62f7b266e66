"""Long-recording analysis API (background jobs): ``/api/v1/recordings`` and ``/api/v1/jobs``."""
from flask import Blueprint

bp = Blueprint("recordings", __name__, url_prefix="/api/v1")
