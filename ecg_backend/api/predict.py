"""``POST /predict``: score beats sent as JSON or as a CSV upload."""

from __future__ import annotations

import os

from flask import current_app, jsonify, request

from ecg_backend.api import bp
from ecg_backend.api.auth import api_login_required, current_api_user
from ecg_backend.api.helpers import idempotency_key, json_body, optional_int
from ecg_backend.errors import InputError
from ecg_backend.services.analyses import analyse_beats, analyse_beats_once
from ecg_backend.services.beat_input import beats_from_csv, beats_from_json
from ecg_backend.signals.input_fields import parse_flag, parse_text

CSV_EXTENSIONS = {"", ".csv", ".txt", ".tsv"}
CSV_MIMETYPES = {"text/csv", "text/plain", "text/tab-separated-values", "application/csv"}


def read_predict_request(max_beats: int) -> tuple:
    """Beats and options from the request: (beats, patient_id, store, source, filename)."""
    if request.is_json:
        payload = json_body()
        beats = beats_from_json(payload, max_beats)
        patient_id = optional_int(payload.get("patient_id", request.args.get("patient_id")), "patient_id")
        return beats, patient_id, parse_flag(payload.get("store"), "store"), "api", None
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InputError(
                "the upload needs a CSV file in the form field 'file'", kind="malformed", details={"field": "file"}
            )
        filename = parse_text(upload.filename or "", "the file name", 255)
        extension = os.path.splitext(filename)[1].lower()
        if extension not in CSV_EXTENSIONS:
            raise InputError(
                f"'{filename[:60]}' is not a CSV file; upload a .csv with one beat per row",
                kind="unsupported",
                details={"field": "file"},
            )
        beats = beats_from_csv(upload.read(), max_beats)
        form = request.form
        patient_id = optional_int(form.get("patient_id", request.args.get("patient_id")), "patient_id")
        return beats, patient_id, parse_flag(form.get("store"), "store"), "csv", filename or None
    if request.mimetype in CSV_MIMETYPES:
        beats = beats_from_csv(request.get_data(), max_beats)
        return (
            beats,
            optional_int(request.args.get("patient_id"), "patient_id"),
            parse_flag(request.args.get("store"), "store"),
            "csv",
            None,
        )
    raise InputError(
        "send JSON (application/json) or a CSV file (multipart/form-data field 'file', or a text/csv body)",
        kind="unsupported",
    )


@bp.post("/predict")
@api_login_required
def predict():
    """Score beats; stores the analysis when ``patient_id`` (owner-checked) or ``store`` is given.

    With an ``Idempotency-Key`` header a stored analysis is made once per key: a retry gets the first
    answer again, marked ``Idempotent-Replayed: true``.
    """
    key = idempotency_key()
    beats, patient_id, store, source, filename = read_predict_request(current_app.config["MAX_BEATS_PER_REQUEST"])
    options = {"patient_id": patient_id, "store": store, "source": source, "filename": filename}
    if key is None:
        return jsonify(analyse_beats(current_api_user(), beats, **options)[0])
    response, _, replayed = analyse_beats_once(current_api_user(), beats, key, **options)
    answer = jsonify(response)
    if replayed:
        answer.headers["Idempotent-Replayed"] = "true"
    return answer
