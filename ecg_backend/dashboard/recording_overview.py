"""The recording page's overview: one small JSON answer whatever the recording's length.

A 24-hour Holter has ~100 000 beats; the page needs their shape over time, not every row: the heart rate
and the count of each beat class per time bin (at most ``MAX_BINS`` bins), the times of the flagged
beats (for "next flagged beat"), and the events.
"""

from __future__ import annotations

import numpy as np
from flask import jsonify

from ecg_backend.models import Analysis
from ecg_backend.services.holter_report import CLASSES, beat_columns, bin_seconds, heart_rate_trend, stored_events

MAX_BINS = 720
MAX_FLAGGED = 50_000


def class_counts(times: np.ndarray, labels: np.ndarray, width: float, n_bins: int) -> dict:
    """Beats of each class per bin."""
    idx = np.minimum((times // width).astype(int), n_bins - 1) if len(times) else np.zeros(0, int)
    return {c: np.bincount(idx[labels == c], minlength=n_bins).tolist() for c in CLASSES}


def overview_data(result: dict) -> dict:
    """Heart-rate trend, class counts per bin, flagged-beat times, events and summary of one recording's
    stored result."""
    summary = result.get("summary") or {}
    cols = beat_columns(result)
    times, labels = cols["time_s"], cols["label"]
    duration = float(summary.get("duration_s") or (times[-1] if len(times) else 0.0) or 1.0)
    width = bin_seconds(duration, MAX_BINS)
    n_bins = max(int(np.ceil(duration / width)), 1)
    flagged = np.isin(labels, ("S", "V")) if len(labels) else np.zeros(0, bool)
    return {
        "duration_s": duration,
        "bin_s": width,
        "bin_start_s": [round(i * width, 3) for i in range(n_bins)],
        "heart_rate_bpm": heart_rate_trend(times, cols["rr_s"], width, n_bins),
        "counts": class_counts(times, labels, width, n_bins),
        "flagged_s": [round(float(t), 3) for t in times[flagged][:MAX_FLAGGED]],
        "flagged_label": labels[flagged][:MAX_FLAGGED].tolist(),
        "beat_counts": summary.get("beat_counts") or {c: int((labels == c).sum()) for c in CLASSES},
        "burden_percent": summary.get("burden_percent"),
        "events": stored_events(result),
    }


def overview(analysis: Analysis):
    """``overview_data`` of a recording as a JSON response."""
    return jsonify(overview_data(analysis.result if isinstance(analysis.result, dict) else {}))
