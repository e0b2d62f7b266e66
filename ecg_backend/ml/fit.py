"""Fit the autoencoder: the training settings, the loss, and the loop with early stopping.

The loss keeps the score a reconstruction error. Normal beats are trained to be rebuilt closely (their
score is the loss); labelled abnormal beats, when ``abnormal_weight`` > 0, are pushed until their score
reaches ``margin`` (a hinge: ``abnormal_weight * max(0, margin - score)``), and no further, so their
reconstruction stays a plausible beat rather than noise (outlier exposure with a margin). With
``abnormal_weight = 0`` only normal beats are used, as in the unsupervised detector.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from .model import AutoencoderConfig, AutoencoderEnsemble, HybridAutoencoder, reconstruction_score


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and protocol settings; stored in model.json under ``training``."""

    seed: int = 7
    n_members: int = 1
    max_epochs: int = 150
    patience: int = 20
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-5
    val_fraction: float = 0.15
    n_folds: int = 5
    abnormal_weight: float = 1.0  # 0: train on normal beats only (unsupervised)
    margin: float = 1.0  # score (scaled units) an abnormal beat is pushed up to
    noise_std: float = 0.0  # denoising: Gaussian noise added to inputs (scaled units)
    amplitude_jitter: float = 0.0  # random per-beat gain in [1 - j, 1 + j]
    shift_max: int = 0  # random time shift of up to this many samples
    position_weighted: bool = False
    scaler: str = "global"  # "global": one mean/std for all positions; "position": per position
    # One thread: on a shared 2-core machine two OpenMP threads spin against other work and a
    # tiny model trains many times slower; the result is also independent of the core count.
    num_threads: int = 1

    @property
    def supervised(self) -> bool:
        return self.abnormal_weight > 0


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
        scaler.var_ = scaler.scale_**2
    elif kind != "position":
        raise ValueError(f"scaler must be 'position' or 'global', got {kind!r}")
    return scaler


def scale(scaler, beats: np.ndarray) -> np.ndarray:
    """Raw beats in the scaler's units, float32."""
    return ((beats - scaler.mean_) / scaler.scale_).astype(np.float32)


def detector_loss(x: torch.Tensor, recon: torch.Tensor, is_abnormal: torch.Tensor, tc: TrainConfig) -> torch.Tensor:
    """Mean over the batch of: the score for a normal beat, the margin hinge for an abnormal one.

    Args:
        x: (B, L) scaled beats (the targets).
        recon: (B, L) reconstructions.
        is_abnormal: (B,) bool labels.
        tc: gives ``abnormal_weight`` and ``margin``.

    Returns:
        A scalar tensor.
    """
    score = reconstruction_score(x, recon)
    hinge = tc.abnormal_weight * torch.relu(tc.margin - score)
    return torch.where(is_abnormal, hinge, score).mean()


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


def train_epoch(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    tc: TrainConfig,
    gen: torch.Generator,
) -> float:
    """One pass over (x, y) in shuffled mini-batches; returns the mean training loss."""
    model.train()
    order = torch.randperm(x.shape[0], generator=gen)
    total = 0.0
    for start in range(0, x.shape[0], tc.batch_size):
        batch = order[start : start + tc.batch_size]
        target = x[batch]
        opt.zero_grad(set_to_none=True)
        loss = detector_loss(target, model(_augment(target, tc, gen)), y[batch], tc)
        loss.backward()
        opt.step()
        total += loss.item() * len(batch)
    return total / x.shape[0]


def fit_autoencoder(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    cfg: AutoencoderConfig,
    tc: TrainConfig,
    seed: int,
    progress: str | None = None,
) -> tuple[HybridAutoencoder, dict]:
    """Train one autoencoder with early stopping on the validation loss.

    Args:
        train: (scaled beats (n, L) float32, is_abnormal (n,) bool) to fit.
        val: the same for early stopping.
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
    (xt, yt), (xv, yv) = [(torch.from_numpy(x), torch.from_numpy(np.asarray(y, bool))) for x, y in (train, val)]
    best = (float("inf"), 0, copy.deepcopy(model.state_dict()))
    history = {"train_loss": [], "val_loss": []}
    bar = _progress_bar(progress, tc.max_epochs)
    for epoch in range(tc.max_epochs):
        history["train_loss"].append(train_epoch(model, opt, xt, yt, tc, gen))
        sched.step()
        model.eval()
        with torch.inference_mode():
            history["val_loss"].append(detector_loss(xv, model(xv), yv, tc).item())
        if history["val_loss"][-1] < best[0]:
            best = (history["val_loss"][-1], epoch, copy.deepcopy(model.state_dict()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}", val=f"{history['val_loss'][-1]:.4f}")
        if epoch - best[1] >= tc.patience:
            break
    if bar is not None:
        bar.close()
    model.load_state_dict(best[2])
    model.eval()
    history.update(best_epoch=best[1] + 1, best_val_loss=best[0], epochs_run=len(history["val_loss"]))
    return model, history


def _progress_bar(description: str | None, total: int):
    if description is None:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="epoch", leave=False)


def validation_split(is_abnormal: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit indices, validation indices): ``fraction`` of each class held out, chosen by ``seed``."""
    perm = np.random.default_rng(seed).permutation(len(is_abnormal))
    val = []
    for group in (perm[~is_abnormal[perm]], perm[is_abnormal[perm]]):
        if len(group):
            val.extend(group[: max(1, round(fraction * len(group)))])
    val = np.asarray(sorted(val), dtype=np.int64)
    return np.setdiff1d(np.arange(len(is_abnormal)), val), val


def fit_ensemble(
    beats: np.ndarray, is_abnormal: np.ndarray, cfg: AutoencoderConfig, tc: TrainConfig, seed: int, label: str = ""
) -> tuple[AutoencoderEnsemble, object, list[dict]]:
    """Fit scaler + ``tc.n_members`` autoencoders (different seeds) on raw labelled beats.

    Unsupervised settings (``abnormal_weight = 0``) drop the abnormal beats first. The scaler is fitted
    on the normal beats of the fitting part.

    Returns:
        (ensemble, scaler, one history per member).
    """
    is_abnormal = np.asarray(is_abnormal, bool)
    if not tc.supervised:
        beats, is_abnormal = beats[~is_abnormal], is_abnormal[~is_abnormal]
    fit_idx, val_idx = validation_split(is_abnormal, tc.val_fraction, seed)
    scaler = fit_scaler(beats[fit_idx][~is_abnormal[fit_idx]], tc.scaler)
    fit = (scale(scaler, beats[fit_idx]), is_abnormal[fit_idx])
    val = (scale(scaler, beats[val_idx]), is_abnormal[val_idx])
    ensemble = AutoencoderEnsemble(cfg, n_members=tc.n_members)
    histories = []
    for m in range(tc.n_members):
        desc = f"{label} member {m + 1}/{tc.n_members}".strip()
        member, hist = fit_autoencoder(fit, val, cfg, tc, seed=seed * 1000 + m, progress=desc)
        ensemble.members[m].load_state_dict(member.state_dict())
        histories.append(hist)
    return ensemble.eval(), scaler, histories


def reconstruct(net: AutoencoderEnsemble, scaler, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scaled beats, scaled reconstructions) for raw beats."""
    x = scale(scaler, beats)
    with torch.inference_mode():
        return x, net(torch.from_numpy(x)).numpy()
