"""What a Holter report says about one recording, gathered once (`report_data`) for the PDF (`holter_pdf`).

Reads the stored result (summary, beats, events, hourly table, families), the reader's label changes and,
for the strips of the main events, windows of the stored signal. Pure data: no layout here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from ecg_backend.models import Analysis, utcnow

CLASSES = ("N", "S", "V", "Q")
STRIP_SECONDS = 7.0  # one strip across an A4 page at 25 mm/s
STRIP_BEFORE_S = 1.0
MAX_STRIPS = 6
TREND_MAX_BINS = 288  # 5-minute means over 24 h; finer for shorter recordings
_NICE_BINS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
# Which events a reader wants to see first, as strips: the most dangerous rhythms, then the rest.
EVENT_PRIORITY = (
    "ventricular_flutter",
    "run",
    "tachycardia",
    "pause",
    "triplet",
    "bradycardia",
    "couplet",
    "bigeminy",
    "trigeminy",
)


@dataclass
class EventStrip:
    """A stretch of signal around one event: its leads as ``{"name", "unit", "time", "values"}``."""

    event: dict
    start_s: float
    leads: list


@dataclass
class ReportData:
    """Everything the report prints, in the order it prints it."""

    title: str
    patient: dict | None
    recording: dict
    summary: dict
    beat_counts: dict
    hourly: list[dict]
    trend_bin_s: float
    trend_start_s: list[float]
    trend_bpm: list[float | None]
    events: list[dict]
    strips: list[EventStrip] = field(default_factory=list)
    families: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    generated_at: datetime = field(default_factory=utcnow)
    generated_by: str = ""


def bin_seconds(duration_s: float, max_bins: int) -> float:
    """The smallest round bin width (10 s ... 1 h) that cuts ``duration_s`` into at most ``max_bins`` bins."""
    for width in _NICE_BINS:
        if duration_s / width <= max_bins:
            return float(width)
    return float(np.ceil(duration_s / max_bins / 3600.0) * 3600.0)


def columns_to_rows(table) -> list[dict]:
    """A stored table as rows: a list of dicts as it is, or a dict of equal-length columns turned into one."""
    if isinstance(table, list):
        return [row for row in table if isinstance(row, dict)]
    if isinstance(table, dict) and table and all(isinstance(v, list) for v in table.values()):
        keys = list(table)
        return [dict(zip(keys, row)) for row in zip(*(table[k] for k in keys))]
    return []


def beat_columns(result: dict) -> dict:
    """The stored per-beat columns ``time_s``, ``rr_s`` and ``label`` as numpy arrays (results stored before
    beat classes have only the anomaly flag: flagged beats count as V there)."""
    beats = result.get("beats") or {}
    times = np.asarray(beats.get("time_s") or [], dtype=np.float64)
    rr = np.asarray([np.nan if v is None else v for v in beats.get("rr_s") or []], dtype=np.float64)
    labels = beats.get("label")
    if labels is None:
        labels = ["V" if flag else "N" for flag in beats.get("is_anomaly") or []]
    return {
        "time_s": times,
        "rr_s": rr if len(rr) == len(times) else np.full(len(times), np.nan),
        "label": np.asarray(labels, dtype=object),
    }


def heart_rate_trend(times: np.ndarray, rr: np.ndarray, width: float, n_bins: int) -> list:
    """Mean heart rate (bpm, from R-R intervals between 0.25 and 3 s) per bin; None where a bin has none."""
    ok = np.isfinite(rr) & (rr >= 0.25) & (rr <= 3.0)
    idx = np.minimum((times[ok] // width).astype(int), n_bins - 1)
    total = np.bincount(idx, weights=60.0 / rr[ok], minlength=n_bins)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return [None if c == 0 else round(float(v), 1) for v, c in zip(mean, count)]


def stored_events(result: dict) -> list[dict]:
    """The recording's events, by start time; results from before rhythm events have runs and flutter episodes."""
    if "events" in result:
        events = columns_to_rows(result.get("events"))
    else:
        events = [
            {
                "type": "run",
                "start_s": r["start_s"],
                "end_s": r["end_s"],
                "n_beats": r.get("n_beats"),
                "rate_bpm": r.get("rate_bpm"),
            }
            for r in result.get("runs") or []
        ]
        events += [
            {
                "type": e.get("rhythm", "episode"),
                "start_s": e["start_s"],
                "end_s": e["end_s"],
                "n_beats": None,
                "rate_bpm": None,
            }
            for e in result.get("episodes") or []
        ]
    return sorted(events, key=lambda e: float(e.get("start_s") or 0.0))


def hourly_rows(result: dict, cols: dict) -> list[dict]:
    """One row per hour: the pipeline's own hourly table when stored, else counted here from the beats."""
    stored = columns_to_rows(result.get("hourly"))
    if stored:
        return stored
    times, rr, labels = cols["time_s"], cols["rr_s"], cols["label"]
    rows = []
    for hour in range(int(np.ceil((times[-1] + 1e-9) / 3600.0)) if len(times) else 0):
        inside = (times >= hour * 3600.0) & (times < (hour + 1) * 3600.0)
        rate = 60.0 / rr[inside & np.isfinite(rr) & (rr >= 0.25) & (rr <= 3.0)]
        rows.append(
            {
                "hour": hour,
                "beats": int(inside.sum()),
                "min_rate_bpm": round(float(rate.min()), 0) if len(rate) else None,
                "mean_rate_bpm": round(float(rate.mean()), 0) if len(rate) else None,
                "max_rate_bpm": round(float(rate.max()), 0) if len(rate) else None,
                "S": int((labels[inside] == "S").sum()),
                "V": int((labels[inside] == "V").sum()),
                "pauses": int((rr[inside] >= 2.0).sum()),
            }
        )
    return rows


def main_events(events: list[dict], limit: int = MAX_STRIPS) -> list[dict]:
    """The events shown as strips: first one of each type in ``EVENT_PRIORITY`` order, then the next ones."""
    rank = {name: i for i, name in enumerate(EVENT_PRIORITY)}
    ordered = sorted(events, key=lambda e: (rank.get(e.get("type"), len(rank)), -(e.get("n_beats") or 0)))
    chosen, seen = [], set()
    for event in ordered:
        if event.get("type") not in seen:
            chosen.append(event)
            seen.add(event.get("type"))
    chosen += [e for e in ordered if e not in chosen]
    return sorted(chosen[:limit], key=lambda e: float(e.get("start_s") or 0.0))


def event_strips(events: list[dict], read_window) -> list[EventStrip]:
    """Signal around each main event (``read_window(start_s, end_s)`` -> leads), starting just before it."""
    strips = []
    for event in main_events(events):
        start = float(max(0, np.floor(float(event.get("start_s") or 0.0) - STRIP_BEFORE_S)))
        strips.append(EventStrip(event=event, start_s=start, leads=read_window(start, start + STRIP_SECONDS)))
    return strips


def recording_start(input_meta: dict | None, result_meta: dict | None = None) -> datetime | None:
    """The recording's wall-clock start when the uploaded header had one (ISO text under any of the keys the
    input layer uses), else None: times are then shown from the start of the recording."""
    for meta in (input_meta or {}, (result_meta or {}).get("summary") or {}, result_meta or {}):
        for key in ("start_datetime", "base_datetime", "start_time", "recording_start"):
            value = meta.get(key) if isinstance(meta, dict) else None
            if isinstance(value, str) and value:
                try:
                    return datetime.fromisoformat(value).replace(tzinfo=None)
                except ValueError:
                    continue
    return None


def patient_facts(analysis: Analysis) -> dict | None:
    patient = analysis.patient
    if patient is None:
        return None
    return {
        "name": patient.name,
        "date_of_birth": patient.date_of_birth,
        "sex": patient.sex,
        "external_id": patient.external_id,
    }


def report_data(
    analysis: Analysis,
    *,
    read_window=None,
    families: list[dict] | None = None,
    changes: list[dict] | None = None,
    start: datetime | None = None,
    generated_by: str = "",
) -> ReportData:
    """The report of one recording analysis; ``read_window`` gives the event strips (none without it)."""
    result = analysis.result if isinstance(analysis.result, dict) else {}
    meta = analysis.input if isinstance(analysis.input, dict) else {}
    summary = result.get("summary") or {}
    cols = beat_columns(result)
    duration = float(summary.get("duration_s") or (cols["time_s"][-1] if len(cols["time_s"]) else 0.0))
    width = bin_seconds(duration, TREND_MAX_BINS)
    n_bins = max(int(np.ceil(duration / width)), 1)
    counts = summary.get("beat_counts") or {c: int((cols["label"] == c).sum()) for c in CLASSES}
    events = stored_events(result)
    return ReportData(
        title=analysis.filename or f"Recording {analysis.id}",
        patient=patient_facts(analysis),
        recording={
            "filename": analysis.filename,
            "start": start,
            "uploaded": analysis.created_at,
            "duration_s": duration,
            "sampling_rate": meta.get("sampling_rate"),
            "leads": meta.get("leads") or [meta.get("lead") or "ECG"],
            "model_version": analysis.model_version,
            "analysis_id": analysis.id,
        },
        summary=summary,
        beat_counts=counts,
        hourly=hourly_rows(result, cols),
        trend_bin_s=width,
        trend_start_s=[i * width for i in range(n_bins)],
        trend_bpm=heart_rate_trend(cols["time_s"], cols["rr_s"], width, n_bins),
        events=events,
        strips=event_strips(events, read_window) if read_window else [],
        families=families if families is not None else columns_to_rows(result.get("families")),
        changes=changes or [],
        generated_by=generated_by,
    )
