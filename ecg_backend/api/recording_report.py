"""``GET /api/v1/recordings/<analysis_id>/report.pdf``: the printable Holter report of one recording."""

from __future__ import annotations

from flask import Response

from ecg_backend.api import recordings_bp as bp
from ecg_backend.api.auth import api_login_required, current_api_user
from ecg_backend.api.openapi import add_paths
from ecg_backend.services.holter_pdf import build_report


@bp.get("/recordings/<int:analysis_id>/report.pdf")
@api_login_required
def get_report(analysis_id: int):
    body = build_report(current_api_user(), analysis_id)
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="holter-report-{analysis_id}.pdf"'},
    )


add_paths(
    {
        "/api/v1/recordings/{analysis_id}/report.pdf": {
            "get": {
                "summary": "Printable Holter report (PDF)",
                "description": "Patient, recording, summary and hourly tables, heart-rate trend, events with strips of the main "
                "events on ECG paper (25 mm/s, 10 mm/mV), beat families with counts, and the reader's label "
                "changes with who made them. A4, made on request from the stored reading.",
                "parameters": [{"name": "analysis_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {
                    "200": {
                        "description": "the report",
                        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        }
    }
)
