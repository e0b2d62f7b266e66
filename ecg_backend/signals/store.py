"""The stored signal of a recording: one file, memory-mapped, with min/max levels for drawing windows.

A file holds a JSON header and named arrays (little-endian, 64-byte aligned)::

    b"ECGSIG01" | uint64 header length | JSON header | padding | arrays...

    samples          (n_samples, n_leads): the record's own integer samples (int16, physical value
                     ``(d - baseline) / gain``, ``INVALID`` for a missing sample) when every lead has a gain,
                     else float32 physical values (NaN for a missing sample)
    level_<f>        (ceil(n_samples / f), n_leads, 2): min and max of each run of ``f`` samples, in the
                     samples' type, for f in ``LEVEL_FACTORS``: what an overview of hours is drawn from
    ann_sample/ann_symbol  the uploaded reference annotations (WFDB .atr), when there were any

It is written once, at upload (`write_signal`), read by the job (`StoredSignal.lead`) and served to the
pages (`StoredSignal.window`): no request reads more than the samples or level rows its window covers.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise

import numpy as np
from tsdownsample import MinMaxDownsampler, NaNMinMaxDownsampler

MAGIC = b"ECGSIG01"
SUFFIX = ".ecgsig"
ALIGN = 64
INVALID = np.iinfo(np.int16).min  # WFDB's own "no sample" value of 16-bit formats
LEVEL_FACTORS = (32, 256, 2048, 16384, 131072)
BLOCK_SAMPLES = 1 << 20  # rows converted and written at a time
RAW_WINDOW_LIMIT = 1 << 21  # windows up to this many samples are downsampled from the samples themselves
MAX_POINTS = 20_000


@dataclass(frozen=True)
class LeadInfo:
    """One stored lead: its name, unit and, for integer samples, ``physical = (digital - baseline) / gain``."""

    name: str
    unit: str = "mV"
    gain: float | None = None
    baseline: int = 0


def stored_dtype(columns: Sequence[np.ndarray], leads: Sequence[LeadInfo]) -> np.dtype:
    """int16 when every lead has a gain and its digital values fit (the record's own samples), else float32."""
    if not leads or any(lead.gain is None or lead.gain <= 0 for lead in leads):
        return np.dtype("<f4")
    for column, lead in zip(columns, leads):
        with np.errstate(invalid="ignore"):
            lo, hi = np.nanmin(column, initial=np.inf), np.nanmax(column, initial=-np.inf)
        if not np.isfinite(lo):  # no valid sample at all
            continue
        digital = np.round(np.array([lo, hi]) * lead.gain + lead.baseline)
        if digital.min() <= INVALID or digital.max() > np.iinfo(np.int16).max:
            return np.dtype("<f4")
    return np.dtype("<i2")


def sample_blocks(
    columns: Sequence[np.ndarray], leads: Sequence[LeadInfo], dtype: np.dtype, block: int | None = None
) -> Iterator[np.ndarray]:
    """The rows of the stored ``samples`` array, ``block`` at a time, from physical ``columns`` (one per lead):
    the one definition of what is stored, used by `write_signal` and the uploads' Idempotency-Key hash."""
    n, block = (len(columns[0]) if columns else 0), block or BLOCK_SAMPLES
    rows = np.empty((min(block, n), len(columns)), dtype=dtype)
    for start in range(0, n, block):
        part = rows[: min(block, n - start)]
        for j, (column, lead) in enumerate(zip(columns, leads)):
            values = column[start : start + len(part)]
            if dtype.kind == "f":
                part[:, j] = values
            else:
                digital = np.round(np.asarray(values, dtype=np.float64) * lead.gain + lead.baseline)
                part[:, j] = np.where(np.isfinite(digital), digital, INVALID)
        yield part


def write_signal(
    path: str,
    columns: Sequence[np.ndarray],
    fs: float,
    leads: Sequence[LeadInfo],
    *,
    annotations: dict | None = None,
    block: int | None = None,
) -> dict:
    """Store physical ``columns`` (equal-length 1-D arrays, one per lead) at ``path``; returns the header.

    Written to ``path + ".part"`` and renamed when complete, so no reader ever sees half a file.
    """
    if not columns or len(columns) != len(leads) or len({len(c) for c in columns}) != 1:
        raise ValueError("one column per lead, all of the same length")
    n, width = len(columns[0]), len(columns)
    block = max(
        LEVEL_FACTORS[0], (block or BLOCK_SAMPLES) // LEVEL_FACTORS[0] * LEVEL_FACTORS[0]
    )  # whole first-level runs per block
    dtype = stored_dtype(columns, leads)
    arrays = {"samples": (dtype, (n, width))}
    arrays.update({f"level_{f}": (dtype, (-(-n // f), width, 2)) for f in LEVEL_FACTORS})
    ann = _annotation_arrays(annotations)
    arrays.update({name: (a.dtype, a.shape) for name, a in ann.items()})
    header = {
        "version": 1,
        "fs": float(fs),
        "n_samples": n,
        "dtype": dtype.str,
        "invalid": int(INVALID),
        "leads": [asdict(lead) for lead in leads],
        "levels": list(LEVEL_FACTORS),
        "arrays": _layout(arrays),
    }
    encoded = json.dumps(header).encode("utf-8")
    while _data_start(len(encoded)) != header["arrays"]["samples"]["offset"]:
        header["arrays"] = _layout(arrays, _data_start(len(encoded)))
        encoded = json.dumps(header).encode("utf-8")
    partial = path + ".part"
    try:
        with open(partial, "wb") as fh:
            fh.write(MAGIC + struct.pack("<Q", len(encoded)) + encoded)
            levels = _write_samples(fh, header, sample_blocks(columns, leads, dtype, block))
            for factor, level in zip(LEVEL_FACTORS, levels):
                _write_at(fh, header["arrays"][f"level_{factor}"]["offset"], level)
            for name, values in ann.items():
                _write_at(fh, header["arrays"][name]["offset"], values)
            fh.truncate(_end(header))
        os.replace(partial, path)
    except BaseException:  # no half-written file left behind (e.g. a full disk)
        if os.path.exists(partial):
            os.remove(partial)
        raise
    return header


def _annotation_arrays(annotations: dict | None) -> dict:
    if not annotations or not len(annotations.get("sample", [])):
        return {}
    return {
        "ann_sample": np.asarray(annotations["sample"], dtype="<i8"),
        "ann_symbol": np.asarray([str(s)[:4] for s in annotations["symbol"]], dtype="S4"),
    }


def _data_start(header_len: int) -> int:
    return -(-(len(MAGIC) + 8 + header_len) // ALIGN) * ALIGN


def _layout(arrays: dict, start: int = 0) -> dict:
    layout, offset = {}, start
    for name, (dtype, shape) in arrays.items():
        layout[name] = {"offset": offset, "dtype": np.dtype(dtype).str, "shape": list(shape)}
        offset += -(-int(np.prod(shape)) * np.dtype(dtype).itemsize // ALIGN) * ALIGN
    return layout


def _end(header: dict) -> int:
    last = max(header["arrays"].values(), key=lambda a: a["offset"])
    return last["offset"] + int(np.prod(last["shape"])) * np.dtype(last["dtype"]).itemsize


def _write_at(fh, offset: int, values: np.ndarray) -> None:
    fh.seek(offset)
    fh.write(np.ascontiguousarray(values).tobytes())


def _write_samples(fh, header: dict, blocks: Iterator[np.ndarray]) -> list[np.ndarray]:
    """Write the samples block by block (blocks are multiples of the first level's factor) and return the
    levels, the first from the blocks, the others from the first."""
    fh.seek(header["arrays"]["samples"]["offset"])
    invalid = header["invalid"] if np.dtype(header["dtype"]).kind == "i" else None
    base = []
    for part in blocks:
        fh.write(part.tobytes())
        base.append(envelope(part, LEVEL_FACTORS[0], invalid))
    levels = [np.concatenate(base) if base else np.empty((0, len(header["leads"]), 2), np.dtype(header["dtype"]))]
    for previous, factor in pairwise(LEVEL_FACTORS):
        levels.append(envelope(levels[-1], factor // previous, invalid))
    return levels


def envelope(values: np.ndarray, factor: int, invalid: int | None = None) -> np.ndarray:
    """Min and max of each run of ``factor`` rows of ``values`` ((n, leads) samples, or (n, leads, 2) min/max
    rows of a finer level) as (ceil(n / factor), leads, 2); missing values (NaN, or ``invalid`` for integer
    samples) are ignored, and a run holding nothing else stays missing."""
    lo, hi = (values[..., 0], values[..., 1]) if values.ndim == 3 else (values, values)
    if len(lo) == 0:
        return np.empty((0, values.shape[1], 2), dtype=values.dtype)
    starts = np.arange(0, len(lo), factor)
    if invalid is None:
        with np.errstate(invalid="ignore"):
            return np.stack([np.fmin.reduceat(lo, starts, axis=0), np.fmax.reduceat(hi, starts, axis=0)], axis=-1)
    top = np.iinfo(values.dtype).max
    mins = np.minimum.reduceat(np.where(lo == invalid, top, lo), starts, axis=0)
    maxs = np.maximum.reduceat(hi, starts, axis=0)  # ``invalid`` is the type's minimum: never a max
    mins[maxs == invalid] = invalid
    return np.stack([mins, maxs], axis=-1).astype(values.dtype)


class StoredSignal:
    """A stored signal opened for reading: the header's fields and memory maps of its arrays."""

    def __init__(self, path: str):
        with open(path, "rb") as fh:
            head = fh.read(len(MAGIC) + 8)
            if len(head) != len(MAGIC) + 8 or head[: len(MAGIC)] != MAGIC:
                raise ValueError(f"{os.path.basename(path)} is not a stored signal")
            (length,) = struct.unpack("<Q", head[len(MAGIC) :])
            self.header = json.loads(fh.read(length).decode("utf-8"))
        self.path = path
        self.fs = float(self.header["fs"])
        self.n_samples = int(self.header["n_samples"])
        self.leads = [LeadInfo(**lead) for lead in self.header["leads"]]
        self.is_digital = np.dtype(self.header["dtype"]).kind == "i"

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def array(self, name: str) -> np.ndarray | None:
        """The named array, memory-mapped read-only (None when the file has none)."""
        spec = self.header["arrays"].get(name)
        if spec is None:
            return None
        if int(np.prod(spec["shape"])) == 0:
            return np.empty(spec["shape"], dtype=spec["dtype"])
        return np.memmap(self.path, dtype=spec["dtype"], mode="r", offset=spec["offset"], shape=tuple(spec["shape"]))

    def physical(self, values: np.ndarray, lead: int, dtype=np.float32) -> np.ndarray:
        """Stored values of ``lead`` in its unit (NaN where a sample is missing)."""
        if not self.is_digital:
            return np.ascontiguousarray(values, dtype=dtype)
        info = self.leads[lead]
        out = (np.asarray(values, dtype=dtype) - info.baseline) / dtype(info.gain)
        out[np.asarray(values) == self.header["invalid"]] = np.nan
        return out

    def lead(self, index: int, dtype=np.float32, block: int = BLOCK_SAMPLES) -> np.ndarray:
        """The whole of lead ``index`` in its unit, converted ``block`` rows at a time (for the job)."""
        samples = self.array("samples")
        out = np.empty(self.n_samples, dtype=dtype)
        for start in range(0, self.n_samples, block):
            out[start : start + block] = self.physical(samples[start : start + block, index], index, dtype)
        return out

    def annotations(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, list[str]]:
        """Reference annotations (sample numbers, symbols) in samples [start, stop)."""
        samples, symbols = self.array("ann_sample"), self.array("ann_symbol")
        if samples is None:
            return np.empty(0, dtype=np.int64), []
        lo = int(np.searchsorted(samples, start, side="left"))
        hi = len(samples) if stop is None else int(np.searchsorted(samples, stop, side="left"))
        return np.asarray(samples[lo:hi]), [s.decode("ascii", "replace") for s in symbols[lo:hi]]

    def window(self, start_s: float, end_s: float, points: int) -> list[dict]:
        """Each lead between ``start_s`` and ``end_s``: ``{"name", "unit", "time", "values"}``.

        Exact samples when the window holds at most ``points`` per lead; else at most ``points`` values per
        lead that keep every peak: the min and max of each of ``points // 2`` runs of samples, taken from the
        samples themselves (tsdownsample's MinMax, at their own times) for windows up to RAW_WINDOW_LIMIT
        samples, else from the finest level whose runs fit (the pair at the run's middle).
        """
        first = max(0, int(np.floor(start_s * self.fs)))
        stop = min(self.n_samples, int(np.ceil(end_s * self.fs)) + 1)
        if stop <= first:
            return [_lead_json(info, np.empty(0), np.empty(0)) for info in self.leads]
        if stop - first <= points or stop - first <= RAW_WINDOW_LIMIT:
            return self._from_samples(first, stop, points)
        return self._from_levels(first, stop, points)

    def _from_samples(self, first: int, stop: int, points: int) -> list[dict]:
        samples = self.array("samples")[first:stop]
        out = []
        for j, info in enumerate(self.leads):
            values = self.physical(samples[:, j], j)
            if len(values) > points:
                nans = np.isnan(values).any()
                index = (NaNMinMaxDownsampler() if nans else MinMaxDownsampler()).downsample(
                    values, n_out=max(2, points - points % 2)
                )
                index = np.unique(index)
            else:
                index = np.arange(len(values))
            out.append(_lead_json(info, (first + index) / self.fs, values[index]))
        return out

    def _from_levels(self, first: int, stop: int, points: int) -> list[dict]:
        runs = max(1, points // 2)
        run = (stop - first) / runs
        factor = max(f for f in LEVEL_FACTORS if f <= run) if run >= LEVEL_FACTORS[0] else LEVEL_FACTORS[0]
        level = self.array(f"level_{factor}")
        lo_row, hi_row = first // factor, -(-stop // factor)
        rows = np.asarray(level[lo_row:hi_row])
        invalid = self.header["invalid"] if self.is_digital else None
        per_run = max(1, int(np.ceil(len(rows) / runs)))
        merged = envelope(rows, per_run, invalid)
        centre = ((lo_row + np.arange(len(merged)) * per_run) * factor + per_run * factor / 2) / self.fs
        times = np.repeat(np.minimum(centre, stop / self.fs), 2)
        return [
            _lead_json(info, times, self.physical(merged[:, j, :].reshape(-1), j)) for j, info in enumerate(self.leads)
        ]


def _lead_json(info: LeadInfo, times: np.ndarray, values: np.ndarray) -> dict:
    values = np.round(np.asarray(values, dtype=np.float64), 4)
    return {
        "name": info.name,
        "unit": info.unit,
        "time": np.round(np.asarray(times, dtype=np.float64), 4).tolist(),
        "values": [None if math.isnan(v) else v for v in values.tolist()],
    }


def open_signal(path: str) -> StoredSignal:
    """Open a stored signal (ValueError when the file is not one)."""
    return StoredSignal(path)
