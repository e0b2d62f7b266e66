"""Aberrant conduction: a supraventricular premature beat with a widened QRS, labelled V by the score, is S when
it resets the sinus node (incomplete compensatory pause) in a regular sinus rhythm and its shape is only
moderately far from the dominant beat's in every lead."""

import numpy as np
import pandas as pd
import pytest

from ecg_backend.signals.classes import (
    ClassRules,
    aberrant_beats,
    aberrant_conduction,
    family_consensus,
    sinus_rhythm,
)
from ecg_backend.signals.mitdb import match_peaks
from ecg_backend.signals.recording import analyze_recording
from tests.signals.helpers import _normal_beat, _ventricular_beat

FS = 250.0
CYCLE = 0.8


def _table(rr: list, primary: list, extra: list | None = None) -> pd.DataFrame:
    """The columns the rule reads: R-R before each beat and the shape distances (one lead when ``extra`` is
    None)."""
    table = pd.DataFrame({"rr_s": np.asarray(rr, dtype=np.float64), "morph_distance": np.asarray(primary, float)})
    if extra is not None:
        table["morph_distance_primary"] = table["morph_distance"]
        table["morph_distance_extra"] = np.asarray(extra, dtype=np.float64)
    return table


def _sinus(n: int, seed: int = 0) -> list:
    return list(CYCLE * (1 + np.random.default_rng(seed).normal(0, 0.01, n)))


def _with_ectopic(before: int, early: float, after: float, tail: int = 10):
    """Sinus beats, one ectopic beat ``early`` s after the last, the next beat ``after`` s later, more sinus;
    returns (R-R list, index of the ectopic beat)."""
    rr = [np.nan] + _sinus(before) + [early, after] + _sinus(tail, seed=1)
    return rr, before + 1


def test_sig_sinus_rhythm_reads_only_normal_to_normal_intervals():
    # bigeminy (N V N V ...) on a regular sinus rhythm: the R-R series alternates, the N-to-N intervals do not
    rr = [np.nan, 0.8, 0.8, 0.8, 0.8, 0.8] + [0.5, 1.1] * 20
    labels = np.array(["N"] * 6 + ["V", "N"] * 20, dtype=object)
    cycle, irregular = sinus_rhythm(np.asarray(rr), labels, cycle_beats=8)
    assert np.isnan(cycle[:5]).all()  # fewer than 4 sinus intervals before them
    assert cycle[-1] == pytest.approx(0.8) and irregular[-1] == pytest.approx(0.0)
    # no sinus interval at all: unknown
    cycle, irregular = sinus_rhythm(np.asarray(rr), np.array(["V"] * len(rr), dtype=object), cycle_beats=8)
    assert np.isnan(cycle).all() and np.isnan(irregular).all()


@pytest.mark.parametrize(
    ("after", "primary", "extra", "expected"),
    [
        (0.85, 3.2, 3.0, True),  # early, incomplete pause (0.45 + 0.85 < 0.85 x 1.6), moderate shape: aberrant S
        (1.15, 3.2, 3.0, False),  # full compensatory pause (0.45 + 1.15 = 2 cycles): ventricular
        (0.85, 3.2, 7.0, False),  # far from the dominant shape in the other lead: ventricular
        (0.85, 6.0, 3.0, False),  # far in the primary lead
        (0.85, 3.2, np.nan, True),  # no usable extra lead: the primary lead decides
    ],
)
def test_sig_aberrant_beat_by_hand(after, primary, extra, expected):
    rr, i = _with_ectopic(30, 0.45, after)
    dist = np.ones(len(rr))
    extra_dist = np.ones(len(rr))
    dist[i], extra_dist[i] = primary, extra
    labels = np.array(["N"] * len(rr), dtype=object)
    labels[i] = "V"
    found = aberrant_beats(_table(rr, dist, extra_dist), labels)
    assert found.tolist() == [j == i and expected for j in range(len(rr))]
    out = aberrant_conduction(_table(rr, dist, extra_dist), labels)
    assert out[i] == ("S" if expected else "V") and labels[i] == "V"  # a new array; the input is untouched


def test_sig_aberrant_needs_a_premature_beat_a_regular_sinus_rhythm_and_a_conducted_follower():
    # not premature enough: 0.7 s is 0.875 of the sinus cycle (the bar is 0.85), although the pause is short
    rr, i = _with_ectopic(30, 0.7, 0.6)
    labels = np.array(["N"] * len(rr), dtype=object)
    labels[i] = "V"
    dist = np.full(len(rr), 1.0)
    dist[i] = 3.0
    assert not aberrant_beats(_table(rr, dist), labels).any()
    # atrial-fibrillation-like rhythm before the beat: no sinus cycle to compare with
    rng = np.random.default_rng(4)
    rr = [np.nan] + list(rng.uniform(0.45, 1.1, 30)) + [0.3, 0.6] + _sinus(10)
    labels = np.array(["N"] * len(rr), dtype=object)
    labels[31] = "V"
    dist = np.ones(len(rr))
    dist[31] = 3.0
    assert not aberrant_beats(_table(rr, dist), labels).any()
    assert aberrant_beats(_table(rr, dist), labels, ClassRules(s_max_irregularity=np.inf))[31]
    # followed by a V beat (a couplet): the pause is not the sinus node's, no decision; two aberrant beats in a
    # row followed by a conducted beat are both S
    rr = [np.nan] + _sinus(30) + [0.4, 0.35, 0.9] + _sinus(10, seed=2)
    labels = np.array(["N"] * len(rr), dtype=object)
    labels[31:33] = "V"
    dist = np.ones(len(rr))
    dist[31:33] = 3.0
    assert np.flatnonzero(aberrant_beats(_table(rr, dist), labels)).tolist() == [31, 32]
    dist[32] = 8.0  # the second is a far-shaped ventricular beat: it stays V, and the first is left alone
    assert not aberrant_beats(_table(rr, dist), labels).any()
    # the last beat of the recording: no pause to read
    rr = [np.nan] + _sinus(30) + [0.45]
    labels = np.array(["N"] * 31 + ["V"], dtype=object)
    assert not aberrant_beats(_table(rr, [1.0] * 31 + [3.0]), labels).any()


def test_sig_aberrant_beats_stay_s_after_the_family_consensus():
    # the aberrant beats share a family with the V beats of the consensus rule; the rule runs after it
    rr = [np.nan] + _sinus(30)
    kinds = ["N"] * 31
    for _ in range(4):  # aberrant beats: early, the sinus node reset
        rr += [0.45, 0.8] + _sinus(8)
        kinds += ["V", "N"] + ["N"] * 8
    for _ in range(20):  # ventricular beats of the same family: full compensatory pause
        rr += [0.45, 1.15] + _sinus(8)
        kinds += ["V", "N"] + ["N"] * 8
    labels = np.array(kinds, dtype=object)
    family = np.where(labels == "V", 1, 0)
    dist = np.where(labels == "V", 3.0, 1.0)
    labels = family_consensus(labels, family, np.ones(len(labels)), ClassRules())
    out = aberrant_conduction(_table(rr, dist, dist), labels)
    v = np.flatnonzero(labels == "V")
    assert out[v[:4]].tolist() == ["S"] * 4 and out[v[4:]].tolist() == ["V"] * 20


def _train(kinds: str, aberrant_pause: float, seed: int = 0):
    """N normal, V ventricular (0.45 s early, full compensatory pause), A a normal beat with a late extra
    deflection (a right-bundle-branch-like delay; 0.45 s early, then ``aberrant_pause``)."""
    rng = np.random.default_rng(seed)
    times, t = [], 0.5
    for i, kind in enumerate(kinds):
        rr = CYCLE * (1 + rng.normal(0, 0.01))
        if kind in "AV":
            rr = 0.45
        elif i and kinds[i - 1] == "A":
            rr = aberrant_pause
        elif i and kinds[i - 1] == "V":
            rr = 2 * CYCLE - 0.45
        t += rr if i else 0.0
        times.append(t)
    n = int((times[-1] + 1.0) * FS)
    signal = rng.normal(0, 0.01, n)
    grid = np.arange(n) / FS
    shapes = {
        "N": _normal_beat,
        "V": _ventricular_beat,
        "A": lambda x: _normal_beat(x) + 0.7 * np.exp(-(((x - 0.05) / 0.02) ** 2)),
    }
    for when, kind in zip(times, kinds):
        a, b = max(int((when - 0.5) * FS), 0), min(int((when + 0.6) * FS), n)
        signal[a:b] += shapes[kind](grid[a:b] - when)
    other = 0.6 * signal + np.random.default_rng(seed + 1).normal(0, 0.01, n)
    return signal, other, np.round(np.asarray(times) * FS).astype(np.int64), np.array(list(kinds))


@pytest.mark.parametrize(("pause", "label"), [(CYCLE + 0.05, "S"), (2 * CYCLE - 0.45, "V")])
def test_sig_aberrated_atrial_beats_in_a_recording(untrained, pause, label):
    # the aberrated beats score above the operating point (wide, early); with the sinus node reset they are S,
    # with a full compensatory pause V; the true ventricular beats stay V, the normal beats N
    kinds = ("N" * 9 + "A") * 8 + "N" * 30 + ("N" * 9 + "V") * 8 + "N" * 20
    signal, other, peaks, kinds = _train(kinds, pause)
    analysis = analyze_recording(signal, FS, detector=untrained, extra_leads=other)
    ref_to_det, _ = match_peaks(peaks, analysis.beats["r_peak"].to_numpy(), int(0.1 * FS))
    assert (ref_to_det >= 0).all()
    got = analysis.beats["label"].to_numpy()[ref_to_det]
    score = analysis.beats["score"].to_numpy()[ref_to_det] / analysis.summary["operating_point"]
    assert (score[kinds == "A"] > 1).all()
    assert (got[kinds == "A"] == label).all()
    assert (got[kinds == "V"] == "V").all() and (got[kinds == "N"] == "N").all()
    assert (analysis.beats["label_auto"] == analysis.beats["label"]).all()
