"""Page data the recording page draws from the stored signal: each beat family's typical beat over some of
its members (ms and mV), and the uploaded reference labels inside a strip's window.

Both read a few hundred milliseconds of signal per beat from the memory-mapped file, never a whole lead.
"""
from __future__ import annotations

import numpy as np

from ecg_backend.errors import InputError
from ecg_backend.models import Analysis
from ecg_backend.services import storage
from ecg_backend.services.holter_report import columns_to_rows

SHAPE_BEFORE_S, SHAPE_AFTER_S = 0.25, 0.45
MEMBERS_SHOWN = 20
MAX_REFERENCE_WINDOW_S = 120.0
# WFDB beat symbols, plus the noise (~) and artefact (|) marks a reader wants to see on the strip.
REFERENCE_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?~|")


def _waveform(signal, samples, time_s: float, grid_ms: np.ndarray) -> list | None:
    """The first lead around ``time_s`` in its unit, on ``grid_ms`` (ms from the R peak); None at the edges."""
    fs = signal.fs
    first, stop = round((time_s - SHAPE_BEFORE_S) * fs), round((time_s + SHAPE_AFTER_S) * fs) + 1
    if first < 0 or stop > signal.n_samples:
        return None
    values = signal.physical(samples[first:stop, 0], 0, np.float64)
    if not np.isfinite(values).all():
        return None
    own_ms = (np.arange(first, stop) / fs - time_s) * 1000.0
    return np.round(np.interp(grid_ms, own_ms, values), 4).tolist()


def family_shapes(analysis: Analysis) -> dict:
    """``{"ms": [...], "families": {family: {"representative", "members", "time_s"}}}`` for every family of the
    stored beats (a recording stored without families or without its signal answers no families)."""
    result = analysis.result if isinstance(analysis.result, dict) else {}
    beats = result.get("beats") or {}
    family = np.asarray(beats.get("family") or [], dtype=np.int64)
    times = np.asarray(beats.get("time_s") or [], dtype=np.float64)
    if not len(family) or len(family) != len(times):
        return {"ms": [], "families": {}}
    signal = storage.open_recording_signal(analysis)
    samples = signal.array("samples")
    grid = np.arange(-SHAPE_BEFORE_S * 1000.0, SHAPE_AFTER_S * 1000.0, 1000.0 / min(signal.fs, 500.0))
    representatives = {int(row["family"]): row.get("representative")
                       for row in columns_to_rows(result.get("families")) if row.get("family") is not None}
    shapes = {}
    for fam in np.unique(family).tolist():
        members = np.flatnonzero(family == fam)
        rep = representatives.get(fam)
        rep = int(rep) if rep is not None and 0 <= int(rep) < len(times) else int(members[len(members) // 2])
        chosen = members[np.unique(np.linspace(0, len(members) - 1, min(len(members), MEMBERS_SHOWN)).astype(int))]
        waves = [w for w in (_waveform(signal, samples, times[i], grid) for i in chosen if i != rep) if w is not None]
        shapes[str(fam)] = {"representative": _waveform(signal, samples, times[rep], grid), "members": waves,
                            "time_s": round(float(times[rep]), 3)}
    return {"ms": np.round(grid, 2).tolist(), "families": shapes}


def has_reference(analysis: Analysis) -> bool:
    """Whether the recording was uploaded with reference annotations (a WFDB .atr)."""
    try:
        return storage.open_recording_signal(analysis).array("ann_sample") is not None
    except InputError:  # no stored signal (an analysis from before signals were kept): no reference row
        return False


def reference_labels(analysis: Analysis, start_s: float, end_s: float) -> dict:
    """The uploaded reference labels between ``start_s`` and ``end_s`` (at most two minutes):
    ``{"items": [{"time_s", "symbol"}]}``."""
    signal = storage.open_recording_signal(analysis)
    end_s = min(end_s, start_s + MAX_REFERENCE_WINDOW_S)
    samples, symbols = signal.annotations(int(start_s * signal.fs), int(np.ceil(end_s * signal.fs)))
    return {"items": [{"time_s": round(float(s) / signal.fs, 4), "symbol": sym}
                      for s, sym in zip(samples.tolist(), symbols) if sym in REFERENCE_SYMBOLS]}
