"""Dashboard pages for long recordings: the list, the upload form, the review page, delete.

The review page is a shell: its script (``recording_page.js``) asks the recordings API for signal windows,
beats, events and families, so a 24-hour Holter is never sent to the browser at once.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ecg_backend.dashboard import bp, queries
from ecg_backend.dashboard.forms import ConfirmForm
from ecg_backend.dashboard.recording_queries import (
    clock,
    recording_or_404,
    recording_rows,
    recording_start,
    result_parts,
)
from ecg_backend.errors import InputError
from ecg_backend.services import analyses as analyses_service
from ecg_backend.services import storage

EXPORTS = (
    ("beats.csv", "Beats (CSV)"),
    ("events.csv", "Events (CSV)"),
    ("annotations.zip", "WFDB annotations (zip)"),
    ("report.pdf", "Holter report (PDF)"),
)


def has_reference(analysis) -> bool:
    """Whether the recording was uploaded with reference annotations (a WFDB .atr): the strip's second row."""
    try:
        return storage.open_recording_signal(analysis).array("ann_sample") is not None
    except InputError:  # analysed before signals were kept
        return False


def _api_base(analysis_id: int) -> str:
    """``/api/v1/recordings/<id>``: the page's script appends ``/signal``, ``/beats``, ``/families`` ..."""
    return f"{url_for('recordings.create_recording')}/{analysis_id}"


@bp.route("/recordings")
@login_required
def recordings():
    """Every recording of this clinician: analysed, still in the queue, or failed."""
    patient_id = request.args.get("patient_id", type=int)
    patient = queries.patient_or_404(current_user.id, patient_id) if patient_id else None
    return render_template(
        "recordings/list.html", rows=recording_rows(current_user.id, patient_id), patient=patient, clock=clock
    )


@bp.route("/recordings/new")
@login_required
def recording_new():
    """Upload form; the browser posts to the jobs API and follows the job's stages in a progress bar."""
    return render_template(
        "recordings/new.html",
        patients=queries.patient_choices(current_user.id),
        selected=request.args.get("patient_id", ""),
        api_url=url_for("recordings.create_recording"),
    )


@bp.route("/recordings/<int:analysis_id>")
@login_required
def recording_page(analysis_id: int):
    """The review page: strip on ECG paper, overview, events, families, the reader's changes, exports."""
    analysis = recording_or_404(current_user.id, analysis_id, with_result=False)
    result = result_parts(analysis_id, "summary", "lead", "segments")
    meta = analysis.input if isinstance(analysis.input, dict) else {}
    base = _api_base(analysis_id)
    start = recording_start(meta, result)
    return render_template(
        "recordings/detail.html",
        analysis=analysis,
        summary=result.get("summary") or {},
        meta=meta,
        lead=result.get("lead"),
        segments=result.get("segments") or [],
        start=start,
        clock=clock,
        api_base=base,
        exports=[(f"{base}/{name}", label) for name, label in EXPORTS],
        overview_url=url_for("dashboard.recording_overview", analysis_id=analysis_id),
        reference_url=f"{base}/reference" if has_reference(analysis) else "",
        form=ConfirmForm(),
    )


@bp.route("/recordings/<int:analysis_id>/overview.json")
@login_required
def recording_overview(analysis_id: int):
    """The page's overview in one small answer: heart-rate trend, class counts over time, flagged beats."""
    from ecg_backend.dashboard.recording_overview import overview

    return overview(recording_or_404(current_user.id, analysis_id))


@bp.route("/recordings/<int:analysis_id>/delete", methods=["GET", "POST"])
@login_required
def recording_delete(analysis_id: int):
    """Ask, then delete the recording with its result, stored signal and review."""
    analysis = recording_or_404(current_user.id, analysis_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        analyses_service.delete_analysis(current_user, analysis_id)
        return redirect(url_for("dashboard.recordings"), code=303)
    return render_template("recordings/delete.html", analysis=analysis, form=form)
