"""Long-recording analysis API (background jobs): ``/api/v1/recordings`` and ``/api/v1/jobs``."""

from __future__ import annotations

from flask import jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from ecg_backend.api import recordings_bp as bp
from ecg_backend.api.auth import api_login_required, current_api_user
from ecg_backend.api.helpers import idempotency_key, json_body, optional_int
from ecg_backend.api.openapi import IDEMPOTENCY_KEY_PARAM, add_paths
from ecg_backend.errors import InputError, error_response
from ecg_backend.services import jobs, recordings, uploads
from ecg_backend.signals import parsing
from ecg_backend.signals.input_fields import human_bytes, parse_text


@bp.before_request
def _recording_upload_limit():
    """Recording uploads get their own byte limit (`recordings.upload_limit`), read before the body is."""
    if request.endpoint == "recordings.create_recording":
        request.max_content_length = recordings.upload_limit(is_json=request.is_json)


@bp.errorhandler(RequestEntityTooLarge)
def _recording_too_large(exc):
    limit = request.max_content_length
    if request.endpoint == "recordings.create_recording" and limit:
        json_hint = " JSON bodies are read whole, so send a long recording as a file." if request.is_json else ""
        message = (
            f"The recording is larger than the {human_bytes(limit)} limit for recording uploads "
            f"(server setting {recordings.RECORDING_LIMIT_ENV}); send a shorter recording or a compact "
            f"format (WFDB .hea + .dat, EDF, or a zip).{json_hint}"
        )
    else:
        message = (
            f"The request is larger than the {human_bytes(limit)} limit." if limit else "The request is too large."
        )
    return error_response(413, message, details={"max_bytes": limit})


def _parse_request() -> tuple[parsing.ParsedRecording, str | None, int | None]:
    """The parse step: fields first (cheap), then the signal; uploaded files are streamed to disk, parsed
    from there and removed."""
    if request.is_json:
        payload = json_body()
        filename = parse_text(payload.get("filename"), "filename", uploads.MAX_FILENAME)
        patient_id = optional_int(payload.get("patient_id"), "patient_id")
        parsed = parsing.parse_json_signal(
            payload, lead=payload.get("lead"), sampling_rate=payload.get("sampling_rate")
        )
        return parsed, filename or None, patient_id
    form = request.form
    patient_id = optional_int(form.get("patient_id"), "patient_id")
    files = request.files.getlist("file") + request.files.getlist("files")
    with uploads.saved_uploads(files, recordings.upload_dir()) as saved:
        parsed = parsing.parse_upload(
            saved,
            recordings.upload_dir(),
            sampling_rate=form.get("sampling_rate"),
            lead=form.get("lead"),
            single_lead=form.get("single_lead"),
        )
    return parsed, next(iter(saved), None), patient_id


@bp.post("/recordings")
@api_login_required
def create_recording():
    if not request.is_json and not request.files:
        raise InputError(
            'send a file (multipart field \'file\') or JSON {"signal": [...], "sampling_rate": Hz}', kind="unsupported"
        )
    key = idempotency_key()
    jobs.check_job_limit(current_api_user(), idempotency_key=key)  # before the upload is parsed
    parsed, filename, patient_id = _parse_request()
    replayed = False
    if key is None:
        job = recordings.start_recording_job(current_api_user(), parsed, filename=filename, patient_id=patient_id)
    else:
        job, replayed = recordings.start_recording_job_once(
            current_api_user(), parsed, key, filename=filename, patient_id=patient_id
        )
    body = _job_json(job)
    headers = {"Location": body["url"]}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return jsonify(body), 202, headers


@bp.get("/jobs/<job_id>")
@api_login_required
def get_job(job_id: str):
    return jsonify(_job_json(jobs.get_job(current_api_user(), job_id)))


def _job_json(job) -> dict:
    data = job.to_dict()
    if isinstance(data.get("params"), dict):
        # The runner's host id, pid and heartbeat are for the server's own liveness checks only.
        data["params"] = {key: value for key, value in data["params"].items() if key != "worker"}
    data["url"] = url_for("recordings.get_job", job_id=job.id)
    if job.analysis_id is not None:
        data["result_url"] = url_for("api.get_analysis", analysis_id=job.analysis_id)
        data["page_url"] = url_for("dashboard.recording_page", analysis_id=job.analysis_id)
    return data


_JOB = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "state": {"type": "string", "enum": ["queued", "running", "finished", "failed"]},
        "progress": {"type": "number"},
        "message": {"type": "string"},
        "error": {"type": ["string", "null"]},
        "analysis_id": {"type": ["integer", "null"]},
        "url": {"type": "string"},
        "result_url": {"type": "string"},
        "page_url": {"type": "string"},
    },
}
_ERR = {"$ref": "#/components/responses/BadRequest"}
add_paths(
    {
        "/api/v1/recordings": {
            "post": {
                "summary": "Analyse a long recording in the background",
                "description": "Multipart 'file' (CSV with one column per lead, JSON, EDF/EDF+, WFDB .hea+.dat[+.atr] as several "
                "'file' parts, or a zip) with form fields sampling_rate, lead, single_lead, patient_id; or JSON "
                '{"signal": [...] | [[...], ...], "sampling_rate": 360, "lead": ..., "single_lead": false, '
                '"patient_id": ...}. The chosen lead (default MLII, else the first) gives the beats; the other '
                "leads add their beat shapes to the scores unless single_lead is true. A lead that cannot be "
                "used (another length, no numbers, flat) is a 422 naming it. "
                "Returns 202 with the job; poll GET /api/v1/jobs/{id}. The body may be as large as the "
                "server's recording upload limit (ECG_MAX_RECORDING_BYTES, default 256 MB; a JSON body at most "
                "64 MB); a larger one gets 413 with details.max_bytes. A user with ECG_MAX_JOBS_PER_USER jobs "
                "queued or running gets 429.",
                "requestBody": {
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "sampling_rate": {"type": "number"},
                                    "lead": {"type": "string"},
                                    "single_lead": {"type": "boolean"},
                                    "patient_id": {"type": "integer"},
                                },
                            }
                        },
                        "application/json": {"schema": {"type": "object", "required": ["signal", "sampling_rate"]}},
                    }
                },
                "parameters": [
                    {
                        **IDEMPOTENCY_KEY_PARAM,
                        "description": "A key of your choice (a new UUID per upload) "
                        "that makes the upload safe to retry: the same key with the same recording answers the "
                        "first job again (header `Idempotent-Replayed: true`) and starts no second one; the same "
                        "key with a different recording or options is a 422 (`idempotency_key_reused`).",
                    }
                ],
                "responses": {
                    "202": {
                        "description": "job queued (or, with a used Idempotency-Key, the earlier job)",
                        "content": {"application/json": {"schema": _JOB}},
                    },
                    "400": _ERR,
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"},
                    "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                    "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
                    "422": {"$ref": "#/components/responses/Unprocessable"},
                    "429": {"$ref": "#/components/responses/TooManyRequests"},
                },
            }
        },
        "/api/v1/jobs/{job_id}": {
            "get": {
                "summary": "State and progress of a background job",
                "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "the job", "content": {"application/json": {"schema": _JOB}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
    }
)
