"""MIT-BIH Arrhythmia records as evaluation data: reading, reference beats, matching detections.

Nothing here is used at inference time; it serves the `evaluate-mitdb` command and the benchmarks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Annotation symbols that mark a beat (PhysioNet's standard beat codes).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
# AAMI "normal" class as used by the issue: normal, bundle-branch blocks, escape beats.
NORMAL_SYMBOLS = frozenset("NLRej")
VEB_SYMBOLS = frozenset("VE")
# AAMI classes of the reference beat symbols (fusion F is scored with V where the issue says so)
AAMI_CLASSES = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}


@dataclass
class MitdbRecord:
    """One record: the first lead (``signal``), the other leads, its rate and the reference beats
    (R-peak samples and symbols)."""

    name: str
    signal: np.ndarray
    fs: float
    lead: str
    ref_samples: np.ndarray
    ref_symbols: np.ndarray
    vf_episodes: list = None  # [(start, end)] sample ranges of ventricular flutter/fibrillation ('[' .. ']')
    vt_episodes: list = None  # [(start, end)] sample ranges of the rhythm annotation '(VT' (to the next rhythm)
    extra_leads: np.ndarray | None = None  # (n_samples, k) float32: the other leads, in header order
    extra_names: list = None  # their names (V1, V2, V4, V5, or MLII in record 114)
    noise_spans: list = None  # [(start, end)] samples between a '~' marking noise in any lead and the next '~'
    primary_noise_spans: list = None  # the same, for the '~' that mark the first lead noisy or unreadable
    artefacts: np.ndarray | None = None  # samples of isolated QRS-like artefacts ('|')


def default_mitdb_dir() -> Path:
    """ECG_MITDB_DIR, else ../shared/data/mitdb beside the repository."""
    env = os.environ.get("ECG_MITDB_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "mitdb"


def list_records(directory: str | Path) -> list[str]:
    """Record names in a directory that have a header, a signal file and reference annotations."""
    directory = Path(directory)
    names = []
    for hea in sorted(directory.glob("*.hea")):
        if (directory / f"{hea.stem}.atr").exists():
            names.append(hea.stem)
    return names


def read_record(directory: str | Path, name: str) -> MitdbRecord:
    """Read one record's leads (``signal``: the first, MLII in MIT-BIH except 114; ``extra_leads``: the
    others) and its beat annotations."""
    import wfdb

    path = str(Path(directory) / name)
    rec = wfdb.rdrecord(path)
    ann = wfdb.rdann(path, "atr")
    symbols = np.asarray(ann.symbol)
    is_beat = np.isin(symbols, list(BEAT_SYMBOLS))
    episodes, start = [], None
    for sample, symbol in zip(ann.sample, symbols):
        if symbol == "[":
            start = int(sample)
        elif symbol == "]" and start is not None:
            episodes.append((start, int(sample)))
            start = None
    if start is not None:
        episodes.append((start, len(rec.p_signal)))
    vt, vt_start = [], None
    for sample, symbol, aux in zip(ann.sample, symbols, ann.aux_note or [""] * len(symbols)):
        if symbol != "+":
            continue
        if vt_start is not None:
            vt.append((vt_start, int(sample)))
            vt_start = None
        if (aux or "").strip("\x00").startswith("(VT"):
            vt_start = int(sample)
    if vt_start is not None:
        vt.append((vt_start, len(rec.p_signal)))
    return MitdbRecord(
        noise_spans=_noise_spans(ann, len(rec.p_signal)),
        primary_noise_spans=_noise_spans(ann, len(rec.p_signal), lead=0),
        artefacts=np.asarray(ann.sample)[symbols == "|"].astype(np.int64),
        name=name,
        signal=rec.p_signal[:, 0].astype(np.float64),
        fs=float(rec.fs),
        lead=rec.sig_name[0],
        ref_samples=np.asarray(ann.sample)[is_beat].astype(np.int64),
        ref_symbols=symbols[is_beat],
        vf_episodes=episodes,
        vt_episodes=vt,
        extra_leads=rec.p_signal[:, 1:].astype(np.float32),
        extra_names=list(rec.sig_name[1:]),
    )


def _noise_spans(ann, n_samples: int, lead: int | None = None) -> list[tuple[int, int]]:
    """Sample ranges the reference marks noisy: a '~' with a non-zero subtype (noisy or unreadable in some
    lead) opens a span, the next '~' closes it. With ``lead``, only spans noisy or unreadable in that lead:
    WFDB's NOISE subtype holds a bit per lead for noisy (bits 0-3) and for unreadable (bits 4-7), and -1 for
    every lead unreadable."""
    spans, start = [], None
    for sample, symbol, subtype in zip(ann.sample, ann.symbol, ann.subtype):
        if symbol != "~":
            continue
        if start is not None:
            spans.append((start, int(sample)))
            start = None
        subtype = int(subtype)
        if subtype != 0 and (lead is None or subtype == -1 or subtype & (0x11 << lead)):
            start = int(sample)
    if start is not None:
        spans.append((start, n_samples))
    return spans


def match_peaks(reference: np.ndarray, detected: np.ndarray, tolerance: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair each reference beat with at most one detection within ``tolerance`` samples.

    Greedy on sorted arrays: each reference takes the nearest unused detection. Returns
    (ref_to_det, det_matched): for each reference the index of its detection or -1, and for each
    detection whether it was paired.
    """
    reference = np.asarray(reference, dtype=np.int64)
    detected = np.asarray(detected, dtype=np.int64)
    ref_to_det = np.full(len(reference), -1, dtype=np.int64)
    det_matched = np.zeros(len(detected), dtype=bool)
    if len(detected) == 0:
        return ref_to_det, det_matched
    pos = np.searchsorted(detected, reference)
    for i, (r, p) in enumerate(zip(reference, pos)):
        best, best_dist = -1, tolerance + 1
        for j in (p - 1, p, p + 1):
            if 0 <= j < len(detected) and not det_matched[j]:
                dist = abs(int(detected[j]) - int(r))
                if dist < best_dist:
                    best, best_dist = j, dist
        if best >= 0:
            ref_to_det[i] = best
            det_matched[best] = True
    return ref_to_det, det_matched


def detection_counts(reference: np.ndarray, detected: np.ndarray, fs: float, tol_s: float = 0.15) -> dict:
    """True positives, false negatives and false positives of R-peak detection (tolerance ``tol_s``)."""
    ref_to_det, det_matched = match_peaks(reference, detected, int(round(tol_s * fs)))
    tp = int((ref_to_det >= 0).sum())
    return {"tp": tp, "fn": int(len(reference) - tp), "fp": int((~det_matched).sum())}
