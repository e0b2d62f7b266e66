"""Recording analysis as a use-case: accept an upload, run it as a job, store the result as an Analysis."""

from __future__ import annotations

import os

import numpy as np
from flask import current_app
from sqlalchemy import select

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import Analysis, Job, User
from ecg_backend.services import idempotency, jobs, review, storage
from ecg_backend.services.analyses import save_analysis
from ecg_backend.services.patients import get_patient
from ecg_backend.signals import store
from ecg_backend.signals.parsing import ParsedRecording

MAX_DETAIL_BEATS = 300
# Recording uploads need more than the app-wide MAX_CONTENT_LENGTH: a 24-h Holter is ~90 MB as a 2-lead
# WFDB record (~140 MB with three leads) and ~250 MB as a one-column CSV at 360 Hz. Files are streamed to
# disk; a JSON body is parsed whole, so it keeps a smaller cap.
RECORDING_LIMIT_ENV = "ECG_MAX_RECORDING_BYTES"
DEFAULT_RECORDING_BYTES = 256 << 20
MAX_JSON_RECORDING_BYTES = 64 << 20


def upload_dir() -> str:
    """The app's upload area (``UPLOAD_DIR`` or ``<instance>/uploads``)."""
    return current_app.config.get("UPLOAD_DIR") or os.path.join(current_app.instance_path, "uploads")


def upload_limit(is_json: bool = False) -> int:
    """Byte limit for one recording upload: app config ``ECG_MAX_RECORDING_BYTES``, else that environment
    variable, else `DEFAULT_RECORDING_BYTES`; a JSON body (parsed whole in memory) is held to at most
    `MAX_JSON_RECORDING_BYTES` as well.

    A value that is not a positive integer is a deployment error: it is logged and the app-wide
    ``MAX_CONTENT_LENGTH`` applies.
    """
    value = current_app.config.get(RECORDING_LIMIT_ENV)
    if value in (None, ""):
        value = os.environ.get(RECORDING_LIMIT_ENV, "").strip()
    try:
        limit = DEFAULT_RECORDING_BYTES if value in (None, "") else int(value)
    except (TypeError, ValueError):
        limit = 0
    if limit <= 0:
        current_app.logger.error(
            "%s must be a positive integer (bytes), got %r; using MAX_CONTENT_LENGTH", RECORDING_LIMIT_ENV, value
        )
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or DEFAULT_RECORDING_BYTES
    return min(limit, MAX_JSON_RECORDING_BYTES) if is_json else limit


def start_recording_job(
    owner: User,
    parsed: ParsedRecording,
    *,
    filename: str | None = None,
    patient_id: int | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> Job:
    """Store the parsed leads under the storage root (`storage.save_job_input`), create a queued Job and
    start it. The stored file is the job's input and, once analysed, the recording's signal.

    With ``idempotency_key`` an IntegrityError means another request took the key first; the stored leads
    are removed again before it is re-raised.
    """
    if patient_id is not None:
        get_patient(owner, patient_id)
    jobs.check_job_limit(owner)
    path = storage.save_job_input(parsed)
    params = {
        "sampling_rate": parsed.fs,
        "lead": parsed.lead,
        "leads": parsed.leads,
        "source": parsed.source,
        "filename": _stored_filename(filename),
        "n_samples": len(parsed.signal),
    }
    if parsed.extra_names:
        params["extra_leads"] = list(parsed.extra_names)
    if parsed.start:
        params["start_datetime"] = parsed.start
    try:
        job = jobs.create_job(
            owner,
            "recording",
            params,
            input_path=path,
            patient_id=patient_id,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        )
    except Exception:
        os.remove(path)
        raise
    jobs.enqueue(current_app._get_current_object(), job.id)
    return job


def _stored_filename(filename: str | None) -> str | None:
    return (filename or "")[:255] or None


def recording_fingerprint(parsed: ParsedRecording, *, filename: str | None, patient_id: int | None) -> str:
    """What a recording request asks for: the leads' samples as they are stored (`store.sample_blocks`,
    hashed block by block: the hash of the whole stored array, without building it), rate, lead and options."""
    options = [patient_id, float(parsed.fs), parsed.lead, _stored_filename(filename)]
    if parsed.extra_names:
        options.append(list(parsed.extra_names))
    columns, leads = storage.recording_leads(parsed)
    dtype = store.stored_dtype(columns, leads)
    return idempotency.fingerprint_blocks(
        options, (len(parsed.signal), len(columns)), store.sample_blocks(columns, leads, dtype), dtype=dtype.str
    )


def start_recording_job_once(
    owner: User,
    parsed: ParsedRecording,
    idempotency_key: str,
    *,
    filename: str | None = None,
    patient_id: int | None = None,
) -> tuple[Job, bool]:
    """``start_recording_job`` under a client's ``Idempotency-Key``: a retried upload starts one job.

    The first job with this owner and key is answered again when the request is the same; the same key
    with a different recording or options is a 422 (:func:`idempotency.create_once`).

    Returns:
        (the job, whether it is an earlier request's job).
    """
    fingerprint = recording_fingerprint(parsed, filename=filename, patient_id=patient_id)
    created, earlier = idempotency.create_once(
        idempotency_key,
        fingerprint,
        lambda: db.session.scalar(select(Job).where(Job.owner_id == owner.id, Job.idempotency_key == idempotency_key)),
        lambda: start_recording_job(
            owner,
            parsed,
            filename=filename,
            patient_id=patient_id,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
        ),
        id_field="job_id",
    )
    return (created, False) if created is not None else (earlier, True)


def run_recording_job(job, progress) -> int:
    """Job body: analyse the stored lead(s), store an Analysis (kind 'recording'); returns its id.

    On success the input becomes the recording's stored signal (`storage.keep_job_input`); otherwise it is
    removed when the job ends (a failed job is submitted again as a new upload), so the storage does not
    fill with the signals of failed jobs.
    """
    try:
        return _analyse_saved_recording(job, progress)
    finally:
        jobs.discard_input(job.input_path)


jobs.register("recording", run_recording_job)


def _read_job_input(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The chosen lead as float64 (what analyze_recording works on) and the others as (n, k) float32."""
    signal_file = storage.open_job_input(path)
    signal = signal_file.lead(0, np.float64)
    width = len(signal_file.leads) - 1
    extra = None
    if width:
        extra = np.empty((signal_file.n_samples, width), dtype=np.float32)
        for j in range(width):
            extra[:, j] = signal_file.lead(j + 1)
    return signal, extra


def _analyse_saved_recording(job, progress) -> int:
    from ecg_backend.services.detection import get_recording_detector
    from ecg_backend.signals.recording import analyze_recording

    params = job.params or {}
    signal, extra = _read_job_input(job.input_path)
    progress(1.0, "loaded the recording")
    result = analyze_recording(
        signal, params["sampling_rate"], detector=get_recording_detector(), progress=progress, extra_leads=extra
    )
    del extra
    folder = storage.keep_job_input(job.input_path)
    try:
        review.save_machine_reading(result, storage.absolute(folder))
        analysis = Analysis(
            owner_id=job.owner_id,
            patient_id=job.patient_id,
            kind="recording",
            source="recording",
            filename=params.get("filename"),
            n_beats=result.summary["n_beats"],
            n_anomalous=result.summary["n_anomalous"],
            operating_point=float(result.summary["operating_point"]),
            model_version=result.summary.get("model_version"),
            input={
                **{
                    k: params[k]
                    for k in (
                        "sampling_rate",
                        "lead",
                        "leads",
                        "source",
                        "filename",
                        "n_samples",
                        "extra_leads",
                        "start_datetime",
                    )
                    if k in params
                },
                "storage": folder,
            },
            result=recording_result(result, params.get("lead")),
        )
        save_analysis(analysis)
    except BaseException:
        storage.remove_folder(folder)
        raise
    return analysis.id


def _round(values, digits=4) -> list:
    arr = np.asarray(values, dtype=np.float64)
    return [None if not np.isfinite(v) else round(float(v), digits) for v in arr]


def recording_result(result, lead: str | None) -> dict:
    """JSON for the Analysis row: what follows from the labels (`review.reading_json`: summary, per-beat
    columns, families, events, hours, runs), unusable segments, rhythm episodes without separable beats
    (ventricular flutter), the typical beat and details of the highest-scoring beats. The signal itself is
    served in windows from the stored file (`signal_window`), not kept in the row."""
    table = result.beats
    order = np.argsort(-table["score"].to_numpy())[:MAX_DETAIL_BEATS] if len(table) else []
    details = []
    for i in order:
        details.append(
            {
                "index": int(i),
                "beat": _round(result.beat_matrix[i], 4),
                "reconstruction": (
                    _round(result.reconstruction[i], 4)
                    if result.reconstruction is not None and np.isfinite(result.reconstruction[i]).all()
                    else None
                ),
            }
        )
    return {
        **review.reading_json(result),
        "lead": lead,
        "segments": result.segments,
        "episodes": result.episodes,
        "template": _round(result.template, 4) if result.template is not None else None,
        "details": details,
    }


DEFAULT_WINDOW_S = 10.0
DEFAULT_POINTS = 2000


def signal_window(owner: User, analysis_id: int, start: float | None, end: float | None, points: int | None) -> dict:
    """Every lead of a stored recording between ``start`` and ``end`` seconds (default: the first
    DEFAULT_WINDOW_S s), exact or as a min/max envelope of at most ``points`` values per lead
    (`store.StoredSignal.window`)."""
    signal = storage.open_recording_signal(review.get_recording(owner, analysis_id))
    start = 0.0 if start is None else start
    if start >= signal.duration_s:
        raise InputError(
            f"start is beyond the recording's end ({signal.duration_s:.3f} s)",
            status=422,
            details={"field": "start", "duration_s": signal.duration_s},
        )
    end = min(signal.duration_s, start + DEFAULT_WINDOW_S if end is None else end)
    if end <= start:
        raise InputError("end must be after start", status=400, details={"field": "end"})
    points = DEFAULT_POINTS if points is None else points
    return {
        "start": start,
        "end": end,
        "fs": signal.fs,
        "duration_s": signal.duration_s,
        "points": points,
        "leads": signal.window(start, end, points),
    }
