"""What the recording page lists: families with their shapes, events, beats in a time window, reference labels.

All read the analysis's stored result (kept in step with the review by `services.review`) and, for shapes
and reference annotations, the stored signal file; never a whole 24 h of samples.
"""

from __future__ import annotations

import numpy as np

from ecg_backend.errors import InputError
from ecg_backend.models import User
from ecg_backend.services import storage
from ecg_backend.services.review import (
    beat_row,
    bulk,
    family_rows,
    get_recording,
    rows_of,
)
from ecg_backend.signals.store import StoredSignal

SHAPE_BEFORE_S, SHAPE_AFTER_S = 0.25, 0.45  # a beat's shape: from before its P wave to after its T wave
SHAPE_POINTS = 140  # values per drawn beat
SHAPE_MEMBERS = 12  # member beats overlaid per family
REFERENCE_MATCH_S = 0.15  # a reference beat label belongs to a detected beat within this distance
# WFDB annotation codes of beats (the others mark rhythm changes, noise, comments)
WFDB_BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


def _page(rows: list, page: int, per_page: int) -> dict:
    first = (page - 1) * per_page
    return {"items": rows[first : first + per_page], "total": len(rows), "page": page, "per_page": per_page}


def _beat_shape(signal: StoredSignal, sample: int, offsets: np.ndarray) -> list | None:
    index = sample + offsets
    if index[0] < 0 or index[-1] >= signal.n_samples:
        return None
    values = signal.physical(signal.array("samples")[index[0] : index[-1] + 1, 0], 0)[offsets - offsets[0]]
    if not np.isfinite(values).any():
        return None
    values = values - np.nanmedian(values)  # overlaid beats share a baseline
    return [None if not np.isfinite(v) else round(float(v), 4) for v in values]


def family_shapes(signal: StoredSignal, beats: dict, rows: list[dict]) -> tuple[list, dict]:
    """Per family, its representative beat and up to SHAPE_MEMBERS of its beats (evenly spread over the
    recording) from the stored signal's first lead: mV against ms from the R peak, as recorded (upright)."""
    step = max(1, round((SHAPE_BEFORE_S + SHAPE_AFTER_S) * signal.fs / SHAPE_POINTS))
    offsets = np.arange(-int(SHAPE_BEFORE_S * signal.fs), int(SHAPE_AFTER_S * signal.fs) + 1, step)
    ms = [round(float(v), 1) for v in offsets * 1000.0 / signal.fs]
    peaks = np.asarray(beats.get("r_peak") or [], dtype=np.int64)
    own = np.asarray(beats.get("family") or [], dtype=np.int64)
    shapes = {}
    for row in rows:
        family, rep = row.get("family"), row.get("representative")
        members = np.flatnonzero(own == family)
        chosen = (
            members[np.unique(np.linspace(0, len(members) - 1, min(SHAPE_MEMBERS, len(members))).astype(int))]
            if len(members)
            else members
        )
        representative = _beat_shape(signal, int(peaks[rep]), offsets) if rep is not None and rep < len(peaks) else None
        shapes[family] = {
            "representative": representative,
            "members": [s for s in (_beat_shape(signal, int(peaks[i]), offsets) for i in chosen) if s],
            "time_s": (beats.get("time_s") or [None])[rep] if rep is not None and rep < len(peaks) else None,
        }
    return ms, shapes


@bulk
def families(owner: User, analysis_id: int) -> dict:
    """The families, in review order, each with its count, class, whether a person labelled it (``reviewed``)
    and its shape (``shape``: representative and members in mV against ``ms``, null without a stored signal)."""
    analysis = get_recording(owner, analysis_id)
    rows = sorted(family_rows(analysis), key=lambda r: (r.get("review_rank") is None, r.get("review_rank") or 0))
    try:
        signal = storage.open_recording_signal(analysis)
    except InputError:
        signal = None
    ms, shapes = (
        family_shapes(signal, (analysis.result or {}).get("beats") or {}, rows) if signal is not None else ([], {})
    )
    items = [{**row, "shape": shapes.get(row.get("family"))} for row in rows]
    return {"items": items, "total": len(items), "ms": ms}


@bulk
def events(owner: User, analysis_id: int, page: int, per_page: int, kind: str | None = None) -> dict:
    """One page of the recording's rhythm events by start time (optionally one ``type``)."""
    rows = rows_of(((get_recording(owner, analysis_id).result) or {}).get("events"))
    rows = sorted((r for r in rows if kind is None or r.get("type") == kind), key=lambda r: r.get("start_s") or 0)
    return _page(rows, page, per_page)


def _window(times: list, start: float | None, end: float | None) -> tuple[int, int]:
    t = np.asarray(times, dtype=np.float64)
    first = 0 if start is None else int(np.searchsorted(t, start, side="left"))
    stop = len(t) if end is None else int(np.searchsorted(t, end, side="left"))
    if end is not None and start is not None and end <= start:
        raise InputError("end must be after start", status=400, details={"field": "end"})
    return first, max(first, stop)


@bulk
def beats(owner: User, analysis_id: int, start: float | None, end: float | None, page: int, per_page: int) -> dict:
    """One page of the beats whose R peak lies in [start, end) seconds, with their class, where it came from
    (``label_source``), family and, when the upload had reference annotations, the nearest reference beat
    label within REFERENCE_MATCH_S (``reference``)."""
    analysis = get_recording(owner, analysis_id)
    columns = (analysis.result or {}).get("beats") or {}
    first, stop = _window(columns.get("time_s") or [], start, end)
    lo = min(stop, first + (page - 1) * per_page)
    hi = min(stop, lo + per_page)
    items = [beat_row(columns, i) for i in range(lo, hi)]
    if items:
        _add_reference(analysis, items)
    return {"items": items, "total": stop - first, "page": page, "per_page": per_page}


def _add_reference(analysis, items: list[dict]) -> None:
    try:
        signal = storage.open_recording_signal(analysis)
    except InputError:
        return
    reach = int(REFERENCE_MATCH_S * signal.fs)
    samples, symbols = signal.annotations(int(items[0]["r_peak"]) - reach, int(items[-1]["r_peak"]) + reach + 1)
    keep = [i for i, s in enumerate(symbols) if s in WFDB_BEAT_SYMBOLS]
    samples, symbols = samples[keep], [symbols[i] for i in keep]
    for item in items:
        item["reference"] = None
        if len(samples):
            j = int(np.argmin(np.abs(samples - item["r_peak"])))
            if abs(int(samples[j]) - int(item["r_peak"])) <= reach:
                item["reference"] = symbols[j]


def reference(owner: User, analysis_id: int, start: float | None, end: float | None, page: int, per_page: int) -> dict:
    """The uploaded reference annotations (WFDB .atr) in [start, end) seconds: time, sample and symbol."""
    signal = storage.open_recording_signal(get_recording(owner, analysis_id))
    if start is not None and end is not None and end <= start:
        raise InputError("end must be after start", status=400, details={"field": "end"})
    lo = 0 if start is None else int(np.ceil(start * signal.fs))
    hi = None if end is None else int(np.ceil(end * signal.fs))
    samples, symbols = signal.annotations(lo, hi)
    first = (page - 1) * per_page
    items = [
        {"time_s": round(int(s) / signal.fs, 4), "sample": int(s), "symbol": sym}
        for s, sym in zip(samples[first : first + per_page], symbols[first : first + per_page])
    ]
    return {"items": items, "total": len(samples), "page": page, "per_page": per_page}
