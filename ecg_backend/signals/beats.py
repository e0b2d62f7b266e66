"""From a filtered single-lead ECG to R peaks and 140-sample beats shaped like ECG5000's.

ECG5000's beats (record chf07 of the BIDMC CHF database) each span one R-R interval: the dominant QRS
deflection sits ~2-3% into the window (sample 3 of 140) and the window ends just before the next R peak.
In chf07 that deflection is negative. Each beat is z-normalised on its own. `segment_beats` cuts MIT-BIH
style input the same way (measured on MIT-BIH normal beats: correlation with the ECG5000 mean normal beat
peaks for a window starting 2-3% of the R-R interval before R, with the polarity flipped so QRS points down).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from ecg_backend.ml.data import BEAT_LENGTH

# Fraction of the R-R interval that precedes the R peak in an ECG5000 beat (sample ~3 of 140).
PRE_R_FRACTION = 0.025
# R-R gaps longer than this multiple of the local median R-R are searched again for a missed beat.
SEARCHBACK_GAP = 1.3
SUBGAP = 1.125
# A detection first moves to the QRS-energy centre within this many seconds (`refine_peaks`).
CENTRE_S = 0.1
# Second-lead search-back (`second_lead_beats`): a gap of the first lead longer than SECOND_GAP local R-R
# intervals takes a beat the second lead found in it, at least SECOND_SPLIT local intervals from both
# neighbours and with SECOND_ENERGY of the second lead's typical QRS energy, if that lead finds both
# neighbours too and, in the same stretch, at most SECOND_FALSE_RATE beats the first lead's regular
# intervals rule out (per first-lead beat): a lead that sees beats where there are none is not trusted.
SECOND_GAP = 1.5
SECOND_SPLIT = 0.5
SECOND_ENERGY = 0.5
SECOND_FALSE_RATE = 0.02
# Second-lead check of weak detections (`unconfirmed_beats`): a first-lead detection with under
# CONFIRM_PRIMARY of the local typical QRS energy (median over CONFIRM_BEATS detections around it), which
# the other lead neither detects within 100 ms nor shows with CONFIRM_OTHER of its local typical QRS energy,
# is dropped (a T wave, a P wave or an artefact of the first lead), if the other lead detects at least
# CONFIRM_TRUST of the first lead's beats (a lead that misses beats confirms nothing).
CONFIRM_PRIMARY = 0.8
CONFIRM_OTHER = 0.4
CONFIRM_TRUST = 0.9
CONFIRM_BEATS = 31


def bandpass(signal: np.ndarray, fs: float, low: float = 0.5, high: float = 40.0) -> np.ndarray:
    """Zero-phase band-pass: removes baseline wander (< low Hz), powerline and muscle noise (> high Hz).

    Args:
        signal: 1-D ECG without NaN.
        fs: sampling rate in Hz.
    Returns:
        The filtered signal, same length.
    """
    high = min(high, 0.45 * fs)
    sos = butter(2, [low, high], btype="band", fs=fs, output="sos")
    if len(signal) < 64:
        return signal - np.mean(signal) if len(signal) else signal.astype(np.float64)
    return sosfiltfilt(sos, signal).astype(np.float64)


def qrs_envelope(filtered: np.ndarray, fs: float) -> np.ndarray:
    """Slope energy integrated over ~100 ms: high on QRS complexes, narrow or wide, low on P/T waves."""
    slope = np.abs(np.diff(filtered, prepend=filtered[:1]))
    width = max(int(round(0.1 * fs)), 1)
    kernel = np.ones(width) / width
    return np.convolve(slope, kernel, mode="same")


def _searchback(peaks: np.ndarray, envelope: np.ndarray, fs: float) -> np.ndarray:
    """Recover beats the primary detector skipped (often wide ventricular beats) inside long R-R gaps.

    A gap longer than SEARCHBACK_GAP times its reference interval is searched for the envelope maximum
    at least ~250 ms from both neighbours; it becomes a beat when its QRS energy reaches 40% of the
    recording's typical beat energy. The reference is the local median R-R or, if shorter, the shorter
    of the two neighbouring intervals: a beat missed inside a run of fast (ventricular) beats leaves a
    gap about twice its neighbours although the run is too short to move the median.
    """
    if len(peaks) < 4:
        return peaks
    level = np.median(local_energy(peaks, envelope, fs))
    guard = int(0.25 * fs)
    rr = np.diff(peaks)
    # local median R-R over ~9 intervals, robust to the gaps themselves
    pad = np.pad(rr, 4, mode="edge")
    local = np.median(np.lib.stride_tricks.sliding_window_view(pad, 9), axis=1)
    neighbours = np.minimum(np.concatenate([rr[:1], rr[:-1]]), np.concatenate([rr[1:], rr[-1:]]))
    local = np.minimum(local, neighbours)
    added = []
    for i in np.where(rr > SEARCHBACK_GAP * local)[0]:
        queue = [(int(peaks[i]), int(peaks[i + 1]))]
        while queue:
            a, b = queue.pop()
            # a (sub-)gap is searched only while it is still longer than ~1.1 local R-R intervals
            if b - a < max(2 * guard, SUBGAP * local[i]):
                continue
            seg = envelope[a + guard : b - guard]
            if len(seg) == 0:
                continue
            j = a + guard + int(np.argmax(seg))
            if envelope[j] >= 0.4 * level:
                added.append(j)
                queue += [(a, j), (j, b)]
    if not added:
        return peaks
    return np.unique(np.concatenate([peaks, np.asarray(added, dtype=np.int64)]))


def around_peaks(peaks: np.ndarray, n: int, start: int, stop: int) -> np.ndarray:
    """(beats, samples) indices of samples [R + start, R + stop) per peak, clipped to [0, n)."""
    offsets = np.arange(start, stop)
    return np.clip(np.asarray(peaks, dtype=np.int64)[:, None] + offsets[None, :], 0, n - 1)


def _argmax_near(peaks: np.ndarray, values: np.ndarray, radius: int) -> np.ndarray:
    """Per peak, the index of the largest of ``values`` within ``radius`` samples."""
    idx = around_peaks(peaks, len(values), -radius, radius + 1)
    return idx[np.arange(len(peaks)), np.argmax(values[idx], axis=1)]


def refine_peaks(
    peaks: np.ndarray,
    filtered: np.ndarray,
    fs: float,
    radius_s: float = 0.06,
    envelope: np.ndarray | None = None,
    centre_s: float = CENTRE_S,
) -> np.ndarray:
    """Move each peak to the largest absolute deflection of the filtered signal within ``radius_s``.

    With ``envelope``, each peak first moves to the envelope's maximum within ``centre_s`` (the centre of
    the complex's QRS energy): detectors often mark the onset of a wide complex, and the largest deflection
    near an onset can be a P wave or the baseline before it.
    """
    if len(peaks) == 0:
        return peaks
    if envelope is not None and centre_s > 0:
        peaks = _argmax_near(peaks, envelope, max(int(round(centre_s * fs)), 1))
    return np.unique(_argmax_near(peaks, np.abs(filtered), max(int(round(radius_s * fs)), 1)))


def detect_r_peaks(signal: np.ndarray, fs: float, filtered: np.ndarray | None = None) -> np.ndarray:
    """R-peak sample indices of a single-lead ECG.

    sleepecg's detector (fast, compiled) finds most beats; a search-back in long gaps recovers
    skipped wide beats, each peak is moved to the centre of its complex's QRS energy (detectors often mark
    the onset of a wide beat) and then to the QRS extremum of the band-passed signal, and the T/P-wave rule
    is applied again to the refined positions.

    Args:
        signal: 1-D ECG without NaN (raw or filtered).
        fs: sampling rate in Hz.
        filtered: the band-passed signal if the caller already has it.
    Returns:
        Sorted int64 sample indices.
    """
    import sleepecg

    signal = np.asarray(signal, dtype=np.float64)
    if len(signal) < int(2 * fs):
        return np.array([], dtype=np.int64)
    if filtered is None:
        filtered = bandpass(signal, fs)
    envelope = qrs_envelope(filtered, fs)
    peaks = np.sort(np.asarray(sleepecg.detect_heartbeats(filtered, fs), dtype=np.int64))
    peaks = _drop_t_waves(peaks, envelope, fs)
    peaks = _searchback(peaks, envelope, fs)
    peaks = refine_peaks(peaks, filtered, fs, envelope=envelope)
    peaks = _merge_close(peaks, envelope, int(0.2 * fs))
    # the T/P-wave rule once more on the refined positions: a large P wave ~200 ms before its R
    # (or a search-back find beside a T wave) is only seen closer than 250 ms after refinement
    return _drop_t_waves(peaks, envelope, fs).astype(np.int64)


def _rolling_median(x: np.ndarray, width: int) -> np.ndarray:
    """Median over ``width`` values centred on each (edges repeated)."""
    half = width // 2
    pad = np.pad(x, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1), axis=1)


def _seen(other: np.ndarray, peaks: np.ndarray, tolerance: int) -> np.ndarray:
    """Per peak: ``other`` (sorted, at least 2) holds a peak within ``tolerance`` samples of it."""
    k = np.clip(np.searchsorted(other, peaks), 1, len(other) - 1)
    return np.minimum(np.abs(other[k] - peaks), np.abs(other[k - 1] - peaks)) <= tolerance


def other_lead_peaks(filtered: np.ndarray, fs: float, usable: np.ndarray | None = None) -> np.ndarray:
    """R peaks of another lead (`detect_r_peaks`) where its quality check allows (``usable`` per sample)."""
    other = detect_r_peaks(filtered, fs, filtered=filtered)
    return other[usable[other]] if usable is not None and len(other) else other


def unconfirmed_beats(
    peaks: np.ndarray,
    envelope: np.ndarray,
    other: np.ndarray,
    other_envelope: np.ndarray,
    fs: float,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """Per first-lead detection: weak, and absent from the other lead (see CONFIRM_PRIMARY): drop it.

    Args:
        peaks: sorted first-lead R peaks; envelope: the first lead's `qrs_envelope`.
        other: the other lead's R peaks (`other_lead_peaks`); other_envelope: its `qrs_envelope`.
        usable: per sample, the other lead's quality verdict (None: all usable).
    """
    out = np.zeros(len(peaks), dtype=bool)
    if len(peaks) < 4 or len(other) < 4:
        return out
    seen = _seen(other, peaks, int(0.1 * fs))
    if seen.mean() < CONFIRM_TRUST:
        return out
    energy = local_energy(peaks, envelope, fs)
    other_energy = local_energy(peaks, other_envelope, fs, 0.1)
    weak = energy < CONFIRM_PRIMARY * _rolling_median(energy, CONFIRM_BEATS)
    absent = ~seen & (other_energy < CONFIRM_OTHER * _rolling_median(other_energy, CONFIRM_BEATS))
    if usable is not None:
        absent &= usable[peaks]
    return weak & absent


def second_lead_beats(
    peaks: np.ndarray,
    filtered: np.ndarray,
    fs: float,
    usable: np.ndarray | None = None,
    other: np.ndarray | None = None,
    other_envelope: np.ndarray | None = None,
) -> np.ndarray:
    """Beats another lead shows inside long gaps of the first lead's ``peaks`` (a search-back in a second
    lead): where the first lead's QRS is too small or its window is rejected as noise or clipped.

    Args:
        peaks: sorted first-lead R peaks (samples).
        filtered: the other lead, band-passed, same samples.
        fs: sampling rate in Hz.
        usable: per sample, the other lead's quality verdict (None: all usable).
        other: the other lead's R peaks if the caller has them (`other_lead_peaks`).
        other_envelope: its `qrs_envelope` if the caller has it.
    Returns:
        Sorted sample indices of the added beats (none of them in ``peaks``); see SECOND_GAP for the rule.
    """
    none = np.zeros(0, dtype=np.int64)
    if len(peaks) < 4:
        return none
    other = other_lead_peaks(filtered, fs, usable) if other is None else other
    if len(other) < 4:
        return none
    # each other-lead beat between first-lead beats j-1 and j
    j = np.searchsorted(peaks, other)
    inside = (j > 0) & (j < len(peaks))
    j = np.clip(j, 1, len(peaks) - 1)
    before, after = other - peaks[j - 1], peaks[j] - other
    local = _rolling_median(np.diff(peaks), 9)[j - 1]
    apart = inside & (np.minimum(before, after) > 0.25 * fs)
    long_gap = (before + after) > SECOND_GAP * local
    other_envelope = qrs_envelope(filtered, fs) if other_envelope is None else other_envelope
    energy = local_energy(other, other_envelope, fs)
    strong = energy >= SECOND_ENERGY * np.median(energy)
    seen = _seen(other, peaks, int(0.15 * fs))
    candidate = apart & strong & seen[j - 1] & seen[j]  # both leads agree on the neighbours
    # where the first lead's rhythm leaves no room for a beat, an other-lead beat is a false one
    if (candidate & ~long_gap).sum() > SECOND_FALSE_RATE * len(peaks):
        return none
    add = candidate & long_gap & (np.minimum(before, after) >= SECOND_SPLIT * local)
    return other[add].astype(np.int64)


def local_energy(peaks: np.ndarray, envelope: np.ndarray, fs: float, radius_s: float = 0.06) -> np.ndarray:
    """QRS energy of each detection: the envelope's maximum within ``radius_s`` (detectors mark
    different points of a complex, so the envelope at the mark itself is unreliable)."""
    if len(peaks) == 0:
        return np.zeros(0)
    radius = int(radius_s * fs)
    return envelope[around_peaks(peaks, len(envelope), -radius, radius + 1)].max(axis=1)


def _drop_t_waves(peaks: np.ndarray, envelope: np.ndarray, fs: float) -> np.ndarray:
    """Pan-Tompkins' T-wave rule: of two detections < 360 ms apart, one with under half the other's QRS energy
    is a T (or P) wave.

    Detections with under 15% of the typical beat energy are dropped too (baseline ripples).
    """
    if len(peaks) < 3:
        return peaks
    energy = local_energy(peaks, envelope, fs)
    keep = energy >= 0.15 * np.median(energy)
    peaks, energy = peaks[keep], energy[keep]
    out, out_e = [peaks[0]], [energy[0]]
    for p, e in zip(peaks[1:], energy[1:]):
        gap = p - out[-1]
        # closer than 250 ms (240 bpm): one of the two is a P or T wave; keep the stronger
        ratio = 1.0 if gap < 0.25 * fs else 0.5
        if gap < 0.36 * fs:
            if e < ratio * out_e[-1]:
                continue
            if out_e[-1] < ratio * e:  # the earlier one was a large P wave
                out[-1], out_e[-1] = p, e
                continue
        out.append(p)
        out_e.append(e)
    return np.asarray(out, dtype=np.int64)


def _merge_close(peaks: np.ndarray, envelope: np.ndarray, min_gap: int) -> np.ndarray:
    """Keep the stronger of two detections closer than ``min_gap`` samples (one complex found twice)."""
    if len(peaks) < 2:
        return peaks
    out = [peaks[0]]
    for p in peaks[1:]:
        if p - out[-1] < min_gap:
            if envelope[p] > envelope[out[-1]]:
                out[-1] = p
            continue
        out.append(p)
    return np.asarray(out, dtype=np.int64)


def segment_beats(
    filtered: np.ndarray, peaks: np.ndarray, polarity: float = 1.0, rr: np.ndarray | None = None
) -> np.ndarray:
    """Cut one ECG5000-shaped beat per R peak: the following R-R interval, shifted to start 2.5% before R.

    Each window is linearly resampled to 140 samples, multiplied by ``polarity`` and z-normalised
    (a flat window gives zeros).

    Args:
        filtered: band-passed 1-D signal.
        peaks: sorted R-peak indices.
        polarity: +1 or -1 (-1 flips upward R peaks to ECG5000's downward QRS).
        rr: the following R-R interval of each beat in samples; by default the gaps between
            consecutive ``peaks``, the last beat taking the median.
    Returns:
        (len(peaks), 140) float32 array.
    """
    peaks = np.asarray(peaks, dtype=np.float64)
    if len(peaks) == 0:
        return np.zeros((0, BEAT_LENGTH), dtype=np.float32)
    if rr is None:
        rr = np.diff(peaks)
        rr = np.append(rr, float(np.median(rr)) if len(rr) else 200.0)
    rr = np.asarray(rr, dtype=np.float64)
    start = peaks - PRE_R_FRACTION * rr
    grid = np.linspace(0.0, 1.0, BEAT_LENGTH, endpoint=False)
    positions = np.clip(start[:, None] + rr[:, None] * grid[None, :], 0, len(filtered) - 1)
    lo = np.floor(positions).astype(np.int64)
    hi = np.minimum(lo + 1, len(filtered) - 1)
    frac = positions - lo
    beats = (filtered[lo] * (1 - frac) + filtered[hi] * frac) * polarity
    return znormalise(beats).astype(np.float32)


def znormalise(beats: np.ndarray) -> np.ndarray:
    """Per-row z-score; rows with no spread become zeros."""
    mean = beats.mean(axis=1, keepdims=True)
    std = beats.std(axis=1, keepdims=True)
    return np.where(std > 1e-9, (beats - mean) / np.where(std > 1e-9, std, 1.0), 0.0)
