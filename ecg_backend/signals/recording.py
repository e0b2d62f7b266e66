"""Analyse a long recording: quality, R peaks, beats, recording-aware anomaly scores.

One lead (the primary) gives the R peaks, the segmented beats and every feature; the other leads of a
multi-lead recording, when passed as ``extra_leads``, add their own morphology distance at the same R
peaks (`scoring.extra_lead_distance`), each where its own quality check accepts the signal.

Ventricular flutter has no separable beats: its episodes are reported as such (``episodes``, summary
``flutter_s``) and the detections inside them, which are flutter waves rather than R peaks, are left out
of the beat table.

`analyze_recording` is the pipeline's table of contents; the stages live in `stages`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ecg_backend.signals.classes import (
    ClassRules,
    aberrant_conduction,
    classify_beats,
    family_consensus,
    family_noise,
)
from ecg_backend.signals.families import fit_families, median_rows, shape_features
from ecg_backend.signals.memory import release_freed_memory
from ecg_backend.signals.reading import RecordingAnalysis
from ecg_backend.signals.recording_input import (
    Recording,
    check_extra_leads,
    prepare_recording,
)
from ecg_backend.signals.review import finish_reading
from ecg_backend.signals.scoring import OPERATING_POINT, BeatFeatures, relative_hf_noise
from ecg_backend.signals.stages import (
    BeatScores,
    FoundBeats,
    analyse_chunk,
    beat_features,
    beat_scores,
    chunk_bounds,
    merge_chunks,
)

__all__ = ["RecordingAnalysis", "analyze_recording", "check_extra_leads"]


def _resolve_detector(detector):
    if detector is not None:
        return detector
    from ecg_backend.ml.detector import AnomalyDetector

    return AnomalyDetector.for_recordings()


def analyze_recording(
    signal,
    fs: float,
    detector=None,
    progress: Callable[[float, str], None] | None = None,
    batch_size: int = 2048,
    *,
    extra_leads=None,
) -> RecordingAnalysis:
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
    rec = prepare_recording(signal, fs, extra_leads)
    detector = _resolve_detector(detector)
    found = merge_chunks(rec, _analyse_chunks(rec, report))
    release_freed_memory()  # the chunks' arrays: a Holter's peak memory is set by what the stages keep
    report(72.0, "comparing beats with the recording's dominant beat")
    features = beat_features(rec, found)
    report(75.0, f"scoring {len(found.peaks)} beats with the model")
    scores = beat_scores(detector, found, features, batch_size)
    release_freed_memory()
    report(95.0, "summarising")
    result = _result(rec, found, features, scores, detector)
    report(100.0, "done")
    return result


def _analyse_chunks(rec: Recording, report) -> list:
    """quality -> peaks -> beats, chunk by chunk (`stages.analyse_chunk`), reporting progress up to 70%."""
    parts, bounds, minutes = [], chunk_bounds(rec), len(rec.signal) / rec.fs / 60
    for i, (a, b) in enumerate(bounds):
        parts.append(analyse_chunk(rec, a, b))
        report(70.0 * (i + 1) / len(bounds), f"found beats in {b / rec.fs / 60:.1f} of {minutes:.1f} min")
    return parts


def _result(
    rec: Recording, found: FoundBeats, features: BeatFeatures, scores: BeatScores, detector
) -> RecordingAnalysis:
    """Result stage: the beat table with classes and families, the summary, the typical beat; then events,
    runs, the hour table and the counts (`review.finish_reading`)."""
    table = scores.table
    table["noise_spikiness"], table["noise_swing"] = found.noise[:, 0], found.noise[:, 1]
    table["noise_hf"] = relative_hf_noise(found.hf_noise)
    table["unusable"] = found.unusable
    rules = ClassRules()
    model = fit_families(shape_features(found.wave, found.extra_waves, found.extra_ok))
    labels = classify_beats(table, features.operating_point, rules)
    labels = family_consensus(labels, model.family, table["score"].to_numpy() / features.operating_point, rules)
    labels = family_noise(table, labels, model.family, rules)
    labels = aberrant_conduction(table, labels, rules)
    table["label"], table["label_auto"] = labels, labels.copy()
    table["label_source"] = np.full(len(table), "auto", dtype=object)
    table["family"] = model.family
    summary = _summary(table, len(rec.signal), rec.fs, found.segments, detector)
    summary["operating_point"] = features.operating_point
    summary["flutter_s"] = round(float(sum(e["end_s"] - e["start_s"] for e in found.episodes)), 3)
    summary["flutter_episodes"] = len(found.episodes)
    summary["model_scored_beats"] = scores.model_scored
    if rec.extra is not None:
        covered = np.isfinite(features.dist_extra)  # beats at least one contributing extra lead covers
        summary["extra_leads"] = rec.n_extra
        summary["extra_leads_used"] = int(features.extra_leads_used)
        summary["extra_lead_beats_percent"] = round(100.0 * float(covered.mean()), 2) if len(table) else 0.0
    typical = median_rows(np.arange(len(table)))
    template = np.median(found.beat_matrix[typical], axis=0).astype(np.float32) if len(table) else None
    reading = RecordingAnalysis(
        beats=table,
        summary=summary,
        segments=found.segments,
        beat_matrix=found.beat_matrix,
        reconstruction=scores.reconstruction,
        template=template,
        episodes=found.episodes,
        family_model=model,
    )
    return finish_reading(reading)


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
        "operating_point": OPERATING_POINT,
    }
