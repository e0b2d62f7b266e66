"""Evaluate long-recording analysis against MIT-BIH reference annotations.

    python -m ecg_backend.signals.evaluate --dir PATH [--records 100,119] [--bundle DIR | --untrained]
                                           [--halves] [--single-lead] [--thresholds] [--readers 0,3,5,10]
                                           [--save-readings DIR]

(also `flask --app ecg_backend ecg evaluate-mitdb --dir PATH`). Per record: R-peak sensitivity/PPV
(150 ms tolerance), AUC of V beats against normal beats (N, L, R, e, j) and VEB (V, E) sensitivity/PPV at
the shipped operating point (a detection counts as flagged when its label is V). R-peak PPV is reported
over the whole record and, as ANSI/AAMI EC57 does, without detections inside annotated ventricular
flutter/fibrillation episodes. VEB PPV is strict: a flagged detection that matches no reference beat
counts as a false positive; a second VEB PPV leaves out the flagged detections inside those episodes.
Runs of fast anomalous beats (`scoring.anomalous_runs`) are compared with the annotated ventricular
tachycardia episodes (rhythm annotation '(VT'): how many runs overlap one, how many episodes a run overlaps.
`--halves` also pools the even and the odd positions of the sorted record list. `--thresholds` prints how
much of the VEB figure the single shipped operating point costs (`format_thresholds`): the best one
global threshold and the best per-record thresholds, both chosen *with* the reference labels, so they are
bounds for analysis, never figures of the method.
Then the beat classes (`ec57`): EC57-style VEB and SVEB Se/+P of the labels, for K = 0, 3, 5, 10 labels of a
simulated reader per record (``--readers``) through `review.apply_labels`, and how the reference's noise spans
and artefact marks come out (unusable, Q, or wrongly V).
Every lead of a record is used: the first (MLII) for the R peaks and all features, the others as
``extra_leads`` of `analyze_recording`; `--single-lead` analyses the first lead alone (the figures before
the second-lead revision).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ecg_backend.signals.ec57 import READERS, class_figures, format_all_classes, parse_readers
from ecg_backend.signals.mitdb import (
    NORMAL_SYMBOLS,
    VEB_SYMBOLS,
    default_mitdb_dir,
    list_records,
    match_peaks,
    read_record,
)
from ecg_backend.signals.reading import save_reading

MIN_V_FOR_AUC = 10


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Mann-Whitney AUC (ties count half); NaN when a class is empty."""
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def evaluate_record(directory, name: str, detector, single_lead: bool = False, readers=READERS, save_dir=None) -> dict:
    """Analyse one record (its first lead, plus the others as extra leads unless ``single_lead``) and
    compare with its annotations; returns one table row (counts and rates). ``save_dir``: also write the
    reading there (`reading.save_reading`, without waveforms)."""
    from ecg_backend.signals.recording import analyze_recording

    rec = read_record(directory, name)
    extra = None if single_lead or rec.extra_leads is None or rec.extra_leads.shape[1] == 0 else rec.extra_leads
    t0 = time.perf_counter()
    analysis = analyze_recording(rec.signal, rec.fs, detector=detector, extra_leads=extra)
    elapsed = time.perf_counter() - t0
    if save_dir is not None:
        save_reading(analysis, Path(save_dir) / f"{name}.npz", waveforms=False)
    table = analysis.beats
    det = table["r_peak"].to_numpy()
    ref_to_det, det_matched = match_peaks(rec.ref_samples, det, int(round(0.15 * rec.fs)))
    tp = int((ref_to_det >= 0).sum())
    matched = ref_to_det >= 0
    sym = rec.ref_symbols
    score = table["score"].to_numpy()
    flag = table["label"].to_numpy(dtype=object) == "V"
    ref_score = np.where(matched, score[np.maximum(ref_to_det, 0)], np.nan)
    ref_flag = np.where(matched, flag[np.maximum(ref_to_det, 0)], False)
    is_v = sym == "V"
    is_n = np.isin(sym, list(NORMAL_SYMBOLS))
    is_veb = np.isin(sym, list(VEB_SYMBOLS))
    veb_tp = int((ref_flag & is_veb).sum())
    veb_fp = int((ref_flag & ~is_veb).sum()) + int((flag & ~det_matched).sum())
    fs = rec.fs
    runs = [(r["start_s"] * fs, r["end_s"] * fs) for r in analysis.runs]
    vt = rec.vt_episodes or []

    def overlaps(a, b, spans):
        return any(min(b, d) >= max(a, c) for c, d in spans)

    det_veb = np.zeros(len(det), dtype=bool)
    det_veb[ref_to_det[matched & is_veb]] = True
    in_vf = np.zeros(len(det), dtype=bool)
    for a, b in rec.vf_episodes or []:
        in_vf |= (det >= a) & (det < b)
    return {
        "record": name,
        "n_ref": int(len(sym)),
        "tp": tp,
        "fn": int(len(sym) - tp),
        "fp": int((~det_matched).sum()),
        "fp_vf": int((in_vf & ~det_matched).sum()),
        "n_v": int(is_v.sum()),
        "auc": _auc(ref_score[is_v & matched], ref_score[is_n & matched]),
        "veb": int(is_veb.sum()),
        "veb_tp": veb_tp,
        "veb_fp": veb_fp,
        "veb_fp_vf": int((in_vf & flag & ~det_matched).sum()),
        "flagged": int(flag.sum()),
        "runs": len(runs),
        "runs_on_vt": sum(overlaps(a, b, vt) for a, b in runs),
        "vt_episodes": len(vt),
        "vt_found": sum(overlaps(a, b, runs) for a, b in vt),
        "unusable_s": analysis.summary["unusable_s"],
        "seconds": elapsed,
        # per detection, for `format_thresholds`: its score and whether it matches a VEB reference beat
        "det_score": score,
        "det_veb": det_veb,
        "operating_point": float(analysis.summary["operating_point"]),
        **class_figures(analysis, rec, readers),
    }


def _pct(a: int, b: int) -> float:
    return 100.0 * a / b if b else float("nan")


def format_table(rows: list[dict]) -> str:
    """Per-record table with pooled rows, as printed by the evaluation command."""
    head = (
        f"{'record':>7} {'beats':>6} {'Se%':>7} {'PPV%':>7} {'V':>5} {'AUC':>6} "
        f"{'VEB':>5} {'VEB Se%':>8} {'VEB PPV%':>9} {'flagged':>8} {'unusable s':>10} {'time s':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['record']:>7} {r['n_ref']:>6} {_pct(r['tp'], r['tp'] + r['fn']):7.2f} "
            f"{_pct(r['tp'], r['tp'] + r['fp']):7.2f} {r['n_v']:>5} {r['auc']:6.3f} {r['veb']:>5} "
            f"{_pct(r['veb_tp'], r['veb']):8.2f} {_pct(r['veb_tp'], r['veb_tp'] + r['veb_fp']):9.2f} "
            f"{r['flagged']:>8} {r['unusable_s']:10.1f} {r['seconds']:7.2f}"
        )
    tp, fn, fp = (sum(r[k] for r in rows) for k in ("tp", "fn", "fp"))
    vt, vf, vn = (sum(r[k] for r in rows) for k in ("veb_tp", "veb_fp", "veb"))
    aucs = [r["auc"] for r in rows if r["n_v"] >= MIN_V_FOR_AUC and np.isfinite(r["auc"])]
    lines.append("-" * len(head))
    lines.append(
        f"pooled R-peak: Se {_pct(tp, tp + fn):.2f}%  PPV {_pct(tp, tp + fp):.2f}%  (TP {tp}, FN {fn}, FP {fp})"
    )
    fp_vf = sum(r["fp_vf"] for r in rows)
    lines.append(
        f"pooled R-peak outside ventricular flutter/fibrillation episodes (ANSI/AAMI EC57 excludes them): "
        f"PPV {_pct(tp, tp + fp - fp_vf):.2f}%  ({fp_vf} of the FP fall inside such episodes)"
    )
    lines.append(
        f"mean AUC V vs normal over {len(aucs)} records with >= {MIN_V_FOR_AUC} V beats: "
        f"{np.mean(aucs) if aucs else float('nan'):.4f}  (min {min(aucs) if aucs else float('nan'):.4f})"
    )
    lines.append(
        f"pooled VEB at the shipped operating point: Se {_pct(vt, vn):.2f}%  PPV {_pct(vt, vt + vf):.2f}%  "
        f"(TP {vt}, FN {vn - vt}, FP {vf})"
    )
    vf_vf = sum(r.get("veb_fp_vf", 0) for r in rows)
    lines.append(
        f"pooled VEB PPV outside ventricular flutter/fibrillation episodes (EC57 convention): "
        f"{_pct(vt, vt + vf - vf_vf):.2f}%  ({vf_vf} of the FP are flagged flutter waves)"
    )
    runs, on_vt = sum(r.get("runs", 0) for r in rows), sum(r.get("runs_on_vt", 0) for r in rows)
    n_vt, found = sum(r.get("vt_episodes", 0) for r in rows), sum(r.get("vt_found", 0) for r in rows)
    lines.append(
        f"runs of >= 3 anomalous beats at > 100/min: {runs}, {on_vt} overlapping an annotated "
        f"ventricular tachycardia episode; annotated VT episodes overlapped by a run: {found} of {n_vt}"
    )
    return "\n".join(lines)


def format_halves(rows: list[dict]) -> str:
    """The pooled rows of `format_table` for the even and the odd positions of ``rows`` (sorted records):
    the split used to design on one half and check on the other."""
    out = []
    for label, half in (("even", rows[0::2]), ("odd", rows[1::2])):
        if half:
            out.append(f"\n{label} positions ({', '.join(r['record'] for r in half)}):")
            out.extend(format_table(half).splitlines()[len(half) + 3 :])
    return "\n".join(out)


def _ranked_counts(score: np.ndarray, veb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flagging the k highest scores for every k: thresholds (the k-th score), VEB TP and FP counts, and
    whether a threshold can flag exactly those k (not when the next beat ties with the k-th)."""
    order = np.argsort(-score, kind="stable")
    tp = np.concatenate([[0], np.cumsum(veb[order])])
    fp = np.concatenate([[0], np.cumsum(~veb[order])])
    ths = np.concatenate([[np.inf], score[order]])
    return ths, tp, fp, np.append(ths[1:] != ths[:-1], True)


def threshold_bounds(rows: list[dict], min_ppv: float = 90.0, min_se: float = 95.0) -> dict:
    """Label-chosen thresholds over ``rows`` (`evaluate_record`) against the shipped operating point.

    Returns ``{"shipped", "global", "per_record_se", "per_record_ppv"}``, each ``{"tp", "fp", "fn", "se",
    "ppv"}`` (plus ``"threshold"`` for the global one and ``"thresholds"`` per record; None where no
    threshold meets the bound): the shipped flags;
    the one threshold for all records with the highest pooled Se at pooled PPV >= ``min_ppv``; and one
    threshold per record (each record's trade-off maximises TP - lambda * FP for a common lambda) with the
    highest pooled Se at PPV >= ``min_ppv``, and the highest pooled PPV at Se >= ``min_se``. A flagged
    detection that matches no reference beat is a false positive, as in `format_table`.
    """
    n_veb = sum(r["veb"] for r in rows)

    def summary(tp, fp, **extra):
        tp, fp = int(tp), int(fp)
        return {"tp": tp, "fp": fp, "fn": n_veb - tp, "se": _pct(tp, n_veb), "ppv": _pct(tp, tp + fp), **extra}

    shipped = summary(sum(r["veb_tp"] for r in rows), sum(r["veb_fp"] for r in rows))
    ths, tp, fp, distinct = _ranked_counts(
        np.concatenate([r["det_score"] for r in rows]), np.concatenate([r["det_veb"] for r in rows])
    )
    ok = distinct & (100.0 * tp >= min_ppv * np.maximum(tp + fp, 1)) & (tp > 0)
    k = int(np.argmax(np.where(ok, tp, -1)))
    best_global = summary(tp[k], fp[k], threshold=float(ths[k])) if ok.any() else None

    ranked = [_ranked_counts(r["det_score"], r["det_veb"]) for r in rows]
    best_se = best_ppv = None
    for lam in np.concatenate([np.arange(0.02, 1.0, 0.02), np.arange(1.0, 20.0, 0.25)]):
        picks = [int(np.argmax(np.where(ok_k, a - lam * b, -np.inf))) for _, a, b, ok_k in ranked]
        cand = summary(
            sum(a[k] for (_, a, _, _), k in zip(ranked, picks)),
            sum(b[k] for (_, _, b, _), k in zip(ranked, picks)),
            thresholds={r["record"]: float(t[k]) for r, (t, _, _, _), k in zip(rows, ranked, picks)},
        )
        if cand["ppv"] >= min_ppv and (best_se is None or cand["se"] > best_se["se"]):
            best_se = cand
        if cand["se"] >= min_se and (best_ppv is None or cand["ppv"] > best_ppv["ppv"]):
            best_ppv = cand
    return {"shipped": shipped, "global": best_global, "per_record_se": best_se, "per_record_ppv": best_ppv}


def format_thresholds(rows: list[dict], min_ppv: float = 90.0, min_se: float = 95.0) -> str:
    """`threshold_bounds` as text: what one global threshold and per-record thresholds, both chosen with the
    labels, would reach, against the shipped operating point."""
    b = threshold_bounds(rows, min_ppv, min_se)

    def line(item):
        if item is None:
            return "none reaches the bound"
        return f"Se {item['se']:.2f}%  PPV {item['ppv']:.2f}%  (TP {item['tp']}, FN {item['fn']}, FP {item['fp']})"

    points = sorted({r["operating_point"] for r in rows})
    lines = [
        "\nVEB thresholds chosen WITH the reference labels (bounds for analysis, not figures of the method):",
        f"  shipped operating point ({', '.join(f'{p:g}' for p in points)}): {line(b['shipped'])}",
        f"  best single threshold for all records, PPV >= {min_ppv:g}%: {line(b['global'])}"
        + (f"  (flags score >= {b['global']['threshold']:.3f})" if b["global"] else ""),
        f"  best threshold per record, PPV >= {min_ppv:g}%: {line(b['per_record_se'])}",
        f"  best threshold per record, Se >= {min_se:g}%: {line(b['per_record_ppv'])}",
    ]
    if b["per_record_se"] is not None:
        per = b["per_record_se"]["thresholds"]
        lines.append(
            "  per-record thresholds (flags score >=) of the first of these: "
            + ", ".join(f"{k} {'-' if not np.isfinite(v) else f'{v:.2f}'}" for k, v in per.items())
        )
    return "\n".join(lines)


def evaluate_dir(
    directory,
    detector,
    records: list[str] | None = None,
    echo=print,
    single_lead: bool = False,
    readers=READERS,
    save_dir=None,
) -> list[dict]:
    """Evaluate every annotated record in ``directory`` (or the named ones), with all their leads or
    (``single_lead``) the first only; prints as it goes via ``echo``."""
    names = records or list_records(directory)
    if not names:
        raise FileNotFoundError(f"no WFDB records with .atr annotations in {directory}")
    rows = []
    for name in names:
        rows.append(
            evaluate_record(directory, name, detector, single_lead=single_lead, readers=readers, save_dir=save_dir)
        )
        echo(f"  {name}: done in {rows[-1]['seconds']:.2f} s")
    return rows


def load_detector(model_dir: str | None, untrained: bool):
    """The shipped bundle (or one in ``model_dir``), or a random-weight detector for a context-only run."""
    from ecg_backend.ml.detector import AnomalyDetector

    if untrained:
        return AnomalyDetector.untrained()
    return AnomalyDetector.for_recordings(model_dir)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The evaluation's options, shared by ``python -m ecg_backend.signals.evaluate`` and
    ``flask --app ecg_backend ecg evaluate-mitdb`` (the app's CLI passes its arguments through)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        allow_abbrev=False,
        description=(
            "Per-record R-peak Se/PPV (150 ms), AUC of V vs normal beats and VEB Se/PPV at the shipped "
            "operating point, on MIT-BIH records."
        ),
    )
    parser.add_argument(
        "--dir",
        default=None,
        help="folder of WFDB records with .atr files (default: ECG_MITDB_DIR or ../shared/data/mitdb)",
    )
    parser.add_argument("--records", default="", help="comma-separated record names (default: all)")
    parser.add_argument(
        "--bundle",
        "--model-dir",
        dest="bundle",
        default=None,
        help="model bundle folder (default: the app's recording model, else the shipped one)",
    )
    parser.add_argument(
        "--untrained", action="store_true", help="random-weight detector: measures the recording-context scoring alone"
    )
    parser.add_argument(
        "--halves",
        action="store_true",
        help="also print the pooled rows of the even and odd positions of the sorted record list "
        "(design on one half, check on the other)",
    )
    parser.add_argument(
        "--single-lead",
        action="store_true",
        help="analyse the first lead (MLII) alone, as before the second-lead revision",
    )
    parser.add_argument(
        "--thresholds",
        action="store_true",
        help="also print the VEB figures of label-chosen thresholds (one global, one per record)",
    )
    parser.add_argument(
        "--readers",
        default=",".join(map(str, READERS)),
        help="comma-separated numbers of simulated reader labels per record (K) for the beat-class "
        "figures (default 0,3,5,10)",
    )
    parser.add_argument(
        "--save-readings",
        default=None,
        metavar="DIR",
        help="also write each record's reading (.npz, `reading.save_reading`) into DIR",
    )
    return parser


def main(argv=None, prog: str | None = None, detector=None, echo=print) -> None:
    """Parse ``argv`` and print the evaluation; ``detector`` (e.g. the app's loaded one) is used unless
    ``--bundle`` or ``--untrained`` asks for another."""
    from ecg_backend.ml.bundle import ModelBundleError

    parser = build_parser(prog)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    try:
        if detector is None or args.bundle or args.untrained:
            detector = load_detector(args.bundle, args.untrained)
    except ModelBundleError as exc:
        parser.exit(1, f"Error: {exc} (train one, pass --bundle, or use --untrained)\n")
    folder = Path(args.dir) if args.dir else default_mitdb_dir()
    records = [r for r in args.records.split(",") if r] or None
    echo(f"model {detector.version}; records in {folder}")
    echo("leads: " + ("the first only (--single-lead)" if args.single_lead else "all (first = primary)"))
    try:
        readers = parse_readers(args.readers)
    except ValueError as exc:
        parser.exit(2, f"Error: {exc}\n")
    try:
        rows = evaluate_dir(
            folder,
            detector,
            records,
            echo=echo,
            single_lead=args.single_lead,
            readers=readers,
            save_dir=args.save_readings,
        )
    except FileNotFoundError as exc:
        parser.exit(1, f"Error: {exc}\n")
    echo(format_table(rows))
    if args.halves:
        echo(format_halves(rows))
    echo(format_all_classes(rows, readers, args.halves))
    if args.thresholds:
        echo(format_thresholds(rows))


if __name__ == "__main__":
    main()
