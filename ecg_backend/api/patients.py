"""``/api/v1/patients``: a clinician's own patients."""

from __future__ import annotations

from flask import jsonify, request

from ecg_backend.api import bp
from ecg_backend.api.auth import api_login_required, current_api_user
from ecg_backend.api.helpers import json_body, no_content
from ecg_backend.services import patients
from ecg_backend.services.pagination import page_args


@bp.get("/api/v1/patients")
@api_login_required
def list_patients():
    page, per_page = page_args(request.args)
    return jsonify(patients.list_patients(current_api_user(), request.args.get("q"), page, per_page))


@bp.post("/api/v1/patients")
@api_login_required
def create_patient():
    patient = patients.create_patient(current_api_user(), json_body())
    return jsonify(patient.to_dict()), 201


@bp.get("/api/v1/patients/<int:patient_id>")
@api_login_required
def get_patient(patient_id: int):
    return jsonify(patients.get_patient(current_api_user(), patient_id).to_dict())


@bp.patch("/api/v1/patients/<int:patient_id>")
@api_login_required
def update_patient(patient_id: int):
    return jsonify(patients.update_patient(current_api_user(), patient_id, json_body()).to_dict())


@bp.delete("/api/v1/patients/<int:patient_id>")
@api_login_required
def delete_patient(patient_id: int):
    patients.delete_patient(current_api_user(), patient_id)
    return no_content()
