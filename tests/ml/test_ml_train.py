"""Training pieces on tiny data: determinism, folds, scaler, calibration from errors."""
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from ecg_backend.ml.model import AutoencoderConfig
from ecg_backend.ml.train import (TrainConfig, calibrate_from_reconstructions, fit_autoencoder, fit_scaler,
                                  stratified_folds)

TINY = AutoencoderConfig(cnn_channels=4, lstm_hidden=4, branch_dim=4, latent_dim=3, decoder_channels=4)


def _sines(n, seed):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 140)
    return (np.sin(t[None, :] + rng.normal(0, 0.1, (n, 1))) + rng.normal(0, 0.05, (n, 140))).astype(np.float32)


def test_fit_is_deterministic_and_reduces_loss():
    torch.set_num_threads(1)
    tc = TrainConfig(max_epochs=4, patience=10, batch_size=8)
    x, v = _sines(16, 0), _sines(8, 1)
    m1, h1 = fit_autoencoder(x, v, TINY, tc, seed=3)
    m2, h2 = fit_autoencoder(x, v, TINY, tc, seed=3)
    assert h1["val_loss"] == h2["val_loss"]
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert h1["best_val_loss"] <= h1["val_loss"][0]
    assert 1 <= h1["best_epoch"] <= 4 and not m1.training


def test_augmentation_runs():
    tc = TrainConfig(max_epochs=2, batch_size=8, noise_std=0.1, amplitude_jitter=0.1, shift_max=2)
    _, hist = fit_autoencoder(_sines(8, 0), _sines(4, 1), TINY, tc, seed=0)
    assert np.isfinite(hist["train_loss"]).all()


def test_stratified_folds_balance_each_class():
    labels = np.array([1] * 10 + [2] * 5 + [3] * 2)
    folds = stratified_folds(labels, n_folds=5, seed=0)
    for k in range(5):
        assert (labels[folds == k] == 1).sum() == 2
        assert (labels[folds == k] == 2).sum() == 1
    np.testing.assert_array_equal(folds, stratified_folds(labels, 5, 0))


def test_scalers():
    beats = np.array([[0.0, 2.0], [2.0, 6.0]])
    pos = fit_scaler(beats, "position")
    assert_allclose(pos.mean_, [1.0, 4.0]) and assert_allclose(pos.scale_, [1.0, 2.0])
    glob = fit_scaler(beats, "global")
    assert_allclose(glob.mean_, [2.5, 2.5])
    assert_allclose(glob.scale_, [np.std([0, 2, 2, 6])] * 2)
    with pytest.raises(ValueError, match="scaler"):
        fit_scaler(beats, "robust")


def test_calibrate_from_reconstructions_on_hand_made_errors():
    # normal beats err 0.1 everywhere, abnormal 1.0: threshold between, confidence increasing
    scaled = np.zeros((8, 140), np.float32)
    recons = np.vstack([np.full((4, 140), 0.1 ** 0.5), np.full((4, 140), 1.0)]).astype(np.float32)
    y = np.array([False] * 4 + [True] * 4)
    cal = calibrate_from_reconstructions(scaled, recons, y, position_weighted=False)
    assert_allclose(cal["scores"], [0.1] * 4 + [1.0] * 4, rtol=1e-6)
    assert cal["threshold"] == pytest.approx(0.55)
    assert cal["a"] > 0 and cal["weights"] is None
    weighted = calibrate_from_reconstructions(scaled, recons, y, position_weighted=True)
    assert_allclose(weighted["weights"], np.ones(140))


def test_retrain_keeps_ablation_only_for_identical_weights(tmp_path):
    import json

    from ecg_backend.ml.train import _keep_ablation_if_same_weights

    previous = {"files": {"weights": {"sha256": "abc"}}, "ablation": [{"model": "cnn"}]}
    same = {"files": {"weights": {"sha256": "abc"}}, "threshold": 1.0}
    kept = _keep_ablation_if_same_weights(tmp_path, same, previous)
    assert kept["ablation"] == [{"model": "cnn"}]
    assert json.loads((tmp_path / "model.json").read_text())["ablation"] == [{"model": "cnn"}]
    other = {"files": {"weights": {"sha256": "def"}}}
    assert "ablation" not in _keep_ablation_if_same_weights(tmp_path / "x", other, previous)
