"""AnomalyDetector: the shipped model bundle behind one small, fast, validated API.

The bundle format (files, checksums, verification) lives in :mod:`ecg_backend.ml.bundle`. Scores
are :func:`~ecg_backend.ml.model.reconstruction_score` in the scaler's units (position-weighted when
the bundle's ``scoring.position_weights`` is set), the same function training and calibration use;
``sample_error`` is the squared error per sample in the input's units.

Inference is the eager network under ``torch.inference_mode`` (no autograd bookkeeping). The frozen
TorchScript trace this replaced is deprecated in torch 2.13; the eager path measures within the speed
targets (benchmarks/bench_detector.py).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import torch

from .bundle import DEFAULT_BUNDLE_DIR, RECORDING_BUNDLE_DIR, Bundle, ModelBundleError, read_bundle
from .calibrate import confidence_from_scores
from .data import BEAT_LENGTH
from .model import AutoencoderConfig, AutoencoderEnsemble, reconstruction_score

__all__ = ["DEFAULT_BUNDLE_DIR", "AnomalyDetector", "ModelBundleError", "ScoreResult", "validate_beats"]


@dataclass(frozen=True)
class ScoreResult:
    """Scores and reconstructions for n beats; see the module docstring for units."""

    scores: np.ndarray
    is_anomaly: np.ndarray
    confidence: np.ndarray
    threshold: float
    reconstruction: np.ndarray
    sample_error: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def to_dicts(self) -> list[dict]:
        """One JSON-ready dict per beat."""
        recon = self.reconstruction.astype(np.float64).round(6).tolist()
        errors = self.sample_error.astype(np.float64).round(6).tolist()
        return [
            {
                "index": i,
                "score": float(self.scores[i]),
                "threshold": float(self.threshold),
                "is_anomaly": bool(self.is_anomaly[i]),
                "confidence": float(self.confidence[i]),
                "reconstruction": recon[i],
                "sample_error": errors[i],
            }
            for i in range(len(self))
        ]

    def summary(self) -> dict:
        """Counts and extremes over all beats."""
        n = len(self)
        k = int(self.is_anomaly.sum())
        return {
            "n_beats": n,
            "n_anomalous": k,
            "anomaly_fraction": k / n if n else 0.0,
            "max_score": float(self.scores.max()) if n else 0.0,
            "threshold": float(self.threshold),
        }


def validate_beats(beats, beat_length: int = BEAT_LENGTH) -> np.ndarray:
    """Turn array-like beats into a finite float32 (n, beat_length) array or raise ValueError.

    Args:
        beats: (n, beat_length) or a single (beat_length,) beat, any numeric array-like.
        beat_length: samples per beat.

    Returns:
        A C-contiguous float32 array of shape (n, beat_length).
    """
    if isinstance(beats, torch.Tensor):
        beats = beats.detach().cpu().numpy()
    try:
        array = np.asarray(beats, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"beats must be numbers in an array of shape (n, {beat_length}) or ({beat_length},); "
            "got rows of different lengths or non-numeric values"
        ) from None
    if array.size == 0:
        raise ValueError("beats is empty: expected at least one beat")
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != beat_length:
        raise ValueError(f"beats must have shape (n, {beat_length}) or ({beat_length},); got {tuple(np.shape(beats))}")
    finite = np.isfinite(array)
    if not finite.all():
        row = int(np.argwhere(~finite)[0][0])
        raise ValueError(f"beat {row} contains NaN or infinite values")
    if np.abs(array).max() > 1e6:
        raise ValueError("beats contain values larger than 1e6 in magnitude; expected ECG amplitudes")
    return np.ascontiguousarray(array, dtype=np.float32)


class AnomalyDetector:
    """Scores heartbeats by how badly the autoencoder reconstructs them."""

    beat_length = BEAT_LENGTH

    def __init__(
        self,
        net: AutoencoderEnsemble,
        mean: np.ndarray,
        scale: np.ndarray,
        weights: np.ndarray | None,
        threshold: float,
        calibration: dict,
        card: dict,
        version: str,
    ):
        self.net = net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.mean = np.asarray(mean, np.float32)
        self.scale = np.asarray(scale, np.float32)
        self.position_weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        self.threshold = float(threshold)
        self.calibration = dict(calibration)
        self.card = card
        self.version = version
        self.beat_length = net.cfg.beat_length

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_bundle(cls, bundle: Bundle) -> AnomalyDetector:
        """A detector over a verified :class:`~ecg_backend.ml.bundle.Bundle`."""
        return cls(
            bundle.net,
            bundle.mean,
            bundle.scale,
            bundle.position_weights,
            bundle.threshold,
            bundle.calibration,
            bundle.card,
            bundle.version,
        )

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> AnomalyDetector:
        """Load and verify a bundle (default: ecg_backend/artifacts/). Raises ModelBundleError."""
        return cls.from_bundle(read_bundle(path))

    @classmethod
    def for_recordings(cls, path: str | os.PathLike | None = None) -> AnomalyDetector:
        """The detector long recordings score with: ``path``, else the shipped recording bundle
        (``artifacts/recording/``) when there is one, else the beat detector's bundle."""
        if path is None and RECORDING_BUNDLE_DIR.is_dir():
            path = RECORDING_BUNDLE_DIR
        return cls.load(path)

    @classmethod
    def untrained(cls, seed: int = 0) -> AnomalyDetector:
        """A tiny random-weight detector with an identity scaler: same API, for fast tests."""
        cfg = AutoencoderConfig(
            cnn_channels=8, lstm_hidden=8, branch_dim=8, latent_dim=4, decoder_channels=8, patch_size=4
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = AutoencoderEnsemble(cfg, n_members=1)
        threshold = 1.0
        calibration = {"method": "logistic_log_score", "a": 4.0, "b": -4.0 * math.log(threshold)}
        card = {
            "name": "untrained",
            "untrained": True,
            "seed": seed,
            "architecture": cfg.to_dict(),
            "n_members": 1,
            "threshold": threshold,
            "calibration": calibration,
            "scoring": {"error": "mean squared error in scaled units", "position_weights": None},
            "metrics": {},
        }
        ones = np.ones(cfg.beat_length, np.float32)
        return cls(net, ones * 0, ones, None, threshold, calibration, card, f"untrained-{seed}")

    # ---------------------------------------------------------------- inference
    def _reconstruct_scaled(self, scaled: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(reconstructions, scores) of scaled beats, ``batch_size`` beats per forward pass."""
        recon = np.empty_like(scaled)
        scores = np.empty(scaled.shape[0], np.float64)
        with torch.inference_mode():
            for start in range(0, scaled.shape[0], batch_size):
                x = torch.from_numpy(scaled[start : start + batch_size])
                r = self.net(x)
                recon[start : start + batch_size] = r.numpy()
                scores[start : start + batch_size] = reconstruction_score(
                    x.double(), r.double(), self.position_weights
                ).numpy()
        return recon, scores

    def score(self, beats, batch_size: int = 2048) -> ScoreResult:
        """Score beats given in the raw ECG5000 value scale.

        Args:
            beats: array-like (n, 140) or a single (140,) beat.
            batch_size: beats per forward pass.

        Returns:
            ScoreResult with scores, flags, confidence, reconstruction and per-sample squared error.

        Raises:
            ValueError: wrong shape, empty, NaN/inf or absurd values.
        """
        x = validate_beats(beats, self.beat_length)
        scaled = (x - self.mean) / self.scale
        recon_scaled, scores = self._reconstruct_scaled(scaled, max(1, int(batch_size)))
        reconstruction = recon_scaled * self.scale + self.mean
        sample_error = (x - reconstruction) ** 2
        confidence = confidence_from_scores(scores, self.calibration["a"], self.calibration["b"])
        return ScoreResult(
            scores=scores,
            is_anomaly=scores > self.threshold,
            confidence=confidence,
            threshold=self.threshold,
            reconstruction=reconstruction,
            sample_error=sample_error,
        )

    def embed(self, beats, batch_size: int = 2048) -> np.ndarray:
        """Latent codes (n, latent_dim) of beats in the raw ECG5000 scale."""
        x = validate_beats(beats, self.beat_length)
        scaled = (x - self.mean) / self.scale
        parts = []
        with torch.inference_mode():
            for start in range(0, scaled.shape[0], batch_size):
                parts.append(self.net.encode(torch.from_numpy(scaled[start : start + batch_size])).numpy())
        return np.concatenate(parts, axis=0)

    @property
    def latent_dim(self) -> int:
        return self.net.latent_dim

    def __repr__(self) -> str:
        return f"AnomalyDetector(version={self.version!r}, threshold={self.threshold:.6g})"
