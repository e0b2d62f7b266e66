"""Evaluate a bundle on the official ECG5000 TEST split (4500 beats): metrics, report, plots.

TEST is read only here, after the threshold and calibration are fixed in the bundle.
Run: ``python -m ecg_backend.ml.evaluate [--out reports/]`` or ``flask --app ecg_backend ecg evaluate``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import calibrate
from .bundle import read_card, write_card
from .data import CLASS_NAMES, load_ecg5000

DEFAULT_REPORT_DIR = Path("reports")


def binary_metrics(y_true: np.ndarray, scores: np.ndarray, predicted: np.ndarray, confidence: np.ndarray) -> dict:
    """Normal-vs-abnormal metrics.

    Args:
        y_true: (n,) bool, True = abnormal.
        scores: (n,) anomaly scores.
        predicted: (n,) bool predictions (score > threshold).
        confidence: (n,) calibrated P(abnormal).

    Returns:
        Dict of ROC-AUC, PR-AUC, accuracy, per-class precision/recall/F1, confusion matrix, ECE.
    """
    from sklearn.metrics import (
        average_precision_score,
        confusion_matrix,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    y_true = np.asarray(y_true, bool)
    predicted = np.asarray(predicted, bool)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, predicted, labels=[False, True], zero_division=0
    )
    cm = confusion_matrix(y_true, predicted, labels=[False, True])
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(("normal", "abnormal"))
    }
    return {
        "n_beats": int(y_true.size),
        "roc_auc": float(roc_auc_score(y_true, scores)),
        "pr_auc": float(average_precision_score(y_true, scores)),
        "accuracy": float((predicted == y_true).mean()),
        "per_class": per_class,
        "confusion_matrix": {"labels": ["normal", "abnormal"], "rows_true_cols_predicted": cm.tolist()},
        "ece": calibrate.expected_calibration_error(confidence, y_true),
        "brier": float(np.mean((confidence - y_true) ** 2)),
    }


def recall_by_class(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Share of beats of each original class (1..5) flagged abnormal (for class 1: specificity).

    Args:
        labels: (n,) classes 1..5.
        predicted: (n,) bool, True = flagged abnormal.

    Returns:
        {"2": {"name", "n", "recall"}, ...} for the abnormal classes present.
    """
    out = {}
    for cls in (2, 3, 4, 5):
        mask = labels == cls
        if mask.any():
            out[str(cls)] = {"name": CLASS_NAMES[cls], "n": int(mask.sum()), "recall": float(predicted[mask].mean())}
    return out


def evaluate_detector(detector, beats: np.ndarray, labels: np.ndarray) -> dict:
    """Score beats with ``detector`` and compute the full report (no plots)."""
    from sklearn.metrics import roc_curve

    result = detector.score(beats)
    y = labels != 1
    report = binary_metrics(y, result.scores, result.is_anomaly, result.confidence)
    report["threshold"] = float(result.threshold)
    report["recall_by_class"] = recall_by_class(labels, result.is_anomaly)
    report["reliability"] = calibrate.reliability_table(result.confidence, y)
    fpr, tpr, _ = roc_curve(y, result.scores)
    fpr_kept, tpr_kept = calibrate.downsample_curve(fpr, tpr, 100)
    report["roc_curve"] = {"fpr": fpr_kept, "tpr": tpr_kept, "auc": report["roc_auc"]}
    report["_scores"] = result.scores
    report["_labels"] = labels
    return report


def evaluate_bundle(bundle_dir: Path | None = None, data_dir: Path | None = None) -> dict:
    """Load the bundle and evaluate it on TEST."""
    from .detector import AnomalyDetector

    detector = AnomalyDetector.load(bundle_dir)
    test = load_ecg5000("TEST", data_dir)
    report = evaluate_detector(detector, test.beats, test.labels)
    report["split"] = "TEST"
    return report


def public_report(report: dict) -> dict:
    """The report without the private score arrays (JSON-ready)."""
    return {k: v for k, v in report.items() if not k.startswith("_")}


def record_metrics(bundle_dir: Path, report: dict) -> dict:
    """Store the TEST metrics in the bundle's model.json (weights and scaler are untouched)."""
    card = read_card(bundle_dir)
    public = public_report(report)
    card["metrics"] = {
        k: public[k]
        for k in (
            "split",
            "n_beats",
            "roc_auc",
            "pr_auc",
            "accuracy",
            "per_class",
            "confusion_matrix",
            "recall_by_class",
            "ece",
            "brier",
        )
        if k in public
    }
    card["reliability"] = public["reliability"]
    card["roc_curve"] = public["roc_curve"]
    write_card(bundle_dir, card)
    return card


def format_report(report: dict) -> str:
    """Human-readable summary of a report."""
    lines = [
        f"ECG5000 {report.get('split', 'TEST')}: {report['n_beats']} beats, threshold {report['threshold']:.5g}",
        f"ROC-AUC {report['roc_auc']:.4f}   PR-AUC {report['pr_auc']:.4f}   accuracy {report['accuracy']:.4f}",
    ]
    for name, m in report["per_class"].items():
        lines.append(
            f"{name:>9}: precision {m['precision']:.4f} recall {m['recall']:.4f} F1 {m['f1']:.4f} (n={m['support']})"
        )
    for cls, m in report["recall_by_class"].items():
        lines.append(f"class {cls} ({m['name']}, n={m['n']}): recall {m['recall']:.4f}")
    cm = report["confusion_matrix"]["rows_true_cols_predicted"]
    lines.append(f"confusion (rows true normal/abnormal, cols predicted): {cm[0]} {cm[1]}")
    lines.append(f"calibration: ECE {report['ece']:.4f}, Brier {report['brier']:.4f}")
    lines.append("reliability: bin  n  mean-confidence  observed-abnormal-rate")
    for row in report["reliability"]:
        lines.append(
            f"  [{row['lower']:.1f},{row['upper']:.1f}] {row['count']:5d}  "
            f"{row['mean_confidence']:.3f}  {row['observed_rate']:.3f}"
        )
    return "\n".join(lines)


def write_plots(report: dict, out_dir: Path) -> list[Path]:
    """ROC curve and score-distribution PNGs (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    scores, labels = report["_scores"], report["_labels"]
    y = labels != 1
    paths = []
    fpr, tpr, _ = roc_curve(y, scores)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"AUC {report['roc_auc']:.4f}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, ECG5000 TEST")
    ax.legend(loc="lower right")
    paths.append(out_dir / "roc.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.logspace(np.log10(max(scores.min(), 1e-6)), np.log10(scores.max()), 60)
    for cls in (1, 2, 3, 4, 5):
        mask = labels == cls
        if mask.any():
            ax.hist(scores[mask], bins=bins, alpha=0.55, label=f"{cls} {CLASS_NAMES[cls]} (n={mask.sum()})")
    ax.axvline(report["threshold"], color="black", linestyle="--", label="threshold")
    ax.set(
        xscale="log",
        xlabel="anomaly score (reconstruction error)",
        ylabel="beats",
        title="Score distribution by class, ECG5000 TEST",
    )
    ax.legend(fontsize=8)
    paths.append(out_dir / "score_distribution.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    return paths


def run_evaluation(bundle_dir: Path | None, data_dir: Path | None, out_dir: Path) -> dict:
    """Evaluate, print, and write report.json, report.txt and the plots into ``out_dir``."""
    report = evaluate_bundle(bundle_dir, data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = format_report(report)
    (out_dir / "report.txt").write_text(text + "\n", encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps(public_report(report), indent=1) + "\n", encoding="utf-8")
    plots = write_plots(report, out_dir)
    print(text)
    print(f"report written to {out_dir}: report.txt, report.json, " + ", ".join(p.name for p in plots))
    return report


def build_parser(prog: str | None = None, default_bundle: Path | None = None) -> argparse.ArgumentParser:
    """The evaluation command's options (``python -m ecg_backend.ml.evaluate`` and ``flask ecg evaluate``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        allow_abbrev=False,
        description=("Evaluate the bundle on the 4500-beat ECG5000 TEST split; print and write the report."),
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        default=default_bundle,
        help="bundle folder (default: MODEL_DIR or ecg_backend/artifacts)",
    )
    parser.add_argument("--data", type=Path, default=None, help="ECG5000 folder")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_REPORT_DIR, help="where the report and plots go (default: reports)"
    )
    return parser


def main(argv: list[str] | None = None, prog: str | None = None, default_bundle: Path | None = None) -> None:
    """Parse ``argv`` and run the evaluation; a missing data set or bad bundle is a one-line error."""
    from .bundle import ModelBundleError
    from .data import DatasetFormatError, find_ecg5000_dir

    parser = build_parser(prog, default_bundle)
    args = parser.parse_args(argv)
    try:
        run_evaluation(args.bundle, find_ecg5000_dir(args.data), args.out)
    except (FileNotFoundError, DatasetFormatError, ModelBundleError) as exc:
        parser.exit(1, f"Error: {exc}\n")


if __name__ == "__main__":
    main()
