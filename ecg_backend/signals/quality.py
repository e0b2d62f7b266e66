"""Signal quality: find the stretches of a recording no beat should come from.

The recording is cut into 2-second windows; each is checked for missing samples (NaN/inf), a flat
line, clipping at the recorder's rails and heavy noise. Consecutive bad windows with the same reason
merge into one unusable segment ``(start_s, end_s, reason)``.

Ventricular flutter is not bad signal but a rhythm without separable beats: `flutter_leakage` and
`flutter_windows` find it with Kuo & Dillman's VF-filter leakage (how well the signal is cancelled by
itself shifted by half its mean period: near 0 for a sinusoid, ~0.7-0.9 for beats with an isoelectric
baseline between them).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

WINDOW_S = 2.0
# |slope| 99th/50th percentile below this means no QRS stands out of the noise. Gaussian noise gives
# ~3.8; clean MIT-BIH windows almost always exceed 6.
NOISE_SPIKINESS = 4.5
# A window whose filtered peak-to-peak exceeds this multiple of the recording's median is an artefact.
ARTEFACT_RATIO = 6.0
REASONS = ("missing", "flat", "clipped", "noise")
# Ventricular flutter: an episode holds a 2-s window whose 4-s VF-filter leakage is below FLUTTER_CORE,
# extends over its neighbours below FLUTTER_EXTEND and lasts at least FLUTTER_MIN_WINDOWS windows (6 s).
FLUTTER_CORE = 0.5
FLUTTER_EXTEND = 0.6
FLUTTER_MIN_WINDOWS = 3
# Flutter/fibrillation oscillate at ~2.5-8 Hz (150-480 /min); a slower or faster sinusoid (a drifting
# disconnected lead, residual mains) is not judged, whatever its leakage.
FLUTTER_MIN_HZ, FLUTTER_MAX_HZ = 2.0, 10.0


@dataclass
class QualityReport:
    """Per-window verdicts and the merged unusable segments."""

    fs: float
    n_samples: int
    window: int
    reasons: list = field(default_factory=list)  # per window: None or a reason string
    # per window: |slope| 99th/50th percentile (low: no QRS stands out) and filtered peak-to-peak over the
    # median window's (high: an artefact's swing); empty when not measured
    spikiness: np.ndarray = field(default_factory=lambda: np.zeros(0))
    swing: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def segments(self) -> list[dict]:
        """Unusable segments as ``{"start_s", "end_s", "reason"}`` dicts, in time order."""
        out = []
        for i, reason in enumerate(self.reasons):
            if reason is None:
                continue
            start, end = i * self.window / self.fs, min((i + 1) * self.window, self.n_samples) / self.fs
            if out and out[-1]["reason"] == reason and abs(out[-1]["end_s"] - start) < 1e-9:
                out[-1]["end_s"] = end
            else:
                out.append({"start_s": start, "end_s": end, "reason": reason})
        return [{**s, "start_s": round(s["start_s"], 3), "end_s": round(s["end_s"], 3)} for s in out]

    def usable_mask(self) -> np.ndarray:
        """Boolean per sample: True where beats may be found."""
        per_window = np.array([r is None for r in self.reasons], dtype=bool)
        return np.repeat(per_window, self.window)[: self.n_samples]


def _window_view(x: np.ndarray, window: int) -> np.ndarray:
    n_full = len(x) // window
    head = x[: n_full * window].reshape(n_full, window)
    if len(x) % window:
        tail = np.full((1, window), np.nan)
        tail[0, : len(x) % window] = x[n_full * window :]
        return np.vstack([head, tail]) if n_full else tail
    return head


def assess_quality(signal: np.ndarray, fs: float, filtered: np.ndarray | None = None) -> QualityReport:
    """Judge each 2-s window of a single-lead ECG.

    Args:
        signal: raw 1-D signal (may hold NaN/inf).
        fs: sampling rate in Hz.
        filtered: band-passed signal (NaN-free); computed here when omitted.
    Returns:
        A `QualityReport`.
    """
    from ecg_backend.signals.beats import bandpass

    signal = np.asarray(signal, dtype=np.float64)
    window = max(int(round(WINDOW_S * fs)), 1)
    n = len(signal)
    finite = np.isfinite(signal)
    raw = _window_view(np.where(finite, signal, np.nan), window)
    valid_count = np.sum(np.isfinite(raw), axis=1)
    lengths = np.minimum(window, n - np.arange(len(raw)) * window)
    missing = valid_count < lengths

    if filtered is None:
        filled = fill_gaps(signal)
        filtered = bandpass(filled, fs)
    filt = _window_view(filtered, window)
    if len(filtered) % window:  # the partial last window repeats its last value instead of NaN
        tail = len(filtered) % window
        filt[-1, tail:] = filtered[-1]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows are handled as 'missing'
        ptp_raw = np.nanmax(raw, axis=1) - np.nanmin(raw, axis=1)
        ptp_filt = filt.max(axis=1) - filt.min(axis=1)
        slope = np.abs(np.diff(filt, axis=1))
        k99, k50 = int(0.99 * (slope.shape[1] - 1)), (slope.shape[1] - 1) // 2
        part = np.partition(slope, (k50, k99), axis=1)
        spikiness = part[:, k99] / (part[:, k50] + 1e-12)
        typical = np.nanmedian(ptp_filt[~missing]) if np.any(~missing) else np.nan
        scale = np.nanmedian(ptp_raw[~missing]) if np.any(~missing) else np.nan
    flat = ~(ptp_filt > 1e-3 * (typical if np.isfinite(typical) and typical > 0 else 1.0)) | ~(ptp_raw > 0)
    clipped = _clipped_windows(signal, finite, window, len(raw), fs)

    reasons = []
    for i in range(len(raw)):
        if missing[i]:
            reasons.append("missing")
        elif flat[i] or not np.isfinite(scale) or scale <= 0:
            reasons.append("flat")
        elif clipped[i]:
            reasons.append("clipped")
        elif spikiness[i] < NOISE_SPIKINESS or ptp_filt[i] > ARTEFACT_RATIO * typical:
            reasons.append("noise")
        else:
            reasons.append(None)
    with np.errstate(all="ignore"):
        swing = ptp_filt / typical if np.isfinite(typical) and typical > 0 else np.ones(len(raw))
    return QualityReport(
        fs=float(fs),
        n_samples=n,
        window=window,
        reasons=reasons,
        spikiness=np.nan_to_num(spikiness, nan=0.0),
        swing=np.nan_to_num(swing, nan=1.0),
    )


def _clipped_windows(signal: np.ndarray, finite: np.ndarray, window: int, n_windows: int, fs: float) -> np.ndarray:
    """Windows holding a run (>= 30 ms) of samples stuck at the recording's minimum or maximum value."""
    out = np.zeros(n_windows, dtype=bool)
    if not finite.any():
        return out
    values = signal[finite]
    lo, hi = values.min(), values.max()
    span = hi - lo
    if span <= 0:
        return out
    min_run = max(int(0.03 * fs), 3)
    at_rail = finite & ((signal >= hi - 1e-6 * span) | (signal <= lo + 1e-6 * span))
    # run lengths of consecutive rail samples
    edges = np.diff(np.concatenate([[0], at_rail.astype(np.int8), [0]]))
    starts, ends = np.where(edges == 1)[0], np.where(edges == -1)[0]
    for s, e in zip(starts, ends):
        if e - s >= min_run:
            out[s // window : (e - 1) // window + 1] = True
    return out


def fill_gaps(signal: np.ndarray) -> np.ndarray:
    """Replace NaN/inf by linear interpolation (edges by the nearest value) so filters can run.

    The filled stretches are reported unusable by `assess_quality`; filling only keeps the filter
    from smearing NaN over the whole record.
    """
    signal = np.asarray(signal, dtype=np.float64)
    finite = np.isfinite(signal)
    if finite.all():
        return signal
    if not finite.any():
        return np.zeros_like(signal)
    idx = np.arange(len(signal))
    return np.interp(idx, idx[finite], signal[finite])


def vf_filter_leakage(x: np.ndarray, fs: float | None = None) -> float:
    """Kuo & Dillman's VF-filter leakage of a band-passed stretch (1.0 for a stretch too flat to judge).

    The mean half-period is N = round(pi * sum|x| / sum|dx|) samples (exact for a sinusoid); the leakage
    is sum|x[i] + x[i-N]| / sum(|x[i]| + |x[i-N]|): a sinusoid shifted by half its period cancels itself.
    With ``fs``, a stretch whose mean frequency fs / 2N is outside FLUTTER_MIN_HZ..FLUTTER_MAX_HZ gets 1.0.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or len(x) < 4:
        return 1.0
    return float(_leakage_rows(x[None, :], fs)[0])


def flutter_leakage(filtered: np.ndarray, fs: float, start: int, stop: int) -> np.ndarray:
    """VF-filter leakage (`vf_filter_leakage`) for each 2-s window of ``filtered[start:stop]``, over the
    4 s centred on it (context outside [start, stop) is used where ``filtered`` has it)."""
    window = max(int(round(WINDOW_S * fs)), 1)
    n_windows = -(-(stop - start) // window)
    out = np.ones(n_windows)
    span = window + 2 * (window // 2)
    starts = start + np.arange(n_windows) * window - window // 2
    full = (starts >= 0) & (starts + span <= len(filtered))
    if full.any() and span >= 4:  # windows with their whole context: all at once
        rows = np.lib.stride_tricks.sliding_window_view(filtered, span)[starts[full]]
        out[full] = _leakage_rows(rows, fs)
    for i in np.where(~full)[0]:  # the signal's first and last windows: clipped context
        a = max(int(starts[i]), 0)
        b = min(int(starts[i]) + span, len(filtered))
        out[i] = vf_filter_leakage(filtered[a:b], fs)
    return out


def _leakage_rows(x: np.ndarray, fs: float | None) -> np.ndarray:
    """`vf_filter_leakage` of every row of ``x`` (rows of equal length), vectorised."""
    adx = np.abs(np.diff(x, axis=1)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.floor(np.pi * np.abs(x).sum(axis=1) / adx + 0.5)
        freq = None if fs is None else fs / (2.0 * half)
    ok = (adx > 1e-12) & np.isfinite(half) & (half >= 1) & (half < x.shape[1])
    if fs is not None:
        ok &= (freq >= FLUTTER_MIN_HZ) & (freq <= FLUTTER_MAX_HZ)
    shift = np.where(ok, half, 1).astype(np.int64)
    src = np.arange(x.shape[1])[None, :] - shift[:, None]
    valid = src >= 0
    shifted = np.take_along_axis(x, np.maximum(src, 0), axis=1)
    num = (np.abs(x + shifted) * valid).sum(axis=1)
    den = ((np.abs(x) + np.abs(shifted)) * valid).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok & (den > 1e-12), num / den, 1.0)


def flutter_windows(leakage: np.ndarray) -> np.ndarray:
    """Windows inside ventricular-flutter episodes (see FLUTTER_CORE), from per-window leakage."""
    leakage = np.asarray(leakage, dtype=np.float64)
    out = np.zeros(len(leakage), dtype=bool)
    i = 0
    while i < len(leakage):
        if leakage[i] < FLUTTER_CORE:
            a = b = i
            while b + 1 < len(leakage) and leakage[b + 1] < FLUTTER_EXTEND:
                b += 1
            while a - 1 >= 0 and leakage[a - 1] < FLUTTER_EXTEND:
                a -= 1
            if b - a + 1 >= FLUTTER_MIN_WINDOWS:
                out[a : b + 1] = True
            i = b + 1
        else:
            i += 1
    return out
