"""``GET /healthz`` for load balancers (no auth, reads only) and ``GET /api/openapi.json``."""

from __future__ import annotations

from flask import current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ecg_backend.api import bp
from ecg_backend.api.openapi import document
from ecg_backend.errors import json_error
from ecg_backend.extensions import db


@bp.get("/healthz")
def healthz():
    """200 when the database answers and a model is loaded, else 503 with the failing checks."""
    detector = current_app.extensions.get("ecg_detector")
    checks = {"model": "ok" if detector is not None else "missing"}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        checks["database"] = "unavailable"
    if any(value != "ok" for value in checks.values()):
        return json_error(503, "the service is not ready", "service_unavailable", {"checks": checks})
    return jsonify({"status": "ok", "checks": checks, "model_version": detector.version})


@bp.get("/api/openapi.json")
def openapi_json():
    return jsonify(document(request.host_url.rstrip("/")))
