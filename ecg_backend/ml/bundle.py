"""The model bundle format, in one place: reading, verifying and writing a bundle folder.

A bundle is a folder with three files:

* ``model.json``: architecture config, threshold, calibration, scoring, metrics, checksums;
* ``weights.pt``: the network's ``state_dict`` (loaded with ``torch.load(weights_only=True)``);
* ``scaler.joblib``: the standard scaler fitted on the training beats.

The weights and scaler files are verified against the sha256 recorded in model.json *before* they are
deserialised, so a truncated or altered file is reported in one line and never unpickled. The network
is rebuilt from the architecture stored beside the weights (:class:`AutoencoderConfig` rejects unknown
keys, so a bundle of another model is refused rather than half-loaded).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data import sha256_file
from .model import AutoencoderConfig, AutoencoderEnsemble

DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parents[1] / "artifacts"
# The network whose error enters long-recording scores, when it is not the beat detector's (see
# docs/MODEL_CARD.md, "Long recordings (MIT-BIH)"); without this folder recordings use the beat detector.
RECORDING_BUNDLE_DIR = DEFAULT_BUNDLE_DIR / "recording"
MODEL_JSON = "model.json"
WEIGHTS_FILE = "weights.pt"
SCALER_FILE = "scaler.joblib"
BUNDLE_FORMAT = 1
REQUIRED_KEYS = ("format", "architecture", "n_members", "threshold", "calibration", "scoring", "files")


class ModelBundleError(RuntimeError):
    """The model bundle is missing, truncated, altered or inconsistent (one-line message)."""


@dataclass(frozen=True)
class Bundle:
    """A verified bundle, ready to score: what :class:`~ecg_backend.ml.detector.AnomalyDetector` is built from."""

    net: AutoencoderEnsemble
    mean: np.ndarray
    scale: np.ndarray
    position_weights: np.ndarray | None
    threshold: float
    calibration: dict
    card: dict
    version: str


def bundle_error(directory: Path, what: str) -> ModelBundleError:
    """A ModelBundleError naming the folder and what is wrong with it."""
    return ModelBundleError(f"model bundle {directory}: {what}")


def _read_card(directory: Path) -> dict:
    if not directory.is_dir():
        raise bundle_error(directory, "folder not found (set ECG_MODEL_DIR or train a model)")
    card_path = directory / MODEL_JSON
    if not card_path.is_file():
        raise bundle_error(directory, f"{MODEL_JSON} is missing")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bundle_error(directory, f"{MODEL_JSON} is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(card, dict):
        raise bundle_error(directory, f"{MODEL_JSON} must hold a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in card]
    if missing:
        raise bundle_error(directory, f"{MODEL_JSON} lacks keys {missing}")
    if card["format"] != BUNDLE_FORMAT:
        raise bundle_error(directory, f"bundle format {card['format']!r} is not {BUNDLE_FORMAT}")
    return card


def _verified_file(directory: Path, card: dict, role: str) -> Path:
    entry = card["files"].get(role) if isinstance(card["files"], dict) else None
    if not isinstance(entry, dict) or "name" not in entry or "sha256" not in entry:
        raise bundle_error(directory, f"{MODEL_JSON} has no file entry for {role}")
    path = directory / entry["name"]
    if not path.is_file():
        raise bundle_error(directory, f"{entry['name']} is missing")
    if "bytes" in entry and path.stat().st_size != entry["bytes"]:
        raise bundle_error(
            directory,
            f"{entry['name']} has {path.stat().st_size} bytes, expected {entry['bytes']} (truncated or replaced)",
        )
    if sha256_file(path) != entry["sha256"]:
        raise bundle_error(directory, f"{entry['name']} sha256 does not match {MODEL_JSON} (altered file)")
    return path


def _load_scaler(path: Path, beat_length: int, directory: Path) -> tuple[np.ndarray, np.ndarray]:
    import joblib

    try:
        scaler = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad bundle
        raise bundle_error(directory, f"{path.name} cannot be read ({type(exc).__name__})") from None
    mean = np.asarray(getattr(scaler, "mean_", None), dtype=np.float64)
    scale = np.asarray(getattr(scaler, "scale_", None), dtype=np.float64)
    if mean.shape != (beat_length,) or scale.shape != (beat_length,):
        raise bundle_error(directory, f"{path.name} is not a {beat_length}-position standard scaler")
    if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
        raise bundle_error(directory, f"{path.name} has non-finite or non-positive parameters")
    return mean, scale


def _load_net(path: Path, card: dict, directory: Path) -> AutoencoderEnsemble:
    try:
        cfg = AutoencoderConfig.from_dict(card["architecture"])
        net = AutoencoderEnsemble(cfg, n_members=int(card["n_members"]))
    except (TypeError, ValueError) as exc:
        raise bundle_error(directory, f"architecture in {MODEL_JSON} is invalid ({exc})") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise bundle_error(directory, f"{path.name} cannot be loaded ({type(exc).__name__})") from None
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError):
        raise bundle_error(directory, f"{path.name} does not match the architecture in {MODEL_JSON}") from None
    return net


def _checked_scoring(card: dict, beat_length: int, directory: Path) -> tuple[float, dict, np.ndarray | None]:
    threshold = card["threshold"]
    if not isinstance(threshold, (int, float)) or not math.isfinite(threshold) or threshold <= 0:
        raise bundle_error(directory, f"threshold {threshold!r} is not a positive number")
    calibration = card["calibration"]
    if not isinstance(calibration, dict) or not all(isinstance(calibration.get(k), (int, float)) for k in ("a", "b")):
        raise bundle_error(directory, "calibration needs numeric 'a' and 'b'")
    weights = card["scoring"].get("position_weights") if isinstance(card["scoring"], dict) else None
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if (
            weights.shape != (beat_length,)
            or not np.isfinite(weights).all()
            or (weights < 0).any()
            or weights.sum() <= 0
        ):
            raise bundle_error(directory, "scoring.position_weights has the wrong shape or values")
    return float(threshold), dict(calibration), weights


def read_bundle(directory: str | Path | None = None) -> Bundle:
    """Load and verify the bundle in ``directory`` (default: ecg_backend/artifacts/).

    Raises:
        ModelBundleError: on any defect, with a one-line message naming the folder.
    """
    directory = Path(directory) if directory is not None else DEFAULT_BUNDLE_DIR
    card = _read_card(directory)
    weights_path = _verified_file(directory, card, "weights")
    scaler_path = _verified_file(directory, card, "scaler")
    net = _load_net(weights_path, card, directory)
    mean, scale = _load_scaler(scaler_path, net.cfg.beat_length, directory)
    threshold, calibration, weights = _checked_scoring(card, net.cfg.beat_length, directory)
    version = card["files"]["weights"]["sha256"][:12]
    return Bundle(net, mean, scale, weights, threshold, calibration, card, version)


def write_bundle(directory: Path, net: AutoencoderEnsemble, scaler, card: dict) -> dict:
    """Write weights, scaler and model.json (with their checksums) into ``directory``.

    Args:
        directory: target folder (created if needed).
        net: the trained network.
        scaler: fitted sklearn StandardScaler (mean_, scale_ of length beat_length).
        card: everything else for model.json; ``format``, ``architecture``, ``n_members`` and
            ``files`` are filled in here.

    Returns:
        The card as written.
    """
    import joblib

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights_path = directory / WEIGHTS_FILE
    scaler_path = directory / SCALER_FILE
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    torch.save(state, weights_path)
    joblib.dump(scaler, scaler_path)
    card = dict(card)
    card["format"] = BUNDLE_FORMAT
    card["architecture"] = net.cfg.to_dict()
    card["n_members"] = len(net.members)
    card["files"] = {
        role: {"name": p.name, "sha256": sha256_file(p), "bytes": p.stat().st_size}
        for role, p in (("weights", weights_path), ("scaler", scaler_path))
    }
    write_card(directory, card)
    return card


def read_card(directory: str | Path) -> dict:
    """model.json of a bundle folder as a dict, without verifying the other files ({} if unreadable)."""
    try:
        card = json.loads((Path(directory) / MODEL_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def write_card(directory: str | Path, card: dict) -> None:
    """Write model.json (used after training adds the TEST metrics; weights and scaler are untouched)."""
    (Path(directory) / MODEL_JSON).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
