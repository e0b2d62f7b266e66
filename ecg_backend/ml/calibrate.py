"""Small pure functions that turn reconstructions into scores, thresholds and probabilities.

numpy in, numpy out; no torch, no files. Used by training (to calibrate on TRAIN), by the detector
(confidence) and by evaluation (to report calibration on TEST). The score itself is one torch function,
:func:`ecg_backend.ml.model.reconstruction_score`, shared by training, calibration and serving.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def position_weights(normal_sample_errors: np.ndarray, floor_quantile: float = 0.1) -> np.ndarray:
    """Weights that divide each position's squared error by its typical size on normal beats.

    Positions where normal beats are always reconstructed tightly get a large weight, so a
    deviation there counts more than the same deviation where normal beats already vary.

    Args:
        normal_sample_errors: (n, L) squared errors of normal (training) beats.
        floor_quantile: the per-position mean error is floored at this quantile of all positions'
            means, so that no position dominates.

    Returns:
        (L,) weights with mean 1 (for :func:`ecg_backend.ml.model.reconstruction_score`).
    """
    mean_error = np.asarray(normal_sample_errors, np.float64).mean(axis=0)
    floor = np.quantile(mean_error, floor_quantile)
    w = 1.0 / np.maximum(mean_error, max(floor, _EPS))
    return w / w.mean()


def best_accuracy_threshold(scores: np.ndarray, is_abnormal: np.ndarray) -> float:
    """Threshold that maximises accuracy of ``scores > threshold`` on labelled calibration scores.

    Ties are broken towards the middle of the widest maximal plateau; the threshold sits halfway
    between two neighbouring scores, so no calibration score lies on it.

    Args:
        scores: (n,) anomaly scores.
        is_abnormal: (n,) bool labels (True = abnormal).

    Returns:
        The threshold (float).
    """
    s = np.asarray(scores, np.float64)
    y = np.asarray(is_abnormal, bool)
    if s.size == 0 or y.all() or not y.any():
        raise ValueError("need both normal and abnormal scores to choose a threshold")
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    # Candidate k: the k lowest scores are called normal. correct(k) = normals in [0, k) + abnormals in [k, n).
    normals_below = np.concatenate([[0], np.cumsum(~y)])
    abnormals_above = y.sum() - np.concatenate([[0], np.cumsum(y)])
    correct = normals_below + abnormals_above
    # Only cut between distinct scores.
    valid = np.ones(s.size + 1, bool)
    valid[1:-1] = s[1:] > s[:-1]
    correct = np.where(valid, correct, -1)
    best = np.flatnonzero(correct == correct.max())
    k = int(best[len(best) // 2])
    if k == 0:
        return float(s[0] - max(abs(s[0]) * 1e-3, _EPS))
    if k == s.size:
        return float(s[-1] + max(abs(s[-1]) * 1e-3, _EPS))
    return float((s[k - 1] + s[k]) / 2.0)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-4, n_iter: int = 100) -> tuple[float, float]:
    """Fit P(y=1 | x) = sigmoid(a * x + b) by Newton's method (Platt scaling).

    Args:
        x: (n,) feature, e.g. log anomaly scores.
        y: (n,) 0/1 labels.
        l2: small ridge penalty on ``a`` and ``b`` that keeps separable data finite.
        n_iter: maximum Newton steps.

    Returns:
        (a, b).
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    design = np.column_stack([x, np.ones_like(x)])
    theta = np.zeros(2)
    for _ in range(n_iter):
        p = sigmoid(design @ theta)
        grad = design.T @ (p - y) + l2 * theta
        hess = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(theta[0]), float(theta[1])


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    z = np.asarray(z, np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def log_score(scores: np.ndarray) -> np.ndarray:
    """The feature the confidence mapping is fitted on: log of the (positive) score."""
    return np.log(np.maximum(np.asarray(scores, np.float64), _EPS))


def confidence_from_scores(scores: np.ndarray, a: float, b: float) -> np.ndarray:
    """Calibrated P(abnormal) = sigmoid(a * log(score) + b).

    Args:
        scores: (n,) anomaly scores.
        a, b: parameters from :func:`fit_logistic` on log scores.

    Returns:
        (n,) probabilities in [0, 1].
    """
    return sigmoid(a * log_score(scores) + b)


def reliability_table(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Equal-width reliability bins over [0, 1].

    Args:
        probs: (n,) predicted P(abnormal).
        y: (n,) 0/1 true labels (1 = abnormal).
        n_bins: number of bins.

    Returns:
        One dict per non-empty bin: lower, upper, count, mean_confidence, observed_rate.
    """
    p = np.asarray(probs, np.float64)
    t = np.asarray(y, np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = index == b
        if not mask.any():
            continue
        rows.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": int(mask.sum()),
                "mean_confidence": float(p[mask].mean()),
                "observed_rate": float(t[mask].mean()),
            }
        )
    return rows


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE: count-weighted mean |mean confidence - observed rate| over equal-width bins.

    Args:
        probs: (n,) predicted P(abnormal).
        y: (n,) 0/1 true labels.
        n_bins: number of bins.

    Returns:
        ECE in [0, 1].
    """
    rows = reliability_table(probs, y, n_bins)
    n = sum(r["count"] for r in rows)
    return float(sum(r["count"] * abs(r["mean_confidence"] - r["observed_rate"]) for r in rows) / n)


def downsample_curve(x: np.ndarray, y: np.ndarray, n_points: int = 100) -> tuple[list[float], list[float]]:
    """Keep about ``n_points`` evenly spaced points of a curve (e.g. ROC), always the first and last.

    Args:
        x, y: curve coordinates, same length.
        n_points: how many points to keep at most.

    Returns:
        (x_kept, y_kept) as lists rounded to 5 decimals.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.size <= n_points:
        keep = np.arange(x.size)
    else:
        keep = np.unique(np.linspace(0, x.size - 1, n_points).round().astype(int))
    return [round(float(v), 5) for v in x[keep]], [round(float(v), 5) for v in y[keep]]
