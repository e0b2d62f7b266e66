"""Recording uploads -> the chosen lead, the other leads and the sampling rate, validated.

Accepted: a CSV with one column per lead (optional time column), a WFDB record (.hea + .dat, optional
.atr; as separate files or one zip) and JSON ``{"signal": [...], "sampling_rate": 360}`` where
``signal`` is one lead or a list of leads. The chosen lead (``lead``, default MLII or the first) is the
primary one; the other leads travel along as ``extra_leads`` (float32) for the morphology features,
unless ``single_lead`` is set. Every problem raises `InputError` with a message the client can act on.
"""
from __future__ import annotations

import codecs
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecg_backend.errors import InputError

MIN_FS, MAX_FS = 100.0, 1000.0
MIN_SECONDS = 2.0
MAX_SAMPLES = 24 * 3600 * 1000  # 24 h at 1 kHz
ZIP_MAX_MEMBERS = 20
ZIP_MAX_TOTAL = 1 << 30  # 1 GiB uncompressed
ZIP_MAX_RATIO = 200
MAX_CSV_COLUMNS = 64  # leads + a time column; wider files are refused before pandas spends minutes on them
TIME_COLUMNS = ("time", "time_s", "t", "seconds", "sec", "timestamp", "elapsed time", "elapsed_time")
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError,
                    ValueError)
WFDB_READ_SAMPLES = 1 << 20  # samples per lead read from a .dat file at a time
# WFDB formats wfdb-python reads from any sample on (not 8, first differences, nor the FLAC ones)
_WFDB_SEEKABLE_FORMATS = {"16", "61", "80", "160", "212", "310", "311", "24", "32"}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,100}$")
# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
         (codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))


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


def parse_flag(value, name: str) -> bool:
    """A form/JSON boolean: true/false, 1/0, yes/no, on/off (absent or empty: False)."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InputError(f"{name} must be true or false, got {value!r}", details={"field": name})


def check_fs(fs) -> float:
    """A sampling rate as float in 100-1000 Hz, else InputError."""
    try:
        value = float(fs)
    except (TypeError, ValueError):
        raise InputError(f"sampling_rate must be a number in Hz, got {fs!r}", details={"field": "sampling_rate"})
    if not np.isfinite(value) or not (MIN_FS <= value <= MAX_FS):
        raise InputError(f"sampling_rate must be between {MIN_FS:g} and {MAX_FS:g} Hz, got {value:g}",
                         details={"field": "sampling_rate"})
    return value


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
    if text.lstrip("-").isdigit():
        index = int(text)
        if 0 <= index < len(names):
            return index
    raise InputError(f"lead {lead!r} not found; available leads: {', '.join(names)}",
                     details={"field": "lead", "leads": names})


_SINGLE_LEAD_HINT = "fix or leave out that lead, or send single_lead=true to analyse the chosen lead alone"


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
        # fmax/fmin skip NaN without a copy of the finite samples (the lead holds one, and no inf)
        if np.fmax.reduce(column) == np.fmin.reduce(column):
            raise InputError(f"lead {name!r} is flat (one value throughout); {_SINGLE_LEAD_HINT}",
                             details={"lead": name})
        if not np.may_share_memory(column, extra[:, k]):
            extra[:, k] = column
    return extra, [names[i] for i in others]


def _finish(signal, fs, names, index, source, annotations=None, columns=None, out=None) -> ParsedRecording:
    """Validate the chosen lead (and, with ``columns``, the others: `_extra_leads`) into a ParsedRecording."""
    signal = _check_lead(signal)
    if len(signal) > MAX_SAMPLES:
        raise InputError(f"the recording has {len(signal)} samples; the limit is {MAX_SAMPLES}", status=413)
    if len(signal) < MIN_SECONDS * fs:
        raise InputError(f"the recording is {len(signal) / fs:.2f} s long; at least {MIN_SECONDS:g} s are needed")
    extra, extra_names = (_extra_leads(columns, names, index, len(signal), out=out) if columns is not None
                          else (None, []))
    return ParsedRecording(signal=signal, fs=fs, lead=names[index], leads=list(names), source=source,
                           annotations=annotations, extra_leads=extra, extra_names=extra_names)


def decode_text(data: bytes | str, what: str = "the file") -> str:
    """Text of an uploaded file, decoded by its byte-order mark.

    UTF-8 with or without a BOM, and UTF-16 / UTF-32 (little or big endian) with one: Excel's
    "Unicode text" export is UTF-16 LE with a BOM. The BOM is not part of the returned text.

    Args:
        data: the uploaded bytes (``str`` is returned without leading BOMs).
        what: how messages name the input, e.g. ``"the CSV file"``.

    Raises:
        InputError: 422 when the bytes are not valid text in that encoding (naming the first bad byte),
            or hold NUL characters (binary files, UTF-16 saved without a BOM).
    """
    if isinstance(data, str):
        text = data.lstrip("\ufeff")
    else:
        bom, codec, label = next((row for row in _BOMS if data.startswith(row[0])), (b"", "utf-8", "UTF-8"))
        try:
            text = data[len(bom):].decode(codec)
        except UnicodeDecodeError as exc:
            byte = len(bom) + exc.start + 1
            raise InputError(f"{what} is not {label} text (byte {byte} cannot be decoded); save it as UTF-8 "
                             "(or as UTF-16 with a byte-order mark, Excel's \"Unicode text\")", status=422,
                             details={"encoding": label, "byte": byte}) from None
    if "\x00" in text:
        raise InputError(f"{what} contains NUL characters, so it is not plain text (a binary file, or UTF-16 "
                         "saved without a byte-order mark); save it as UTF-8", status=422,
                         details={"encoding": "unknown"})
    return text


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
    names = [str(n) for n in names]
    index = choose_lead(names, lead if lead is not None else payload.get("lead"))
    single = parse_flag(payload.get("single_lead") if single_lead is None else single_lead, "single_lead")

    def column(i):
        values = leads[i]
        hint = "" if i == index else f"; {_SINGLE_LEAD_HINT}"
        if not isinstance(values, list):
            raise InputError(f"lead {names[i]!r} in 'signal' must be a list of numbers{hint}",
                             details={"field": "signal", "lead": names[i]})
        try:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except (TypeError, ValueError):
            where = "'signal'" if len(leads) == 1 else f"lead {names[i]!r} of 'signal'"
            raise InputError(f"{where} must contain only numbers (null marks a missing sample){hint}",
                             details={"field": "signal", "lead": names[i]})
    return _finish(column(index), fs, names, index, source="json", columns=None if single else column)


# ---------------------------------------------------------------------------- CSV
def parse_csv(data: bytes | str, sampling_rate=None, lead=None, single_lead=False) -> ParsedRecording:
    """One column per lead, optional header and time column (seconds) that gives the rate when none is passed.

    A cell that is not a number is an error in any lead that is used (the chosen one, and the others
    unless ``single_lead``); an empty cell is a missing sample.
    """
    import pandas as pd

    text = decode_text(data, "the CSV file")
    if not text.strip():
        raise InputError("the CSV file is empty")
    first = text.lstrip().splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ("\t" if "\t" in first else ",")
    cells = [c.strip().strip('"') for c in first.split(delimiter)]
    if len(cells) > MAX_CSV_COLUMNS:
        raise InputError(f"the CSV has {len(cells)} columns; at most {MAX_CSV_COLUMNS} (one per lead, plus time) "
                         "are accepted", status=413, details={"n_columns": len(cells)})
    has_header = any(_not_number(c) for c in cells)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=0 if has_header else None,
                            dtype=str, keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"the CSV file could not be read: {exc}".split("\n")[0])
    names = [str(c).strip() for c in frame.columns] if has_header else [f"lead {i}" for i in range(frame.shape[1])]
    time_idx = next((i for i, n in enumerate(names) if n.lower() in TIME_COLUMNS), None)

    def numeric(j):  # one column at a time: no float64 copy of every column at once
        return pd.to_numeric(frame.iloc[:, j], errors="coerce").to_numpy(dtype=np.float64)
    fs = _fs_from_time(numeric(time_idx)) if time_idx is not None and sampling_rate in (None, "") else None
    if fs is None:
        if sampling_rate in (None, ""):
            raise InputError("give sampling_rate (Hz) or add a time column in seconds", details={"field": "sampling_rate"})
        fs = check_fs(sampling_rate)
    lead_cols = [i for i in range(len(names)) if i != time_idx]
    if not lead_cols:
        raise InputError("the CSV has no lead column besides the time column")
    lead_names = [names[i] for i in lead_cols]
    index = choose_lead(lead_names, lead)
    single = parse_flag(single_lead, "single_lead")

    def column(i):
        values_i = numeric(lead_cols[i])
        bad = frame.iloc[:, lead_cols[i]].str.strip().ne("") & ~np.isfinite(values_i)
        if bad.any():
            row = int(np.argmax(bad.to_numpy())) + (2 if has_header else 1)
            hint = "" if i == index else f" ({_SINGLE_LEAD_HINT})"
            raise InputError(f"row {row} of lead {lead_names[i]!r} is not a number; leave a cell empty for a "
                             f"missing sample{hint}", details={"row": row, "lead": lead_names[i]})
        return values_i
    return _finish(column(index), fs, lead_names, index, source="csv", columns=None if single else column)


def _not_number(cell: str) -> bool:
    try:
        float(cell)
        return False
    except ValueError:
        return cell != ""


def _fs_from_time(times: np.ndarray) -> float:
    steps = np.diff(times[np.isfinite(times)])
    if len(steps) < 2 or np.median(steps) <= 0:
        raise InputError("the time column must increase steadily (seconds)", details={"field": "time"})
    step = float(np.median(steps))
    if np.any(np.abs(steps - step) > 0.5 * step):
        raise InputError("the time column has irregular steps; resample to a fixed rate first",
                         details={"field": "time"})
    fs = 1.0 / step
    if fs < MIN_FS and MIN_FS <= fs * 1000.0 <= MAX_FS:  # a time column in milliseconds
        fs *= 1000.0
    return check_fs(round(fs, 6))


# ---------------------------------------------------------------------------- WFDB
def parse_wfdb(files: dict[str, bytes], upload_dir: str | os.PathLike, lead=None,
               single_lead=False) -> ParsedRecording:
    """A WFDB record from uploaded files: ``{"100.hea": b"...", "100.dat": b"...", "100.atr"?: ...}`` or one zip.

    Files are written to a fresh temporary folder inside ``upload_dir`` (removed afterwards); zip
    members with folders, absolute paths or ``..`` are refused, as are zip bombs.
    """
    if len(files) == 1 and next(iter(files)).lower().endswith(".zip"):
        files = _unzip(next(iter(files.values())))
    named = {}
    for name, content in files.items():
        base = os.path.basename(name.replace("\\", "/"))
        if not _SAFE_NAME.match(base) or base.startswith("."):
            raise InputError(f"file name {name!r} is not allowed; use letters, digits, '_', '-', '.'")
        named[base] = content
    headers = [n for n in named if n.lower().endswith(".hea")]
    if len(headers) != 1:
        raise InputError("a WFDB upload needs exactly one .hea header file (plus its .dat signal file)",
                         details={"files": sorted(named)})
    record = headers[0][:-4]
    Path(upload_dir).mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="wfdb-", dir=upload_dir)
    try:
        for name, content in named.items():
            with open(os.path.join(tmp, name), "wb") as fh:
                fh.write(content)
        return _read_wfdb(tmp, record, lead, parse_flag(single_lead, "single_lead"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_wfdb(folder: str, record: str, lead, single_lead: bool = False) -> ParsedRecording:
    import wfdb

    path = os.path.join(folder, record)
    try:
        header = wfdb.rdheader(path)
    except Exception as exc:  # wfdb raises many exception types for a malformed header
        raise InputError(f"the .hea header could not be read: {exc}")
    names = [str(n) for n in (header.sig_name or [])] or [f"lead {i}" for i in range(header.n_sig or 0)]
    if not names:
        raise InputError("the WFDB header lists no signals")
    missing = sorted({f for f in (header.file_name or []) if not os.path.exists(os.path.join(folder, f))})
    if missing:
        raise InputError(f"the header refers to {', '.join(missing)}, which was not uploaded",
                         details={"missing": missing})
    index = choose_lead(names, lead)
    fs = check_fs(header.fs)
    if (header.sig_len or 0) > MAX_SAMPLES:
        raise InputError(f"the record has {header.sig_len} samples; the limit is {MAX_SAMPLES}", status=413)
    channels = [index] if single_lead else list(range(len(names)))
    signal, extra = _read_wfdb_leads(path, channels, index, header.sig_len, getattr(header, "fmt", None))
    annotations = None
    if os.path.exists(path + ".atr"):
        try:
            ann = wfdb.rdann(path, "atr")
            annotations = {"sample": [int(s) for s in ann.sample], "symbol": list(ann.symbol)}
        except Exception:  # annotations are optional; a broken .atr must not sink the recording
            annotations = None
    if single_lead:
        return _finish(signal, fs, names, index, source="wfdb", annotations=annotations)
    return _finish(signal, fs, names, index, source="wfdb", annotations=annotations, out=extra,
                   columns=lambda i: extra[:, i - (i > index)])


def _read_wfdb_leads(path: str, channels: list, index: int, sig_len, fmt) -> tuple[np.ndarray, np.ndarray]:
    """``channels`` of a WFDB record in physical units, NaN for invalid samples, exactly as one
    ``wfdb.rdrecord(physical=True)`` gives them: lead ``index`` as float64, the others as one float32
    (n_samples, len(channels) - 1) array in header order.

    Read WFDB_READ_SAMPLES samples at a time: one read converts every lead to float64 at once (500 MB for
    24 h of 2 leads at 360 Hz) and wfdb's own int64 copies on top. Formats whose samples cannot be read from
    the middle (8: differences; FLAC) or a header without a length are read in one piece.
    """
    import wfdb

    if sig_len and set(fmt or [None]) <= _WFDB_SEEKABLE_FORMATS:
        spans = [(a, min(sig_len, a + WFDB_READ_SAMPLES)) for a in range(0, sig_len, WFDB_READ_SAMPLES)]
    else:
        spans = [(0, None)]
    signal = extra = None
    for start, stop in spans:
        try:
            block = wfdb.rdrecord(path, sampfrom=start, sampto=stop, channels=channels, physical=True).p_signal
        except Exception as exc:  # truncated or mismatched .dat files
            raise InputError(f"the WFDB signal file could not be read: {exc}")
        if block is None or block.ndim != 2 or block.shape[1] != len(channels):
            raise InputError("the WFDB signal file does not hold the signals its header lists")
        if signal is None:
            n_samples = len(block) if stop is None else sig_len
            signal = np.empty(n_samples, dtype=np.float64)
            extra = np.empty((n_samples, len(channels) - 1), dtype=np.float32)
        expected = (len(signal) if stop is None else stop) - start
        if len(block) != expected:  # never leave samples unfilled
            raise InputError(f"the WFDB signal file could not be read: {len(block)} samples at sample {start}, "
                             f"{expected} expected")
        for k, channel in enumerate(channels):
            target = signal if channel == index else extra[:, k - (channel > index)]
            target[start:start + len(block)] = block[:, k]
    return signal, extra


def _unzip(blob: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except _ZIP_READ_ERRORS:
        raise InputError("the .zip file is not a valid zip archive", status=400)
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > ZIP_MAX_MEMBERS:
        raise InputError(f"the zip holds {len(members)} files; at most {ZIP_MAX_MEMBERS} are accepted", status=413)
    total = sum(m.file_size for m in members)
    compressed = sum(max(m.compress_size, 1) for m in members)
    if total > ZIP_MAX_TOTAL or total > ZIP_MAX_RATIO * compressed + (1 << 20):
        raise InputError("the zip expands too much to be a WFDB record", status=413)
    out = {}
    for m in members:
        name = m.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or ":" in name:
            raise InputError(f"zip member {m.filename!r} has an unsafe path", status=400)
        base = name.split("/")[-1]
        if name.startswith("__MACOSX/") or base.startswith("."):
            continue
        try:
            with archive.open(m) as fh:
                data = fh.read(m.file_size + 1)
        except _ZIP_READ_ERRORS as exc:  # corrupt data, bad CRC, encrypted or unsupported members
            raise InputError(f"zip member {m.filename!r} could not be read ({exc})", status=400) from None
        if len(data) > m.file_size:
            raise InputError("a zip member is larger than its header says", status=400)
        out[base] = data
    return out


# ---------------------------------------------------------------------------- dispatch
def parse_upload(files: dict[str, bytes], upload_dir, sampling_rate=None, lead=None,
                 single_lead=None) -> ParsedRecording:
    """Route uploaded files by extension: .csv/.txt, .json, WFDB (.hea/.dat/.atr) or .zip.

    ``single_lead`` (true/false, default false): keep only the chosen lead; otherwise the other leads of
    the upload come along as ``extra_leads``.
    """
    if not files:
        raise InputError("no file uploaded; send a CSV, JSON, WFDB (.hea + .dat) or zip file", status=400)
    exts = {os.path.splitext(n)[1].lower() for n in files}
    if exts & {".hea", ".dat", ".atr", ".zip"}:
        return parse_wfdb(files, upload_dir, lead=lead, single_lead=single_lead)
    if len(files) != 1:
        raise InputError("upload one CSV or JSON file (several files only for a WFDB record)", status=400)
    name, content = next(iter(files.items()))
    ext = os.path.splitext(name)[1].lower()
    if ext in (".csv", ".txt", ".tsv"):
        return parse_csv(content, sampling_rate=sampling_rate, lead=lead, single_lead=single_lead)
    if ext == ".json":
        text = decode_text(content, "the JSON file")
        try:
            payload = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise InputError("the JSON file is not valid JSON (or nests too deeply)", status=400)
        return parse_json_signal(payload, lead=lead, sampling_rate=sampling_rate or None, single_lead=single_lead)
    raise InputError(f"unsupported file type {ext or name!r}; send .csv, .json, .hea + .dat or .zip", status=415)
