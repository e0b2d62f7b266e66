"""Long-recording analysis API (background jobs): ``/api/v1/recordings`` and ``/api/v1/jobs``."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from ecg_backend.api.auth import api_login_required, current_api_user
from ecg_backend.api.helpers import json_body, optional_int
from ecg_backend.api.openapi import add_paths
from ecg_backend.errors import InputError
from ecg_backend.services import jobs, recordings
from ecg_backend.signals import parsing

bp = Blueprint("recordings", __name__, url_prefix="/api/v1")


def _parse_request() -> tuple[parsing.ParsedRecording, str | None, int | None]:
    if request.is_json:
        payload = json_body()
        parsed = parsing.parse_json_signal(payload, lead=payload.get("lead"),
                                           sampling_rate=payload.get("sampling_rate"))
        return parsed, payload.get("filename"), optional_int(payload.get("patient_id"), "patient_id")
    files = {f.filename or "upload": f.read() for f in request.files.getlist("file") + request.files.getlist("files")}
    parsed = parsing.parse_upload(files, recordings.upload_dir(), sampling_rate=request.form.get("sampling_rate"),
                                  lead=request.form.get("lead"))
    name = next(iter(files), None)
    return parsed, name, optional_int(request.form.get("patient_id"), "patient_id")


@bp.post("/recordings")
@api_login_required
def create_recording():
    if not request.is_json and not request.files:
        raise InputError("send a file (multipart field 'file') or JSON {\"signal\": [...], \"sampling_rate\": Hz}",
                         status=415)
    parsed, filename, patient_id = _parse_request()
    job = recordings.start_recording_job(current_api_user(), parsed, filename=filename, patient_id=patient_id)
    body = _job_json(job)
    return jsonify(body), 202, {"Location": body["url"]}


@bp.get("/jobs/<job_id>")
@api_login_required
def get_job(job_id: str):
    return jsonify(_job_json(jobs.get_job(current_api_user(), job_id)))


def _job_json(job) -> dict:
    data = job.to_dict()
    data["url"] = url_for("recordings.get_job", job_id=job.id)
    if job.analysis_id is not None:
        data["result_url"] = url_for("api.get_analysis", analysis_id=job.analysis_id)
        data["page_url"] = url_for("dashboard.recording_page", analysis_id=job.analysis_id)
    return data


_JOB = {"type": "object", "properties": {
    "id": {"type": "string"}, "state": {"type": "string", "enum": ["queued", "running", "finished", "failed"]},
    "progress": {"type": "number"}, "message": {"type": "string"}, "error": {"type": ["string", "null"]},
    "analysis_id": {"type": ["integer", "null"]}, "url": {"type": "string"}, "result_url": {"type": "string"},
    "page_url": {"type": "string"}}}
_ERR = {"$ref": "#/components/responses/BadRequest"}
add_paths({
    "/api/v1/recordings": {"post": {
        "summary": "Analyse a long recording in the background",
        "description": "Multipart 'file' (CSV with one column per lead, JSON, WFDB .hea+.dat[+.atr] as several "
                       "'file' parts, or a zip) with form fields sampling_rate, lead, patient_id; or JSON "
                       "{\"signal\": [...] | [[...], ...], \"sampling_rate\": 360, \"lead\": ..., \"patient_id\": ...}. "
                       "Returns 202 with the job; poll GET /api/v1/jobs/{id}.",
        "requestBody": {"content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}, "sampling_rate": {"type": "number"},
                "lead": {"type": "string"}, "patient_id": {"type": "integer"}}}},
            "application/json": {"schema": {"type": "object", "required": ["signal", "sampling_rate"]}}}},
        "responses": {"202": {"description": "job queued", "content": {"application/json": {"schema": _JOB}}},
                      "400": _ERR, "401": {"$ref": "#/components/responses/Unauthorized"},
                      "404": {"$ref": "#/components/responses/NotFound"},
                      "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                      "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
                      "422": {"$ref": "#/components/responses/Unprocessable"}}}},
    "/api/v1/jobs/{job_id}": {"get": {
        "summary": "State and progress of a background job",
        "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the job", "content": {"application/json": {"schema": _JOB}}},
                      "401": {"$ref": "#/components/responses/Unauthorized"},
                      "404": {"$ref": "#/components/responses/NotFound"}}}},
})
