"""Review: a person's labels of families and beats, and how the rest of the recording follows them.

`apply_labels` starts from the label-free reading (``label_auto``) every time, so the labels it is given are
the whole review (a stored review replays all its labels; undoing one is replaying the others). Then:

1. a labelled family: its beats take the label; a family called N keeps its premature beats S (a normal
   shape early in the rhythm is a supraventricular ectopic beat) and its Q beats Q (noise is a property of
   the beat's surroundings, not of its family);
2. propagation over the shapes (`families.FamilyModel.distance`) to beats of families nobody labelled: a
   beat nearer a family called V than any family called N, within ``PROPAGATE_V`` typical distances of it,
   becomes V; a beat labelled V by the rules that lies nearer a family called N than any family called V,
   within ``PROPAGATE_N``, becomes N (a family called N raises the bar for shapes like it);
3. a labelled beat: its label, whatever its family says.

Labels, ``is_anomaly``, the families table, events, the hour table and the summary are then recomputed
(`finish_reading`), which takes well under a second on a 24-hour recording.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ecg_backend.signals.classes import LABELS, beat_counts
from ecg_backend.signals.events import EventRules, find_events, hourly_table
from ecg_backend.signals.families import family_table
from ecg_backend.signals.reading import RecordingAnalysis
from ecg_backend.signals.scoring import anomalous_runs

PROPAGATE_V = 1.5
PROPAGATE_N = 1.5
SOURCES = ("auto", "reader", "propagated")


def _check(labels: dict | None, limit: int, what: str) -> dict:
    out = {}
    for key, label in (labels or {}).items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"{what} {key!r} is not an integer") from None
        if not 0 <= index < limit:
            raise ValueError(f"{what} {index} does not exist (0 to {limit - 1})")
        if label not in LABELS:
            raise ValueError(f"label {label!r} for {what} {index} is not one of {', '.join(LABELS)}")
        out[index] = label
    return out


def _nearest(distance: np.ndarray, families: list[int]) -> np.ndarray:
    return distance[:, families].min(axis=1) if families else np.full(len(distance), np.inf)


def _propagate(labels, source, auto, distance, own_family, reviewed: dict) -> None:
    """Step 2 of the module docstring, in place, for beats of families nobody labelled."""
    free = ~np.isin(own_family, list(reviewed))
    v_families = [f for f, label in reviewed.items() if label == "V"]
    n_families = [f for f, label in reviewed.items() if label == "N"]
    to_v, to_n = _nearest(distance, v_families), _nearest(distance, n_families)
    become_v = free & (to_v < to_n) & (to_v <= PROPAGATE_V) & np.isin(auto, ["N", "S"])
    become_n = free & (to_n < to_v) & (to_n <= PROPAGATE_N) & (auto == "V")
    labels[become_v], labels[become_n] = "V", "N"
    source[become_v | become_n] = "propagated"


def apply_labels(
    analysis: RecordingAnalysis, families: dict | None = None, beats: dict | None = None
) -> RecordingAnalysis:
    """A new reading where a person's labels hold and the rest of the recording follows them.

    Args:
        analysis: a reading (`analyze_recording`, `reading.load_reading` or an earlier `apply_labels`).
        families: {family: "N" | "S" | "V" | "Q"}.
        beats: {row index in ``analysis.beats``: label}; wins over its family's label.
    Returns:
        A new `RecordingAnalysis` (the input is left as it was).
    Raises:
        ValueError: an unknown family or beat index, or a label outside N, S, V, Q.
    """
    table = analysis.beats
    model = analysis.family_model
    n_families = 0 if model is None else model.distance.shape[1]
    reviewed = _check(families, n_families, "family")
    beat_labels = _check(beats, len(table), "beat")
    auto = table["label_auto"].to_numpy(dtype=object)
    labels, source = auto.copy(), np.full(len(table), "auto", dtype=object)
    own = table["family"].to_numpy()
    if reviewed:
        _propagate(labels, source, auto, model.distance, own, reviewed)
    for family, label in reviewed.items():
        members = own == family
        keep = np.isin(auto, ["Q", "S"]) if label == "N" else np.zeros(len(table), bool)
        labels[members & ~keep] = label
        source[members] = "reader"
    for index, label in beat_labels.items():
        labels[index], source[index] = label, "reader"
    new = table.copy()
    new["label"], new["label_source"] = labels, source
    return finish_reading(replace(analysis, beats=new), reviewed)


def finish_reading(
    analysis: RecordingAnalysis, reviewed: dict | None = None, rules: EventRules | None = None
) -> RecordingAnalysis:
    """Recompute everything that follows from the labels: is_anomaly, families table, runs, events, hour table
    and the summary's counts (events with ``rules``, default `events.EventRules()`)."""
    rules = rules or EventRules()
    table = analysis.beats
    labels = table["label"].to_numpy(dtype=object)
    table["is_anomaly"] = np.isin(labels, ["S", "V"])
    t = table["time_s"].to_numpy(dtype=np.float64)
    gaps = list(analysis.segments) + list(analysis.episodes)
    summary = dict(analysis.summary)
    events = find_events(labels, t, gaps, analysis.episodes, rules)
    hourly = hourly_table(labels, t, gaps, float(summary.get("duration_s", t[-1] if len(t) else 0.0)), events)
    ratio = table["score"].to_numpy() / float(summary.get("operating_point") or 1.0)
    families = (
        family_table(analysis.family_model, labels, reviewed, ratio)
        if analysis.family_model is not None
        else analysis.families
    )
    runs = anomalous_runs(table)
    counts = beat_counts(labels)
    counted = counts["N"] + counts["S"] + counts["V"]
    summary.update(
        {
            "n_anomalous": counts["S"] + counts["V"],
            "burden_percent": round(100.0 * (counts["S"] + counts["V"]) / counted, 2) if counted else 0.0,
            "beat_counts": counts,
            "event_counts": {k: int(v) for k, v in events["type"].value_counts().items()} if len(events) else {},
            "anomalous_runs": len(runs),
            "longest_anomalous_run": max((r["n_beats"] for r in runs), default=0),
            "reviewed_families": len(reviewed or {}),
            "reviewed_beats": int((table["label_source"] == "reader").sum()),
        }
    )
    return replace(analysis, beats=table, summary=summary, runs=runs, events=events, hourly=hourly, families=families)
