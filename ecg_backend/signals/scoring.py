"""Recording-aware beat scores: how far each beat strays from the patient's own dominant beat.

The autoencoder learned one CHF patient's normal beats (ECG5000), so its raw error measures "unlike
chf07" as much as "abnormal". Inside one recording, though, most beats are the patient's normal beat,
so each feature is normalised robustly (median / MAD) within the recording and anomalies are beats
far from that bulk. Features (no labels used at inference):

- ``morph``: RMS distance of the QRS-centred waveform (R-100 ms .. R+150 ms, amplitude-scaled by the
  recording's median R amplitude) from the median waveform of its 30-minute block;
- ``prematurity``: how much shorter the preceding R-R is than the local median R-R;
- ``ae``: the detector's reconstruction error (log), robust-z within the recording.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MORPH_POINTS = 32
MORPH_PRE_S, MORPH_POST_S = 0.10, 0.15
TEMPLATE_BLOCK_S = 1800.0
LOCAL_RR_BEATS = 9
# Shipped operating point: fixed here, never tuned per record (see docs/MODEL_CARD.md "Long recordings").
WEIGHT_AE = 0.25
WEIGHT_PREMATURITY = 4.0
OPERATING_POINT = 6.0


def qrs_morphology(filtered: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """QRS-centred waveforms, (n, MORPH_POINTS), each minus its own median (amplitude kept)."""
    peaks = np.asarray(peaks, dtype=np.float64)
    if len(peaks) == 0:
        return np.zeros((0, MORPH_POINTS))
    offsets = np.linspace(-MORPH_PRE_S * fs, MORPH_POST_S * fs, MORPH_POINTS)
    pos = np.clip(peaks[:, None] + offsets[None, :], 0, len(filtered) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(filtered) - 1)
    frac = pos - lo
    wave = filtered[lo] * (1 - frac) + filtered[hi] * frac
    return wave - np.median(wave, axis=1, keepdims=True)


def robust_z(x: np.ndarray) -> np.ndarray:
    """(x - median) / (1.4826 * MAD), ignoring NaN; a zero MAD falls back to the std (or 1)."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return np.zeros_like(x)
    med = np.median(x[finite])
    mad = 1.4826 * np.median(np.abs(x[finite] - med))
    if mad <= 1e-12:
        mad = float(np.std(x[finite])) or 1.0
    return np.where(finite, (x - med) / mad, 0.0)


def morphology_distance(morph: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """Distance of each QRS waveform from the median waveform of its block, in units of the R amplitude."""
    n = len(morph)
    if n == 0:
        return np.zeros(0)
    scale = np.median(np.max(np.abs(morph), axis=1)) or 1.0
    dist = np.empty(n)
    block = np.floor(np.asarray(peaks) / (TEMPLATE_BLOCK_S * fs)).astype(np.int64)
    for b in np.unique(block):
        idx = np.where(block == b)[0]
        if len(idx) < 20 and n >= 20:  # a short tail block borrows the whole recording's template
            template = np.median(morph, axis=0)
        else:
            template = np.median(morph[idx], axis=0)
        dist[idx] = np.sqrt(np.mean((morph[idx] - template) ** 2, axis=1)) / scale
    return dist


def rr_features(peaks: np.ndarray, fs: float, segments: list) -> tuple[np.ndarray, np.ndarray]:
    """Preceding R-R in seconds (NaN across unusable stretches or > 3 s) and its ratio to the local median."""
    peaks = np.asarray(peaks, dtype=np.float64)
    rr = np.full(len(peaks), np.nan)
    if len(peaks) > 1:
        rr[1:] = np.diff(peaks) / fs
    for s in segments:  # an interval that spans an unusable stretch is not an R-R interval
        a = np.searchsorted(peaks, s["start_s"] * fs)
        b = np.searchsorted(peaks, s["end_s"] * fs)
        if a < len(rr):
            rr[a:min(b + 1, len(rr))] = np.nan
    rr[(rr < 0.15) | (rr > 3.0)] = np.nan
    k = LOCAL_RR_BEATS
    padded = np.pad(rr, k, mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            local = np.nanmedian(windows, axis=1)
    ratio = rr / local
    return rr, ratio


def score_beats(peaks: np.ndarray, fs: float, morph: np.ndarray, ae_error: np.ndarray,
                segments: list) -> pd.DataFrame:
    """Combine the features into one score per beat, a flag and a confidence.

    score = robust_z(morph) + WEIGHT_AE * max(robust_z(log ae), 0)
            + WEIGHT_PREMATURITY * max(0.9 - rr_ratio, 0) / 0.1
    is_anomaly = score > OPERATING_POINT; confidence = logistic((score - OPERATING_POINT) / 2).
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    rr, ratio = rr_features(peaks, fs, segments)
    dist = morphology_distance(morph, peaks, fs)
    z_morph = robust_z(dist)
    with np.errstate(all="ignore"):
        z_ae = robust_z(np.log(np.maximum(np.asarray(ae_error, dtype=np.float64), 1e-12)))
    z_ae = np.where(np.isfinite(ae_error), z_ae, 0.0)
    prem = np.where(np.isfinite(ratio), np.maximum(0.9 - ratio, 0.0) / 0.1, 0.0)
    score = z_morph + WEIGHT_AE * np.maximum(z_ae, 0.0) + WEIGHT_PREMATURITY * prem
    confidence = 1.0 / (1.0 + np.exp(-(score - OPERATING_POINT) / 2.0))
    return pd.DataFrame({
        "r_peak": peaks,
        "time_s": peaks / fs,
        "rr_s": rr,
        "score": score,
        "is_anomaly": score > OPERATING_POINT,
        "confidence": confidence,
        "morph_distance": dist,
        "rr_ratio": ratio,
        "ae_error": np.asarray(ae_error, dtype=np.float64),
    })
