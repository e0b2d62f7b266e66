"""Patients of one clinician: every query is filtered by ``owner_id`` (others' ids answer 404)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import SEXES, Patient, User, is_valid_id, utcnow
from ecg_backend.services import storage
from ecg_backend.services.pagination import paginate
from ecg_backend.signals.input_fields import check_unicode

FIELDS = ("name", "date_of_birth", "sex", "external_id", "notes")
_MAX_LENGTH = {"name": 200, "external_id": 64, "notes": 5000}
# Messages name the field in words (pages show them beside the field); the API adds the field's key.
_LABELS = {"name": "The name", "external_id": "The external id", "notes": "The notes"}
EARLIEST_BIRTH_YEAR = 1880


def validate_patient(data, partial: bool = False) -> dict:
    """Check a patient payload; returns clean values or raises 422 with ``details`` per field.

    Args:
        data: mapping with any of ``name`` (required unless partial), ``date_of_birth`` (YYYY-MM-DD),
            ``sex`` (female/male/other/unknown), ``external_id``, ``notes``.
        partial: PATCH semantics: only the keys present are checked and returned.
    """
    if not isinstance(data, dict):
        raise InputError("send a JSON object with the patient's fields")
    errors: dict[str, str] = {
        f: f"unknown field; allowed: {', '.join(FIELDS)}" for f in sorted(set(data) - set(FIELDS))
    }
    if not partial and "name" not in data:
        errors["name"] = "Enter the patient's name."
    clean: dict = {}
    for field in (f for f in FIELDS if f in data):
        try:
            clean[field] = _clean_field(field, data[field])
        except InputError as exc:
            errors[field] = exc.message
    if errors:
        first = next(iter(errors.items()))
        raise InputError(f"{first[0]}: {first[1]}", details={"fields": errors})
    return clean


def _clean_field(field: str, value):
    """One patient field, cleaned, or InputError whose message says, in words, what to fix."""
    if value is not None and not isinstance(value, str):
        raise InputError(f"{field} must be a string")
    value = check_unicode((value or "").strip(), _LABELS.get(field, field))
    if field == "name" and not value:
        raise InputError("Enter the patient's name.")
    if field in _MAX_LENGTH and len(value) > _MAX_LENGTH[field]:
        raise InputError(f"{_LABELS[field]} can be at most {_MAX_LENGTH[field]} characters.")
    if field == "date_of_birth" and value:
        try:
            born = date.fromisoformat(value)
        except ValueError:
            raise InputError(f"Enter the date of birth as YYYY-MM-DD (got {value[:40]!r}).") from None
        if born > date.today() or born.year < EARLIEST_BIRTH_YEAR:
            raise InputError(f"The date of birth must be in the past, and not before {EARLIEST_BIRTH_YEAR}.")
        return born
    if field == "sex" and value:
        if value.lower() not in SEXES:
            raise InputError(f"Choose the sex from: {', '.join(SEXES)}.")
        return value.lower()
    return value if value != "" or field in ("name", "notes") else None


def _owned(owner: User):
    return select(Patient).where(Patient.owner_id == owner.id)


def get_patient(owner: User, patient_id: int) -> Patient:
    """The owner's patient, or 404 (also for other clinicians' ids, so ids do not leak)."""
    patient = db.session.scalar(_owned(owner).where(Patient.id == patient_id)) if is_valid_id(patient_id) else None
    if patient is None:
        raise InputError(f"patient {patient_id} not found", kind="not_found")
    return patient


def create_patient(owner: User, data) -> Patient:
    patient = Patient(owner_id=owner.id, **validate_patient(data))
    db.session.add(patient)
    db.session.commit()
    return patient


def update_patient(owner: User, patient_id: int, data) -> Patient:
    patient = get_patient(owner, patient_id)
    for field, value in validate_patient(data, partial=True).items():
        setattr(patient, field, value)
    patient.updated_at = utcnow()
    db.session.commit()
    return patient


def delete_patient(owner: User, patient_id: int) -> None:
    """Delete the patient and, with them, their analyses (the health data goes with the record)."""
    patient = get_patient(owner, patient_id)
    folders = [(a.input or {}).get("storage") for a in patient.analyses if a.kind == "recording"]
    db.session.delete(patient)
    db.session.commit()
    for folder in folders:  # the stored signals go too, once the rows are gone
        storage.remove_folder(folder)


def search_patients(owner: User, q: str | None = None):
    """A select of the owner's patients, newest first, optionally matching name or external id."""
    query = _owned(owner)
    if q and q.strip():
        # Escape LIKE wildcards so a search for "%" or "_" matches those characters literally.
        term = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{term}%"
        query = query.where(
            or_(
                db.func.lower(Patient.name).like(pattern, escape="\\"),
                db.func.lower(Patient.external_id).like(pattern, escape="\\"),
            )
        )
    return query.order_by(Patient.created_at.desc(), Patient.id.desc())


def list_patients(owner: User, q: str | None = None, page: int = 1, per_page: int = 20) -> dict:
    """One page of the owner's patients: ``{"items", "total", "page", "per_page"}``."""
    return paginate(search_patients(owner, q), page, per_page, Patient.to_dict)
