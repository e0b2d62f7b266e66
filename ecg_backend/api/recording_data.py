"""What a stored recording serves: signal windows, beats, families, events, the reader's labels, exports.

Routes under ``/api/v1/recordings/<analysis_id>/``, owner-scoped (others' ids answer 404).
"""
from __future__ import annotations

import math

from flask import jsonify, request

from ecg_backend.api.auth import api_login_required, current_api_user
from ecg_backend.api.openapi import add_paths
from ecg_backend.api.recordings import bp
from ecg_backend.errors import InputError
from ecg_backend.services import recordings
from ecg_backend.signals.store import MAX_POINTS


def seconds_arg(name: str) -> float | None:
    """A query parameter in seconds (absent or empty: None); 400 unless a finite number >= 0."""
    value = request.args.get(name, "").strip()
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise InputError(f"'{name}' must be a number of seconds >= 0, got {value!r}", status=400,
                         details={"field": name})
    return number


def count_arg(name: str, low: int, high: int) -> int | None:
    """An integer query parameter in [low, high] (absent or empty: None), else 400."""
    value = request.args.get(name, "").strip()
    if value == "":
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise InputError(f"'{name}' must be an integer from {low} to {high}, got {value!r}", status=400,
                         details={"field": name, "min": low, "max": high})
    return int(value)


@bp.get("/recordings/<int:analysis_id>/signal")
@api_login_required
def get_signal(analysis_id: int):
    window = recordings.signal_window(current_api_user(), analysis_id, seconds_arg("start"), seconds_arg("end"),
                                      count_arg("points", 2, MAX_POINTS))
    return jsonify(window)


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


ANALYSIS_ID = {"name": "analysis_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_SECONDS = {"type": "number", "minimum": 0}
_ERRORS = {"400": {"$ref": "#/components/responses/BadRequest"},
           "401": {"$ref": "#/components/responses/Unauthorized"},
           "404": {"$ref": "#/components/responses/NotFound"},
           "422": {"$ref": "#/components/responses/Unprocessable"}}
_LEAD = {"type": "object", "properties": {
    "name": {"type": "string"}, "unit": {"type": "string"},
    "time": {"type": "array", "items": {"type": "number"}, "description": "seconds from the start"},
    "values": {"type": "array", "items": {"type": ["number", "null"]}, "description": "null: no sample"}}}
add_paths({
    "/api/v1/recordings/{analysis_id}/signal": {"get": {
        "summary": "Every lead of a stored recording between two times",
        "description": "Exact samples when the window holds at most `points` samples per lead; else at most "
                       "`points` values per lead that keep every peak (the minimum and maximum of each of "
                       "`points / 2` runs of samples). Served from the stored signal and its min/max levels.",
        "parameters": [ANALYSIS_ID, _query("start", _SECONDS, "seconds from the start (default 0)"),
                       _query("end", _SECONDS, "seconds (default start + 10, at most the recording's end)"),
                       _query("points", {"type": "integer", "minimum": 2, "maximum": MAX_POINTS},
                              "most values per lead (default 2000)")],
        "responses": {"200": {"description": "the window", "content": {"application/json": {"schema": {
            "type": "object", "required": ["start", "end", "leads"], "properties": {
                "start": {"type": "number"}, "end": {"type": "number"}, "fs": {"type": "number"},
                "duration_s": {"type": "number"}, "points": {"type": "integer"},
                "leads": {"type": "array", "items": _LEAD}}}}}}, **_ERRORS}}},
})
