"""Beat-class figures against MIT-BIH references: EC57-style VEB / SVEB counts, a simulated reader, noise.

Counting (beat by beat, 150 ms matching window):

- VEB: TP = reference V/E beats labelled V; FN = reference V/E beats not labelled V or not detected;
  FP = detections labelled V that are another reference class or match no reference beat; a reference
  fusion beat (F) labelled V is neither.
- SVEB: the same with reference A/a/J/S beats and the label S.

The simulated reader labels the first K families in ``review_rank`` order with the AAMI class of the
reference label of the family's representative beat (N: N L R e j; S: A a J S; V: V E, and F counts as V;
Q: / f Q; no reference beat within 150 ms: Q), through `review.apply_labels`.
"""

from __future__ import annotations

import numpy as np

from ecg_backend.signals.mitdb import AAMI_CLASSES, match_peaks
from ecg_backend.signals.review import apply_labels

TOLERANCE_S = 0.15
READERS = (0, 3, 5, 10)
NOISE_MARGIN_S = 0.5  # a Q beat covers this much reference noise time either side of its R peak


def reference_classes(symbols) -> np.ndarray:
    """AAMI class per reference symbol ("N", "S", "V", "F", "Q"; "" for a symbol outside them)."""
    return np.array([AAMI_CLASSES.get(str(s), "") for s in symbols], dtype=object)


def class_counts(ref_samples, ref_symbols, det_samples, det_labels, fs: float) -> dict:
    """VEB and SVEB TP / FN / FP of one record (see the module docstring).

    Returns:
        {"veb": {"tp", "fn", "fp"}, "sveb": {...}}.
    """
    ref_to_det, det_matched = match_peaks(
        np.asarray(ref_samples), np.asarray(det_samples), int(round(TOLERANCE_S * fs))
    )
    ref_class = reference_classes(ref_symbols)
    labels = np.asarray(det_labels, dtype=object)
    got = np.where(ref_to_det >= 0, labels[np.maximum(ref_to_det, 0)] if len(labels) else "", "")
    out = {}
    for name, cls, label in (("veb", "V", "V"), ("sveb", "S", "S")):
        is_cls = ref_class == cls
        tp = int((is_cls & (got == label)).sum())
        other = ~is_cls & (got == label)
        if label == "V":
            other &= ref_class != "F"
        unmatched = int(((labels == label) & ~det_matched).sum()) if len(labels) else 0
        out[name] = {"tp": tp, "fn": int(is_cls.sum()) - tp, "fp": int(other.sum()) + unmatched}
    return out


def reader_labels(analysis, ref_samples, ref_symbols, fs: float, k: int) -> dict:
    """The simulated reader's labels for the first ``k`` families in review order: {family: class}."""
    if k <= 0 or len(analysis.families) == 0:
        return {}
    ref_samples = np.asarray(ref_samples, dtype=np.int64)
    ref_class = reference_classes(ref_symbols)
    peaks = analysis.beats["r_peak"].to_numpy()
    out = {}
    for row in analysis.families.sort_values("review_rank").head(k).itertuples():
        r = int(peaks[row.representative])
        j = int(np.searchsorted(ref_samples, r))
        near = [i for i in (j - 1, j) if 0 <= i < len(ref_samples) and abs(ref_samples[i] - r) <= TOLERANCE_S * fs]
        best = min(near, key=lambda i: abs(ref_samples[i] - r)) if near else None
        cls = "Q" if best is None else ref_class[best]
        out[int(row.family)] = {"F": "V", "": "Q"}.get(cls, cls)
    return out


def false_v(analysis, ref_samples, ref_symbols, fs: float) -> np.ndarray:
    """Per detection: labelled V but matching no reference beat or one of another class than V / F."""
    peaks = analysis.beats["r_peak"].to_numpy()
    ref_to_det, _ = match_peaks(np.asarray(ref_samples), peaks, int(round(TOLERANCE_S * fs)))
    det_class = np.full(len(peaks), "", dtype=object)
    det_class[ref_to_det[ref_to_det >= 0]] = reference_classes(ref_symbols)[ref_to_det >= 0]
    return (analysis.beats["label"].to_numpy(dtype=object) == "V") & ~np.isin(det_class, ["V", "F"])


def noise_outcome(analysis, noise_spans, artefacts, fs: float, wrong_v: np.ndarray | None = None) -> dict:
    """How the reading treats the reference's noise spans and artefact marks.

    Returns:
        ``noise_s`` (span time), ``unusable_s`` (of it inside unusable segments or flutter),
        ``q_s`` (of the rest, within NOISE_MARGIN_S of a Q beat), ``v_in_noise`` (detections inside the spans
        in ``wrong_v``: labelled V and not a reference V / F beat, `false_v`; default all V), ``artefacts``,
        ``artefacts_v`` (marks with a detection labelled V within 150 ms),
        ``artefacts_q_or_unusable`` (marks in unusable signal or with a Q detection within 150 ms),
        ``artefacts_no_beat`` (marks with no detection within 150 ms: the artefact was not taken for a beat).
    """
    n = int(round(analysis.summary["duration_s"] * fs)) + 1
    bad = np.zeros(n, dtype=bool)
    for s in list(analysis.segments) + list(analysis.episodes):
        bad[int(s["start_s"] * fs) : int(np.ceil(s["end_s"] * fs))] = True
    q_cover = np.zeros(n, dtype=bool)
    table = analysis.beats
    peaks = table["r_peak"].to_numpy()
    labels = table["label"].to_numpy(dtype=object)
    margin = int(NOISE_MARGIN_S * fs)
    for r in peaks[labels == "Q"]:
        q_cover[max(r - margin, 0) : r + margin] = True
    in_noise = np.zeros(n, dtype=bool)
    for a, b in noise_spans:
        in_noise[a:b] = True
    tol = int(round(TOLERANCE_S * fs))

    def near(mark, label):
        j = np.searchsorted(peaks, mark)
        return any(0 <= i < len(peaks) and abs(peaks[i] - mark) <= tol and labels[i] == label for i in (j - 1, j))

    marks = np.asarray(artefacts, dtype=np.int64)
    wrong_v = labels == "V" if wrong_v is None else wrong_v
    return {
        "noise_s": in_noise.sum() / fs,
        "unusable_s": (in_noise & bad).sum() / fs,
        "q_s": (in_noise & ~bad & q_cover).sum() / fs,
        "v_in_noise": int((wrong_v & in_noise[np.minimum(peaks, n - 1)]).sum()) if len(peaks) else 0,
        "artefacts": len(marks),
        "artefacts_v": sum(near(m, "V") for m in marks),
        "artefacts_q_or_unusable": sum(bool(bad[min(m, n - 1)]) or near(m, "Q") for m in marks),
        "artefacts_no_beat": sum(not any(near(m, label) for label in ("N", "S", "V", "Q")) for m in marks),
    }


def _pct(a: int, b: int) -> float:
    return 100.0 * a / b if b else float("nan")


def pooled(counts: list[dict]) -> dict:
    """Sum of `class_counts` results with Se and +P in percent."""
    out = {}
    for name in ("veb", "sveb"):
        tp, fn, fp = (sum(c[name][k] for c in counts) for k in ("tp", "fn", "fp"))
        out[name] = {"tp": tp, "fn": fn, "fp": fp, "se": _pct(tp, tp + fn), "ppv": _pct(tp, tp + fp)}
    return out


def format_classes(rows: list[dict], readers: list[int], title: str = "all records") -> str:
    """Pooled VEB / SVEB Se and +P for each K (rows hold ``classes`` {K: counts}), and the noise outcome."""
    lines = [f"beat classes, {title} (EC57-style, 150 ms):"]
    for k in readers:
        p = pooled([r["classes"][k] for r in rows])
        v, s = p["veb"], p["sveb"]
        lines.append(
            f"  K={k:<2} reader labels: VEB Se {v['se']:6.2f}%  +P {v['ppv']:6.2f}%  "
            f"(TP {v['tp']}, FN {v['fn']}, FP {v['fp']});  SVEB Se {s['se']:6.2f}%  +P {s['ppv']:6.2f}%  "
            f"(TP {s['tp']}, FN {s['fn']}, FP {s['fp']})"
        )
    nz = {k: sum(r["noise"][k] for r in rows) for k in rows[0]["noise"]} if rows else {}
    if nz:
        lines.append(
            f"  reference noise spans {nz['noise_s']:.0f} s: unusable {nz['unusable_s']:.0f} s, near a Q beat "
            f"{nz['q_s']:.0f} s ({_pct(nz['unusable_s'] + nz['q_s'], nz['noise_s']):.1f}%); "
            f"detections wrongly labelled V inside: {nz['v_in_noise']}"
        )
        pz = {k: sum(r["primary_noise"][k] for r in rows) for k in rows[0]["primary_noise"]}
        lines.append(
            f"    of it noisy or unreadable in the first lead (the beats' lead) {pz['noise_s']:.0f} s: unusable "
            f"{pz['unusable_s']:.0f} s, near a Q beat {pz['q_s']:.0f} s "
            f"({_pct(pz['unusable_s'] + pz['q_s'], pz['noise_s']):.1f}%); wrongly V inside: {pz['v_in_noise']}"
        )
        lines.append(
            f"  reference artefact marks: {nz['artefacts']}, no beat detected: {nz['artefacts_no_beat']}, "
            f"unusable or Q: {nz['artefacts_q_or_unusable']}, labelled V: {nz['artefacts_v']}"
        )
    return "\n".join(lines)


def class_figures(analysis, rec, readers=READERS) -> dict:
    """EC57-style VEB / SVEB counts for each number of simulated reader labels, and the noise outcome."""
    classes = {}
    for k in readers:
        labels = reader_labels(analysis, rec.ref_samples, rec.ref_symbols, rec.fs, k)
        reviewed = apply_labels(analysis, families=labels) if labels else analysis
        classes[k] = class_counts(
            rec.ref_samples,
            rec.ref_symbols,
            reviewed.beats["r_peak"].to_numpy(),
            reviewed.beats["label"].to_numpy(dtype=object),
            rec.fs,
        )
    wrong_v = false_v(analysis, rec.ref_samples, rec.ref_symbols, rec.fs)
    primary = rec.primary_noise_spans if rec.primary_noise_spans is not None else rec.noise_spans
    return {
        "classes": classes,
        "noise": noise_outcome(analysis, rec.noise_spans, rec.artefacts, rec.fs, wrong_v),
        "primary_noise": noise_outcome(analysis, primary, [], rec.fs, wrong_v),
    }


def parse_readers(text: str) -> list[int]:
    """ "0,3,5,10" -> [0, 3, 5, 10] (non-negative integers)."""
    try:
        readers = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise ValueError(f"--readers must be comma-separated integers, got {text!r}") from None
    if any(k < 0 for k in readers):
        raise ValueError("--readers must not be negative")
    return readers or [0]


def format_all_classes(rows: list[dict], readers, halves: bool = False) -> str:
    """`ec57.format_classes` for all records and, with ``halves``, the even and the odd positions."""
    parts = [format_classes(rows, readers)]
    if halves:
        parts += [
            format_classes(rows[0::2], readers, "even positions"),
            format_classes(rows[1::2], readers, "odd positions"),
        ]
    return "\n" + "\n".join(parts)
