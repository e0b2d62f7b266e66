"""``/api/v1/analyses``: stored analyses of the current user."""

from __future__ import annotations

from flask import jsonify, request

from ecg_backend.api import bp
from ecg_backend.api.auth import api_login_required, current_api_user
from ecg_backend.api.helpers import no_content, optional_int
from ecg_backend.errors import InputError
from ecg_backend.services import analyses
from ecg_backend.services.pagination import page_args

KINDS = ("beats", "recording")


@bp.get("/api/v1/analyses")
@api_login_required
def list_analyses():
    page, per_page = page_args(request.args)
    patient_id = optional_int(request.args.get("patient_id"), "patient_id", kind="malformed")
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise InputError(f"'kind' must be one of {', '.join(KINDS)}", kind="malformed", details={"field": "kind"})
    return jsonify(analyses.list_analyses(current_api_user(), patient_id, page, per_page, kind))


@bp.get("/api/v1/analyses/<int:analysis_id>")
@api_login_required
def get_analysis(analysis_id: int):
    return jsonify(analyses.get_analysis(current_api_user(), analysis_id).to_dict(full=True))


@bp.delete("/api/v1/analyses/<int:analysis_id>")
@api_login_required
def delete_analysis(analysis_id: int):
    analyses.delete_analysis(current_api_user(), analysis_id)
    return no_content()
