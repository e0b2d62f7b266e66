"""The frozen TorchScript inference path gives the eager network's results (float round-off only)."""
import numpy as np
import pytest
import torch

from ecg_backend.ml import detector as detector_module
from ecg_backend.ml.detector import AnomalyDetector

FIELDS = ("scores", "confidence", "reconstruction", "sample_error")


def _beats(n, seed=0):
    t = np.linspace(0, 2 * np.pi, 140)
    rng = np.random.default_rng(seed)
    return np.sin(t)[None, :] * rng.uniform(0.5, 2.0, (n, 1)) + rng.normal(0, 0.3, (n, 140))


def _assert_same_results(fast, eager, beats, **kwargs):
    a, b = fast.score(beats, **kwargs), eager.score(beats, **kwargs)
    for name in FIELDS:
        diff = np.abs(getattr(a, name) - getattr(b, name)).max()
        assert diff < 1e-5, f"{name} differs by {diff}"
    np.testing.assert_array_equal(a.is_anomaly, b.is_anomaly)


@pytest.fixture(scope="module")
def shipped():
    torch.set_num_threads(1)
    return AnomalyDetector.load(), AnomalyDetector.load(fast=False)


def test_shipped_bundle_scores_through_the_fast_path(shipped):
    fast, eager = shipped
    assert fast.fast_inference and not eager.fast_inference
    assert isinstance(fast._forward, torch.jit.ScriptModule)


@pytest.mark.parametrize("n", [1, 2, 13, 300])
def test_shipped_fast_path_matches_eager(shipped, n):
    fast, eager = shipped
    _assert_same_results(fast, eager, _beats(n, seed=n))


def test_fast_path_matches_eager_in_chunks_and_for_one_beat(shipped):
    fast, eager = shipped
    _assert_same_results(fast, eager, _beats(9, seed=5), batch_size=4)
    _assert_same_results(fast, eager, _beats(1, seed=6)[0])


def test_fast_path_on_the_sample_csv(shipped):
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "data" / "sample_beats.csv"
    from ecg_backend.services.beat_input import beats_from_csv

    fast, eager = shipped
    _assert_same_results(fast, eager, beats_from_csv(sample.read_bytes(), 5000))


def test_untrained_detector_can_use_the_fast_path():
    eager = AnomalyDetector.untrained(seed=2)
    fast = AnomalyDetector.untrained(seed=2)
    assert not fast.fast_inference
    assert fast.use_fast_inference() is True
    _assert_same_results(fast, eager, _beats(5, seed=1))


def test_fast_path_follows_changed_weights_after_rebuilding():
    detector = AnomalyDetector.untrained(seed=4)
    detector.use_fast_inference()
    before = detector.score(_beats(2)).scores
    with torch.no_grad():
        for parameter in detector.net.parameters():
            parameter.mul_(1.5)
    detector.use_fast_inference()
    reference = AnomalyDetector.untrained(seed=4)
    with torch.no_grad():
        for parameter in reference.net.parameters():
            parameter.mul_(1.5)
    _assert_same_results(detector, reference, _beats(2))
    assert not np.allclose(before, detector.score(_beats(2)).scores)


def test_a_trace_that_fails_keeps_the_eager_network(monkeypatch, caplog):
    def broken(net, beat_length):
        raise RuntimeError("cannot trace")

    monkeypatch.setattr(detector_module, "_frozen_trace", broken)
    detector = AnomalyDetector.untrained(seed=1)
    assert detector.use_fast_inference() is False
    assert detector._forward is detector.net and "cannot trace" in caplog.text
    _assert_same_results(detector, AnomalyDetector.untrained(seed=1), _beats(3))


def test_a_trace_that_changes_the_output_keeps_the_eager_network(monkeypatch, caplog):
    real = detector_module._frozen_trace

    def off_by_a_little(net, beat_length):
        traced = real(net, beat_length)
        return lambda x: traced(x) + 1e-3

    monkeypatch.setattr(detector_module, "_frozen_trace", off_by_a_little)
    detector = AnomalyDetector.untrained(seed=1)
    assert detector.use_fast_inference() is False
    assert "differs from the eager network" in caplog.text
    _assert_same_results(detector, AnomalyDetector.untrained(seed=1), _beats(3))
