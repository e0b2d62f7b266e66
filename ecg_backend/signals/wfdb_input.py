"""WFDB records (separate files or one zip) and EDF/EDF+ files -> `ParsedRecording`, with the budgets
checked before a sample is read.

A zip is checked member by member before anything is extracted (count, safe names, declared sizes, each
member's expansion) and extracted by streaming with the real byte counts capped per member and in all;
the header is read first, so a record that is too large (samples x leads, `parsing.check_budget`) is
refused before its signal file is extracted. No message shows a server path.
"""

from __future__ import annotations

import datetime
import io
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ecg_backend.input_errors import (
    INVALID,
    MALFORMED,
    TOO_LARGE,
    UNSUPPORTED,
    InputError,
)
from ecg_backend.signals.input_fields import decode_text, human_bytes, parse_number
from ecg_backend.signals.leads import (
    MAX_FS,
    MIN_FS,
    ParsedRecording,
    check_budget,
    check_fs,
    choose_lead,
    finish,
    lead_names,
)

ZIP_MAX_MEMBERS = 20
ZIP_MAX_TOTAL = 512 << 20  # decompressed bytes, per member and in all
ZIP_MAX_RATIO = 200  # a member expanding more than this is not an ECG record (a 24-h WFDB zips ~3-5x)
MAX_HEADER_BYTES = 64 << 10
WFDB_READ_SAMPLES = 1 << 20  # samples per lead read from a .dat file at a time
# WFDB formats read here; the first set can be read from any sample on (not 8: first differences)
_WFDB_FORMATS = {"8", "16", "24", "32", "61", "80", "160", "212", "310", "311"}
_WFDB_SEEKABLE_FORMATS = _WFDB_FORMATS - {"8"}
_BYTES_PER_SAMPLE = {
    "8": 1,
    "16": 2,
    "24": 3,
    "32": 4,
    "61": 2,
    "80": 1,
    "160": 2,
    "212": 1.5,
    "310": 4 / 3,
    "311": 4 / 3,
}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,100}$")
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError, ValueError)
_COPY_BLOCK = 1 << 20


def parse_wfdb(files: dict, upload_dir, lead=None, single_lead: bool = False, sampling_rate=None) -> ParsedRecording:
    """A WFDB record from uploaded files: ``{"100.hea": ..., "100.dat": ..., "100.atr"?: ...}`` or one zip.

    Values are bytes or paths. Files are put together in a fresh temporary folder inside ``upload_dir``
    (removed afterwards); zip members with folders, absolute paths or ``..`` are refused, as are zips
    that expand too much. ``sampling_rate`` is used only when the header gives no sampling frequency.
    """
    if len(files) == 1 and next(iter(files)).lower().endswith(".zip"):
        sources = _zip_members(next(iter(files.values())))
    else:
        sources = {_safe_base(name): _opener(content) for name, content in files.items()}
    headers = [n for n in sources if n.lower().endswith(".hea")]
    if len(headers) != 1:
        raise InputError(
            "a WFDB upload needs exactly one .hea header file (plus its .dat signal file)",
            details={"files": sorted(sources)},
        )
    record = headers[0][:-4]
    Path(upload_dir).mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="wfdb-", dir=upload_dir)
    try:
        budget = [ZIP_MAX_TOTAL]
        _extract(sources[headers[0]], os.path.join(folder, headers[0]), MAX_HEADER_BYTES, budget, "the .hea header")
        fs, n_sig, sig_len = _check_record_line(os.path.join(folder, headers[0]), sampling_rate)
        check_budget(0, n_sig, "the WFDB record")  # the lead cap holds with single_lead too
        check_budget(sig_len, 1 if single_lead else n_sig, "the WFDB record")
        for name, source in sources.items():
            if name != headers[0]:
                _extract(source, os.path.join(folder, name), ZIP_MAX_TOTAL, budget, name)
        return _read_wfdb(folder, record, lead, fs, single_lead)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _safe_base(name: str) -> str:
    base = os.path.basename(str(name).replace("\\", "/"))
    if not _SAFE_NAME.match(base) or base.startswith("."):
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise InputError(f"file name {shown!r} is not allowed; use letters, digits, '_', '-', '.'")
    return base


def _opener(content):
    if isinstance(content, (bytes, bytearray, memoryview)):
        return lambda: io.BytesIO(content)
    return lambda: open(content, "rb")


def _extract(opener, path: str, cap: int, budget: list, what: str) -> None:
    """Copy one file into the record's folder, refusing more than ``cap`` bytes or the rest of ``budget``."""
    written, allowed = 0, min(cap, budget[0])
    try:
        with opener() as src, open(path, "wb") as dst:
            while block := src.read(_COPY_BLOCK):
                written += len(block)
                if written > allowed:
                    raise InputError(
                        f"{what} is larger than {human_bytes(allowed)}, more than an ECG record needs",
                        kind=TOO_LARGE,
                        details={"max_bytes": allowed},
                    )
                dst.write(block)
    except _ZIP_READ_ERRORS as exc:  # corrupt data, bad CRC, encrypted or unsupported members
        raise InputError(f"{what} could not be read ({_reason(exc)})", kind=MALFORMED) from None
    budget[0] -= written


def _zip_members(content) -> dict:
    """Openers of a zip's members by base name, after the checks that need no extraction."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content) if isinstance(content, (bytes, bytearray)) else content)
    except _ZIP_READ_ERRORS:
        raise InputError("the .zip file is not a valid zip archive", kind=MALFORMED) from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > ZIP_MAX_MEMBERS:
        raise InputError(f"the zip holds {len(members)} files; at most {ZIP_MAX_MEMBERS} are accepted", kind=TOO_LARGE)
    out, total = {}, 0
    for m in members:
        name = m.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or ":" in name:
            raise InputError(f"zip member {m.filename[:60]!r} has an unsafe path", kind=MALFORMED)
        base = name.split("/")[-1]
        if name.startswith("__MACOSX/") or base.startswith("."):
            continue
        total += m.file_size
        if m.file_size > ZIP_MAX_RATIO * max(m.compress_size, 1) + (1 << 20) or total > ZIP_MAX_TOTAL:
            raise InputError(
                f"the zip expands too much to be a WFDB record (member {base[:60]!r}: "
                f"{human_bytes(m.file_size)}, {human_bytes(total)} in all; at most "
                f"{human_bytes(ZIP_MAX_TOTAL)})",
                kind=TOO_LARGE,
                details={"max_bytes": ZIP_MAX_TOTAL},
            )
        out[_safe_base(base)] = lambda member=m: _bounded(archive.open(member), member.file_size)
    return out


class _bounded(io.RawIOBase):
    """A zip member's stream that fails once it yields more than its header declared."""

    def __init__(self, stream, size: int):
        super().__init__()
        self.stream, self.left = stream, size

    def read(self, n: int = -1) -> bytes:
        block = self.stream.read(n)
        self.left -= len(block)
        if self.left < 0:
            raise InputError("a zip member is larger than its header says", kind=MALFORMED)
        return block

    def close(self) -> None:
        self.stream.close()
        super().close()


def _check_record_line(header_path: str, sampling_rate) -> tuple[float, int, int]:
    """The sampling frequency, signal count and length (0 when not given) from the header's record line,
    checked before wfdb reads it and before the signal files are extracted.

    wfdb reads a missing, negative or unparsable frequency as its default of 250 Hz; here any of those is an
    error (a header without one may be completed with the ``sampling_rate`` field). Multi-segment records
    (``name/segments``) are refused.
    """
    with open(header_path, "rb") as fh:
        text = decode_text(fh.read(), "the .hea header")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    tokens = lines[0].split() if lines else []
    if len(tokens) < 2 or not tokens[1].isascii() or not tokens[1].isdigit():
        raise InputError("the .hea header's first line must be 'record_name n_signals sampling_frequency ...'")
    if "/" in tokens[0]:
        raise InputError(
            "multi-segment WFDB records are not supported; send a single-segment record (one .hea with its .dat files)",
            kind=UNSUPPORTED,
        )
    n_sig = int(tokens[1][:6])
    if n_sig == 0:
        raise InputError("the WFDB header lists no signals")
    sig_len = int(tokens[3][:12]) if len(tokens) > 3 and tokens[3].isascii() and tokens[3].isdigit() else 0
    if len(tokens) < 3:
        if sampling_rate in (None, ""):
            raise InputError(
                "the WFDB header gives no sampling frequency; add it to the header or send sampling_rate (Hz)",
                details={"field": "sampling_rate"},
            )
        return check_fs(sampling_rate), n_sig, sig_len
    frequency = re.split(r"[/(]", tokens[2])[0]
    fs = parse_number(frequency, "the WFDB header's sampling frequency", low=MIN_FS, high=MAX_FS, unit="Hz")
    return fs, n_sig, sig_len


def _read_wfdb(folder: str, record: str, lead, fs: float, single_lead: bool = False) -> ParsedRecording:
    import wfdb

    path = os.path.join(folder, record)
    try:
        header = wfdb.rdheader(path)
    except Exception as exc:  # noqa: BLE001 - wfdb raises many exception types for a malformed header
        raise InputError(f"the .hea header could not be read: {_reason(exc, folder)}") from None
    if getattr(header, "seg_name", None):
        raise InputError("multi-segment WFDB records are not supported; send a single-segment record", kind=UNSUPPORTED)
    names = lead_names(header.sig_name, header.n_sig or 0)
    missing = sorted({f for f in (header.file_name or []) if not os.path.exists(os.path.join(folder, f))})
    if missing:
        raise InputError(
            f"the header refers to {', '.join(missing)}, which was not uploaded", details={"missing": missing}
        )
    formats = sorted({str(f) for f in (header.fmt or [])} - _WFDB_FORMATS)
    if formats:
        raise InputError(
            f"WFDB signal format {', '.join(formats)} is not supported; write the record in format 16 or 212",
            kind=UNSUPPORTED,
            details={"formats": formats},
        )
    index = choose_lead(names, lead)
    channels = [index] if single_lead else list(range(len(names)))
    sig_len = header.sig_len or _samples_in_files(folder, header)
    check_budget(sig_len, len(channels), "the WFDB record")
    signal, extra = _read_wfdb_leads(path, channels, index, header.sig_len, header.fmt, folder)
    annotations = _annotations(path)
    if single_lead:
        parsed = finish(signal, fs, names, index, source="wfdb", annotations=annotations)
    else:
        parsed = finish(
            signal,
            fs,
            names,
            index,
            source="wfdb",
            annotations=annotations,
            out=extra,
            columns=lambda i: extra[:, i - (i > index)],
        )
    parsed.lead_info = _lead_info(header, names)
    parsed.start = header_start(header.base_date, header.base_time)
    return parsed


def header_start(day, clock) -> str | None:
    """A header's start as ISO 8601 text when it has both a date and a time of day, else None."""
    if day is None or clock is None:
        return None
    return datetime.datetime.combine(day, clock).replace(microsecond=0, tzinfo=None).isoformat()


def _lead_info(header, names: list[str]) -> dict:
    """Unit, gain and baseline of each lead as the header gives them (gain 0 means uncalibrated: none)."""
    info = {}
    for i, name in enumerate(names):
        gain = float((header.adc_gain or [0] * len(names))[i] or 0)
        info[name] = {
            "unit": str((header.units or [""] * len(names))[i] or "mV"),
            "gain": gain if gain > 0 else None,
            "baseline": int((header.baseline or [0] * len(names))[i] or 0),
        }
    return info


def _samples_in_files(folder: str, header) -> int:
    """Samples per signal that the .dat files can hold (a header without a length): the budget's estimate."""
    frame: dict[str, float] = {}
    for name, fmt in zip(header.file_name or [], header.fmt or []):
        frame[name] = frame.get(name, 0.0) + _BYTES_PER_SAMPLE.get(str(fmt), 1)
    return max((int(os.path.getsize(os.path.join(folder, f)) / b) for f, b in frame.items() if b), default=0)


def _annotations(path: str) -> dict | None:
    import wfdb

    if not os.path.exists(path + ".atr"):
        return None
    try:
        ann = wfdb.rdann(path, "atr")
    except Exception:  # noqa: BLE001 - annotations are optional; a broken .atr must not sink the recording
        return None
    return {"sample": [int(s) for s in ann.sample], "symbol": list(ann.symbol)}


def _read_wfdb_leads(path: str, channels: list, index: int, sig_len, fmt, folder: str) -> tuple[np.ndarray, np.ndarray]:
    """``channels`` of a WFDB record in physical units, NaN for invalid samples, exactly as one
    ``wfdb.rdrecord(physical=True)`` gives them: lead ``index`` as float64, the others as one float32
    (n_samples, len(channels) - 1) array in header order.

    Read WFDB_READ_SAMPLES samples at a time: one read converts every lead to float64 at once (500 MB for
    24 h of 2 leads at 360 Hz) and wfdb's own int64 copies on top. Formats whose samples cannot be read from
    the middle (8: differences) or a header without a length are read in one piece.
    """
    import wfdb

    if sig_len and {str(f) for f in (fmt or [None])} <= _WFDB_SEEKABLE_FORMATS:
        spans = [(a, min(sig_len, a + WFDB_READ_SAMPLES)) for a in range(0, sig_len, WFDB_READ_SAMPLES)]
    else:
        spans = [(0, None)]
    signal = extra = None
    for start, stop in spans:
        try:
            block = wfdb.rdrecord(path, sampfrom=start, sampto=stop, channels=channels, physical=True).p_signal
        except Exception as exc:  # noqa: BLE001 - truncated or mismatched .dat files
            raise InputError(f"the WFDB signal file could not be read: {_reason(exc, folder)}") from None
        if block is None or block.ndim != 2 or block.shape[1] != len(channels):
            raise InputError("the WFDB signal file does not hold the signals its header lists")
        if signal is None:
            n_samples = len(block) if stop is None else sig_len
            signal = np.empty(n_samples, dtype=np.float64)
            extra = np.empty((n_samples, len(channels) - 1), dtype=np.float32)
        expected = (len(signal) if stop is None else stop) - start
        if len(block) != expected:  # never leave samples unfilled
            raise InputError(
                f"the WFDB signal file could not be read: {len(block)} samples at sample {start}, {expected} expected"
            )
        for k, channel in enumerate(channels):
            target = signal if channel == index else extra[:, k - (channel > index)]
            target[start : start + len(block)] = block[:, k]
    return signal, extra


def _reason(exc: BaseException, folder: str | None = None) -> str:
    """A library's error message without server paths (the upload folder, or any absolute path)."""
    text = str(exc)
    if folder:
        text = text.replace(folder + os.sep, "").replace(folder, "")
    text = re.sub(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s'\"]+)+[\\/]", "", text)
    return (text[:197] + "...") if len(text) > 200 else text


# ---------------------------------------------------------------------------- EDF
def parse_edf(content, lead=None, single_lead: bool = False) -> ParsedRecording:
    """An EDF or EDF+ (continuous) file: its ECG signals in physical units (µV converted to mV).

    The leads at the chosen lead's rate come along as ``extra_leads``; signals at other rates (an EDF may
    hold respiration or SpO2 at their own rates) are left out. Budgets are checked from the header before
    any sample is read (edfio reads the data lazily).
    """
    import edfio

    try:
        edf = edfio.read_edf(content if isinstance(content, (bytes, bytearray)) else Path(content), lazy_load_data=True)
        signals = list(edf.signals)
        discontinuous = not edf.is_continuous
    except Exception as exc:  # noqa: BLE001 - edfio raises ValueError and others for a malformed header
        raise InputError(f"the EDF file could not be read: {_reason(exc)}") from None
    if discontinuous:
        raise InputError(
            "discontinuous EDF+ (EDF+D) files are not supported; export a continuous recording", kind=UNSUPPORTED
        )
    if not signals:
        raise InputError("the EDF file holds no signals")
    names = lead_names([s.label for s in signals], len(signals))
    check_budget(0, len(names), "the EDF file")
    index = choose_lead(names, lead)
    fs = check_fs(signals[index].sampling_frequency, "the EDF file's sampling frequency")
    kept = [i for i, s in enumerate(signals) if i == index or (not single_lead and s.sampling_frequency == fs)]
    n_samples = int(signals[index].samples_per_data_record) * int(edf.num_data_records)
    check_budget(n_samples, len(kept), "the EDF file")
    index_in_kept = kept.index(index)

    def column(k: int) -> np.ndarray:
        return _edf_millivolts(signals[kept[k]], np.float64 if k == index_in_kept else np.float32)

    parsed = finish(
        column(index_in_kept),
        fs,
        [names[i] for i in kept],
        index_in_kept,
        source="edf",
        columns=None if single_lead else column,
    )
    parsed.start = _edf_start(edf)
    return parsed


def _edf_start(edf) -> str | None:
    try:
        return header_start(edf.startdate, edf.starttime)
    except ValueError:  # an anonymised start date ("X"): no wall-clock times
        return None


def _edf_millivolts(signal, dtype) -> np.ndarray:
    try:
        values = np.asarray(signal.data, dtype=dtype)
    except Exception as exc:  # noqa: BLE001 - a truncated data record
        raise InputError(f"the EDF signal {signal.label!r} could not be read: {_reason(exc)}", kind=INVALID) from None
    unit = (signal.physical_dimension or "").strip().lower()
    if unit in ("uv", "µv", "μv"):
        values = values / dtype(1000.0)
    return values
