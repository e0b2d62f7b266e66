"""Owner-scoped reads for the recording pages: the list of recordings (finished, in progress, failed) and
what the recording page needs to know before its script asks the API for windows, beats and families.

Every query filters by owner in SQL; an id of someone else's recording answers 404 like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import defer

from ecg_backend.extensions import db
from ecg_backend.models import Analysis, Job, Patient, is_valid_id, utcnow
from ecg_backend.services.holter_report import recording_start

LIST_LIMIT = 200
_JOB_STATES_LISTED = ("queued", "running", "failed")


@dataclass(frozen=True)
class RecordingRow:
    """One line of the recordings list (an analysed recording, or an upload still in the job queue)."""

    analysis_id: int | None
    job_id: str | None
    patient: Patient | None
    filename: str | None
    uploaded: datetime | None
    start: datetime | None  # wall-clock start from the record's header, when it had one
    duration_s: float | None
    n_beats: int | None
    n_v: int | None
    n_s: int | None
    burden_percent: float | None
    state: str  # "ready" | "reviewed" | "queued" | "running" | "failed"
    detail: str = ""


def _count(counts: dict | None, label: str) -> int | None:
    value = (counts or {}).get(label) if isinstance(counts, dict) else None
    return int(value) if isinstance(value, (int, float)) else None


def _reviewed(summary: dict) -> bool:
    return bool(summary.get("n_reader_labels") or summary.get("reviewed") or summary.get("human_labels"))


def _analysis_row(analysis: Analysis, summary: dict | None, input_meta: dict | None) -> RecordingRow:
    summary = summary if isinstance(summary, dict) else {}
    counts = summary.get("beat_counts")
    return RecordingRow(
        analysis_id=analysis.id,
        job_id=None,
        patient=analysis.patient,
        filename=analysis.filename,
        uploaded=analysis.created_at,
        start=recording_start(input_meta, {"summary": summary}),
        duration_s=summary.get("duration_s"),
        n_beats=analysis.n_beats,
        n_v=_count(counts, "V"),
        n_s=_count(counts, "S"),
        burden_percent=summary.get("burden_percent"),
        state="reviewed" if _reviewed(summary) else "ready",
    )


def _job_row(job: Job, patients: dict[int, Patient]) -> RecordingRow:
    params = job.params or {}
    fs, n = params.get("sampling_rate"), params.get("n_samples")
    duration = float(n) / float(fs) if fs and n else None
    detail = (job.error or "") if job.state == "failed" else (job.message or "")
    return RecordingRow(
        analysis_id=None,
        job_id=job.id,
        patient=patients.get(job.patient_id),
        filename=params.get("filename"),
        uploaded=job.created_at,
        start=recording_start(params),
        duration_s=duration,
        n_beats=None,
        n_v=None,
        n_s=None,
        burden_percent=None,
        state=job.state,
        detail=detail,
    )


def recording_rows(owner_id: int, patient_id: int | None = None, limit: int = LIST_LIMIT) -> list[RecordingRow]:
    """The owner's recordings, newest upload first: analysed ones and uploads still queued, running or failed.

    Only the stored summary is read from each result (a JSON path in SQL), never the per-beat columns.
    """
    query = (
        select(Analysis, Analysis.result["summary"], Analysis.input)
        .where(Analysis.owner_id == owner_id, Analysis.kind == "recording")
        .order_by(Analysis.created_at.desc(), Analysis.id.desc())
        .limit(limit)
    )
    if patient_id is not None:
        query = query.where(Analysis.patient_id == patient_id)
    rows = [_analysis_row(a, summary, meta) for a, summary, meta in db.session.execute(query)]
    jobs = select(Job).where(
        Job.owner_id == owner_id,
        Job.kind == "recording",
        Job.analysis_id.is_(None),
        Job.state.in_(_JOB_STATES_LISTED),
        Job.created_at >= _job_horizon(),
    )
    if patient_id is not None:
        jobs = jobs.where(Job.patient_id == patient_id)
    pending = list(db.session.scalars(jobs.order_by(Job.created_at.desc()).limit(limit)))
    patients = _patients(owner_id, {j.patient_id for j in pending if j.patient_id})
    rows += [_job_row(job, patients) for job in pending]
    rows.sort(key=lambda r: r.uploaded or datetime.min, reverse=True)
    return rows[:limit]


def _job_horizon() -> datetime:
    """Failed uploads stay on the list for a week; older ones are history, not work to do."""
    return utcnow() - timedelta(days=7)


def _patients(owner_id: int, ids: set[int]) -> dict[int, Patient]:
    if not ids:
        return {}
    found = db.session.scalars(select(Patient).where(Patient.owner_id == owner_id, Patient.id.in_(ids)))
    return {p.id: p for p in found}


def recording_or_404(owner_id: int, analysis_id: int, *, with_result: bool = True) -> Analysis:
    """The owner's analysed recording, or 404 (another owner's, a beat-set analysis, or none).
    ``with_result=False`` leaves the per-beat result unread (megabytes for a 24-h Holter)."""
    from flask import abort

    if not is_valid_id(analysis_id):
        abort(404)
    query = select(Analysis).where(
        Analysis.id == analysis_id, Analysis.owner_id == owner_id, Analysis.kind == "recording"
    )
    analysis = db.session.scalar(query if with_result else query.options(defer(Analysis.result)))
    if analysis is None:
        abort(404)
    return analysis


def result_parts(analysis_id: int, *keys: str) -> dict:
    """Some small top-level parts of a recording's stored result, by key, each read by a JSON path in SQL:
    the per-beat columns (megabytes for 24 h) are not parsed in Python."""
    row = db.session.execute(select(*(Analysis.result[key] for key in keys)).where(Analysis.id == analysis_id)).one()
    return dict(zip(keys, row))


def clock(seconds: float | None) -> str:
    """Seconds as h:mm:ss (durations and times from the start of a recording)."""
    if seconds is None:
        return "—"
    total = round(float(seconds))
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"
