"""AnomalyDetector: the shipped model bundle behind one small, fast, validated API.

A bundle is a folder with three files:

* ``model.json``: architecture config, threshold, calibration, scoring, metrics, checksums;
* ``weights.pt``: the network's ``state_dict`` (loaded with ``torch.load(weights_only=True)``);
* ``scaler.joblib``: the standard scaler fitted on the training normals.

Scores are the mean squared reconstruction error in the scaler's units (position-weighted when the
bundle's ``scoring.position_weights`` is set); ``sample_error`` is the squared error per sample in
the input's units.

Inference runs through a frozen TorchScript trace of the network, built and checked against the eager
network when a bundle is loaded (:meth:`AnomalyDetector.use_fast_inference`): for one beat it skips
most of the per-module Python overhead (about 0.4 instead of 0.7 ms on one CPU thread). If tracing
fails, or the trace's output differs from the eager network's by more than float round-off, the
detector keeps the eager network.
"""
from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .calibrate import confidence_from_scores
from .data import BEAT_LENGTH
from .model import AutoencoderConfig, AutoencoderEnsemble

DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parents[1] / "artifacts"
MODEL_JSON = "model.json"
WEIGHTS_FILE = "weights.pt"
SCALER_FILE = "scaler.joblib"
BUNDLE_FORMAT = 1
# Largest |trace - eager| accepted, relative to max(1, |eager|): float32 round-off is ~1e-6.
FAST_PATH_TOLERANCE = 1e-5
_CHECK_BATCH_SIZES = (1, 2, 7)

log = logging.getLogger(__name__)


class ModelBundleError(RuntimeError):
    """The model bundle is missing, truncated, altered or inconsistent (one-line message)."""


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


def _bundle_error(directory: Path, what: str) -> ModelBundleError:
    return ModelBundleError(f"model bundle {directory}: {what}")


def _frozen_trace(net: torch.nn.Module, beat_length: int) -> torch.jit.ScriptModule:
    """A frozen TorchScript trace of ``net`` (eval mode) for (n, beat_length) float32 input."""
    example = torch.zeros(1, beat_length)
    with warnings.catch_warnings(), torch.no_grad():
        # torch marks TorchScript deprecated, and nn.LSTM reads one tensor as a Python bool while
        # tracing; neither matters here, because the trace is compared with the eager network below.
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net.eval(), example, check_trace=False)
        return torch.jit.freeze(traced.eval())


def _max_relative_difference(net: torch.nn.Module, traced, beat_length: int) -> float:
    """Largest |traced - eager| / max(1, |eager|) over a few random batches (a private RNG)."""
    rng = np.random.default_rng(20261130)
    worst = 0.0
    with torch.inference_mode():
        for n in _CHECK_BATCH_SIZES:
            x = torch.from_numpy(rng.normal(size=(n, beat_length)).astype(np.float32))
            expected = net(x)
            for _ in range(3):
                got = traced(x)
                if got.shape != expected.shape:
                    return math.inf
                diff = (got - expected).abs().max() / max(1.0, float(expected.abs().max()))
                worst = max(worst, float(diff))
    return worst


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
        raise ValueError(
            f"beats must have shape (n, {beat_length}) or ({beat_length},); got {tuple(np.shape(beats))}"
        )
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

    def __init__(self, net: AutoencoderEnsemble, mean: np.ndarray, scale: np.ndarray,
                 weights: np.ndarray | None, threshold: float, calibration: dict,
                 card: dict, version: str):
        self.net = net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.mean = np.asarray(mean, np.float32)
        self.scale = np.asarray(scale, np.float32)
        self.position_weights = None if weights is None else np.asarray(weights, np.float32)
        self.threshold = float(threshold)
        self.calibration = dict(calibration)
        self.card = card
        self.version = version
        self.beat_length = net.cfg.beat_length
        self._forward = self.net  # replaced by a verified frozen trace in use_fast_inference()
        self.fast_inference = False

    # ---------------------------------------------------------------- construction
    @classmethod
    def load(cls, path: str | os.PathLike | None = None, fast: bool = True) -> "AnomalyDetector":
        """Load and verify a bundle (default: ecg_backend/artifacts/). Raises ModelBundleError.

        ``fast`` (default) scores through a verified frozen trace (see :meth:`use_fast_inference`).
        """
        from .bundle import read_bundle

        detector = read_bundle(cls, Path(path) if path is not None else DEFAULT_BUNDLE_DIR)
        if fast:
            detector.use_fast_inference()
        return detector

    @classmethod
    def untrained(cls, seed: int = 0) -> "AnomalyDetector":
        """A tiny random-weight detector with an identity scaler: same API, for fast tests."""
        cfg = AutoencoderConfig(cnn_channels=8, lstm_hidden=8, branch_dim=8, latent_dim=4,
                                decoder_channels=8, patch_size=4)
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

    def use_fast_inference(self) -> bool:
        """Score through a frozen TorchScript trace of ``net`` when it reproduces the eager network.

        The trace is checked against the eager network on random scaled beats (batches of 1, 2 and 7,
        each run three times so the graph executor's optimised plan is checked too); any difference
        above ``FAST_PATH_TOLERANCE`` or any tracing error keeps the eager network. The trace holds the
        weights as they are now: call this again after changing ``net``'s parameters.

        Returns:
            Whether the fast path is in use.
        """
        self._forward, self.fast_inference = self.net, False
        try:
            traced = _frozen_trace(self.net, self.beat_length)
            worst = _max_relative_difference(self.net, traced, self.beat_length)
        except Exception as exc:  # noqa: BLE001 - tracing can fail in many ways; eager always works
            log.warning("fast inference unavailable (%s: %s); scoring with the eager network",
                        type(exc).__name__, exc)
            return False
        if not worst <= FAST_PATH_TOLERANCE:
            log.warning("fast inference differs from the eager network by %.3g; scoring with the eager "
                        "network", worst)
            return False
        self._forward, self.fast_inference = traced, True
        return True

    # ---------------------------------------------------------------- inference
    def _reconstruct_scaled(self, scaled: np.ndarray, batch_size: int) -> np.ndarray:
        forward = self._forward
        with torch.inference_mode():
            if scaled.shape[0] <= batch_size:  # the usual case: one forward pass, no copy
                return forward(torch.from_numpy(scaled)).numpy()
            out = np.empty_like(scaled)
            for start in range(0, scaled.shape[0], batch_size):
                chunk = torch.from_numpy(scaled[start:start + batch_size])
                out[start:start + batch_size] = forward(chunk).numpy()
        return out

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
        recon_scaled = self._reconstruct_scaled(scaled, max(1, int(batch_size)))
        diff = scaled - recon_scaled
        squared = diff * diff
        if self.position_weights is None:
            scores = squared.mean(axis=1, dtype=np.float64)
        else:
            scores = (squared @ self.position_weights).astype(np.float64) / self.beat_length
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
                parts.append(self.net.encode(torch.from_numpy(scaled[start:start + batch_size])).numpy())
        return np.concatenate(parts, axis=0)

    @property
    def latent_dim(self) -> int:
        return self.net.latent_dim

    def __repr__(self) -> str:
        return f"AnomalyDetector(version={self.version!r}, threshold={self.threshold:.6g})"
