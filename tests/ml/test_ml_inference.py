"""The inference path: the eager network under torch.inference_mode, the same in one pass or in chunks."""

import numpy as np
import torch

from ecg_backend.ml.detector import AnomalyDetector

FIELDS = ("scores", "confidence", "reconstruction", "sample_error")


def _beats(n, seed=0):
    t = np.linspace(0, 2 * np.pi, 140)
    rng = np.random.default_rng(seed)
    return np.sin(t)[None, :] * rng.uniform(0.5, 2.0, (n, 1)) + rng.normal(0, 0.3, (n, 140))


def test_chunked_scoring_equals_one_pass():
    detector = AnomalyDetector.untrained(seed=3)
    beats = _beats(9, seed=5)
    whole, chunked = detector.score(beats), detector.score(beats, batch_size=4)
    for name in FIELDS:
        np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name), rtol=1e-5, atol=1e-6)


def test_scores_follow_changed_weights():
    # no frozen copy of the network: the detector scores with its module as it is now
    detector = AnomalyDetector.untrained(seed=4)
    before = detector.score(_beats(2)).scores
    with torch.no_grad():
        for parameter in detector.net.parameters():
            parameter.mul_(1.5)
    assert not np.allclose(before, detector.score(_beats(2)).scores)


def test_scoring_runs_without_autograd(monkeypatch):
    detector = AnomalyDetector.untrained(seed=1)
    seen = []
    forward = detector.net.forward

    def recording(x):
        seen.append((torch.is_inference_mode_enabled(), x.requires_grad))
        return forward(x)

    monkeypatch.setattr(detector.net, "forward", recording)
    detector.score(_beats(3))
    assert seen == [(True, False)]
    assert not any(p.requires_grad for p in detector.net.parameters())


def test_the_detector_uses_no_torchscript():
    import inspect

    from ecg_backend.ml import detector as detector_module

    assert "torch.jit" not in inspect.getsource(detector_module)
