"""Analyse beats with the loaded detector and keep the result as an owner-scoped ``Analysis``."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import Analysis, User, is_valid_id
from ecg_backend.services import add_and_commit, idempotency, storage
from ecg_backend.services.detection import get_detector
from ecg_backend.services.pagination import paginate
from ecg_backend.services.patients import get_patient


def score_beats(beats: np.ndarray) -> dict:
    """Score (n, 140) beats; returns ``{"beats": [...], "summary": {...}, "model_version": ...}``.

    Each beat dict holds index, score, threshold, is_anomaly, confidence, reconstruction and
    sample_error (the detector's ``ScoreResult.to_dicts``).
    """
    detector = get_detector()
    try:
        result = detector.score(beats)
    except ValueError as exc:  # parsing already checks shape and values; this is a last line of defence
        raise InputError(str(exc)) from None
    return {"beats": result.to_dicts(), "summary": result.summary(), "model_version": detector.version}


def analyse_beats(
    owner: User,
    beats: np.ndarray,
    *,
    patient_id: int | None = None,
    store: bool = False,
    source: str = "api",
    filename: str | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> tuple[dict, Analysis | None]:
    """Score beats and, when ``store`` or a ``patient_id`` is given, keep them as one Analysis.

    The patient is owner-checked before any work (404 for someone else's id). The row is written in a
    single commit, so a failure leaves nothing half-stored. ``idempotency_key`` and ``request_hash`` are
    stored on the row (see :func:`analyse_beats_once`).

    Returns:
        (response dict as ``score_beats`` plus ``analysis_id`` when stored, the Analysis or None).
    """
    if patient_id is not None:
        get_patient(owner, patient_id)
        store = True
    response = score_beats(beats)
    if not store:
        return response, None
    summary = response["summary"]
    analysis = Analysis(
        owner_id=owner.id,
        patient_id=patient_id,
        kind="beats",
        source=source,
        filename=(filename or None) and filename[:255],
        n_beats=summary["n_beats"],
        n_anomalous=summary["n_anomalous"],
        threshold=summary["threshold"],
        model_version=response["model_version"],
        input={"beats": np.asarray(beats, dtype=np.float64).round(6).tolist()},
        result={"beats": response["beats"], "summary": summary, "model_version": response["model_version"]},
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    save_analysis(analysis)
    response["analysis_id"] = analysis.id
    return response, analysis


def request_fingerprint(
    beats: np.ndarray, *, patient_id: int | None, store: bool, source: str, filename: str | None
) -> str:
    """What a /predict request asks for: the beats' values and the storing options (see ``idempotency``)."""
    return idempotency.fingerprint([patient_id, bool(store or patient_id is not None), source, filename or None], beats)


def analyse_beats_once(
    owner: User,
    beats: np.ndarray,
    idempotency_key: str,
    *,
    patient_id: int | None = None,
    store: bool = False,
    source: str = "api",
    filename: str | None = None,
) -> tuple[dict, Analysis | None, bool]:
    """``analyse_beats`` under a client's ``Idempotency-Key``: a retried request is stored only once.

    The first stored analysis with this owner and key is answered again (same ``analysis_id``) when the
    request is the same (same beats and options); a different request under a used key is a 422; two
    concurrent requests are settled by the unique constraint (:func:`idempotency.create_once`). A request
    that stores nothing keeps no key.

    Returns:
        (response, the Analysis or None, whether the response is a replay of an earlier one).
    """
    fingerprint = request_fingerprint(beats, patient_id=patient_id, store=store, source=source, filename=filename)
    created, earlier = idempotency.create_once(
        idempotency_key,
        fingerprint,
        lambda: _analysis_for_key(owner, idempotency_key),
        lambda: analyse_beats(
            owner,
            beats,
            patient_id=patient_id,
            store=store,
            source=source,
            filename=filename,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
        ),
        id_field="analysis_id",
    )
    if created is not None:
        return (*created, False)
    # the stored result is the first answer without its analysis_id (`analyse_beats`)
    return {**(earlier.result or {}), "analysis_id": earlier.id}, earlier, True


def _analysis_for_key(owner: User, key: str) -> Analysis | None:
    return db.session.scalar(_owned(owner).where(Analysis.idempotency_key == key))


def save_analysis(analysis: Analysis) -> Analysis:
    """Store an Analysis (beats from /predict, or a recording's result) in one transaction."""
    return add_and_commit(analysis)


def _owned(owner: User):
    return select(Analysis).where(Analysis.owner_id == owner.id)


def get_analysis(owner: User, analysis_id: int) -> Analysis:
    """The owner's analysis, or 404 (also for other clinicians' ids)."""
    analysis = db.session.scalar(_owned(owner).where(Analysis.id == analysis_id)) if is_valid_id(analysis_id) else None
    if analysis is None:
        raise InputError(f"analysis {analysis_id} not found", kind="not_found")
    return analysis


def search_analyses(owner: User, patient_id: int | None = None, kind: str | None = None):
    """A select of the owner's analyses, newest first; filtering by a patient checks that patient."""
    query = _owned(owner)
    if patient_id is not None:
        get_patient(owner, patient_id)
        query = query.where(Analysis.patient_id == patient_id)
    if kind:
        query = query.where(Analysis.kind == kind)
    return query.order_by(Analysis.created_at.desc(), Analysis.id.desc())


def list_analyses(
    owner: User, patient_id: int | None = None, page: int = 1, per_page: int = 20, kind: str | None = None
) -> dict:
    """One page of the owner's analyses (summaries, without the per-beat result)."""
    return paginate(search_analyses(owner, patient_id, kind), page, per_page, Analysis.to_dict)


def delete_analysis(owner: User, analysis_id: int) -> None:
    """Delete the owner's analysis and then its stored files (a failed delete keeps both)."""
    analysis = get_analysis(owner, analysis_id)
    folder = (analysis.input or {}).get("storage") if analysis.kind == "recording" else None
    db.session.delete(analysis)
    db.session.commit()
    storage.remove_folder(folder)
