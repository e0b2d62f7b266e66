"""Recording-aware beat scores: how far each beat strays from the patient's own dominant beat.

The autoencoder learned one CHF patient's normal beats (ECG5000), so its raw error measures "unlike
chf07" as much as "abnormal". Inside one recording, though, most beats are the patient's normal beat,
so each feature is normalised robustly (median / MAD) within the recording and anomalies are beats
far from that bulk. Features (no labels used at inference):

- ``morph``: RMS distance of the beat's waveform from R-100 ms to R+300 ms (QRS, ST segment and the start
  of the T wave, in the recording's units) from the dominant (median, non-premature) waveform of its
  5-minute block, divided by the recording's median distance (floored at 6% of the median R amplitude so
  a very regular recording does not magnify tiny differences). Ventricular beats change the QRS *and*
  the repolarisation (discordant ST-T), so the longer window separates them better than the QRS alone;
- ``prematurity`` / ``pause``: how much shorter the preceding R-R is, and how much longer the following
  R-R is, than the local median R-R (ectopic beats come early and are often followed by a pause);
- ``width``: a QRS width proxy, the spread (second moment) of the QRS waveform's (R-100 ms .. R+150 ms)
  absolute slope around its centre, relative to the recording's median (ventricular beats are wide);
- ``ae``: the detector's reconstruction error (log), robust-z within the recording.

    score = morph_ratio * (1 + 0.5 (prematurity + pause) + 0.3 widening + 0.1 clip(z_ae, 0, 10))

with prematurity = max(0.9 - rr_ratio, 0) / 0.1, pause = max(next_rr_ratio - 1.1, 0) / 0.1 and
widening = max(width_ratio - 1.1, 0) / 0.1. Every feature is relative to the recording itself, so the
fixed weights and operating point carry over to new patients without labels.

Multi-lead recordings: R peaks come from the primary lead; each extra lead gets its own morph distance at
the same R peaks (its own dominant waveform, normalised the same way, only over beats whose windows that
lead's quality check calls usable). The distance in the score is then

    morph_ratio = (1 - EXTRA_LEAD_WEIGHT) * primary + EXTRA_LEAD_WEIGHT * mean(usable extra leads)

(the primary distance alone for a beat no extra lead covers), the width and R-R terms stay the primary
lead's, and the operating point is OPERATING_POINT_MULTILEAD.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecg_backend.signals.beats import around_peaks

MORPH_POINTS = 32
MORPH_PRE_S, MORPH_POST_S = 0.10, 0.15
# the waveform compared with the dominant beat: QRS plus ST-T onset, ~7 ms per point
WAVE_POINTS = 56
WAVE_PRE_S, WAVE_POST_S = 0.10, 0.30
WAVE_SHIFT_POINTS = 4
TEMPLATE_BLOCK_S = 300.0
MIN_TEMPLATE_BEATS = 30
SHIFT_POINTS = 2
LOCAL_RR_BEATS = 9
# Shipped operating point: fixed here, never tuned per record (see docs/MODEL_CARD.md "Long recordings").
MORPH_FLOOR = 0.06
WEIGHT_RR = 0.5
WEIGHT_WIDTH = 0.3
WEIGHT_AE = 0.1
OPERATING_POINT = 8.25
# With extra leads (chosen on the even-indexed MIT-BIH records, see docs/research/recordings.md "Revision: second lead").
EXTRA_LEAD_WEIGHT = 0.25
OPERATING_POINT_MULTILEAD = 9.0
# A run: >= 3 consecutive flagged beats, every R-R inside it < 0.6 s (> 100 /min) - the pattern of
# (non-sustained) ventricular tachycardia when the flagged beats are ventricular.
RUN_MIN_BEATS = 3
RUN_MAX_RR_S = 0.6
# Per-beat high-frequency noise (`beat_hf_noise`): the raw signal above HF_CUTOFF_HZ (muscle noise, spikes,
# mains) in the stretches HF_BEFORE_S and HF_AFTER_S around the R peak, over the QRS peak-to-peak (R +- QRS_HALF_S).
HF_CUTOFF_HZ = 25.0
HF_BEFORE_S = (-0.35, -0.10)
HF_AFTER_S = (0.15, 0.45)
QRS_HALF_S = 0.08


def qrs_morphology(filtered: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """QRS-centred waveforms, (n, MORPH_POINTS), each minus its own median (amplitude kept)."""
    return sample_waveforms(filtered, peaks, fs, MORPH_PRE_S, MORPH_POST_S, MORPH_POINTS)


def beat_waveform(filtered: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """QRS plus ST-T onset (R-100 ms .. R+300 ms), (n, WAVE_POINTS), each minus its own median."""
    return sample_waveforms(filtered, peaks, fs, WAVE_PRE_S, WAVE_POST_S, WAVE_POINTS)


def sample_waveforms(
    filtered: np.ndarray, peaks: np.ndarray, fs: float, pre_s: float, post_s: float, points: int
) -> np.ndarray:
    """``points`` linearly interpolated samples from R - pre_s to R + post_s per peak (clipped at the
    signal's ends), each row minus its own median."""
    peaks = np.asarray(peaks, dtype=np.float64)
    if len(peaks) == 0:
        return np.zeros((0, points))
    offsets = np.linspace(-pre_s * fs, post_s * fs, points)
    pos = np.clip(peaks[:, None] + offsets[None, :], 0, len(filtered) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(filtered) - 1)
    frac = pos - lo
    wave = filtered[lo] * (1 - frac) + filtered[hi] * frac
    return wave - np.median(wave, axis=1, keepdims=True)


def _window_index(peaks: np.ndarray, n: int, fs: float, start_s: float, end_s: float) -> np.ndarray:
    """(beats, samples) indices of [R + start_s, R + end_s) per peak, clipped to [0, n)."""
    return around_peaks(peaks, n, int(round(start_s * fs)), int(round(end_s * fs)))


def beat_hf_noise(raw: np.ndarray, filtered: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """Per beat: the mean |raw signal above HF_CUTOFF_HZ| in HF_BEFORE_S and HF_AFTER_S around its R (the PR
    and ST-T stretches, smooth in a clean beat) over its QRS peak-to-peak in ``filtered``; not normalised
    (`relative_hf_noise` compares it with the recording's typical beat).

    Args:
        raw: the lead without gaps (`quality.fill_gaps`); filtered: its band-passed copy; peaks: R peaks
            (samples into both).
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    if len(peaks) == 0 or len(raw) < 64:
        return np.zeros(len(peaks))
    from scipy.signal import butter, sosfiltfilt

    high = sosfiltfilt(butter(2, min(HF_CUTOFF_HZ, 0.4 * fs), btype="high", fs=fs, output="sos"), raw)
    n = len(raw)
    around = np.concatenate(
        [_window_index(peaks, n, fs, *HF_BEFORE_S), _window_index(peaks, n, fs, *HF_AFTER_S)], axis=1
    )
    qrs = filtered[_window_index(peaks, n, fs, -QRS_HALF_S, QRS_HALF_S)]
    amplitude = qrs.max(axis=1) - qrs.min(axis=1)
    return np.abs(high[around]).mean(axis=1) / np.maximum(amplitude, 1e-12)


def relative_hf_noise(values: np.ndarray) -> np.ndarray:
    """`beat_hf_noise` over its median in the recording (1 = as noisy as the typical beat)."""
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values) & (values > 0)
    return values / float(np.median(values[ok])) if ok.any() else np.ones(len(values))


def qrs_width(morph: np.ndarray) -> np.ndarray:
    """Spread (in morphology points) of each waveform's absolute slope around its slope-weighted centre."""
    if len(morph) == 0:
        return np.zeros(0)
    slope = np.abs(np.diff(morph, axis=1)) + 1e-12
    t = np.arange(slope.shape[1], dtype=np.float64)
    centre = (slope * t).sum(axis=1) / slope.sum(axis=1)
    return np.sqrt((slope * (t[None, :] - centre[:, None]) ** 2).sum(axis=1) / slope.sum(axis=1))


def robust_z(x: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """(x - median) / (1.4826 * MAD) with median and MAD of ``reference`` (default ``x``), ignoring NaN;
    a zero MAD falls back to the std (or 1)."""
    x = np.asarray(x, dtype=np.float64)
    ref = x if reference is None else np.asarray(reference, dtype=np.float64)
    ref = ref[np.isfinite(ref)]
    if len(ref) == 0:
        return np.zeros_like(x)
    med = np.median(ref)
    mad = 1.4826 * np.median(np.abs(ref - med))
    if mad <= 1e-12:
        mad = float(np.std(ref)) or 1.0
    return np.where(np.isfinite(x), (x - med) / mad, 0.0)


def morphology_distance(
    morph: np.ndarray, peaks: np.ndarray, fs: float, rr_ratio: np.ndarray, shift: int = SHIFT_POINTS
) -> np.ndarray:
    """Distance of each QRS waveform from its block's dominant waveform, relative to the typical distance.

    The dominant waveform of a 5-minute block is the median of its beats that are not premature
    (R-R ratio >= 0.9), so a run of bigeminy cannot pull the template halfway to the ectopic shape.
    The distance tolerates +-``shift`` points of misalignment of the R peak (~30 ms for `beat_waveform`).
    """
    n = len(morph)
    if n == 0:
        return np.zeros(0)
    scale = np.median(np.max(np.abs(morph), axis=1)) or 1.0
    regular = ~(rr_ratio < 0.9)  # NaN counts as regular
    templates = np.empty_like(morph)
    block = np.floor(np.asarray(peaks) / (TEMPLATE_BLOCK_S * fs)).astype(np.int64)
    fallback = np.median(morph[regular] if regular.sum() >= MIN_TEMPLATE_BEATS else morph, axis=0)
    for b in np.unique(block):
        idx = np.where(block == b)[0]
        chosen = idx[regular[idx]]
        templates[idx] = np.median(morph[chosen], axis=0) if len(chosen) >= MIN_TEMPLATE_BEATS else fallback
    raw = _shifted_rms(morph, templates, shift)
    return raw / max(float(np.median(raw)), MORPH_FLOOR * scale)


def _shifted_rms(morph: np.ndarray, templates: np.ndarray, k: int, block: int = 8192) -> np.ndarray:
    """Per row: the smallest RMS difference between the row's core (all but ``k`` points at each end), moved
    by -k..k points, and its template's core; rows in blocks, so a Holter needs no full-size temporaries."""
    n, width = morph.shape
    core = slice(k, width - k)
    raw = np.empty(n)
    for start in range(0, n, block):
        rows = slice(start, start + block)
        target = templates[rows, core]
        raw[rows] = np.min(
            [np.sqrt(np.mean((morph[rows, k - s : width - k - s] - target) ** 2, axis=1)) for s in range(-k, k + 1)],
            axis=0,
        )
    return raw


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
            rr[a : min(b + 1, len(rr))] = np.nan
    rr[(rr < 0.15) | (rr > 3.0)] = np.nan
    if len(rr) == 0:
        return rr, rr.copy()
    k = LOCAL_RR_BEATS
    padded = np.pad(rr, k, mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        local = np.nanmedian(windows, axis=1)
    ratio = rr / local
    return rr, ratio


def extra_lead_distance(
    waves: list, usable: list, peaks: np.ndarray, fs: float, rr_ratio: np.ndarray
) -> tuple[np.ndarray, int]:
    """Mean morph distance over the extra leads at the primary lead's R peaks.

    Args:
        waves: per extra lead, its `beat_waveform` rows at ``peaks``.
        usable: per extra lead, a boolean per beat: its waveform lies in windows the lead's quality check
            accepts. A lead with fewer than MIN_TEMPLATE_BEATS usable beats does not contribute.
    Returns:
        (distance per beat, NaN where no extra lead is usable; number of leads that contributed).
    """
    n = len(peaks)
    total, count, used = np.zeros(n), np.zeros(n), 0
    for wave, ok in zip(waves, usable):
        ok = np.asarray(ok, dtype=bool)
        if ok.sum() < MIN_TEMPLATE_BEATS:
            continue
        total[ok] += morphology_distance(wave[ok], peaks[ok], fs, rr_ratio[ok], shift=WAVE_SHIFT_POINTS)
        count[ok] += 1
        used += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan), used


@dataclass
class BeatFeatures:
    """The label-free recording-context features of every beat (`context_features`).

    Attributes:
        peaks: R-peak sample indices; fs: sampling rate.
        rr, ratio: preceding R-R (s) and its ratio to the local median (`rr_features`).
        dist: the morph distance in the score (blended over leads when extra leads contribute).
        width_ratio: QRS width relative to the recording's median.
        factor: 1 + R-R and width terms; context: dist * factor.
        operating_point: the threshold on the score (OPERATING_POINT or OPERATING_POINT_MULTILEAD).
        dist_primary, dist_extra: with extra leads passed, the primary lead's distance and the extra leads'
            mean distance (NaN where none is usable); None without extra leads.
        extra_leads_used: extra leads with enough usable beats to contribute.
    """

    peaks: np.ndarray
    fs: float
    rr: np.ndarray
    ratio: np.ndarray
    dist: np.ndarray
    width_ratio: np.ndarray
    factor: np.ndarray
    context: np.ndarray
    operating_point: float
    dist_primary: np.ndarray | None = None
    dist_extra: np.ndarray | None = None
    extra_leads_used: int = 0


def context_features(
    peaks: np.ndarray,
    fs: float,
    morph: np.ndarray,
    segments: list,
    wave: np.ndarray | None = None,
    extra_waves: list | None = None,
    extra_usable: list | None = None,
) -> BeatFeatures:
    """The label-free recording-context features and ``context`` = morph_ratio * (1 + R-R and width terms).

    Args:
        morph: `qrs_morphology` rows (QRS width proxy; also the distance when ``wave`` is None).
        wave: `beat_waveform` rows for the distance from the dominant beat.
        extra_waves, extra_usable: other leads' `beat_waveform` rows at the same peaks and their per-beat
            usability (`extra_lead_distance`); with at least one contributing lead the distance blends
            them in (EXTRA_LEAD_WEIGHT) and ``operating_point`` is OPERATING_POINT_MULTILEAD.
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    rr, ratio = rr_features(peaks, fs, segments)
    if wave is None:
        dist = morphology_distance(morph, peaks, fs, ratio)
    else:
        dist = morphology_distance(wave, peaks, fs, ratio, shift=WAVE_SHIFT_POINTS)
    next_ratio = np.append(ratio[1:], np.nan)
    prem = np.where(np.isfinite(ratio), np.maximum(0.9 - ratio, 0.0) / 0.1, 0.0)
    pause = np.where(np.isfinite(next_ratio), np.maximum(next_ratio - 1.1, 0.0) / 0.1, 0.0)
    width = qrs_width(morph)
    width_ratio = width / (np.median(width) if len(width) and np.median(width) > 0 else 1.0)
    factor = 1.0 + WEIGHT_RR * (prem + pause) + WEIGHT_WIDTH * np.maximum(width_ratio - 1.1, 0.0) / 0.1
    operating_point, primary, extra, used = OPERATING_POINT, None, None, 0
    if extra_waves is not None:
        extra, used = extra_lead_distance(extra_waves, extra_usable, peaks, fs, ratio)
        primary = dist
        if used:
            dist = (1.0 - EXTRA_LEAD_WEIGHT) * dist + EXTRA_LEAD_WEIGHT * np.where(np.isfinite(extra), extra, dist)
            operating_point = OPERATING_POINT_MULTILEAD
    return BeatFeatures(
        peaks=peaks,
        fs=fs,
        rr=rr,
        ratio=ratio,
        dist=dist,
        width_ratio=width_ratio,
        factor=factor,
        context=dist * factor,
        operating_point=operating_point,
        dist_primary=primary,
        dist_extra=extra,
        extra_leads_used=used,
    )


def may_be_flagged(features: BeatFeatures) -> np.ndarray:
    """Beats whose flag could depend on the model's error: since factor >= 1 and z_ae <= 10,
    score <= context * (1 + 10 WEIGHT_AE), so beats below the operating point / (1 + 10 WEIGHT_AE) never flag."""
    return features.context > features.operating_point / (1.0 + 10.0 * WEIGHT_AE)


def combine(features: BeatFeatures, ae_error: np.ndarray, ae_reference: np.ndarray | None = None) -> pd.DataFrame:
    """Final score, flag and confidence per beat (see the module docstring).

    Args:
        features: from `context_features`.
        ae_error: the detector's error per beat (NaN where it was not computed: counts as typical).
        ae_reference: errors of a uniform sample of the recording's beats for the median/MAD of the
            log error (default: all finite ``ae_error``).
    """
    ae_error = np.asarray(ae_error, dtype=np.float64)
    with np.errstate(all="ignore"):
        log_err = np.log(np.maximum(ae_error, 1e-12))
        ref = log_err if ae_reference is None else np.log(np.maximum(np.asarray(ae_reference, np.float64), 1e-12))
    z_ae = robust_z(log_err, reference=ref)
    z_ae = np.where(np.isfinite(ae_error), np.clip(z_ae, 0.0, 10.0), 0.0)
    score = features.dist * (features.factor + WEIGHT_AE * z_ae)
    threshold = features.operating_point
    with np.errstate(over="ignore"):
        confidence = 1.0 / (1.0 + np.exp(-(score - threshold)))
    peaks = features.peaks
    table = pd.DataFrame(
        {
            "r_peak": peaks,
            "time_s": peaks / features.fs,
            "rr_s": features.rr,
            "score": score,
            "is_anomaly": score > threshold,
            "confidence": confidence,
            "morph_distance": features.dist,
            "rr_ratio": features.ratio,
            "qrs_width_ratio": features.width_ratio,
            "ae_error": ae_error,
        }
    )
    if features.dist_extra is not None:  # multi-lead: each part of the blended distance
        table["morph_distance_primary"] = features.dist_primary
        table["morph_distance_extra"] = features.dist_extra
    return table


def anomalous_runs(table: pd.DataFrame) -> list[dict]:
    """Runs of RUN_MIN_BEATS or more consecutive flagged beats whose R-R intervals are all < RUN_MAX_RR_S.

    Args:
        table: the beat table (`combine`): ``is_anomaly``, ``rr_s`` (preceding R-R), ``time_s``.
    Returns:
        ``[{"start_s", "end_s", "n_beats", "rate_bpm"}]`` in time order (start/end: first and last R peak).
    """
    flag = table["is_anomaly"].to_numpy(dtype=bool)
    rr = table["rr_s"].to_numpy(dtype=np.float64)
    t = table["time_s"].to_numpy(dtype=np.float64)
    # beat i continues the run of beat i-1 when both are flagged and the interval between them is fast
    with np.errstate(invalid="ignore"):
        joins = flag[1:] & flag[:-1] & (rr[1:] < RUN_MAX_RR_S)
    runs = []
    edges = np.diff(np.concatenate([[0], joins.astype(np.int8), [0]]))
    for a, b in zip(np.where(edges == 1)[0], np.where(edges == -1)[0]):  # joins a..b-1: beats a..b
        n_beats = int(b - a + 1)
        if n_beats >= RUN_MIN_BEATS:
            runs.append(
                {
                    "start_s": round(float(t[a]), 3),
                    "end_s": round(float(t[b]), 3),
                    "n_beats": n_beats,
                    "rate_bpm": round(60.0 / float(np.mean(rr[a + 1 : b + 1])), 1),
                }
            )
    return runs
