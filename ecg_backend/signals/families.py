"""Morphology families: beats grouped by shape, so a reader can label a whole family at once.

Each beat's shape is its QRS plus ST-T onset waveform (`scoring.beat_waveform`) in every usable lead, each
lead divided by its typical R amplitude (an extra lead's waveform, where its quality check rejects the beat,
is replaced by that lead's median waveform so only the usable leads set the distance). The shapes of up to
FIT_BEATS beats (a fixed-seed uniform sample) are clustered with k-means (`kmeans`: k-means++ start, so rare shapes
such as a handful of ventricular beats get centres of their own); every beat then joins its nearest centre.
Distances are kept per beat and centre (``distance``, divided by the recording's median distance of a beat
to its own centre) so a review can move beats between labels without the waveforms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_FAMILIES = 16
FIT_BEATS = 4000
BEATS_PER_FAMILY = 25  # fewer families for short recordings: about one per this many beats, at least 2
EXTRA_LEAD_WEIGHT = 0.7
MEDIAN_ROWS = 20_000
# review order: beats scored within this band around the operating point are the rules' uncertain ones
UNSURE_LOW, UNSURE_HIGH = 0.5, 2.0


@dataclass
class FamilyModel:
    """Family centres and every beat's distance to each (relative to the typical within-family distance).

    Attributes:
        family: per beat, its family (row of ``centres``), int.
        distance: (n_beats, n_families) float32 distances.
        centres: (n_families, n_features) float32 centres in the shape space.
    """

    family: np.ndarray
    distance: np.ndarray
    centres: np.ndarray


def median_rows(rows: np.ndarray) -> np.ndarray:
    """An evenly spaced subset of ``rows`` (at most ~2 x MEDIAN_ROWS): a median over it is as good, and fast."""
    return rows[:: max(len(rows) // MEDIAN_ROWS, 1)]


def shape_features(wave: np.ndarray, extra_waves: list | None = None, extra_ok: list | None = None) -> np.ndarray:
    """Per beat: its waveforms in all leads, each lead over its typical R amplitude, side by side (float32,
    filled lead by lead: no float64 copy of all leads at once, ~250 MB less at 24 h)."""
    leads = [(wave, None, 1.0)]
    for w, ok in zip(extra_waves or [], extra_ok or []):
        ok = np.asarray(ok, dtype=bool)
        if ok.sum() >= 2:
            leads.append((w, ok, EXTRA_LEAD_WEIGHT))
    if len(wave) == 0:
        return np.zeros((0, 0), np.float32)
    width = wave.shape[1]
    out = np.empty((len(wave), width * len(leads)), np.float32)
    for i, (w, ok, weight) in enumerate(leads):
        part = out[:, i * width : (i + 1) * width]
        rows = np.arange(len(w)) if ok is None else np.flatnonzero(ok)
        rows = median_rows(rows)
        scale = float(np.median(np.max(np.abs(w[rows]), axis=1))) if len(rows) else 1.0
        np.multiply(w, weight / (scale if scale > 1e-12 else 1.0), out=part, casting="same_kind")
        if ok is not None and not ok.all():
            part[~ok] = np.median(part[rows], axis=0)
    return out


def fit_families(features: np.ndarray, seed: int = 0) -> FamilyModel:
    """Cluster beat shapes into at most MAX_FAMILIES families, numbered by size (0 = the largest)."""
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    # the matrices are small (thousands x ~100 x 16): a threaded BLAS spends more on waking threads than it
    # saves, ten times more on a busy two-core machine
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_families(features, seed)


def _fit_families(features: np.ndarray, seed: int) -> FamilyModel:
    n = len(features)
    if n == 0:
        return FamilyModel(np.zeros(0, np.int64), np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32))
    k = int(min(MAX_FAMILIES, max(2, n // BEATS_PER_FAMILY), n))
    rng = np.random.default_rng(seed)
    fit = features if n <= FIT_BEATS else features[np.sort(rng.choice(n, FIT_BEATS, replace=False))]
    k = min(k, len(np.unique(fit, axis=0)))
    centres = kmeans(fit.astype(np.float64), k, rng).astype(np.float32)
    distance = centre_distances(features, centres)
    family = np.argmin(distance, axis=1)
    sizes = np.bincount(family, minlength=k)
    order = np.argsort(-sizes, kind="stable")
    order = order[sizes[order] > 0]  # centres no beat joined are dropped
    centres, distance = centres[order], distance[:, order]
    family = np.argmin(distance, axis=1)
    own = distance[np.arange(n), family]
    typical = float(np.median(own)) or 1.0
    return FamilyModel(
        family=family.astype(np.int64), distance=(distance / typical).astype(np.float32), centres=centres
    )


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 15) -> np.ndarray:
    """k-means++ seeding (each next centre drawn with probability proportional to the squared distance to the
    nearest chosen one) and Lloyd iterations; returns the (k, d) centres."""
    centres = [x[rng.integers(len(x))]]
    nearest = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = nearest.sum()
        if total <= 0:
            break
        centres.append(x[rng.choice(len(x), p=nearest / total)])
        nearest = np.minimum(nearest, ((x - centres[-1]) ** 2).sum(axis=1))
    centres = np.array(centres)
    for _ in range(iterations):
        assign = np.argmin(centre_distances(x, centres), axis=1)
        moved = np.array(
            [x[assign == j].mean(axis=0) if (assign == j).any() else centres[j] for j in range(len(centres))]
        )
        if np.allclose(moved, centres):
            break
        centres = moved
    return centres


def centre_distances(features: np.ndarray, centres: np.ndarray, block: int = 20_000) -> np.ndarray:
    """Euclidean distance of every row of ``features`` to every centre, (n, k) float32, in blocks."""
    out = np.empty((len(features), len(centres)), np.float32)
    c2 = (centres.astype(np.float64) ** 2).sum(axis=1)
    for a in range(0, len(features), block):
        x = features[a : a + block].astype(np.float64)
        d2 = (x**2).sum(axis=1)[:, None] - 2.0 * x @ centres.T.astype(np.float64) + c2[None, :]
        out[a : a + block] = np.sqrt(np.maximum(d2, 0.0))
    return out


def family_table(
    model: FamilyModel, labels: np.ndarray, reviewed: dict | None = None, score_ratio: np.ndarray | None = None
) -> pd.DataFrame:
    """One row per family: ``family``, ``n_beats``, ``representative`` (row of the beat nearest its centre),
    ``label`` (the most common label of its beats, or the reader's), ``review_rank`` and ``reviewed``.

    The review rank orders families by what a reader's answer could change: the family's beats whose score is
    between UNSURE_LOW and UNSURE_HIGH times the operating point (``score_ratio``: score / operating point per
    beat), the ones the rules are least sure of, plus the square root of its V beats (and of its Q beats
    scored above the operating point, which the noise rules took from V): V calls need a confirmation, but
    each more confident V adds less to what an answer would change. Families a person labelled come last.
    (Chosen on the even MIT-BIH records; see docs/research/recordings.md.)
    """
    reviewed = reviewed or {}
    k = model.distance.shape[1] if model.distance.ndim == 2 else 0
    ratio = np.zeros(len(labels)) if score_ratio is None else np.asarray(score_ratio, dtype=np.float64)
    unsure = (ratio > UNSURE_LOW) & (ratio < UNSURE_HIGH)
    rows = []
    for f in range(k):
        members = np.flatnonzero(model.family == f)
        if len(members) == 0:
            continue
        own = labels[members]
        values, counts = np.unique(own, return_counts=True)
        flagged = (own == "V") | ((own == "Q") & (ratio[members] > 1.0))  # Q beats the score flags count as V
        priority = float(np.sqrt(flagged.sum()) + unsure[members].sum()) + 1e-3 * len(members)
        rows.append(
            {
                "family": f,
                "n_beats": len(members),
                "representative": int(members[np.argmin(model.distance[members, f])]),
                "label": reviewed.get(f, str(values[np.argmax(counts)])),
                "priority": -1.0 if f in reviewed else priority,
                "reviewed": f in reviewed,
            }
        )
    table = pd.DataFrame(rows, columns=["family", "n_beats", "representative", "label", "priority", "reviewed"])
    order = np.argsort(-table["priority"].to_numpy(), kind="stable")
    rank = np.empty(len(table), np.int64)
    rank[order] = np.arange(len(table))
    table["review_rank"] = rank
    return table.drop(columns="priority")[["family", "n_beats", "representative", "label", "review_rank", "reviewed"]]
