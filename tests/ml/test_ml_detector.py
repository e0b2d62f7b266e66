"""AnomalyDetector API on the tiny untrained detector: input validation and result shape."""

import math
import time

import numpy as np
import pytest
import torch

from ecg_backend.ml.detector import AnomalyDetector, ScoreResult


@pytest.fixture(scope="module")
def detector():
    return AnomalyDetector.untrained(seed=0)


def _beats(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 140)).astype(np.float32)


def test_untrained_is_fast_and_deterministic():
    start = time.perf_counter()
    a = AnomalyDetector.untrained(seed=3)
    assert time.perf_counter() - start < 1.0
    b = AnomalyDetector.untrained(seed=3)
    beats = _beats(4)
    np.testing.assert_array_equal(a.score(beats).scores, b.score(beats).scores)
    assert a.card["untrained"] is True and a.version == "untrained-3"


def test_untrained_does_not_disturb_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    AnomalyDetector.untrained(seed=5)
    assert torch.rand(1) == expected


def test_score_result_fields(detector):
    result = detector.score(_beats(6))
    assert isinstance(result, ScoreResult) and len(result) == 6
    assert result.scores.shape == (6,) and result.is_anomaly.dtype == bool
    assert result.reconstruction.shape == (6, 140) and result.sample_error.shape == (6, 140)
    assert ((result.confidence >= 0) & (result.confidence <= 1)).all()
    np.testing.assert_array_equal(result.is_anomaly, result.scores > result.threshold)
    assert result.threshold == detector.threshold


def test_sample_error_is_squared_error_in_input_units(detector):
    beats = _beats(3) * 2 + 1
    result = detector.score(beats)
    np.testing.assert_allclose(result.sample_error, (beats - result.reconstruction) ** 2, rtol=1e-5)
    # identity scaler, no position weights: the score is the mean squared error
    np.testing.assert_allclose(result.scores, result.sample_error.mean(axis=1), rtol=1e-4)


def test_single_beat_and_lists_are_accepted(detector):
    beat = _beats(1)[0]
    single = detector.score(beat)
    assert len(single) == 1
    from_list = detector.score([beat.tolist()])
    np.testing.assert_allclose(single.scores, from_list.scores, rtol=1e-6)
    batch = detector.score(np.vstack([beat, _beats(2, seed=9)]), batch_size=1)
    np.testing.assert_allclose(batch.scores[0], single.scores[0], rtol=1e-5)


def test_to_dicts_and_summary_are_json_ready(detector):
    import json

    result = detector.score(_beats(3))
    rows = result.to_dicts()
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert set(rows[0]) == {"index", "score", "threshold", "is_anomaly", "confidence", "reconstruction", "sample_error"}
    assert len(rows[0]["reconstruction"]) == 140 and len(rows[0]["sample_error"]) == 140
    json.dumps(rows)
    summary = result.summary()
    k = int(result.is_anomaly.sum())
    assert summary["n_beats"] == 3 and summary["n_anomalous"] == k
    assert math.isclose(summary["anomaly_fraction"], k / 3)
    assert summary["max_score"] == pytest.approx(result.scores.max())
    json.dumps(summary)


def test_embed_shape(detector):
    codes = detector.embed(_beats(5))
    assert codes.shape == (5, detector.latent_dim)
    assert detector.embed(_beats(1)[0]).shape == (1, detector.latent_dim)


@pytest.mark.parametrize(
    "bad, message",
    [
        ([], "empty"),
        (np.zeros((0, 140)), "empty"),
        (np.zeros((2, 139)), r"shape \(n, 140\).*got \(2, 139\)"),
        (np.zeros(141), r"got \(141,\)"),
        (np.zeros((2, 2, 140)), r"got \(2, 2, 140\)"),
        ([[0.0] * 140, [0.0] * 139], "different lengths or non-numeric"),
        ([["a"] * 140], "different lengths or non-numeric"),
        ({"beats": 1}, "different lengths or non-numeric|shape"),
        (np.vstack([np.zeros(140), np.full(140, np.nan)]), "beat 1 contains NaN or infinite"),
        (np.full((1, 140), np.inf), "beat 0 contains NaN or infinite"),
        (np.full((1, 140), 1e30), "larger than 1e6"),
    ],
)
def test_bad_input_raises_clear_value_error(detector, bad, message):
    with pytest.raises(ValueError, match=message):
        detector.score(bad)
    with pytest.raises(ValueError, match=message):
        detector.embed(bad)
