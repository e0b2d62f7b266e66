"""Calibration and scoring functions on small hand-made arrays."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ecg_backend.ml import calibrate


def test_position_weights_invert_normal_error_with_floor():
    errors = np.array([[1.0, 2.0, 4.0, 0.0], [1.0, 2.0, 4.0, 0.0]])
    w = calibrate.position_weights(errors, floor_quantile=0.25)
    # floor = 25% quantile of [1,2,4,0] = 0.75 -> means [1,2,4,0.75] -> 1/m normalised to mean 1
    inv = 1 / np.array([1.0, 2.0, 4.0, 0.75])
    assert_allclose(w, inv / inv.mean())
    assert_allclose(w.mean(), 1.0)


def test_best_accuracy_threshold_separable():
    scores = np.array([1.0, 2.0, 3.0, 10.0, 11.0])
    y = np.array([0, 0, 0, 1, 1], bool)
    assert calibrate.best_accuracy_threshold(scores, y) == pytest.approx(6.5)


def test_best_accuracy_threshold_with_overlap_picks_the_best_cut():
    scores = np.array([1.0, 2.0, 5.0, 3.0, 6.0, 7.0])
    y = np.array([0, 0, 0, 1, 1, 1], bool)
    t = calibrate.best_accuracy_threshold(scores, y)
    # cut between 2 and 3 -> 5 of 6 correct; cut between 5 and 6 -> 5 of 6 as well; middle of ties
    assert ((scores > t) == y).sum() == 5
    assert t in (2.5, 5.5)


def test_best_accuracy_threshold_needs_both_classes():
    with pytest.raises(ValueError, match="both"):
        calibrate.best_accuracy_threshold(np.array([1.0, 2.0]), np.array([True, True]))


def test_fit_logistic_recovers_known_parameters():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20000)
    y = rng.random(20000) < calibrate.sigmoid(2.0 * x - 1.0)
    a, b = calibrate.fit_logistic(x, y.astype(float))
    assert_allclose([a, b], [2.0, -1.0], atol=0.1)


def test_fit_logistic_stays_finite_on_separable_data():
    a, b = calibrate.fit_logistic(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0, 0, 1, 1.0]))
    assert np.isfinite([a, b]).all() and a > 0
    p = calibrate.sigmoid(a * np.array([0.0, 3.0]) + b)
    assert p[0] < 0.5 < p[1]


def test_sigmoid_is_stable_at_extremes():
    assert_allclose(calibrate.sigmoid(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])


def test_confidence_is_half_at_the_fitted_midpoint():
    # a*log(s)+b = 0 at s = exp(-b/a)
    a, b = 2.0, -2.0 * np.log(0.5)
    assert_allclose(calibrate.confidence_from_scores(np.array([0.5, 0.0]), a, b), [0.5, 0.0], atol=1e-9)


def test_reliability_table_and_ece_by_hand():
    probs = np.array([0.05, 0.15, 0.85, 0.95])
    y = np.array([0, 1, 1, 1])
    rows = calibrate.reliability_table(probs, y, n_bins=2)
    assert [r["count"] for r in rows] == [2, 2]
    assert_allclose([r["mean_confidence"] for r in rows], [0.1, 0.9])
    assert_allclose([r["observed_rate"] for r in rows], [0.5, 1.0])
    # ECE = 0.5*|0.1-0.5| + 0.5*|0.9-1.0| = 0.25
    assert calibrate.expected_calibration_error(probs, y, n_bins=2) == pytest.approx(0.25)


def test_ece_is_zero_for_perfect_calibration():
    probs = np.array([0.25] * 4 + [0.75] * 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert calibrate.expected_calibration_error(probs, y, n_bins=4) == pytest.approx(0.0)


def test_reliability_table_puts_edges_in_range():
    rows = calibrate.reliability_table(np.array([0.0, 1.0]), np.array([0, 1]), n_bins=10)
    assert [(r["lower"], r["count"]) for r in rows] == [(0.0, 1), (0.9, 1)]


def test_downsample_curve_keeps_ends():
    x = np.linspace(0, 1, 1001)
    xs, ys = calibrate.downsample_curve(x, x**2, n_points=11)
    assert len(xs) == 11 and xs[0] == 0.0 and xs[-1] == 1.0
    assert_allclose(ys, np.round(np.array(xs) ** 2, 5), atol=1e-5)
    short = calibrate.downsample_curve([0, 1], [0, 1], 100)
    assert short == ([0.0, 1.0], [0.0, 1.0])
