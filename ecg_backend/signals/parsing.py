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

import numpy as np

from ecg_backend.input_errors import MALFORMED, UNSUPPORTED, InputError
from ecg_backend.signals import csv_input, wfdb_input
from ecg_backend.signals.input_fields import decode_text, parse_flag
from ecg_backend.signals.leads import (
    MAX_FS,
    MAX_LEADS,
    MAX_SAMPLES,
    MAX_SIGNAL_BYTES,
    MIN_FS,
    MIN_SECONDS,
    SINGLE_LEAD_HINT,
    TIME_COLUMNS,
    ParsedRecording,
    check_budget,
    check_fs,
    choose_lead,
    finish,
    lead_names,
)

__all__ = [
    "MAX_FS",
    "MAX_LEADS",
    "MAX_SAMPLES",
    "MAX_SIGNAL_BYTES",
    "MIN_FS",
    "MIN_SECONDS",
    "ParsedRecording",
    "check_budget",
    "check_fs",
    "choose_lead",
    "decode_text",
    "finish",
    "parse_csv",
    "parse_flag",
    "parse_json_signal",
    "parse_upload",
]


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
    hint = f"; {SINGLE_LEAD_HINT}" if other else ""
    where = "'signal'" if only else f"lead {name!r} of 'signal'"
    if not isinstance(values, list):
        raise InputError(
            f"lead {name!r} in 'signal' must be a list of numbers{hint}", details={"field": "signal", "lead": name}
        )
    array = None
    if set(map(type, values)) <= {float, int, type(None)}:  # bools are ints to Python: types checked exactly
        try:
            array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except OverflowError:  # an integer with hundreds of digits
            array = None
    if array is None:
        sample = next(i for i, v in enumerate(values, start=1) if not _json_number(v))
        raise InputError(
            f"sample {sample} of {where} is not a number; {where} must contain only numbers (null "
            f"marks a missing sample){hint}",
            details={"field": "signal", "lead": name, "sample": sample},
        )
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
    labels = {
        col: (f"lead {names[i]!r}", "" if i == index else f" ({SINGLE_LEAD_HINT})") for i, col in enumerate(lead_cols)
    }
    labels[time_idx] = ("the time column", "")
    values = csv_input.read_columns(table, used + ([time_idx] if use_time else []), labels)
    fs = _fs_from_time(values[time_idx]) if use_time else check_fs(sampling_rate)

    def columns(i):
        return values[lead_cols[i]]

    return finish(columns(index), fs, names, index, source="csv", columns=None if single else columns)


def _fs_from_time(times: np.ndarray) -> float:
    steps = np.diff(times[np.isfinite(times)])
    if len(steps) < 2 or np.median(steps) <= 0:
        raise InputError("the time column must increase steadily (seconds)", details={"field": "time"})
    step = float(np.median(steps))
    if np.any(np.abs(steps - step) > 0.5 * step):
        raise InputError(
            "the time column has irregular steps; resample to a fixed rate first", details={"field": "time"}
        )
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
        return parse_json_signal(
            _json_file(content), lead=lead, sampling_rate=sampling_rate or None, single_lead=single
        )
    shown = (ext or name)[:40]
    raise InputError(f"unsupported file type {shown!r}; send .csv, .json, .edf, .hea + .dat or .zip", kind=UNSUPPORTED)


def _json_file(content):
    if not isinstance(content, (bytes, bytearray, str)):
        with open(content, "rb") as fh:
            content = fh.read()
    text = decode_text(content, "the JSON file")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise InputError("the JSON file is not valid JSON (or nests too deeply)", kind=MALFORMED) from None
