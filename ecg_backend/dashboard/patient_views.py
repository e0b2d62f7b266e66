"""Patient pages: list and search, create, edit, delete with confirmation, and one patient's history."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ecg_backend.dashboard import bp, charts, queries
from ecg_backend.dashboard.forms import ConfirmForm, PatientForm
from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import Patient
from ecg_backend.services import patients as patients_service

PATIENT_LIST_LIMIT = 200  # beyond this the search box is the way in


@bp.route("/patients")
@login_required
def patients():
    """The clinician's patients, searchable by name or external id."""
    query = request.args.get("q", "").strip()
    found = list(db.session.scalars(patients_service.search_patients(current_user, query).limit(PATIENT_LIST_LIMIT)))
    counts = queries.analysis_counts(current_user.id, [p.id for p in found])
    return render_template("patients/list.html", patients=found, counts=counts, query=query, limit=PATIENT_LIST_LIMIT)


def _form_payload(form: PatientForm) -> dict:
    """The form as the strings the patients service validates, so pages and API share the rules."""
    return {
        "name": form.name.data or "",
        "date_of_birth": form.date_of_birth.raw_data[0] if form.date_of_birth.raw_data else "",
        "sex": form.sex.data or "",
        "external_id": form.external_id.data or "",
        "notes": form.notes.data or "",
    }


def _attach_errors(form: PatientForm, exc: InputError) -> None:
    fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
    for name, message in (fields or {exc.message: exc.message}).items():
        target = getattr(form, name, None)
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + [message]
        else:
            form.form_errors.append(message)


def _save(form: PatientForm, patient: Patient | None):
    """Validate through the service; on success redirect to the patient, else None (errors on the form)."""
    try:
        if patient is None:
            patient = patients_service.create_patient(current_user, _form_payload(form))
            flash(f"Patient {patient.name} created.", "success")
        else:
            patient = patients_service.update_patient(current_user, patient.id, _form_payload(form))
            flash("Changes saved.", "success")
    except InputError as exc:
        _attach_errors(form, exc)
        return None
    return redirect(url_for(".patient_detail", patient_id=patient.id), code=303)


def _render_form(form: PatientForm, patient: Patient | None):
    """The patient form; the date picker offers nothing after today or before the earliest birth year."""
    status = 422 if request.method == "POST" else 200
    return render_template(
        "patients/form.html",
        form=form,
        patient=patient,
        today=date.today().isoformat(),
        earliest=f"{patients_service.EARLIEST_BIRTH_YEAR}-01-01",
    ), status


@bp.route("/patients/new", methods=["GET", "POST"])
@login_required
def patient_new():
    """Create a patient."""
    form = PatientForm()
    if form.validate_on_submit():
        response = _save(form, None)
        if response is not None:
            return response
    return _render_form(form, None)


@bp.route("/patients/<int:patient_id>")
@login_required
def patient_detail(patient_id: int):
    """One patient: details and their analyses over time."""
    patient = queries.patient_or_404(current_user.id, patient_id)
    analyses = queries.patient_analyses(current_user.id, patient_id)
    history = [
        {"id": a.id, "created_at": a.created_at, "n_beats": a.n_beats, "n_anomalous": a.n_anomalous, "kind": a.kind}
        for a in analyses
    ]
    history_json = charts.figure_json(charts.patient_history_figure(history)) if len(analyses) > 1 else None
    return render_template(
        "patients/detail.html", patient=patient, analyses=list(reversed(analyses)), history_json=history_json
    )


@bp.route("/patients/<int:patient_id>/edit", methods=["GET", "POST"])
@login_required
def patient_edit(patient_id: int):
    """Edit a patient's details."""
    patient = queries.patient_or_404(current_user.id, patient_id)
    form = PatientForm(obj=patient)
    if form.validate_on_submit():
        response = _save(form, patient)
        if response is not None:
            return response
    return _render_form(form, patient)


@bp.route("/patients/<int:patient_id>/delete", methods=["GET", "POST"])
@login_required
def patient_delete(patient_id: int):
    """Ask first (GET), then delete the patient and their analyses (POST)."""
    patient = queries.patient_or_404(current_user.id, patient_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = patient.name
        patients_service.delete_patient(current_user, patient_id)
        flash(f"Patient {name} and their analyses were deleted.", "success")
        return redirect(url_for(".patients"), code=303)
    count = queries.analysis_counts(current_user.id, [patient_id]).get(patient_id, 0)
    return render_template("patients/delete.html", patient=patient, form=form, n_analyses=count)
