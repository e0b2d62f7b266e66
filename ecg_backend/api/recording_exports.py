"""Exports of a recording's reading: ``beats.csv``, ``events.csv`` and ``annotations.zip`` (WFDB)."""

from __future__ import annotations

from flask import Response

from ecg_backend.api import recordings_bp as bp
from ecg_backend.api.auth import api_login_required, current_api_user
from ecg_backend.api.openapi import add_paths
from ecg_backend.services import recording_exports


def _attachment(body, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/recordings/<int:analysis_id>/beats.csv")
@api_login_required
def beats_csv(analysis_id: int):
    return _attachment(
        recording_exports.beats_csv(current_api_user(), analysis_id), "text/csv", f"recording-{analysis_id}-beats.csv"
    )


@bp.get("/recordings/<int:analysis_id>/events.csv")
@api_login_required
def events_csv(analysis_id: int):
    return _attachment(
        recording_exports.events_csv(current_api_user(), analysis_id), "text/csv", f"recording-{analysis_id}-events.csv"
    )


@bp.get("/recordings/<int:analysis_id>/annotations.zip")
@api_login_required
def annotations_zip(analysis_id: int):
    name, body = recording_exports.annotations_zip(current_api_user(), analysis_id)
    return _attachment(body, "application/zip", f"{name}-annotations.zip")


_ID = [{"name": "analysis_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}]
_ERRORS = {"401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}


def _file(summary: str, mimetype: str, description: str) -> dict:
    return {
        "get": {
            "summary": summary,
            "description": description,
            "parameters": _ID,
            "responses": {
                "200": {"description": "the file", "content": {mimetype: {"schema": {"type": "string"}}}},
                **_ERRORS,
            },
        }
    }


add_paths(
    {
        "/api/v1/recordings/{analysis_id}/beats.csv": _file(
            "Every beat as CSV",
            "text/csv",
            "Columns: " + ", ".join(recording_exports.BEAT_FIELDS) + "; label_source "
            "says whether a class is the machine's (auto), a person's (reader) or followed a person's (propagated).",
        ),
        "/api/v1/recordings/{analysis_id}/events.csv": _file(
            "Rhythm events as CSV", "text/csv", "Columns: " + ", ".join(recording_exports.EVENT_FIELDS)
        ),
        "/api/v1/recordings/{analysis_id}/annotations.zip": _file(
            "WFDB annotations of the reading",
            "application/zip",
            "`<record>.hea` (the record's header) and `<record>.ecg`: one annotation per beat with its class "
            "(N, S, V, Q) and the events as rhythm annotations ('+' with aux notes such as '(VT', '(B', '(PAUSE', "
            "back to '(N' at the end); read with `wfdb.rdann(record, \"ecg\")`.",
        ),
    }
)
