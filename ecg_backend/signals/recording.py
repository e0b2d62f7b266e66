"""Analyse a long recording: quality, R peaks, beats, recording-aware anomaly scores.

One lead (the primary) gives the R peaks, the segmented beats and every feature; the other leads of a
multi-lead recording, when passed as ``extra_leads``, add their own morphology distance at the same R
peaks (`scoring.extra_lead_distance`), each where its own quality check accepts the signal.

Ventricular flutter has no separable beats: its episodes are reported as such (``episodes``, summary
``flutter_s``) and the detections inside them, which are flutter waves rather than R peaks, are left out
of the beat table.

`analyze_recording` works through the signal in 5-minute chunks (with 5 s of overlap each side, so
filters and the detector see context) to keep memory flat for 24-hour Holters; beats from all chunks
are then scored together because the scoring is relative to the patient's own recording.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ecg_backend.signals import beats as B
from ecg_backend.signals import scoring
from ecg_backend.signals.quality import QualityReport, assess_quality, fill_gaps, flutter_leakage, flutter_windows

CHUNK_S = 300.0
MODEL_ALL_BEATS = 20_000
MODEL_SAMPLE = 4_000
PAD_S = 5.0
MIN_FS, MAX_FS = 100.0, 1000.0


@dataclass
class RecordingAnalysis:
    """Result of `analyze_recording`.

    Attributes:
        beats: one row per beat (columns r_peak, time_s, rr_s, score, is_anomaly, confidence, plus
            the score's components and the detector's reconstruction error).
        summary: duration_s, n_beats, mean_hr_bpm, n_anomalous, burden_percent, unusable_s, ...
        segments: unusable segments ``{"start_s", "end_s", "reason"}``.
        beat_matrix: (n_beats, 140) float32 segmented beats as the detector saw them.
        reconstruction: (n_beats, 140) float32 detector reconstructions (None without a detector).
        template: (140,) the patient's typical beat (median of the beats).
        episodes: rhythm episodes without separable beats ``{"start_s", "end_s", "rhythm"}``
            (rhythm ``"ventricular_flutter"``); no beat is reported inside them.
        runs: runs of >= 3 consecutive anomalous beats faster than 100 /min (`scoring.anomalous_runs`):
            ``{"start_s", "end_s", "n_beats", "rate_bpm"}``, e.g. non-sustained ventricular tachycardia.
    """

    beats: pd.DataFrame
    summary: dict
    segments: list = field(default_factory=list)
    beat_matrix: np.ndarray | None = None
    reconstruction: np.ndarray | None = None
    template: np.ndarray | None = None
    episodes: list = field(default_factory=list)
    runs: list = field(default_factory=list)


def _resolve_detector(detector):
    if detector is not None:
        return detector
    from ecg_backend.ml.detector import AnomalyDetector

    return AnomalyDetector.load()


def _chunk_bounds(n: int, fs: float, window: int) -> list[tuple[int, int]]:
    step = max(int(CHUNK_S * fs) // window, 1) * window  # chunks start on quality-window boundaries
    return [(a, min(a + step, n)) for a in range(0, n, step)]


def _process_chunk(signal: np.ndarray, fs: float, a: int, b: int, extra: np.ndarray | None = None) -> dict:
    """Quality, peaks, beats and morphology features for the core [a, b) of one chunk (and, for each
    column of ``extra``, that lead's waveforms at the same peaks and its per-window quality verdicts)."""
    pad = int(PAD_S * fs)
    lo, hi = max(a - pad, 0), min(b + pad, len(signal))
    raw = np.asarray(signal[lo:hi], dtype=np.float64)
    filled = fill_gaps(raw)
    filtered = B.bandpass(filled, fs)
    quality = assess_quality(raw[a - lo:b - lo], fs, filtered=filtered[a - lo:b - lo])
    usable = np.ones(hi - lo, dtype=bool)
    usable[a - lo:b - lo] = quality.usable_mask()
    peaks = B.detect_r_peaks(filled, fs, filtered=filtered) if usable[a - lo:b - lo].any() else np.array([], int)
    peaks = peaks[usable[peaks]] if len(peaks) else peaks
    core = (peaks >= a - lo) & (peaks < b - lo)
    # the next R after each core beat (possibly in the overlap) bounds its window
    nxt = np.append(peaks[1:], -1)[core]
    peaks_core = peaks[core]
    rr_next = np.where(nxt > 0, nxt - peaks_core, 0).astype(np.float64)
    beats = _segment(filtered, peaks_core, rr_next, fs)
    morph = scoring.qrs_morphology(filtered, peaks_core, fs)
    wave = scoring.beat_waveform(filtered, peaks_core, fs)
    extra_waves, extra_reasons = [], []
    for k in range(0 if extra is None else extra.shape[1]):
        raw_k = np.asarray(extra[lo:hi, k], dtype=np.float64)
        filtered_k = B.bandpass(fill_gaps(raw_k), fs)
        extra_reasons.append(assess_quality(raw_k[a - lo:b - lo], fs, filtered=filtered_k[a - lo:b - lo]).reasons)
        extra_waves.append(scoring.beat_waveform(filtered_k, peaks_core, fs))
    return {
        "extra_waves": extra_waves,
        "extra_reasons": extra_reasons,
        "peaks": peaks_core + lo,
        "beats": beats,
        "morph": morph,
        "wave": wave,
        "r_amp": filtered[peaks_core] if len(peaks_core) else np.zeros(0),
        "reasons": quality.reasons,
        "leakage": flutter_leakage(filtered, fs, a - lo, b - lo),
    }


def _usable_beats(peaks: np.ndarray, fs: float, window: int, reasons: list) -> np.ndarray:
    """Per beat: the quality windows holding its waveform's start (R - WAVE_PRE_S) and end (R + WAVE_POST_S)
    are both usable in this lead."""
    ok = np.array([r is None for r in reasons], dtype=bool)
    if len(peaks) == 0 or len(ok) == 0:
        return np.zeros(len(peaks), dtype=bool)
    first = np.clip(((peaks - scoring.WAVE_PRE_S * fs) // window).astype(np.int64), 0, len(ok) - 1)
    last = np.clip(((peaks + scoring.WAVE_POST_S * fs) // window).astype(np.int64), 0, len(ok) - 1)
    return ok[first] & ok[last]


def _segment(filtered, peaks, rr_next, fs):
    """ECG5000-style windows; a beat without a plausible next R (gap, > 3 s) uses the chunk's median R-R."""
    if len(peaks) == 0:
        return np.zeros((0, B.BEAT_LENGTH), np.float32)
    ok = (rr_next > 0.2 * fs) & (rr_next < 3.0 * fs)
    fallback = float(np.median(rr_next[ok])) if ok.any() else 0.8 * fs
    return B.segment_beats(filtered, peaks, rr=np.where(ok, rr_next, fallback))


def check_extra_leads(extra_leads, n_samples: int) -> np.ndarray | None:
    """``extra_leads`` as a float32 (n_samples, k) array (None stays None; k may be 0).

    Accepts a 1-D array (one extra lead), a 2-D array (n_samples, k) or a list of 1-D arrays. NaN/inf
    mark missing samples, as in the primary lead.

    Raises:
        ValueError: a lead that is not 1-D, whose length differs from the primary lead's, that holds no
            finite sample or that is flat (one value throughout).
    """
    if extra_leads is None:
        return None
    if isinstance(extra_leads, (list, tuple)):
        leads = [np.asarray(x, dtype=np.float32) for x in extra_leads]
        for i, x in enumerate(leads):
            if x.ndim != 1:
                raise ValueError(f"extra lead {i} must be 1-D, got shape {x.shape}")
        if not leads:
            return np.zeros((n_samples, 0), np.float32)
        lengths = {len(x) for x in leads}
        if lengths != {n_samples}:
            bad = next(i for i, x in enumerate(leads) if len(x) != n_samples)
            raise ValueError(f"extra lead {bad} has {len(leads[bad])} samples; the primary lead has {n_samples}")
        extra = np.stack(leads, axis=1)
    else:
        extra = np.asarray(extra_leads, dtype=np.float32)
        if extra.ndim == 1:
            extra = extra[:, None]
        if extra.ndim != 2:
            raise ValueError(f"extra_leads must be (n_samples, k) or a list of 1-D leads, got shape {extra.shape}")
        if extra.shape[0] != n_samples:
            raise ValueError(f"extra_leads has {extra.shape[0]} samples per lead; the primary lead has {n_samples} "
                             "(pass an array shaped (n_samples, k))")
    for i in range(extra.shape[1]):
        col = extra[:, i]
        finite = np.isfinite(col)
        if not finite.any():
            raise ValueError(f"extra lead {i} holds no finite sample")
        values = col[finite]
        if float(values.max()) == float(values.min()):
            raise ValueError(f"extra lead {i} is flat (one value throughout)")
    return extra


def analyze_recording(signal, fs: float, detector=None, progress: Callable[[float, str], None] | None = None,
                      batch_size: int = 2048, *, extra_leads=None) -> RecordingAnalysis:
    """Find, segment and score every beat of an ECG: one lead, or a primary lead plus extra leads.

    Args:
        signal: the primary lead, 1-D array-like of samples (any unit; NaN marks missing samples). R peaks,
            beats, R-R, width and the model's error all come from it.
        fs: sampling rate in Hz (100-1000).
        detector: an `AnomalyDetector`; None loads the shipped bundle.
        progress: optional callback ``progress(percent, message)``.
        batch_size: beats per detector forward pass.
        extra_leads: optional other leads of the same recording, same rate and length as ``signal``: an
            array (n_samples, k), a 1-D array (one lead) or a list of 1-D arrays; NaN marks missing samples.
            Each adds its own morphology distance at the primary lead's R peaks wherever its own quality
            check accepts it (see `scoring.context_features`); kept as float32. None (default) gives
            exactly the single-lead analysis. With extra leads the beat table gains
            ``morph_distance_primary`` and ``morph_distance_extra`` (NaN where no extra lead is usable)
            and the summary ``extra_leads`` / ``extra_leads_used`` / ``extra_lead_beats_percent``.
    Returns:
        A `RecordingAnalysis`.
    Raises:
        ValueError: fs out of range, a signal that is not 1-D / shorter than 2 seconds, or a bad extra
            lead (`check_extra_leads`).
    """
    report = progress or (lambda pct, msg: None)
    fs = float(fs)
    if not (MIN_FS <= fs <= MAX_FS):
        raise ValueError(f"sampling rate {fs:g} Hz is outside 100-1000 Hz")
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f"expected one lead (1-D signal), got shape {signal.shape}")
    if len(signal) < 2 * fs:
        raise ValueError("the recording is shorter than 2 seconds")
    extra = check_extra_leads(extra_leads, len(signal))
    detector = _resolve_detector(detector)

    window = max(int(round(2.0 * fs)), 1)
    bounds = _chunk_bounds(len(signal), fs, window)
    parts = []
    for i, (a, b) in enumerate(bounds):
        parts.append(_process_chunk(signal, fs, a, b, extra))
        report(70.0 * (i + 1) / len(bounds), f"found beats in {b / fs / 60:.1f} of {len(signal) / fs / 60:.1f} min")
    peaks = np.concatenate([p["peaks"] for p in parts]).astype(np.int64)
    beat_matrix = np.concatenate([p["beats"] for p in parts]) if parts else np.zeros((0, 140), np.float32)
    morph = np.concatenate([p["morph"] for p in parts]) if parts else np.zeros((0, scoring.MORPH_POINTS))
    wave = np.concatenate([p["wave"] for p in parts]) if parts else np.zeros((0, scoring.WAVE_POINTS))
    r_amp = np.concatenate([p["r_amp"] for p in parts])
    n_extra = 0 if extra is None else extra.shape[1]
    extra_waves = [np.concatenate([p["extra_waves"][k] for p in parts]) for k in range(n_extra)]
    extra_ok = [_usable_beats(peaks, fs, window, [r for p in parts for r in p["extra_reasons"][k]])
                for k in range(n_extra)]
    # ventricular flutter: a rhythm, not bad signal and not beats
    flutter = flutter_windows(np.concatenate([p["leakage"] for p in parts]))
    reasons = [None if f else r for f, r in zip(flutter, (r for p in parts for r in p["reasons"]))]
    segments = QualityReport(fs=fs, n_samples=len(signal), window=window, reasons=reasons).segments
    episodes = [{"start_s": s["start_s"], "end_s": s["end_s"], "rhythm": "ventricular_flutter"}
                for s in QualityReport(fs=fs, n_samples=len(signal), window=window,
                                       reasons=["flutter" if f else None for f in flutter]).segments]
    # beats kept: none inside flutter, and of one complex found on both sides of a chunk boundary the first
    keep = np.ones(len(peaks), dtype=bool)
    if len(peaks) and flutter.any():
        keep &= ~flutter[np.minimum(peaks // window, len(flutter) - 1)]
    kept = np.flatnonzero(keep)
    keep[kept[1:][np.diff(peaks[kept]) < int(0.2 * fs)]] = False
    peaks, beat_matrix, morph, wave, r_amp = (a[keep] for a in (peaks, beat_matrix, morph, wave, r_amp))
    extra_waves, extra_ok = [w[keep] for w in extra_waves], [o[keep] for o in extra_ok]
    polarity = -1.0 if len(r_amp) and np.median(r_amp) > 0 else 1.0
    beat_matrix *= np.float32(polarity)

    report(72.0, "comparing beats with the recording's dominant beat")
    features = scoring.context_features(peaks, fs, morph, segments, wave=wave,
                                        extra_waves=extra_waves if extra is not None else None, extra_usable=extra_ok)
    del extra_waves
    report(75.0, f"scoring {len(peaks)} beats with the model")
    ae_error, recon, reference = _model_errors(detector, beat_matrix, features, batch_size)
    table = scoring.combine(features, ae_error, ae_reference=reference)
    report(95.0, "summarising")
    template = np.median(beat_matrix, axis=0).astype(np.float32) if len(peaks) else None
    summary = _summary(table, len(signal), fs, segments, detector)
    summary["flutter_s"] = round(float(sum(e["end_s"] - e["start_s"] for e in episodes)), 3)
    summary["flutter_episodes"] = len(episodes)
    runs = scoring.anomalous_runs(table)
    summary["anomalous_runs"] = len(runs)
    summary["longest_anomalous_run"] = max((r["n_beats"] for r in runs), default=0)
    summary["model_scored_beats"] = int(np.isfinite(ae_error).sum())
    summary["operating_point"] = features["operating_point"]
    if extra is not None:
        covered = np.isfinite(features["dist_extra"])  # beats at least one contributing extra lead covers
        summary["extra_leads"] = n_extra
        summary["extra_leads_used"] = int(features["extra_leads_used"])
        summary["extra_lead_beats_percent"] = round(100.0 * float(covered.mean()), 2) if len(peaks) else 0.0
    report(100.0, "done")
    return RecordingAnalysis(beats=table, summary=summary, segments=segments, beat_matrix=beat_matrix,
                             reconstruction=recon, template=template, episodes=episodes,
                             runs=runs)


def _model_errors(detector, beat_matrix: np.ndarray, features: dict, batch_size: int):
    """Reconstruction error (and reconstructions) from the detector.

    Up to MODEL_ALL_BEATS beats, every beat is scored. Longer recordings (Holters) score the beats
    whose flag can depend on the model (`scoring.may_be_flagged`) plus a fixed-seed uniform sample
    of MODEL_SAMPLE beats for the median/MAD of the error. Skipped beats could not be flagged
    whatever their error; only the normalisation of the others is estimated from the sample.
    """
    n = len(beat_matrix)
    error = np.full(n, np.nan)
    recon = np.full((n, B.BEAT_LENGTH), np.nan, dtype=np.float32)
    if n == 0:
        return error, None, None
    if n <= MODEL_ALL_BEATS:
        chosen, sample = np.arange(n), None
    else:
        sample = np.sort(np.random.default_rng(0).choice(n, MODEL_SAMPLE, replace=False))
        chosen = np.union1d(np.where(scoring.may_be_flagged(features))[0], sample)
    result = detector.score(beat_matrix[chosen], batch_size=batch_size)
    error[chosen] = result.scores
    recon[chosen] = result.reconstruction
    reference = None if sample is None else error[sample]
    return error, recon, reference


def _summary(table: pd.DataFrame, n: int, fs: float, segments: list, detector) -> dict:
    duration = n / fs
    unusable = float(sum(s["end_s"] - s["start_s"] for s in segments))
    rr = table["rr_s"].to_numpy()
    rr = rr[np.isfinite(rr) & (rr > 0.2) & (rr < 3.0)]
    n_beats = int(len(table))
    n_anom = int(table["is_anomaly"].sum()) if n_beats else 0
    return {
        "duration_s": round(duration, 3),
        "n_beats": n_beats,
        "mean_hr_bpm": round(60.0 / float(np.mean(rr)), 1) if len(rr) else None,
        "n_anomalous": n_anom,
        "burden_percent": round(100.0 * n_anom / n_beats, 2) if n_beats else 0.0,
        "unusable_s": round(unusable, 3),
        "usable_percent": round(100.0 * max(duration - unusable, 0.0) / duration, 2) if duration else 0.0,
        "sampling_rate": fs,
        "model_version": getattr(detector, "version", None),
        "operating_point": scoring.OPERATING_POINT,
    }
