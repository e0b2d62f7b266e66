"""What a stored recording serves: signal windows, beats, families, events, the reader's labels, exports.

Routes under ``/api/v1/recordings/<analysis_id>/``, owner-scoped (others' ids answer 404).
"""

from __future__ import annotations

import math

from flask import jsonify, request

from ecg_backend.api import recordings_bp as bp
from ecg_backend.api.auth import api_login_required, current_api_user
from ecg_backend.api.helpers import json_body
from ecg_backend.api.openapi import add_paths
from ecg_backend.errors import InputError
from ecg_backend.services import recording_data, recordings, review
from ecg_backend.signals.store import MAX_POINTS

MAX_PER_PAGE = 2000


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
        raise InputError(
            f"'{name}' must be a number of seconds >= 0, got {value!r}", status=400, details={"field": name}
        )
    return number


def count_arg(name: str, low: int, high: int) -> int | None:
    """An integer query parameter in [low, high] (absent or empty: None), else 400."""
    value = request.args.get(name, "").strip()
    if value == "":
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise InputError(
            f"'{name}' must be an integer from {low} to {high}, got {value!r}",
            status=400,
            details={"field": name, "min": low, "max": high},
        )
    return int(value)


def page_arg(default_per_page: int = 500) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1 to MAX_PER_PAGE) of a list read from a reading."""
    return count_arg("page", 1, 1_000_000) or 1, count_arg("per_page", 1, MAX_PER_PAGE) or default_per_page


@bp.get("/recordings/<int:analysis_id>/signal")
@api_login_required
def get_signal(analysis_id: int):
    window = recordings.signal_window(
        current_api_user(), analysis_id, seconds_arg("start"), seconds_arg("end"), count_arg("points", 2, MAX_POINTS)
    )
    return jsonify(window)


@bp.get("/recordings/<int:analysis_id>/families")
@api_login_required
def list_families(analysis_id: int):
    return jsonify(recording_data.families(current_api_user(), analysis_id))


@bp.patch("/recordings/<int:analysis_id>/families/<int:family>")
@api_login_required
def label_family(analysis_id: int, family: int):
    return jsonify(review.label_family(current_api_user(), analysis_id, family, json_body()))


@bp.patch("/recordings/<int:analysis_id>/beats/<int:index>")
@api_login_required
def label_beat(analysis_id: int, index: int):
    return jsonify(review.label_beat(current_api_user(), analysis_id, index, json_body()))


@bp.get("/recordings/<int:analysis_id>/labels")
@api_login_required
def list_labels(analysis_id: int):
    return jsonify(review.list_changes(current_api_user(), analysis_id))


@bp.delete("/recordings/<int:analysis_id>/labels/<int:change_id>")
@api_login_required
def undo_label(analysis_id: int, change_id: int):
    return jsonify(review.undo_change(current_api_user(), analysis_id, change_id))


@bp.get("/recordings/<int:analysis_id>/events")
@api_login_required
def list_events(analysis_id: int):
    page, per_page = page_arg()
    return jsonify(
        recording_data.events(current_api_user(), analysis_id, page, per_page, request.args.get("type") or None)
    )


@bp.get("/recordings/<int:analysis_id>/beats")
@api_login_required
def list_beats(analysis_id: int):
    page, per_page = page_arg()
    return jsonify(
        recording_data.beats(current_api_user(), analysis_id, seconds_arg("start"), seconds_arg("end"), page, per_page)
    )


@bp.get("/recordings/<int:analysis_id>/reference")
@api_login_required
def list_reference(analysis_id: int):
    page, per_page = page_arg()
    return jsonify(
        recording_data.reference(
            current_api_user(), analysis_id, seconds_arg("start"), seconds_arg("end"), page, per_page
        )
    )


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


ANALYSIS_ID = {"name": "analysis_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_SECONDS = {"type": "number", "minimum": 0}
_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
    "422": {"$ref": "#/components/responses/Unprocessable"},
}
_LEAD = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "unit": {"type": "string"},
        "time": {"type": "array", "items": {"type": "number"}, "description": "seconds from the start"},
        "values": {"type": "array", "items": {"type": ["number", "null"]}, "description": "null: no sample"},
    },
}
_PAGE = [
    _query("page", {"type": "integer", "minimum": 1}, "from 1"),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}, "default 500"),
]


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}


def _json_object(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


def _list(what: str, extra: dict | None = None) -> dict:
    return {
        "description": what,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["items", "total"],
                    "properties": {
                        "items": {"type": "array", "items": {"type": "object"}},
                        "total": {"type": "integer"},
                        **(extra or {}),
                    },
                }
            }
        },
    }


def _relabel(summary: str, name: str, what: str) -> dict:
    return {
        "summary": summary,
        "description": f"Stored with who and when; {what}. Answers the change and the "
        "recording's beat counts; GET /api/v1/analyses/{analysis_id} shows the new summary at once.",
        "parameters": [ANALYSIS_ID, _path(name)],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["label"],
                        "properties": {"label": {"enum": ["N", "S", "V", "Q"]}},
                    }
                }
            },
        },
        "responses": {
            "200": _json_object("the change, the relabelled item and the beat counts"),
            **_ERRORS,
            "409": {"$ref": "#/components/responses/Conflict"},
            "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
        },
    }


add_paths(
    {
        "/api/v1/recordings/{analysis_id}/signal": {
            "get": {
                "summary": "Every lead of a stored recording between two times",
                "description": "Exact samples when the window holds at most `points` samples per lead; else at most "
                "`points` values per lead that keep every peak (the minimum and maximum of each of "
                "`points / 2` runs of samples). Served from the stored signal and its min/max levels.",
                "parameters": [
                    ANALYSIS_ID,
                    _query("start", _SECONDS, "seconds from the start (default 0)"),
                    _query("end", _SECONDS, "seconds (default start + 10, at most the recording's end)"),
                    _query(
                        "points",
                        {"type": "integer", "minimum": 2, "maximum": MAX_POINTS},
                        "most values per lead (default 2000)",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "the window",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["start", "end", "leads"],
                                    "properties": {
                                        "start": {"type": "number"},
                                        "end": {"type": "number"},
                                        "fs": {"type": "number"},
                                        "duration_s": {"type": "number"},
                                        "points": {"type": "integer"},
                                        "leads": {"type": "array", "items": _LEAD},
                                    },
                                }
                            }
                        },
                    },
                    **_ERRORS,
                },
            }
        },
        "/api/v1/recordings/{analysis_id}/families": {
            "get": {
                "summary": "The recording's beat families, in the order a reader should check them",
                "description": "Items: family, n_beats, representative (beat index), label, review_rank, reviewed "
                "(a person labelled it) and shape: {representative, members, time_s}, the "
                "representative beat and a sample of member beats in mV (as recorded, baseline at 0) "
                "against the top-level `ms` (milliseconds from the R peak).",
                "parameters": [ANALYSIS_ID],
                "responses": {
                    "200": _list("families", {"ms": {"type": "array", "items": {"type": "number"}}}),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/recordings/{analysis_id}/families/{family}": {
            "patch": _relabel(
                "Call a family N, S, V or Q (artefact)", "family", "the family, its beats follow (`signals.review`)"
            )
        },
        "/api/v1/recordings/{analysis_id}/beats/{index}": {
            "patch": _relabel("Label one beat N, S, V or Q", "index", "the beat's row (0-based, as in the beats list)")
        },
        "/api/v1/recordings/{analysis_id}/labels": {
            "get": {
                "summary": "A person's label changes, newest first (who, when, old and new label; undone ones marked)",
                "parameters": [ANALYSIS_ID],
                "responses": {"200": _list("label changes"), **_ERRORS},
            }
        },
        "/api/v1/recordings/{analysis_id}/labels/{change_id}": {
            "delete": {
                "summary": "Undo a label change (it stays listed with undone_at); the review is replayed without it",
                "parameters": [ANALYSIS_ID, _path("change_id")],
                "responses": {
                    "200": _json_object("the undone change and the beat counts"),
                    **_ERRORS,
                    "409": {"$ref": "#/components/responses/Conflict"},
                },
            }
        },
        "/api/v1/recordings/{analysis_id}/events": {
            "get": {
                "summary": "Rhythm events by start time (type, start_s, end_s, n_beats, rate_bpm)",
                "parameters": [ANALYSIS_ID, _query("type", {"type": "string"}, "only events of this type"), *_PAGE],
                "responses": {"200": _list("events"), **_ERRORS},
            }
        },
        "/api/v1/recordings/{analysis_id}/beats": {
            "get": {
                "summary": "Beats whose R peak lies between two times, with class, its source and reference label",
                "description": "Items: index, r_peak, time_s, rr_s, score, confidence, label, label_auto, label_source "
                "(auto, reader, propagated), family, is_anomaly, reference (the uploaded annotation's "
                "beat label within 150 ms, or null).",
                "parameters": [
                    ANALYSIS_ID,
                    _query("start", _SECONDS, "seconds"),
                    _query("end", _SECONDS, "seconds"),
                    *_PAGE,
                ],
                "responses": {"200": _list("beats"), **_ERRORS},
            }
        },
        "/api/v1/recordings/{analysis_id}/reference": {
            "get": {
                "summary": "The uploaded reference annotations (WFDB .atr) between two times",
                "parameters": [
                    ANALYSIS_ID,
                    _query("start", _SECONDS, "seconds"),
                    _query("end", _SECONDS, "seconds"),
                    *_PAGE,
                ],
                "responses": {"200": _list("annotations: time_s, sample, symbol"), **_ERRORS},
            }
        },
    }
)
