"""Recording uploads -> the chosen lead, the other leads and the sampling rate, validated.

Accepted: a CSV with one column per lead (optional time column), a WFDB record (.hea + .dat, optional
.atr; as separate files or one zip), an EDF/EDF+ file and JSON ``{"signal": [...], "sampling_rate": 360}``
where ``signal`` is one lead or a list of leads. The chosen lead (``lead``, default MLII or the first) is
the primary one; the other leads travel along as ``extra_leads`` (float32) for the morphology features,
unless ``single_lead`` is set.

Every format checks the same budgets before it reads the samples (`check_budget`: samples, leads and the
memory the parsed arrays take), and every problem raises `InputError` with a kind and a message the
client can act on. An uploaded file is ``bytes`` or the path of a file the web layer streamed to disk.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from ecg_backend.input_errors import MALFORMED, TOO_LARGE, UNSUPPORTED, InputError
from ecg_backend.signals.input_fields import (
    check_unicode,
    decode_text,
    human_bytes,
    parse_flag,
    parse_number,
)

MIN_FS, MAX_FS = 100.0, 1000.0
MIN_SECONDS = 2.0
MAX_SAMPLES = 24 * 3600 * 1000  # 24 h at 1 kHz
MAX_LEADS = 16  # an ECG has at most 12-15 leads; Holters 2-3
MAX_SIGNAL_BYTES = 512 << 20  # the parsed arrays: the chosen lead float64, each other lead float32
MAX_LEAD_NAME = 64
TIME_COLUMNS = ("time", "time_s", "t", "seconds", "sec", "timestamp", "elapsed time", "elapsed_time")
_SINGLE_LEAD_HINT = "fix or leave out that lead, or send single_lead=true to analyse the chosen lead alone"
__all__ = ["MAX_FS", "MAX_LEADS", "MAX_SAMPLES", "MAX_SIGNAL_BYTES", "MIN_FS", "MIN_SECONDS", "ParsedRecording",
           "check_budget", "check_fs", "choose_lead", "decode_text", "finish", "parse_csv", "parse_flag",
           "parse_json_signal", "parse_upload"]


@dataclass
class ParsedRecording:
    """The chosen lead ready for `analyze_recording`, the other leads, plus what the upload held."""

    signal: np.ndarray
    fs: float
    lead: str
    leads: list = field(default_factory=list)
    source: str = ""
    annotations: dict | None = None  # WFDB .atr if uploaded: {"sample": [...], "symbol": [...]}
    # The other leads (n_samples, k) float32 for `analyze_recording(extra_leads=...)`, in upload order,
    # and their names; None / [] for a one-lead upload or with single_lead.
    extra_leads: np.ndarray | None = None
    extra_names: list = field(default_factory=list)


def check_fs(fs, name: str = "sampling_rate") -> float:
    """A sampling rate as float in 100-1000 Hz, else InputError naming ``name``."""
    return parse_number(fs, name, low=MIN_FS, high=MAX_FS, unit="Hz")


def check_budget(n_samples: int, n_leads: int, what: str = "the recording") -> None:
    """Refuse, before reading, a recording whose samples, leads or parsed arrays exceed the budgets.

    Args:
        n_samples: samples per lead (as the header or a line count says).
        n_leads: leads that will be read (the chosen one plus the others, or 1 with single_lead).
    """
    if n_leads > MAX_LEADS:
        raise InputError(f"{what} has {n_leads} leads; at most {MAX_LEADS} are accepted (send the leads to "
                         "analyse, or one lead with single_lead=true)", kind=TOO_LARGE,
                         details={"n_leads": n_leads, "max_leads": MAX_LEADS})
    if n_samples > MAX_SAMPLES:
        raise InputError(f"{what} has {n_samples} samples per lead; the limit is {MAX_SAMPLES} (24 h at 1 kHz)",
                         kind=TOO_LARGE, details={"n_samples": n_samples, "max_samples": MAX_SAMPLES})
    needed = n_samples * (8 + 4 * max(n_leads - 1, 0))
    if needed > MAX_SIGNAL_BYTES:
        raise InputError(f"{what} ({n_samples} samples x {n_leads} leads) needs {human_bytes(needed)} to analyse; "
                         f"the limit is {human_bytes(MAX_SIGNAL_BYTES)}: send fewer leads (single_lead=true) or a "
                         "shorter recording", kind=TOO_LARGE,
                         details={"n_samples": n_samples, "n_leads": n_leads, "max_bytes": MAX_SIGNAL_BYTES})


def choose_lead(names: list[str], lead=None) -> int:
    """Index of the requested lead (name or 0-based index); default MLII when present, else the first."""
    if lead is None or lead == "":
        for i, name in enumerate(names):
            if name.strip().upper() in ("MLII", "ML2", "II"):
                return i
        return 0
    text = str(lead).strip()
    for i, name in enumerate(names):
        if name.strip().lower() == text.lower():
            return i
    if text.isascii() and text.lstrip("-").isdigit() and len(text) < 6:
        index = int(text)
        if 0 <= index < len(names):
            return index
    shown = text if len(text) <= 40 else text[:37] + "..."
    raise InputError(f"lead {shown!r} not found; available leads: {', '.join(names)}",
                     details={"field": "lead", "leads": names})


def lead_names(names, n_leads: int) -> list[str]:
    """Lead names as strings of valid Unicode, at most `MAX_LEAD_NAME` characters ("lead i" when absent)."""
    out = []
    for i in range(n_leads):
        name = str(names[i]).strip() if names is not None and i < len(names) and names[i] is not None else ""
        check_unicode(name, "a lead name")
        out.append(name[:MAX_LEAD_NAME] or f"lead {i}")
    return out


def _check_lead(column, name: str | None = None) -> np.ndarray:
    """The chosen lead's samples as float64, another lead's as float32 (as the job stores them; no float64
    copy of a 24-h lead); InputError when it is not 1-D, holds no number or an infinite value (for another
    lead, also a value beyond float32's range, which storing it would make infinite).

    ``name`` None means the chosen lead; another lead's messages name it and say how to leave it out.
    """
    with np.errstate(over="ignore"):  # an overflow to inf is reported below, naming the sample
        column = np.asarray(column, dtype=np.float64 if name is None else np.float32)
    which, hint, details = (("the chosen lead", "", {}) if name is None
                            else (f"lead {name!r}", f"; {_SINGLE_LEAD_HINT}", {"lead": name}))
    if column.ndim != 1:
        raise InputError(f"{which} must be a flat list of numbers{hint}", details=details)
    if not np.isfinite(column).any():
        raise InputError(f"{which} holds no numeric samples{hint}", details=details)
    infinite = np.isinf(column)
    if infinite.any():
        sample = int(np.argmax(infinite)) + 1
        too_large = "" if name is None else " or beyond float32's range (3.4e38)"
        raise InputError(f"sample {sample} of {which} is infinite{too_large}; samples must be finite numbers (leave a gap "
                         f"for a missing sample){hint}", details={**details, "sample": sample})
    return column


def _is_flat(column: np.ndarray) -> bool:
    # fmax/fmin skip NaN without a copy of the finite samples (the lead holds one, and no inf)
    return bool(np.fmax.reduce(column) == np.fmin.reduce(column))


def _extra_leads(columns, names, index, n_samples, out=None) -> tuple[np.ndarray | None, list]:
    """The leads other than ``index`` as one float32 (n_samples, k) array, each checked like the chosen one
    (`_check_lead`), and also for its length and for being flat.

    Args:
        columns: one 1-D array per lead name, or a callable ``i -> array`` (read lazily, one at a time).
        out: the float32 (n_samples, k) array to fill, when the reader built it already; a column that
            is a view of it is checked in place, not copied.
    """
    others = [i for i in range(len(names)) if i != index]
    if not others:
        return None, []
    extra = np.empty((n_samples, len(others)), dtype=np.float32) if out is None else out
    for k, i in enumerate(others):
        name = names[i]
        column = _check_lead(columns(i) if callable(columns) else columns[i], name)
        if len(column) != n_samples:
            raise InputError(f"lead {name!r} has {len(column)} samples but lead {names[index]!r} has {n_samples}; "
                             f"every lead needs the same length ({_SINGLE_LEAD_HINT})",
                             details={"lead": name, "n_samples": len(column), "expected": n_samples})
        if _is_flat(column):
            raise InputError(f"lead {name!r} is flat (one value throughout); {_SINGLE_LEAD_HINT}",
                             details={"lead": name})
        if not np.may_share_memory(column, extra[:, k]):
            extra[:, k] = column
    return extra, [names[i] for i in others]


def finish(signal, fs, names, index, source, annotations=None, columns=None, out=None) -> ParsedRecording:
    """Validate the chosen lead (and, with ``columns``, the others: `_extra_leads`) into a ParsedRecording.

    A chosen lead that is flat (one value throughout: a lead off, a constant export) is an error naming it:
    it has no beats to find.
    """
    signal = _check_lead(signal)
    check_budget(len(signal), 1)
    if len(signal) < MIN_SECONDS * fs:
        raise InputError(f"the recording is {len(signal) / fs:.2f} s long; at least {MIN_SECONDS:g} s are needed")
    if _is_flat(signal):
        others = [n for i, n in enumerate(names) if i != index]
        hint = f"choose another lead with lead= ({', '.join(others)})" if others else "check the recording"
        raise InputError(f"lead {names[index]!r} is flat (one value throughout), so it holds no heartbeats; {hint}",
                         details={"field": "lead", "lead": names[index]})
    extra, extra_names = (_extra_leads(columns, names, index, len(signal), out=out) if columns is not None
                          else (None, []))
    return ParsedRecording(signal=signal, fs=fs, lead=names[index], leads=list(names), source=source,
                           annotations=annotations, extra_leads=extra, extra_names=extra_names)


# ---------------------------------------------------------------------------- JSON
def parse_json_signal(payload, lead=None, sampling_rate=None, single_lead=None) -> ParsedRecording:
    """``{"signal": [...] | [[...], [...]], "sampling_rate": 360, "leads": [names]?, "single_lead": false?}``."""
    if not isinstance(payload, dict):
        raise InputError("the JSON body must be an object with 'signal' and 'sampling_rate'")
    if "signal" not in payload:
        raise InputError("missing 'signal': a list of samples, or a list of leads", details={"field": "signal"})
    fs = check_fs(payload.get("sampling_rate", sampling_rate) if sampling_rate is None else sampling_rate)
    raw = payload["signal"]
    if not isinstance(raw, list) or not raw:
        raise InputError("'signal' must be a non-empty list", details={"field": "signal"})
    leads = raw if isinstance(raw[0], list) else [raw]
    names = payload.get("leads") or [f"lead {i}" for i in range(len(leads))]
    if not isinstance(names, list) or len(names) != len(leads):
        raise InputError("'leads' must name each lead in 'signal'", details={"field": "leads"})
    names = lead_names(names, len(leads))
    index = choose_lead(names, lead if lead is not None else payload.get("lead"))
    single = parse_flag(payload.get("single_lead") if single_lead is None else single_lead, "single_lead")
    check_budget(max(len(v) if isinstance(v, list) else 0 for v in leads), 1 if single else len(leads))

    def column(i):
        return _json_lead(leads[i], names[i], len(leads) == 1, i != index)
    return finish(column(index), fs, names, index, source="json", columns=None if single else column)


def _json_lead(values, name: str, only: bool, other: bool) -> np.ndarray:
    """One lead of a JSON ``signal`` as float64: numbers and null (a missing sample), nothing else."""
    hint = f"; {_SINGLE_LEAD_HINT}" if other else ""
    where = "'signal'" if only else f"lead {name!r} of 'signal'"
    if not isinstance(values, list):
        raise InputError(f"lead {name!r} in 'signal' must be a list of numbers{hint}",
                         details={"field": "signal", "lead": name})
    array = None
    if set(map(type, values)) <= {float, int, type(None)}:  # bools are ints to Python: types checked exactly
        try:
            array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except OverflowError:  # an integer with hundreds of digits
            array = None
    if array is None:
        sample = next(i for i, v in enumerate(values, start=1) if not _json_number(v))
        raise InputError(f"sample {sample} of {where} is not a number; {where} must contain only numbers (null "
                         f"marks a missing sample){hint}",
                         details={"field": "signal", "lead": name, "sample": sample})
    return array


def _json_number(value) -> bool:
    if value is None or type(value) is float:
        return True
    try:
        return type(value) is int and bool(float(value) or True)
    except OverflowError:
        return False


# ---------------------------------------------------------------------------- CSV
def parse_csv(data, sampling_rate=None, lead=None, single_lead=False) -> ParsedRecording:
    """One column per lead, optional header and time column (seconds) that gives the rate when none is passed.

    ``data`` is text, bytes or the path of the uploaded file. Every row is checked against the column and
    line-length caps (`csv_input.scan_rows`) and the budget before a number is parsed. A cell that is not a
    number is an error in any lead that is used (the chosen one, and the others unless ``single_lead``);
    an empty cell is a missing sample.
    """
    from ecg_backend.signals import csv_input

    table = csv_input.read_table(data)
    time_idx = next((i for i, n in enumerate(table.names) if n.lower() in TIME_COLUMNS), None)
    lead_cols = [i for i in range(len(table.names)) if i != time_idx]
    if not lead_cols:
        raise InputError("the CSV has no lead column besides the time column")
    names = [table.names[i] for i in lead_cols]
    index = choose_lead(names, lead)
    single = parse_flag(single_lead, "single_lead")
    use_time = time_idx is not None and sampling_rate in (None, "")
    if not use_time and sampling_rate in (None, ""):
        raise InputError("give sampling_rate (Hz) or add a time column in seconds", details={"field": "sampling_rate"})
    used = [lead_cols[index]] if single else lead_cols
    check_budget(table.n_rows, len(used))
    labels = {col: (f"lead {names[i]!r}", "" if i == index else f" ({_SINGLE_LEAD_HINT})")
              for i, col in enumerate(lead_cols)}
    labels[time_idx] = ("the time column", "")
    values = csv_input.read_columns(table, used + ([time_idx] if use_time else []), labels)
    fs = _fs_from_time(values[time_idx]) if use_time else check_fs(sampling_rate)
    columns = (lambda i: values[lead_cols[i]])
    return finish(columns(index), fs, names, index, source="csv", columns=None if single else columns)


def _fs_from_time(times: np.ndarray) -> float:
    steps = np.diff(times[np.isfinite(times)])
    if len(steps) < 2 or np.median(steps) <= 0:
        raise InputError("the time column must increase steadily (seconds)", details={"field": "time"})
    step = float(np.median(steps))
    if np.any(np.abs(steps - step) > 0.5 * step):
        raise InputError("the time column has irregular steps; resample to a fixed rate first",
                         details={"field": "time"})
    fs = 1.0 / step
    if fs < MIN_FS <= fs * 1000.0 <= MAX_FS:  # a time column in milliseconds
        fs *= 1000.0
    return check_fs(round(fs, 6), "the time column's sampling rate")


# ---------------------------------------------------------------------------- dispatch
def parse_upload(files: dict, upload_dir, sampling_rate=None, lead=None, single_lead=None) -> ParsedRecording:
    """Route uploaded files by extension: .csv/.txt/.tsv, .json, .edf, WFDB (.hea/.dat/.atr) or .zip.

    Args:
        files: ``{file name: bytes or path of the uploaded file}``.
        upload_dir: where a WFDB record's files are put together for reading (a temporary folder, removed).
        single_lead: true/false (default false): keep only the chosen lead; otherwise the other leads of
            the upload come along as ``extra_leads``.
    """
    from ecg_backend.signals import wfdb_input

    if not files:
        raise InputError("no file uploaded; send a CSV, JSON, EDF, WFDB (.hea + .dat) or zip file", kind=MALFORMED)
    single = parse_flag(single_lead, "single_lead")
    exts = {os.path.splitext(n)[1].lower() for n in files}
    if exts & {".hea", ".dat", ".atr", ".zip"}:
        return wfdb_input.parse_wfdb(files, upload_dir, lead=lead, single_lead=single, sampling_rate=sampling_rate)
    if len(files) != 1:
        raise InputError("upload one CSV, JSON or EDF file (several files only for a WFDB record)", kind=MALFORMED)
    name, content = next(iter(files.items()))
    ext = os.path.splitext(name)[1].lower()
    if ext in (".csv", ".txt", ".tsv"):
        return parse_csv(content, sampling_rate=sampling_rate, lead=lead, single_lead=single)
    if ext in (".edf", ".edf+"):
        return wfdb_input.parse_edf(content, lead=lead, single_lead=single)
    if ext == ".json":
        return parse_json_signal(_json_file(content), lead=lead, sampling_rate=sampling_rate or None,
                                 single_lead=single)
    shown = (ext or name)[:40]
    raise InputError(f"unsupported file type {shown!r}; send .csv, .json, .edf, .hea + .dat or .zip",
                     kind=UNSUPPORTED)


def _json_file(content):
    if not isinstance(content, (bytes, bytearray, str)):
        with open(content, "rb") as fh:
            content = fh.read()
    text = decode_text(content, "the JSON file")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise InputError("the JSON file is not valid JSON (or nests too deeply)", kind=MALFORMED) from None

