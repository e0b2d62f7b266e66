"""Training pieces on tiny data: determinism, folds, scaler, calibration from errors."""

from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from ecg_backend.ml.fit import TrainConfig, detector_loss, fit_autoencoder, fit_scaler, train_epoch, validation_split
from ecg_backend.ml.model import AutoencoderConfig, HybridAutoencoder, reconstruction_score
from ecg_backend.ml.train import calibrate_from_reconstructions, stratified_folds

TINY = AutoencoderConfig(cnn_channels=4, lstm_hidden=4, branch_dim=4, latent_dim=3, decoder_channels=4)


def _sines(n, seed):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 140)
    return (np.sin(t[None, :] + rng.normal(0, 0.1, (n, 1))) + rng.normal(0, 0.05, (n, 140))).astype(np.float32)


def _normal(x):
    return x, np.zeros(len(x), bool)


def test_fit_is_deterministic_and_reduces_loss():
    torch.set_num_threads(1)
    tc = TrainConfig(max_epochs=4, patience=10, batch_size=8)
    x, v = _normal(_sines(16, 0)), _normal(_sines(8, 1))
    m1, h1 = fit_autoencoder(x, v, TINY, tc, seed=3)
    m2, h2 = fit_autoencoder(x, v, TINY, tc, seed=3)
    assert h1["val_loss"] == h2["val_loss"]
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert h1["best_val_loss"] <= h1["val_loss"][0]
    assert 1 <= h1["best_epoch"] <= 4 and not m1.training


def test_augmentation_runs():
    tc = TrainConfig(max_epochs=2, batch_size=8, noise_std=0.1, amplitude_jitter=0.1, shift_max=2)
    _, hist = fit_autoencoder(_normal(_sines(8, 0)), _normal(_sines(4, 1)), TINY, tc, seed=0)
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
    recons = np.vstack([np.full((4, 140), 0.1**0.5), np.full((4, 140), 1.0)]).astype(np.float32)
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


def test_loss_is_the_score_for_normal_beats_and_a_margin_hinge_for_abnormal_ones():
    x = torch.zeros(3, 4)
    recon = torch.tensor([[1.0] * 4, [0.5] * 4, [2.0] * 4])  # scores 1.0, 0.25, 4.0
    y = torch.tensor([False, True, True])
    tc = TrainConfig(abnormal_weight=2.0, margin=1.0)
    # normal: its score 1.0; abnormal below the margin: 2 * (1 - 0.25); abnormal above it: 0
    assert detector_loss(x, recon, y, tc).item() == pytest.approx((1.0 + 1.5 + 0.0) / 3)


def _beats_with_abnormal(n, seed):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 140)
    normal = np.sin(t)[None, :] + rng.normal(0, 0.05, (n, 140))
    abnormal = np.sin(2 * t)[None, :] * 1.5 + rng.normal(0, 0.05, (n, 140))
    x = np.vstack([normal, abnormal]).astype(np.float32)
    return torch.from_numpy(x), torch.tensor([False] * n + [True] * n)


def _errors_after_training(abnormal_weight):
    torch.manual_seed(0)
    model = HybridAutoencoder(TINY)
    x, y = _beats_with_abnormal(16, 0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)

    def errors():
        model.eval()
        with torch.no_grad():
            score = reconstruction_score(x, model(x))
        return score[~y].mean().item(), score[y].mean().item()

    before = errors()
    tc = TrainConfig(abnormal_weight=abnormal_weight, margin=5.0, batch_size=32)
    for _ in range(30):
        train_epoch(model, opt, x, y, tc, gen)
    return before, errors()


def test_training_steps_push_abnormal_error_up_and_normal_error_down():
    (normal_before, abnormal_before), (normal_after, abnormal_after) = _errors_after_training(1.0)
    assert abnormal_after > 3 * abnormal_before
    assert normal_after < normal_before
    # without the abnormal term the same steps do not push the abnormal beats away
    _, (_, abnormal_unsupervised) = _errors_after_training(0.0)
    assert abnormal_unsupervised < 2 * abnormal_before < abnormal_after


def test_validation_split_holds_out_each_class():
    y = np.array([False] * 20 + [True] * 10)
    fit, val = validation_split(y, 0.2, seed=1)
    assert (~y[val]).sum() == 4 and y[val].sum() == 2
    assert sorted(np.concatenate([fit, val]).tolist()) == list(range(30))
    np.testing.assert_array_equal(val, validation_split(y, 0.2, seed=1)[1])


def test_threshold_and_calibration_come_from_out_of_fold_scores_only(monkeypatch):
    """The threshold is chosen on TRAIN's out-of-fold scores; TEST is read only after the bundle is written."""
    import ecg_backend.ml.train as train_module
    from ecg_backend.ml.data import Split

    rng = np.random.default_rng(0)
    labels = np.array([1] * 30 + [2] * 20)
    split = Split("TRAIN", rng.normal(size=(50, 140)).astype(np.float32), labels, None)
    read = []
    monkeypatch.setattr(train_module, "load_ecg5000", lambda name, path=None: read.append(name) or split)
    monkeypatch.setattr(train_module, "dataset_checksums", lambda path=None: {})
    oof_scores = np.where(labels == 1, 0.1, 2.0)

    def fake_oof(train, cfg, tc):
        assert read == ["TRAIN"]
        scaled = np.zeros((50, 140), np.float32)
        return {
            "scaled": scaled,
            "reconstructions": np.sqrt(oof_scores)[:, None].repeat(140, 1).astype(np.float32),
            "folds": np.arange(50) % 5,
            "histories": [],
        }

    monkeypatch.setattr(train_module, "out_of_fold_reconstructions", fake_oof)
    written = {}

    def fake_write(out_dir, net, scaler, card):
        written.update(card)
        return {**card, "files": {"weights": {"sha256": "x"}}}

    monkeypatch.setattr(train_module, "write_bundle", fake_write)
    tc = TrainConfig(max_epochs=1, batch_size=64)
    train_module.train_detector(Path("unused"), None, TINY, tc, evaluate_test=False)
    assert read == ["TRAIN"]
    assert 0.1 < written["threshold"] < 2.0
    assert written["training"]["oof_threshold_accuracy"] == 1.0
