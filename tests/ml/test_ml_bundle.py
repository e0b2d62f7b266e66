"""The model bundle: round trip, checksums, corruption, and the shipped bundle's quality on TEST."""

import json
import shutil

import numpy as np
import pytest
import torch

from ecg_backend.ml import bundle as bundle_module
from ecg_backend.ml.bundle import write_bundle
from ecg_backend.ml.detector import DEFAULT_BUNDLE_DIR, AnomalyDetector, ModelBundleError


def _tiny_bundle(directory):
    from sklearn.preprocessing import StandardScaler

    source = AnomalyDetector.untrained(seed=1)
    scaler = StandardScaler().fit(np.random.default_rng(0).normal(size=(20, 140)))
    card = {
        "name": "tiny",
        "threshold": 0.8,
        "calibration": {"a": 3.0, "b": 0.5},
        "scoring": {"position_weights": list(np.linspace(0.5, 1.5, 140))},
    }
    write_bundle(directory, source.net, scaler, card)
    return source, scaler


def test_round_trip_reproduces_scores(tmp_path):
    source, scaler = _tiny_bundle(tmp_path)
    loaded = AnomalyDetector.load(tmp_path)
    beats = np.random.default_rng(1).normal(size=(4, 140))
    scaled = (beats - scaler.mean_) / scaler.scale_
    with torch.inference_mode():
        recon = source.net(torch.tensor(scaled, dtype=torch.float32)).numpy()
    weights = np.linspace(0.5, 1.5, 140)
    expected = ((scaled - recon) ** 2 @ (weights / weights.mean())) / 140
    result = loaded.score(beats)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-4)
    np.testing.assert_allclose(result.reconstruction, recon * scaler.scale_ + scaler.mean_, rtol=1e-4, atol=1e-5)
    assert loaded.threshold == 0.8
    assert loaded.version == loaded.card["files"]["weights"]["sha256"][:12]


def test_weights_are_loaded_with_weights_only(tmp_path, monkeypatch):
    _tiny_bundle(tmp_path)
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(bundle_module.torch, "load", spy)
    AnomalyDetector.load(tmp_path)
    assert calls == [True]


def _corrupt(directory, how):
    card_path = directory / "model.json"
    card = json.loads(card_path.read_text())
    weights = directory / card["files"]["weights"]["name"]
    scaler = directory / card["files"]["scaler"]["name"]
    if how == "truncate weights":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif how == "alter scaler":
        data = bytearray(scaler.read_bytes())
        data[len(data) // 2] ^= 0xFF
        scaler.write_bytes(bytes(data))
    elif how == "delete weights":
        weights.unlink()
    elif how == "delete model.json":
        card_path.unlink()
    elif how == "garble model.json":
        card_path.write_text("{not json")
    elif how == "wrong architecture":
        card["architecture"]["latent_dim"] += 1
        card_path.write_text(json.dumps(card))
    elif how == "unknown architecture key":
        card["architecture"]["heads"] = 2
        card_path.write_text(json.dumps(card))
    elif how == "negative threshold":
        card["threshold"] = -1
        card_path.write_text(json.dumps(card))
    elif how == "missing calibration":
        del card["calibration"]
        card_path.write_text(json.dumps(card))


CORRUPTIONS = {
    "truncate weights": "weights.pt has .* bytes, expected",
    "alter scaler": "scaler.joblib sha256 does not match",
    "delete weights": "weights.pt is missing",
    "delete model.json": "model.json is missing",
    "garble model.json": "not valid JSON",
    "wrong architecture": "does not match the architecture",
    "unknown architecture key": "architecture .* is invalid",
    "negative threshold": "threshold -1 is not a positive number",
    "missing calibration": "lacks keys",
}


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_damaged_tiny_bundle_raises_one_line_error(tmp_path, how):
    _tiny_bundle(tmp_path)
    _corrupt(tmp_path, how)
    with pytest.raises(ModelBundleError, match=CORRUPTIONS[how]) as info:
        AnomalyDetector.load(tmp_path)
    assert "\n" not in str(info.value)


def test_missing_folder(tmp_path):
    with pytest.raises(ModelBundleError, match="folder not found"):
        AnomalyDetector.load(tmp_path / "nowhere")


# ---------------------------------------------------------------- the shipped bundle


@pytest.fixture(scope="module")
def shipped():
    return AnomalyDetector.load()


def test_shipped_bundle_is_small_and_self_describing(shipped):
    total = sum(p.stat().st_size for p in DEFAULT_BUNDLE_DIR.iterdir() if p.is_file())
    assert total < 2 * 1024 * 1024
    card = shipped.card
    for key in (
        "architecture",
        "threshold",
        "calibration",
        "metrics",
        "data",
        "versions",
        "roc_curve",
        "reliability",
        "training",
    ):
        assert key in card, key
    assert card["architecture"]["branches"] == "hybrid"
    assert card["training"]["n_train_abnormal"] > 0 and card["calibration"]["fitted_on"].startswith("TRAIN")
    state = torch.load(DEFAULT_BUNDLE_DIR / card["files"]["weights"]["name"], weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


@pytest.mark.parametrize("how", ["truncate weights", "alter scaler", "wrong architecture"])
def test_damaged_copy_of_shipped_bundle_is_refused(tmp_path, how):
    target = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE_DIR, target)
    _corrupt(target, how)
    with pytest.raises(ModelBundleError, match=CORRUPTIONS[how]):
        AnomalyDetector.load(target)


@pytest.mark.data
def test_shipped_bundle_quality_on_test(shipped, ecg5000_dir):
    from sklearn.metrics import roc_auc_score

    from ecg_backend.ml.data import load_ecg5000

    test = load_ecg5000("TEST", ecg5000_dir)
    result = shipped.score(test.beats)
    y = test.labels != 1
    assert roc_auc_score(y, result.scores) >= 0.997
    assert (result.is_anomaly == y).mean() >= 0.985
    # the figures recorded in the card are the ones the bundle produces
    assert roc_auc_score(y, result.scores) == pytest.approx(shipped.card["metrics"]["roc_auc"], abs=1e-4)
    from ecg_backend.ml.calibrate import expected_calibration_error

    assert expected_calibration_error(result.confidence, y) <= 0.02
