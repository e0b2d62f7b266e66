"""The stages of recording analysis, each a function with a small dataclass in and out.

    (`recording_input.prepare_recording`) -> per chunk: chunk_quality -> chunk_peaks -> chunk_beats -> merge_chunks
      -> beat_features -> beat_scores

`recording.analyze_recording` composes them. The first three stages run chunk by chunk (CHUNK_S of signal
with PAD_S of context each side, so filters and the R-peak detector see context) to keep memory flat for
24-hour Holters; `merge_chunks` joins the chunks, and every later stage sees the whole recording because the
scoring is relative to the patient's own beats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecg_backend.ml.data import BEAT_LENGTH
from ecg_backend.signals.beats import (
    bandpass,
    detect_r_peaks,
    other_lead_peaks,
    qrs_envelope,
    second_lead_beats,
    segment_beats,
    unconfirmed_beats,
)
from ecg_backend.signals.quality import (
    QualityReport,
    assess_quality,
    fill_gaps,
    flutter_leakage,
    flutter_windows,
)
from ecg_backend.signals.recording_input import Recording
from ecg_backend.signals.scoring import (
    MORPH_POINTS,
    WAVE_POINTS,
    WAVE_POST_S,
    WAVE_PRE_S,
    BeatFeatures,
    beat_hf_noise,
    beat_waveform,
    combine,
    context_features,
    may_be_flagged,
    qrs_morphology,
)

CHUNK_S = 300.0
PAD_S = 5.0
MODEL_ALL_BEATS = 20_000
MODEL_SAMPLE = 4_000
SCORE_BLOCK = 16_384  # beats per detector.score call (its copies of a block are float64)
NOISE_SPAN_S = 0.5


def chunk_bounds(rec: Recording) -> list[tuple[int, int]]:
    """The chunks' cores [a, b): CHUNK_S long, starting on quality-window boundaries."""
    n, window = len(rec.signal), rec.window
    step = max(int(CHUNK_S * rec.fs) // window, 1) * window
    return [(a, min(a + step, n)) for a in range(0, n, step)]


@dataclass
class Chunk:
    """Samples [lo, hi) of the primary lead around the core [a, b): gap-filled and band-passed; the same
    samples of every extra lead, raw and band-passed."""

    a: int
    b: int
    lo: int
    hi: int
    raw: np.ndarray
    filled: np.ndarray
    filtered: np.ndarray
    extra_raw: list = field(default_factory=list)
    extra_filtered: list = field(default_factory=list)

    @property
    def core(self) -> slice:
        """The core's positions in the chunk's arrays."""
        return slice(self.a - self.lo, self.b - self.lo)


def load_chunk(rec: Recording, a: int, b: int) -> Chunk:
    """The core [a, b) of the primary lead with PAD_S of context each side, gaps filled, band-passed (and of
    every extra lead)."""
    pad = int(PAD_S * rec.fs)
    lo, hi = max(a - pad, 0), min(b + pad, len(rec.signal))
    raw = np.asarray(rec.signal[lo:hi], dtype=np.float64)
    filled = fill_gaps(raw)
    extra_raw = [np.asarray(rec.extra[lo:hi, k], dtype=np.float64) for k in range(rec.n_extra)]
    return Chunk(
        a=a,
        b=b,
        lo=lo,
        hi=hi,
        raw=raw,
        filled=filled,
        filtered=bandpass(filled, rec.fs),
        extra_raw=extra_raw,
        extra_filtered=[bandpass(fill_gaps(x), rec.fs) for x in extra_raw],
    )


@dataclass
class ChunkQuality:
    """Per quality window of a chunk's core: a reason or None; per sample of the chunk: usable; and the
    VF-filter leakage per window (`quality.flutter_leakage`); per extra lead its reasons and usable samples."""

    reasons: list
    usable: np.ndarray
    leakage: np.ndarray
    spikiness: np.ndarray
    swing: np.ndarray
    extra_reasons: list = field(default_factory=list)
    extra_usable: list = field(default_factory=list)


def chunk_quality(chunk: Chunk, fs: float) -> ChunkQuality:
    """Quality stage: judge each window of the core in every lead (the context counts as usable)."""
    core = chunk.core
    quality = assess_quality(chunk.raw[core], fs, filtered=chunk.filtered[core])
    usable = np.ones(chunk.hi - chunk.lo, dtype=bool)
    usable[core] = quality.usable_mask()
    extra_reasons, extra_usable = [], []
    for raw_k, filtered_k in zip(chunk.extra_raw, chunk.extra_filtered):
        quality_k = assess_quality(raw_k[core], fs, filtered=filtered_k[core])
        usable_k = np.ones(chunk.hi - chunk.lo, dtype=bool)
        usable_k[core] = quality_k.usable_mask()
        extra_reasons.append(quality_k.reasons)
        extra_usable.append(usable_k)
    return ChunkQuality(
        reasons=quality.reasons,
        usable=usable,
        leakage=flutter_leakage(chunk.filtered, fs, core.start, core.stop),
        spikiness=quality.spikiness,
        swing=quality.swing,
        extra_reasons=extra_reasons,
        extra_usable=extra_usable,
    )


@dataclass
class ChunkPeaks:
    """R peaks of a chunk's core (positions in the chunk) and each one's next R-R in samples (0: none)."""

    peaks: np.ndarray
    rr_next: np.ndarray


def chunk_peaks(chunk: Chunk, quality: ChunkQuality, fs: float) -> ChunkPeaks:
    """Peaks stage: R peaks in the primary lead's usable signal; each extra lead then drops weak detections it
    does not show (`beats.unconfirmed_beats`) and adds the beats it shows in the primary lead's long gaps
    (`beats.second_lead_beats`: where its QRS is too small, or its window rejected; such a beat is labelled Q
    later); the next R after each core beat (possibly in the context) bounds its window."""
    core = chunk.core
    peaks = (
        detect_r_peaks(chunk.filled, fs, filtered=chunk.filtered) if quality.usable[core].any() else np.array([], int)
    )
    peaks = peaks[quality.usable[peaks]] if len(peaks) else peaks
    envelope = qrs_envelope(chunk.filtered, fs) if chunk.extra_filtered else None
    for filtered_k, usable_k in zip(chunk.extra_filtered, quality.extra_usable):
        other, other_envelope = other_lead_peaks(filtered_k, fs, usable_k), qrs_envelope(filtered_k, fs)
        peaks = peaks[~unconfirmed_beats(peaks, envelope, other, other_envelope, fs, usable_k)]
        added = second_lead_beats(peaks, filtered_k, fs, usable_k, other=other, other_envelope=other_envelope)
        peaks = np.union1d(peaks, added).astype(np.int64)
    in_core = (peaks >= core.start) & (peaks < core.stop)
    nxt = np.append(peaks[1:], -1)[in_core]
    peaks_core = peaks[in_core]
    rr_next = np.where(nxt > 0, nxt - peaks_core, 0).astype(np.float64)
    return ChunkPeaks(peaks=peaks_core, rr_next=rr_next)


@dataclass
class ChunkBeats:
    """Beats stage output for one chunk: absolute R peaks and, per beat, its ECG5000-shaped window, QRS
    morphology, waveform, R amplitude and high-frequency noise (`scoring.beat_hf_noise`); per extra lead its
    waveforms and quality verdicts; the chunk's quality verdicts and leakage."""

    peaks: np.ndarray
    beats: np.ndarray
    morph: np.ndarray
    wave: np.ndarray
    r_amp: np.ndarray
    reasons: list
    leakage: np.ndarray
    spikiness: np.ndarray
    swing: np.ndarray
    extra_waves: list = field(default_factory=list)
    extra_reasons: list = field(default_factory=list)
    hf_noise: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _segment(filtered, peaks, rr_next, fs):
    """ECG5000-style windows; a beat without a plausible next R (gap, > 3 s) uses the chunk's median R-R."""
    if len(peaks) == 0:
        return np.zeros((0, BEAT_LENGTH), np.float32)
    ok = (rr_next > 0.2 * fs) & (rr_next < 3.0 * fs)
    fallback = float(np.median(rr_next[ok])) if ok.any() else 0.8 * fs
    return segment_beats(filtered, peaks, rr=np.where(ok, rr_next, fallback))


def chunk_beats(rec: Recording, chunk: Chunk, quality: ChunkQuality, found: ChunkPeaks) -> ChunkBeats:
    """Beats stage: windows and waveforms at the chunk's R peaks, in the primary lead and every extra lead."""
    fs, peaks = rec.fs, found.peaks
    return ChunkBeats(
        peaks=peaks + chunk.lo,
        beats=_segment(chunk.filtered, peaks, found.rr_next, fs),
        morph=qrs_morphology(chunk.filtered, peaks, fs),
        wave=beat_waveform(chunk.filtered, peaks, fs),
        r_amp=chunk.filtered[peaks] if len(peaks) else np.zeros(0),
        reasons=quality.reasons,
        leakage=quality.leakage,
        spikiness=quality.spikiness,
        swing=quality.swing,
        extra_waves=[beat_waveform(filtered_k, peaks, fs) for filtered_k in chunk.extra_filtered],
        extra_reasons=quality.extra_reasons,
        hf_noise=beat_hf_noise(chunk.filled, chunk.filtered, peaks, fs),
    )


def analyse_chunk(rec: Recording, a: int, b: int) -> ChunkBeats:
    """quality -> peaks -> beats for the chunk whose core is [a, b)."""
    chunk = load_chunk(rec, a, b)
    quality = chunk_quality(chunk, rec.fs)
    return chunk_beats(rec, chunk, quality, chunk_peaks(chunk, quality, rec.fs))


@dataclass
class FoundBeats:
    """The whole recording's beats after the chunks are joined.

    Attributes:
        peaks: R peaks (int64 samples). beat_matrix: (n, BEAT_LENGTH) detector windows, polarity-flipped.
        morph, wave: `scoring.qrs_morphology` / `scoring.beat_waveform` rows.
        extra_waves, extra_ok: per extra lead, waveforms and per-beat usability.
        segments: unusable segments; episodes: ventricular-flutter episodes.
        window_reasons: per quality window of the primary lead, None or a reason (flutter windows None).
        noise: per beat, the lowest QRS spikiness and the largest swing of the quality windows within
            NOISE_SPAN_S of its R peak (`quality.QualityReport`): (n, 2).
        hf_noise: per beat, `scoring.beat_hf_noise` of the primary lead (not normalised).
        unusable: per beat, its R peak lies in a window the primary lead's quality check rejects (a beat
            only an extra lead showed; labelled Q by `classes.classify_beats`).
    """

    peaks: np.ndarray
    beat_matrix: np.ndarray
    morph: np.ndarray
    wave: np.ndarray
    extra_waves: list
    extra_ok: list
    segments: list
    episodes: list
    window_reasons: list
    noise: np.ndarray
    hf_noise: np.ndarray | None = None
    unusable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def _usable_beats(peaks: np.ndarray, fs: float, window: int, reasons: list) -> np.ndarray:
    """Per beat: the quality windows holding its waveform's start (R - WAVE_PRE_S) and end (R + WAVE_POST_S)
    are both usable in this lead."""
    ok = np.array([r is None for r in reasons], dtype=bool)
    if len(peaks) == 0 or len(ok) == 0:
        return np.zeros(len(peaks), dtype=bool)
    first = np.clip(((peaks - WAVE_PRE_S * fs) // window).astype(np.int64), 0, len(ok) - 1)
    last = np.clip(((peaks + WAVE_POST_S * fs) // window).astype(np.int64), 0, len(ok) - 1)
    return ok[first] & ok[last]


def _beat_noise(peaks: np.ndarray, fs: float, window: int, spikiness: np.ndarray, swing: np.ndarray) -> np.ndarray:
    """Per beat: the lowest spikiness and the largest swing of the windows within NOISE_SPAN_S of its R."""
    if len(peaks) == 0 or len(spikiness) == 0:
        return np.zeros((len(peaks), 2))
    last = len(spikiness) - 1
    first = np.clip(((peaks - NOISE_SPAN_S * fs) // window).astype(np.int64), 0, last)
    final = np.clip(((peaks + NOISE_SPAN_S * fs) // window).astype(np.int64), 0, last)
    return np.stack([np.minimum(spikiness[first], spikiness[final]), np.maximum(swing[first], swing[final])], axis=1)


def _kept(peaks: np.ndarray, flutter: np.ndarray, window: int, fs: float) -> np.ndarray:
    """Beats kept: none inside flutter, and of one complex found on both sides of a chunk boundary the first."""
    keep = np.ones(len(peaks), dtype=bool)
    if len(peaks) and flutter.any():
        keep &= ~flutter[np.minimum(peaks // window, len(flutter) - 1)]
    kept = np.flatnonzero(keep)
    keep[kept[1:][np.diff(peaks[kept]) < int(0.2 * fs)]] = False
    return keep


def _joined(arrays: list[np.ndarray], keep: np.ndarray, width: int) -> np.ndarray:
    """The kept rows of the chunks' arrays, end to end (rows picked per chunk: no full-size copy to drop from)."""
    if not arrays:
        return np.zeros((0, width))
    ends = np.cumsum([len(a) for a in arrays])
    return np.concatenate([a[keep[end - len(a) : end]] for a, end in zip(arrays, ends)])


def _flutter_and_segments(rec: Recording, parts: list[ChunkBeats]) -> tuple[np.ndarray, list, list, list]:
    """Per window: inside ventricular flutter, and the quality reason (None inside flutter); the unusable
    segments and the flutter episodes."""
    fs, window, n = rec.fs, rec.window, len(rec.signal)
    flutter = flutter_windows(np.concatenate([p.leakage for p in parts]))
    reasons = [None if f else r for f, r in zip(flutter, (r for p in parts for r in p.reasons))]
    segments = QualityReport(fs=fs, n_samples=n, window=window, reasons=reasons).segments
    episodes = [
        {"start_s": s["start_s"], "end_s": s["end_s"], "rhythm": "ventricular_flutter"}
        for s in QualityReport(
            fs=fs, n_samples=n, window=window, reasons=["flutter" if f else None for f in flutter]
        ).segments
    ]
    return flutter, reasons, segments, episodes


def _in_rejected(peaks: np.ndarray, window: int, reasons: list) -> np.ndarray:
    """Per beat: the quality window holding its R peak has a reason (is rejected)."""
    bad = np.array([r is not None for r in reasons], dtype=bool)
    if len(peaks) == 0 or len(bad) == 0:
        return np.zeros(len(peaks), dtype=bool)
    return bad[np.minimum(peaks // window, len(bad) - 1)]


def merge_chunks(rec: Recording, parts: list[ChunkBeats]) -> FoundBeats:
    """Join the chunks: ventricular flutter becomes an episode (a rhythm, not bad signal and not beats),
    the rest of the quality verdicts unusable segments; duplicated boundary beats go; the detector windows
    are flipped so the QRS points down, as in ECG5000."""
    fs, window = rec.fs, rec.window
    peaks = np.concatenate([p.peaks for p in parts]).astype(np.int64)
    extra_ok = [
        _usable_beats(peaks, fs, window, [r for p in parts for r in p.extra_reasons[k]]) for k in range(rec.n_extra)
    ]
    flutter, reasons, segments, episodes = _flutter_and_segments(rec, parts)
    noise = _beat_noise(
        peaks, fs, window, np.concatenate([p.spikiness for p in parts]), np.concatenate([p.swing for p in parts])
    )
    hf_noise = np.concatenate([p.hf_noise for p in parts]) if parts else np.zeros(0)
    keep = _kept(peaks, flutter, window, fs)
    peaks, noise, hf_noise, extra_ok = peaks[keep], noise[keep], hf_noise[keep], [o[keep] for o in extra_ok]
    r_amp = np.concatenate([p.r_amp for p in parts])[keep]
    beat_matrix = _joined([p.beats for p in parts], keep, BEAT_LENGTH).astype(np.float32, copy=False)
    morph = _joined([p.morph for p in parts], keep, MORPH_POINTS)
    wave = _joined([p.wave for p in parts], keep, WAVE_POINTS)
    extra_waves = [_joined([p.extra_waves[k] for p in parts], keep, WAVE_POINTS) for k in range(rec.n_extra)]
    polarity = -1.0 if len(r_amp) and np.median(r_amp) > 0 else 1.0
    beat_matrix *= np.float32(polarity)
    return FoundBeats(
        peaks=peaks,
        beat_matrix=beat_matrix,
        morph=morph,
        wave=wave,
        extra_waves=extra_waves,
        extra_ok=extra_ok,
        segments=segments,
        episodes=episodes,
        window_reasons=reasons,
        noise=noise,
        hf_noise=hf_noise,
        unusable=_in_rejected(peaks, window, reasons),
    )


def beat_features(rec: Recording, found: FoundBeats) -> BeatFeatures:
    """Features stage: the label-free recording-context features (`scoring.context_features`)."""
    return context_features(
        found.peaks,
        rec.fs,
        found.morph,
        found.segments,
        wave=found.wave,
        extra_waves=found.extra_waves if rec.extra is not None else None,
        extra_usable=found.extra_ok,
    )


@dataclass
class BeatScores:
    """Scores stage output: the beat table (`scoring.combine`), the detector's reconstructions (NaN rows
    for beats it did not score; None for no beats) and how many beats it scored."""

    table: pd.DataFrame
    reconstruction: np.ndarray | None
    model_scored: int


def beat_scores(detector, found: FoundBeats, features: BeatFeatures, batch_size: int) -> BeatScores:
    """Scores stage: the detector's reconstruction error joins the context features in one score per beat.

    Up to MODEL_ALL_BEATS beats, every beat is scored. Longer recordings (Holters) score the beats
    whose flag can depend on the model (`scoring.may_be_flagged`) plus a fixed-seed uniform sample
    of MODEL_SAMPLE beats for the median/MAD of the error. Skipped beats could not be flagged
    whatever their error; only the normalisation of the others is estimated from the sample.
    """
    n = len(found.beat_matrix)
    error = np.full(n, np.nan)
    if n == 0:
        return BeatScores(table=combine(features, error), reconstruction=None, model_scored=0)
    recon = np.full((n, BEAT_LENGTH), np.nan, dtype=np.float32)
    if n <= MODEL_ALL_BEATS:
        chosen, sample = np.arange(n), None
    else:
        sample = np.sort(np.random.default_rng(0).choice(n, MODEL_SAMPLE, replace=False))
        chosen = np.union1d(np.where(may_be_flagged(features))[0], sample)
    for start in range(0, len(chosen), SCORE_BLOCK):  # blocks bound the detector's float64 temporaries
        rows = chosen[start : start + SCORE_BLOCK]
        result = detector.score(found.beat_matrix[rows], batch_size=batch_size)
        error[rows] = result.scores
        recon[rows] = result.reconstruction
    reference = None if sample is None else error[sample]
    return BeatScores(
        table=combine(features, error, ae_reference=reference),
        reconstruction=recon,
        model_scored=int(np.isfinite(error).sum()),
    )
