"""What every recording format hands over: `ParsedRecording`, and the checks they share (the budgets
checked before reading, the lead choice, the checks of each lead)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecg_backend.input_errors import TOO_LARGE, InputError
from ecg_backend.signals.input_fields import check_unicode, human_bytes, parse_number

MIN_FS, MAX_FS = 100.0, 1000.0
MIN_SECONDS = 2.0
MAX_SAMPLES = 24 * 3600 * 1000  # 24 h at 1 kHz
MAX_LEADS = 16  # an ECG has at most 12-15 leads; Holters 2-3
MAX_SIGNAL_BYTES = 512 << 20  # the parsed arrays: the chosen lead float64, each other lead float32
MAX_LEAD_NAME = 64
TIME_COLUMNS = ("time", "time_s", "t", "seconds", "sec", "timestamp", "elapsed time", "elapsed_time")
SINGLE_LEAD_HINT = "fix or leave out that lead, or send single_lead=true to analyse the chosen lead alone"


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
    # What the record says of each lead, by name: {"unit", "gain", "baseline"} (WFDB headers), so the stored
    # signal keeps the record's own integer samples.
    lead_info: dict = field(default_factory=dict)
    # The recording's wall-clock start (ISO 8601, no time zone) when its header gives a date and a time.
    start: str | None = None


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
        raise InputError(
            f"{what} has {n_leads} leads; at most {MAX_LEADS} are accepted (send the leads to "
            "analyse, or one lead with single_lead=true)",
            kind=TOO_LARGE,
            details={"n_leads": n_leads, "max_leads": MAX_LEADS},
        )
    if n_samples > MAX_SAMPLES:
        raise InputError(
            f"{what} has {n_samples} samples per lead; the limit is {MAX_SAMPLES} (24 h at 1 kHz)",
            kind=TOO_LARGE,
            details={"n_samples": n_samples, "max_samples": MAX_SAMPLES},
        )
    needed = n_samples * (8 + 4 * max(n_leads - 1, 0))
    if needed > MAX_SIGNAL_BYTES:
        raise InputError(
            f"{what} ({n_samples} samples x {n_leads} leads) needs {human_bytes(needed)} to analyse; "
            f"the limit is {human_bytes(MAX_SIGNAL_BYTES)}: send fewer leads (single_lead=true) or a "
            "shorter recording",
            kind=TOO_LARGE,
            details={"n_samples": n_samples, "n_leads": n_leads, "max_bytes": MAX_SIGNAL_BYTES},
        )


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
    raise InputError(
        f"lead {shown!r} not found; available leads: {', '.join(names)}", details={"field": "lead", "leads": names}
    )


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
    which, hint, details = (
        ("the chosen lead", "", {}) if name is None else (f"lead {name!r}", f"; {SINGLE_LEAD_HINT}", {"lead": name})
    )
    if column.ndim != 1:
        raise InputError(f"{which} must be a flat list of numbers{hint}", details=details)
    if not np.isfinite(column).any():
        raise InputError(f"{which} holds no numeric samples{hint}", details=details)
    infinite = np.isinf(column)
    if infinite.any():
        sample = int(np.argmax(infinite)) + 1
        too_large = "" if name is None else " or beyond float32's range (3.4e38)"
        raise InputError(
            f"sample {sample} of {which} is infinite{too_large}; samples must be finite numbers (leave a gap "
            f"for a missing sample){hint}",
            details={**details, "sample": sample},
        )
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
            raise InputError(
                f"lead {name!r} has {len(column)} samples but lead {names[index]!r} has {n_samples}; "
                f"every lead needs the same length ({SINGLE_LEAD_HINT})",
                details={"lead": name, "n_samples": len(column), "expected": n_samples},
            )
        if _is_flat(column):
            raise InputError(
                f"lead {name!r} is flat (one value throughout); {SINGLE_LEAD_HINT}", details={"lead": name}
            )
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
        raise InputError(
            f"lead {names[index]!r} is flat (one value throughout), so it holds no heartbeats; {hint}",
            details={"field": "lead", "lead": names[index]},
        )
    extra, extra_names = (
        _extra_leads(columns, names, index, len(signal), out=out) if columns is not None else (None, [])
    )
    return ParsedRecording(
        signal=signal,
        fs=fs,
        lead=names[index],
        leads=list(names),
        source=source,
        annotations=annotations,
        extra_leads=extra,
        extra_names=extra_names,
    )
