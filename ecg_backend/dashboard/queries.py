"""Owner-scoped reads the dashboard pages need. Every query filters by owner in SQL, never after it;
an id that belongs to someone else is answered exactly like an id that does not exist (404)."""

from __future__ import annotations

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from ecg_backend.extensions import db
from ecg_backend.models import Analysis, Patient, User

# List pages show summary columns only; the stored beats and per-beat results can be megabytes per row.
_SUMMARY_ONLY = (defer(Analysis.input), defer(Analysis.result))


def owner_counts(owner_id: int) -> dict:
    """Numbers for the home page: analyses, patients and anomalous beats of this owner."""
    analyses, anomalous = db.session.execute(
        select(func.count(Analysis.id), func.coalesce(func.sum(Analysis.n_anomalous), 0)).where(
            Analysis.owner_id == owner_id
        )
    ).one()
    patients = db.session.scalar(select(func.count(Patient.id)).where(Patient.owner_id == owner_id))
    return {"analyses": analyses, "patients": patients, "anomalous": int(anomalous)}


def recent_analyses(owner_id: int, limit: int = 10) -> list[Analysis]:
    """The owner's newest analyses first."""
    return list(
        db.session.scalars(
            select(Analysis)
            .options(*_SUMMARY_ONLY)
            .where(Analysis.owner_id == owner_id)
            .order_by(Analysis.created_at.desc(), Analysis.id.desc())
            .limit(limit)
        )
    )


def patient_choices(owner_id: int) -> list[tuple[str, str]]:
    """(id, label) pairs for a patient select box."""
    rows = db.session.execute(
        select(Patient.id, Patient.name, Patient.external_id)
        .where(Patient.owner_id == owner_id)
        .order_by(func.lower(Patient.name))
    )
    return [(str(pid), f"{name} ({ext})" if ext else name) for pid, name, ext in rows]


def patient_or_404(owner_id: int, patient_id: int) -> Patient:
    """The owner's patient, or 404 (also when the id belongs to another owner)."""
    patient = db.session.scalar(select(Patient).where(Patient.id == patient_id, Patient.owner_id == owner_id))
    if patient is None:
        abort(404)
    return patient


def analysis_or_404(owner_id: int, analysis_id: int) -> Analysis:
    """The owner's analysis, or 404 (also when the id belongs to another owner)."""
    analysis = db.session.scalar(select(Analysis).where(Analysis.id == analysis_id, Analysis.owner_id == owner_id))
    if analysis is None:
        abort(404)
    return analysis


def patient_analyses(owner_id: int, patient_id: int) -> list[Analysis]:
    """A patient's analyses, oldest first (the page draws them over time)."""
    return list(
        db.session.scalars(
            select(Analysis)
            .options(*_SUMMARY_ONLY)
            .where(Analysis.owner_id == owner_id, Analysis.patient_id == patient_id)
            .order_by(Analysis.created_at, Analysis.id)
        )
    )


def analysis_counts(owner_id: int, patient_ids: list[int]) -> dict[int, int]:
    """Number of analyses per patient (only the owner's), for the patient list."""
    if not patient_ids:
        return {}
    rows = db.session.execute(
        select(Analysis.patient_id, func.count(Analysis.id))
        .where(Analysis.owner_id == owner_id, Analysis.patient_id.in_(patient_ids))
        .group_by(Analysis.patient_id)
    )
    return dict(rows.all())  # a Result has keys(), so dict(rows) would read it as a mapping


def site_counts() -> dict:
    """Admin overview: users (active and all), patients and analyses across the site."""
    users = db.session.scalar(select(func.count(User.id)))
    active = db.session.scalar(select(func.count(User.id)).where(User.is_active.is_(True)))
    return {
        "users": users,
        "active_users": active,
        "patients": db.session.scalar(select(func.count(Patient.id))),
        "analyses": db.session.scalar(select(func.count(Analysis.id))),
    }


def all_users() -> list[User]:
    """Every account, admins first, for the admin page."""
    return list(db.session.scalars(select(User).order_by(User.role, func.lower(User.email))))


def user_or_404(user_id: int) -> User:
    """Any account by id (admin pages only)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user
