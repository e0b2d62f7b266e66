"""A recording's reading as files: beats and events as CSV, and WFDB annotations (with the record's header).

The annotation file (``<record>.ecg``) holds one annotation per beat with its class (N, S, V, Q) and the
events as rhythm annotations (``+`` with an aux note such as ``(VT``, back to ``(N`` at the event's end), so
``wfdb.rdann(record, "ecg")`` and PhysioNet's viewers read it beside the record.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import zipfile

import numpy as np

from ecg_backend.models import User
from ecg_backend.services import storage
from ecg_backend.services.review import bulk, get_recording, rows_of
from ecg_backend.signals.store import StoredSignal

BEAT_FIELDS = ("index", "time_s", "clock", "r_peak", "rr_s", "label", "label_source", "family", "score", "confidence")
EVENT_FIELDS = ("type", "start_s", "end_s", "start_clock", "duration_s", "n_beats", "rate_bpm")
# rhythm annotation aux notes: WFDB's own codes where one exists
RHYTHM_NOTES = {
    "run": "(VT",
    "bigeminy": "(B",
    "trigeminy": "(T",
    "ventricular_flutter": "(VFL",
    "bradycardia": "(SBR",
    "tachycardia": "(TACHY",
    "couplet": "(COUPLET",
    "triplet": "(TRIPLET",
    "pause": "(PAUSE",
}
_SAFE_RECORD = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def clock(seconds) -> str | None:
    """Seconds from the start as h:mm:ss.mmm."""
    if seconds is None:
        return None
    ms = round(float(seconds) * 1000)
    return f"{ms // 3_600_000}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _csv(fields: tuple, rows) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@bulk
def beats_csv(owner: User, analysis_id: int) -> str:
    """One row per beat: time, class, where the class came from, family, score."""
    beats = (get_recording(owner, analysis_id).result or {}).get("beats") or {}
    rows = rows_of(beats)
    for index, row in enumerate(rows):
        row["index"], row["clock"] = index, clock(row.get("time_s"))
    return _csv(BEAT_FIELDS, rows)


@bulk
def events_csv(owner: User, analysis_id: int) -> str:
    """One row per rhythm event, by start time."""
    rows = sorted(
        rows_of((get_recording(owner, analysis_id).result or {}).get("events")), key=lambda r: r.get("start_s") or 0
    )
    for row in rows:
        row["start_clock"] = clock(row.get("start_s"))
        if row.get("start_s") is not None and row.get("end_s") is not None:
            row["duration_s"] = round(float(row["end_s"]) - float(row["start_s"]), 3)
    return _csv(EVENT_FIELDS, rows)


def record_name(analysis) -> str:
    """The uploaded record's name when it is a plain WFDB name, else ``recording<id>``."""
    stem = os.path.splitext(os.path.basename((analysis.input or {}).get("filename") or ""))[0]
    return stem if _SAFE_RECORD.match(stem) else f"recording{analysis.id}"


def wfdb_header(signal: StoredSignal, name: str) -> str:
    """A WFDB header describing the stored signal as 16-bit samples (its own gains, or 1000 per unit)."""
    lines = [f"{name} {len(signal.leads)} {signal.fs:g} {signal.n_samples}"]
    samples = signal.array("samples")
    for j, lead in enumerate(signal.leads):
        gain = lead.gain if signal.is_digital else 1000.0
        digital = _digital(signal, samples, j, gain)
        first = int(digital[0]) if len(digital) else 0
        checksum = int(np.sum(digital, dtype=np.int64)) % 65536
        checksum = checksum - 65536 if checksum >= 32768 else checksum
        description = re.sub(r"\s+", "_", lead.name) or f"lead{j}"
        lines.append(
            f"{name}.dat 16 {gain:g}({lead.baseline if signal.is_digital else 0})/{lead.unit or 'mV'} "
            f"16 0 {first} {checksum} 0 {description}"
        )
    return "\n".join(lines) + "\n"


def _digital(signal: StoredSignal, samples, j: int, gain: float) -> np.ndarray:
    if signal.is_digital:
        return samples[:, j]  # summed in place below: no copy of 24 h
    values = np.round(np.nan_to_num(np.asarray(samples[:, j], dtype=np.float64), nan=-32.768) * gain)
    return np.clip(values, -32768, 32767).astype(np.int64)


def _annotations(result: dict) -> tuple[np.ndarray, list, list]:
    """Beat classes and rhythm events as WFDB annotations in sample order."""
    beats = result.get("beats") or {}
    fs = float((result.get("summary") or {}).get("sampling_rate") or 0) or None
    marks = [(int(s), 1, label or "Q", "") for s, label in zip(beats.get("r_peak") or [], beats.get("label") or [])]
    for event in rows_of(result.get("events")):
        note = RHYTHM_NOTES.get(event.get("type"), f"({str(event.get('type', 'EVENT')).upper()}")
        if fs and event.get("start_s") is not None and event.get("end_s") is not None:
            marks.append((round(float(event["start_s"]) * fs), 0, "+", note))
            marks.append((round(float(event["end_s"]) * fs), 2, "+", "(N"))
    marks.sort()
    return (np.asarray([m[0] for m in marks], dtype=np.int64), [m[2] for m in marks], [m[3] for m in marks])


@bulk
def annotations_zip(owner: User, analysis_id: int) -> tuple[str, bytes]:
    """``(record name, zip bytes)``: ``<record>.hea`` and ``<record>.ecg``."""
    import wfdb

    analysis = get_recording(owner, analysis_id)
    signal = storage.open_recording_signal(analysis)
    name = record_name(analysis)
    sample, symbol, aux = _annotations(
        {
            **(analysis.result or {}),
            "summary": {**((analysis.result or {}).get("summary") or {}), "sampling_rate": signal.fs},
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        if len(sample):
            wfdb.wrann(name, "ecg", sample, symbol=symbol, aux_note=aux, fs=signal.fs, write_dir=folder)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{name}.hea", wfdb_header(signal, name))
            if len(sample):
                archive.write(os.path.join(folder, f"{name}.ecg"), f"{name}.ecg")
    return name, buffer.getvalue()
