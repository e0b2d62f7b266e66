"""The one score function (``model.reconstruction_score``): hand-made values, and that training,
calibration and serving all go through it."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from ecg_backend.ml import detector as detector_module
from ecg_backend.ml import model as model_module
from ecg_backend.ml import train as train_module
from ecg_backend.ml.detector import AnomalyDetector
from ecg_backend.ml.model import reconstruction_score


def test_plain_mean_of_squared_errors():
    beats = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    recon = torch.tensor([[1.0, 2.0, 3.0, 2.0], [1.0, -1.0, 1.0, -1.0]])
    assert_allclose(reconstruction_score(beats, recon).numpy(), [1.0, 1.0])


def test_weights_are_normalised_to_mean_one():
    zeros = torch.zeros(2, 2)
    recon = torch.tensor([[2.0, 0.0], [0.0, 2.0]])  # squared errors [[4, 0], [0, 4]]
    # weights 3:1 -> normalised 1.5, 0.5 -> scores (4 * 1.5) / 2 and (4 * 0.5) / 2
    assert_allclose(reconstruction_score(zeros, recon, torch.tensor([3.0, 1.0])).numpy(), [3.0, 1.0])
    # weights that do not average 1 give the same scores as their normalised form
    assert_allclose(reconstruction_score(zeros, recon, torch.tensor([7.0, 7.0])).numpy(), [2.0, 2.0])


def test_the_score_is_differentiable_for_the_training_loss():
    x = torch.zeros(1, 4)
    recon = torch.ones(1, 4, requires_grad=True)
    reconstruction_score(x, recon, torch.tensor([1.0, 1.0, 1.0, 5.0])).sum().backward()
    assert_allclose(recon.grad.numpy(), [[0.25, 0.25, 0.25, 1.25]])


@pytest.fixture()
def spy(monkeypatch):
    calls = []

    def counting(x, recon, position_weights=None):
        calls.append(x.shape[0])
        return reconstruction_score(x, recon, position_weights)

    for module in (detector_module, train_module):
        monkeypatch.setattr(module, "reconstruction_score", counting)
    return calls


def test_serving_scores_through_the_shared_function(spy):
    detector = AnomalyDetector.untrained(seed=1)
    detector.score(np.random.default_rng(0).normal(size=(5, 140)))
    assert spy == [5]


def test_serving_with_position_weights_matches_the_function():
    detector = AnomalyDetector.untrained(seed=1)
    weights = np.linspace(0.2, 3.0, 140)  # mean 1.6: the score must not depend on the weights' scale
    detector.position_weights = torch.as_tensor(weights)
    beats = np.random.default_rng(2).normal(size=(3, 140)).astype(np.float32)
    with torch.inference_mode():
        recon = detector.net(torch.from_numpy(beats)).numpy()
    expected = ((beats - recon) ** 2 @ (weights / weights.mean())) / 140
    assert_allclose(detector.score(beats).scores, expected, rtol=1e-5)


def test_calibration_scores_through_the_shared_function(spy):
    scaled = np.zeros((4, 140), np.float32)
    recons = np.vstack([np.full((2, 140), 0.1), np.full((2, 140), 1.0)]).astype(np.float32)
    cal = train_module.calibrate_from_reconstructions(
        scaled, recons, np.array([False, False, True, True]), position_weighted=False
    )
    assert spy == [4]
    assert_allclose(cal["scores"], [0.01, 0.01, 1.0, 1.0], rtol=1e-6)


def test_model_module_defines_the_only_score():
    # the numpy copies of the score that training once used are gone
    from ecg_backend.ml import calibrate

    assert not hasattr(calibrate, "score_from_sample_errors")
    assert not hasattr(calibrate, "reconstruction_errors")
    assert model_module.reconstruction_score is reconstruction_score
