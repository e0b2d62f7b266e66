"""A beat-by-beat reading of a recording (`RecordingAnalysis`) and its file format.

`save_reading` / `load_reading` write and read one reading as a single ``.npz`` file (NumPy arrays plus one
JSON document, never pickle): the beat table, the family model that `review.apply_labels` needs to move beats
between labels, the tables, the summary and, optionally, the detector's windows. A reading loaded in another
process (days later) can be reviewed again exactly as the fresh one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecg_backend.signals.families import FamilyModel

FORMAT = "ecg-reading"
FORMAT_VERSION = 1
TEXT_COLUMNS = ("label", "label_auto", "label_source")


@dataclass
class RecordingAnalysis:
    """Result of `analyze_recording` (and of `review.apply_labels`).

    Attributes:
        beats: one row per beat: r_peak, time_s, rr_s, score, is_anomaly (label S or V), confidence, the
            score's components (morph_distance, rr_ratio, qrs_width_ratio, ae_error, and with extra leads
            morph_distance_primary / morph_distance_extra), noise_spikiness, noise_swing, noise_hf, unusable (R
            peak in a window the primary lead's quality check rejects), label ("N", "S",
            "V", "Q"), label_auto (the label-free rules' label), label_source ("auto", "reader": a person's
            label of the beat or its family, "propagated": moved by a person's label of a similar family),
            family (int).
        summary: duration_s, n_beats, mean_hr_bpm, n_anomalous (S + V), burden_percent (S + V over the beats
            that are not Q), unusable_s, beat_counts {"N", "S", "V", "Q"}, event_counts, ...
        segments: unusable segments ``{"start_s", "end_s", "reason"}``.
        beat_matrix: (n_beats, 140) float32 segmented beats as the detector saw them.
        reconstruction: (n_beats, 140) float32 detector reconstructions (None without a detector).
        template: (140,) the patient's typical beat (median of the beats).
        episodes: rhythm episodes without separable beats ``{"start_s", "end_s", "rhythm"}``
            (rhythm ``"ventricular_flutter"``); no beat is reported inside them.
        runs: runs of >= 3 consecutive anomalous beats faster than 100 /min (`scoring.anomalous_runs`):
            ``{"start_s", "end_s", "n_beats", "rate_bpm"}``, e.g. non-sustained ventricular tachycardia.
        families: one row per morphology family: family, n_beats, representative (row of ``beats``),
            label, review_rank (0 = check first), reviewed (a person labelled it).
        events: rhythm events (`events.find_events`): type, start_s, end_s, n_beats, rate_bpm.
        hourly: one row per hour (`events.hourly_table`).
        family_model: centres and per-beat distances (`families.FamilyModel`) for the review.
    """

    beats: pd.DataFrame
    summary: dict
    segments: list = field(default_factory=list)
    beat_matrix: np.ndarray | None = None
    reconstruction: np.ndarray | None = None
    template: np.ndarray | None = None
    episodes: list = field(default_factory=list)
    runs: list = field(default_factory=list)
    families: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    hourly: pd.DataFrame = field(default_factory=pd.DataFrame)
    family_model: FamilyModel | None = None


def _table_json(table: pd.DataFrame) -> dict:
    return {"columns": list(table.columns), "data": {c: table[c].tolist() for c in table.columns}}


def _table_from_json(doc: dict) -> pd.DataFrame:
    return pd.DataFrame({c: doc["data"][c] for c in doc["columns"]}, columns=doc["columns"])


def save_reading(analysis: RecordingAnalysis, path, waveforms: bool = True) -> None:
    """Write ``analysis`` to ``path`` (.npz; no pickle). ``waveforms=False`` leaves out beat_matrix and
    reconstruction (the review does not need them; they are 2 x 560 bytes per beat)."""
    arrays, columns = {}, []
    for col in analysis.beats.columns:
        values = analysis.beats[col].to_numpy()
        arrays[f"beats/{col}"] = values.astype(str) if col in TEXT_COLUMNS or values.dtype == object else values
        columns.append(col)
    model = analysis.family_model
    if model is not None:
        arrays.update({"model/family": model.family, "model/distance": model.distance, "model/centres": model.centres})
    for name in ("template",) + (("beat_matrix", "reconstruction") if waveforms else ()):
        value = getattr(analysis, name)
        if value is not None:
            arrays[name] = value
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "columns": columns,
        "summary": analysis.summary,
        "segments": analysis.segments,
        "episodes": analysis.episodes,
        "runs": analysis.runs,
        "families": _table_json(analysis.families),
        "events": _table_json(analysis.events),
        "hourly": _table_json(analysis.hourly),
    }
    arrays["meta"] = np.array(json.dumps(meta, default=_json_default))
    with open(Path(path), "wb") as fh:
        np.savez_compressed(fh, **arrays)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def load_reading(path) -> RecordingAnalysis:
    """Read a reading written by `save_reading`.

    Raises:
        ValueError: the file is not a reading of a version this code reads.
    """
    with np.load(Path(path), allow_pickle=False) as data:
        if "meta" not in data.files:
            raise ValueError(f"{path} is not a saved reading")
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported reading format {meta.get('format')} {meta.get('version')}")
        beats = pd.DataFrame({c: data[f"beats/{c}"] for c in meta["columns"]}, columns=meta["columns"])
        for col in TEXT_COLUMNS:
            if col in beats:
                beats[col] = beats[col].astype(object)
        model = None
        if "model/family" in data.files:
            model = FamilyModel(
                family=data["model/family"], distance=data["model/distance"], centres=data["model/centres"]
            )
        extra = {
            name: (data[name] if name in data.files else None) for name in ("template", "beat_matrix", "reconstruction")
        }
    return RecordingAnalysis(
        beats=beats,
        summary=meta["summary"],
        segments=meta["segments"],
        episodes=meta["episodes"],
        runs=meta["runs"],
        families=_table_from_json(meta["families"]),
        events=_table_from_json(meta["events"]),
        hourly=_table_from_json(meta["hourly"]),
        family_model=model,
        **extra,
    )
