"""Dashboard pages for long recordings: upload with a progress bar, and the recording result page."""
from __future__ import annotations

from flask import jsonify, render_template, url_for
from flask_login import current_user, login_required

from ecg_backend.dashboard import bp, queries
from ecg_backend.security import allow_eval


@bp.route("/recordings/new")
@login_required
def recording_new():
    """Upload form; the browser posts to the jobs API and polls the job for a progress bar."""
    return render_template("recordings/new.html", patients=queries.patient_choices(current_user.id),
                           api_url=url_for("recordings.create_recording"))


@bp.route("/recordings/<int:analysis_id>")
@login_required
@allow_eval  # long traces are drawn with plotly's WebGL (scattergl), whose shader compiler needs eval
def recording_page(analysis_id: int):
    """Whole trace with flagged beats, heart-rate and score timelines, and the anomalous-beat table."""
    analysis = queries.analysis_or_404(current_user.id, analysis_id)
    result = analysis.result or {}
    return render_template("recordings/detail.html", analysis=analysis, summary=result.get("summary") or {},
                           segments=result.get("segments") or [],
                           data_url=url_for("dashboard.recording_data", analysis_id=analysis_id))


@bp.route("/recordings/<int:analysis_id>/data.json")
@login_required
def recording_data(analysis_id: int):
    """The stored result for the page's charts (owner-scoped)."""
    analysis = queries.analysis_or_404(current_user.id, analysis_id)
    result = analysis.result or {}
    return jsonify({key: result.get(key) for key in ("summary", "beats", "segments", "template", "details", "trace")})
