"""A person's review of a recording: label changes stored with who and when, replayed over the machine reading.

The job keeps the machine reading (`signals.reading.save_reading`) beside the stored signal. Every label
change is a `LabelChange` row; the analysis's stored result is the reading with all changes not undone
applied in order (`signals.review.apply_labels`), rewritten in the same transaction as the change, so
``GET /api/v1/analyses/<id>`` and the lists below always agree with the review.
"""

from __future__ import annotations

import functools
import gc
import os

import numpy as np
import pandas as pd
from sqlalchemy import select

from ecg_backend.errors import InputError
from ecg_backend.extensions import db
from ecg_backend.models import (
    BEAT_LABELS,
    Analysis,
    LabelChange,
    User,
    is_valid_id,
    utcnow,
)
from ecg_backend.services import storage
from ecg_backend.signals.reading import RecordingAnalysis, load_reading, save_reading
from ecg_backend.signals.review import apply_labels

READING_FILE = "reading.npz"


def bulk(func):
    """Run ``func`` with the cyclic garbage collector paused. A 24-h result is ~100 000 values per column:
    decoding, replaying and re-encoding it allocates millions of objects, and the collections this sets off
    (which walk every list) took 3 of a relabel's 4 s. Reference counting still frees everything."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper


BEAT_COLUMNS = (
    "r_peak",
    "time_s",
    "rr_s",
    "score",
    "confidence",
    "morph_distance",
    "ae_error",
    "is_anomaly",
    "label",
    "label_auto",
    "label_source",
    "family",
)


def get_recording(owner: User, analysis_id: int, *, for_update: bool = False) -> Analysis:
    """The owner's recording analysis, or 404 (other users' ids and beat analyses alike). ``for_update``
    locks its row (PostgreSQL) so two reviewers' changes are replayed one after the other."""
    query = select(Analysis).where(
        Analysis.owner_id == owner.id, Analysis.id == analysis_id, Analysis.kind == "recording"
    )
    analysis = db.session.scalar(query.with_for_update() if for_update else query) if is_valid_id(analysis_id) else None
    if analysis is None:
        raise InputError(f"recording {analysis_id} not found", status=404)
    return analysis


# --------------------------------------------------------------------------- the reading as stored JSON
def _values(series: pd.Series) -> list:
    """A column as JSON values: floats rounded to 5 decimals (vectorised: 24 h is 100 000 beats), NaN as null."""
    if series.dtype.kind == "f":
        values = np.round(series.to_numpy(dtype=np.float64), 5)
        out = values.tolist()
        for i in np.flatnonzero(~np.isfinite(values)):
            out[i] = None
        return out
    if series.dtype.kind in "iub":
        return series.to_numpy().tolist()
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in series.tolist()]


def table_columns(table: pd.DataFrame | None) -> dict:
    """A table as ``{column: [values]}`` (NaN as null), the stored form of families, events and hours."""
    if table is None:
        return {}
    return {str(col): _values(table[col]) for col in table.columns}


def reading_json(reading: RecordingAnalysis) -> dict:
    """What follows from the labels, as stored in the analysis's result: summary, per-beat columns, families,
    events, the hour table and the anomalous runs. ``beats.label_source`` says which labels came from a
    person ("reader"), followed one ("propagated") or are the machine's ("auto")."""
    beats = {col: _values(reading.beats[col]) for col in BEAT_COLUMNS if col in reading.beats}
    return {
        "summary": reading.summary,
        "beats": beats,
        "families": table_columns(reading.families),
        "events": table_columns(reading.events),
        "hourly": table_columns(reading.hourly),
        "runs": reading.runs,
    }


def save_machine_reading(reading: RecordingAnalysis, folder: str) -> None:
    """Keep the job's reading in the recording's folder (absolute path): what every review replays over."""
    save_reading(reading, os.path.join(folder, READING_FILE), waveforms=False)


def _machine_reading(analysis: Analysis) -> RecordingAnalysis:
    folder = storage.recording_folder(analysis)
    try:
        if folder is None:
            raise FileNotFoundError
        return load_reading(os.path.join(folder, READING_FILE))
    except (OSError, ValueError):
        raise InputError(
            f"recording {analysis.id} was analysed before readings were kept, so it cannot be "
            "reviewed; upload it again",
            status=409,
            code="no_reading",
        ) from None


# --------------------------------------------------------------------------- label changes
def _active_changes(analysis_id: int) -> list[LabelChange]:
    return list(
        db.session.scalars(
            select(LabelChange)
            .where(LabelChange.analysis_id == analysis_id, LabelChange.undone_at.is_(None))
            .order_by(LabelChange.id)
        )
    )


def _replay(analysis: Analysis) -> None:
    """Apply every change not undone, in order, to the machine reading and store the result (no commit)."""
    families, beats = {}, {}
    for change in _active_changes(analysis.id):
        if change.family is not None:
            families[change.family] = change.label
        else:
            beats[change.beat] = change.label
    reading = _machine_reading(analysis)
    reviewed = apply_labels(reading, families=families, beats=beats) if families or beats else reading
    analysis.result = {
        **(analysis.result or {}),
        **reading_json(reviewed),
        "review": {
            "families": {str(k): v for k, v in families.items()},
            "beats": {str(k): v for k, v in beats.items()},
        },
    }
    analysis.n_anomalous = int(reviewed.summary.get("n_anomalous", analysis.n_anomalous))


def _check_label(payload: dict) -> str:
    label = payload.get("label")
    if label not in BEAT_LABELS:
        raise InputError(
            f"'label' must be one of {', '.join(BEAT_LABELS)}, got {label!r}",
            details={"field": "label", "allowed": list(BEAT_LABELS)},
        )
    return label


def _commit(analysis: Analysis, change: LabelChange, new: bool) -> dict:
    """Replay the review with ``change`` (added when ``new``) and commit both; returns the change, the beat
    counts and the stored result as written (read before the commit, which would expire and reload it)."""
    if new:
        db.session.add(change)
    try:
        db.session.flush()
        _replay(analysis)
        result, body = analysis.result, change.to_dict()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return {"change": body, "beat_counts": (result.get("summary") or {}).get("beat_counts"), "result": result}


@bulk
def label_family(owner: User, analysis_id: int, family: int, payload: dict) -> dict:
    """A person calls one family N, S, V or Q; returns the change, the family's row and the beat counts."""
    label = _check_label(payload)
    analysis = get_recording(owner, analysis_id, for_update=True)
    rows = family_rows(analysis)
    row = next((r for r in rows if r.get("family") == family), None)
    if row is None:
        raise InputError(
            f"recording {analysis_id} has no family {family}",
            status=404,
            details={"families": [r.get("family") for r in rows]},
        )
    change = LabelChange(
        analysis_id=analysis.id, user_id=owner.id, family=family, old_label=row.get("label"), label=label
    )
    body = _commit(analysis, change, new=True)
    result = body.pop("result")
    body["family"] = next((r for r in rows_of(result.get("families")) if r.get("family") == family), None)
    return body


@bulk
def label_beat(owner: User, analysis_id: int, index: int, payload: dict) -> dict:
    """A person labels one beat (its row index); returns the change, the beat and the beat counts."""
    label = _check_label(payload)
    analysis = get_recording(owner, analysis_id, for_update=True)
    labels = ((analysis.result or {}).get("beats") or {}).get("label") or []
    if not 0 <= index < len(labels):
        raise InputError(f"recording {analysis_id} has no beat {index} (0 to {len(labels) - 1})", status=404)
    change = LabelChange(analysis_id=analysis.id, user_id=owner.id, beat=index, old_label=labels[index], label=label)
    body = _commit(analysis, change, new=True)
    body["beat"] = beat_row(body.pop("result")["beats"], index)
    return body


@bulk
def undo_change(owner: User, analysis_id: int, change_id: int) -> dict:
    """Undo one change (it stays listed, marked undone); the review is replayed without it."""
    analysis = get_recording(owner, analysis_id, for_update=True)
    change = (
        db.session.scalar(
            select(LabelChange).where(LabelChange.id == change_id, LabelChange.analysis_id == analysis.id)
        )
        if is_valid_id(change_id)
        else None
    )
    if change is None:
        raise InputError(f"recording {analysis_id} has no label change {change_id}", status=404)
    if change.undone_at is not None:
        raise InputError(f"label change {change_id} was already undone", status=409, code="already_undone")
    change.undone_at, change.undone_by = utcnow(), owner.id
    body = _commit(analysis, change, new=False)
    body.pop("result")
    return body


def list_changes(owner: User, analysis_id: int) -> dict:
    """Every label change of a recording, newest first (undone ones marked ``undone_at``)."""
    analysis = get_recording(owner, analysis_id)
    rows = db.session.scalars(
        select(LabelChange).where(LabelChange.analysis_id == analysis.id).order_by(LabelChange.id.desc())
    ).all()
    return {"items": [row.to_dict() for row in rows], "total": len(rows)}


# --------------------------------------------------------------------------- what the page lists
def rows_of(columns: dict | None) -> list[dict]:
    """A stored ``{column: [values]}`` table as a list of row dicts."""
    if not columns:
        return []
    keys = list(columns)
    return [dict(zip(keys, values)) for values in zip(*(columns[k] for k in keys))]


def family_rows(analysis: Analysis) -> list[dict]:
    """The stored families table of a recording, as rows."""
    return rows_of((analysis.result or {}).get("families"))


def beat_row(beats: dict, index: int) -> dict:
    """One beat of the stored per-beat columns, with its row index."""
    return {"index": index, **{col: values[index] for col, values in beats.items() if index < len(values)}}
